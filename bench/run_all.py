"""`make bench`: every benchmark, side by side where they compare, one table each; writes docs/benchmarks.md.

Each section is a separate script (run on its own for details):
  bench/bench_synth.py       cdk synth: toolkit vs plain aws-cdk-lib vs empty app; pack on/off; scale
  bench/bench_lint.py        mnp lint on 100 / 1,000 / 5,000-resource templates
  bench/bench_rendezvous.py  mnp-node rendezvous with 16 / 128 / 1,000 processes vs DescribeJobs polling
No absolute-time assertion lives in the test suite: these numbers are reported, not enforced.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SECTIONS = [
    ("Synth cost and scale", ["bench/bench_synth.py"]),
    ("mnp lint", ["bench/bench_lint.py"]),
    ("Node rendezvous", ["bench/bench_rendezvous.py"]),
    ("Local node runner", ["bench/bench_runner.py"]),
    ("mnp audit", ["bench/bench_audit.py"]),
]


def main() -> int:
    env = {
        **os.environ,
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), str(REPO / "runtime"), os.environ.get("PYTHONPATH")])),
    }
    load = os.getloadavg()
    lines = [
        "# Benchmarks",
        "",
        "<!-- Written by `make bench` (bench/run_all.py); numbers from one run on the machine below. -->",
        "",
        f"Run {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores "
        f"({platform.machine()}, Python {platform.python_version()}), load average at start "
        f"{load[0]:.1f}. The machine is shared and noisy: compare ratios measured side by side, not "
        "absolute seconds.",
        "",
    ]
    failed = False
    for title, command in SECTIONS:
        print(f"== {title}: {' '.join(command)}", file=sys.stderr, flush=True)
        result = subprocess.run(
            [sys.executable, *command], cwd=REPO, env=env, capture_output=True, text=True, check=False
        )
        lines += [f"## {title}", "", f"`python {' '.join(command)}`", ""]
        if result.returncode != 0:
            failed = True
            lines += ["```", result.stderr[-3000:], "```", ""]
        elif any(line.startswith("|") for line in result.stdout.splitlines()):
            lines += [result.stdout.rstrip(), ""]
        else:  # a plain-text table: keep its columns
            lines += ["```text", result.stdout.rstrip(), "```", ""]
        print(result.stdout, flush=True)
        if result.returncode != 0:
            print(result.stderr[-3000:], file=sys.stderr)
    (REPO / "docs" / "benchmarks.md").write_text("\n".join(lines) + "\n")
    print("wrote docs/benchmarks.md", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
