"""Runme's environment prompts: ``export X="default"`` in a cell asks for ``X`` (``promptEnv``).

A line ``export NAME="text"`` (or ``'text'``, or unquoted ``export NAME=some text``) whose value has no
``$`` or backtick is a *prompt*: ``text`` is its default. How it resolves depends on the cell's
``promptEnv`` attribute (``auto`` by default; ``yes``/``always``/``true``; ``no``/``never``/``false``;
the frontmatter's ``skipPrompts: true`` makes ``never`` the default) and on whether the run can ask
(a prompt callback that answers, and no ``--yes``):

=========  =========================================  ============================================
mode       can ask                                    cannot ask (``--yes``, no terminal)
=========  =========================================  ============================================
auto       ask, unless ``-v NAME=`` or the            ``-v NAME=``, else the environment, else
           environment sets it                        the default
always     ask (default: ``-v``/environment value,    ``-v NAME=``, else the environment, else a
           else the cell's)                           precondition failure naming ``-v NAME=...``
never      the cell as written (``-v NAME=`` still    the same
           wins)
=========  =========================================  ============================================

A resolved value reaches the cell through its environment (the line becomes ``export NAME``), so it is
never on a command line; a secret name (PASSWORD, SECRET, TOKEN, AUTH...) is asked without echo and masked.

::

    from redisops.runbooks.prompts import find_prompts, rewrite

    [p] = find_prompts('export REGION="eu-west-1"\\necho "$REGION"')
    assert (p.name, p.default) == ("REGION", "eu-west-1")
    assert rewrite('export REGION="eu-west-1"', {"REGION"}) == "export REGION"
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping

from redisops.runbooks.attrs import parse_bool

__all__ = ["ExportPrompt", "PromptFn", "Resolution", "find_prompts", "prompt_mode", "resolve", "rewrite"]

#: ``prompt(step_name, variable, default, secret)`` -> the answer, or None when there is no one to ask
PromptFn = Callable[[str, str, str, bool], "str | None"]

_EXPORT = re.compile(r"^(\s*)export\s+([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


@dataclasses.dataclass(frozen=True)
class ExportPrompt:
    """One ``export NAME=value`` line that Runme prompts for: the name and its default."""

    name: str
    default: str
    index: int  # the line's index in the body


def _literal(raw: str) -> str | None:
    """The text of ``raw`` when it is a literal (quoted, or unquoted words); None when the shell computes
    it."""
    raw = raw.strip()
    if "$" in raw or "`" in raw:
        return None
    for q in ('"', "'"):
        if len(raw) >= 2 and raw[0] == q and raw[-1] == q:
            inner = raw[1:-1]
            return None if q in inner else inner
    if any(ch in raw for ch in "\"'();&|<>\\"):
        return None
    return raw


def find_prompts(body: str) -> list[ExportPrompt]:
    """The prompting ``export`` lines of a shell cell's body, in order."""
    out: list[ExportPrompt] = []
    for i, line in enumerate(body.split("\n")):
        m = _EXPORT.match(line)
        if m is None:
            continue
        value = _literal(m.group(3))
        if value is not None:
            out.append(ExportPrompt(m.group(2), value, i))
    return out


def rewrite(body: str, names: Iterable[str]) -> str:
    """``body`` with the prompting ``export NAME=...`` lines of ``names`` turned into ``export NAME``
    (the value comes from the environment)."""
    wanted = set(names)
    lines = body.split("\n")
    for p in find_prompts(body):
        if p.name in wanted:
            indent = _EXPORT.match(lines[p.index])
            lines[p.index] = f"{indent.group(1) if indent else ''}export {p.name}"
    return "\n".join(lines)


def prompt_mode(value: str | None, skip_prompts: bool = False) -> str:
    """``auto``, ``always`` or ``never`` for a cell's ``promptEnv`` (Runme's spellings and booleans)."""
    text = (value or "").strip().lower()
    default = "never" if skip_prompts else "auto"
    if text in ("yes", "always"):
        return "always"
    if text in ("no", "never"):
        return "never"
    if text == "auto":
        return "auto"
    if parse_bool(value, True) is not parse_bool(value, False):
        return default  # not a boolean: an invalid value means the default, as in Runme
    return "always" if parse_bool(value, False) else "never"


@dataclasses.dataclass
class Resolution:
    """What the prompts of one cell resolved to: values for the environment, which were secret, and the
    names that must still be given (``always`` without anyone to ask)."""

    values: dict[str, str] = dataclasses.field(default_factory=dict)
    secret: list[str] = dataclasses.field(default_factory=list)
    missing: list[str] = dataclasses.field(default_factory=list)
    asked: list[str] = dataclasses.field(default_factory=list)


def resolve(
    step: str,
    prompts: list[ExportPrompt],
    mode: str,
    *,
    given: Mapping[str, str],
    env: Mapping[str, str],
    ask: PromptFn | None,
    is_secret: Callable[[str], bool],
) -> Resolution:
    """Resolve ``prompts`` (see the module table); ``given`` are ``-v`` values, ``ask`` None when the run
    cannot ask."""
    out = Resolution()
    for p in prompts:
        secret = is_secret(p.name)
        value: str | None = given.get(p.name)
        if value is None and mode != "never":
            current = env.get(p.name)
            answer = None
            if ask is not None and (mode == "always" or current is None):
                answer = ask(step, p.name, current if current is not None else p.default, secret)
                if answer is not None:
                    out.asked.append(p.name)
            value = answer if answer is not None else current
            if value is None and mode == "always":
                out.missing.append(p.name)
                continue
        if value is None:
            continue  # the cell's own default, as written
        out.values[p.name] = value
        if secret:
            out.secret.append(p.name)
    return out
