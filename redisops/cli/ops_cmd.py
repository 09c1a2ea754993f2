"""``redisops ops list | show NAME``: the catalogue of operations with their kinds and parameter schemas.

The catalogue (:func:`redisops.ops.registry.catalogue`) is what every front end runs: the CLI, runbooks
and the TUI. ``ops list`` names each operation with its kind (read, mutate, destructive) and summary;
``ops show NAME`` prints its parameters (name, type, default, bounds, description) from the JSON Schema
of its parameter model. With ``-o json``: ``list`` prints every operation's ``describe()`` (schemas
included), ``show`` the one operation's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from redisops.cli.common import Output, OutputOpt, console, emit, error_boundary
from redisops.ops.reference import param_rows, render_reference

if TYPE_CHECKING:
    from redisops.ops.catalogue import Operation

__all__ = ["app", "param_rows"]

app = typer.Typer(
    help="The catalogue of operations every front end runs: kinds and parameter schemas.",
    no_args_is_help=True,
)

_KIND_STYLE = {"read": "green", "mutate": "yellow", "destructive": "bold red"}


def _kind(kind: str) -> str:
    style = _KIND_STYLE.get(kind, "")
    return f"[{style}]{kind}[/{style}]" if style else kind


def _print_list(ops: list[Operation[Any, Any]]) -> None:
    table = Table(title=f"{len(ops)} operations", box=box.SIMPLE_HEAD, title_justify="left")
    for col in ("operation", "kind", "summary"):
        table.add_column(col, overflow="fold")
    for op in ops:
        table.add_row(op.name, _kind(str(op.kind)), op.summary)
    console.print(table)
    console.print("parameters of one: redisops ops show NAME", style="dim")


def _print_one(op: Operation[Any, Any]) -> None:
    console.print(f"[bold]{op.name}[/bold]: {op.summary}", soft_wrap=True, highlight=False)
    plans = "yes (a dry run shows what would change and what blocks it)" if op.plan is not None else "no"
    console.print(f"kind:  {_kind(str(op.kind))}")
    console.print(f"plans: {plans}")
    rows = param_rows(op.schema())
    if not rows:
        console.print("parameters: none")
        return
    console.print("parameters:")
    for r in rows:
        default = f" = {r['default']}" if r["default"] and r["default"] != "(required)" else ""
        need = " (required)" if r["default"] == "(required)" else ""
        bounds = f"  [{r['bounds']}]" if r["bounds"] else ""
        head = Text.assemble(("  " + r["name"], "bold"), f": {r['type']}{default}{need}{bounds}")
        console.print(head, soft_wrap=True)
        if r["description"]:
            console.print(Padding(Text(r["description"], style="dim"), (0, 0, 0, 6)))


@app.command(name="list")
def list_(output: OutputOpt = Output.text) -> None:
    """Every operation: name, kind (read, mutate, destructive) and summary (-o json: with schemas)."""
    from redisops.ops.registry import catalogue

    with error_boundary(output):
        ops = list(catalogue())
        emit(output, {"operations": [op.describe() for op in ops]}, lambda: _print_list(ops))


@app.command()
def show(
    name: Annotated[str, typer.Argument(help="the operation's dotted name, e.g. backup.create")],
    output: OutputOpt = Output.text,
) -> None:
    """One operation: summary, kind, whether it plans, and its parameters (-o json: describe())."""
    from redisops.ops.registry import catalogue

    with error_boundary(output):
        op = catalogue().get(name)
        emit(output, op.describe(), lambda: _print_one(op))


@app.command()
def doc() -> None:
    """Print the operations reference as Markdown (what docs/operations.md holds)."""
    from redisops.ops.registry import catalogue

    with error_boundary():
        console.out(render_reference(catalogue()), end="", highlight=False)
