"""A tiny, safe expression language for ``expect`` and ``skip_if`` (no ``eval``).

::

    from redisops.runbooks.conditions import Condition

    c = Condition.parse('result.status == "ok" and stdout contains "PONG"')
    assert c.evaluate({"result": {"status": "ok"}, "stdout": "PONG\\n"})
    assert Condition.parse("exit_code in [0, 2]").evaluate({"exit_code": 2})
    assert Condition.parse("stdout matches '^used_memory:[0-9]+'").evaluate({"stdout": "used_memory:12"})
    assert sorted(Condition.parse("not (vars.mode == 'x' or steps.ping.ok)").roots()) == ["steps", "vars"]
    assert Condition.parse("result.id == steps.take-backup.result.id").steps() == {"take-backup"}

Grammar: ``or``/``and``/``not``, comparisons ``== != < <= > >= in contains matches``, parentheses,
literals (``'text'``, ``"text"``, numbers, ``true``/``false``/``null``, ``[a, b]`` lists) and names
(``result.status``, ``steps.take-backup.exit_code``, ``result.items[0].id``). A name that does not
resolve is ``null``. Comparing a number with a numeric string compares numbers.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["Condition", "ConditionSyntaxError"]

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<num>-?\d+(?:\.\d+)?)
    | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,|\.)
    | (?P<name>[A-Za-z_][A-Za-z0-9_-]*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "contains", "matches", "true", "false", "null"}
_COMPARE = {"==", "!=", "<", "<=", ">", ">=", "in", "contains", "matches"}


class ConditionSyntaxError(ValueError):
    """The text is not a condition (the message says where)."""


@dataclasses.dataclass(frozen=True)
class _Tok:
    kind: str
    value: str


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ConditionSyntaxError(f"unexpected {text[pos:].strip()[:20]!r} at column {pos + 1}")
        pos = m.end()
        kind = m.lastgroup or ""
        value = m.group(kind)
        if kind == "name" and value in _KEYWORDS:
            kind = "kw"
        out.append(_Tok(kind, value))
    return out


class _Parser:
    def __init__(self, toks: list[_Tok]) -> None:
        self.toks = toks
        self.i = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, value: str | None = None) -> _Tok:
        tok = self.peek()
        if tok is None or (value is not None and tok.value != value):
            raise ConditionSyntaxError(f"expected {value or 'more'} at token {self.i + 1}")
        self.i += 1
        return tok

    def expr(self) -> Any:
        left = self.conj()
        while (t := self.peek()) is not None and t.value == "or":
            self.take()
            left = ("or", left, self.conj())
        return left

    def conj(self) -> Any:
        left = self.neg()
        while (t := self.peek()) is not None and t.value == "and":
            self.take()
            left = ("and", left, self.neg())
        return left

    def neg(self) -> Any:
        t = self.peek()
        if t is not None and t.value == "not":
            self.take()
            return ("not", self.neg())
        return self.compare()

    def compare(self) -> Any:
        left = self.primary()
        t = self.peek()
        if t is not None and t.kind in ("op", "kw") and t.value in _COMPARE:
            self.take()
            return ("cmp", t.value, left, self.primary())
        return left

    def primary(self) -> Any:
        t = self.take()
        if t.value == "(" and t.kind == "op":
            inner = self.expr()
            self.take(")")
            return inner
        if t.value == "[" and t.kind == "op":
            items: list[Any] = []
            while (n := self.peek()) is not None and n.value != "]":
                items.append(self.primary())
                if (n := self.peek()) is not None and n.value == ",":
                    self.take()
            self.take("]")
            return ("list", items)
        if t.kind == "num":
            return ("lit", float(t.value) if "." in t.value else int(t.value))
        if t.kind == "str":
            return ("lit", re.sub(r"\\(.)", r"\1", t.value[1:-1]))
        if t.kind == "kw" and t.value in ("true", "false", "null"):
            return ("lit", {"true": True, "false": False, "null": None}[t.value])
        if t.kind == "name":
            path: list[Any] = [t.value]
            while (n := self.peek()) is not None and n.value in (".", "["):
                self.take()
                if n.value == ".":
                    seg = self.take()
                    if seg.kind not in ("name", "kw", "num"):
                        raise ConditionSyntaxError(f"a name must follow '.', not {seg.value!r}")
                    path.append(seg.value)
                else:
                    seg = self.take()
                    if seg.kind not in ("num", "str"):
                        raise ConditionSyntaxError("an index is a number or a quoted key")
                    path.append(int(seg.value) if seg.kind == "num" else seg.value[1:-1])
                    self.take("]")
            return ("name", path)
        raise ConditionSyntaxError(f"unexpected {t.value!r}")


def _num(v: Any) -> Any:
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return v
    return v


def _lookup(ns: Mapping[str, Any], path: list[Any]) -> Any:
    cur: Any = ns
    for seg in path:
        if isinstance(cur, Mapping):
            cur = cur.get(str(seg)) if not isinstance(seg, int) or seg not in cur else cur[seg]
        elif isinstance(cur, list | tuple) and isinstance(seg, int) and -len(cur) <= seg < len(cur):
            cur = cur[seg]
        elif isinstance(cur, list | tuple) and isinstance(seg, str) and seg.lstrip("-").isdigit():
            idx = int(seg)
            cur = cur[idx] if -len(cur) <= idx < len(cur) else None
        else:
            return None
    return cur


def _compare(op: str, a: Any, b: Any) -> bool:
    if op == "contains":
        return a is not None and b is not None and (str(b) in a if isinstance(a, str) else b in a)
    if op == "in":
        return b is not None and (str(a) in b if isinstance(b, str) else a in b)
    if op == "matches":
        return a is not None and re.search(str(b), str(a), re.MULTILINE) is not None
    if type(a) is not type(b) and not (isinstance(a, int | float) and isinstance(b, int | float)):
        a, b = _num(a), _num(b)
    if op == "==":
        return bool(a == b)
    if op == "!=":
        return bool(a != b)
    try:
        return bool({"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op])
    except TypeError:
        return False


def _eval(node: Any, ns: Mapping[str, Any]) -> Any:
    tag = node[0]
    if tag == "lit":
        return node[1]
    if tag == "list":
        return [_eval(x, ns) for x in node[1]]
    if tag == "name":
        return _lookup(ns, node[1])
    if tag == "not":
        return not _eval(node[1], ns)
    if tag == "and":
        return bool(_eval(node[1], ns)) and bool(_eval(node[2], ns))
    if tag == "or":
        return bool(_eval(node[1], ns)) or bool(_eval(node[2], ns))
    return _compare(node[1], _eval(node[2], ns), _eval(node[3], ns))


def _paths(node: Any, out: list[list[Any]]) -> None:
    """Every name's path in the tree (``steps.ping.ok`` -> ``["steps", "ping", "ok"]``)."""
    if node[0] == "name":
        out.append(node[1])
    elif node[0] == "list":
        for x in node[1]:
            _paths(x, out)
    elif node[0] in ("not",):
        _paths(node[1], out)
    elif node[0] in ("and", "or"):
        _paths(node[1], out)
        _paths(node[2], out)
    elif node[0] == "cmp":
        _paths(node[2], out)
        _paths(node[3], out)


@dataclasses.dataclass(frozen=True)
class Condition:
    """A parsed condition: :meth:`parse` once, :meth:`evaluate` against a namespace of plain values."""

    text: str
    tree: Any = dataclasses.field(compare=False, repr=False)

    @classmethod
    def parse(cls, text: str) -> Condition:
        """Parse ``text``; :class:`ConditionSyntaxError` when it is not a condition."""
        if not text.strip():
            raise ConditionSyntaxError("an empty condition")
        p = _Parser(_tokens(text))
        tree = p.expr()
        if p.peek() is not None:
            raise ConditionSyntaxError(f"unexpected {p.peek().value!r} after the condition")  # type: ignore[union-attr]
        return cls(text, tree)

    def evaluate(self, ns: Mapping[str, Any]) -> bool:
        """True when the condition holds for ``ns`` (names are looked up in it)."""
        return bool(_eval(self.tree, ns))

    def roots(self) -> set[str]:
        """The first segment of every name used (``{"result", "stdout"}``)."""
        paths: list[list[Any]] = []
        _paths(self.tree, paths)
        return {str(p[0]) for p in paths}

    def steps(self) -> set[str]:
        """The steps whose outcome it uses (``steps.take-backup.result.id`` -> ``{"take-backup"}``)."""
        paths: list[list[Any]] = []
        _paths(self.tree, paths)
        return {str(p[1]) for p in paths if len(p) > 1 and p[0] == "steps"}
