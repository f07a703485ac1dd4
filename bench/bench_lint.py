"""Benchmark `mnp lint` end to end (a subprocess per run, so Python start-up and imports count).

    .venv/bin/python bench/bench_lint.py               # 100, 1,000 and 5,000 resources, 3 rounds each
    .venv/bin/python bench/bench_lint.py --sizes 1000 --rounds 5 --profile

Prints the median wall time per size, the cost per resource, and a start-up baseline (the same
interpreter importing the CLI and linting an empty template). Target: under 1 s for 1,000 resources.
With ``--profile`` it also prints the top functions of an in-process cProfile run of the largest size,
which is where to look when the engine is slow.

Then the cost of exact locations (line and column of every finding), measured side by side: the same
`mnp lint` with and without them (the second run replaces ``engine.locate_findings`` by the identity),
rounds interleaved so that the machine's noise hits both alike. Target: within 5% for 1,000 resources.
``--against REV`` also runs the `mnp lint` of a git revision (``git archive`` into a temporary directory)
on the same templates, for a before/after of a change.

Runs use a bytecode cache in a temporary directory (``PYTHONPYCACHEPREFIX``), as an installed toolkit
has one, so that compiling the sources does not count as linting (the checkout stays clean).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
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

#: `mnp lint` with and without the line and column lookup (the same ``-c`` entry point for both, so that only
#: the lookup differs: ``python -m`` would add runpy's imports to one side).
WITH_LOCATIONS = "import sys; from mnp_toolkit.cli.main import main; sys.exit(main(sys.argv[1:]))"
WITHOUT_LOCATIONS = (
    "import sys; import mnp_toolkit.lint.engine as engine; engine.locate_findings = lambda findings, template: "
    "findings; from mnp_toolkit.cli.main import main; sys.exit(main(sys.argv[1:]))"
)
_ENV: dict[str, str] = {}


def _env(tree: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    if "cache" not in _ENV:
        _ENV["cache"] = tempfile.mkdtemp(prefix="mnp-bench-pycache-")
    return {**env, "PYTHONPATH": str(tree), "PYTHONPYCACHEPREFIX": _ENV["cache"]}


def run_once(path: Path, *, tree: Path = REPO, locations: bool | None = None) -> tuple[float, int, dict[str, int]]:
    """One `mnp lint` run; ``locations`` True/False runs the side-by-side variants, None the command itself."""
    variant = {None: ["-m", "mnp_toolkit"], True: ["-c", WITH_LOCATIONS], False: ["-c", WITHOUT_LOCATIONS]}
    command = variant[locations]
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, *command, "lint", str(path), "--format", "json"],
        cwd=tree,
        env=_env(tree),
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 1):
        raise SystemExit(f"mnp lint failed on {path} (exit {result.returncode}): {result.stderr.strip()}")
    return elapsed, result.returncode, json.loads(result.stdout)["summary"]


def compare_locations(path: Path, rounds: int, against: Path | None) -> list[str]:
    """Median wall time of `mnp lint` with and without locations (and of ``against``), interleaved."""
    variants: dict[str, tuple[Path, bool]] = {"with locations": (REPO, True), "without locations": (REPO, False)}
    if against is not None:
        variants["revision --against"] = (against, True)
    times: dict[str, list[float]] = {name: [] for name in variants}
    for tree, locations in variants.values():
        run_once(path, tree=tree, locations=locations)  # warm the bytecode cache and the page cache
    for _ in range(rounds):
        for name, (tree, locations) in variants.items():
            times[name].append(run_once(path, tree=tree, locations=locations)[0])
    base = statistics.median(times["without locations"])
    lines = [f"{'variant':<20} {'median s':>9} {'min s':>7} {'ratio':>6}"]
    for name, values in times.items():
        lines.append(
            f"{name:<20} {statistics.median(values):>9.3f} {min(values):>7.3f} {statistics.median(values) / base:>6.3f}"
        )
    return lines


def _archive(revision: str, directory: Path) -> Path:
    """The `mnp_toolkit` package of a git revision, extracted into ``directory`` (the checkout untouched)."""
    tree = directory / f"rev-{revision}"
    tree.mkdir()
    archive = subprocess.run(["git", "archive", revision, "mnp_toolkit"], cwd=REPO, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return tree


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
    parser.add_argument("--compare-size", type=int, default=1000, help="template size of the locations comparison")
    parser.add_argument("--compare-rounds", type=int, default=15)
    parser.add_argument("--against", metavar="REV", help="also compare with the mnp lint of this git revision")
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
        compare = Path(directory) / f"compare-{args.compare_size}.template.json"
        compare.write_text(json.dumps(make_template(args.compare_size)))
        against = _archive(args.against, Path(directory)) if args.against else None
        print()
        print(
            f"exact locations, side by side ({args.compare_size:,}-resource template, {args.compare_rounds} "
            "interleaved rounds; ratio to the run without locations):"
        )
        print("\n".join(compare_locations(compare, args.compare_rounds, against)))
        if args.profile and largest is not None:
            print(profile(largest, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
