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
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from redisops.cli.common import ConfigOpt, Output, OutputOpt, console, emit, error_boundary

if TYPE_CHECKING:
    from redisops.lint.engine import Finding

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


def _check_backup_id(value: str | None) -> str | None:
    from redisops.backup.layout import is_backup_id

    if value is not None and not is_backup_id(value):
        raise typer.BadParameter(
            f"{value!r} is not a backup id (YYYYMMDDTHHMMSSZ-hex, e.g. 20250101T000000Z-ab12; "
            "`redisops backup list` shows them)"
        )
    return value


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
        typer.Option(
            "--restore-job",
            metavar="BACKUP_ID",
            callback=_check_backup_id,
            help="print only a restore Job for this backup",
        ),
    ] = None,
) -> None:
    """Print the Kubernetes manifests for the config (YAML stream; JSON list with --output json)."""
    from redisops.cli.k8s_cmd import config_in_namespace
    from redisops.k8s.manifests import (
        APPLY_ORDER,
        DEFAULT_TOOL_IMAGE,
        RenderOptions,
        render_manifests,
        render_restore_job,
        to_yaml,
    )

    with error_boundary(output):
        cfg = config_in_namespace(config, namespace)
        opts = RenderOptions(
            tool_image=tool_image or DEFAULT_TOOL_IMAGE,
            include_storage_class=not no_storage_class,
            include_client_egress=not no_client_egress,
        )
        if restore_job is not None:
            docs = [render_restore_job(cfg, restore_job, opts.tool_image, options=opts)]
        else:
            docs = render_manifests(cfg, revision=revision, options=opts)
        if only:
            known = {k.lower(): k for k in (*APPLY_ORDER, "Job")}
            wanted = {k.strip().lower() for item in only for k in item.split(",") if k.strip()}
            unknown = sorted(wanted - set(known))
            if unknown:
                raise typer.BadParameter(
                    f"unknown kind(s) {', '.join(unknown)}; known: {', '.join(known.values())}",
                    param_hint="--only",
                )
            docs = [d for d in docs if str(d["kind"]).lower() in wanted]
        emit(output, docs, lambda: _write(to_yaml(docs)))


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
    """Lint the config and its manifests. Exit 0 = no errors, 21 = errors, 20 = warnings with --strict."""
    from redisops.config import load_config
    from redisops.errors import ConfigError
    from redisops.lint import LintOptions, exit_code, lint_config, summarize
    from redisops.lint.rules import RULES

    if list_rules:
        rows = [{"id": r.id, "severity": r.severity, "scope": r.scope, "title": r.title} for r in RULES]
        emit(output, rows, lambda: _print_rules(rows))
        return
    with error_boundary(output):
        if config_arg is not None and config is not None and config_arg != config:
            raise ConfigError("give the config either as an argument or with --config, not both")
        cfg = load_config(config_arg or config)
        docs = _load_manifests(manifests_file) if manifests_file is not None else None
        opts = LintOptions(workload="cache" if workload is WorkloadChoice.cache else None)
        if workload is WorkloadChoice.store:
            opts = LintOptions(workload="store")
        findings = lint_config(cfg, manifests=docs, options=opts)
        code = exit_code(findings, strict=strict)
        data = {
            "findings": [f.to_dict() for f in findings],
            "summary": summarize(findings),
            "exit_code": code,
        }
        emit(output, data, lambda: _print_findings(findings))
    if code:
        raise typer.Exit(code)


def _write(text: str) -> None:
    sys.stdout.write(text)


def _load_manifests(path: Path) -> list[dict[str, Any]]:
    import yaml

    from redisops.errors import ConfigError

    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
        raw = list(yaml.safe_load_all(text))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise ConfigError(f"cannot read manifests from {path}: {e}", context={"file": str(path)}) from e
    docs: list[dict[str, Any]] = []
    for doc in raw:
        if isinstance(doc, dict) and doc.get("kind") == "List":
            docs += [d for d in doc.get("items") or [] if isinstance(d, dict)]
        elif isinstance(doc, dict):
            docs.append(doc)
        elif doc is not None:
            raise ConfigError(f"{path}: every YAML document must be a Kubernetes object (a mapping)")
    return docs


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

    from redisops.lint import summarize

    if not findings:
        console.print("[green]no findings[/green]")
        return
    table = Table()
    for col in ("#", "severity", "rule", "field", "title"):
        table.add_column(col, overflow="fold")
    for i, f in enumerate(findings, 1):
        style = _SEVERITY_STYLE[f.severity]
        table.add_row(str(i), f"[{style}]{f.severity}[/{style}]", f.rule_id, escape(f.path), escape(f.title))
    console.print(table)
    for i, f in enumerate(findings, 1):
        style = _SEVERITY_STYLE[f.severity]
        console.print(f"[{style}]{i}. {f.rule_id}[/{style}] ({escape(f.path)})")
        console.print(f"   {escape(f.message)}")
        console.print(f"   [bold]fix:[/bold] {escape(f.fix)}")
    counts = summarize(findings)
    console.print(f"{counts['error']} error(s), {counts['warn']} warning(s), {counts['info']} info")
