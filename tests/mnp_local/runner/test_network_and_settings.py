"""Node networks (a network namespace per node, root only) and the emulator's MNP_LOCAL_* settings."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.mnp_local.runner.conftest import running_emulator
from tests.mnp_local.runner.emulator import python_node

pytestmark = pytest.mark.timeout(300)
REPO_ROOT = Path(__file__).resolve().parents[3]

NODE = textwrap.dedent(
    """
    import json, os, socket, time, urllib.request, boto3
    metadata = json.load(urllib.request.urlopen(os.environ["ECS_CONTAINER_METADATA_URI_V4"]))
    me = metadata["Networks"][0]["IPv4Addresses"][0]
    if "AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS" not in os.environ:
        server = socket.create_server(("0.0.0.0", 47000))  # every interface: in a namespace, the node's own
        connection, peer = server.accept()
        print(json.dumps({"me": me, "peer": peer[0], "said": connection.recv(100).decode()}))
    else:
        main = os.environ["AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS"]
        (job,) = boto3.client("batch").describe_jobs(jobs=[os.environ["AWS_BATCH_JOB_ID"]])["jobs"]
        while True:
            try:
                connection = socket.create_connection((main, 47000))
                break
            except OSError:
                time.sleep(0.02)
        connection.sendall(f"{me} is {job['status']}".encode())
        connection.close()
        print(json.dumps({"me": me}))
    """
)


def _namespaces() -> set[str]:
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout
    return {line.split()[0] for line in listed.splitlines() if line.strip()}


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None, reason="network namespaces need root and iproute2")
def test_each_node_in_a_network_namespace_of_its_own() -> None:
    """MNP_LOCAL_NODE_NETWORK=netns: nodes listen on 0.0.0.0 as on AWS, reach each other over a bridge, and
    reach the emulator (AWS_ENDPOINT_URL) and their task metadata through relays; no namespace is left."""
    before = _namespaces()
    with running_emulator(MNP_LOCAL_NODE_NETWORK="netns") as emu:
        queue = emu.queue(emu.compute_environment())
        job_id = emu.submit(queue, emu.definition(("0:", {"command": python_node(NODE)}), num_nodes=2))
        parent, (main, child) = emu.wait_done(job_id, 2)
        assert parent["status"] == "SUCCEEDED"
        addresses = [node["container"]["networkInterfaces"][0]["privateIpv4Address"] for node in (main, child)]
        assert all(address.startswith("10.") for address in addresses) and addresses[0] != addresses[1]
        report = emu.json_line(main)
        assert report == {"me": addresses[0], "peer": addresses[1], "said": f"{addresses[1]} is RUNNING"}
        assert emu.json_line(child) == {"me": addresses[1]}
        assert _namespaces() == before
    assert _namespaces() == before


def _serve(env: dict[str, str], *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mnp_local", "serve", "--idle-timeout", "5", *flags],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MNP_LOCAL_TIME_SCALE", "0"),
        ("MNP_LOCAL_TIME_SCALE", "fast"),
        ("MNP_LOCAL_SEED", "one"),
        ("MNP_LOCAL_NODE_NETWORK", "vpc"),
        ("MNP_LOCAL_CHILD_DELAY_MAX", "-1"),
        ("MNP_LOCAL_WORK_DIR", "/nonexistent/dir"),
    ],
)
def test_a_bad_setting_stops_the_emulator_with_a_message_naming_it(variable: str, value: str) -> None:
    completed = _serve({variable: value})
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert variable in completed.stderr and "Traceback" not in completed.stderr


def test_serve_flags_set_the_same_settings() -> None:
    completed = _serve({}, "--time-scale", "-2")
    assert completed.returncode == 2
    assert "MNP_LOCAL_TIME_SCALE='-2' must be a positive finite number" in completed.stderr


def test_a_running_job_keeps_the_emulator_from_stopping_as_idle() -> None:
    """--idle-timeout counts requests; a job whose nodes run without calling the API is not idleness."""
    import time

    from mnp_local import LocalAws
    from tests.mnp_local.runner.emulator import Emulator, shell_node

    with LocalAws(env={"MNP_LOCAL_TIME_SCALE": "0.002"}, idle_timeout=1) as endpoint:
        emu = Emulator(endpoint=endpoint)
        queue = emu.queue(emu.compute_environment())
        job_id = emu.submit(queue, emu.definition(("0:", {"command": shell_node("sleep 4")}), num_nodes=1))
        emu.wait_status(job_id, "RUNNING")
        time.sleep(2)  # no request for twice the idle timeout while the node runs
        assert emu.job(job_id)["status"] == "RUNNING"
        emu.batch.terminate_job(jobId=job_id, reason="done")
        assert emu.wait_status(job_id, "FAILED")["statusReason"] == "done"
