"""Benchmark: `mnp-node rendezvous` with 16, 128 and 1000 nodes as processes on loopback, compared
with a model of the documented alternative, every node polling DescribeJobs.

Not a test. Run from the repository root:

    .venv/bin/python bench/bench_rendezvous.py                 # 16, 128, 1000 nodes
    .venv/bin/python bench/bench_rendezvous.py --sizes 16,128  # quicker

What is measured. As in AWS Batch, the main node starts first and the children follow in random order.
The clock starts when the last node's process has been started and stops when the last hostfile is
written (the newest hostfile mtime). Every node is a separate Python process on its own 127.x.y.z
address, so on a small machine the figure is dominated by starting N interpreters on few cores; the
"start-up floor" column measures exactly that (N processes of ``python -m mnp_runtime --version``, last
start to last exit) so the rendezvous' own cost is the difference.

The DescribeJobs model. Without a rendezvous, each node learns the others' addresses by polling
DescribeJobs for the node jobs ``<job id>#0 .. #N-1`` (each node job carries its container's network
interface). Documented limits:

- DescribeJobs takes "a list of up to 100 job IDs" per call (AWS Batch API Reference, DescribeJobs,
  https://docs.aws.amazon.com/batch/latest/APIReference/API_DescribeJobs.html), so one look at all
  N nodes costs ceil(N/100) calls;
- "The maximum number of transactions per second (TPS) for each account for AWS Batch API calls,
  including the SubmitJob operations, is 50. This is a fixed limit", and "AWS Batch API quotas
  typically apply to every API, including the DescribeJobs and SubmitJob API calls" (AWS re:Post
  Knowledge Center, "aws-batch-requests-error",
  https://repost.aws/knowledge-center/aws-batch-requests-error); the AWS Batch service quotas page lists
  the same 50 TPS for SubmitJob (https://docs.aws.amazon.com/batch/latest/userguide/service_limits.html).
  Throttled calls fail with HTTP 429 TooManyRequestsException.

With N nodes polling, a full round costs N * ceil(N/100) calls; at 50 TPS shared by the whole account
a node completes one round every T = max(poll interval, N * ceil(N/100) / 50) seconds. Each node's
rounds run at a random phase, so after the last node turns RUNNING a node sees everyone after U*T + T
(U uniform in [0, 1): the rest of the round in progress, whose answer may predate the last node, plus one
full round); the job can start when the slowest node has. The model is deliberately optimistic: Batch
reports the last node's status with no delay, the job gets the account's whole API budget (nothing else
in the account calls Batch), and no call is throttled and retried. It prints the median of simulated runs.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNTIME_DIR = Path(__file__).resolve().parents[1] / "runtime"
PYCACHE_DIR = os.path.join(tempfile.gettempdir(), f"mnp-runtime-bench-pycache-{os.getuid()}")

DESCRIBE_JOBS_IDS_PER_CALL = 100  # API Reference, DescribeJobs: "A list of up to 100 job IDs."
BATCH_API_TPS = 50  # per account and Region, all Batch API calls (re:Post knowledge center, above)
POLL_INTERVAL_S = 1.0  # a polite client's floor between rounds


FOOTNOTE = """
Times are medians, counted from the last node's process start. '-> all registered': the main node's
hostfile, written the moment every node has registered; '-> all hostfiles': the last hostfile on any node.
CPU/node: user + system CPU of all node processes divided by N (interpreter start-up included).
start-up floor: N no-op 'python -m mnp_runtime --version' processes, last start to last exit.
DJ = DescribeJobs polling model: {tps} TPS per account, {ids} job IDs per call, >= {poll:g} s between a
node's rounds, no status lag, no other API callers (optimistic; see the module docstring)."""


def _env(index: int, num_nodes: int, main_address: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_BATCH_") and not k.startswith("ECS_")}
    env["PYTHONPATH"] = str(RUNTIME_DIR)
    # Run from bytecode, as a pip-installed package does (the cache lives outside the work tree).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = PYCACHE_DIR
    env["AWS_BATCH_JOB_NODE_INDEX"] = str(index)
    env["AWS_BATCH_JOB_NUM_NODES"] = str(num_nodes)
    env["AWS_BATCH_JOB_MAIN_NODE_INDEX"] = "0"
    if main_address is not None:
        env["AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS"] = main_address
    return env


def _address(net: int, index: int) -> str:
    return f"127.{net}.{index // 250}.{index % 250 + 1}"


def _free_port(address: str) -> int:
    with socket.socket() as probe:
        probe.bind((address, 0))
        return int(probe.getsockname()[1])


def rendezvous_round(
    num_nodes: int, *, net: int, python: str, timeout: float, rng: random.Random
) -> tuple[float, float, float]:
    """One rendezvous of `num_nodes` processes.

    Returns seconds from the last node's start to (a) the main node's hostfile, which it writes the
    moment every node has registered, and (b) the last hostfile written anywhere; and (c) the CPU
    seconds (user + system) all node processes used together, interpreter start-up included.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    main_address = _address(net, 0)
    port = _free_port(main_address)
    children = list(range(1, num_nodes))
    rng.shuffle(children)
    with tempfile.TemporaryDirectory(prefix="mnp-bench-") as tmp:
        procs: list[tuple[int, subprocess.Popen[bytes]]] = []
        for index in [0, *children]:
            address = _address(net, index)
            args = [python, "-m", "mnp_runtime", "rendezvous", "--hostfile", f"{tmp}/{index}.hosts",
                    "--port", str(port), "--timeout", str(timeout), "--slots", "4",
                    "--advertise-address", address, "--bind-address", address]  # fmt: skip
            env = _env(index, num_nodes, None if index == 0 else main_address)
            procs.append((index, subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)))
        last_start = time.time()
        failures = []
        for index, proc in procs:
            _, err = proc.communicate(timeout=timeout + 60)
            if proc.returncode != 0:
                failures.append(f"node {index} exited {proc.returncode}: {err.decode().strip()}")
        if failures:
            raise SystemExit(f"{num_nodes}-node rendezvous failed: {failures[:3]}")
        files = [Path(tmp, f"{i}.hosts") for i in range(num_nodes)]
        contents = {f.read_text() for f in files}
        expected = "".join(f"{_address(net, i)} slots=4\n" for i in range(num_nodes))
        if contents != {expected}:
            raise SystemExit(f"{num_nodes}-node rendezvous wrote differing or wrong hostfiles")
        all_registered = files[0].stat().st_mtime
        last_written = max(f.stat().st_mtime for f in files)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return all_registered - last_start, last_written - last_start, cpu


def startup_floor_round(num_nodes: int, *, python: str) -> float:
    """Seconds from the last start to the last exit of `num_nodes` no-op `mnp_runtime` processes."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPATH=str(RUNTIME_DIR), PYTHONPYCACHEPREFIX=PYCACHE_DIR)
    procs = [
        subprocess.Popen([python, "-m", "mnp_runtime", "--version"], env=env, stdout=subprocess.DEVNULL)
        for _ in range(num_nodes)
    ]
    last_start = time.time()
    for proc in procs:
        proc.wait()
    return time.time() - last_start


def describe_jobs_model(num_nodes: int, *, trials: int = 201, seed: int = 1) -> tuple[int, float, float]:
    """(calls per polling round of all nodes, seconds per round T, median seconds until all nodes saw all)."""
    calls = num_nodes * math.ceil(num_nodes / DESCRIBE_JOBS_IDS_PER_CALL)
    period = max(POLL_INTERVAL_S, calls / BATCH_API_TPS)
    rng = random.Random(seed)
    samples = [max(rng.random() * period + period for _ in range(num_nodes)) for _ in range(trials)]
    return calls, period, statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="16,128,1000", help="comma-separated node counts")
    parser.add_argument("--rounds", default="16:5,128:3,1000:1", help="rounds per size, SIZE:ROUNDS,...")
    parser.add_argument("--timeout", type=float, default=600, help="rendezvous --timeout of each node")
    parser.add_argument("--python", default=sys.executable, help="interpreter the nodes run with")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rounds = {int(k): int(v) for k, v in (item.split(":") for item in args.rounds.split(","))}
    rng = random.Random(7)
    # Compile the package once, before hundreds of nodes start at the same time.
    subprocess.run([args.python, "-c", "import mnp_runtime.cli"], env=_env(0, 1, None), check=True)
    print(f"# {os.cpu_count()} CPUs; Python {sys.version.split()[0]}; every node a separate process on loopback")
    header = (
        f"{'nodes':>6} {'rounds':>6} {'-> all registered (s)':>22} {'-> all hostfiles (s)':>21} "
        f"{'min..max (s)':>14} {'CPU/node (ms)':>14} {'start-up floor (s)':>19} {'DJ calls/round':>15} "
        f"{'DJ round T (s)':>15} "
        f"{'DJ model (s)':>13}"
    )
    print(header)
    print("-" * len(header))
    for n in sizes:
        count = rounds.get(n, 1)
        results = [
            rendezvous_round(n, net=10 + i, python=args.python, timeout=args.timeout, rng=rng) for i in range(count)
        ]
        registered = [r[0] for r in results]
        written = [r[1] for r in results]
        cpu_ms = statistics.median(r[2] for r in results) / n * 1000
        floor = [startup_floor_round(n, python=args.python) for _ in range(count)]
        calls, period, model = describe_jobs_model(n)
        spread = f"{min(written):.2f}..{max(written):.2f}" if count > 1 else "-"
        print(
            f"{n:>6} {count:>6} {statistics.median(registered):>22.2f} {statistics.median(written):>21.2f} "
            f"{spread:>14} {cpu_ms:>14.0f} {statistics.median(floor):>19.2f} {calls:>15} {period:>15.2f} "
            f"{model:>13.1f}",
            flush=True,
        )
    print(FOOTNOTE.format(tps=BATCH_API_TPS, ids=DESCRIBE_JOBS_IDS_PER_CALL, poll=POLL_INTERVAL_S))
    return 0


if __name__ == "__main__":
    sys.exit(main())
