"""`make bench`: run every benchmark module in its own process and print its figures.

Each benchmark measures against a baseline in the same run and prints ratios; nothing here asserts timings.
Run one with `python -m bench.bench_<name>`; choose with `BENCH=emulator,sync make bench`.
"""

import os
import subprocess
import sys
import time

BENCHMARKS = ["bench_emulator", "bench_activation", "bench_sync", "bench_meetings", "bench_rooms", "bench_keywords",
              "bench_live"]


def main():
    wanted = [b.strip() for b in os.environ.get("BENCH", "").split(",") if b.strip()]
    names = [n for n in BENCHMARKS if not wanted or n.removeprefix("bench_") in wanted or n in wanted]
    here = os.path.dirname(os.path.abspath(__file__))
    failed = []
    for name in names:
        if not os.path.exists(os.path.join(here, f"{name}.py")):
            print(f"== {name}: not present, skipped ==", flush=True)
            continue
        print(f"== {name} ==", flush=True)
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", f"bench.{name}"], cwd=os.path.dirname(here))
        print(f"== {name}: exit {proc.returncode} in {time.monotonic() - started:.1f}s ==\n", flush=True)
        if proc.returncode:
            failed.append(name)
    if failed:
        print("failed:", ", ".join(failed))
        sys.exit(1)


if __name__ == "__main__":
    main()
