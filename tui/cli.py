"""The TUI's entry point: ``python -m tui`` (argparse) and :func:`run`, which ``redisops tui`` calls.

Without ``--target``/``--url`` the target is the local sandbox (when it is up); a target marked
``production: true`` is read-only unless ``--read-write``; ``--replay FILE`` plays a ``--record`` file.
Errors print ``error:`` and ``hint:`` lines and return the documented exit code (docs/errors.md).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from redisops.errors import InvalidArgument, RedisOpsError
from redisops.ops.target import Target, resolve_target

__all__ = ["build_parser", "main", "run", "source_params"]


def run(
    *,
    target: Target | None = None,
    replay: Path | None = None,
    record: Path | None = None,
    read_only: bool = False,
    interval: float = 1.0,
    replay_speed: float = 1.0,
    migrate_source: Mapping[str, Any] | None = None,
) -> int:
    """Start the TUI on ``target`` (live) or ``replay`` (a recording); returns the exit code.
    ``migrate_source``: the Migration screen's source parameters (``source_url``, ``source_user``,
    ``source_password_file``; default: the sandbox's ElastiCache-like source).

    Raises:
        InvalidArgument: both or neither of ``target`` and ``replay``; a bad recording; interval <= 0.
        NotFoundError: the target is the sandbox and it is not running.
    """
    from tui.app import create_app
    from tui.data import DataSource, LiveSource, ReplaySource

    if (target is None) == (replay is None):
        raise InvalidArgument("give a target or --replay FILE, not both")
    if not 0 < interval <= 3600:
        raise InvalidArgument(f"--interval must be in (0, 3600] seconds, got {interval:g}")
    if replay_speed < 0:
        raise InvalidArgument(f"--replay-speed must be >= 0, got {replay_speed:g}")
    source: DataSource
    if replay is not None:
        if record is not None:
            raise InvalidArgument("--record and --replay together: a replay records nothing new")
        source = ReplaySource(replay)
    else:
        assert target is not None
        target.redis  # noqa: B018 - raises now (no sandbox, unreadable password file), not inside the UI
        source = LiveSource(target)
    app = create_app(
        source,
        read_only=read_only,
        record=record,
        interval=interval,
        replay_speed=replay_speed,
        migrate_source=migrate_source,
    )
    app.run()
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The options of ``python -m tui`` (the same names as ``redisops tui``)."""
    p = argparse.ArgumentParser(prog="python -m tui", description="redisops terminal UI")
    p.add_argument("--target", help="a named target of the targets file [default: the sandbox]")
    p.add_argument("--url", "-u", help="redis://[user@]host[:port][/db] or rediss://")
    p.add_argument("--user", help="ACL user name")
    p.add_argument("--password-file", type=Path, help="file whose first line is the password")
    p.add_argument("--password-env", metavar="NAME", help="env var holding the password")
    p.add_argument("--config", type=Path, help="deployment config file")
    p.add_argument("--kubeconfig", type=Path, help="kubeconfig file")
    p.add_argument("--context", help="kubeconfig context")
    p.add_argument("--namespace", "-n", help="namespace")
    p.add_argument("--timeout", type=float, default=5.0, help="connect and command timeout (s)")
    p.add_argument("--read-write", action="store_true", help="allow changes to a production target")
    p.add_argument("--read-only", action="store_true", help="hide every mutating action")
    p.add_argument("--interval", type=float, default=1.0, help="refresh interval in seconds")
    p.add_argument("--record", type=Path, help="store every snapshot in this JSON Lines file")
    p.add_argument("--replay", type=Path, help="play a recording instead of polling a target")
    p.add_argument("--replay-speed", type=float, default=1.0, help="replay speed (0: at once)")
    p.add_argument(
        "--source-url", help="the migration's source [default: the sandbox's ElastiCache-like one]"
    )
    p.add_argument("--source-user", help="ACL user on the migration's source")
    p.add_argument("--source-password-file", type=Path, help="file with the source's password or token")
    return p


def source_params(url: str | None, user: str | None, password_file: Path | None) -> dict[str, Any]:
    """The migrate.* parameters naming the source (only those given)."""
    out: dict[str, Any] = {}
    if url:
        out["source_url"] = url
    if user:
        out["source_user"] = user
    if password_file is not None:
        out["source_password_file"] = str(password_file)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tui [options]``; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        target = None
        if args.replay is None:
            target = resolve_target(
                args.target,
                url=args.url,
                user=args.user,
                password_file=args.password_file,
                password_env=args.password_env,
                timeout=args.timeout,
                config=args.config,
                kubeconfig=args.kubeconfig,
                context=args.context,
                namespace=args.namespace,
                allow_writes=args.read_write,
            )
        return run(
            target=target,
            replay=args.replay,
            record=args.record,
            read_only=args.read_only,
            interval=args.interval,
            replay_speed=args.replay_speed,
            migrate_source=source_params(args.source_url, args.source_user, args.source_password_file),
        )
    except RedisOpsError as e:
        print(f"error: {e.message}", file=sys.stderr)
        if e.hint:
            print(f"hint: {e.hint}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130
