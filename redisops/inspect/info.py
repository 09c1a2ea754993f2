"""Parse the raw text of ``INFO`` (any sections, ``all``/``everything`` included) into :class:`Info`.

Input is the bulk string exactly as the server sent it (``bytes`` or ``str``), not redis-py's parsed
dict: ``client.execute_command("INFO", ...)`` runs redis-py's ``parse_info`` callback, so the adapter
has to read the reply raw (e.g. with the ``INFO`` response callback removed).

Format: ``# Section`` headers, ``field:value`` lines, blank lines, ``\\r\\n`` or ``\\n`` line ends. The
value is everything after the first ``:`` (``master_host`` may be an IPv6 address); the pseudo-command
``host:`` makes ``cmdstat_host::calls=..`` whose name keeps its colon. Structured values
(``k=v,k=v``) of keyspace, commandstats, errorstats, latencystats, modules and replica lines are parsed
into records. Empty input gives an :class:`Info` without sections (``INFO nosuchsection`` replies "").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from typing import Any

from redisops.errors import ParseError
from redisops.inspect._common import excerpt, fail, to_bool01, to_float, to_int, to_text
from redisops.inspect.info_models import (
    ClientsInfo,
    ClusterInfo,
    CommandStat,
    CpuInfo,
    ErrorStat,
    Info,
    InfoSection,
    KeyspaceDb,
    LatencyPercentiles,
    MemoryInfo,
    ModuleInfo,
    PersistenceInfo,
    ReplicaInfo,
    ReplicationInfo,
    ServerInfo,
    StatsInfo,
)

__all__ = ["INFO_SECTIONS", "parse_info", "parse_subfields", "unknown_sections"]

#: the INFO sections of Redis 7 and the keywords that select several (modules may add their own)
INFO_SECTIONS = (
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "cluster",
    "keyspace",
    "latencystats",
    "default",
    "all",
    "everything",
)


def unknown_sections(requested: Sequence[str], reply: Info) -> list[str]:
    """The requested INFO sections Redis does not know: not in :data:`INFO_SECTIONS` and absent from
    ``reply`` (Redis answers an unknown section with nothing; a module's own section is in the reply)."""
    known = set(INFO_SECTIONS) | set(reply.sections)
    return [s for s in requested if s.lower() not in known]


_CMDSTAT = "cmdstat_"
_ERRSTAT = "errorstat_"
_LATSTAT = "latency_percentiles_usec_"


def _int_field(text: str, name: str) -> int:
    if text.isascii() and text.isdigit() and len(text) < 20:
        return int(text)
    return to_int(text, f"INFO field {name}")


def _float_field(text: str, name: str) -> float:
    return to_float(text, f"INFO field {name}")


def _bool_field(text: str, name: str) -> bool:
    return to_bool01(text, f"INFO field {name}")


def _str_field(text: str, name: str) -> str:
    return text


_CONVERTERS: dict[str, Callable[[str, str], Any]] = {
    "int | None": _int_field,
    "float | None": _float_field,
    "bool | None": _bool_field,
    "str | None": _str_field,
}


def _table(cls: type) -> tuple[tuple[str, Callable[[str, str], Any]], ...]:
    """(field, converter) for every scalar field of a typed section, from its annotations."""
    return tuple((f.name, _CONVERTERS[str(f.type)]) for f in fields(cls) if str(f.type) in _CONVERTERS)


_TYPED: tuple[tuple[str, type, tuple[tuple[str, Callable[[str, str], Any]], ...]], ...] = tuple(
    (attr, cls, _table(cls))
    for attr, cls in (
        ("server", ServerInfo),
        ("clients", ClientsInfo),
        ("memory", MemoryInfo),
        ("persistence", PersistenceInfo),
        ("stats", StatsInfo),
        ("replication", ReplicationInfo),
        ("cpu", CpuInfo),
        ("cluster", ClusterInfo),
    )
)


def parse_subfields(value: str, what: str) -> dict[str, str]:
    """``k=v,k=v`` -> ``{k: v}`` (empty parts skipped); a part without ``=`` or key raises ParseError."""
    out: dict[str, str] = {}
    for part in value.split(","):
        if not part:
            continue
        key, sep, val = part.partition("=")
        if not sep or not key:
            fail(f"{what}: expected key=value", part)
        out[key] = val
    return out


_Parsed = list[tuple[str, dict[str, str], dict[str, list[str]]]]


def _split_lines(text: str) -> _Parsed:
    """[(section name, fields, repeated fields)] in reply order."""
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    result: _Parsed = []
    by_name: dict[str, tuple[str, dict[str, str], dict[str, list[str]]]] = {}
    current: dict[str, str] | None = None
    repeated: dict[str, list[str]] = {}
    for line in text.split("\n"):
        if not line:
            continue
        if line[0] == "#":
            name = line[1:].strip().lower()
            entry = by_name.get(name)
            if entry is None:
                entry = by_name[name] = (name, {}, {})
                result.append(entry)
            current, repeated = entry[1], entry[2]
            continue
        key, sep, value = line.partition(":")
        if not sep or not key or " " in key or "\t" in key:
            if line.isspace():
                continue
            fail("INFO: expected '# Section' or 'field:value' line", line)
        if value[:1] == ":" and key.startswith((_CMDSTAT, _LATSTAT)):
            key, value = key + ":", value[1:]  # the `host:` pseudo-command
        if current is None:
            entry = by_name[""] = ("", {}, {})
            result.append(entry)
            current, repeated = entry[1], entry[2]
        if key in current:
            repeated.setdefault(key, [current[key]]).append(value)
        current[key] = value
    return result


def _subfields_fast(value: str, what: str) -> dict[str, str]:
    """:func:`parse_subfields` for the regular case, falling back to it for anything irregular."""
    try:
        sub = dict(part.split("=", 1) for part in value.split(","))
    except ValueError:  # a part without "=" (or an empty part): let the careful parser report it
        return parse_subfields(value, what)
    if "" in sub:
        return parse_subfields(value, what)
    return sub


def _uint(text: str, what: str) -> int:
    """A non-negative decimal integer, fast; anything else through :func:`to_int`."""
    if text.isdigit() and text.isascii() and len(text) < 20:
        return int(text)
    return to_int(text, what)


def _keyspace(key: str, value: str) -> KeyspaceDb:
    what = f"INFO keyspace {key}"
    sub = _subfields_fast(value, what)
    keys = sub.pop("keys", None)
    if keys is None:
        fail(f"{what}: no keys= subfield", value)
    return KeyspaceDb(
        db=to_int(key[2:], what),
        keys=_uint(keys, what),
        expires=_uint(sub.pop("expires", "0"), what),
        avg_ttl=_uint(sub.pop("avg_ttl", "0"), what),
        extra=sub,
    )


def _cmdstat(name: str, value: str) -> CommandStat:
    sub = _subfields_fast(value, "INFO commandstats")
    calls_text = sub.pop("calls", None)
    usec_text = sub.pop("usec", None)
    if calls_text is None or usec_text is None:
        fail(f"INFO commandstats {name}: needs calls= and usec=", value)
    calls = _uint(calls_text, "INFO commandstats calls")
    usec = _uint(usec_text, "INFO commandstats usec")
    per_call = sub.pop("usec_per_call", None)
    return CommandStat(
        name,
        calls,
        usec,
        to_float(per_call, "INFO commandstats usec_per_call")
        if per_call is not None
        else (usec / calls if calls else 0.0),
        _uint(sub.pop("rejected_calls", "0"), "INFO commandstats rejected_calls"),
        _uint(sub.pop("failed_calls", "0"), "INFO commandstats failed_calls"),
        sub,
    )


def _errorstat(name: str, value: str) -> ErrorStat:
    what = f"INFO errorstats {name}"
    sub = _subfields_fast(value, what)
    count = sub.pop("count", None)
    if count is None:
        fail(f"{what}: no count= subfield", value)
    return ErrorStat(name=name, count=_uint(count, what), extra=sub)


def _latstat(name: str, value: str) -> LatencyPercentiles:
    sub = _subfields_fast(value, "INFO latencystats")
    return LatencyPercentiles(name, {k: to_float(v, "INFO latencystats value") for k, v in sub.items()})


def _replica(key: str, value: str) -> ReplicaInfo:
    what = f"INFO replication {key}"
    sub = parse_subfields(value, what)
    if "ip" not in sub or "port" not in sub:
        fail(f"{what}: needs ip= and port=", value)
    lag = sub.get("lag")
    return ReplicaInfo(
        index=to_int(key[5:], what),
        ip=sub["ip"],
        port=to_int(sub["port"], what),
        state=sub.get("state", ""),
        offset=to_int(sub.get("offset", "0"), what),
        lag=to_int(lag, what) if lag is not None else None,
        fields=sub,
    )


def _module(value: str) -> ModuleInfo:
    sub = parse_subfields(value, "INFO modules module")
    if "name" not in sub:
        fail("INFO modules module: no name= subfield", value)
    ver = sub.get("ver")
    return ModuleInfo(
        name=sub["name"], ver=to_int(ver, "INFO modules ver") if ver is not None else None, fields=sub
    )


class _Structured:
    """Accumulates the structured lines while walking the sections."""

    def __init__(self) -> None:
        self.keyspace: dict[int, KeyspaceDb] = {}
        self.commandstats: dict[str, CommandStat] = {}
        self.errorstats: dict[str, ErrorStat] = {}
        self.latencystats: dict[str, LatencyPercentiles] = {}
        self.replicas: list[ReplicaInfo] = []
        self.modules: list[ModuleInfo] = []

    def line(self, key: str, value: str) -> None:
        """Parse one line if it is a structured one, else ignore it."""
        if key.startswith(_CMDSTAT) and len(key) > len(_CMDSTAT):
            stat = _cmdstat(key[len(_CMDSTAT) :], value)
            self.commandstats[stat.name] = stat
        elif key.startswith(_LATSTAT) and len(key) > len(_LATSTAT):
            lat = _latstat(key[len(_LATSTAT) :], value)
            self.latencystats[lat.command] = lat
        elif key.startswith(_ERRSTAT) and len(key) > len(_ERRSTAT):
            err = _errorstat(key[len(_ERRSTAT) :], value)
            self.errorstats[err.name] = err
        elif key[:2] == "db" and key[2:].isascii() and key[2:].isdigit():
            db = _keyspace(key, value)
            self.keyspace[db.db] = db
        elif key[:5] == "slave" and key[5:].isascii() and key[5:].isdigit():
            self.replicas.append(_replica(key, value))

    def section(self, fields_: Mapping[str, str], repeated: Mapping[str, list[str]]) -> None:
        """Parse the structured lines of one section."""
        for key, value in fields_.items():
            if key == "module":
                for module_value in repeated.get("module", [value]):
                    self.modules.append(_module(module_value))
            else:
                self.line(key, value)


_PLAIN_SECTIONS = frozenset({"server", "clients", "memory", "persistence", "stats", "cpu", "cluster"})


def parse_info(reply: bytes | str) -> Info:
    """Parse a raw ``INFO`` reply (bytes or str) into :class:`Info`.

    Raises:
        ParseError: ``reply`` is not bytes/str (e.g. redis-py's already parsed dict), a non-blank line is
            neither a header nor ``field:value``, a typed field has a value of the wrong kind, or a
            structured line (``db0:``, ``cmdstat_*:``, ...) is malformed.
    """
    if isinstance(reply, Mapping):
        raise ParseError(
            "INFO: got an already parsed dict, expected the raw reply text",
            hint="read INFO without redis-py's parse_info response callback",
            context={"excerpt": excerpt(reply)},
        )
    text = to_text(reply, "INFO")
    parsed = _split_lines(text)
    flat: dict[str, str] = {}
    for _, sec_fields, _ in reversed(parsed):
        flat.update(sec_fields)  # the first section holding a field wins
    typed: dict[str, Any] = {}
    for attr, cls, table in _TYPED:
        typed[attr] = cls(**{name: conv(flat[name], name) for name, conv in table if name in flat})
    structured = _Structured()
    for name, sec_fields, repeated in parsed:
        if name not in _PLAIN_SECTIONS:
            structured.section(sec_fields, repeated)
    if structured.replicas:
        replication: ReplicationInfo = typed["replication"]
        typed["replication"] = ReplicationInfo(
            **{f.name: getattr(replication, f.name) for f in fields(ReplicationInfo) if f.name != "replicas"},
            replicas=tuple(structured.replicas),
        )
    sections = {
        name: InfoSection(name, sec_fields, {k: tuple(v) for k, v in repeated.items()})
        for name, sec_fields, repeated in parsed
    }
    return Info(
        sections=sections,
        modules=tuple(structured.modules),
        keyspace=structured.keyspace,
        commandstats=structured.commandstats,
        errorstats=structured.errorstats,
        latencystats=structured.latencystats,
        **typed,
    )
