"""Tests for the child-failure watchdog's Lambda handler (``constructs_lib/lambda_src/watchdog/index.py``).

Which backend a test uses is part of what it proves, so each test's docstring says so:

* **moto** (``mock_aws`` with ``batch.use_docker: False``) where moto models the API: ListJobs of a
  queue, DescribeJobs of a parent job, TerminateJob, a queue that does not exist. moto's simple Batch
  backend ends every job at submission (SUCCEEDED, or FAILED with ``MOTO_SIMPLE_BATCH_FAIL_AFTER=0``), so
  a RUNNING parent cannot be made in moto.
* **botocore Stubber** where moto cannot answer: node jobs ``JOB_ID#N`` (moto never creates them, see
  verified-facts.md), a RUNNING parent, a FAILED child node, a retried attempt. The responses follow
  the documented shapes (Batch API reference: ``JobDetail`` with ``nodeProperties`` on the parent and
  ``nodeDetails`` {nodeIndex, isMainNode} on a node job) and botocore validates them against its model.
  A Stubber fails the test on any call it was not told to expect, so "no AWS call" is asserted too.

The events are the documented "Batch Job State Change" shape (Batch user guide, "Job state change
events"), with the node-job fields a ``DescribeJobs`` of ``JOB_ID#N`` returns.

The handler is loaded from its file, as Lambda loads it (a top-level module ``index``), not through the
``constructs_lib`` package: it must run with the standard library and boto3 alone.
"""

from __future__ import annotations

import copy
import importlib.util
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from tests.helpers.moto_batch import MOTO_BATCH_CONFIG, create_queue, register_mnp_definition

REGION = "us-east-1"
ACCOUNT = "123456789012"
QUEUE_NAME = "mnp-queue"
QUEUE_ARN = f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/{QUEUE_NAME}"
PARENT = "4c7599ae-0a82-49aa-ba5a-4727fcce14a8"
#: 2026-11-24T15:00:00Z in Batch's epoch milliseconds.
T0 = 1_795_532_400_000
MINUTE = 60_000

_HANDLER_FILE = Path(__file__).resolve().parents[4] / "constructs_lib" / "lambda_src" / "watchdog" / "index.py"


def _load_handler() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mnp_watchdog_index", _HANDLER_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


index = _load_handler()


# --- fixtures and builders ---------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Dummy credentials and a fixed Region; nothing from a developer's ~/.aws leaks in."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_BATCH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.delenv("MOTO_SIMPLE_BATCH_FAIL_AFTER", raising=False)


class LenientStubber(Stubber):
    """botocore's Stubber, except that a DescribeJobs job without ``startedAt`` is accepted.

    botocore's model marks ``JobDetail.startedAt`` required, yet AWS omits it for a job that has not
    started (e.g. a parent back in RUNNABLE for a retry); everything else is still validated.
    """

    def _validate_operation_response(self, operation_name: str, service_response: Any) -> None:
        if operation_name == "DescribeJobs":
            service_response = copy.deepcopy(service_response)
            for job in service_response.get("jobs", []):
                job.setdefault("startedAt", 0)
        super()._validate_operation_response(operation_name, service_response)


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, LenientStubber]]:
    """A real Batch client with an active Stubber; the test fails if a queued response is left over."""
    client = boto3.client("batch", region_name=REGION)
    stubber = LenientStubber(client)
    with stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def parent_job(
    status: str = "RUNNING",
    *,
    num_nodes: int = 4,
    main_node: int = 0,
    started: int | None = T0,
    attempts: list[dict[str, Any]] | None = None,
    queue: str = QUEUE_ARN,
    job_id: str = PARENT,
) -> dict[str, Any]:
    """A DescribeJobs ``JobDetail`` of an MNP parent job (documented shape, ``nodeProperties``)."""
    detail: dict[str, Any] = {
        "jobArn": f"arn:aws:batch:{REGION}:{ACCOUNT}:job/{job_id}",
        "jobName": "train",
        "jobId": job_id,
        "jobQueue": queue,
        "status": status,
        "attempts": attempts or [],
        "createdAt": T0 - MINUTE,
        "jobDefinition": f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/train:3",
        "nodeProperties": {
            "numNodes": num_nodes,
            "mainNode": main_node,
            "nodeRangeProperties": [{"targetNodes": "0:", "container": {"image": "busybox"}}],
        },
    }
    if started is not None:
        detail["startedAt"] = started
    return detail


def node_job(
    index_: int,
    status: str,
    *,
    main: bool = False,
    stopped: int | None = None,
    reason: str | None = None,
    exit_code: int | None = None,
    parent: str = PARENT,
) -> dict[str, Any]:
    """A DescribeJobs ``JobDetail`` of node job ``PARENT#N`` (documented shape, ``nodeDetails``)."""
    detail: dict[str, Any] = {
        "jobArn": f"arn:aws:batch:{REGION}:{ACCOUNT}:job/{parent}#{index_}",
        "jobName": "train",
        "jobId": f"{parent}#{index_}",
        "jobQueue": QUEUE_ARN,
        "status": status,
        "startedAt": T0 + MINUTE,
        "createdAt": T0 - MINUTE,
        "jobDefinition": f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/train:3",
        "nodeDetails": {"nodeIndex": index_, "isMainNode": main},
    }
    if stopped is not None:
        detail["stoppedAt"] = stopped
    if reason is not None:
        detail["statusReason"] = reason
    if exit_code is not None:
        detail["container"] = {"exitCode": exit_code}
    if status in {"FAILED", "SUCCEEDED"}:
        detail["attempts"] = [{"startedAt": T0 + MINUTE, "stoppedAt": stopped or T0 + 2 * MINUTE}]
    return detail


def state_change_event(detail: dict[str, Any]) -> dict[str, Any]:
    """The documented EventBridge envelope of a "Batch Job State Change" event around ``detail``."""
    return {
        "version": "0",
        "id": "c8f9c4b5-76e5-d76a-f980-7011e206042b",
        "detail-type": "Batch Job State Change",
        "source": "aws.batch",
        "account": ACCOUNT,
        "time": "2026-11-24T15:10:00Z",
        "region": REGION,
        "resources": [detail["jobArn"]],
        "detail": detail,
    }


def logged(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """The JSON decision lines the handler printed (every stdout line must be one)."""
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]
    assert all(record["watchdog"] == "decision" for record in records)
    return records


def describe(*jobs: dict[str, Any]) -> dict[str, Any]:
    return {"jobs": list(jobs)}


def expect_main_node(
    stubber: LenientStubber, status: str | None, *, parent: str = PARENT, index_: int = 0, stopped: int | None = None
) -> None:
    """Queue the DescribeJobs of main node ``parent#index_`` that the handler makes just before TerminateJob.

    The response is a documented ``JobDetail`` of a node job (``nodeDetails.isMainNode: true``);
    ``status=None`` returns no job for that ID (DescribeJobs leaves unknown IDs out).
    """
    jobs = [] if status is None else [node_job(index_, status, main=True, stopped=stopped, parent=parent)]
    stubber.add_response("describe_jobs", describe(*jobs), {"jobs": [f"{parent}#{index_}"]})


# --- event path: Stubber (node jobs) -------------------------------------------------------------------


def test_child_failure_terminates_parent_with_reason_naming_the_node(
    stubbed: tuple[Any, LenientStubber], capsys: pytest.CaptureFixture[str]
) -> None:
    """Stubber: child node 2 FAILED while the parent RUNS -> TerminateJob(parent) naming node 2."""
    client, stubber = stubbed
    failed = node_job(2, "FAILED", stopped=T0 + 5 * MINUTE, reason="Essential container in task exited", exit_code=137)
    stubber.add_response("describe_jobs", describe(parent_job(), failed), {"jobs": [PARENT, f"{PARENT}#2"]})
    expected_reason = (
        f"mnp-watchdog: child node 2 ({PARENT}#2) FAILED (exit code 137): Essential container in task exited"
    )
    expect_main_node(stubber, "RUNNING")
    stubber.add_response("terminate_job", {}, {"jobId": PARENT, "reason": expected_reason})

    result = index.handle(state_change_event(failed), batch=client, job_queue=QUEUE_ARN)

    (decision,) = result["decisions"]
    assert decision["decision"] == "terminate"
    assert decision["node_index"] == 2
    assert decision["reason"] == expected_reason
    assert logged(capsys) == [{"watchdog": "decision", **decision}]


def test_main_node_failure_is_left_to_batch_without_any_call(
    stubbed: tuple[Any, LenientStubber], capsys: pytest.CaptureFixture[str]
) -> None:
    """Stubber (no responses queued, so any AWS call fails the test): the event says isMainNode."""
    client, _ = stubbed
    event = state_change_event(node_job(0, "FAILED", main=True, stopped=T0 + 5 * MINUTE))

    result = index.handle(event, batch=client, job_queue=QUEUE_ARN)

    assert [d["code"] for d in result["decisions"]] == ["main_node_left_to_batch"]
    assert logged(capsys)[0]["decision"] == "skip"


def test_main_node_found_from_parent_when_event_lacks_node_details(stubbed: tuple[Any, LenientStubber]) -> None:
    """Stubber: no ``nodeDetails`` in the event; the parent's ``mainNode`` (2) identifies the main node."""
    client, stubber = stubbed
    node = node_job(2, "FAILED", stopped=T0 + 5 * MINUTE)
    del node["nodeDetails"]
    stubber.add_response("describe_jobs", describe(parent_job(main_node=2), node), {"jobs": [PARENT, f"{PARENT}#2"]})

    result = index.handle(state_change_event(node), batch=client, job_queue=QUEUE_ARN)

    assert [d["code"] for d in result["decisions"]] == ["main_node_left_to_batch"]


def test_child_success_does_nothing(stubbed: tuple[Any, LenientStubber]) -> None:
    """Stubber (no responses queued): a SUCCEEDED child is no reason to look anything up."""
    client, _ = stubbed
    event = state_change_event(node_job(3, "SUCCEEDED", stopped=T0 + 5 * MINUTE))

    result = index.handle(event, batch=client, job_queue=QUEUE_ARN)

    assert [(d["decision"], d["code"]) for d in result["decisions"]] == [("skip", "node_not_failed")]


def test_retried_job_is_not_terminated_for_the_earlier_attempts_failure(
    stubbed: tuple[Any, LenientStubber],
) -> None:
    """Stubber: a late event for node 1's failure in attempt 1; the job now runs attempt 2 and node 1 RUNS."""
    client, stubber = stubbed
    old_failure = node_job(1, "FAILED", stopped=T0 + 5 * MINUTE, reason="Essential container in task exited")
    first_attempt = [{"startedAt": T0, "stoppedAt": T0 + 6 * MINUTE, "statusReason": "main node exited 1"}]
    parent_now = parent_job(started=T0 + 8 * MINUTE, attempts=first_attempt)
    node_now = node_job(1, "RUNNING")
    stubber.add_response("describe_jobs", describe(parent_now, node_now), {"jobs": [PARENT, f"{PARENT}#1"]})

    result = index.handle(state_change_event(old_failure), batch=client, job_queue=QUEUE_ARN)

    assert [d["code"] for d in result["decisions"]] == ["node_not_failed"]


@pytest.mark.parametrize(
    "parent_started", [T0, T0 + 8 * MINUTE], ids=["startedAt-of-attempt-1", "startedAt-of-attempt-2"]
)
def test_node_still_showing_earlier_attempts_failure_is_not_terminated(
    stubbed: tuple[Any, LenientStubber], parent_started: int
) -> None:
    """Stubber: attempt 2 RUNS but node 1 still shows attempt 1's FAILED (stopped before attempt 1 ended).

    Caught by the parent's finished attempt alone, whether or not Batch moves the parent's ``startedAt``
    to the new attempt (the docs do not say).
    """
    client, stubber = stubbed
    old_failure = node_job(1, "FAILED", stopped=T0 + 5 * MINUTE)
    first_attempt = [{"startedAt": T0, "stoppedAt": T0 + 6 * MINUTE}]
    parent_now = parent_job(started=parent_started, attempts=first_attempt)
    stubber.add_response("describe_jobs", describe(parent_now, old_failure), {"jobs": [PARENT, f"{PARENT}#1"]})

    result = index.handle(state_change_event(old_failure), batch=client, job_queue=QUEUE_ARN)

    assert [d["code"] for d in result["decisions"]] == ["failure_from_earlier_attempt"]


def test_node_stopped_just_after_the_main_node_of_attempt_1_is_not_terminated(
    stubbed: tuple[Any, LenientStubber],
) -> None:
    """Stubber: Batch stopped node 1 after attempt 1's main node exited; it stopped before attempt 2 started."""
    client, stubber = stubbed
    stopped_by_batch = node_job(1, "FAILED", stopped=T0 + 6 * MINUTE + 500)
    parent_now = parent_job(started=T0 + 8 * MINUTE, attempts=[{"startedAt": T0, "stoppedAt": T0 + 6 * MINUTE}])
    stubber.add_response("describe_jobs", describe(parent_now, stopped_by_batch), {"jobs": [PARENT, f"{PARENT}#1"]})

    result = index.handle(state_change_event(stopped_by_batch), batch=client, job_queue=QUEUE_ARN)

    assert [d["code"] for d in result["decisions"]] == ["failure_from_earlier_attempt"]


def test_child_failure_in_the_current_attempt_of_a_retried_job_terminates(
    stubbed: tuple[Any, LenientStubber],
) -> None:
    """Stubber: attempt 2 started at T0+8m, node 3 failed at T0+12m: that is this attempt's failure."""
    client, stubber = stubbed
    failed = node_job(3, "FAILED", stopped=T0 + 12 * MINUTE, reason="OutOfMemoryError: Container killed")
    parent_now = parent_job(started=T0 + 8 * MINUTE, attempts=[{"startedAt": T0, "stoppedAt": T0 + 6 * MINUTE}])
    stubber.add_response("describe_jobs", describe(parent_now, failed), {"jobs": [PARENT, f"{PARENT}#3"]})
    expect_main_node(stubber, "RUNNING")
    stubber.add_response(
        "terminate_job",
        {},
        {
            "jobId": PARENT,
            "reason": f"mnp-watchdog: child node 3 ({PARENT}#3) FAILED: OutOfMemoryError: Container killed",
        },
    )

    result = index.handle(state_change_event(failed), batch=client, job_queue=QUEUE_ARN)

    assert [d["decision"] for d in result["decisions"]] == ["terminate"]


@pytest.mark.parametrize("parent_status", ["RUNNABLE", "STARTING", "PENDING"])
def test_parent_between_attempts_is_not_terminated(stubbed: tuple[Any, LenientStubber], parent_status: str) -> None:
    """Stubber: a retried parent back in RUNNABLE/STARTING (children not launched) is left alone."""
    client, stubber = stubbed
    failed = node_job(1, "FAILED", stopped=T0 + 5 * MINUTE)
    parent_now = parent_job(parent_status, started=None, attempts=[{"startedAt": T0, "stoppedAt": T0 + 6 * MINUTE}])
    stubber.add_response("describe_jobs", describe(parent_now, failed), {"jobs": [PARENT, f"{PARENT}#1"]})

    result = index.handle(state_change_event(failed), batch=client, job_queue=QUEUE_ARN)

    (decision,) = result["decisions"]
    assert (decision["code"], decision["parent_status"]) == ("parent_not_running", parent_status)


def test_job_of_another_queue_is_not_terminated(stubbed: tuple[Any, LenientStubber]) -> None:
    """Stubber: the parent runs in another queue than the one this watchdog watches."""
    client, stubber = stubbed
    failed = node_job(1, "FAILED", stopped=T0 + 5 * MINUTE)
    other = parent_job(queue=f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/other")
    stubber.add_response("describe_jobs", describe(other, failed), {"jobs": [PARENT, f"{PARENT}#1"]})

    result = index.handle(state_change_event(failed), batch=client, job_queue=QUEUE_ARN)

    assert [d["code"] for d in result["decisions"]] == ["other_queue"]


def test_queue_name_instead_of_an_arn_is_rejected(stubbed: tuple[Any, LenientStubber]) -> None:
    """Stubber (no responses queued): JOB_QUEUE must be the queue's ARN; a bare name is refused, no AWS call."""
    client, _ = stubbed
    failed = node_job(1, "FAILED", stopped=T0 + 5 * MINUTE, reason="x")

    (decision,) = index.handle(state_change_event(failed), batch=client, job_queue=QUEUE_NAME)["decisions"]

    assert (decision["decision"], decision["code"]) == ("rejected", "bad_input")
    assert "not a job queue ARN" in decision["message"] and "Fix:" in decision["message"]


@pytest.mark.parametrize(
    "queue",
    [
        f"arn:aws:batch:{REGION}:210987654321:job-queue/{QUEUE_NAME}",
        f"arn:aws:batch:eu-west-1:{ACCOUNT}:job-queue/{QUEUE_NAME}",
    ],
    ids=["other-account", "other-region"],
)
def test_queue_of_the_same_name_elsewhere_is_another_queue(stubbed: tuple[Any, LenientStubber], queue: str) -> None:
    """Stubber: the parent's queue has the watched queue's name but another account or Region: no terminate."""
    client, stubber = stubbed
    failed = node_job(1, "FAILED", stopped=T0 + 5 * MINUTE)
    stubber.add_response("describe_jobs", describe(parent_job(queue=queue), failed), {"jobs": [PARENT, f"{PARENT}#1"]})

    (decision,) = index.handle(state_change_event(failed), batch=client, job_queue=QUEUE_ARN)["decisions"]

    assert (decision["code"], decision["job_queue"]) == ("other_queue", queue)


def test_long_status_reason_is_cut_to_terminatejobs_1024_characters(stubbed: tuple[Any, LenientStubber]) -> None:
    """Stubber: TerminateJob's reason "has a limit of 1024 characters" (API reference)."""
    client, stubber = stubbed
    failed = node_job(1, "FAILED", stopped=T0 + 5 * MINUTE, reason="E" * 3000)
    stubber.add_response("describe_jobs", describe(parent_job(), failed), {"jobs": [PARENT, f"{PARENT}#1"]})
    expect_main_node(stubber, "RUNNING")
    prefix = f"mnp-watchdog: child node 1 ({PARENT}#1) FAILED: "
    stubber.add_response("terminate_job", {}, {"jobId": PARENT, "reason": prefix + "E" * (1021 - len(prefix)) + "..."})

    (decision,) = index.handle(state_change_event(failed), batch=client, job_queue=QUEUE_ARN)["decisions"]

    assert len(decision["reason"]) == index.MAX_REASON_LENGTH


def test_node_job_that_cannot_be_described_is_skipped(stubbed: tuple[Any, LenientStubber]) -> None:
    """Stubber: DescribeJobs returns the parent but not the node: nothing is terminated on the event's word."""
    client, stubber = stubbed
    failed = node_job(1, "FAILED", stopped=T0 + 5 * MINUTE)
    stubber.add_response("describe_jobs", describe(parent_job()), {"jobs": [PARENT, f"{PARENT}#1"]})

    result = index.handle(state_change_event(failed), batch=client, job_queue=QUEUE_ARN)

    assert [d["code"] for d in result["decisions"]] == ["node_not_found"]


def test_aws_error_is_logged_as_one_line_and_raised(
    stubbed: tuple[Any, LenientStubber], capsys: pytest.CaptureFixture[str]
) -> None:
    """Stubber: a throttled DescribeJobs fails the invocation (so Lambda retries) after one log line."""
    client, stubber = stubbed
    stubber.add_client_error("describe_jobs", service_error_code="TooManyRequestsException", http_status_code=429)

    with pytest.raises(ClientError):
        index.handle(state_change_event(node_job(1, "FAILED", stopped=T0)), batch=client, job_queue=QUEUE_ARN)

    (record,) = logged(capsys)
    assert (record["decision"], record["code"]) == ("error", "aws_api_error")
    assert "TooManyRequestsException" in record["message"]


def test_unexpected_error_is_logged_as_such_and_raised(capsys: pytest.CaptureFixture[str]) -> None:
    """No AWS: a client double whose DescribeJobs raises a non-botocore error (a bug, not AWS)."""

    class Broken:
        def describe_jobs(self, **_: Any) -> dict[str, Any]:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        index.handle(state_change_event(node_job(1, "FAILED", stopped=T0)), batch=Broken(), job_queue=QUEUE_ARN)

    assert [(r["decision"], r["code"]) for r in logged(capsys)] == [("error", "unexpected_error")]


# --- main node ended while the parent still reads RUNNING: Stubber ------------------------------------------
#
# "If the main node exits, the job is considered finished, and all of the child nodes are stopped" (Batch
# user guide, "Job lifecycle for MNP jobs"). Until the parent's status catches up, a child that Batch
# stopped can read FAILED under a RUNNING parent; the handler describes the main node before terminating.


def _main_node_exited_then_child_stopped() -> tuple[dict[str, Any], dict[str, Any]]:
    """The window: the parent still RUNNING, child 1 FAILED two seconds after the main node stopped."""
    return parent_job(), node_job(1, "FAILED", stopped=T0 + 10 * MINUTE + 2_000)


@pytest.mark.parametrize("main_status", ["SUCCEEDED", "FAILED"])
def test_child_stopped_after_the_main_node_ended_does_not_terminate(
    stubbed: tuple[Any, LenientStubber], capsys: pytest.CaptureFixture[str], main_status: str
) -> None:
    """Stubber: main node #0 has ended, child #1 FAILED, parent still RUNNING -> no TerminateJob.

    No terminate_job response is queued: a TerminateJob call would make the Stubber raise.
    """
    client, stubber = stubbed
    parent, child = _main_node_exited_then_child_stopped()
    stubber.add_response("describe_jobs", describe(parent, child), {"jobs": [PARENT, f"{PARENT}#1"]})
    expect_main_node(stubber, main_status, stopped=T0 + 10 * MINUTE)

    result = index.handle(state_change_event(child), batch=client, job_queue=QUEUE_ARN)

    (decision,) = result["decisions"]
    assert (decision["decision"], decision["code"]) == ("skip", "main_node_ended")
    assert (decision["main_node_job_id"], decision["main_node_status"]) == (f"{PARENT}#0", main_status)
    assert decision["node_job_id"] == f"{PARENT}#1"
    assert logged(capsys) == [{"watchdog": "decision", **decision}]


@pytest.mark.parametrize("main_status", ["RUNNING", "STARTING"])
def test_child_failure_while_the_main_node_runs_terminates(
    stubbed: tuple[Any, LenientStubber], main_status: str
) -> None:
    """Stubber: main node #0 not ended (RUNNING or STARTING), child #1 FAILED -> TerminateJob(parent)."""
    client, stubber = stubbed
    parent, child = _main_node_exited_then_child_stopped()
    stubber.add_response("describe_jobs", describe(parent, child), {"jobs": [PARENT, f"{PARENT}#1"]})
    expect_main_node(stubber, main_status)
    stubber.add_response(
        "terminate_job",
        {},
        {"jobId": PARENT, "reason": f"mnp-watchdog: child node 1 ({PARENT}#1) FAILED: no status reason"},
    )

    result = index.handle(state_change_event(child), batch=client, job_queue=QUEUE_ARN)

    assert [(d["decision"], d["code"]) for d in result["decisions"]] == [("terminate", "child_failed")]


def test_main_node_id_comes_from_the_parents_node_properties(stubbed: tuple[Any, LenientStubber]) -> None:
    """Stubber: ``nodeProperties.mainNode`` is 2, so ``PARENT#2`` is described (not ``#0``); it SUCCEEDED."""
    client, stubber = stubbed
    child = node_job(0, "FAILED", stopped=T0 + 10 * MINUTE + 2_000)
    stubber.add_response("describe_jobs", describe(parent_job(main_node=2), child), {"jobs": [PARENT, f"{PARENT}#0"]})
    expect_main_node(stubber, "SUCCEEDED", index_=2, stopped=T0 + 10 * MINUTE)

    (decision,) = index.handle(state_change_event(child), batch=client, job_queue=QUEUE_ARN)["decisions"]

    assert (decision["code"], decision["main_node_job_id"]) == ("main_node_ended", f"{PARENT}#2")


def test_main_node_that_cannot_be_described_does_not_terminate(stubbed: tuple[Any, LenientStubber]) -> None:
    """Stubber: DescribeJobs of ``PARENT#0`` returns no job: nothing is terminated on a guess."""
    client, stubber = stubbed
    parent, child = _main_node_exited_then_child_stopped()
    stubber.add_response("describe_jobs", describe(parent, child), {"jobs": [PARENT, f"{PARENT}#1"]})
    expect_main_node(stubber, None)

    (decision,) = index.handle(state_change_event(child), batch=client, job_queue=QUEUE_ARN)["decisions"]

    assert (decision["decision"], decision["code"]) == ("skip", "main_node_unknown")
    assert (decision["main_node_job_id"], decision["main_node_status"]) == (f"{PARENT}#0", None)


def test_main_node_waiting_for_a_new_attempt_does_not_terminate(stubbed: tuple[Any, LenientStubber]) -> None:
    """Stubber: main node RUNNABLE (not ended, not started): its children are not launched yet."""
    client, stubber = stubbed
    parent, child = _main_node_exited_then_child_stopped()
    stubber.add_response("describe_jobs", describe(parent, child), {"jobs": [PARENT, f"{PARENT}#1"]})
    expect_main_node(stubber, "RUNNABLE")

    (decision,) = index.handle(state_change_event(child), batch=client, job_queue=QUEUE_ARN)["decisions"]

    assert (decision["code"], decision["main_node_status"]) == ("main_node_not_running", "RUNNABLE")


def test_main_node_lookup_error_is_raised_without_terminating(
    stubbed: tuple[Any, LenientStubber], capsys: pytest.CaptureFixture[str]
) -> None:
    """Stubber: a throttled DescribeJobs of the main node fails the invocation (Lambda retries); no TerminateJob."""
    client, stubber = stubbed
    parent, child = _main_node_exited_then_child_stopped()
    stubber.add_response("describe_jobs", describe(parent, child), {"jobs": [PARENT, f"{PARENT}#1"]})
    stubber.add_client_error(
        "describe_jobs",
        service_error_code="TooManyRequestsException",
        http_status_code=429,
        expected_params={"jobs": [f"{PARENT}#0"]},
    )

    with pytest.raises(ClientError):
        index.handle(state_change_event(child), batch=client, job_queue=QUEUE_ARN)

    assert [(r["decision"], r["code"]) for r in logged(capsys)] == [("error", "aws_api_error")]


def test_parent_without_main_node_index_does_not_terminate(capsys: pytest.CaptureFixture[str]) -> None:
    """No AWS: a client double, because botocore's model requires ``nodeProperties.mainNode`` and the
    Stubber would reject this response; the handler must still not terminate when the field is absent.
    """
    parent, child = _main_node_exited_then_child_stopped()
    del parent["nodeProperties"]["mainNode"]

    class Double:
        def __init__(self) -> None:
            self.calls: list[str] = []

        def describe_jobs(self, *, jobs: list[str]) -> dict[str, Any]:
            self.calls.append("describe_jobs")
            return describe(*[job for job in (parent, child) if job["jobId"] in jobs])

        def terminate_job(self, **_: Any) -> dict[str, Any]:
            self.calls.append("terminate_job")
            return {}

    double = Double()
    (decision,) = index.handle(state_change_event(child), batch=double, job_queue=QUEUE_ARN)["decisions"]

    assert (decision["code"], decision["main_node_job_id"]) == ("main_node_unknown", None)
    assert double.calls == ["describe_jobs"]
    assert logged(capsys)[0]["code"] == "main_node_unknown"


# --- malformed input: no AWS call -------------------------------------------------------------------------


def _event_without(*path: str) -> dict[str, Any]:
    event = state_change_event(node_job(1, "FAILED", stopped=T0))
    target: dict[str, Any] = event
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return event


def _event_with_job_id(job_id: str) -> dict[str, Any]:
    event = state_change_event(node_job(1, "FAILED", stopped=T0))
    event["detail"]["jobId"] = job_id
    return event


@pytest.mark.parametrize(
    ("event", "names"),
    [
        (None, "event:"),
        (["not", "an", "object"], "event:"),
        ({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}, "detail-type"),
        (_event_without("detail"), "event.detail:"),
        (_event_without("detail", "jobId"), "event.detail.jobId:"),
        (_event_without("detail", "status"), "event.detail.status:"),
        (_event_with_job_id(PARENT), "is not a node job"),
        (_event_with_job_id(f"{PARENT}#one"), "does not end in '#<node index>'"),
        (_event_with_job_id("#3"), "does not end in '#<node index>'"),
    ],
    ids=[
        "none",
        "list",
        "scheduled-event",
        "no-detail",
        "no-jobId",
        "no-status",
        "parent-job",
        "bad-index",
        "no-parent",
    ],
)
def test_malformed_event_is_rejected_with_the_field_and_the_fix(
    stubbed: tuple[Any, LenientStubber], capsys: pytest.CaptureFixture[str], event: Any, names: str
) -> None:
    """Stubber (no responses queued): bad input makes no AWS call, raises nothing, logs what to fix."""
    client, _ = stubbed

    result = index.handle(event, batch=client, job_queue=QUEUE_ARN)

    (decision,) = result["decisions"]
    assert (decision["decision"], decision["code"]) == ("rejected", "bad_input")
    assert names in decision["message"]
    assert "Fix:" in decision["message"]
    assert logged(capsys) == [{"watchdog": "decision", **decision}]


def test_missing_job_queue_setting_is_rejected(stubbed: tuple[Any, LenientStubber]) -> None:
    """Stubber (no responses queued): without JOB_QUEUE the function cannot tell whose jobs to touch."""
    client, _ = stubbed

    (decision,) = index.handle(index.SWEEP_INPUT, batch=client, job_queue="")["decisions"]

    assert decision["decision"] == "rejected"
    assert "JOB_QUEUE" in decision["message"]


# --- sweep path: Stubber (node jobs) ----------------------------------------------------------------------
#
# The sweep lists the RUNNING jobs of the queue, describes them, and for each RUNNING MNP parent lists its
# FAILED nodes (ListJobs multiNodeJobId + jobStatus FAILED) and describes only those. Its order rotates
# with the minute; AT_T0 is a clock at T0 (a minute whose turn is 0 for two or three parents).

AT_T0 = (T0 // 1000) - ((T0 // 1000) % 360)  # a whole multiple of 6 minutes: turn 0 for 1, 2 or 3 parents


def at(epoch_s: float) -> Any:
    return lambda: float(epoch_s)


def _summary(job_id: str, status: str = "RUNNING") -> dict[str, Any]:
    return {"jobId": job_id, "jobName": "train", "status": status}


def expect_failed_nodes(stubber: LenientStubber, parent: str, *indexes: int) -> None:
    """Queue ListJobs(multiNodeJobId=parent, jobStatus=FAILED) answering with nodes ``parent#i``."""
    stubber.add_response(
        "list_jobs",
        {"jobSummaryList": [_summary(f"{parent}#{i}", "FAILED") for i in indexes]},
        {"multiNodeJobId": parent, "jobStatus": "FAILED"},
    )


def test_sweep_terminates_only_the_job_with_a_failed_child(
    stubbed: tuple[Any, LenientStubber], capsys: pytest.CaptureFixture[str]
) -> None:
    """Stubber: three RUNNING jobs; the MNP job with FAILED nodes 3 and 1 is terminated, naming node 1."""
    client, stubber = stubbed
    sick, healthy, single = "sick-job", "healthy-job", "single-job"
    container_job = {**parent_job(job_id=single)}
    del container_job["nodeProperties"]
    stubber.add_response(
        "list_jobs",
        {"jobSummaryList": [_summary(sick), _summary(healthy), _summary(single)]},
        {"jobQueue": QUEUE_ARN, "jobStatus": "RUNNING"},
    )
    stubber.add_response(
        "describe_jobs",
        describe(parent_job(job_id=sick), parent_job(job_id=healthy, num_nodes=2), container_job),
        {"jobs": [sick, healthy, single]},
    )
    # DescribeJobs does not promise any order: node 3 comes back first, yet node 1 is the one named.
    expect_failed_nodes(stubber, sick, 3, 1)
    sick_nodes = [
        node_job(3, "FAILED", stopped=T0 + 4 * MINUTE, reason="exit 1", parent=sick),
        node_job(1, "FAILED", stopped=T0 + 3 * MINUTE, reason="Host EC2 (instance i-0abc) terminated.", parent=sick),
    ]
    stubber.add_response("describe_jobs", describe(*sick_nodes), {"jobs": [f"{sick}#3", f"{sick}#1"]})
    expect_main_node(stubber, "RUNNING", parent=sick)
    stubber.add_response(
        "terminate_job",
        {},
        {
            "jobId": sick,
            "reason": f"mnp-watchdog: child node 1 ({sick}#1) FAILED (+1 more failed node): "
            "Host EC2 (instance i-0abc) terminated.",
        },
    )
    expect_failed_nodes(stubber, healthy)

    result = index.handle(index.SWEEP_INPUT, batch=client, job_queue=QUEUE_ARN, clock=at(AT_T0))

    assert [(d["decision"], d.get("parent_job_id"), d.get("code")) for d in result["decisions"]] == [
        ("terminate", sick, "child_failed"),
        ("skip", healthy, "no_failed_child"),
        ("sweep_done", None, None),
    ]
    assert len(logged(capsys)) == 3


def test_sweep_pages_through_failed_nodes_and_describes_them_in_batches_of_100(
    stubbed: tuple[Any, LenientStubber],
) -> None:
    """Stubber: 150 FAILED nodes come in two ListJobs pages and are described as 100 + 50 IDs."""
    client, stubber = stubbed
    stubber.add_response(
        "list_jobs", {"jobSummaryList": [_summary(PARENT)]}, {"jobQueue": QUEUE_ARN, "jobStatus": "RUNNING"}
    )
    stubber.add_response("describe_jobs", describe(parent_job(num_nodes=150)), {"jobs": [PARENT]})
    ids = [f"{PARENT}#{i}" for i in range(1, 151)]
    stubber.add_response(
        "list_jobs",
        {"jobSummaryList": [_summary(i, "FAILED") for i in ids[:100]], "nextToken": "page-2"},
        {"multiNodeJobId": PARENT, "jobStatus": "FAILED"},
    )
    stubber.add_response(
        "list_jobs",
        {"jobSummaryList": [_summary(i, "FAILED") for i in ids[100:]]},
        {"multiNodeJobId": PARENT, "jobStatus": "FAILED", "nextToken": "page-2"},
    )
    nodes = [node_job(i, "FAILED", stopped=T0 + 5 * MINUTE) for i in range(1, 151)]
    stubber.add_response("describe_jobs", describe(*nodes[:100]), {"jobs": ids[:100]})
    stubber.add_response("describe_jobs", describe(*nodes[100:]), {"jobs": ids[100:]})
    expect_main_node(stubber, "SUCCEEDED", stopped=T0 + 5 * MINUTE)

    result = index.handle(index.SWEEP_INPUT, batch=client, job_queue=QUEUE_ARN, clock=at(AT_T0))

    assert [(d["decision"], d.get("code"), d.get("failed_nodes")) for d in result["decisions"]] == [
        ("skip", "main_node_ended", 150),
        ("sweep_done", None, None),
    ]


def test_sweep_ignores_a_failed_main_node_and_skips_node_lookups_for_ended_parents(
    stubbed: tuple[Any, LenientStubber],
) -> None:
    """Stubber: main node FAILED (Batch's business); a parent that ended meanwhile gets no node lookups."""
    client, stubber = stubbed
    ended = "ended-job"
    stubber.add_response(
        "list_jobs",
        {"jobSummaryList": [_summary(PARENT), _summary(ended)]},
        {"jobQueue": QUEUE_ARN, "jobStatus": "RUNNING"},
    )
    stubber.add_response(
        "describe_jobs",
        describe(parent_job(num_nodes=2), parent_job("FAILED", job_id=ended)),
        {"jobs": [PARENT, ended]},
    )
    expect_failed_nodes(stubber, PARENT, 0)
    stubber.add_response(
        "describe_jobs", describe(node_job(0, "FAILED", main=True, stopped=T0 + 2 * MINUTE)), {"jobs": [f"{PARENT}#0"]}
    )

    result = index.handle(index.SWEEP_INPUT, batch=client, job_queue=QUEUE_ARN, clock=at(AT_T0))

    assert [d.get("code") for d in result["decisions"]] == ["no_failed_child", "parent_already_ended", None]
    assert result["decisions"][0]["nodes_skipped"][0]["code"] == "main_node_left_to_batch"


def test_sweep_terminates_only_while_the_main_node_runs(stubbed: tuple[Any, LenientStubber]) -> None:
    """Stubber: three RUNNING parents, each with FAILED child #1; only the one whose main node RUNS is terminated.

    ``ended``: main node #0 SUCCEEDED; ``unknown``: the main node is not returned by DescribeJobs; ``live``:
    RUNNING. No terminate_job response is queued for ``ended`` or ``unknown``: such a call would make the
    Stubber raise.
    """
    client, stubber = stubbed
    ended, unknown, live = "ended-main", "unknown-main", "live-main"
    stubber.add_response(
        "list_jobs",
        {"jobSummaryList": [_summary(ended), _summary(unknown), _summary(live)]},
        {"jobQueue": QUEUE_ARN, "jobStatus": "RUNNING"},
    )
    stubber.add_response(
        "describe_jobs",
        describe(*(parent_job(job_id=j, num_nodes=2) for j in (ended, unknown, live))),
        {"jobs": [ended, unknown, live]},
    )
    main_stop = T0 + 10 * MINUTE
    for job, main_now in ((ended, "SUCCEEDED"), (unknown, None), (live, "RUNNING")):
        expect_failed_nodes(stubber, job, 1)
        child = node_job(1, "FAILED", stopped=main_stop + 2_000, reason="boom", parent=job)
        stubber.add_response("describe_jobs", describe(child), {"jobs": [f"{job}#1"]})
        expect_main_node(stubber, main_now, parent=job, stopped=main_stop if main_now == "SUCCEEDED" else None)
    stubber.add_response(
        "terminate_job", {}, {"jobId": live, "reason": f"mnp-watchdog: child node 1 ({live}#1) FAILED: boom"}
    )

    result = index.handle(index.SWEEP_INPUT, batch=client, job_queue=QUEUE_ARN, clock=at(AT_T0))

    assert [(d["decision"], d.get("parent_job_id"), d.get("code")) for d in result["decisions"]] == [
        ("skip", ended, "main_node_ended"),
        ("skip", unknown, "main_node_unknown"),
        ("terminate", live, "child_failed"),
        ("sweep_done", None, None),
    ]
    assert result["decisions"][0]["main_node_status"] == "SUCCEEDED"
    assert result["decisions"][0]["source"] == "sweep"


def test_sweep_input_with_an_unknown_key_is_rejected(stubbed: tuple[Any, LenientStubber]) -> None:
    """Stubber (no responses queued): a sweep input with a key the schedule never sends is bad input."""
    client, _ = stubbed

    (decision,) = index.handle({"watchdog": "sweep", "queue": "x"}, batch=client, job_queue=QUEUE_ARN, clock=at(AT_T0))[
        "decisions"
    ]

    assert (decision["decision"], decision["code"]) == ("rejected", "bad_input")
    assert "unknown key" in decision["message"]


def test_sweep_input_with_a_bad_time_is_rejected(stubbed: tuple[Any, LenientStubber]) -> None:
    client, _ = stubbed

    (decision,) = index.handle(
        {"watchdog": "sweep", index.SWEEP_TIME_KEY: "yesterday"}, batch=client, job_queue=QUEUE_ARN
    )["decisions"]

    assert decision["code"] == "bad_input" and index.SWEEP_TIME_KEY in decision["message"]


# --- sweep under load: an in-memory Batch with a simulated clock ------------------------------------------
#
# No real time: every API call advances a simulated clock by ``seconds_per_call``; the sweep reads the same
# clock. Responses follow the documented shapes (as above); botocore validation is not needed to count calls.


class SimulatedBatch:
    """RUNNING MNP jobs of the watched queue; ``failed`` maps a job ID to its FAILED child node indexes."""

    def __init__(
        self, jobs: int, nodes: int, *, failed: dict[str, list[int]] | None = None, seconds_per_call: float = 0.0
    ) -> None:
        self.now = float(AT_T0)
        self.seconds_per_call = seconds_per_call
        self.parents = {f"job-{n:04d}": parent_job(job_id=f"job-{n:04d}", num_nodes=nodes) for n in range(jobs)}
        self.failed = failed or {}
        self.calls: list[tuple[str, float]] = []
        self.terminated: list[str] = []

    def clock(self) -> float:
        return self.now

    def _call(self, name: str) -> None:
        self.calls.append((name, self.now))
        self.now += self.seconds_per_call

    def list_jobs(self, **params: Any) -> dict[str, Any]:
        self._call("list_jobs")
        if "jobQueue" in params:
            ids = sorted(self.parents)
            start = int(params.get("nextToken", 0))
            page = ids[start : start + 100]
            out: dict[str, Any] = {"jobSummaryList": [_summary(i) for i in page]}
            if start + 100 < len(ids):
                out["nextToken"] = str(start + 100)
            return out
        parent = params["multiNodeJobId"]
        return {"jobSummaryList": [_summary(f"{parent}#{i}", "FAILED") for i in self.failed.get(parent, [])]}

    def describe_jobs(self, *, jobs: list[str]) -> dict[str, Any]:
        self._call("describe_jobs")
        assert len(jobs) <= 100
        out = []
        for job_id in jobs:
            parent, _, node = job_id.partition("#")
            if not node:
                out.append(self.parents[job_id])
            elif node == "0":
                out.append(node_job(0, "RUNNING", main=True, parent=parent))
            else:
                out.append(node_job(int(node), "FAILED", stopped=T0 + 5 * MINUTE, reason="boom", parent=parent))
        return {"jobs": out}

    def terminate_job(self, *, jobId: str, reason: str) -> dict[str, Any]:
        self._call("terminate_job")
        self.terminated.append(jobId)
        return {}


def test_sweep_of_300_jobs_of_1000_nodes_costs_one_call_per_healthy_job() -> None:
    """300 RUNNING 1,000-node jobs: 3 ListJobs pages + 3 DescribeJobs + 300 ListJobs of FAILED nodes = 306
    calls (describing every node cost 3 + 3 + 300 x 10 = 3,006)."""
    world = SimulatedBatch(jobs=300, nodes=1000)

    result = index.handle(index.SWEEP_INPUT, batch=world, job_queue=QUEUE_ARN, clock=world.clock)

    decisions = result["decisions"]
    assert len(world.calls) == 306
    assert [d["code"] for d in decisions[:-1]] == ["no_failed_child"] * 300
    assert decisions[-1] == {"decision": "sweep_done", "source": "sweep", "running_jobs": 300}


def test_sweep_stops_cleanly_before_the_lambda_deadline() -> None:
    """A slow Batch (2 s a call) and 60 s left: the sweep returns a sweep_stopped line, raises nothing, and
    starts no call with less than CALL_BUDGET_S left, so the invocation ends before its deadline."""
    world = SimulatedBatch(jobs=300, nodes=1000, failed={"job-0150": [7]}, seconds_per_call=2.0)
    deadline = world.now + index.CALL_BUDGET_S + 60

    result = index.handle(index.SWEEP_INPUT, batch=world, job_queue=QUEUE_ARN, deadline=deadline, clock=world.clock)

    last = result["decisions"][-1]
    assert (last["decision"], last["code"]) == ("sweep_stopped", "out_of_time")
    assert last["checked_jobs"] + last["unchecked_jobs"] == 300
    assert 0 < last["checked_jobs"] < 300
    assert max(started for _, started in world.calls) < deadline - index.CALL_BUDGET_S
    assert world.terminated == []  # job-0150 was not reached this time


def test_sweep_stops_before_the_next_scheduled_sweep() -> None:
    """Interval 5 min, scheduled at T: no call starts after T + 5 min - CALL_BUDGET_S, however long Lambda
    would still let it run."""
    world = SimulatedBatch(jobs=300, nodes=1000, seconds_per_call=2.0)
    scheduled = world.now
    event = {"watchdog": "sweep", index.SWEEP_TIME_KEY: datetime.fromtimestamp(scheduled, UTC).isoformat()}

    result = index.handle(
        event,
        batch=world,
        job_queue=QUEUE_ARN,
        deadline=scheduled + 900,
        sweep_interval_s=300,
        clock=world.clock,
    )

    assert result["decisions"][-1]["decision"] == "sweep_stopped"
    assert max(started for _, started in world.calls) < scheduled + 300 - index.CALL_BUDGET_S


def test_late_sweep_whose_window_has_passed_makes_no_call(stubbed: tuple[Any, LenientStubber]) -> None:
    """Stubber (no responses queued): a sweep scheduled 6 minutes ago with a 5-minute interval (a retry) does
    nothing: the next sweep has started."""
    client, _ = stubbed
    scheduled = float(AT_T0)
    event = {"watchdog": "sweep", index.SWEEP_TIME_KEY: datetime.fromtimestamp(scheduled, UTC).isoformat()}

    (decision,) = index.handle(
        event, batch=client, job_queue=QUEUE_ARN, sweep_interval_s=300, clock=at(scheduled + 360)
    )["decisions"]

    assert (decision["decision"], decision["code"]) == ("sweep_stopped", "window_passed")


def test_each_sweep_starts_at_another_job() -> None:
    """Three RUNNING MNP jobs: three sweeps one minute apart each check a different job first."""
    firsts = []
    for minute in range(3):
        world = SimulatedBatch(jobs=3, nodes=4)
        world.now += 60 * minute
        decisions = index.handle(index.SWEEP_INPUT, batch=world, job_queue=QUEUE_ARN, clock=world.clock)["decisions"]
        firsts.append(decisions[0]["parent_job_id"])
    assert sorted(firsts) == ["job-0000", "job-0001", "job-0002"]


def test_batch_client_has_timeouts_and_adaptive_retries() -> None:
    """The client the Lambda entry point builds (botocore Config): connect/read timeouts, adaptive retries."""
    config = index.batch_client().meta.config

    assert (config.connect_timeout, config.read_timeout) == (index.CONNECT_TIMEOUT_S, index.READ_TIMEOUT_S)
    assert config.retries == {"mode": "adaptive", "total_max_attempts": index.MAX_ATTEMPTS}
    assert index.CALL_BUDGET_S >= index.MAX_ATTEMPTS * (index.CONNECT_TIMEOUT_S + index.READ_TIMEOUT_S)


# --- moto -----------------------------------------------------------------------------------------------


@pytest.fixture
def moto_queue() -> Iterator[Any]:
    """moto with a compute environment, the queue and a 3-node multinode job definition ``train-mnp``."""
    from moto import mock_aws

    with mock_aws(config=MOTO_BATCH_CONFIG):
        create_queue(region=REGION, queue_name=QUEUE_NAME)
        register_mnp_definition(region=REGION, name="train-mnp")
        client = boto3.client("batch", region_name=REGION)
        yield client


def _submit(client: Any) -> str:
    return str(client.submit_job(jobName="train", jobQueue=QUEUE_NAME, jobDefinition="train-mnp")["jobId"])


@pytest.mark.parametrize("fail", [False, True], ids=["parent-succeeded", "parent-failed"])
def test_moto_job_already_ended_is_left_alone(moto_queue: Any, monkeypatch: pytest.MonkeyPatch, fail: bool) -> None:
    """moto: DescribeJobs of a parent that already ended; no TerminateJob, its status reason unchanged."""
    if fail:
        monkeypatch.setenv("MOTO_SIMPLE_BATCH_FAIL_AFTER", "0")
    parent = _submit(moto_queue)
    before = moto_queue.describe_jobs(jobs=[parent])["jobs"][0]
    event = state_change_event(node_job(1, "FAILED", stopped=T0, parent=parent))

    result = index.handle(event, batch=moto_queue, job_queue=QUEUE_ARN)

    (decision,) = result["decisions"]
    assert (decision["code"], decision["parent_status"]) == ("parent_already_ended", before["status"])
    after = moto_queue.describe_jobs(jobs=[parent])["jobs"][0]
    assert after["status"] == before["status"]
    assert "mnp-watchdog" not in after.get("statusReason", "")


def test_moto_event_for_an_unknown_parent_is_skipped(moto_queue: Any) -> None:
    """moto: DescribeJobs of a job ID that does not exist returns nothing; nothing is terminated."""
    event = state_change_event(node_job(1, "FAILED", stopped=T0, parent="00000000-0000-0000-0000-000000000000"))

    result = index.handle(event, batch=moto_queue, job_queue=QUEUE_ARN)

    assert [d["code"] for d in result["decisions"]] == ["parent_not_found"]


def test_moto_sweep_through_the_lambda_entry_point(moto_queue: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto: ``handler(event, context)`` builds its own client and reads JOB_QUEUE; ended jobs are not RUNNING."""
    _submit(moto_queue)
    monkeypatch.setenv(index.JOB_QUEUE_ENV, QUEUE_ARN)

    result = index.handler(dict(index.SWEEP_INPUT), None)

    assert result["decisions"] == [{"decision": "sweep_done", "source": "sweep", "running_jobs": 0}]


class LambdaContext:
    """The one method of Lambda's context object the handler uses."""

    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_moto_entry_point_takes_its_deadline_from_the_lambda_context(
    moto_queue: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto: with 10 s left (less than one call's budget) the sweep makes no call and says so; with 2 minutes
    it sweeps. SWEEP_INTERVAL_SECONDS reaches the window too (a 60 s interval leaves no room either)."""
    _submit(moto_queue)
    monkeypatch.setenv(index.JOB_QUEUE_ENV, QUEUE_ARN)

    short = index.handler(dict(index.SWEEP_INPUT), LambdaContext(10_000))["decisions"]
    enough = index.handler(dict(index.SWEEP_INPUT), LambdaContext(120_000))["decisions"]
    monkeypatch.setenv(index.SWEEP_INTERVAL_ENV, "30")
    short_interval = index.handler(dict(index.SWEEP_INPUT), LambdaContext(120_000))["decisions"]

    assert [(d["decision"], d.get("code")) for d in short] == [("sweep_stopped", "window_passed")]
    assert [d["decision"] for d in enough] == ["sweep_done"]
    assert [d.get("code") for d in short_interval] == ["window_passed"]


def test_moto_sweep_of_a_queue_that_does_not_exist_fails_loudly(
    moto_queue: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """moto: ListJobs of an unknown queue is a ClientException: logged as one line, then raised."""
    with pytest.raises(ClientError, match="does not exist"):
        index.handle(
            index.SWEEP_INPUT, batch=moto_queue, job_queue=f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/no-such-queue"
        )

    assert [r["code"] for r in logged(capsys)] == ["aws_api_error"]
