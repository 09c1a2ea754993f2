"""The runbook parser: Runme's cell syntax (attributes, names, prompts, frontmatter, nesting), redisops
operation cells validated by the operation's own model, and errors with line numbers."""

from __future__ import annotations

import pytest

from redisops.runbooks import RunbookError, parse_runbook
from redisops.runbooks.attrs import (
    extract_attributes,
    parse_attributes,
    parse_bool,
    parse_info,
    write_attributes,
)
from redisops.runbooks.conditions import Condition, ConditionSyntaxError
from redisops.runbooks.model import StepKind
from redisops.runbooks.parse import generate_name, strip_prompts

F = "```"


# --- Runme's attribute syntax (runme document/attributes_test.go) ------------------------------------


@pytest.mark.parametrize(
    ("raw", "attrs", "fmt"),
    [
        ("{ hello=world key=value val=20 }", {"hello": "world", "key": "value", "val": "20"}, "html"),
        ("{ hello=world val=20 empty }", {"hello": "world", "val": "20", "empty": ""}, "html"),
        (
            '{"hello":"world","key":"value","val":"20"}',
            {"hello": "world", "key": "value", "val": "20"},
            "json",
        ),
        ('{"nested":{"hello":"world"}}', {"nested": '{"hello":"world"}'}, "json"),
        ('{"interactive":false,"retries":3}', {"interactive": "false", "retries": "3"}, "json"),
    ],
)
def test_attributes_parse_as_runme_does(raw: str, attrs: dict[str, str], fmt: str) -> None:
    assert parse_attributes(raw) == (attrs, fmt)


def test_attributes_are_written_back_in_the_form_read() -> None:
    items = {"hello": "world", "key": "value", "val": "20", "name": "script"}
    assert write_attributes(items, "html") == "{ name=script hello=world key=value val=20 }"
    assert write_attributes(items, "json") == '{"hello":"world","key":"value","name":"script","val":"20"}'
    assert write_attributes({}, "html") == "{}"


def test_attributes_span_first_brace_to_first_closing_brace() -> None:
    assert extract_attributes("sh {}") is None  # "{}" directly: no attributes
    assert extract_attributes('sh {"name":"a"} trailing}') == '{"name":"a"}'
    assert parse_info('{"name":"x"}').lang == ""  # a fence line starting with { has no language
    assert parse_info("bash").attrs == {}
    assert parse_info("sh {name=x").attrs == {}  # unclosed: none


def test_booleans_follow_go_strconv_and_invalid_means_default() -> None:
    assert [parse_bool(v, False) for v in ("1", "t", "T", "TRUE", "true", "True")] == [True] * 6
    assert [parse_bool(v, True) for v in ("0", "f", "F", "FALSE", "false", "False")] == [False] * 6
    assert parse_bool("yes", True) is True and parse_bool("yes", False) is False and parse_bool(None, True)


# --- Runme's documents (runme document/editor/cell_test.go, document_test.go, examples/) --------------

RUNME_NESTED = f"""# Examples

It can have an annotation with a name:

{F}sh {{"first":"","name":"echo","second":"2"}}
$ echo "Hello, runme!"
{F}

> bq 1
> bq 2
>
>     echo 1
>
> b1 3

1. Item 1

   {F}sh {{"first":"","name":"echo-2","second":"2"}}
   $ echo "Hello, runme!"
   {F}

   First inner paragraph

   Second inner paragraph

2. Item 2
3. Item 3
"""


def test_runme_nested_document_cells_names_and_bodies() -> None:
    rb = parse_runbook(RUNME_NESTED)
    assert [(c.name, c.body) for c in rb.cells] == [
        ("echo", 'echo "Hello, runme!"'),
        ("echo-2", 'echo "Hello, runme!"'),
    ]  # the indented "echo 1" in the quote is an indented code block, not a cell
    assert rb.cells[0].attrs == {"first": "", "name": "echo", "second": "2"}
    assert rb.cells[0].description == "It can have an annotation with a name:"
    assert [s.name for s in rb.steps] == ["echo", "echo-2"]


def test_runme_list_with_code_and_html_attributes() -> None:
    doc = f"1. Item 1\n2. Item 2\n   {F}sh\n   echo 1\n   {F}\n3. Item 3\n"
    assert [(c.name, c.body) for c in parse_runbook(doc).cells] == [("echo-1", "echo 1")]
    doc = (
        f"1. Item 1\n\n   {F}sh {{name=echo first= second=2}}\n"
        f'   $ echo "Hello, runme!"\n   {F}\n\n   Inner paragraph\n'
    )
    cell = parse_runbook(doc).cells[0]
    assert (cell.name, cell.attrs, cell.attr_format) == (
        "echo",
        {"name": "echo", "first": "", "second": "2"},
        "html",
    )
    assert cell.body == 'echo "Hello, runme!"'


def test_runme_development_readme_generates_names() -> None:
    doc = f"""# Development

1. Ensure you have [dev](https://github.com/stateful/dev) setup and running

2. Install MacOS dependencies

   {F}sh
   brew bundle --no-lock
   {F}

3. Setup pre-commit

   {F}sh
   pre-commit install
   {F}
"""
    rb = parse_runbook(doc)
    assert [(s.name, s.cell.body) for s in rb.steps] == [
        ("brew-bundle", "brew bundle --no-lock"),
        ("precommit-install", "pre-commit install"),  # Runme keeps only [a-z0-9] and the space
    ]
    assert rb.steps[0].cell.description == "Install MacOS dependencies"


def test_runme_frontmatter_examples() -> None:
    bash = f"""---
runme:
  id: 01HF7BT3HCDS1X1WJJHQFDR04W
  version: v3
shell: bash
---

{F}sh {{"id":"01HF7BT3HCDS1X1WJJHMJ3M58G"}}
echo $0
{F}
"""
    rb = parse_runbook(bash)
    assert (rb.front.shell, rb.front.runme_id) == ("bash", "01HF7BT3HCDS1X1WJJHQFDR04W")
    assert (rb.steps[0].name, rb.steps[0].line) == ("echo-0", 8)
    skip = f"""---
runme:
  id: 01HF7BT3HCDS1X1WJJHAG7S8YG
  version: v3
skipPrompts: true
---

{F}sh {{"id":"01HF7BT3HBDTRGQAQMHNSXB9K2"}}
$ export ENV="<insert-env-here>"
$ echo "ENV=$ENV"
{F}
"""
    rb = parse_runbook(skip)
    assert rb.front.skip_prompts is True
    assert rb.steps[0].name == "export-env"
    assert rb.steps[0].cell.body == 'export ENV="<insert-env-here>"\necho "ENV=$ENV"'


def test_runme_toml_frontmatter() -> None:
    rb = parse_runbook(f'+++\nshell = "zsh"\ncwd = ".."\n+++\n\n{F}sh\nls\n{F}\n')
    assert (rb.front.shell, rb.front.cwd, rb.steps[0].line) == ("zsh", "..", 6)


def test_generated_names_follow_runme_and_duplicates_are_numbered() -> None:
    assert generate_name("# a comment\nFOO=bar ./x") == "foo"
    assert generate_name("kubectl get pods -n llm-judge") == "kubectl-get"
    assert generate_name("Redis-CLI  PING") == "rediscli-"
    assert (
        generate_name("a-very-long-command-name-that-goes-past-the-limit arg") == "averylongcommandnamethatgo"
    )  # 32 bytes, then [a-z0-9]
    doc = "".join(f"{F}sh\necho hi\n{F}\n\n" for _ in range(3)) + f'{F}sh {{"name":"echo-hi"}}\ntrue\n{F}\n'
    assert [c.name for c in parse_runbook(doc).cells] == ["echo-hi", "echo-hi-2", "echo-hi-3", "echo-hi-4"]


def test_prompts_stripped_and_only_shell_or_redisops_cells_run() -> None:
    assert strip_prompts("$ ls\n  $ cd /\n$\nx$ y") == "ls\n  cd /\n\nx$ y"
    doc = (
        f"{F}python\nprint(1)\n{F}\n\n{F}\nplain\n{F}\n\n~~~bash\necho tilde\n~~~\n\n"
        f"{F}shell {{ignore=true}}\nno\n{F}\n"
    )
    rb = parse_runbook(doc)
    assert [c.lang for c in rb.cells] == ["python", "", "bash", "shell"]
    assert [s.cell.body for s in rb.steps] == ["echo tilde"]


def test_crlf_documents_parse_like_lf() -> None:
    lf = f'---\ntitle: T\n---\n# H\n\n{F}sh {{"name":"a"}}\necho a\n{F}\n'
    crlf = parse_runbook(lf.replace("\n", "\r\n"))
    assert [(s.name, s.cell.body, s.line) for s in crlf.steps] == [("a", "echo a", 6)]
    assert crlf.digest() == parse_runbook(lf).digest()


# --- redisops steps ------------------------------------------------------------------------------------


def test_redisops_cell_takes_the_operations_kind_and_validates_args() -> None:
    doc = f"""---
target: sandbox
variables:
  keep: {{type: int, default: 3}}
  who: {{description: "no default"}}
---
{F}redisops {{"name":"take"}}
op: backup.create
args: {{notes: "by ${{who}}"}}
expect: result.objects[0].verified == true
undo: drop
{F}

{F}redisops {{"name":"drop","excludeFromRunAll":"true"}}
op: backup.delete
args: {{backup_id: 20261125T184501Z-3f9a}}
{F}

{F}redisops
op: backup.prune
args: {{keep_last: "${{keep}}"}}
{F}
"""
    rb = parse_runbook(doc)
    take, drop, prune = rb.steps
    assert (take.kind, take.op, take.undo) == (StepKind.mutate, "backup.create", "drop")
    assert take.expect.condition is not None and take.expect.exit_code == 0
    assert (drop.kind, drop.run_all) == (StepKind.destructive, False)
    assert prune.name == "op-backupprune" and prune.kind is StepKind.destructive
    assert [s.name for s in rb.sequence()] == ["take", "op-backupprune"]
    assert rb.front.variable("keep").default == 3  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("body", "line", "text"),
    [
        ("op: backup.nothing\n", 3, "no operation called 'backup.nothing'"),
        ("op: backup.create\nargs: {kind: zip}\n", 3, "invalid parameters for backup.create: kind"),
        ("op: backup.create\nargs: {bogus: 1}\n", 3, "bogus"),
        ("op: backup.create\nargs: [1\n", 5, "not valid YAML"),
        ("just text\n", 3, "op: NAME"),
        ("op: health.report\nkind: read\nwhatever: 1\n", 3, "unknown keys whatever"),
        (
            "op: backup.delete\nkind: read\nargs: {backup_id: 20261125T184501Z-3f9a}\n",
            3,
            "declared kind read but backup.delete is destructive",
        ),
    ],
)
def test_redisops_cell_errors_carry_the_line(body: str, line: int, text: str) -> None:
    with pytest.raises(RunbookError) as e:
        parse_runbook(f"# T\n\n{F}redisops\n{body}{F}\n")
    assert e.value.line == line and text in e.value.message and e.value.exit_code == 32


@pytest.mark.parametrize(
    ("attrs", "text"),
    [
        ('{"name":"x","timeout":"soon"}', "timeout 'soon' is not a duration"),
        ('{"name":"x","retries":"-1"}', "retries '-1'"),
        ('{"name":"x","kind":"dangerous"}', "kind 'dangerous'"),
        ('{"name":"x","expect":"stdout contains"}', "expect 'stdout contains'"),
    ],
)
def test_step_attribute_errors_carry_the_line(attrs: str, text: str) -> None:
    with pytest.raises(RunbookError) as e:
        parse_runbook(f"# T\n\ntext\n\n{F}sh {attrs}\necho\n{F}\n")
    assert e.value.line == 5 and text in e.value.message


def test_step_attributes() -> None:
    attrs = (
        '{"name":"s","kind":"read","timeout":"2m","retries":"2","backoff":"500ms",'
        '"requires":"bin:redis-cli, other","skip_if":"test -f /x","confirm":"really?","expect":"2"}'
    )
    doc = f"{F}sh {attrs}\ntrue\n{F}\n"
    s = parse_runbook(doc).steps[0]
    assert (s.kind, s.timeout, s.retries, s.backoff) == (StepKind.read, 120.0, 2, 0.5)
    assert (s.requires, s.skip_if, s.confirm, s.expect.exit_code) == (
        ("bin:redis-cli", "other"),
        "test -f /x",
        "really?",
        2,
    )
    assert (
        parse_runbook(f"{F}sh\nrm -rf x\n{F}\n").steps[0].kind is StepKind.mutate
    )  # shell defaults to mutate


@pytest.mark.parametrize(
    ("front", "line", "text"),
    [
        ("title: [unclosed\n", 2, "not valid YAML"),
        ("- a list\n", 1, "must be a mapping"),
        ("title: x\ntarget: prod\n", 3, "target:"),
        ("variables:\n  n: {type: int, default: abc}\n", 2, "not a int"),
        ("variables:\n  bad-name: 1\n", 2, "not an identifier"),
        ("secrets: {a: 1}\n", 2, "secrets"),
    ],
)
def test_frontmatter_errors_carry_the_line(front: str, line: int, text: str) -> None:
    with pytest.raises(RunbookError) as e:
        parse_runbook(f"---\n{front}---\n# T\n")
    assert e.value.line == line and text in e.value.message


def test_frontmatter_target_and_variables() -> None:
    rb = parse_runbook(
        "---\ntarget: {context: emu, namespace: llm-judge}\nsecrets: [A_TOKEN]\n"
        "variables:\n  n: 5\n  flag: {type: bool, default: 'yes'}\n---\n# T\n"
    )
    assert rb.front.target.describe() == "kube emu/llm-judge" and rb.front.secrets == ("A_TOKEN",)
    assert [(v.name, v.type, v.default) for v in rb.front.variables] == [
        ("n", "int", 5),
        ("flag", "bool", True),
    ]
    assert rb.title == "T"
    assert parse_runbook("---\nunclosed: frontmatter\n# T\n").front.end_line == 0  # not frontmatter


def test_digest_changes_with_a_step_and_not_with_prose() -> None:
    doc = f'# T\n\nprose\n\n{F}sh {{"name":"a"}}\necho a\n{F}\n'
    assert parse_runbook(doc).digest() == parse_runbook(doc.replace("prose", "other prose")).digest()
    assert parse_runbook(doc).digest() != parse_runbook(doc.replace("echo a", "echo b")).digest()


# --- conditions -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ns", "value"),
    [
        ('result.status == "ok"', {"result": {"status": "ok"}}, True),
        ("result.count >= 3", {"result": {"count": 2}}, False),
        ("result.count > '1'", {"result": {"count": 2}}, True),
        ("stdout contains 'PONG' and exit_code == 0", {"stdout": "PONG", "exit_code": 0}, True),
        ("not (exit_code in [0, 1])", {"exit_code": 2}, True),
        ("stdout matches '^role:master$'", {"stdout": "x\nrole:master\n"}, True),
        ("steps.take-backup.status == 'ok' or false", {"steps": {"take-backup": {"status": "ok"}}}, True),
        ("result.items[1].id == 'b'", {"result": {"items": [{"id": "a"}, {"id": "b"}]}}, True),
        ("result.missing.deeper == null", {"result": {}}, True),
        ("result.n < 'abc'", {"result": {"n": 1}}, False),
    ],
)
def test_conditions(text: str, ns: dict[str, object], value: bool) -> None:
    assert Condition.parse(text).evaluate(ns) is value


@pytest.mark.parametrize("text", ["", "a ==", "(a", "a b", "__import__('os')", "a.", "a[b]", "1 +"])
def test_condition_syntax_errors(text: str) -> None:
    with pytest.raises(ConditionSyntaxError):
        Condition.parse(text)
