"""Command line entry point: ``python -m bbb_emulator --port 8767 --secret SECRET``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .server import DEFAULT_SECRET, Emulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bbb_emulator", description="Local emulator of the BigBlueButton API."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--secret", default=DEFAULT_SECRET, help="the shared secret checksums are made with")
    parser.add_argument("--verbose", action="store_true", help="log every HTTP request to stderr")
    args = parser.parse_args(argv)

    emu = Emulator(host=args.host, port=args.port, secret=args.secret, verbose=args.verbose)
    emu.start()
    print(emu.api_url, flush=True)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    try:
        while not done.wait(0.5):
            pass
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
