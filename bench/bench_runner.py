"""Benchmark: the local node runner, SubmitJob to SUCCEEDED, for 4 and 64 nodes, side by side with the
floor of starting the same number of bare processes.

Not a test. Run from the repository root:

    .venv/bin/python bench/bench_runner.py                  # 4 and 64 nodes
    .venv/bin/python bench/bench_runner.py --sizes 4 --runs 3

What is measured. An emulator (``python -m mnp_local serve``) runs a multi-node parallel job whose nodes
exit at once: each child touches a file named after its index in a shared directory, and the main node
exits as soon as all children have (it must outlive them: when the main node exits Batch stops the
children). Every run is timed three ways:

* ``client``: from the SubmitJob call to the first DescribeJobs answer saying SUCCEEDED (polled every
  2 ms), what a user of the emulator waits;
* ``server``: the job's ``stoppedAt - createdAt`` as DescribeJobs reports them, which leaves out polling;
* ``floor``: the same node commands started as bare processes from Python (``subprocess.Popen`` of each,
  then waiting for all), first start to last exit: what no runner can beat on this machine.

The runner's own overhead per node is ``(server - floor) / nodes``. The emulator runs twice: with its
default random child-launch delays (up to ``MNP_LOCAL_CHILD_DELAY_MAX`` = 20 ms, Batch's "child nodes
come up in random order" emulated) and with the delays off, which leaves only the runner's own work.
Medians of ``--runs`` runs.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mnp_local import LocalAws  # noqa: E402
from tests.mnp_local.runner.emulator import Emulator  # noqa: E402

MAIN = 'n=$(($AWS_BATCH_JOB_NUM_NODES - 1)); while [ "$(ls "$SHARED" | wc -l)" -lt "$n" ]; do sleep 0.002; done'
CHILD = 'touch "$SHARED/$AWS_BATCH_JOB_NODE_INDEX"'


def _bare_floor(num_nodes: int) -> float:
    """Seconds from the first start to the last exit of ``num_nodes`` bare processes of the node commands."""
    with tempfile.TemporaryDirectory() as shared:
        env = {"PATH": "/usr/bin:/bin", "SHARED": shared, "AWS_BATCH_JOB_NUM_NODES": str(num_nodes)}
        started = time.perf_counter()
        processes = [subprocess.Popen(["/bin/sh", "-c", MAIN], env={**env, "AWS_BATCH_JOB_NODE_INDEX": "0"})]
        processes += [
            subprocess.Popen(["/bin/sh", "-c", CHILD], env={**env, "AWS_BATCH_JOB_NODE_INDEX": str(index)})
            for index in range(1, num_nodes)
        ]
        for process in processes:
            process.wait()
        return time.perf_counter() - started


def _run_job(emu: Emulator, queue: str, definition: str) -> tuple[float, float]:
    """(client seconds, server seconds) of one job run."""
    started = time.perf_counter()
    job_id = emu.submit(queue, definition)
    while True:
        job = emu.job(job_id)
        if job["status"] in ("SUCCEEDED", "FAILED"):
            break
        time.sleep(0.002)
    client = time.perf_counter() - started
    if job["status"] != "SUCCEEDED":
        raise SystemExit(f"bench job {job_id} failed: {job.get('statusReason')}")
    return client, (job["stoppedAt"] - job["createdAt"]) / 1000


def _measure(delays: bool, sizes: list[int], runs: int) -> dict[int, tuple[float, float]]:
    env = {} if delays else {"MNP_LOCAL_CHILD_DELAY_MAX": "0"}
    results: dict[int, tuple[float, float]] = {}
    with LocalAws(env=env) as endpoint, tempfile.TemporaryDirectory() as root:
        emu = Emulator(endpoint=endpoint)
        queue = emu.queue(emu.compute_environment(max_vcpus=4096))
        for size in sizes:
            shared = Path(root) / str(size)
            shared.mkdir()
            environment = [{"name": "SHARED", "value": str(shared)}]
            definition = emu.definition(
                ("0", {"command": ["/bin/sh", "-c", MAIN], "environment": environment}),
                ("1:", {"command": ["/bin/sh", "-c", CHILD], "environment": environment}),
                num_nodes=size,
            )
            _run_job(emu, queue, definition)  # warm-up: imports, first log group, first addresses
            timings = []
            for _ in range(runs):
                for leftover in shared.iterdir():
                    leftover.unlink()
                timings.append(_run_job(emu, queue, definition))
            results[size] = (
                statistics.median(t[0] for t in timings),
                statistics.median(t[1] for t in timings),
            )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="4,64", help="node counts, comma-separated (default 4,64)")
    parser.add_argument("--runs", type=int, default=5, help="runs per size (default 5)")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    floors = {size: statistics.median(_bare_floor(size) for _ in range(args.runs)) for size in sizes}
    with_delays = _measure(True, sizes, args.runs)
    without_delays = _measure(False, sizes, args.runs)
    header = (
        f"{'nodes':>5}  {'bare floor':>10}  {'server, delays':>14}  {'client, delays':>14}  "
        f"{'server, no delays':>17}  {'overhead/node':>13}"
    )
    print(f"# medians of {args.runs} runs; seconds unless marked")
    print(header)
    print("-" * len(header))
    for size in sizes:
        overhead = (without_delays[size][1] - floors[size]) / size * 1000
        print(
            f"{size:>5}  {floors[size]:>10.3f}  {with_delays[size][1]:>14.3f}  {with_delays[size][0]:>14.3f}  "
            f"{without_delays[size][1]:>17.3f}  {overhead:>10.1f} ms"
        )
    print(
        "\nbare floor: the node commands as bare processes, first start to last exit. server: the job's "
        "stoppedAt - createdAt; client: SubmitJob call to a DescribeJobs answer of SUCCEEDED (2 ms polling). "
        "delays: the emulator's random child-launch delays (up to 20 ms) on or off. overhead/node: "
        "(server, no delays - bare floor) / nodes. Targets: a 4-node job under 2 s, under 20 ms of runner "
        "overhead per node."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
