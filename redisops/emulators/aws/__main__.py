"""``python -m redisops.emulators.aws --config FILE [--host H] [--port P]``: serve in the foreground."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from redisops.emulators.aws.server import AwsEmulator


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments and serve until killed."""
    ap = argparse.ArgumentParser(prog="python -m redisops.emulators.aws", description=__doc__)
    ap.add_argument("--config", required=True, type=Path, help="the emulator's JSON config (mode 0600)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    emu = AwsEmulator(args.config, host=args.host, port=args.port)
    emu.warm_up()
    logging.getLogger(__name__).warning("aws emulator listening on %s", emu.url)
    emu.serve_forever()


if __name__ == "__main__":
    main()
