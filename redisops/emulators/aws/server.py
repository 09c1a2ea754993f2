"""The emulator's HTTP server: the endpoint boto3 uses for elasticache, appconfig and appconfigdata.

Each request is parsed with botocore's model of its service (:mod:`.protocol`); operations the
emulator serves go to their handler, every other call is forwarded unchanged to the moto server, so
state stays in one place (moto keeps replication groups, snapshots, applications, profiles and hosted
versions). ``GET /emulator/health`` answers 200 (readiness).
"""

from __future__ import annotations

import logging
import re
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from redisops.emulators.aws import appconfig, elasticache
from redisops.emulators.aws.backend import Backend, EmulatorConfig
from redisops.emulators.aws.protocol import (
    ApiError,
    Call,
    Reply,
    error_reply,
    find_rest_operation,
    parse_query,
    parse_rest,
    query_params,
    result_reply,
    service_model,
)

__all__ = ["HEALTH_PATH", "AwsEmulator"]

log = logging.getLogger(__name__)
HEALTH_PATH = "/emulator/health"
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date"}

_REST_HANDLERS = {"appconfigdata": appconfig.DATA_HANDLERS, "appconfig": appconfig.HANDLERS}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        for k, v in reply.headers.items():
            if k.lower() not in _HOP:
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    def _handle(self) -> None:
        body = self._body()
        url = urlsplit(self.path)
        if url.path == HEALTH_PATH:
            self._send(Reply(200, b'{"ok": true}', {"Content-Type": "application/json"}))
            return
        scope = _SCOPE.search(self.headers.get("Authorization", ""))
        region = scope.group(1) if scope else "us-east-1"
        service = "elasticache"
        try:
            call = self._route(url.path, url.query, body, region)
            if call is None:
                self._send(self.server.forward(self.command, self.path, dict(self.headers), body))
                return
            service = call.service
            table = elasticache.HANDLERS if service == "elasticache" else _REST_HANDLERS[service]
            result = table[call.operation.name](self.server.backend, call.params, region)
            self._send(result_reply(call, result))
        except ApiError as e:
            self._send(error_reply(service, e))
        except Exception as e:  # an emulator bug must still answer as AWS would (500), not hang
            log.exception("emulator failure")
            self._send(error_reply(service, ApiError("InternalFailure", f"{type(e).__name__}: {e}", 500)))

    def _route(self, path: str, query: str, body: bytes, region: str) -> Call | None:
        ctype = self.headers.get("Content-Type", "")
        if self.command == "POST" and "x-www-form-urlencoded" in ctype:
            action, fields = parse_query("elasticache", body)
            if action not in elasticache.HANDLERS:
                return None
            op = service_model("elasticache").operation_model(action)
            return Call("elasticache", op, query_params(op, fields), region)
        for service, handlers in _REST_HANDLERS.items():
            found = find_rest_operation(service, self.command, path)
            if found is not None and found[0].name in handlers:
                op, captured = found
                return Call(service, op, parse_rest(op, captured, query, dict(self.headers), body), region)
        return None

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], backend: Backend) -> None:
        super().__init__(address, _Handler)
        self.backend = backend

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        """Pass a call the emulator does not serve to moto, unchanged."""
        url = self.backend.config.moto_url.rstrip("/") + path
        fwd = {k: v for k, v in headers.items() if k.lower() not in _HOP | {"host"}}
        req = urllib.request.Request(url, data=body if body else None, headers=fwd, method=method)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return Reply(resp.status, resp.read(), dict(resp.headers.items()))
        except urllib.error.HTTPError as e:
            return Reply(e.code, e.read(), dict(e.headers.items()))


class AwsEmulator:
    """The emulator on ``host:port`` (0: a free port), serving from a thread or in the foreground.

    Usage::

        with AwsEmulator(EmulatorConfig(moto_url=..., data_dir=...)) as emu:
            boto3.client("appconfig", endpoint_url=emu.url, ...)
    """

    def __init__(self, config: EmulatorConfig | Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.backend = Backend(config)
        self._server = _Server((host, port), self.backend)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Its endpoint URL (for boto3's ``endpoint_url``)."""
        return f"http://127.0.0.1:{self.port}"

    def warm_up(self) -> None:
        """Load the moto clients and moto's services in a background thread (serving starts at once)."""
        threading.Thread(target=self.backend.warm, name="aws-emulator-warm-up", daemon=True).start()

    def start(self) -> AwsEmulator:
        """Serve from a daemon thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, name="aws-emulator", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`stop` (or the process ends)."""
        self._server.serve_forever()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> AwsEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
