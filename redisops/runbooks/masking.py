"""Masking secrets in everything a run writes or shows: journal, report, events, terminal output.

::

    from redisops.runbooks.masking import Masker

    m = Masker.from_env(["MY_TOKEN"], env={"MY_TOKEN": "s3cr3t-value", "REDIS_PASSWORD": "pw-123456"})
    assert m.mask("token=s3cr3t-value pw=pw-123456") == "token=*** pw=***"
    assert m.mask_data({"out": ["s3cr3t-value"]}) == {"out": ["***"]}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["KNOWN_SECRET_ENV", "MASK", "Masker"]

MASK = "***"

#: credentials masked whether or not a runbook declares them
KNOWN_SECRET_ENV = (
    "REDIS_PASSWORD",
    "REDISCLI_AUTH",
    "REDISOPS_SOURCE_PASSWORD",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ACCESS_KEY_ID",
)


class Masker:
    """Replaces every known secret value with ``***`` (values shorter than 4 characters are not
    masked: they would mangle ordinary text and are no secret worth the name)."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values: list[str] = []
        self.add(*values)

    @classmethod
    def from_env(cls, declared: Iterable[str], env: Mapping[str, str]) -> Masker:
        """The values of the declared secrets and of :data:`KNOWN_SECRET_ENV` found in ``env``."""
        names = set(declared) | set(KNOWN_SECRET_ENV)
        return cls(env[n] for n in names if env.get(n))

    def add(self, *values: str | None) -> None:
        """Mask these values too (longest first, so a secret containing another is masked whole)."""
        for v in values:
            if v and len(v) >= 4 and v not in self._values:
                self._values.append(v)
        self._values.sort(key=len, reverse=True)

    def mask(self, text: str) -> str:
        """``text`` with every secret value replaced."""
        for v in self._values:
            if v in text:
                text = text.replace(v, MASK)
        return text

    def mask_data(self, data: Any) -> Any:
        """Plain JSON data with every string masked (keys too)."""
        if isinstance(data, str):
            return self.mask(data)
        if isinstance(data, Mapping):
            return {self.mask(str(k)): self.mask_data(v) for k, v in data.items()}
        if isinstance(data, list | tuple):
            return [self.mask_data(v) for v in data]
        return data
