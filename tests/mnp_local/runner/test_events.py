"""The runner's listeners (the hook for Batch job-state-change events and live logs): every state change
of the parent and each node job, in order, with the job's DescribeJobs entry, and every output line.

The emulator runs in a subprocess (moto keeps global state and the runner patches moto's classes, which
must not leak into this test process), started with the same public pieces ``serve`` uses."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(300)
REPO_ROOT = Path(__file__).resolve().parents[3]

SCRIPT = textwrap.dedent(
    """
    import json, os, sys, tempfile, time
    os.environ["MNP_LOCAL_TIME_SCALE"] = "0.002"
    from moto.core.config import default_user_config
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from mnp_local import runner
    from mnp_local.adapters import register_all
    sys.path.insert(0, {repo!r})
    from tests.mnp_local.runner.emulator import Emulator, shell_node

    register_all()
    installed = runner.install()
    default_user_config["batch"]["use_docker"] = False
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    installed.endpoint = f"http://{{host}}:{{port}}"
    states, lines = [], []
    def on_state(change):
        detail = change.detail["status"]
        states.append([change.job_id, change.node_index, change.previous, change.status, detail, change.time_ms])

    def on_output(line):
        lines.append([line.job_id, line.node_index, line.message, line.log_stream, line.timestamp_ms])

    installed.subscribe(state=on_state, output=on_output)
    emu = Emulator(endpoint=installed.endpoint)
    queue = emu.queue(emu.compute_environment())
    shared = tempfile.mkdtemp()
    # Children print and leave a file; the main node prints and waits for both files (it would stop them).
    script = (
        'echo "hello from $AWS_BATCH_JOB_NODE_INDEX"; if [ -n "$AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS" ]; '
        f'then touch {{shared}}/$AWS_BATCH_JOB_NODE_INDEX; else while [ "$(ls {{shared}} | wc -l)" -lt 2 ]; '
        'do sleep 0.02; done; fi'
    )
    job_id = emu.submit(queue, emu.definition(("0:", {{"command": shell_node(script)}}), num_nodes=3))
    parent, nodes = emu.wait_done(job_id, 3)
    runner.shutdown()
    server.stop()
    print(json.dumps({{"job": job_id, "states": states, "lines": lines,
                      "streams": [n["container"]["logStreamName"] for n in nodes]}}))
    sys.stdout.flush()
    os._exit(0)
    """
)


def test_listeners_see_every_state_change_in_order_and_every_line() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(repo=str(REPO_ROOT))],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    job_id = report["job"]
    by_job: dict[str, list[str]] = {}
    for changed_id, _, previous, status, described, _ in report["states"]:
        assert described == status  # the detail is the job right after the change
        history = by_job.setdefault(changed_id, ["SUBMITTED"])
        assert previous == history[-1]
        history.append(status)
    # User guide, "Job states": "If there are no dependencies, the job is moved to RUNNABLE" (no PENDING).
    expected = ["SUBMITTED", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED"]
    assert by_job[job_id] == expected
    assert by_job[f"{job_id}#0"] == expected
    for child in (f"{job_id}#1", f"{job_id}#2"):
        assert by_job[child] == expected
    order = [(changed_id, status) for changed_id, _, _, status, _, _ in report["states"]]
    main_running = order.index((f"{job_id}#0", "RUNNING"))
    assert all(order.index((child, "STARTING")) > main_running for child in (f"{job_id}#1", f"{job_id}#2"))
    times = [time_ms for *_, time_ms in report["states"]]
    assert times == sorted(times)
    lines = {(node_id, message, stream) for node_id, _, message, stream, _ in report["lines"]}
    assert lines == {(f"{job_id}#{index}", f"hello from {index}", report["streams"][index]) for index in range(3)}
