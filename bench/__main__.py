"""`python -m bench [NAME ...] [--scale small|full] [--weeks W]`: run the benchmarks and print
their figures.

Each module `bench/bench_NAME.py` defines `run(scale: str) -> dict[str, object]`; the figures are
printed and written as JSON to `bench/results/NAME.json` (git-ignored) for the README. A benchmark
whose `run` takes `weeks` (closedloop) runs over that many weekly days with `--weeks`, written to
`bench/results/NAME_weeks_W.json`.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import pkgutil
import time
from pathlib import Path

import bench

RESULTS_DIR = Path(__file__).parent / "results"


def available() -> list[str]:
    return sorted(
        m.name.removeprefix("bench_")
        for m in pkgutil.iter_modules(bench.__path__)
        if m.name.startswith("bench_")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default all): {available()}")
    parser.add_argument(
        "--scale",
        choices=("small", "full"),
        default="full",
        help="full = the sizes the README quotes (1M customers); small = a quick check",
    )
    parser.add_argument(
        "--weeks",
        type=int,
        default=0,
        help="closedloop: the closed loop over this many weekly scoring days (default one day)",
    )
    args = parser.parse_args()
    RESULTS_DIR.mkdir(exist_ok=True)
    names = args.names or available()
    for name in names if args.weeks else ():
        run = importlib.import_module(f"bench.bench_{name}").run
        if "weeks" not in inspect.signature(run).parameters:
            parser.error(f"--weeks: benchmark {name} runs no weekly loop")
    for name in names:
        module = importlib.import_module(f"bench.bench_{name}")
        started = time.perf_counter()
        weekly = {"weeks": args.weeks} if args.weeks else {}
        figures = module.run(args.scale, **weekly)
        figures["bench_wall_seconds"] = round(time.perf_counter() - started, 1)
        label = f"{args.scale}, {args.weeks} weeks" if args.weeks else args.scale
        print(f"\n== {name} ({label})")
        for key, value in figures.items():
            print(f"  {key:40s} {value}")
        stem = f"{name}_weeks_{args.weeks}" if args.weeks else name
        (RESULTS_DIR / f"{stem}.json").write_text(json.dumps(figures, indent=2, default=str))


if __name__ == "__main__":
    main()
