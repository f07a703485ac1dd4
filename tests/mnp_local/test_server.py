"""The launcher: loopback only, a free port, and it stops by itself (idle, parent gone, context exit)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError

from mnp_local import ACCOUNT_ID, LocalAws
from mnp_local.cli import main
from mnp_local.server import aws_environment

REPO_ROOT = Path(__file__).resolve().parents[2]
# Generous bounds for waiting on a process on a loaded 2-core machine; they bound a wait, the
# assertions are about what happened, not about how fast.
WAIT_SECONDS = 120.0


def _sts(endpoint: str) -> Any:
    return boto3.client(
        "sts",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.1)


def _wait_gone(pid: int) -> bool:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def test_local_aws_serves_the_emulated_account_on_loopback_and_stops_on_exit() -> None:
    with LocalAws() as endpoint:
        assert endpoint.startswith("http://127.0.0.1:")
        assert _sts(endpoint).get_caller_identity()["Account"] == ACCOUNT_ID
    with pytest.raises(EndpointConnectionError):
        _sts(endpoint).get_caller_identity()


def test_serve_stops_after_the_idle_timeout(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    completed = subprocess.run(
        [sys.executable, "-m", "mnp_local", "serve", "--port-file", str(port_file), "--idle-timeout", "1"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "stopped (idle for 1 s)" in completed.stdout
    assert not port_file.exists()  # removed on the way out


def test_serve_stops_when_its_parent_dies(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    # The parent starts the server, prints its pid and dies at once without stopping it.
    parent_code = (
        "import subprocess, sys, os\n"
        "child = subprocess.Popen([sys.executable, '-m', 'mnp_local', 'serve', '--port-file', sys.argv[1],"
        " '--idle-timeout', '600'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print(child.pid, flush=True)\n"
        "import time\n"
        "while not os.path.exists(sys.argv[1]): time.sleep(0.1)\n"
        "os._exit(0)\n"
    )
    parent = subprocess.run(
        [sys.executable, "-c", parent_code, str(port_file)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
        check=True,
    )
    server_pid = int(parent.stdout.strip())
    assert _wait_gone(server_pid), f"server {server_pid} outlived its parent"


def _pid_namespace_prefix() -> list[str] | None:
    """``unshare`` arguments that run a command as PID 1 of a new PID namespace (as a container's command
    is), or None where this machine cannot (no util-linux, no privilege for namespaces)."""
    for prefix in (["unshare", "--pid", "--fork"], ["unshare", "--user", "--map-root-user", "--pid", "--fork"]):
        try:
            probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=WAIT_SECONDS, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if probe.returncode == 0:
            return prefix
    return None


def test_serve_started_by_pid_1_keeps_serving(tmp_path: Path) -> None:
    """In a container the server's parent may be PID 1 from the start: that is not a parent that died. Here
    a shell is PID 1 of a PID namespace and starts the server, which then runs until its idle timeout (it
    stopped at once with "parent process 1 is gone" when PID 1 as a parent meant orphaned)."""
    prefix = _pid_namespace_prefix()
    if prefix is None:
        pytest.skip("no PID namespace available here (unshare)")
    port_file = tmp_path / "port"
    serve = f'"{sys.executable}" -m mnp_local serve --port-file "{port_file}" --idle-timeout 1; exit $?'
    completed = subprocess.run(
        [*prefix, "/bin/sh", "-c", serve],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "stopped (idle for 1 s)" in completed.stdout, completed.stdout


def test_a_job_that_only_waits_does_not_keep_serve_from_stopping_when_idle(tmp_path: Path) -> None:
    """Running nodes keep the emulator busy (they may not call the API for hours); a job stuck in RUNNABLE
    runs nothing and must not keep an idle emulator alive for ever."""
    from tests.mnp_local.runner.emulator import Emulator

    port_file = tmp_path / "port"
    server = subprocess.Popen(
        [sys.executable, "-m", "mnp_local", "serve", "--port-file", str(port_file), "--idle-timeout", "2"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for(port_file)
        emu = Emulator(endpoint=f"http://127.0.0.1:{int(port_file.read_text())}")
        queue = emu.queue(emu.compute_environment(max_vcpus=2))
        job_id = emu.submit(queue, emu.definition(("0:", {"command": ["/bin/true"]}), num_nodes=4))
        assert emu.wait_status(job_id, "RUNNABLE")["status"] == "RUNNABLE"
        output, _ = server.communicate(timeout=WAIT_SECONDS)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert "stopped (idle for 2 s)" in output, output[-2000:]


def test_aws_environment_points_everything_at_the_endpoint_with_dummy_credentials() -> None:
    env = aws_environment(
        endpoint="http://127.0.0.1:5555", base={"AWS_PROFILE": "prod", "AWS_SESSION_TOKEN": "x", "PATH": "/bin"}
    )
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5555"
    assert env["AWS_ACCESS_KEY_ID"] == "testing"
    assert env["CDK_DEFAULT_ACCOUNT"] == ACCOUNT_ID
    assert env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert "AWS_PROFILE" not in env  # a real profile must never be used
    assert "AWS_SESSION_TOKEN" not in env
    assert env["PATH"] == "/bin"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["serve", "--idle-timeout", "0"], "--idle-timeout: must be more than 0 seconds, got 0"),
        (["serve", "--idle-timeout", "soon"], "--idle-timeout: 'soon' is not a number of seconds"),
    ],
)
def test_serve_rejects_a_bad_idle_timeout(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_serve_rejects_a_port_out_of_range(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", "70000"]) == 2
    assert "--port must be 0..65535, got 70000" in capsys.readouterr().err


def test_deploy_rejects_a_missing_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.yaml"
    assert main(["deploy", "--config", str(missing)]) == 2
    assert f"--config {missing} does not exist" in capsys.readouterr().err


def test_deploy_rejects_an_app_dir_without_cdk_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", "--app-dir", str(tmp_path)]) == 2
    assert "has no cdk.json" in capsys.readouterr().err


def test_serve_on_a_busy_port_fails_with_the_fix() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        completed = subprocess.run(
            [sys.executable, "-m", "mnp_local", "serve", "--port", str(port)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=WAIT_SECONDS,
            check=False,
        )
    assert completed.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in completed.stderr
    assert "pick another --port or omit it" in completed.stderr
