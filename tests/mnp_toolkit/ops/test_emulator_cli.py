"""`mnp logs`, `mnp status --watch` and `mnp submit --node-override` through the real CLI (``mnp_toolkit.cli.main``)
against the emulated AWS of ``mnp_local`` (``LocalAws``: moto plus the node runner, whose multi-node jobs really
run, each node a process writing to the emulated CloudWatch Logs group and stream its DescribeJobs entry names).

The resources are made with plain boto3 (tests/mnp_local/runner/emulator.py); the commands reach the emulator
through ``AWS_ENDPOINT_URL``, as a user's would. Nodes coordinate through files, never through sleeps alone;
the waits below bound a loaded machine and nothing asserts how fast anything is.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mnp_local import LocalAws
from mnp_toolkit.cli import main as cli_main
from tests.mnp_local.runner.emulator import TIME_SCALE, Emulator, shell_node

pytestmark = pytest.mark.timeout(300)

#: Seconds between two steps of the nodes' turn-taking: far more than the emulator needs to read a line
#: from a node's pipe and stamp it, so the log timestamps follow the steps even on a loaded machine.
STEP_GAP = "0.2"
#: Every child marks itself done in $SHARED; the main node waits for all of them before it exits (when the
#: main node exits, Batch stops the children).
MAIN_WAITS_FOR_CHILDREN = (
    'if [ -z "$AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS" ]; then '
    'while [ "$(ls "$SHARED" | grep -c done)" -lt "$(($AWS_BATCH_JOB_NUM_NODES - 1))" ]; do sleep 0.02; done; '
    'else touch "$SHARED/done-$AWS_BATCH_JOB_NODE_INDEX"; fi'
)


@dataclass
class Local:
    emulator: Emulator
    queue: str


@pytest.fixture(scope="module")
def local() -> Iterator[Local]:
    with LocalAws(env={"MNP_LOCAL_TIME_SCALE": str(TIME_SCALE)}, idle_timeout=600) as endpoint:
        emulator = Emulator(endpoint=endpoint)
        yield Local(emulator, emulator.queue(emulator.compute_environment()))


@pytest.fixture
def mnp(local: Local, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """Run `mnp ARGS...` in this process against the emulator; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", local.emulator.endpoint)
    capsys.readouterr()

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli_main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def _own(out: str) -> list[str]:
    """The output lines without the emulator's own notices (``N | mnp_local: ...``)."""
    return [line for line in out.splitlines() if not re.match(r"^\s*\d+ \| mnp_local: ", line)]


def _job_count(local: Local) -> int:
    listed = local.emulator.batch.list_jobs(jobQueue=local.queue, filters=[{"name": "JOB_NAME", "values": ["*"]}])
    return len(listed["jobSummaryList"])


# -------------------------------------------------------------------------------------------- mnp logs


def test_logs_show_every_node_s_lines_in_time_order(local: Local, mnp: Any, tmp_path: Path) -> None:
    """Three nodes take turns (step k is node k % 3's, after step k-1's file exists): `mnp logs` shows the six
    lines in step order with each node's prefix, which reading the streams node by node would not; --node and
    JOB#N show one node's lines."""
    emu = local.emulator
    script = (
        "i=$AWS_BATCH_JOB_NODE_INDEX; for k in 0 1 2 3 4 5; do "
        'if [ $((k % AWS_BATCH_JOB_NUM_NODES)) -eq "$i" ]; then '
        'if [ "$k" -gt 0 ]; then while [ ! -e "$SHARED/step-$((k - 1))" ]; do sleep 0.01; done; fi; '
        f'sleep {STEP_GAP}; echo "step $k from node $i"; touch "$SHARED/step-$k"; fi; done; '
        f"{MAIN_WAITS_FOR_CHILDREN}"
    )
    definition = emu.definition(
        ("0:", {"command": shell_node(script), "environment": [{"name": "SHARED", "value": str(tmp_path)}]}),
        num_nodes=3,
    )
    job_id = emu.submit(local.queue, definition)
    emu.wait_done(job_id, 3)

    code, out, err = mnp("logs", job_id)

    assert code == 0, err
    assert _own(out) == [f"{k % 3} | step {k} from node {k % 3}" for k in range(6)]
    code, out, _ = mnp("logs", job_id, "--node", "1")
    assert code == 0
    assert _own(out) == ["1 | step 1 from node 1", "1 | step 4 from node 1"]
    code, out, _ = mnp("logs", f"{job_id}#2")
    assert _own(out) == ["2 | step 2 from node 2", "2 | step 5 from node 2"]
    code, _, err = mnp("logs", job_id, "--node", "3")
    assert code == 2
    assert "has nodes 0 to 2, not node 3" in err


def test_logs_follow_ends_when_the_job_ends(local: Local, mnp: Any, tmp_path: Path) -> None:
    """`mnp logs --follow`, started right after SubmitJob, prints every node's first and last line and returns
    once the job and every node have ended; a job whose main node exits 3 ends it with exit code 1."""
    emu = local.emulator
    index = "$AWS_BATCH_JOB_NODE_INDEX"
    script = f'echo "start {index}"; sleep 1; echo "end {index}"; {MAIN_WAITS_FOR_CHILDREN}'
    definition = emu.definition(
        ("0:", {"command": shell_node(script), "environment": [{"name": "SHARED", "value": str(tmp_path)}]}),
        num_nodes=3,
    )
    job_id = emu.submit(local.queue, definition)

    code, out, err = mnp("logs", job_id, "--follow", "--interval", "1")

    assert code == 0, err
    assert emu.job(job_id)["status"] == "SUCCEEDED"  # it had ended when --follow returned
    lines = _own(out)
    for index in range(3):
        assert f"{index} | start {index}" in lines
        assert f"{index} | end {index}" in lines
    assert lines.index("0 | start 0") < lines.index("0 | end 0")

    failing = emu.definition(("0:", {"command": shell_node("echo giving up; exit 3")}), num_nodes=2)
    code, out, _ = mnp("logs", emu.submit(local.queue, failing), "--follow", "--interval", "1")
    assert code == 1
    assert "0 | giving up" in _own(out)


# ---------------------------------------------------------------------------------- mnp status --watch


def test_status_watch_shows_the_nodes_move(local: Local, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`mnp status --watch` (the command in a process of its own) on a running 2-node job: the table, then one
    line per change (the nodes ending, with their exit codes and reasons, and the job's own change), then the
    final table. The nodes end only once the first table has been printed (they wait for a file the test
    writes then), so the watch sees them running whatever the machine's load."""
    emu = local.emulator
    script = f'while [ ! -e "$SHARED/go" ]; do sleep 0.02; done; {MAIN_WAITS_FOR_CHILDREN}'
    definition = emu.definition(
        ("0:", {"command": shell_node(script), "environment": [{"name": "SHARED", "value": str(tmp_path)}]}),
        num_nodes=2,
    )
    job_id = emu.submit(local.queue, definition)
    monkeypatch.setenv("AWS_ENDPOINT_URL", emu.endpoint)
    command = [sys.executable, "-m", "mnp_toolkit", "status", job_id, "--watch", "--interval", "1"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as watch:
        try:
            assert watch.stdout is not None
            first: list[str] = []
            for line in watch.stdout:  # the first table ends with its "Nodes" line
                first.append(line)
                if line.startswith("Nodes       "):
                    break
            (tmp_path / "go").touch()
            rest, err = watch.communicate(timeout=120)
        finally:
            if watch.poll() is None:
                watch.kill()
    out = "".join(first) + rest

    assert watch.returncode == 0, err
    changes = [line.split("  ", 1)[1] for line in out.splitlines() if re.match(r"\d\d:\d\d:\d\dZ  ", line)]
    statuses = re.findall(r"^Status      (\S+)", out, flags=re.MULTILINE)
    assert statuses[0] != "SUCCEEDED" and statuses[-1] == "SUCCEEDED"  # watched from before the end to the end
    ended = [c for c in changes if "-> SUCCEEDED" in c]
    assert any(c.startswith("node") and "(exit 0; Essential container in task exited)" in c for c in ended), changes
    assert re.fullmatch(r"job  \S+ -> SUCCEEDED  \(Essential container in task exited\)", changes[-1]), changes
    assert out.count("Job         ") == 2
    assert out.rstrip().splitlines()[-1].startswith("Nodes       ")


# ------------------------------------------------------------------------------- mnp submit --node-override


def test_bad_overrides_exit_2_before_any_submit_job(local: Local, mnp: Any) -> None:
    """A target that is not one of the definition's ranges, and an override asking more vCPUs than c5.large has
    (2), are refused in one line with exit 2; no job is created."""
    emu = local.emulator
    definition = emu.definition(
        ("0", {"command": ["/bin/true"], "instanceType": "c5.large"}),
        ("1:", {"command": ["/bin/true"], "instanceType": "c5.large"}),
        num_nodes=3,
    )
    before = _job_count(local)

    code, out, err = mnp(
        "submit", "--queue", local.queue, "--job-definition", definition, "--node-override", "0:1", "env.A=1"
    )
    assert (code, out, err.count("\n")) == (2, "", 1)
    assert "--node-override 0:1 is not a node range of the job definition (0, 1:)" in err

    code, out, err = mnp(
        "submit", "--queue", local.queue, "--job-definition", definition, "--node-override", "1:", "vcpus=4"
    )
    assert (code, out, err.count("\n")) == (2, "", 1)
    assert "nodes 1-2 (node range 1:) would ask for 4 vCPUs per node, but c5.large has 2" in err

    assert _job_count(local) == before


def test_good_overrides_reach_the_nodes(local: Local, mnp: Any, tmp_path: Path) -> None:
    """A command override for the main node and a variable for the children are sent as nodeOverrides and run:
    `mnp logs --follow` shows each node's output with them."""
    emu = local.emulator
    child = f'echo "child $AWS_BATCH_JOB_NODE_INDEX says $GREETING"; {MAIN_WAITS_FOR_CHILDREN}'
    definition = emu.definition(
        ("0", {"command": shell_node("echo not overridden")}),
        ("1:", {"command": shell_node(child), "environment": [{"name": "GREETING", "value": "nothing"}]}),
        num_nodes=3,
    )
    main = f"echo main overridden; SHARED={tmp_path}; {MAIN_WAITS_FOR_CHILDREN}"
    code, out, err = mnp(
        "submit", "--queue", local.queue, "--job-definition", definition,
        "--node-override", "0", f"command=/bin/sh -c '{main}'",
        "--node-override", "1:", "env.GREETING=hello",
        "--node-override", "1:", f"env.SHARED={tmp_path}",
    )  # fmt: skip
    assert code == 0, err
    job_id = out.strip()

    code, out, err = mnp("logs", job_id, "--follow", "--interval", "1")

    assert code == 0, err
    assert sorted(_own(out)) == ["0 | main overridden", "1 | child 1 says hello", "2 | child 2 says hello"]
