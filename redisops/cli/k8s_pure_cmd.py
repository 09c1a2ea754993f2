"""``redisops manifests`` and ``redisops lint``: pure commands, no cluster needed.

``manifests`` prints the Kubernetes objects for the config as multi-document YAML (pipe it to
``kubectl apply -f -`` or commit it for GitOps), or a JSON list with ``--output json``.

``lint`` checks the config and the manifests against the rules in docs/lint-rules.md. Exit codes:
0 = no errors (warnings and info do not fail), 21 = errors found, 20 = with ``--strict``, warnings
(and no error), 3 = the config or manifest file cannot be loaded.
"""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from redisops.cli import _oprun
from redisops.cli._render import indented
from redisops.cli.common import ConfigOpt, Output, OutputOpt, console, emit, error_boundary
from redisops.cli.options import build_target

if TYPE_CHECKING:
    from redisops.ops.api_deploy import Finding, LintReport, LintRules, RenderedManifests

__all__ = ["register"]


class WorkloadChoice(enum.StrEnum):
    """What the data is: losing keys is fine (cache) or not (store)."""

    cache = "cache"
    store = "store"


_SEVERITY_STYLE = {"error": "bold red", "warn": "yellow", "info": "cyan"}


def register(app: typer.Typer) -> None:
    """Add ``manifests`` and ``lint`` to the root app."""
    app.command(name="manifests")(manifests)
    app.command(name="lint")(lint)


def manifests(
    config: ConfigOpt = None,
    namespace: Annotated[
        str | None,
        typer.Option("--namespace", "-n", help="namespace of the objects [default: the config's namespace]"),
    ] = None,
    output: OutputOpt = Output.text,
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="only objects of this kind (repeatable, e.g. --only Deployment)"),
    ] = None,
    tool_image: Annotated[
        str | None, typer.Option("--tool-image", help="redisops image for the backup/restore pods")
    ] = None,
    revision: Annotated[
        str | None, typer.Option("--revision", help="recorded as redisops.io/revision on every object")
    ] = None,
    no_storage_class: Annotated[
        bool, typer.Option("--no-storage-class", help="leave out the cluster-scoped StorageClass")
    ] = False,
    no_client_egress: Annotated[
        bool, typer.Option("--no-client-egress", help="leave out the clients' egress NetworkPolicy")
    ] = False,
    restore_job: Annotated[
        str | None,
        typer.Option("--restore-job", metavar="BACKUP_ID", help="print only a restore Job for this backup"),
    ] = None,
) -> None:
    """Print the Kubernetes manifests for the config (manifests.render): a YAML stream, or with
    --output json a Kubernetes List (kubectl applies either as it is)."""
    with error_boundary(output):
        params = {
            "only": only or [],
            "restore_job": restore_job,
            "tool_image": tool_image,
            "revision": revision,
            "include_storage_class": not no_storage_class,
            "include_client_egress": not no_client_egress,
        }
        with build_target(config=config, namespace=namespace) as target:
            rendered: RenderedManifests = _oprun.run(target, "manifests.render", params, output)
        emit(output, rendered, lambda: _write(rendered.to_yaml()))


def lint(
    config_arg: Annotated[
        Path | None,
        typer.Argument(metavar="[CONFIG]", help="deployment config (.yaml or the write-up's .hcl)"),
    ] = None,
    config: ConfigOpt = None,
    manifests_file: Annotated[
        Path | None,
        typer.Option(
            "--manifests",
            "-m",
            help="lint these manifests (multi-doc YAML, e.g. helm template output; - = stdin) "
            "instead of the ones redisops renders",
        ),
    ] = None,
    workload: Annotated[
        WorkloadChoice | None,
        typer.Option(
            "--workload",
            case_sensitive=False,
            help="cache or store [default: inferred from persistence and backups]",
            show_default=False,
        ),
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="exit 20 on warnings too")] = False,
    list_rules: Annotated[bool, typer.Option("--list-rules", help="list the rules and exit")] = False,
    output: OutputOpt = Output.text,
) -> None:
    """Lint the config and its manifests (lint.run). Exit 0 = no errors, 21 = errors, 20 = warnings with
    --strict."""
    from redisops.errors import ConfigError

    with error_boundary(output):
        if list_rules:
            with build_target() as target:
                rules: LintRules = _oprun.run(target, "lint.rules", {}, output)
            emit(output, rules, lambda: _print_rules(rules.rules))
            return
        if config_arg is not None and config is not None and config_arg != config:
            raise ConfigError("give the config either as an argument or with --config, not both")
        params: dict[str, object] = {"workload": workload.value if workload else None, "strict": strict}
        if manifests_file is not None and str(manifests_file) == "-":
            params["manifests_yaml"] = sys.stdin.read()
        elif manifests_file is not None:
            params["manifests_file"] = str(manifests_file)
        with build_target(config=config_arg or config) as target:
            report: LintReport = _oprun.run(target, "lint.run", params, output)
        emit(output, report, lambda: _print_findings(report.findings))
    if report.exit_code:
        raise typer.Exit(report.exit_code)


def _write(text: str) -> None:
    sys.stdout.write(text)


def _print_rules(rows: list[dict[str, str]]) -> None:
    table = Table(title="lint rules (details: docs/lint-rules.md)")
    for col in ("id", "severity", "scope", "title"):
        table.add_column(col)
    for r in rows:
        style = _SEVERITY_STYLE[r["severity"]]
        table.add_row(r["id"], f"[{style}]{r['severity']}[/{style}]", r["scope"], r["title"])
    console.print(table)


def _print_findings(findings: list[Finding]) -> None:
    from rich.markup import escape

    from redisops.ops.api_deploy import summarize

    if not findings:
        console.print("[green]no findings[/green]")
        return
    # rule ids and severities stay whole (they are what people grep for and look up in
    # docs/lint-rules.md); the field path folds and the title wraps on words in what is left
    table = Table()
    table.add_column("#", no_wrap=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("rule", no_wrap=True, min_width=max(len(f.rule_id) for f in findings))
    table.add_column("field", overflow="fold")
    table.add_column("title")
    for i, f in enumerate(findings, 1):
        style = _SEVERITY_STYLE[f.severity]
        table.add_row(str(i), f"[{style}]{f.severity}[/{style}]", f.rule_id, escape(f.path), escape(f.title))
    console.print(table)
    for i, f in enumerate(findings, 1):
        style = _SEVERITY_STYLE[f.severity]
        console.print(f"[{style}]{i}. {f.rule_id}[/{style}] ({escape(f.path)})")
        # the paragraphs wrap on words with every line under the first (3 spaces), not at column 0
        console.print(indented(f.message, 3))
        console.print(indented(Text.assemble(("fix:", "bold"), " ", f.fix), 3))
    counts = summarize(findings)
    console.print(f"{counts['error']} error(s), {counts['warn']} warning(s), {counts['info']} info")
