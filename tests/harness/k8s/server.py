"""The HTTP side of the emulator: an aiohttp application speaking the Kubernetes REST API."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Protocol

import yaml
from aiohttp import WSMsgType, web

from . import patch as patches
from . import resources
from .resources import BY_PATH, ResourceType
from .selectors import (
    SelectorError,
    labels_match,
    parse_field_selector,
    parse_label_selector,
    selector_string,
)
from .store import ApiError, Event, Obj, Store
from .tables import to_table, wants_table

EXEC_PROTOCOLS = (
    "v5.channel.k8s.io",
    "v4.channel.k8s.io",
    "v3.channel.k8s.io",
    "v2.channel.k8s.io",
    "channel.k8s.io",
)
PORTFORWARD_PROTOCOLS = ("v4.channel.k8s.io", "portforward.k8s.io")


@dataclass(frozen=True)
class ExecResult:
    """What a command run with ``exec`` printed and how it exited."""

    stdout: bytes | str = b""
    stderr: bytes | str = b""
    exit_code: int = 0


class Backend(Protocol):
    store: Store
    executor: Executor
    stopping: asyncio.Event

    def pod_logs(self, pod: Obj, container: str, previous: bool) -> str: ...

    def run_exec(self, pod: Obj, container: str, command: list[str], stdin: bytes) -> ExecResult: ...

    def port_target(self, pod: Obj, port: int) -> tuple[str, int] | None: ...


def _status_ok(details: dict[str, Any] | None = None) -> Obj:
    body: Obj = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
    if details:
        body["details"] = details
    return body


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(body, separators=(",", ":")).encode(), status=status, content_type="application/json"
    )


def _not_found_path() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("true", "1", "yes")


def _manager(request: web.Request) -> str:
    manager = request.query.get("fieldManager")
    if manager:
        return manager
    return (request.headers.get("User-Agent") or "unknown").split("/", 1)[0] or "unknown"


@dataclass
class _Route:
    rt: ResourceType
    namespace: str | None
    name: str | None
    sub: str | None
    watch: bool


class ApiServer:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.store = backend.store
        self.address = ""

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    # --- dispatch ---------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._dispatch(request)
        except ApiError as exc:
            return _json(exc.status(), exc.code)
        except SelectorError as exc:
            return _json(ApiError(400, "BadRequest", str(exc)).status(), 400)
        except patches.PatchError as exc:
            return _json(ApiError(422, "Invalid", str(exc)).status(), 422)
        except (json.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
            return _json(ApiError(400, "BadRequest", f"invalid request body: {exc}").status(), 400)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        parts = [p for p in request.path.split("/") if p]
        if request.method == "GET":
            doc = self._discovery(parts)
            if doc is not None:
                if isinstance(doc, str):
                    return web.Response(text=doc)
                return _json(doc)
        if parts[:1] == ["api"] and len(parts) >= 3 and parts[1] == "v1":
            group, version, rest = "", "v1", parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 4:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise _not_found_path()
        route = self._route(group, version, rest)
        return await self._resource(request, route)

    def _discovery(self, parts: list[str]) -> Any:
        if not parts:
            return {"paths": ["/api", "/api/v1", "/apis", "/version", "/openapi/v3", "/healthz"]}
        if parts in (["healthz"], ["livez"], ["readyz"]):
            return "ok"
        if parts == ["version"]:
            return {
                **resources.SERVER_VERSION,
                "gitCommit": "0" * 40,
                "gitTreeState": "clean",
                "buildDate": "2025-01-01T00:00:00Z",
                "goVersion": "go1.23.0",
                "compiler": "gc",
                "platform": "linux/amd64",
            }
        if parts == ["api"]:
            return resources.api_versions(self.address)
        if parts == ["apis"]:
            return resources.api_group_list()
        if len(parts) == 2 and parts[0] == "apis":
            return resources.api_group(parts[1]) or self._raise_not_found()
        if parts == ["api", "v1"]:
            return resources.api_resource_list("", "v1")
        if len(parts) == 3 and parts[0] == "apis":
            return resources.api_resource_list(parts[1], parts[2]) or self._raise_not_found()
        if parts == ["openapi", "v3"]:
            return resources.openapi_v3_root()
        if parts[:2] == ["openapi", "v3"]:
            rest = parts[2:]
            doc = None
            if rest[:1] == ["api"] and len(rest) == 2:
                doc = resources.openapi_v3_group_version("", rest[1])
            elif rest[:1] == ["apis"] and len(rest) == 3:
                doc = resources.openapi_v3_group_version(rest[1], rest[2])
            return doc or self._raise_not_found()
        return None

    @staticmethod
    def _raise_not_found() -> Any:
        raise _not_found_path()

    def _route(self, group: str, version: str, rest: list[str]) -> _Route:
        watch = False
        if rest[0] == "watch":
            watch, rest = True, rest[1:]
        namespace: str | None = None
        if (
            rest
            and rest[0] == "namespaces"
            and len(rest) >= 3
            and not (len(rest) == 3 and rest[2] in ("status", "finalize"))
        ):
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise _not_found_path()
        rt = BY_PATH.get((group, version, rest[0]))
        if rt is None or (namespace is not None and not rt.namespaced):
            raise _not_found_path()
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if rt.namespaced and name is not None and namespace is None:
            raise _not_found_path()
        if sub is not None and sub not in rt.subresources:
            raise _not_found_path()
        return _Route(rt, namespace, name, sub, watch)

    async def _body(self, request: web.Request) -> Any:
        raw = await request.read()
        if not raw:
            raise ApiError(400, "BadRequest", "the request body is empty")
        ctype = request.content_type
        if "yaml" in ctype:
            return yaml.safe_load(raw.decode())
        return json.loads(raw)

    async def _resource(self, request: web.Request, r: _Route) -> web.StreamResponse:
        q = request.query
        method = request.method
        dry_run = q.get("dryRun") == "All"
        store = self.store
        if r.name is None:
            if method == "GET":
                if r.watch or _truthy(q.get("watch")):
                    return await self._watch(request, r)
                listed = self._list(r, q)
                if wants_table(request.headers.get("Accept")):
                    return _json(to_table(r.rt.kind, listed["items"], listed["metadata"]["resourceVersion"]))
                return _json(listed)
            if method == "POST":
                body = await self._body(request)
                obj = store.create(r.rt, r.namespace, body, manager=_manager(request), dry_run=dry_run)
                return _json(obj, 201)
            if method == "DELETE":
                listed = self._list(r, q)
                for item in listed["items"]:
                    meta = item["metadata"]
                    with contextlib.suppress(ApiError):
                        store.delete(r.rt, meta.get("namespace"), meta["name"], dry_run=dry_run)
                return _json(listed)
            raise ApiError(405, "MethodNotAllowed", f"the server does not allow this method on {r.rt.plural}")
        name = r.name
        if r.sub in ("exec", "portforward"):
            return await self._websocket(request, r)
        if r.sub == "log":
            return await self._log(request, r)
        if r.sub == "scale":
            return await self._scale(request, r)
        if r.sub == "eviction" and method == "POST":
            store.delete(r.rt, r.namespace, name, dry_run=dry_run)
            return _json(_status_ok(), 201)
        sub = r.sub if r.sub == "status" else None
        if method == "GET":
            obj = store.get(r.rt, r.namespace, name)
            if wants_table(request.headers.get("Accept")):
                return _json(to_table(r.rt.kind, [obj], obj["metadata"]["resourceVersion"]))
            return _json(obj)
        if method == "PUT":
            body = await self._body(request)
            obj = store.update(
                r.rt, r.namespace, name, body, manager=_manager(request), subresource=sub, dry_run=dry_run
            )
            return _json(obj)
        if method == "PATCH":
            return _json(await self._patch(request, r, sub, dry_run))
        if method == "DELETE":
            old = store.delete(r.rt, r.namespace, name, dry_run=dry_run)
            details = {"name": name, "kind": r.rt.plural, "uid": old["metadata"]["uid"]}
            if r.rt.group:
                details["group"] = r.rt.group
            return _json(_status_ok(details))
        raise ApiError(405, "MethodNotAllowed", "method not allowed")

    async def _patch(self, request: web.Request, r: _Route, sub: str | None, dry_run: bool) -> Obj:
        assert r.name is not None
        ctype = request.content_type
        body = await self._body(request)
        manager = _manager(request)
        if ctype.startswith("application/apply-patch"):
            if not request.query.get("fieldManager"):
                raise ApiError(
                    422,
                    "Invalid",
                    'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required '
                    "value: is required for apply patch",
                )
            return self.store.apply(
                r.rt,
                r.namespace,
                r.name,
                body,
                manager=manager,
                force=_truthy(request.query.get("force")),
                subresource=sub,
                dry_run=dry_run,
            )
        fn: Callable[[Any, Any], Any]
        if ctype == "application/json-patch+json":
            fn = patches.json_patch
        elif ctype == "application/merge-patch+json":
            fn = patches.json_merge_patch
        elif ctype == "application/strategic-merge-patch+json":
            fn = patches.strategic_merge
        else:
            raise ApiError(
                415, "UnsupportedMediaType", f"the body of the request was in an unknown format: {ctype}"
            )
        return self.store.update(
            r.rt,
            r.namespace,
            r.name,
            lambda old: fn(old, body),
            manager=manager,
            subresource=sub,
            dry_run=dry_run,
        )

    # --- list and watch ---------------------------------------------------------------------

    @staticmethod
    def _matcher(q: Any) -> Any:
        reqs = parse_label_selector(q.get("labelSelector"))
        fields = parse_field_selector(q.get("fieldSelector"))

        def match(obj: Obj) -> bool:
            return labels_match(reqs, obj.get("metadata", {}).get("labels")) and fields(obj)

        return match

    def _list(self, r: _Route, q: Any) -> Obj:
        items, rv = self.store.list(r.rt, r.namespace, self._matcher(q))
        return {
            "kind": f"{r.rt.kind}List",
            "apiVersion": r.rt.api_version,
            "metadata": {"resourceVersion": rv},
            "items": items,
        }

    async def _watch(self, request: web.Request, r: _Route) -> web.StreamResponse:
        q = request.query
        match = self._matcher(q)
        rv = q.get("resourceVersion")
        since = int(rv) if rv and rv != "0" else None
        timeout = float(q["timeoutSeconds"]) if q.get("timeoutSeconds") else None
        loop = asyncio.get_running_loop()
        replay, watcher = self.store.watch(r.rt, r.namespace, since, loop)
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        resp.enable_chunked_encoding()
        deadline = loop.time() + timeout if timeout is not None else None
        table = [wants_table(request.headers.get("Accept")), True]
        try:
            await resp.prepare(request)
            for event in replay:
                await self._send_event(resp, event, match, table)
            stop_waiter = asyncio.ensure_future(self.backend.stopping.wait())
            try:
                while not self.backend.stopping.is_set():
                    remaining = None if deadline is None else deadline - loop.time()
                    if remaining is not None and remaining <= 0:
                        break
                    getter = asyncio.ensure_future(watcher.queue.get())
                    done, _ = await asyncio.wait(
                        {getter, stop_waiter}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                    )
                    if getter not in done:
                        getter.cancel()
                        break
                    item = getter.result()
                    if item is None:
                        break
                    await self._send_event(resp, item, match, table)
            finally:
                stop_waiter.cancel()
            await resp.write_eof()
        except (ConnectionResetError, ConnectionError):
            pass
        finally:
            self.store.unwatch(watcher)
        return resp

    @staticmethod
    async def _send_event(resp: web.StreamResponse, event: Event, match: Any, table: list[bool]) -> None:
        now_match = match(event.obj)
        was_match = event.old is not None and match(event.old)
        type_ = event.type
        if type_ == "MODIFIED":
            if now_match and not was_match:
                type_ = "ADDED"
            elif was_match and not now_match:
                type_ = "DELETED"
            elif not now_match:
                return
        elif not (now_match or was_match):
            return
        obj = event.obj
        if table[0]:
            obj = to_table(event.rt.kind, [obj], obj["metadata"]["resourceVersion"])
            if not table[1]:
                obj["columnDefinitions"] = []
            table[1] = False
        line = json.dumps({"type": type_, "object": obj}, separators=(",", ":")) + "\n"
        await resp.write(line.encode())

    # --- subresources -----------------------------------------------------------------------

    def _scale_of(self, obj: Obj) -> Obj:
        meta = obj["metadata"]
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                k: meta[k]
                for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                if k in meta
            },
            "spec": {"replicas": obj.get("spec", {}).get("replicas", 0)},
            "status": {
                "replicas": obj.get("status", {}).get("replicas", 0),
                "selector": selector_string(obj.get("spec", {}).get("selector")),
            },
        }

    async def _scale(self, request: web.Request, r: _Route) -> web.StreamResponse:
        assert r.name is not None
        store = self.store
        current = store.get(r.rt, r.namespace, r.name)
        if request.method == "GET":
            return _json(self._scale_of(current))
        if request.method not in ("PUT", "PATCH"):
            raise ApiError(405, "MethodNotAllowed", "method not allowed")
        body = await self._body(request)
        scale = self._scale_of(current)
        ctype = request.content_type
        if request.method == "PUT":
            new_scale = body
        elif ctype == "application/json-patch+json":
            new_scale = patches.json_patch(scale, body)
        elif ctype == "application/merge-patch+json":
            new_scale = patches.json_merge_patch(scale, body)
        else:
            new_scale = patches.strategic_merge(scale, body)
        replicas = (new_scale.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            raise ApiError(
                422, "Invalid", f'Scale.autoscaling "{r.name}" is invalid: spec.replicas: Invalid value'
            )
        sent_rv = (new_scale.get("metadata") or {}).get("resourceVersion")

        def set_replicas(obj: Obj) -> Obj:
            obj.setdefault("spec", {})["replicas"] = replicas
            if sent_rv and request.method == "PUT":
                obj["metadata"]["resourceVersion"] = sent_rv
            return obj

        updated = store.update(
            r.rt,
            r.namespace,
            r.name,
            set_replicas,
            manager=_manager(request),
            subresource="scale",
            dry_run=request.query.get("dryRun") == "All",
        )
        return _json(self._scale_of(updated))

    async def _log(self, request: web.Request, r: _Route) -> web.StreamResponse:
        assert r.name is not None
        q = request.query
        pod = self.store.get(r.rt, r.namespace, r.name)
        container = self._container(pod, q.get("container"))
        previous = _truthy(q.get("previous"))
        text = self.backend.pod_logs(pod, container, previous)
        if q.get("tailLines"):
            n = int(q["tailLines"])
            lines = text.splitlines(keepends=True)
            text = "".join(lines[-n:]) if n > 0 else ""
        if q.get("limitBytes"):
            text = text.encode()[: int(q["limitBytes"])].decode(errors="ignore")
        if not _truthy(q.get("follow")):
            return web.Response(text=text, content_type="text/plain")
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        resp.enable_chunked_encoding()
        with contextlib.suppress(ConnectionError):
            await resp.prepare(request)
            sent = text
            await resp.write(sent.encode())
            while not self.backend.stopping.is_set():
                if request.transport is None or request.transport.is_closing():
                    return resp
                current_pod = self.store.find(r.rt, r.namespace, r.name)
                if current_pod is None or current_pod["metadata"]["uid"] != pod["metadata"]["uid"]:
                    break
                full = self.backend.pod_logs(current_pod, container, previous)
                if full.startswith(sent) and len(full) > len(sent):
                    await resp.write(full[len(sent) :].encode())
                    sent = full
                if current_pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.backend.stopping.wait(), 0.05)
            await resp.write_eof()
        return resp

    @staticmethod
    def _container(pod: Obj, wanted: str | None) -> str:
        names = [c.get("name", "") for c in pod.get("spec", {}).get("containers", [])]
        names += [c.get("name", "") for c in pod.get("spec", {}).get("initContainers", [])]
        name = pod["metadata"]["name"]
        if wanted:
            if wanted not in names:
                raise ApiError(400, "BadRequest", f"container {wanted} is not valid for pod {name}")
            return wanted
        default = pod["metadata"].get("annotations", {}).get("kubectl.kubernetes.io/default-container")
        containers = pod.get("spec", {}).get("containers", [])
        if default:
            return str(default)
        if len(containers) == 1:
            return str(containers[0].get("name", ""))
        if not containers:
            raise ApiError(400, "BadRequest", f"pod {name} has no containers")
        choices = " ".join(c.get("name", "") for c in containers)
        raise ApiError(
            400,
            "BadRequest",
            f"a container name must be specified for pod {name}, choose one of: [{choices}]",
        )

    # --- websockets: exec and port-forward -------------------------------------------------

    async def _websocket(self, request: web.Request, r: _Route) -> web.StreamResponse:
        assert r.name is not None
        pod = self.store.get(r.rt, r.namespace, r.name)
        if pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
            raise ApiError(
                400,
                "BadRequest",
                "cannot exec into or port-forward to a container in a completed pod; "
                f"current phase is {pod['status']['phase']}",
            )
        if r.sub == "exec":
            container = self._container(pod, request.query.get("container"))
            command = request.query.getall("command", [])
            if not command:
                raise ApiError(400, "BadRequest", "you must specify at least 1 command")
            ws = web.WebSocketResponse(protocols=EXEC_PROTOCOLS, autoping=True)
            await ws.prepare(request)
            try:
                with contextlib.suppress(ConnectionError):
                    await self._exec(ws, request, pod, container, command)
            finally:
                await ws.close()
            return ws
        ports = [int(p) for v in request.query.getall("ports", []) for p in v.split(",") if p]
        if not ports:
            raise ApiError(400, "BadRequest", "at least one port must be specified")
        ws = web.WebSocketResponse(protocols=PORTFORWARD_PROTOCOLS, autoping=True)
        await ws.prepare(request)
        try:
            with contextlib.suppress(ConnectionError):
                await self._portforward(ws, pod, ports)
        finally:
            await ws.close()
        return ws

    async def _exec(
        self, ws: web.WebSocketResponse, request: web.Request, pod: Obj, container: str, command: list[str]
    ) -> None:
        stdin = bytearray()
        if _truthy(request.query.get("stdin")):
            v5 = ws.ws_protocol == "v5.channel.k8s.io"
            idle = None if v5 else 0.3
            while not self.backend.stopping.is_set():
                try:
                    msg = await ws.receive(timeout=idle)
                except TimeoutError:
                    break
                if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    return
                data = msg.data.encode() if msg.type == WSMsgType.TEXT else msg.data
                if not data:
                    continue
                if data[0] == 0:
                    stdin += data[1:]
                elif data[0] == 255 and data[1:2] == b"\x00":
                    break
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(
            self.backend.executor, self.backend.run_exec, copy.deepcopy(pod), container, command, bytes(stdin)
        )
        for channel, data in ((1, result.stdout), (2, result.stderr)):
            payload = data.encode() if isinstance(data, str) else data
            for start in range(0, len(payload), 32 * 1024):
                await ws.send_bytes(bytes([channel]) + payload[start : start + 32 * 1024])
        if result.exit_code == 0:
            status: Obj = {"metadata": {}, "status": "Success"}
        else:
            status = {
                "metadata": {},
                "status": "Failure",
                "message": f"command terminated with non-zero exit code: error executing command {command}, "
                f"exit code {result.exit_code}",
                "reason": "NonZeroExitCode",
                "details": {"causes": [{"reason": "ExitCode", "message": str(result.exit_code)}]},
            }
        await ws.send_bytes(b"\x03" + json.dumps(status).encode())

    async def _portforward(self, ws: web.WebSocketResponse, pod: Obj, ports: list[int]) -> None:
        writers: dict[int, asyncio.StreamWriter] = {}
        pumps: list[asyncio.Task[None]] = []
        for ix, port in enumerate(ports):
            await ws.send_bytes(bytes([ix * 2]) + port.to_bytes(2, "little"))
            await ws.send_bytes(bytes([ix * 2 + 1]) + port.to_bytes(2, "little"))
        meta = pod["metadata"]
        for ix, port in enumerate(ports):
            target = self.backend.port_target(pod, port)
            error = None
            if target is None:
                error = (
                    f"error forwarding port {port} to pod {meta['name']}, uid {meta['uid']}: "
                    "no local address is mapped for this port in the emulator (KubeEmulator.map_port)"
                )
            else:
                try:
                    reader, writer = await asyncio.open_connection(*target)
                except OSError as exc:
                    error = f"error forwarding port {port} to pod {meta['name']}, uid {meta['uid']}: {exc}"
                else:
                    writers[ix] = writer
                    pumps.append(asyncio.ensure_future(self._pump(reader, ws, ix * 2)))
            if error:
                await ws.send_bytes(bytes([ix * 2 + 1]) + error.encode())
        try:
            if not writers:
                return
            tasks: list[asyncio.Future[Any]] = [
                asyncio.ensure_future(self._pf_receive(ws, writers)),
                asyncio.ensure_future(self.backend.stopping.wait()),
                asyncio.ensure_future(asyncio.gather(*pumps, return_exceptions=True)),
            ]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in (*tasks, *pumps):
                task.cancel()
            await asyncio.gather(*tasks, *pumps, return_exceptions=True)
        finally:
            for writer in writers.values():
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, ws: web.WebSocketResponse, channel: int) -> None:
        while True:
            data = await reader.read(64 * 1024)
            if not data or ws.closed:
                return
            await ws.send_bytes(bytes([channel]) + data)

    @staticmethod
    async def _pf_receive(ws: web.WebSocketResponse, writers: dict[int, asyncio.StreamWriter]) -> None:
        async for msg in ws:
            if msg.type not in (WSMsgType.BINARY, WSMsgType.TEXT):
                continue
            data = msg.data.encode() if msg.type == WSMsgType.TEXT else msg.data
            if not data:
                continue
            channel, payload = data[0], data[1:]
            writer = writers.get(channel // 2)
            if writer is not None and channel % 2 == 0 and payload:
                writer.write(payload)
                await writer.drain()


__all__ = ["ApiServer", "Backend", "ExecResult"]
