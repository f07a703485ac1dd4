"""Benchmark `mnp lint` end to end (a subprocess per run, so Python start-up and imports count).

    .venv/bin/python bench/bench_lint.py               # 100, 1,000 and 5,000 resources, 3 rounds each
    .venv/bin/python bench/bench_lint.py --sizes 1000 --rounds 5 --profile

Prints the median wall time per size, the cost per resource, and a start-up baseline (the same
interpreter importing the CLI and linting an empty template). Target: under 1 s for 1,000 resources.
With ``--profile`` it also prints the top functions of an in-process cProfile run of the largest size,
which is where to look when the engine is slow.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from make_template import make_template  # noqa: E402


def run_once(path: Path) -> tuple[float, int, dict[str, int]]:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "mnp_toolkit", "lint", str(path), "--format", "json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 1):
        raise SystemExit(f"mnp lint failed on {path} (exit {result.returncode}): {result.stderr.strip()}")
    return elapsed, result.returncode, json.loads(result.stdout)["summary"]


def profile(path: Path, top: int) -> str:
    from mnp_toolkit.cli.main import main

    profiler = cProfile.Profile()
    sink = io.StringIO()
    stdout, sys.stdout = sys.stdout, sink
    try:
        profiler.runcall(main, ["lint", str(path), "--format", "json"])
    finally:
        sys.stdout = stdout
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description="Benchmark mnp lint.")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile the largest size in process")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        empty = Path(directory) / "empty.template.json"
        empty.write_text('{"Resources": {}}')
        baseline = statistics.median(run_once(empty)[0] for _ in range(args.rounds))
        print(f"start-up baseline (empty template): {baseline:.3f} s median of {args.rounds}")
        print("ms/res: median minus the start-up baseline, per resource (0 when within noise)")
        print(f"{'resources':>9} {'median s':>9} {'min s':>7} {'max s':>7} {'ms/res':>7} {'errors':>6} {'warnings':>8}")
        largest = None
        for size in args.sizes:
            body = make_template(size)
            path = Path(directory) / f"bench-{size}.template.json"
            path.write_text(json.dumps(body))
            count = len(body["Resources"])
            times: list[float] = []
            summary: dict[str, int] = {}
            for _ in range(args.rounds):
                elapsed, _code, summary = run_once(path)
                times.append(elapsed)
            median = statistics.median(times)
            per_resource = max(0.0, median - baseline) / count * 1000
            print(
                f"{count:>9} {median:>9.3f} {min(times):>7.3f} {max(times):>7.3f} {per_resource:>7.3f} "
                f"{summary.get('errors', 0):>6} {summary.get('warnings', 0):>8}"
            )
            largest = path
        if args.profile and largest is not None:
            print(profile(largest, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
