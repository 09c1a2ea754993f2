"""Content checks of staged files: RDB (structure, CRC64, version, key counts), AOF (complete RESP
commands), AOF base files (either), and the Redis 7 AOF manifest. Fed chunk by chunk while staging."""

from __future__ import annotations

from redisops.errors import VerificationError
from redisops.rdb import RdbStreamVerifier, RdbVerification, check_rdb_loadable
from redisops.restore.plan import ExpectedBackup, TargetSettings

__all__ = ["BACKUP_HINT", "AofChecker", "BaseChecker", "NullChecker", "RdbChecker", "parse_aof_manifest"]

BACKUP_HINT = "the backup is corrupt or incomplete; pick another backup or take a new one"


class RdbChecker:
    """RDB structure, CRC64, version (checked as soon as the header arrives) and key counts."""

    def __init__(self, settings: TargetSettings, expected: ExpectedBackup | None, name: str) -> None:
        # stage_file hashes the same bytes; keys are counted unless the backup's own verifier already
        # counted these exact bytes (ExpectedBackup.content_verified)
        walk = not (expected is not None and expected.content_verified)
        self._v = RdbStreamVerifier(sha256=False, count_keys=walk)
        self._settings = settings
        self._expected = expected
        self._name = name
        self._version_checked = False

    def feed(self, chunk: bytes) -> None:
        self._v.feed(chunk)
        if not self._version_checked and self._v.rdb_version is not None:
            self._version_checked = True
            version = self._v.rdb_version
            want = self._expected.rdb_version if self._expected else None
            if want is not None and version != want:
                raise VerificationError(
                    f"{self._name}: RDB version {version} differs from the backup's recorded {want}",
                    hint=BACKUP_HINT,
                    context={"rdb_version": version, "expected": want},
                )
            check_rdb_loadable(version, self._settings.redis_version)

    def finish(self) -> RdbVerification:
        result = self._v.finish()
        counts = self._expected.key_counts if self._expected else None
        if counts is not None and result.db_key_counts is not None:
            got = {db: (c.keys, c.expires) for db, c in result.db_key_counts.items() if c.keys}
            want = {db: (c.keys, c.expires) for db, c in counts.items() if c.keys}
            if got != want:
                raise VerificationError(
                    f"{self._name}: key counts per db {got} differ from the backup's recorded {want}",
                    hint=BACKUP_HINT,
                    context={"counts": {str(k): v for k, v in got.items()}},
                )
        return result


class AofChecker:
    """Checks that an AOF file is a sequence of complete RESP commands (``*N`` of ``$len`` bulks),
    allowing ``#`` annotation lines; a truncated last command is refused."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._line = bytearray()
        self._skip = 0  # bulk payload bytes still to skip
        self._crlf = 2  # bytes of the CRLF after a bulk payload already matched (2: none pending)
        self._bulks_left = 0  # bulks remaining in the current command
        self._offset = 0
        self._commands = 0

    def _fail(self, what: str) -> VerificationError:
        return VerificationError(
            f"{self._name}: not a valid AOF at offset {self._offset}: {what}",
            hint=BACKUP_HINT,
            context={"file": self._name, "offset": self._offset, "commands": self._commands},
        )

    def feed(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        while view:
            if self._skip:
                n = min(self._skip, len(view))
                self._skip -= n
                self._offset += n
                view = view[n:]
            elif self._crlf < 2:
                if view[0] != b"\r\n"[self._crlf]:
                    raise self._fail("a bulk string does not end with CRLF")
                self._crlf += 1
                self._offset += 1
                view = view[1:]
            else:
                idx = bytes(view[:4096]).find(b"\n")
                take = idx + 1 if idx >= 0 else min(len(view), 4096)
                self._line += view[:take]
                self._offset += take
                view = view[take:]
                if len(self._line) > 4096:
                    raise self._fail("over-long line")
                if idx >= 0:
                    line, self._line = bytes(self._line), bytearray()
                    self._parse_line(line)

    def _parse_line(self, line: bytes) -> None:
        if not line.endswith(b"\r\n"):
            raise self._fail("a line does not end with CRLF")
        body = line[:-2]
        if self._bulks_left == 0:
            if body.startswith(b"#"):
                return  # annotation (aof-timestamp-enabled)
            if not body.startswith(b"*") or not body[1:].isdigit() or int(body[1:]) < 1:
                raise self._fail(f"expected a command (*N), got {body[:20]!r}")
            self._bulks_left = int(body[1:])
            return
        if not body.startswith(b"$") or not body[1:].isdigit():
            raise self._fail(f"expected a bulk length ($N), got {body[:20]!r}")
        self._skip = int(body[1:])
        self._crlf = 0
        self._bulks_left -= 1
        if self._bulks_left == 0:
            self._commands += 1

    def finish(self) -> None:
        if self._skip or self._crlf < 2 or self._line or self._bulks_left:
            raise self._fail("the file ends in the middle of a command (truncated)")


class BaseChecker:
    """An AOF base file: RDB (``aof-use-rdb-preamble yes``, starts with ``REDIS``) or plain AOF."""

    def __init__(self, settings: TargetSettings, name: str) -> None:
        self._settings = settings
        self._name = name
        self._head = b""
        self._inner: RdbChecker | AofChecker | None = None

    def feed(self, chunk: bytes) -> None:
        if self._inner is None:
            self._head += chunk
            if len(self._head) < 5:
                return
            self._start()
            data, self._head = self._head, b""
            assert self._inner is not None
            self._inner.feed(data)
            return
        self._inner.feed(chunk)

    def _start(self) -> None:
        if self._head[:5] == b"REDIS":
            self._inner = RdbChecker(self._settings, None, self._name)
        else:
            self._inner = AofChecker(self._name)

    def finish(self) -> RdbVerification | None:
        if self._inner is None:
            self._start()
            assert self._inner is not None
            if self._head:
                self._inner.feed(self._head)
        return self._inner.finish()


class NullChecker:
    def feed(self, chunk: bytes) -> None:
        pass

    def finish(self) -> None:
        return None


def parse_aof_manifest(data: bytes, name: str) -> dict[str, str]:
    """file name -> type (b/h/i) from a Redis 7 AOF manifest (``file X seq N type T`` lines)."""
    kinds: dict[str, str] = {}
    try:
        text = data.decode()
    except UnicodeDecodeError as e:
        raise VerificationError(f"{name} is not a text AOF manifest", hint=BACKUP_HINT) from e
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split()
        fields = dict(zip(parts[::2], parts[1::2], strict=False))
        if len(parts) % 2 or "file" not in fields or fields.get("type") not in ("b", "h", "i"):
            raise VerificationError(
                f"{name} line {lineno} is not 'file <name> seq <n> type <b|h|i>'", hint=BACKUP_HINT
            )
        fname = fields["file"]
        if "/" in fname or fname.startswith('"'):
            raise VerificationError(
                f"{name} line {lineno}: unsupported file name {fname!r}", hint=BACKUP_HINT
            )
        kinds[fname] = fields["type"]
    if sum(1 for k in kinds.values() if k == "b") > 1:
        raise VerificationError(f"{name} lists more than one base file", hint=BACKUP_HINT)
    if not any(k in ("b", "i") for k in kinds.values()):
        raise VerificationError(f"{name} lists no base or incr file", hint=BACKUP_HINT)
    return kinds
