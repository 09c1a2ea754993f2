"""The catalogue of operations: every operation redisops can run, named, typed and classified.

One entry per operation, with

* a dotted ``name`` (``health.report``, ``backup.create``, ``restore.apply``);
* a one-line ``summary``;
* its ``kind``: ``read`` (changes nothing), ``mutate`` (changes something that can be undone or
  redone) or ``destructive`` (replaces or deletes data: needs an explicit confirmation);
* a pydantic model of its parameters (``extra="forbid"``), so a runbook's YAML block, a TUI form and
  the CLI validate the same way and a JSON Schema can be printed;
* ``run(ctx, params)`` returning a typed result, and for mutating and destructive operations
  ``plan(ctx, params)``: what would change, computed without changing anything, and what blocks it.

Front ends call :func:`invoke` and :func:`plan`; they never call the implementation directly::

    from pydantic import BaseModel

    from redisops.events import Recorder
    from redisops.ops.catalogue import Catalogue, Kind, Operation, OpContext

    class EchoParams(BaseModel):
        text: str

    cat = Catalogue()
    cat.register(Operation("demo.echo", "Say it back.", Kind.read, EchoParams,
                           run=lambda ctx, p: {"text": p.text}))
    events = Recorder()
    assert cat.invoke("demo.echo", {"text": "hi"}, target=None, on_event=events) == {"text": "hi"}
    assert events.kinds() == ["started", "finished"]
    assert cat.get("demo.echo").schema()["properties"]["text"]["type"] == "string"
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from redisops.cancel import CancelToken
from redisops.errors import (
    AbortedError,
    Interrupted,
    InvalidArgument,
    NotFoundError,
    PlanBlocked,
    RedisOpsError,
)
from redisops.events import EventSink, Reporter, jsonable
from redisops.ops.audit import AuditLog

__all__ = [
    "Catalogue",
    "Kind",
    "OpContext",
    "Operation",
    "Plan",
    "TargetLike",
]

P = TypeVar("P", bound=BaseModel)
R = TypeVar("R")


class Kind(enum.StrEnum):
    """What an operation does to the world."""

    read = "read"
    mutate = "mutate"
    destructive = "destructive"


class TargetLike(Protocol):
    """What the catalogue needs of a target (``redisops.ops.target.Target`` has it)."""

    @property
    def name(self) -> str: ...

    @property
    def read_only(self) -> bool: ...


@dataclasses.dataclass(frozen=True)
class Plan:
    """What a mutating operation would do, computed without changing anything.

    ``steps`` in order; ``blockers`` are what the real run would refuse (the plan is then blocked);
    ``warnings`` are what it would go ahead with; ``details`` is operation-specific JSON. ``state`` is
    what the operation computed while planning (e.g. deploy's dry-run diff), for its run to reuse
    through ``ctx.plan``; it is never serialised, compared or shown, and must hold no secret.
    """

    op: str
    steps: tuple[str, ...] = ()
    blockers: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    details: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    state: Any = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def blocked(self) -> bool:
        """True when the real run would refuse."""
        return bool(self.blockers)

    def raise_if_blocked(self) -> None:
        """:class:`PlanBlocked` (exit 15) naming every blocker, with the hint of the refusal the plan
        recorded (``details["error"]["hint"]``) when there is one; nothing was changed."""
        if self.blockers:
            error = self.details.get("error") if isinstance(self.details, Mapping) else None
            hint = error.get("hint") if isinstance(error, Mapping) else None
            raise PlanBlocked(
                f"{self.op} is blocked: " + "; ".join(self.blockers),
                hint=str(hint) if hint else None,
                context={"op": self.op, "blockers": list(self.blockers)},
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return {
            "op": self.op,
            "blocked": self.blocked,
            "steps": list(self.steps),
            "blockers": list(self.blockers),
            "warnings": list(self.warnings),
            "details": jsonable(self.details),
        }


@dataclasses.dataclass
class OpContext:
    """What an operation runs with: where (the target), how it reports, and how it is stopped.

    ``plan`` is, in a mutating or destructive operation's ``run``, the plan :meth:`Catalogue.invoke`
    computed for this very run just before (not blocked): the run reuses what it found (its
    ``details``, its ``state``) instead of computing it again. None in ``plan`` itself and in reads.
    ``then_runs`` tells an operation's ``plan`` that its run follows at once in the same invocation
    (so it may leave to the run what the run checks anyway, e.g. taking a lock); False for a plan
    that is only shown (a dry run, a plan a person confirms before the run).
    """

    target: Any
    reporter: Reporter
    cancel: CancelToken
    confirmed: bool = False
    plan: Plan | None = None
    then_runs: bool = False


@dataclasses.dataclass(frozen=True)
class Operation(Generic[P, R]):
    """One entry of the catalogue (see the module docstring)."""

    name: str
    summary: str
    kind: Kind
    params: type[P]
    run: Callable[[OpContext, P], R]
    plan: Callable[[OpContext, P], Plan] | None = None
    result: type[Any] | None = None

    def __post_init__(self) -> None:
        if self.kind is not Kind.read and self.plan is None:
            raise TypeError(f"{self.name}: a {self.kind} operation must have a plan")
        if "." not in self.name:
            raise TypeError(f"{self.name}: operation names are dotted (area.verb)")

    def schema(self) -> dict[str, Any]:
        """The JSON Schema of the parameters."""
        return self.params.model_json_schema()

    def parse(self, params: Mapping[str, Any] | BaseModel | None) -> P:
        """Validate ``params`` (a mapping, or the model itself) into the parameter model.

        Raises:
            InvalidArgument: a parameter is missing, unknown or of the wrong type (names each).
        """
        if isinstance(params, self.params):
            return params
        data = params.model_dump() if isinstance(params, BaseModel) else dict(params or {})
        try:
            return self.params.model_validate(data)
        except ValidationError as e:
            problems = [
                f"{'.'.join(str(x) for x in err['loc']) or '(params)'}: {err['msg']}" for err in e.errors()
            ]
            raise InvalidArgument(
                f"invalid parameters for {self.name}: " + "; ".join(problems),
                hint=f"see the parameters with: redisops ops show {self.name}",
                context={"op": self.name},
            ) from None

    def describe(self) -> dict[str, Any]:
        """Name, summary, kind, whether it plans, and the parameter schema (``ops show -o json``)."""
        return {
            "name": self.name,
            "summary": self.summary,
            "kind": str(self.kind),
            "plans": self.plan is not None,
            "params": self.schema(),
        }


class Catalogue:
    """The registry of operations, by dotted name.

    With an ``audit`` log, every mutating or destructive run appends one line (who, what, where, the plan,
    how it ended), whichever front end invoked it; with ``store_audit`` (the default when there is an
    audit log) a run that acted on a backup store also leaves that line in the store
    (:mod:`redisops.ops.audit_store`).
    """

    def __init__(
        self,
        *,
        audit: AuditLog | None = None,
        store_audit: bool | None = None,
        areas: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self._ops: dict[str, Operation[Any, Any]] = {}
        self.audit = audit
        self.store_audit = audit is not None if store_audit is None else store_audit
        #: modules not loaded yet (each has ``register(cat)``), with the name prefixes they register
        #: (``backup`` for ``backup.create``): :meth:`get` loads only the modules of its prefix
        self._pending: dict[str, tuple[str, ...]] = {m: tuple(p) for m, p in (areas or {}).items()}
        self._loading = threading.RLock()

    def register(self, op: Operation[Any, Any]) -> Operation[Any, Any]:
        """Add ``op``; a name can be registered once."""
        if op.name in self._ops:
            raise ValueError(f"operation {op.name} is already registered")
        self._ops[op.name] = op
        return op

    def _load(self, prefix: str | None = None) -> None:
        """Register the pending areas whose names start with ``prefix`` (None: every area)."""
        if not self._pending:
            return
        with self._loading:
            for module, prefixes in list(self._pending.items()):
                if prefix is None or prefix in prefixes:
                    importlib.import_module(module).register(self)
                    del self._pending[module]

    def __iter__(self) -> Iterator[Operation[Any, Any]]:
        self._load()
        return iter(sorted(self._ops.values(), key=lambda o: o.name))

    def __len__(self) -> int:
        self._load()
        return len(self._ops)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        if name not in self._ops:
            self._load(name.split(".", 1)[0])
            if name not in self._ops:
                self._load()
        return name in self._ops

    def get(self, name: str) -> Operation[Any, Any]:
        """The operation called ``name`` (NotFoundError listing close names when there is none)."""
        op = self._ops.get(name) if name in self else None
        if op is None:
            area = name.split(".", 1)[0]
            near = [n for n in sorted(self._ops) if n.startswith(area + ".")] or sorted(self._ops)
            raise NotFoundError(
                f"no operation called {name!r}",
                hint="operations: " + ", ".join(near[:12]) + (" ..." if len(near) > 12 else ""),
            )
        return op

    def _context(
        self,
        op: Operation[Any, Any],
        target: Any,
        on_event: EventSink | None,
        cancel: CancelToken | None,
        confirmed: bool,
    ) -> OpContext:
        return OpContext(
            target, Reporter(op.name, on_event, min_interval=0.1), cancel or CancelToken(), confirmed
        )

    def plan(
        self,
        name: str,
        params: Mapping[str, Any] | BaseModel | None,
        *,
        target: Any,
        on_event: EventSink | None = None,
        cancel: CancelToken | None = None,
    ) -> Plan:
        """What ``name`` would do with ``params`` on ``target``; changes nothing.

        A read operation's plan is a single step saying it only reads.
        """
        op = self.get(name)
        p = op.parse(params)
        if op.plan is None:
            return Plan(op.name, steps=(f"read only: {op.summary}",))
        return op.plan(self._context(op, target, on_event, cancel, False), p)

    def invoke(
        self,
        name: str,
        params: Mapping[str, Any] | BaseModel | None,
        *,
        target: Any,
        on_event: EventSink | None = None,
        cancel: CancelToken | None = None,
        confirm: bool = False,
        plan: Plan | None = None,
    ) -> Any:
        """Run ``name`` with ``params`` on ``target``, reporting to ``on_event``; returns its result.

        A mutating or destructive operation is planned first, once: a blocked plan refuses, and the run
        gets the plan as ``ctx.plan``. ``plan`` is one the caller computed with :meth:`plan` for the
        same operation and parameters and showed (the one a person confirmed): it is used instead of
        planning again (a plan of another operation is InvalidArgument).

        Raises:
            InvalidArgument: the parameters do not validate.
            AbortedError: a destructive operation without ``confirm=True``, or a mutating one on a
                read-only (production) target.
        """
        op = self.get(name)
        p = op.parse(params)
        if op.kind is Kind.destructive and not confirm:
            raise AbortedError(
                f"{op.name} is destructive and needs an explicit confirmation",
                hint="pass confirm=True (CLI: --yes, after reading the plan)",
            )
        if op.kind is not Kind.read and getattr(target, "read_only", False):
            raise AbortedError(
                f"target {getattr(target, 'name', '?')} is read-only; {op.name} would change it",
                hint="pass --read-write (Python: allow_writes=True) if you mean to change production",
            )
        ctx = self._context(op, target, on_event, cancel, confirm)
        if op.kind is Kind.read:
            with ctx.reporter.running(p.model_dump(mode="json")):
                result = op.run(ctx, p)
                ctx.reporter.finished(result)
            return result
        if plan is not None and plan.op != op.name:
            raise InvalidArgument(
                f"the plan given is of {plan.op}, not {op.name}", hint=f"plan {op.name} and pass that plan"
            )
        return self._run_change(op, p, ctx, target, plan)

    def _run_change(
        self, op: Operation[Any, Any], p: BaseModel, ctx: OpContext, target: Any, given: Plan | None
    ) -> Any:
        """A mutating or destructive run: plan first (a blocked plan refuses), run, audit either way."""
        record: dict[str, Any] = {
            "op": op.name,
            "op_id": ctx.reporter.op_id,
            "kind": str(op.kind),
            "target": target.to_dict() if hasattr(target, "to_dict") else getattr(target, "name", None),
            "params": p.model_dump(mode="json"),
        }
        started = time.monotonic()
        with ctx.reporter.running(record["params"]):
            try:
                assert op.plan is not None  # Operation.__post_init__: changes always plan
                if given is None:
                    ctx.then_runs = True
                    plan = op.plan(ctx, p)
                else:
                    plan = given
                record["plan"] = plan.to_dict()
                plan.raise_if_blocked()
                ctx.plan = plan
                result = op.run(ctx, p)
            except BaseException as e:
                record["outcome"] = (
                    "blocked"
                    if isinstance(e, PlanBlocked)
                    else "interrupted"
                    if isinstance(e, Interrupted | KeyboardInterrupt)
                    else "failed"
                )
                record["error"] = e.to_dict() if isinstance(e, RedisOpsError) else {"error": type(e).__name__}
                record["seconds"] = round(time.monotonic() - started, 3)
                self._audit(record, op, p, ctx)
                raise
            record |= {"outcome": "ok", "result": result, "seconds": round(time.monotonic() - started, 3)}
            self._audit(record, op, p, ctx)
            ctx.reporter.finished(result)
        return result

    def _audit(self, record: dict[str, Any], op: Operation[Any, Any], p: BaseModel, ctx: OpContext) -> None:
        """The local line; then, for a run on a backup store, the same line in the store (a failure to
        write it there is a warning event, never the run's outcome)."""
        if self.audit is None:
            return
        line = self.audit.append(record)
        if not self.store_audit:
            return
        from redisops.ops.audit_store import StoreAuditTrail

        try:
            store = StoreAuditTrail.store_of(op.name, ctx.target, p, record)
            if store is not None:
                StoreAuditTrail(store).append(line)
        except (RedisOpsError, OSError) as e:
            what = e.one_line() if isinstance(e, RedisOpsError) else type(e).__name__
            ctx.reporter.warning(f"the audit record was not written to the backup store: {what}")
