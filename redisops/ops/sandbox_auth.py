"""The sandbox target's auth and TLS: a password, an ACL user and TLS as sandbox-local overrides.

``sandbox up --password-file F --acl-user NAME --tls`` leaves the rendered redis.conf as it is and
starts the target with one more config file, ``<state dir>/target/sandbox-local.conf`` (mode 0600),
loaded after it (``--include``): the default user's password and ``user NAME on ... ~* &* +@all``,
both given as the password's SHA-256 (``#<hex>``, so the plain password is in no file the sandbox
writes) and, with TLS, ``port 0`` / ``tls-port`` with a certificate signed by a CA the sandbox
made under ``<state dir>/tls/`` (keys mode 0600). The password is only in the user's own password
file: the state records that auth is on, the password file's path, the user
name and the CA's path (:class:`SandboxSecurity`), never the password.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from redisops.adapters.local_tls import make_tls_files, write_private
from redisops.errors import ConflictError, InvalidArgument
from redisops.ops.target_credentials import read_password_file

__all__ = ["INCLUDE_FILE", "SandboxSecurity", "check_same", "security_request", "write_include"]

#: the target's local overrides, in its workdir
INCLUDE_FILE = "sandbox-local.conf"
_USER = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


@dataclass(frozen=True)
class SandboxSecurity:
    """What the state records about the target's auth and TLS (never the password).

    Attributes:
        auth: the target requires a password.
        password_file: the file the password was read from (a credential source of the sandbox target).
        acl_user: the ACL user made with the same password (``~* &* +@all``), or None.
        tls: the target speaks TLS only (its plain port is disabled).
        tls_ca_file: the CA that signed the target's certificate (with TLS).
    """

    auth: bool = False
    password_file: str | None = None
    acl_user: str | None = None
    tls: bool = False
    tls_ca_file: str | None = None

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> SandboxSecurity:
        """From the state's ``security`` mapping (missing keys: off)."""
        return cls(
            **{k: raw[k] for k in ("auth", "password_file", "acl_user", "tls", "tls_ca_file") if k in raw}
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what ``state.json`` holds)."""
        return asdict(self)

    def wanted(self) -> tuple[str | None, str | None, bool]:
        """What ``sandbox up`` was asked for (compared when the target already runs)."""
        return self.password_file, self.acl_user, self.tls


def security_request(password_file: str | Path | None, acl_user: str | None, tls: bool) -> SandboxSecurity:
    """Validate ``sandbox up``'s options (the CA path is filled in when the target starts).

    Raises:
        InvalidArgument: an ACL user without a password file, or a user name Redis would not take.
    """
    if acl_user is not None:
        if password_file is None:
            raise InvalidArgument(
                "--acl-user needs --password-file (the user gets the same password)",
                hint="redisops sandbox up --password-file FILE --acl-user NAME",
            )
        if not _USER.match(acl_user) or acl_user == "default":
            raise InvalidArgument(
                f"invalid ACL user name {acl_user!r}",
                hint="use letters, digits and _ . @ - (at most 64), not 'default'",
            )
    path = str(Path(password_file).expanduser().resolve()) if password_file is not None else None
    if path is not None:
        read_password_file(path, "--password-file")  # readable and not empty, checked before anything starts
    return SandboxSecurity(auth=path is not None, password_file=path, acl_user=acl_user, tls=tls)


def check_same(running: SandboxSecurity, asked: SandboxSecurity) -> None:
    """ConflictError when the target already runs with other auth/TLS than ``asked``."""
    if running.wanted() != asked.wanted():
        raise ConflictError(
            "the sandbox target already runs with other auth/TLS settings "
            f"(password file {running.password_file or 'none'}, ACL user {running.acl_user or 'none'}, "
            f"TLS {'on' if running.tls else 'off'})",
            hint="stop it first (redisops sandbox down), then run sandbox up with the new options",
        )


def _quote(value: str) -> str:  # paths in the include file
    """A redis.conf string: double-quoted, backslash and quote escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_include(
    sec: SandboxSecurity, workdir: Path, state_dir: Path, port: int
) -> tuple[SandboxSecurity, Path]:
    """Write the target's local overrides (mode 0600) for ``port``; the record with the CA's path and
    the include file's path."""
    lines = ["# sandbox-local overrides (redisops sandbox up): auth and TLS; do not share"]
    if sec.password_file is not None:
        pw = read_password_file(sec.password_file, "--password-file")
        digest = hashlib.sha256(pw.encode()).hexdigest()  # ACL takes the hash: no plain password on disk
        lines.append(f"user default on resetpass #{digest} ~* &* +@all")
        if sec.acl_user is not None:
            lines.append(f"user {sec.acl_user} reset on #{digest} ~* &* +@all")
    if sec.tls:
        files = make_tls_files(state_dir / "tls")
        lines += [
            "port 0",
            f"tls-port {port}",
            f"tls-cert-file {_quote(str(files.cert))}",
            f"tls-key-file {_quote(str(files.key))}",
            f"tls-ca-cert-file {_quote(str(files.ca_cert))}",
            "tls-auth-clients no",
        ]
        sec = SandboxSecurity(sec.auth, sec.password_file, sec.acl_user, True, str(files.ca_cert))
    include = workdir / INCLUDE_FILE
    write_private(include, "\n".join(lines) + "\n")
    return sec, include
