"""Command line entry point: ``python -m google_emulator --host 127.0.0.1 --port 8765``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .server import Emulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m google_emulator",
                                     description="Local emulator of the Google Workspace APIs used by Calendar Hub.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--dns-port", type=int, default=None, help="serve TXT records on this UDP/TCP port")
    parser.add_argument("--allow-insecure-webhooks", action="store_true", help="accept http:// push addresses")
    parser.add_argument("--state", default=None, help="JSON file: loaded at start, written on exit")
    parser.add_argument("--verbose", action="store_true", help="log every HTTP request to stderr")
    args = parser.parse_args(argv)

    emu = Emulator(host=args.host, port=args.port, dns_port=args.dns_port,
                   allow_insecure_webhooks=args.allow_insecure_webhooks, state_file=args.state,
                   verbose=args.verbose)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):  # before the URL is printed: a caller may stop us right after
        signal.signal(sig, lambda *_: done.set())
    emu.start()
    print(emu.base_url, flush=True)
    if emu.dns_port is not None:
        print(f"dns: {args.host}:{emu.dns_port}", file=sys.stderr, flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
