"""Tests for `mnp status` (mnp_toolkit/ops/status.py).

Each test's docstring names its backend: moto where moto answers (parent jobs, single-node jobs,
unknown jobs), botocore Stubber with documented DescribeJobs shapes where it does not (node jobs).
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

import boto3
import pytest

from mnp_toolkit.cli import main as cli_main
from mnp_toolkit.errors import UserError
from mnp_toolkit.ops import status as status_mod
from mnp_toolkit.ops.status import (
    NOT_CREATED,
    fetch_job_status,
    render_text,
    run_status,
)
from tests.mnp_toolkit.ops.conftest import REGION, T0_MS, MotoBatch

JOB = "4c0d1f7e-1111-2222-3333-444455556666"


def _node_ids(job_id: str, start: int, stop: int) -> list[str]:
    return [f"{job_id}#{index}" for index in range(start, stop)]


# ------------------------------------------------------------------------------------------ moto


def test_single_node_job_shows_just_the_job(moto_batch: MotoBatch, capsys: pytest.CaptureFixture[str]) -> None:
    """moto: a container (non-MNP) job is shown alone, with no node table, and exits 0."""
    batch = boto3.client("batch", region_name=REGION)
    job_id = batch.submit_job(jobName="hello", jobQueue=moto_batch.queue, jobDefinition="hello")["jobId"]

    code = cli_main(["status", job_id])

    out = capsys.readouterr().out
    assert code == 0
    assert f"Job         {job_id}  (hello)  single-node job" in out
    assert "NODE" not in out
    assert "Definition  arn:aws:batch:us-east-1:123456789012:job-definition/hello:1" in out


def test_unknown_job_is_one_line_exit_2(moto_batch: MotoBatch, capsys: pytest.CaptureFixture[str]) -> None:
    """moto: DescribeJobs returns no job for an unknown id; `mnp status` says so in one line, exit 2."""
    code = cli_main(["status", "no-such-job"])

    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert "job no-such-job not found in us-east-1" in captured.err
    assert "--region" in captured.err


def test_mnp_parent_from_moto_lists_nodes_it_did_not_create(
    moto_batch: MotoBatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """moto: the parent's DescribeJobs carries nodeProperties.numNodes (3), so three node ids are
    asked for; moto never creates node jobs (verified-facts.md), so all three show as not created."""
    batch = boto3.client("batch", region_name=REGION)
    job_id = batch.submit_job(jobName="train", jobQueue=moto_batch.queue, jobDefinition="train-mnp")["jobId"]

    code = cli_main(["status", job_id, "--format", "json"])

    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["multiNode"] is True
    assert data["numNodes"] == 3
    assert [node["jobId"] for node in data["nodes"]] == _node_ids(job_id, 0, 3)
    assert [node["status"] for node in data["nodes"]] == [NOT_CREATED] * 3
    assert [node["role"] for node in data["nodes"]] == ["main", "child", "child"]


# --------------------------------------------------------------------------------------- Stubber


def test_node_listing(stubbed: Any, make_job: Any) -> None:
    """Stubber (documented shapes): a running 4-node job; node details come from DescribeJobs of
    JOB#0..JOB#3 (nodeDetails.nodeIndex / isMainNode); one child has not started yet."""
    client, stubber = stubbed("batch")
    stubber.add_response(
        "describe_jobs",
        {"jobs": [make_job(JOB, status="RUNNING", started=T0_MS, num_nodes=4)]},
        {"jobs": [JOB]},
    )
    stubber.add_response(
        "describe_jobs",
        {
            "jobs": [
                make_job(f"{JOB}#0", status="RUNNING", started=T0_MS, node_index=0, is_main=True),
                make_job(f"{JOB}#1", status="RUNNING", started=T0_MS + 60_000, node_index=1, is_main=False),
                make_job(f"{JOB}#2", status="STARTING", node_index=2, is_main=False),
                make_job(f"{JOB}#3", status="RUNNING", started=T0_MS + 61_000, node_index=3, is_main=False),
            ]
        },
        {"jobs": _node_ids(JOB, 0, 4)},
    )

    status = fetch_job_status(client, job_id=JOB)
    text = render_text(status)

    stubber.assert_no_pending_responses()
    assert [(n.index, n.is_main, n.status) for n in status.nodes] == [
        (0, True, "RUNNING"),
        (1, False, "RUNNING"),
        (2, False, "STARTING"),
        (3, False, "RUNNING"),
    ]
    assert "multi-node parallel job, 4 nodes, main node 0" in text
    assert "0     main   RUNNING   -     2026-11-24 15:00:00Z  -" in text
    assert "2     child  STARTING  -     -" in text
    assert "Nodes       3 RUNNING, 1 STARTING" in text
    assert status.exit_status == 0


def test_node_failure_reason_and_exit_code(stubbed: Any, make_job: Any) -> None:
    """Stubber (documented shapes): the main node fails with exit code 3; the parent is FAILED with
    its statusReason; a child was killed for memory (exit 137, container.reason). `mnp status` prints
    both, the child's container reason after its statusReason, and exits 1."""
    client, stubber = stubbed("batch")
    stopped = T0_MS + 300_000
    parent = make_job(
        JOB,
        status="FAILED",
        started=T0_MS,
        stopped=stopped,
        reason="Essential container in task exited",
        num_nodes=2,
    )
    stubber.add_response("describe_jobs", {"jobs": [parent]}, {"jobs": [JOB]})
    stubber.add_response(
        "describe_jobs",
        {
            "jobs": [
                make_job(
                    f"{JOB}#0",
                    status="FAILED",
                    started=T0_MS,
                    stopped=stopped,
                    reason="Essential container in task exited",
                    exit_code=3,
                    node_index=0,
                    is_main=True,
                ),
                make_job(
                    f"{JOB}#1",
                    status="FAILED",
                    started=T0_MS,
                    stopped=stopped,
                    reason="Essential container in task exited",
                    container_reason="OutOfMemoryError: Container killed due to memory usage",
                    exit_code=137,
                    node_index=1,
                    is_main=False,
                ),
            ]
        },
        {"jobs": _node_ids(JOB, 0, 2)},
    )
    out = io.StringIO()

    code = run_status(client, job_id=JOB, out=out)

    text = out.getvalue()
    assert code == 1
    assert "Status      FAILED  Essential container in task exited" in text
    assert "0     main   FAILED  3     2026-11-24 15:00:00Z  2026-11-24 15:05:00Z  Essential container" in text
    assert "1     child  FAILED  137" in text
    assert "Essential container in task exited; OutOfMemoryError: Container killed due to memory usage" in text


def test_more_than_100_nodes_are_described_in_batches_of_100(stubbed: Any, make_job: Any) -> None:
    """Stubber (documented shapes): 250 nodes need DescribeJobs calls of 100, 100 and 50 ids (the
    API's limit is 100); the Stubber fails the test if the ids of any call differ."""
    client, stubber = stubbed("batch")
    stubber.add_response(
        "describe_jobs", {"jobs": [make_job(JOB, status="RUNNING", started=T0_MS, num_nodes=250)]}, {"jobs": [JOB]}
    )
    for start, stop in ((0, 100), (100, 200), (200, 250)):
        stubber.add_response(
            "describe_jobs",
            {
                "jobs": [
                    make_job(node_id, status="RUNNING", started=T0_MS, node_index=i, is_main=i == 0)
                    for i, node_id in zip(range(start, stop), _node_ids(JOB, start, stop), strict=True)
                ]
            },
            {"jobs": _node_ids(JOB, start, stop)},
        )

    status = fetch_job_status(client, job_id=JOB)

    stubber.assert_no_pending_responses()
    assert [node.index for node in status.nodes] == list(range(250))
    assert {node.status for node in status.nodes} == {"RUNNING"}
    assert [node.is_main for node in status.nodes].count(True) == 1


def test_node_job_id_shows_that_node(stubbed: Any, make_job: Any) -> None:
    """Stubber (documented shapes): `mnp status JOB#2` shows the node job alone, named as a node."""
    client, stubber = stubbed("batch")
    node = make_job(f"{JOB}#2", status="SUCCEEDED", started=T0_MS, exit_code=0, node_index=2, is_main=False)
    stubber.add_response("describe_jobs", {"jobs": [node]}, {"jobs": [f"{JOB}#2"]})

    text = render_text(fetch_job_status(client, job_id=f"{JOB}#2"))

    assert f"node 2 of multi-node parallel job {JOB}" in text
    assert "Exit code   0" in text
    assert "NODE" not in text


def test_watch_refreshes_until_the_job_ends(stubbed: Any, make_job: Any) -> None:
    """Stubber (documented shapes): --watch polls RUNNABLE -> RUNNING -> SUCCEEDED, sleeping the
    interval between polls (sleep is injected: no real waiting), and stops when the job ends."""
    client, stubber = stubbed("batch")
    for parent_status, node_status in (("RUNNABLE", None), ("RUNNING", "RUNNING"), ("SUCCEEDED", "SUCCEEDED")):
        started = None if parent_status == "RUNNABLE" else T0_MS
        stubber.add_response(
            "describe_jobs",
            {"jobs": [make_job(JOB, status=parent_status, started=started, num_nodes=2)]},
            {"jobs": [JOB]},
        )
        nodes = (
            []
            if node_status is None
            else [
                make_job(f"{JOB}#{i}", status=node_status, started=T0_MS, node_index=i, is_main=i == 0)
                for i in range(2)
            ]
        )
        stubber.add_response("describe_jobs", {"jobs": nodes}, {"jobs": _node_ids(JOB, 0, 2)})
    sleeps: list[float] = []
    out = io.StringIO()

    code = run_status(client, job_id=JOB, watch=True, interval=7, out=out, sleep=sleeps.append)

    text = out.getvalue()
    stubber.assert_no_pending_responses()
    assert code == 0
    assert sleeps == [7, 7]
    assert text.count("Job         ") == 2  # the table at the start and at the end, not at every poll
    assert "Nodes       2 not created yet" in text
    assert "Nodes       2 SUCCEEDED" in text
    changes = [line.split("  ", 1)[1] for line in text.splitlines() if re.match(r"\d\d:\d\d:\d\dZ  ", line)]
    assert changes == [
        "nodes 0-1 (main 0)  not created -> RUNNING",
        "job  RUNNABLE -> RUNNING",
        "nodes 0-1 (main 0)  RUNNING -> SUCCEEDED",
        "job  RUNNING -> SUCCEEDED",
    ]


def test_watch_json_prints_one_document_per_refresh(stubbed: Any, make_job: Any) -> None:
    """Stubber (documented shapes): --watch --format json writes JSON Lines, one per poll."""
    client, stubber = stubbed("batch")
    for state in ("RUNNING", "FAILED"):
        stubber.add_response("describe_jobs", {"jobs": [make_job(JOB, status=state, started=T0_MS)]}, {"jobs": [JOB]})
    out = io.StringIO()

    code = run_status(client, job_id=JOB, output_format="json", watch=True, interval=1, out=out, sleep=lambda _: None)

    documents = [json.loads(line) for line in out.getvalue().splitlines()]
    assert code == 1
    assert [doc["status"] for doc in documents] == ["RUNNING", "FAILED"]
    assert all(doc["multiNode"] is False for doc in documents)


def test_aws_error_during_status_is_one_line(stubbed: Any) -> None:
    """Stubber: AccessDeniedException from DescribeJobs becomes a UserError naming the permission."""
    client, stubber = stubbed("batch")
    stubber.add_client_error("describe_jobs", "AccessDeniedException", "User is not authorized", 403)

    with pytest.raises(UserError) as caught:
        fetch_job_status(client, job_id=JOB)

    assert caught.value.exit_code == 2
    assert "batch:DescribeJobs" in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("interval", ["0", "-3", "soon", "nan"])
def test_bad_interval_is_a_usage_error(interval: str, capsys: pytest.CaptureFixture[str]) -> None:
    """No AWS: argparse rejects an --interval below 1 second or not a number (exit 2)."""
    with pytest.raises(SystemExit) as caught:
        cli_main(["status", JOB, "--watch", "--interval", interval])

    assert caught.value.code == 2
    assert "--interval" in capsys.readouterr().err


def test_status_module_does_not_import_boto3_at_import_time() -> None:
    """No AWS: boto3 stays out of module import so that `mnp lint` starts fast."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(status_mod))
    top_level_imports = [
        alias.name for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom) for alias in node.names
    ] + [node.module for node in tree.body if isinstance(node, ast.ImportFrom) and node.module]
    assert not [name for name in top_level_imports if name and name.split(".")[0] in {"boto3", "botocore"}]
