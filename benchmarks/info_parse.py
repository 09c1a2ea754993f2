"""Parse the captured ``INFO everything`` N times with redisops' parser and with redis-py's ``parse_info``.

Both run on the same text in the same process, interleaved in rounds (best round reported, so a busy
machine hurts both alike). Not a test. Usage::

    PYTHONPATH=. .venv/bin/python benchmarks/info_parse.py [-n 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from redisops.inspect import parse_info

try:  # redis-py >= 5 keeps it in redis._parsers.helpers; 4.x had it in redis.client
    from redis._parsers.helpers import parse_info as redis_py_parse_info
except ImportError:  # pragma: no cover - older redis-py
    from redis.client import parse_info as redis_py_parse_info  # type: ignore[attr-defined,no-redef]

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "redis70" / "info_everything.txt"


def per_call_us(func: Callable[[Any], object], arg: Any, n: int) -> float:
    """Mean microseconds per call of ``func(arg)`` over ``n`` calls."""
    start = time.perf_counter()
    for _ in range(n):
        func(arg)
    return (time.perf_counter() - start) / n * 1e6


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print one line per parser plus the ratio."""
    parser = argparse.ArgumentParser(description="INFO parse benchmark")
    parser.add_argument("-n", type=int, default=2000, help="parses per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    raw = FIXTURE.read_bytes()
    ours: list[float] = []
    theirs: list[float] = []
    parse_info(raw), redis_py_parse_info(raw)  # warm up
    for _ in range(args.rounds):
        ours.append(per_call_us(parse_info, raw, args.n))
        theirs.append(per_call_us(redis_py_parse_info, raw, args.n))
    import redis

    lines = raw.count(b"\n")
    out = sys.stdout
    out.write(f"INFO everything: {len(raw)} bytes, {lines} lines; {args.rounds} rounds x {args.n} parses\n")
    out.write(f"redisops.inspect.parse_info : {min(ours):8.1f} us/parse (best round)\n")
    out.write(f"redis-py {redis.__version__:<8} parse_info: {min(theirs):8.1f} us/parse (best round)\n")
    out.write(f"ratio ours/redis-py         : {min(ours) / min(theirs):8.2f}x\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
