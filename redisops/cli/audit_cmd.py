"""``redisops audit list [--store]``: the audit trail of changes (the ``audit.list`` operation).

Every mutating or destructive operation, from any front end, leaves one record in this machine's audit
log (``$REDISOPS_AUDIT_LOG``); one that acted on a backup store also leaves it beside the backups
(``<root>/audit/`` in the bucket), where everyone who shares the store sees it: ``--store`` reads
those. ``-o json``: ``{"where": ..., "count": N, "records": [...]}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.table import Table

from redisops.cli.common import Output, OutputOpt, console, emit, error_boundary
from redisops.cli.options import TargetArgs, with_target

if TYPE_CHECKING:
    from redisops.ops.api_audit import AuditList

__all__ = ["app"]

app = typer.Typer(
    help="The audit trail of changes: this machine's log or the backup store's.", no_args_is_help=True
)

_OUTCOME_STYLE = {"ok": "green", "failed": "red", "interrupted": "yellow", "blocked": "yellow"}


def _when(at: Any) -> str:
    try:
        return datetime.fromtimestamp(float(at)).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError, OverflowError):
        return "?"


def _target(record: dict[str, Any]) -> str:
    target = record.get("target")
    if isinstance(target, dict):
        return str(target.get("name") or target.get("redis") or "?")
    return str(target or "-")


def _print(result: AuditList) -> None:
    table = Table(
        title=f"{len(result.records)} audit record(s) in {result.where}",
        box=box.SIMPLE_HEAD,
        title_justify="left",
    )
    for col in ("when", "who", "operation", "target", "outcome", "seconds"):
        table.add_column(col, overflow="fold")
    for r in result.records:
        outcome = str(r.get("outcome") or "?")
        style = _OUTCOME_STYLE.get(outcome, "")
        table.add_row(
            _when(r.get("at")),
            str(r.get("user") or "?"),
            str(r.get("op") or "?"),
            _target(r),
            f"[{style}]{outcome}[/{style}]" if style else outcome,
            f"{r.get('seconds', '')}",
        )
    console.print(table)


@app.command("list")
@with_target(redis=False, config=True, state_dir=True)
def list_records(
    store: Annotated[
        bool, typer.Option("--store", help="read the records kept beside the backups in the backup store")
    ] = False,
    source: Annotated[
        str | None, typer.Option("--source", help="with --store: the source name in the store")
    ] = None,
    op: Annotated[
        str | None, typer.Option("--op", help="only this operation (backup.create) or area (backup)")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10000, help="the newest records to show")] = 50,
    *,
    where: TargetArgs,
    output: OutputOpt = Output.text,
) -> None:
    """The newest audit records, oldest first: who ran what, where, and how it ended."""
    with error_boundary(output):
        target = where.build()
        params = {"store": store, "source": source, "operation": op, "limit": limit}
        result: AuditList = target.run("audit.list", params)
        emit(output, result.to_dict(), lambda: _print(result))
