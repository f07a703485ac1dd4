"""Tests for `mnp submit` (mnp_toolkit/ops/submit.py).

Each test's docstring names its backend. moto answers SubmitJob, DescribeJobs of the parent and
DescribeJobDefinitions, but returns no ``nodeProperties`` for a job definition and accepts node
overrides AWS rejects; the node-range checks and AWS's rejection are therefore tested with botocore's
Stubber and the documented DescribeJobDefinitions shape.
"""

from __future__ import annotations

import io
import re
import time
from typing import Any

import boto3
import pytest

from mnp_toolkit.cli import main as cli_main
from mnp_toolkit.errors import UserError
from mnp_toolkit.ops.submit import (
    JobDefinitionInfo,
    default_job_name,
    node_override_problem,
    run_submit,
    submit_job,
)
from tests.mnp_toolkit.ops.conftest import REGION, T0_MS, MotoBatch

JOB = "9d5e0a1b-aaaa-bbbb-cccc-ddddeeeeffff"
DEF_ARN = f"arn:aws:batch:{REGION}:123456789012:job-definition/train:3"


def _definition(*, ranges: list[str], num_nodes: int = 4, main_node: int = 0) -> dict[str, Any]:
    """A DescribeJobDefinitions entry for a multinode definition (API reference, JobDefinition)."""
    return {
        "jobDefinitionName": "train",
        "jobDefinitionArn": DEF_ARN,
        "revision": 3,
        "status": "ACTIVE",
        "type": "multinode",
        "nodeProperties": {
            "numNodes": num_nodes,
            "mainNode": main_node,
            "nodeRangeProperties": [
                {"targetNodes": target, "container": {"image": "busybox", "vcpus": 1, "memory": 512}}
                for target in ranges
            ],
        },
    }


def _expect_definition_lookup(stubber: Any, definition: dict[str, Any] | None) -> None:
    stubber.add_response(
        "describe_job_definitions",
        {"jobDefinitions": [definition] if definition else []},
        {"jobDefinitionName": "train", "status": "ACTIVE"},
    )


# ------------------------------------------------------------------------------------------ moto


def _job_count(queue: str) -> int:
    """Jobs in the queue, whatever their status (a JOB_NAME filter lists every status in one call)."""
    batch = boto3.client("batch", region_name=REGION)
    return len(batch.list_jobs(jobQueue=queue, filters=[{"name": "JOB_NAME", "values": ["*"]}])["jobSummaryList"])


def test_submit_prints_the_job_id(moto_batch: MotoBatch, capsys: pytest.CaptureFixture[str]) -> None:
    """moto: a container job is submitted under a default name and only its id goes to stdout."""
    code = cli_main(["submit", "--queue", moto_batch.queue, "--job-definition", "hello"])

    job_id = capsys.readouterr().out.strip()
    assert code == 0
    assert _job_count(moto_batch.queue) >= 1
    jobs = boto3.client("batch", region_name=REGION).describe_jobs(jobs=[job_id])["jobs"]
    assert len(jobs) == 1
    assert re.fullmatch(r"hello-\d{8}T\d{6}Z", jobs[0]["jobName"])


def test_submit_with_name_and_revision(moto_batch: MotoBatch, capsys: pytest.CaptureFixture[str]) -> None:
    """moto: `name:revision` resolves to that revision's ARN; --name is used as given."""
    code = cli_main(["submit", "--queue", moto_batch.queue, "--job-definition", "hello:1", "--name", "smoke_test-1"])

    job_id = capsys.readouterr().out.strip()
    job = boto3.client("batch", region_name=REGION).describe_jobs(jobs=[job_id])["jobs"][0]
    assert code == 0
    assert job["jobName"] == "smoke_test-1"
    assert job["jobDefinition"].endswith(":job-definition/hello:1")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--job-definition", "nope"], "job definition nope not found (no ACTIVE revision) in us-east-1"),
        (["--job-definition", "hello:7"], "revision 7 of job definition hello not found"),
        (["--job-definition", "hello", "--name", "-bad name"], "--name '-bad name' is not a valid job name"),
        (["--job-definition", "hello", "--name", "train\n"], "--name 'train\\n' is not a valid job name"),
        (["--job-definition", "hello", "--nodes", "4"], "is a container job, not multinode"),
    ],
)
def test_submit_errors_are_one_line(
    moto_batch: MotoBatch, capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    """moto: an unknown definition or revision, a bad --name, and --nodes on a container job
    definition are refused before SubmitJob, in one line, exit 2; nothing is submitted."""
    jobs_before = _job_count(moto_batch.queue)

    code = cli_main(["submit", "--queue", moto_batch.queue, *argv])

    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert expected in captured.err
    assert _job_count(moto_batch.queue) == jobs_before


def test_unknown_queue_is_one_line(moto_batch: MotoBatch, capsys: pytest.CaptureFixture[str]) -> None:
    """moto: SubmitJob to a queue that does not exist fails with ClientException; one line, exit 2."""
    code = cli_main(["submit", "--queue", "no-such-queue", "--job-definition", "hello"])

    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert "AWS Batch rejected the request in us-east-1: Job queue no-such-queue does not exist" in err


def test_nodes_override_is_sent_when_the_definition_cannot_be_judged(moto_batch: MotoBatch) -> None:
    """moto: moto's DescribeJobDefinitions omits nodeProperties, so the range check cannot know and
    must not invent an error; the override is submitted (moto accepts it)."""
    out = io.StringIO()

    code = run_submit(
        boto3.client("batch", region_name=REGION),
        queue=moto_batch.queue,
        definition=moto_batch.mnp_definition,
        nodes=5,
        out=out,
    )

    assert code == 0
    job_id = out.getvalue().strip()
    assert boto3.client("batch", region_name=REGION).describe_jobs(jobs=[job_id])["jobs"][0]["jobId"] == job_id


@pytest.mark.timeout(60)
def test_wait_follows_a_moto_job_to_success(moto_batch: MotoBatch) -> None:
    """moto: --wait polls until moto's job thread reports SUCCEEDED (moto without Docker succeeds
    every job); progress goes to stderr, the id alone to stdout, exit 0."""
    out, err = io.StringIO(), io.StringIO()

    code = run_submit(
        boto3.client("batch", region_name=REGION),
        queue=moto_batch.queue,
        definition="hello",
        wait=True,
        out=out,
        err=err,
        sleep=lambda _: time.sleep(0.05),  # moto's job thread needs real time to move on
    )

    assert code == 0
    job_id = out.getvalue().strip()
    assert "\n" not in job_id
    assert f"{job_id}  SUCCEEDED" in err.getvalue()
    assert "Status      SUCCEEDED" in err.getvalue()


# --------------------------------------------------------------------------------------- Stubber


def test_closed_ranges_refuse_a_node_override_before_submitting(stubbed: Any) -> None:
    """Stubber (documented DescribeJobDefinitions shape): a definition whose ranges are all closed
    (0:3, as aws-cdk-lib renders them) cannot take numNodes; the error says why and what to do, and
    SubmitJob is never called (the Stubber has no SubmitJob response queued)."""
    client, stubber = stubbed("batch")
    _expect_definition_lookup(stubber, _definition(ranges=["0:3"]))

    with pytest.raises(UserError) as caught:
        submit_job(client, queue="mnp-queue", definition="train", nodes=8)

    message = str(caught.value)
    stubber.assert_no_pending_responses()
    assert caught.value.exit_code == 2
    assert "job definition train:3 cannot take --nodes 8" in message
    assert "(0:3) are all closed" in message
    assert "open upper end (`n:`)" in message
    assert "e.g. `0:`" in message
    assert "submit without --nodes to run its 4 nodes" in message


def test_open_range_submits_the_override(stubbed: Any) -> None:
    """Stubber (documented shapes): with an open range `1:` the override is sent as
    nodeOverrides.numNodes against the resolved revision's ARN (the Stubber checks the params)."""
    client, stubber = stubbed("batch")
    _expect_definition_lookup(stubber, _definition(ranges=["0", "1:"]))
    stubber.add_response(
        "submit_job",
        {"jobArn": f"arn:aws:batch:{REGION}:123456789012:job/{JOB}", "jobName": "run-8", "jobId": JOB},
        {"jobName": "run-8", "jobQueue": "mnp-queue", "jobDefinition": DEF_ARN, "nodeOverrides": {"numNodes": 8}},
    )

    job_id = submit_job(client, queue="mnp-queue", definition="train", nodes=8, name="run-8")

    stubber.assert_no_pending_responses()
    assert job_id == JOB


def test_aws_rejection_of_the_override_is_explained(stubbed: Any) -> None:
    """Stubber: the caller may not read job definitions (AccessDeniedException), so the override is
    submitted unchecked and AWS rejects it with a ClientException (message text illustrative); the
    error names the node-range conditions. A note on stderr says the check was skipped."""
    client, stubber = stubbed("batch")
    stubber.add_client_error("describe_job_definitions", "AccessDeniedException", "not authorized", 403)
    stubber.add_client_error(
        "submit_job",
        "ClientException",
        "Node override numNodes is not valid: no node range with an open upper bound",
        400,
    )
    err = io.StringIO()

    with pytest.raises(UserError) as caught:
        run_submit(client, queue="mnp-queue", definition="train", nodes=8, out=io.StringIO(), err=err)

    message = str(caught.value)
    assert "\n" not in message
    assert "AWS Batch rejected the request in us-east-1: Node override numNodes is not valid" in message
    assert "needs a node range with an open upper end (`n:`)" in message
    assert "submitting without checking it" in err.getvalue()


def test_wait_shows_progress_and_fails_with_the_job(stubbed: Any, make_job: Any) -> None:
    """Stubber (documented shapes): submit --wait follows a 2-node job RUNNING -> FAILED, printing
    one progress line per change and the node table at the end (stderr); exit 1 as the job failed."""
    client, stubber = stubbed("batch")
    _expect_definition_lookup(stubber, _definition(ranges=["0:"], num_nodes=2))
    stubber.add_response(
        "submit_job",
        {"jobArn": f"arn:aws:batch:{REGION}:123456789012:job/{JOB}", "jobName": "run", "jobId": JOB},
        {"jobName": "run", "jobQueue": "mnp-queue", "jobDefinition": DEF_ARN},
    )
    polls = [
        ("RUNNING", ["RUNNING", "STARTING"], None),
        ("RUNNING", ["RUNNING", "STARTING"], None),  # unchanged: no new progress line
        ("FAILED", ["FAILED", "FAILED"], 2),
    ]
    for parent_state, node_states, exit_code in polls:
        stubber.add_response(
            "describe_jobs",
            {"jobs": [make_job(JOB, status=parent_state, started=T0_MS, num_nodes=2)]},
            {"jobs": [JOB]},
        )
        stubber.add_response(
            "describe_jobs",
            {
                "jobs": [
                    make_job(
                        f"{JOB}#{i}", status=state, started=T0_MS, exit_code=exit_code, node_index=i, is_main=i == 0
                    )
                    for i, state in enumerate(node_states)
                ]
            },
            {"jobs": [f"{JOB}#0", f"{JOB}#1"]},
        )
    out, err = io.StringIO(), io.StringIO()

    code = run_submit(
        client, queue="mnp-queue", definition="train", name="run", wait=True, out=out, err=err, sleep=lambda _: None
    )

    stubber.assert_no_pending_responses()
    progress = [line for line in err.getvalue().splitlines() if JOB in line and "Job " not in line]
    assert code == 1
    assert out.getvalue() == f"{JOB}\n"
    assert len(progress) == 2
    assert progress[0].endswith(f"{JOB}  RUNNING  nodes: 1 RUNNING, 1 STARTING")
    assert f"{JOB}  FAILED  nodes: 2 FAILED" in progress[1]
    assert "0     main   FAILED  2" in err.getvalue()


# ------------------------------------------------------------------------------------------ no AWS


def _info(ranges: tuple[str, ...], *, main_node: int = 0, kind: str = "multinode") -> JobDefinitionInfo:
    return JobDefinitionInfo(
        name="train", revision=3, arn=DEF_ARN, type=kind, num_nodes=4, main_node=main_node, target_nodes=ranges
    )


@pytest.mark.parametrize(
    ("ranges", "main_node", "nodes", "expected"),
    [
        (("0:3",), 0, 8, "are all closed"),
        (("0:1", "2:3"), 0, 2, "are all closed"),
        (("0", "4:"), 0, 3, "open-ended node range starts at index 4"),
        (("0:",), 5, 4, "its main node is index 5"),
        (("0:",), 0, 1, None),
        (("0", "1:"), 0, 16, None),
        ((":",), 0, 2, None),
        (("0:x",), 0, 2, None),  # malformed: AWS is the judge, we do not guess
        ((), 0, 2, None),  # ranges unknown (moto): nothing claimed
    ],
)
def test_node_override_conditions(ranges: tuple[str, ...], main_node: int, nodes: int, expected: str | None) -> None:
    """No AWS: the documented SubmitJob conditions for nodeOverrides.numNodes."""
    problem = node_override_problem(_info(ranges, main_node=main_node), nodes=nodes)

    if expected is None:
        assert problem is None
    else:
        assert problem is not None and expected in problem


@pytest.mark.parametrize("nodes", ["0", "-1", "two", "2.5"])
def test_nodes_below_one_or_not_a_number_is_a_usage_error(nodes: str, capsys: pytest.CaptureFixture[str]) -> None:
    """No AWS: argparse refuses --nodes that is not a whole number of at least 1, exit 2."""
    with pytest.raises(SystemExit) as caught:
        cli_main(["submit", "--queue", "q", "--job-definition", "d", "--nodes", nodes])

    assert caught.value.code == 2
    assert "--nodes" in capsys.readouterr().err


def test_default_job_name_fits_batch_rules() -> None:
    """No AWS: the default name is valid for SubmitJob even from an odd or long definition name."""
    from datetime import UTC, datetime

    now = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    assert default_job_name("train", now=now) == "train-20261124T150000Z"
    long_name = default_job_name("x" * 200, now=now)
    assert len(long_name) <= 128
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}", default_job_name("_odd.name", now=now))


def test_nodes_above_the_default_limit_warn_like_mnp109(
    moto_batch: MotoBatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """moto: 1,000 nodes is a default limit that can be raised; --nodes 1001 warns and still submits."""
    code = cli_main(
        ["submit", "--queue", moto_batch.queue, "--job-definition", moto_batch.mnp_definition, "--nodes", "1001"]
    )
    err = capsys.readouterr().err
    assert "above the default limit of 1,000 nodes per job (MNP109)" in err
    assert code == 0


@pytest.mark.parametrize("target", [" 2: ", "3:1", "\u0661:", "1:2:3", ""])
def test_submit_reads_target_nodes_with_the_core_parser(target: str) -> None:
    """No AWS: what the rule pack rejects (MNP009) is not a node range to `mnp submit` either, so no
    override claim is made from it (the core's parser, one definition of the syntax)."""
    from mnp_toolkit.core.target_nodes import TargetNodesError, parse_target_nodes

    with pytest.raises(TargetNodesError):
        parse_target_nodes(target)
    assert node_override_problem(_info((target, "0:"), main_node=0), nodes=4) is None


# ------------------------------------------------------------------------------- fair-share queues

QUEUE_ARN = f"arn:aws:batch:{REGION}:123456789012:job-queue/training"
POLICY_ARN = f"arn:aws:batch:{REGION}:123456789012:scheduling-policy/training"


def _expect_queue(stubber: Any, *, policy: str | None) -> None:
    """A DescribeJobQueues entry (API reference, JobQueueDetail), with or without a scheduling policy."""
    queue: dict[str, Any] = {
        "jobQueueName": "training",
        "jobQueueArn": QUEUE_ARN,
        "state": "ENABLED",
        "priority": 1,
        "computeEnvironmentOrder": [
            {"order": 1, "computeEnvironment": "arn:aws:batch:us-east-1:123456789012:compute-environment/p4d"}
        ],
        "status": "VALID",
    }
    if policy is not None:
        queue["schedulingPolicyArn"] = policy
    stubber.add_response("describe_job_queues", {"jobQueues": [queue]}, {"jobQueues": ["training"]})


def test_share_identifier_and_priority_are_sent_to_a_fair_share_queue(stubbed: Any) -> None:
    """Stubber (documented shapes): the queue has a scheduling policy, so shareIdentifier and
    schedulingPriorityOverride go into SubmitJob (the Stubber checks the exact parameters)."""
    client, stubber = stubbed("batch")
    _expect_queue(stubber, policy=POLICY_ARN)
    _expect_definition_lookup(stubber, _definition(ranges=["0:"]))
    stubber.add_response(
        "submit_job",
        {"jobArn": f"arn:aws:batch:{REGION}:123456789012:job/{JOB}", "jobName": "run", "jobId": JOB},
        {
            "jobName": "run",
            "jobQueue": "training",
            "jobDefinition": DEF_ARN,
            "shareIdentifier": "vision",
            "schedulingPriorityOverride": 9999,
        },
    )
    job_id = submit_job(
        client, queue="training", definition="train", name="run", share_identifier="vision", scheduling_priority=9999
    )
    stubber.assert_no_pending_responses()
    assert job_id == JOB


def test_a_share_identifier_for_a_fifo_queue_is_refused_before_submitting(stubbed: Any) -> None:
    """Stubber: SubmitJob says not to give a share identifier to a queue without a fair-share policy."""
    client, stubber = stubbed("batch")
    _expect_queue(stubber, policy=None)
    with pytest.raises(UserError) as caught:
        submit_job(client, queue="training", definition="train", share_identifier="vision")
    stubber.assert_no_pending_responses()
    assert caught.value.exit_code == 2
    assert "job queue training has no fair-share scheduling policy" in str(caught.value)
    assert "drop --share-identifier" in str(caught.value)


def test_a_missing_share_identifier_is_explained_when_aws_refuses_it(stubbed: Any) -> None:
    """Stubber: without fair-share options nothing extra is called; AWS's ClientException about the
    share identifier (text illustrative) gets the fix appended."""
    client, stubber = stubbed("batch")
    _expect_definition_lookup(stubber, _definition(ranges=["0:"]))
    stubber.add_client_error(
        "submit_job", "ClientException", "Share identifier is required for a job queue with a fairshare policy", 400
    )
    with pytest.raises(UserError) as caught:
        submit_job(client, queue="training", definition="train")
    message = str(caught.value)
    assert "Share identifier is required" in message
    assert "AWS Batch requires a share identifier on every job submitted to it: pass --share-identifier" in message
    assert "\n" not in message


def test_an_unreadable_queue_is_noted_and_the_job_still_submitted(stubbed: Any) -> None:
    """Stubber: no batch:DescribeJobQueues permission: a note, then the submission AWS will judge."""
    client, stubber = stubbed("batch")
    stubber.add_client_error("describe_job_queues", "AccessDeniedException", "not authorized", 403)
    _expect_definition_lookup(stubber, _definition(ranges=["0:"]))
    stubber.add_response(
        "submit_job",
        {"jobArn": f"arn:aws:batch:{REGION}:123456789012:job/{JOB}", "jobName": "run", "jobId": JOB},
        {"jobName": "run", "jobQueue": "training", "jobDefinition": DEF_ARN, "shareIdentifier": "vision"},
    )
    err = io.StringIO()
    code = run_submit(
        client, queue="training", definition="train", name="run", share_identifier="vision", out=io.StringIO(), err=err
    )
    assert code == 0
    assert "cannot read job queue training; submitting the share identifier without checking it" in err.getvalue()


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--scheduling-priority", "5"], "--scheduling-priority orders jobs within one share identifier"),
        (
            ["--share-identifier", "vision", "--scheduling-priority", "10000"],
            "--scheduling-priority 10000 is out of range",
        ),
        (["--share-identifier", "vision", "--scheduling-priority", "-1"], "--scheduling-priority -1 is out of range"),
        (["--share-identifier", "team a"], "--share-identifier team a is not a share identifier"),
        (["--share-identifier", "x" * 256], "is not a share identifier"),
        (["--share-identifier", "vision", "--scheduling-priority", "high"], "'high' is not a whole number"),
        (["--share-identifier", "vision", "--scheduling-priority", "\u0665"], "is not a whole number"),
    ],
)
def test_bad_fair_share_options_exit_2_without_calling_aws(
    arguments: list[str], expected: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No AWS: the endpoint is a closed port, so any call would fail differently than the message below."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    try:
        code = cli_main(["submit", "--queue", "training", "--job-definition", "train", *arguments, "--region", REGION])
    except SystemExit as exit_info:  # argparse's own usage errors
        code = exit_info.code
    assert code == 2
    assert expected in capsys.readouterr().err
