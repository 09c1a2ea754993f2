"""Optional runbook variables (``required: false``): parsed, listed, and left out where unset."""

from __future__ import annotations

import pytest

from redisops.runbooks import lint_text, parse_runbook
from redisops.runbooks.errors import RunbookError
from redisops.runbooks.parse import UNSET, substitute

BOOK = """---
variables:
  url: {type: str, required: false, description: where}
  n: {type: int, required: false, default: 3}
  must: {type: str}
---
```sh {"name":"a","kind":"read"}
echo "$must"
```
"""


def test_required_false_makes_a_variable_optional() -> None:
    book = parse_runbook(BOOK)
    assert [(v.name, v.required, v.default) for v in book.front.variables] == [
        ("url", False, None),
        ("n", False, 3),
        ("must", True, None),
    ]
    assert [v["required"] for v in book.to_dict()["variables"]] == [False, False, True]
    assert lint_text(BOOK) == []


def test_required_must_be_a_boolean() -> None:
    with pytest.raises(RunbookError, match="required"):
        parse_runbook(BOOK.replace("required: false, description", "required: maybe, description"))


def test_an_unset_variable_drops_the_argument_that_is_only_it() -> None:
    args = {
        "source_url": "${url}",
        "note": "at ${url}!",
        "n": "${n}",
        "nested": {"x": "${url}"},
        "l": ["${url}", 1],
    }
    assert substitute(args, {"url": UNSET, "n": 3}) == {"note": "at !", "n": 3, "nested": {}, "l": [1]}
    assert substitute(args, {"url": "redis://h:1", "n": 3})["source_url"] == "redis://h:1"
