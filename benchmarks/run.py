#!/usr/bin/env python3
"""Run nbfleet's benchmarks and print one markdown table: ours vs the naive way, measured side by side.

    .venv/bin/python benchmarks/run.py                 # every benchmark
    .venv/bin/python benchmarks/run.py images launch   # only bench_images.py and bench_launch.py
    .venv/bin/python benchmarks/run.py --quick         # smaller sizes, for a smoke run

A benchmark module runs through this script (it puts nbfleet and the tests' support package on the path).

Each ``bench_<topic>.py`` here has ``run(quick: bool) -> list[dict]`` with rows
``{benchmark, ours_s, naive_s, ratio, goal, met, note}``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))  # the tests' support package: one course builder, one doit runner
sys.path.insert(0, str(HERE.parent))


def fmt(value, digits=3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("topics", nargs="*", help="benchmark modules to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    args = parser.parse_args(argv)
    topics = args.topics or sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    rows, failed = [], []
    for topic in topics:
        started = time.monotonic()
        print(f"running bench_{topic} …", file=sys.stderr, flush=True)
        try:
            rows += importlib.import_module(f"bench_{topic}").run(args.quick)
        except Exception:  # noqa: BLE001 - one broken benchmark must not hide the others
            failed.append(topic)
            traceback.print_exc()
        print(f"  bench_{topic}: {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    print("| benchmark | ours (s) | naive (s) | ours/naive | goal | met | note |")
    print("|---|---:|---:|---:|---|:-:|---|")
    for r in rows:
        print(f"| {r['benchmark']} | {fmt(r.get('ours_s'))} | {fmt(r.get('naive_s'))} | {fmt(r.get('ratio'), 2)} "
              f"| {r.get('goal', '')} | {'yes' if r.get('met') else 'NO'} | {r.get('note', '')} |")
    if failed:
        print(f"\nfailed to run: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
