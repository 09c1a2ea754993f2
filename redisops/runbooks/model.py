"""The parsed runbook: frontmatter, cells (every fenced block) and steps (the cells that run).

Pure data, built by :func:`redisops.runbooks.parse.parse_runbook`; the executor runs :class:`Step` s.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from redisops.runbooks.attrs import parse_bool
from redisops.runbooks.conditions import Condition

__all__ = [
    "SHELL_LANGS",
    "Cell",
    "Expect",
    "Frontmatter",
    "Runbook",
    "Step",
    "StepKind",
    "TargetDecl",
    "Variable",
]

#: fence languages that run as shell steps; ``redisops`` cells call operations; others are documentation
SHELL_LANGS = frozenset({"sh", "bash", "shell"})


class StepKind(enum.StrEnum):
    """What a step does to the world (an operation's own kind, or declared on a shell cell)."""

    read = "read"
    mutate = "mutate"
    destructive = "destructive"


@dataclasses.dataclass(frozen=True)
class Variable:
    """A typed variable of the frontmatter (``-v NAME=VALUE`` overrides the default).

    ``optional`` (``required: false``): without a default and a value the variable stays unset: an
    operation argument that is only ``${NAME}`` is left out (the operation's own default applies), shell
    steps do not see it, and conditions read ``vars.NAME`` as null.
    """

    name: str
    type: str = "str"
    default: Any = None
    description: str = ""
    line: int = 0
    optional: bool = False

    @property
    def required(self) -> bool:
        """No default and not optional: the run needs ``-v NAME=VALUE``."""
        return self.default is None and not self.optional

    def convert(self, raw: Any) -> Any:
        """``raw`` (a string from the command line, or a YAML value) as this variable's type."""
        if self.type == "int":
            return int(raw)
        if self.type == "float":
            return float(raw)
        if self.type == "bool":
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(f"not a boolean: {raw!r}")
        return str(raw)


@dataclasses.dataclass(frozen=True)
class TargetDecl:
    """Where the runbook acts: ``sandbox``, a kube ``context`` + ``namespace``, or ``none`` (local only)."""

    kind: str = "none"
    context: str | None = None
    namespace: str | None = None
    kubeconfig: str | None = None

    def describe(self) -> str:
        """``sandbox``, ``kube emu/llm-judge`` or ``none``."""
        if self.kind == "kube":
            return f"kube {self.context}/{self.namespace}"
        return self.kind

    @property
    def confirm_name(self) -> str:
        """What an operator types to approve a destructive step (the context, or ``sandbox``)."""
        return self.context or self.kind


@dataclasses.dataclass(frozen=True)
class Frontmatter:
    """The frontmatter: redisops keys (title, variables, secrets, target) and Runme's (shell, cwd, ...)."""

    title: str = ""
    description: str = ""
    variables: tuple[Variable, ...] = ()
    secrets: tuple[str, ...] = ()
    target: TargetDecl = TargetDecl()
    shell: str = "bash"
    cwd: str = ""
    skip_prompts: bool = False
    tags: tuple[str, ...] = ()
    runme_id: str = ""
    end_line: int = 0  # the line after the frontmatter (0: none)

    def variable(self, name: str) -> Variable | None:
        """The declared variable ``name``."""
        return next((v for v in self.variables if v.name == name), None)


@dataclasses.dataclass(frozen=True)
class Cell:
    """One fenced code block (Runme's cell): name, language, attributes, body and where it is."""

    name: str
    named: bool  # the name was given (attribute ``name``), not generated
    lang: str
    attrs: Mapping[str, str]
    attr_format: str
    body: str  # ``$ `` prompts stripped
    line: int  # the fence line, 1-based
    description: str = ""

    @property
    def runnable(self) -> bool:
        """A shell or redisops cell that is not ``ignore``d."""
        return (self.lang in SHELL_LANGS or self.lang == "redisops") and not parse_bool(
            self.attrs.get("ignore"), False
        )


@dataclasses.dataclass(frozen=True)
class Expect:
    """What must hold after a step: an exit code and/or a condition (see :mod:`.conditions`)."""

    exit_code: int | None = 0
    condition: Condition | None = None

    def describe(self) -> str:
        """``exit 0``, ``exit 0 and <condition>``."""
        parts = [f"exit {self.exit_code}"] if self.exit_code is not None else []
        if self.condition is not None:
            parts.append(self.condition.text)
        return " and ".join(parts) or "anything"


@dataclasses.dataclass(frozen=True)
class Step:
    """A runnable cell with redisops' per-step attributes."""

    cell: Cell
    kind: StepKind
    confirm: bool | str | None = None  # True or a question: ask; False: never ask; None: by kind
    expect: Expect = Expect()
    timeout: float | None = None
    retries: int = 0
    backoff: float = 1.0
    requires: tuple[str, ...] = ()
    skip_if: str | None = None
    undo: str | None = None
    op: str | None = None  # a redisops cell's operation
    args: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    run_all: bool = True  # Runme's excludeFromRunAll=false
    background: bool = False  # Runme's background: started without waiting, stopped when the run ends
    interactive: bool = False  # Runme's interactive: runs with the terminal attached
    cwd: str = ""  # Runme's cwd: joined with the frontmatter's cwd
    interpreter: str = ""  # Runme's interpreter: the program that runs the cell (default: the shell)
    prompt_env: str = "auto"  # Runme's promptEnv: auto, always or never (see redisops.runbooks.prompts)

    @property
    def name(self) -> str:
        """The cell's name."""
        return self.cell.name

    @property
    def line(self) -> int:
        """The fence line."""
        return self.cell.line

    @property
    def is_shell(self) -> bool:
        """A shell step (else an operation step)."""
        return self.op is None

    def fingerprint(self) -> dict[str, Any]:
        """What the step is, for the runbook's hash (a resume refuses when it changed)."""
        return {
            "name": self.name,
            "lang": self.cell.lang,
            "body": self.cell.body,
            "attrs": dict(sorted(self.cell.attrs.items())),
        }


@dataclasses.dataclass(frozen=True)
class Runbook:
    """A parsed runbook."""

    path: Path | None
    front: Frontmatter
    cells: tuple[Cell, ...]
    steps: tuple[Step, ...]
    title: str = ""

    def step(self, name: str) -> Step | None:
        """The step called ``name``."""
        return next((s for s in self.steps if s.name == name), None)

    @property
    def undo_steps(self) -> frozenset[str]:
        """Names of steps that are some step's ``undo`` (they run only to undo)."""
        return frozenset(s.undo for s in self.steps if s.undo)

    def sequence(self) -> tuple[Step, ...]:
        """The steps a full run runs, in order (not undo-only steps, not ``excludeFromRunAll``)."""
        undo = self.undo_steps
        return tuple(s for s in self.steps if s.run_all and s.name not in undo)

    def digest(self) -> str:
        """SHA-256 of the steps (names, languages, bodies, attributes): a resume's guard."""
        blob = json.dumps([s.fingerprint() for s in self.steps], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (``runbook show -o json``)."""
        return {
            "path": str(self.path) if self.path else None,
            "title": self.title,
            "target": self.front.target.describe(),
            "variables": [
                {
                    "name": v.name,
                    "type": v.type,
                    "default": v.default,
                    "required": v.required,
                    "description": v.description,
                }
                for v in self.front.variables
            ],
            "secrets": list(self.front.secrets),
            "digest": self.digest(),
            "steps": [
                {
                    "name": s.name,
                    "line": s.line,
                    "kind": str(s.kind),
                    "lang": s.cell.lang,
                    "op": s.op,
                    "args": dict(s.args),
                    "description": s.cell.description,
                    "expect": s.expect.describe(),
                    "timeout": s.timeout,
                    "retries": s.retries,
                    "requires": list(s.requires),
                    "skip_if": s.skip_if,
                    "undo": s.undo,
                    "undo_only": s.name in self.undo_steps,
                    "run_all": s.run_all,
                    "background": s.background,
                    "interactive": s.interactive,
                    "body": s.cell.body,
                }
                for s in self.steps
            ],
        }
