"""The wire side of the emulator, driven by botocore's service models: parse a request into an
operation and its parameters, serialize a result or an error the way AWS does.

Two protocols are served: ``query`` (ElastiCache: a form body with ``Action=...``, XML answers) and
``rest-json`` (AppConfig, AppConfigData: the operation is found from the HTTP method and the URI
template, members come from the path, the query string, headers and a JSON body). The models come
from ``botocore.session.get_session().get_service_model(name)``, so the shapes are exactly the ones
the real boto3 clients send and parse.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any
from urllib.parse import parse_qs, unquote
from xml.sax.saxutils import escape

from botocore.model import OperationModel, ServiceModel, Shape, StructureShape

__all__ = [
    "ApiError",
    "Call",
    "Reply",
    "error_reply",
    "find_rest_operation",
    "parse_query",
    "parse_rest",
    "result_reply",
    "service_model",
]


class ApiError(Exception):
    """An AWS error answer: its code (an error shape's name), message and HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass
class Call:
    """One parsed request: the service, the operation and its input as boto3 would have passed it."""

    service: str
    operation: OperationModel
    params: dict[str, Any]
    region: str = "us-east-1"


@dataclass
class Reply:
    """An HTTP answer."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@cache
def service_model(name: str) -> ServiceModel:
    """botocore's model of service ``name`` (cached)."""
    import botocore.session

    return botocore.session.get_session().get_service_model(name)


# --- query protocol -----------------------------------------------------------------------------------


def parse_query(service: str, body: bytes) -> tuple[str, dict[str, str]]:
    """The ``Action`` and the flat form fields of a query-protocol request body."""
    fields = {k: v[-1] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
    return fields.pop("Action", ""), fields


def query_params(op: OperationModel, fields: Mapping[str, str]) -> dict[str, Any]:
    """Rebuild the operation's input (as boto3 kwargs) from the flat form fields."""
    shape = op.input_shape
    return _q_struct(shape, fields, "") if shape is not None else {}


def _q_name(shape: Shape, name: str) -> str:
    return str(shape.serialization.get("name", name))


def _q_value(shape: Shape, fields: Mapping[str, str], prefix: str) -> Any:
    if shape.type_name == "structure":
        assert isinstance(shape, StructureShape)
        return _q_struct(shape, fields, prefix)
    if shape.type_name == "list":
        member = shape.member
        if shape.serialization.get("flattened"):
            base = prefix
        else:
            base = f"{prefix}.{member.serialization.get('name', 'member')}"
        out, i = [], 1
        while any(k == f"{base}.{i}" or k.startswith(f"{base}.{i}.") for k in fields):
            out.append(_q_value(member, fields, f"{base}.{i}"))
            i += 1
        return out if out or prefix in fields else None
    raw = fields.get(prefix)
    if raw is None:
        return None
    if shape.type_name in ("integer", "long"):
        return int(raw)
    if shape.type_name in ("float", "double"):
        return float(raw)
    if shape.type_name == "boolean":
        return raw.lower() == "true"
    return raw


def _q_struct(shape: StructureShape, fields: Mapping[str, str], prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, member in shape.members.items():
        key = _q_name(member, name)
        value = _q_value(member, fields, f"{prefix}.{key}" if prefix else key)
        if value is not None:
            out[name] = value
    return out


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        ts = value if value.tzinfo else value.replace(tzinfo=UTC)
        return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return str(value)


def _xml(shape: Shape, value: Any, tag: str) -> str:
    t = shape.type_name
    if t == "structure":
        assert isinstance(shape, StructureShape)
        inner = "".join(
            _xml(m, value[n], _q_name(m, n)) for n, m in shape.members.items() if value.get(n) is not None
        )
    elif t == "list":
        member = shape.member
        name = member.serialization.get("name", "member")
        inner = "".join(_xml(member, v, name) for v in value)
    elif t == "boolean":
        inner = "true" if value else "false"
    elif t == "timestamp":
        inner = _iso(value)
    elif t == "blob":
        inner = base64.b64encode(value).decode()
    else:
        inner = escape(str(value))
    return f"<{tag}>{inner}</{tag}>"


def _query_result(service: str, op: OperationModel, result: Mapping[str, Any]) -> Reply:
    ns = service_model(service).metadata.get("xmlNamespace", "")
    out = op.output_shape
    body = ""
    if out is not None:
        wrapper = out.serialization.get("resultWrapper", f"{op.name}Result")
        body = _xml(out, result, wrapper)
    rid = str(uuid.uuid4())
    text = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{op.name}Response xmlns="{ns}">{body}'
        f"<ResponseMetadata><RequestId>{rid}</RequestId></ResponseMetadata></{op.name}Response>"
    )
    return Reply(200, text.encode(), {"Content-Type": "text/xml", "x-amzn-RequestId": rid})


# --- rest-json ----------------------------------------------------------------------------------------


@cache
def _routes(service: str) -> list[tuple[str, re.Pattern[str], OperationModel]]:
    model = service_model(service)
    routes = []
    for name in model.operation_names:
        op = model.operation_model(name)
        uri = str(op.http["requestUri"]).split("?", 1)[0]
        regex = re.sub(
            r"\{([A-Za-z0-9_]+)(\+?)\}",
            lambda m: f"(?P<{m.group(1)}>{'.+' if m.group(2) else '[^/]+'})",
            re.escape(uri).replace(r"\{", "{").replace(r"\}", "}"),
        )
        routes.append((str(op.http["method"]), re.compile(f"^{regex}$"), op))
    return routes


def find_rest_operation(service: str, method: str, path: str) -> tuple[OperationModel, dict[str, str]] | None:
    """The operation of ``service`` that serves ``method path``, with the path's captured members."""
    for m, regex, op in _routes(service):
        if m == method:
            found = regex.match(path)
            if found:
                return op, {k: unquote(v) for k, v in found.groupdict().items()}
    return None


def parse_rest(
    op: OperationModel, captured: Mapping[str, str], query: str, headers: Mapping[str, str], body: bytes
) -> dict[str, Any]:
    """The input of a rest-json call (as boto3 kwargs) from its path, query string, headers and body."""
    shape = op.input_shape
    if shape is None:
        return {}
    qs = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    lower = {k.lower(): v for k, v in headers.items()}
    doc: dict[str, Any] = json.loads(body) if body.strip() else {}
    payload = shape.serialization.get("payload")
    out: dict[str, Any] = {}
    for name, member in shape.members.items():
        loc = member.serialization.get("location")
        wire = str(member.serialization.get("name", name))
        raw: Any
        if loc == "uri":
            raw = captured.get(wire)
        elif loc == "querystring":
            raw = qs.get(wire)
        elif loc == "header":
            raw = lower.get(wire.lower())
        elif payload == name:
            out[name] = body if member.type_name == "blob" else doc
            continue
        else:
            if name in doc:
                out[name] = doc[name]
            continue
        if raw is None:
            continue
        if member.type_name in ("integer", "long"):
            raw = int(raw)
        elif member.type_name == "boolean":
            raw = str(raw).lower() == "true"
        out[name] = raw
    return out


def _json_value(shape: Shape, value: Any) -> Any:
    t = shape.type_name
    if t == "structure":
        assert isinstance(shape, StructureShape)
        return {n: _json_value(m, value[n]) for n, m in shape.members.items() if value.get(n) is not None}
    if t == "list":
        return [_json_value(shape.member, v) for v in value]
    if t == "map":
        return {k: _json_value(shape.value, v) for k, v in value.items()}
    if t == "timestamp":
        if shape.serialization.get("timestampFormat") == "iso8601":
            return _iso(value)
        return value.timestamp() if isinstance(value, datetime) else value
    if t == "blob":
        return base64.b64encode(value).decode()
    return value


def _rest_result(op: OperationModel, result: Mapping[str, Any]) -> Reply:
    status = int(op.http.get("responseCode", 200))
    out = op.output_shape
    if out is None:
        return Reply(status, b"", {"Content-Type": "application/json"})
    assert isinstance(out, StructureShape)
    headers: dict[str, str] = {}
    body_members: dict[str, Any] = {}
    payload = out.serialization.get("payload")
    body: bytes | None = None
    for name, member in out.members.items():
        value = result.get(name)
        if value is None:
            continue
        loc = member.serialization.get("location")
        if loc == "header":
            headers[str(member.serialization.get("name", name))] = str(value)
        elif loc == "statusCode":
            status = int(value)
        elif name == payload:
            body = value if member.type_name == "blob" else json.dumps(_json_value(member, value)).encode()
        else:
            body_members[name] = _json_value(member, value)
    if body is None:
        body = json.dumps(body_members).encode()
        headers.setdefault("Content-Type", "application/json")
    return Reply(status, body, headers)


# --- both ---------------------------------------------------------------------------------------------


def result_reply(call: Call, result: Mapping[str, Any]) -> Reply:
    """The answer to ``call`` carrying ``result`` (shaped by the operation's output shape)."""
    if service_model(call.service).protocol == "query":
        return _query_result(call.service, call.operation, result)
    return _rest_result(call.operation, result)


def error_reply(service: str, err: ApiError) -> Reply:
    """An error answer as the service's protocol writes it (botocore raises ClientError with its code)."""
    rid = str(uuid.uuid4())
    if service_model(service).protocol == "query":
        kind = "Sender" if err.status < 500 else "Receiver"
        text = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error><Type>{kind}</Type>'
            f"<Code>{escape(err.code)}</Code><Message>{escape(err.message)}</Message></Error>"
            f"<RequestId>{rid}</RequestId></ErrorResponse>"
        )
        return Reply(err.status, text.encode(), {"Content-Type": "text/xml", "x-amzn-RequestId": rid})
    body = json.dumps({"Message": err.message, "message": err.message}).encode()
    return Reply(
        err.status,
        body,
        {"Content-Type": "application/json", "x-amzn-ErrorType": err.code, "x-amzn-RequestId": rid},
    )
