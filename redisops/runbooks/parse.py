"""Parse a runbook: Markdown (CommonMark, by markdown-it-py) with Runme cells and redisops steps.

::

    from redisops.runbooks.parse import parse_runbook

    rb = parse_runbook('''---
    title: Ping
    target: sandbox
    ---
    Check that Redis answers.

    ```sh {"name":"ping","kind":"read","expect":"stdout contains 'PONG'"}
    $ redis-cli -p "$REDIS_PORT" ping
    ```
    ''')
    assert [s.name for s in rb.steps] == ["ping"]
    assert rb.steps[0].cell.body == 'redis-cli -p "$REDIS_PORT" ping'
    assert rb.steps[0].cell.description == "Check that Redis answers."

Every problem raises :class:`~redisops.runbooks.errors.RunbookError` with the line it is on; any other
exception from arbitrary input is a bug (the property tests feed it arbitrary Markdown).
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt

from redisops.errors import RedisOpsError
from redisops.runbooks.attrs import parse_bool, parse_info
from redisops.runbooks.conditions import Condition, ConditionSyntaxError
from redisops.runbooks.errors import RunbookError
from redisops.runbooks.model import (
    SHELL_LANGS,
    Cell,
    Expect,
    Frontmatter,
    Runbook,
    Step,
    StepKind,
    TargetDecl,
    Variable,
)
from redisops.runbooks.prompts import prompt_mode

__all__ = ["UNSET", "generate_name", "parse_runbook", "read_runbook", "strip_prompts", "substitute"]

_MD = MarkdownIt("commonmark")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_STEP_KEYS = {"kind", "confirm", "expect", "timeout", "retries", "backoff", "requires", "skip_if", "undo"}
_TYPES = {"str", "int", "float", "bool"}


def read_runbook(path: str | Path) -> Runbook:
    """Read and parse the runbook at ``path`` (RunbookError when unreadable, line 0)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise RunbookError(f"cannot read {p}: {e.strerror}", hint="check the path") from None
    return parse_runbook(raw.decode("utf-8", "replace"), path=p)


def strip_prompts(body: str) -> str:
    """Remove a leading ``$ `` prompt from each line (as a reader copies commands from docs)."""
    out = []
    for line in body.split("\n"):
        stripped = line.lstrip(" \t")
        if stripped.startswith("$ "):
            line = line[: len(line) - len(stripped)] + stripped[2:]
        elif stripped == "$":
            line = ""
        out.append(line)
    return "\n".join(out)


def _sanitize(s: str) -> str:
    """Runme's sanitizeName (document/block.go)."""
    idx = s.find("=")
    if idx > 0:
        return _sanitize(s[:idx])
    s = s.encode()[:32].decode("utf-8", "ignore")
    fragments = s.split(" ")
    s = " ".join(fragments[:2]) if len(fragments) > 1 else fragments[0]
    out: list[str] = []
    for ch in s.lower():
        if ch == " " and out:
            out.append("-")
        elif "0" <= ch <= "9" or "a" <= ch <= "z":
            out.append(ch)
    return "".join(out)


def generate_name(body: str) -> str:
    """The name Runme gives a cell without one: from its first non-comment line."""
    lines = [ln.lstrip("$").rstrip() for ln in body.split("\n")] if body else []
    stripped = [ln.strip().split("#", 1)[0].rstrip() for ln in lines]
    stripped = [ln for ln in stripped if ln]
    first = stripped[0] if stripped else (lines[0] if lines else "")
    return _sanitize(first)


class _Unset:
    """The value of an optional variable that was not given (see :data:`UNSET`)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()
"""Map an unset optional variable to this in :func:`substitute`: a value that is only ``${name}`` is
left out of its mapping or list (so an operation's own default applies); inside a longer string it is
empty."""


def substitute(value: Any, variables: Mapping[str, Any]) -> Any:
    """``${name}`` replaced by variables in strings (recursively); a string that is only ``${name}``
    becomes the variable's typed value. Unknown names are left as they are; a name mapped to
    :data:`UNSET` drops the mapping entry or list item that is only ``${name}``."""
    if isinstance(value, str):
        m = _VAR.fullmatch(value)
        if m and m.group(1) in variables:
            return variables[m.group(1)]

        def one(m: re.Match[str]) -> str:
            v = variables.get(m.group(1), m.group(0))
            return "" if v is UNSET else str(v)

        return _VAR.sub(one, value)
    if isinstance(value, Mapping):
        pairs = ((k, substitute(v, variables)) for k, v in value.items())
        return {k: v for k, v in pairs if v is not UNSET}
    if isinstance(value, list):
        return [v for v in (substitute(v, variables) for v in value) if v is not UNSET]
    return value


def variable_refs(value: Any) -> set[str]:
    """The ``${name}`` references in ``value`` (strings, recursively)."""
    if isinstance(value, str):
        return set(_VAR.findall(value))
    if isinstance(value, Mapping):
        return set().union(*(variable_refs(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(variable_refs(v) for v in value)) if value else set()
    return set()


# --- frontmatter -------------------------------------------------------------------------------------


def _split_frontmatter(text: str) -> tuple[str, str, int]:
    """(format, frontmatter text, number of lines it takes) — ("", "", 0) when there is none."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() not in ("---", "+++"):
        return "", "", 0
    fence = lines[0].rstrip()
    for i in range(1, len(lines)):
        if lines[i].rstrip() == fence:
            return ("toml" if fence == "+++" else "yaml"), "\n".join(lines[1:i]), i + 1
    return "", "", 0


def _key_lines(text: str, offset: int) -> dict[str, int]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(k.value): k.start_mark.line + offset for k, _ in node.value if isinstance(k, yaml.ScalarNode)}


def _parse_frontmatter(text: str) -> tuple[Frontmatter, int]:
    fmt, body, nlines = _split_frontmatter(text)
    if not fmt:
        return Frontmatter(), 0
    data: Any
    lines: dict[str, int] = {}
    try:
        if fmt == "toml":
            data = tomllib.loads(body)
        else:
            data = yaml.safe_load(body)
            lines = _key_lines(body, 2)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise RunbookError(
            f"the frontmatter is not valid YAML: {getattr(e, 'problem', None) or e}",
            line=(mark.line + 2) if mark is not None else 1,
        ) from None
    except (tomllib.TOMLDecodeError, ValueError) as e:
        raise RunbookError(f"the frontmatter is not valid TOML: {e}", line=1) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RunbookError("the frontmatter must be a mapping (key: value lines)", line=1)

    def line_of(key: str) -> int:
        return lines.get(key, 1)

    return _frontmatter_from(data, line_of, nlines), nlines


def _frontmatter_from(data: dict[str, Any], line_of: Any, nlines: int) -> Frontmatter:
    variables: list[Variable] = []
    raw_vars = data.get("variables") or {}
    if not isinstance(raw_vars, dict):
        raise RunbookError(
            "variables: a mapping of name -> default or {type, default, description}",
            line=line_of("variables"),
        )
    for name, spec in raw_vars.items():
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise RunbookError(f"variable name {name!r} is not an identifier", line=line_of("variables"))
        if not isinstance(spec, dict):
            spec = {"default": spec}
        unknown = set(spec) - {"type", "default", "description", "required"}
        required = spec.get("required", True)
        vtype = spec.get("type") or _type_of(spec.get("default"))
        if unknown or vtype not in _TYPES or not isinstance(required, bool):
            raise RunbookError(
                f"variable {name}: keys are type ({'|'.join(sorted(_TYPES))}), default, description, "
                "required (true or false)",
                line=line_of("variables"),
            )
        var = Variable(
            name, vtype, None, str(spec.get("description") or ""), line_of("variables"), not required
        )
        if spec.get("default") is not None:
            try:
                var = dataclasses.replace(var, default=var.convert(spec["default"]))
            except ValueError:
                raise RunbookError(
                    f"variable {name}: default {spec['default']!r} is not a {vtype}",
                    line=line_of("variables"),
                ) from None
        variables.append(var)
    secrets = data.get("secrets") or []
    if isinstance(secrets, str):
        secrets = [s.strip() for s in secrets.split(",") if s.strip()]
    if not isinstance(secrets, list) or not all(isinstance(s, str) and s for s in secrets):
        raise RunbookError("secrets: a list of environment variable names", line=line_of("secrets"))
    target = _target(data.get("target"), line_of("target"))
    runme: dict[str, Any] = data["runme"] if isinstance(data.get("runme"), dict) else {}
    tags = data.get("tag") or data.get("tags") or ""
    tag_list = tags if isinstance(tags, list) else str(tags).split(",")
    return Frontmatter(
        title=str(data.get("title") or ""),
        description=str(data.get("description") or ""),
        variables=tuple(variables),
        secrets=tuple(secrets),
        target=target,
        shell=str(data.get("shell") or "bash"),
        cwd=str(data.get("cwd") or ""),
        skip_prompts=parse_bool(str(data.get("skipPrompts")).lower(), False),
        tags=tuple(str(t).strip() for t in tag_list if str(t).strip()),
        runme_id=str(runme.get("id") or ""),
        end_line=nlines,
    )


def _type_of(default: Any) -> str:
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, int):
        return "int"
    if isinstance(default, float):
        return "float"
    return "str"


def _target(value: Any, line: int) -> TargetDecl:
    if value is None or value == "none":
        return TargetDecl()
    if value == "sandbox":
        return TargetDecl("sandbox")
    if (
        isinstance(value, dict)
        and set(value) <= {"context", "namespace", "kubeconfig"}
        and value.get("context")
    ):
        return TargetDecl(
            "kube",
            str(value["context"]),
            str(value.get("namespace") or "default"),
            str(value["kubeconfig"]) if value.get("kubeconfig") else None,
        )
    raise RunbookError(
        "target: 'sandbox', 'none', or {context: NAME, namespace: NS[, kubeconfig: PATH]}", line=line
    )


# --- cells -------------------------------------------------------------------------------------------


def _cells(text: str, offset: int) -> list[Cell]:
    tokens = _MD.parse(text)
    counter: dict[str, int] = {}
    cells: list[Cell] = []
    for i, tok in enumerate(tokens):
        if tok.type != "fence" or tok.markup[:1] not in ("`", "~"):
            continue
        line = (tok.map[0] if tok.map else 0) + 1 + offset
        info = parse_info(tok.info)
        body = strip_prompts(tok.content[:-1] if tok.content.endswith("\n") else tok.content)
        given = info.attrs.get("name", "")
        base = given or generate_name(body)
        counter[base] = counter.get(base, 0) + 1
        name = base if counter[base] == 1 else f"{base}-{counter[base]}"
        description = ""
        if i >= 2 and tokens[i - 1].type == "paragraph_close" and tokens[i - 1].level == tok.level:
            description = tokens[i - 2].content.strip()
        cells.append(Cell(name, bool(given), info.lang, info.attrs, info.fmt, body, line, description))
    return cells


def _duration(value: Any, what: str, line: int, name: str) -> float:
    text = str(value).strip().lower()
    scale = 1.0
    for suffix, mult in (("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)):
        if text.endswith(suffix) and text[: -len(suffix)].replace(".", "", 1).isdigit():
            text, scale = text[: -len(suffix)], mult
            break
    try:
        seconds = float(text) * scale
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 7 * 86400 or seconds != seconds:
        raise RunbookError(
            f"step {name}: {what} {value!r} is not a duration (30, 30s, 5m)", line=line, step=name
        )
    return seconds


def _expect(value: Any, line: int, name: str) -> Expect:
    if value is None or value == "":
        return Expect()
    if isinstance(value, bool):
        raise RunbookError(f"step {name}: expect is an exit code or a condition", line=line, step=name)
    if isinstance(value, int) or (isinstance(value, str) and value.strip().lstrip("-").isdigit()):
        return Expect(exit_code=int(value))
    try:
        cond = Condition.parse(str(value))
    except ConditionSyntaxError as e:
        raise RunbookError(f"step {name}: expect {str(value)!r}: {e}", line=line, step=name) from None
    return Expect(exit_code=None if "exit_code" in cond.roots() else 0, condition=cond)


def _step(
    cell: Cell,
    values: Mapping[str, Any],
    op: str | None,
    args: Mapping[str, Any],
    variables: Mapping[str, Any],
    skip_prompts: bool = False,
) -> Step:
    line, name = cell.line, cell.name
    kind_raw = values.get("kind")
    if kind_raw is not None and str(kind_raw) not in StepKind.__members__:
        raise RunbookError(
            f"step {name}: kind {kind_raw!r} is not read, mutate or destructive", line=line, step=name
        )
    kind = StepKind(str(kind_raw)) if kind_raw is not None else StepKind.mutate
    if op is not None:
        kind = _op_kind(op, args, variables, kind_raw, line, name)
    confirm_raw = values.get("confirm")
    confirm: bool | str | None = None
    if isinstance(confirm_raw, bool):
        confirm = confirm_raw
    elif confirm_raw not in (None, ""):
        text = str(confirm_raw)
        confirm = parse_bool(text, True) if text.lower() in ("true", "false", "1", "0", "t", "f") else text
    retries_raw = values.get("retries", 0)
    try:
        retries = int(str(retries_raw))
    except ValueError:
        retries = -1
    if not 0 <= retries <= 100:
        raise RunbookError(
            f"step {name}: retries {retries_raw!r} is not a count 0..100", line=line, step=name
        )
    requires = values.get("requires") or ()
    if isinstance(requires, str):
        requires = [r.strip() for r in requires.split(",") if r.strip()]
    if not isinstance(requires, list | tuple) or not all(isinstance(r, str) for r in requires):
        raise RunbookError(f"step {name}: requires is a comma-separated list", line=line, step=name)
    skip_if = values.get("skip_if")
    undo = values.get("undo")
    return Step(
        cell=cell,
        kind=kind,
        confirm=confirm,
        expect=_expect(values.get("expect"), line, name),
        timeout=_duration(values["timeout"], "timeout", line, name) if values.get("timeout") else None,
        retries=retries,
        backoff=_duration(values.get("backoff", 1.0), "backoff", line, name),
        requires=tuple(requires),
        skip_if=str(skip_if) if skip_if not in (None, "") else None,
        undo=str(undo) if undo not in (None, "") else None,
        op=op,
        args=dict(args),
        run_all=not parse_bool(cell.attrs.get("excludeFromRunAll"), False),
        background=parse_bool(cell.attrs.get("background"), False),
        interactive=parse_bool(cell.attrs.get("interactive"), False),
        cwd=cell.attrs.get("cwd", ""),
        interpreter=cell.attrs.get("interpreter", ""),
        prompt_env=prompt_mode(cell.attrs.get("promptEnv"), skip_prompts),
    )


def _op_kind(
    op: str, args: Mapping[str, Any], variables: Mapping[str, Any], declared: Any, line: int, name: str
) -> StepKind:
    from redisops.ops.registry import catalogue

    try:
        operation = catalogue().get(op)
        resolved = substitute(args, variables)
        if not variable_refs(resolved):  # a variable without a default is validated when the run has it
            operation.parse(resolved)
    except RedisOpsError as e:
        raise RunbookError(f"step {name}: {e.message}", line=line, step=name, hint=e.hint) from None
    kind = StepKind(str(operation.kind))
    order = list(StepKind)
    if declared is not None and order.index(StepKind(str(declared))) < order.index(kind):
        raise RunbookError(
            f"step {name}: declared kind {declared} but {op} is {kind}",
            line=line,
            step=name,
            hint="drop the kind attribute: an operation step takes the operation's kind",
        )
    return max(kind, StepKind(str(declared)) if declared else kind, key=order.index)


def _redisops_cell(cell: Cell, variables: Mapping[str, Any]) -> Step:
    try:
        data = yaml.safe_load(cell.body) if cell.body.strip() else None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise RunbookError(
            f"step {cell.name}: the body is not valid YAML: {getattr(e, 'problem', None) or e}",
            line=cell.line + 1 + (mark.line if mark is not None else 0),
            step=cell.name,
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("op"), str):
        raise RunbookError(
            f"step {cell.name}: a redisops cell is YAML with op: NAME and args: {{...}}",
            line=cell.line,
            step=cell.name,
        )
    unknown = set(data) - {"op", "args"} - _STEP_KEYS
    if unknown:
        raise RunbookError(
            f"step {cell.name}: unknown keys {', '.join(sorted(map(str, unknown)))}",
            line=cell.line,
            step=cell.name,
            hint="keys: op, args, " + ", ".join(sorted(_STEP_KEYS)),
        )
    args = data.get("args") or {}
    if not isinstance(args, dict):
        raise RunbookError(f"step {cell.name}: args must be a mapping", line=cell.line, step=cell.name)
    values = {
        **{k: v for k, v in cell.attrs.items() if k in _STEP_KEYS},
        **{k: data[k] for k in _STEP_KEYS & set(data)},
    }
    return _step(cell, values, data["op"], args, variables)


def parse_runbook(text: str, *, path: Path | None = None) -> Runbook:
    """Parse runbook ``text`` (``path`` for messages); RunbookError with a line for every problem."""
    try:
        return _parse(text, path)
    except RunbookError:
        raise
    except RecursionError:
        raise RunbookError("the document nests too deeply to parse", line=1) from None


def _parse(text: str, path: Path | None) -> Runbook:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "\ufffd")
    front, nlines = _parse_frontmatter(text)
    rest = "\n".join(text.split("\n")[nlines:]) if nlines else text
    cells = _cells(rest, nlines)
    defaults = {v.name: v.default for v in front.variables if v.default is not None}
    defaults |= {v.name: UNSET for v in front.variables if v.default is None and v.optional}
    steps: list[Step] = []
    for cell in cells:
        if not cell.runnable:
            continue
        if cell.lang == "redisops":
            steps.append(_redisops_cell(cell, defaults))
        elif cell.lang in SHELL_LANGS:
            values = {k: v for k, v in cell.attrs.items() if k in _STEP_KEYS}
            steps.append(_step(cell, values, None, {}, defaults, front.skip_prompts))
    title = front.title
    if not title:
        for tok in _MD.parse(rest):
            if tok.type == "inline" and tok.map is not None and tok.level == 1:
                title = tok.content.strip()
                break
    return Runbook(path, front, tuple(cells), tuple(steps), title or (path.stem if path else ""))
