"""Property tests: arbitrary Markdown never makes the parser (or lint) raise anything but a
RunbookError carrying a line number."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redisops.runbooks import RunbookError, lint_text, parse_runbook

FRAGMENTS = [
    "```", "~~~", "````", "```sh", "```bash", "```shell", "```redisops", "```python", "~~~sh",
    '```sh {"name":"x"}', "```sh { name=x interactive=false }", '```sh {"name":', "```sh {}", "```{",
    '```redisops {"name":"b","timeout":"zz"}', '```sh {"expect":"stdout contains"}', '{"retries":"-4"}',
    "op: backup.create", "op: nope.nope", "args: {kind: zip}", "args: [", "expect: result.x ==", "undo: y",
    "---", "+++", "title: [", "variables:", "  v: {type: int, default: x}", "target: {context: c}",
    "- item", "  - nested", "    - deeper", "1. one", "> quote", "> > deeper", ">     indented",
    "$ echo hi", "$", "# Heading", "text }", "{ name }", "\t", "    code", "=", "# comment", "\\", "\x00",
    "é", "\u2028", "<!-- html -->", "|a|b|",
]  # fmt: skip

line = st.one_of(
    st.sampled_from(FRAGMENTS),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30),
    st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=4).map(" ".join),
)
documents = st.tuples(st.lists(line, max_size=40), st.sampled_from(["\n", "\r\n", "\r"]), st.booleans()).map(
    lambda t: t[1].join(t[0]) + (t[1] if t[2] else "")
)


def _check(doc: str) -> None:
    try:
        rb = parse_runbook(doc)
    except RunbookError as e:
        assert e.line >= 1, e.message
        assert e.exit_code in range(30, 36)
        return
    for step in rb.steps:
        assert step.line >= 1
        assert step.name == step.cell.name
    assert len({c.name for c in rb.cells}) == len(rb.cells)  # names are unique, as Runme makes them


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_arbitrary_markdown_parses_or_raises_a_runbook_error_with_a_line(doc: str) -> None:
    _check(doc)
    for finding in lint_text(doc):
        assert finding.line >= 1 and finding.severity in ("error", "warning")


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400))
def test_any_text_at_all(doc: str) -> None:
    _check(doc)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet='`~{}"=:$ \n>-*1.#', max_size=300))
def test_fence_and_attribute_junk(doc: str) -> None:
    _check(doc)


def test_huge_inputs() -> None:
    cells = "".join(
        f'{i}. step\n\n   ```sh {{"name":"s{i}"}}\n   $ echo {i}\n   ```\n\n' for i in range(5000)
    )
    rb = parse_runbook("---\ntitle: big\n---\n" + cells)
    assert len(rb.steps) == 5000 and rb.steps[-1].cell.body == "echo 4999"
    deep = "> " * 2000 + "```sh\nx\n```\n" + "- " * 2000 + "\n" + "`" * 100000 + "\n" + "{" * 100000
    _check(deep)
    _check("```sh\n" + "echo x\n" * 200000)  # unclosed fence to the end
