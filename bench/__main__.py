"""`python -m bench [NAME ...] [--scale small|full]`: run the benchmarks and print their figures.

Each module `bench/bench_NAME.py` defines `run(scale: str) -> dict[str, object]`; the figures are
printed and written as JSON to `bench/results/NAME.json` (git-ignored) for the README.
"""

from __future__ import annotations

import argparse
import importlib
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
    args = parser.parse_args()
    RESULTS_DIR.mkdir(exist_ok=True)
    for name in args.names or available():
        module = importlib.import_module(f"bench.bench_{name}")
        started = time.perf_counter()
        figures = module.run(args.scale)
        figures["bench_wall_seconds"] = round(time.perf_counter() - started, 1)
        print(f"\n== {name} ({args.scale})")
        for key, value in figures.items():
            print(f"  {key:40s} {value}")
        (RESULTS_DIR / f"{name}.json").write_text(json.dumps(figures, indent=2, default=str))


if __name__ == "__main__":
    main()
