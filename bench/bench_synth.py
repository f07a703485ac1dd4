"""Synth cost of the toolkit, side by side with plain aws-cdk-lib, in one run (issue: benchmarks).

Each measurement is a fresh process (Python start + jsii start-up + synth), as `cdk synth` runs the app.
Variants run interleaved round by round, so machine noise hits all of them alike; we report medians
and ratios, never absolute targets. Peak memory is the summed RSS of the process tree (Python + the
jsii Node process), sampled every 20 ms.

    python bench/bench_synth.py [--rounds 5] [--scale 1,10,50,200] [--scale-rounds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ENV = {
    **os.environ,
    "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "PYTHONPATH": str(REPO),
}


def _in_process_pack_overhead(rounds: int) -> tuple[list[float], list[float]]:
    """``app.synth()`` of the default stack without and with MnpChecks, alternating, in one warm process:
    isolates what the pack adds to a synth from process start-up noise."""
    import aws_cdk as cdk

    from mnp_toolkit.cdk_plugin import add_mnp_checks
    from mnp_toolkit.config.load import load_config
    from stacks.app_builder import build_environment_stack

    config = load_config(REPO / "config" / "default.yaml")
    without: list[float] = []
    with_pack: list[float] = []
    for index in range(rounds + 1):
        for pack, results in ((False, without), (True, with_pack)):
            with tempfile.TemporaryDirectory(prefix="bench-inproc-") as outdir:
                app = cdk.App(outdir=outdir)
                build_environment_stack(app, config)
                if pack:
                    add_mnp_checks(app)
                start = time.perf_counter()
                app.synth()
                if index:  # the first round warms jsii up
                    results.append(time.perf_counter() - start)
    return without, with_pack


def _child(variant: str, jobs: int, outdir: str) -> None:
    """Runs inside the measured process."""
    import aws_cdk as cdk

    app = cdk.App(outdir=outdir)
    if variant == "empty":
        cdk.Stack(app, "Empty")
    elif variant == "plain":
        sys.path.insert(0, str(REPO / "bench"))
        from plain_cdk_app import build

        build(app, job_definitions=jobs)
    else:
        from mnp_toolkit.config.load import parse_config
        from stacks.app_builder import build_environment_stack

        config = parse_config(toolkit_config(jobs=jobs, watchdog=variant != "toolkit-no-watchdog"))
        build_environment_stack(app, config)
        if variant == "toolkit+pack":
            from mnp_toolkit.cdk_plugin import add_mnp_checks

            add_mnp_checks(app)
    app.synth()


def toolkit_config(*, jobs: int, watchdog: bool) -> dict:
    return {
        "compute_environments": [{"name": "mpi", "instance_types": ["c5n.18xlarge"]}],
        "job_queues": [{"name": "mpi", "compute_environments": ["mpi"], "watchdog": watchdog}],
        "job_definitions": [
            {
                "name": f"job{index}",
                "queue": "mpi",
                "image": "public.ecr.aws/amazonlinux/amazonlinux:2023",
                "instance_type": "c5n.18xlarge",
                "num_nodes": 4,
                "command": ["/bin/sh", "-c", "echo hello"],
            }
            for index in range(jobs)
        ],
    }


def _tree_rss_kib(root_pid: int) -> int:
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{pid}/task").iterdir():
                children = (task / "children").read_text().split()
                stack.extend(int(child) for child in children)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def measure(variant: str, jobs: int = 1) -> tuple[float, float]:
    """(seconds, peak MiB) of one synth in a fresh process."""
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as outdir:
        command = [sys.executable, __file__, "--child", variant, "--jobs", str(jobs), "--outdir", outdir]
        peak = 0
        start = time.perf_counter()
        process = subprocess.Popen(command, env=ENV, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _tree_rss_kib(process.pid))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, stderr = process.communicate()
        elapsed = time.perf_counter() - start
        done.set()
        sampler.join()
        if process.returncode != 0:
            raise SystemExit(f"{variant} (jobs={jobs}) failed:\n{stderr.decode()[-2000:]}")
        return elapsed, peak / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--jobs", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--outdir", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--scale", default="1,10,50,200")
    parser.add_argument("--scale-rounds", type=int, default=2)
    args = parser.parse_args()
    if args.child == "in-process":
        without, with_pack = _in_process_pack_overhead(args.rounds)
        print(f"{statistics.median(without)} {statistics.median(with_pack)}")
        return 0
    if args.child:
        _child(args.child, args.jobs, args.outdir)
        return 0

    variants = ["empty", "plain", "toolkit-no-watchdog", "toolkit", "toolkit+pack"]
    times: dict[str, list[float]] = {variant: [] for variant in variants}
    for round_index in range(args.rounds):
        for variant in variants:
            seconds, _ = measure(variant)
            times[variant].append(seconds)
        print(f"  round {round_index + 1}/{args.rounds} done", file=sys.stderr)
    median = {variant: statistics.median(values) for variant, values in times.items()}
    print(f"### Synth wall time, default environment ({args.rounds} rounds, interleaved, {os.cpu_count()} cores)\n")
    print("| app | median s | min s | max s | vs plain CDK | vs empty app |")
    print("|---|---:|---:|---:|---:|---:|")
    for variant in variants:
        values = times[variant]
        print(
            f"| {variant} | {median[variant]:.2f} | {min(values):.2f} | {max(values):.2f} | "
            f"{median[variant] / median['plain']:.2f}x | {median[variant] / median['empty']:.2f}x |"
        )
    pack_overhead = median["toolkit+pack"] / median["toolkit"] - 1
    print(f"\nRule pack, whole `cdk synth` process: {pack_overhead * 100:+.1f}% (toolkit+pack vs toolkit, medians).")
    inproc = subprocess.run(
        [sys.executable, __file__, "--child", "in-process", "--rounds", str(max(args.rounds, 5))],
        env=ENV,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    synth_without, synth_with = float(inproc[0]), float(inproc[1])
    print(
        f"Rule pack inside `app.synth()` (warm process, alternating, medians): {synth_without * 1000:.0f} ms "
        f"without, {synth_with * 1000:.0f} ms with: {(synth_with / synth_without - 1) * 100:+.1f}%; the rest of the "
        "whole-process "
        "difference is importing the pack (about 40 ms here) and noise."
    )
    print(
        f"Toolkit (watchdog off, same resources as plain) vs plain CDK: "
        f"{median['toolkit-no-watchdog'] / median['plain']:.2f}x; with the watchdog: "
        f"{median['toolkit'] / median['plain']:.2f}x.\n"
    )

    sizes = [int(size) for size in args.scale.split(",") if size]
    print(f"### Scale: job definitions per stack (toolkit, {args.scale_rounds} rounds, medians)\n")
    print("| job definitions | synth s | peak MiB (process tree) | marginal ms per added job definition |")
    print("|---:|---:|---:|---:|")
    previous: tuple[int, float] | None = None
    for size in sizes:
        samples = [measure("toolkit", size) for _ in range(args.scale_rounds)]
        seconds = statistics.median(sample[0] for sample in samples)
        peak = max(sample[1] for sample in samples)
        marginal = "" if previous is None else f"{(seconds - previous[1]) / (size - previous[0]) * 1000:.0f}"
        print(f"| {size} | {seconds:.2f} | {peak:.0f} | {marginal} |")
        previous = (size, seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
