"""A 64-node run, a fault run (a child killed mid-way), reproducible child launch order, and no node
process outliving its job or the emulator (reset, stop, SIGKILL). Through boto3 and the OS only."""

from __future__ import annotations

import os
import re
import signal
import textwrap
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.mnp_local.runner.conftest import Environment, running_emulator
from tests.mnp_local.runner.emulator import (
    Emulator,
    no_node_processes,
    node_processes,
    python_node,
    shell_node,
    wait_until,
)

pytestmark = pytest.mark.timeout(600)

FOREVER = shell_node("while :; do sleep 0.05; done")
WAIT_FOR_CHILDREN_TO = textwrap.dedent(
    """
    import os, sys, time, boto3
    job = os.environ["AWS_BATCH_JOB_ID"].split("#")[0]
    count = int(os.environ["AWS_BATCH_JOB_NUM_NODES"])
    wanted = os.environ["WANTED"]
    batch = boto3.client("batch")
    deadline = time.time() + 120
    while time.time() < deadline:
        ids = [f"{job}#{i}" for i in range(1, count)]
        statuses = {}
        for start in range(0, len(ids), 100):
            for node in batch.describe_jobs(jobs=ids[start:start + 100])["jobs"]:
                statuses[node["nodeDetails"]["nodeIndex"]] = node["status"]
        if eval(wanted, {"statuses": statuses, "count": count}):
            print("main: done waiting")
            sys.exit(0)
        time.sleep(0.05)
    print("main: gave up", statuses)
    sys.exit(1)
    """
)


def _main_waiting_for(condition: str) -> dict[str, object]:
    return {"command": python_node(WAIT_FOR_CHILDREN_TO), "environment": [{"name": "WANTED", "value": condition}]}


def test_a_64_node_job_runs_every_node(env: Environment) -> None:
    emu = env.emulator
    definition = emu.definition(
        ("0", _main_waiting_for("len(statuses) == count - 1 and set(statuses.values()) == {'SUCCEEDED'}")),
        ("1:", {"command": shell_node('echo "child $AWS_BATCH_JOB_NODE_INDEX of $AWS_BATCH_JOB_NUM_NODES"')}),
        num_nodes=64,
    )
    job_id = emu.submit(env.queue, definition)
    parent, nodes = emu.wait_done(job_id, 64)
    assert parent["status"] == "SUCCEEDED", emu.own_lines(nodes[0])
    assert all(node["status"] == "SUCCEEDED" for node in nodes)
    assert len({node["container"]["networkInterfaces"][0]["privateIpv4Address"] for node in nodes}) == 64
    for node in nodes[1:]:
        assert emu.own_lines(node) == [f"child {node['nodeDetails']['nodeIndex']} of 64"]
    listed = emu.batch.list_jobs(multiNodeJobId=job_id, jobStatus="SUCCEEDED")["jobSummaryList"]
    assert len(listed) == 64
    wait_until(lambda: no_node_processes(job_id), what="the 64 nodes' processes to be gone")


def _pids_of_node(job_id: str, index: int) -> list[int]:
    marker = f"AWS_BATCH_JOB_ID={job_id}#{index}".encode()
    found = []
    for pid in node_processes(job_id):
        try:
            if marker in (Path("/proc") / str(pid) / "environ").read_bytes().split(b"\0"):
                found.append(pid)
        except OSError:
            pass
    return found


def test_a_child_killed_mid_way_ends_cleanly(env: Environment) -> None:
    """Fault run: one child is SIGKILLed from outside while the job runs; Batch takes no action on the
    others, the main node finishes, the remaining children are stopped, nothing is left behind."""
    emu = env.emulator
    definition = emu.definition(
        ("0", _main_waiting_for("statuses.get(2) == 'FAILED'")), ("1:", {"command": FOREVER}), num_nodes=4
    )
    job_id = emu.submit(env.queue, definition)
    wait_until(lambda: all(node["status"] == "RUNNING" for node in emu.nodes(job_id, 4)), what="every node to run")
    victims = wait_until(lambda: _pids_of_node(job_id, 2), what="node 2's processes")
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    parent, nodes = emu.wait_done(job_id, 4)
    assert parent["status"] == "SUCCEEDED"
    assert emu.own_lines(nodes[0]) == ["main: done waiting"]
    killed = nodes[2]
    assert (killed["status"], killed["container"]["exitCode"]) == ("FAILED", 137)
    assert killed["statusReason"] == "Essential container in task exited"
    for survivor in (nodes[1], nodes[3]):
        assert survivor["statusReason"] == "Main node exited; child nodes are stopped"
    wait_until(lambda: no_node_processes(job_id), what="the job's processes to be gone")


def _launch_order(emu: Emulator, job_id: str, num_nodes: int) -> tuple[list[int], list[dict[str, Any]]]:
    _, nodes = emu.wait_done(job_id, num_nodes)
    notice = next(line for line in emu.log_lines(nodes[0]) if "child nodes launch in the order" in line)
    found = re.search(r"in the order ([\d, ]+), with delays drawn from seed (\d+)", notice)
    assert found is not None, notice
    return [int(index) for index in found.group(1).split(", ")], nodes


def test_children_come_up_in_random_order_that_a_seed_reproduces(tmp_path: Path) -> None:
    """User guide: "The child nodes come up in random order": the order is drawn from MNP_LOCAL_SEED (written in the
    main node's log), the same seed gives the same order, and the children really start in that order."""
    orders = []
    for _ in range(2):
        with running_emulator(MNP_LOCAL_SEED="7", MNP_LOCAL_CHILD_DELAY_MAX="0.05") as emu:
            queue = emu.queue(emu.compute_environment())
            definition = emu.definition(
                ("0", _main_waiting_for("len(statuses) == count - 1 and set(statuses.values()) == {'SUCCEEDED'}")),
                ("1:", {"command": ["/bin/true"]}),
                num_nodes=7,
            )
            first_order, nodes = _launch_order(emu, emu.submit(queue, definition), 7)
            second_order, _ = _launch_order(emu, emu.submit(queue, definition), 7)
            orders.append((first_order, second_order))
            started = {node["nodeDetails"]["nodeIndex"]: node["startedAt"] for node in nodes}
            assert [started[index] for index in first_order] == sorted(started[index] for index in first_order)
    (first_run, second_job_first_run), (first_run_again, second_job_again) = orders
    assert sorted(first_run) == [1, 2, 3, 4, 5, 6]
    assert first_run == first_run_again and second_job_first_run == second_job_again
    assert first_run != [1, 2, 3, 4, 5, 6] or second_job_first_run != [1, 2, 3, 4, 5, 6]
    assert first_run != second_job_first_run


def _post(endpoint: str, path: str) -> None:
    urllib.request.urlopen(urllib.request.Request(endpoint + path, method="POST", data=b""), timeout=60).read()


def _wait_all_running(emu: Emulator, job_id: str, num_nodes: int) -> None:
    """Until DescribeJobs shows every node RUNNING: the emulator has started each node's process and
    registered its process group with the reaper by then. (Processes seen in /proc are not enough: a
    node's process exists before the emulator has registered it, and a shell node's ``sleep`` counts too.)"""
    wait_until(
        lambda: all(node["status"] == "RUNNING" for node in emu.nodes(job_id, num_nodes)), what="every node to run"
    )
    assert len(node_processes(job_id)) >= num_nodes


def test_reset_kills_every_node() -> None:
    with running_emulator() as emu:
        queue = emu.queue(emu.compute_environment())
        job_id = emu.submit(queue, emu.definition(("0:", {"command": FOREVER}), num_nodes=3))
        _wait_all_running(emu, job_id, 3)
        _post(emu.endpoint, "/moto-api/reset")
        wait_until(lambda: no_node_processes(job_id), what="reset to end the nodes")
        assert emu.batch.describe_jobs(jobs=[job_id])["jobs"] == []
        # The emulator still runs jobs after a reset.
        queue = emu.queue(emu.compute_environment())
        parent, _ = emu.wait_done(emu.submit(queue, emu.definition(("0:", {"command": ["/bin/true"]}), num_nodes=2)), 2)
        assert parent["status"] == "SUCCEEDED"


def test_stopping_the_emulator_stops_its_nodes(tmp_path: Path) -> None:
    """The emulator, asked to stop (SIGTERM, as LocalAws does), stops its nodes itself before it exits: its
    log says it stopped in order (not killed after LocalAws's allowance, with only the reaper left to clean
    up), and the nodes are gone as soon as it has exited."""
    from mnp_local import LocalAws

    log = tmp_path / "server.log"
    with LocalAws(env={"MNP_LOCAL_TIME_SCALE": "0.002"}, log_path=log, idle_timeout=600) as endpoint:
        emu = Emulator(endpoint=endpoint)
        queue = emu.queue(emu.compute_environment())
        job_id = emu.submit(queue, emu.definition(("0:", {"command": FOREVER}), num_nodes=2))
        _wait_all_running(emu, job_id, 2)
    assert re.search(r"emulated AWS at \S+ stopped \(stopped\)", log.read_text()), log.read_text()[-2000:]
    # The log line above is what tells an orderly stop from the reaper's clean-up; this only waits for it.
    wait_until(lambda: no_node_processes(job_id), what="the nodes to end with the emulator")


def test_a_killed_emulator_leaves_no_node_behind(tmp_path: Path) -> None:
    """Even SIGKILL: the reaper the emulator started ends the node process groups it was told of (every node
    DescribeJobs shows RUNNING)."""
    from mnp_local import LocalAws

    log = tmp_path / "server.log"
    with LocalAws(env={"MNP_LOCAL_TIME_SCALE": "0.002"}, log_path=log) as endpoint:
        emu = Emulator(endpoint=endpoint)
        queue = emu.queue(emu.compute_environment())
        job_id = emu.submit(queue, emu.definition(("0:", {"command": FOREVER}), num_nodes=3))
        _wait_all_running(emu, job_id, 3)
        found = re.search(r"\(pid (\d+)\)", log.read_text())
        assert found is not None
        os.kill(int(found.group(1)), signal.SIGKILL)
        wait_until(lambda: no_node_processes(job_id), what="the reaper to end the nodes")
