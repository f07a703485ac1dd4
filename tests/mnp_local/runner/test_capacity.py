"""Capacity: a job the compute environment cannot place stays RUNNABLE with Batch's reason, and the
queue's jobStateTimeLimitActions cancel it after maxTimeSeconds (user guide, "Jobs stuck in RUNNABLE";
API reference, JobStateTimeLimitAction, CancelJob, TerminateJob). Through plain boto3 only."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.mnp_local.runner.conftest import running_emulator
from tests.mnp_local.runner.emulator import Emulator, python_node, shell_node, wait_until

pytestmark = pytest.mark.timeout(300)

MAX_RESOURCE = "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE"
RESOURCE_REQUIREMENT = "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT"
FOREVER = shell_node("while :; do sleep 0.05; done")


def _action(reason: str, seconds: int = 600) -> dict[str, object]:
    return {"reason": reason, "state": "RUNNABLE", "maxTimeSeconds": seconds, "action": "CANCEL"}


@dataclass
class Small:
    emulator: Emulator
    compute_environment: str
    with_actions: str  # a queue that cancels both misconfigurations after 600 s (scaled)
    without_actions: str


@pytest.fixture(scope="module")
def small() -> Iterator[Small]:
    """8 vCPUs of c5.large (2 vCPUs, 4 GiB each): room for 4 nodes of a job."""
    with running_emulator() as emulator:
        compute_environment = emulator.compute_environment(max_vcpus=8, instance_types=["c5.large"])
        yield Small(
            emulator,
            compute_environment,
            emulator.queue(
                compute_environment, time_limit_actions=[_action(MAX_RESOURCE), _action(RESOURCE_REQUIREMENT)]
            ),
            emulator.queue(compute_environment),
        )


def test_the_queue_keeps_its_time_limit_actions(small: Small) -> None:
    (queue,) = small.emulator.batch.describe_job_queues(jobQueues=[small.with_actions])["jobQueues"]
    assert queue["jobStateTimeLimitActions"] == [_action(MAX_RESOURCE), _action(RESOURCE_REQUIREMENT)]
    small.emulator.batch.update_job_queue(jobQueue=small.without_actions, jobStateTimeLimitActions=[])
    (queue,) = small.emulator.batch.describe_job_queues(jobQueues=[small.without_actions])["jobQueues"]
    assert queue["jobStateTimeLimitActions"] == []


@pytest.mark.parametrize(
    ("action", "problem"),
    [
        ({"maxTimeSeconds": 599}, "maxTimeSeconds is 599"),
        ({"maxTimeSeconds": 86_401}, "maxTimeSeconds is 86401"),
        ({"state": "STARTING"}, "only supported value is RUNNABLE"),
        ({"action": "TERMINATE"}, "only supported value is CANCEL"),
    ],
)
def test_invalid_time_limit_actions_are_rejected(small: Small, action: dict[str, object], problem: str) -> None:
    with pytest.raises(ClientError, match=problem):
        small.emulator.queue(small.compute_environment, time_limit_actions=[{**_action(MAX_RESOURCE), **action}])


def test_a_job_above_max_vcpus_stays_runnable_and_is_cancelled_by_the_time_limit_action(small: Small) -> None:
    emu = small.emulator
    too_many = emu.definition(("0:", {"command": ["/bin/true"]}), num_nodes=5)  # 5 x 2 vCPUs > 8
    job_id = emu.submit(small.with_actions, too_many)
    stuck = emu.wait_status(job_id, "RUNNABLE")
    wait_until(lambda: emu.job(job_id).get("statusReason", "").startswith(MAX_RESOURCE), what="the stuck reason")
    assert emu.job(job_id)["statusReason"] == (
        f"{MAX_RESOURCE} - CE(s) associated with the job queue cannot meet the CPU requirement of the job."
    )
    assert stuck["attempts"] == []
    parent, nodes = emu.wait_done(job_id, 5)
    reason = f"Canceled by JobStateTimeLimit action due to reason: {MAX_RESOURCE}"
    assert parent["status"] == "FAILED" and parent["statusReason"] == reason and parent["isCancelled"] is True
    assert all(node["status"] == "FAILED" and node["statusReason"] == reason for node in nodes)
    assert parent["stoppedAt"] - parent["createdAt"] >= 600 * 0.002 * 1000  # maxTimeSeconds, scaled


def test_a_node_bigger_than_every_instance_type_stays_runnable(small: Small) -> None:
    emu = small.emulator
    too_big = emu.definition(("0:", {"command": ["/bin/true"], "vcpus": 4}), num_nodes=2)  # c5.large has 2
    cancelled = emu.submit(small.with_actions, too_big)
    waiting = emu.submit(small.without_actions, too_big)
    reason = (
        f"{RESOURCE_REQUIREMENT} - The job resource requirement (vCPU/memory/GPU) is higher than that can be met "
        "by the CE(s) attached to the job queue."
    )
    wait_until(lambda: emu.job(waiting).get("statusReason") == reason, what="the stuck reason")
    parent, _ = emu.wait_done(cancelled, 2)
    assert parent["statusReason"] == f"Canceled by JobStateTimeLimit action due to reason: {RESOURCE_REQUIREMENT}"
    # Without an action for it, the job waits: by now the other queue's action has fired.
    assert emu.job(waiting)["status"] == "RUNNABLE"
    emu.batch.cancel_job(jobId=waiting, reason="cancelled by the test")
    parent, nodes = emu.wait_done(waiting, 2)
    assert (parent["status"], parent["statusReason"], parent["isCancelled"]) == (
        "FAILED",
        "cancelled by the test",
        True,
    )
    assert all(node["statusReason"] == "cancelled by the test" for node in nodes)


def test_memory_and_instance_type_asks_are_checked_too(small: Small) -> None:
    emu = small.emulator
    for container in ({"memory": 8000}, {"instanceType": "c5.xlarge"}):
        definition = emu.definition(("0:", {"command": ["/bin/true"], **container}), num_nodes=1)
        job_id = emu.submit(small.without_actions, definition)

        def stuck(job_id: str = job_id) -> bool:
            return str(emu.job(job_id).get("statusReason", "")).startswith(RESOURCE_REQUIREMENT)

        wait_until(stuck, what=f"{container} to be reported as not placeable")
        emu.batch.terminate_job(jobId=job_id, reason="clean up")
        parent, _ = emu.wait_done(job_id, 1)
        assert parent["isCancelled"] is True  # TerminateJob cancels a job that has not started


def test_a_job_waits_in_runnable_while_another_holds_the_capacity(small: Small, tmp_path: Path) -> None:
    """A job that fits waits without a reason until the compute environment's vCPUs are free again."""
    emu = small.emulator
    handoff = tmp_path / "second-job-id"
    holder_main = textwrap.dedent(
        f"""
        import os, sys, time, boto3
        batch = boto3.client("batch")
        deadline = time.time() + 60
        while not os.path.exists({str(handoff)!r}):
            time.sleep(0.02)
        other = open({str(handoff)!r}).read().strip()
        while time.time() < deadline:
            (job,) = batch.describe_jobs(jobs=[other])["jobs"]
            if job["status"] == "RUNNABLE" and "statusReason" not in job:
                print("the other job waits for capacity")
                sys.exit(0)
            if job["status"] not in ("SUBMITTED", "PENDING", "RUNNABLE"):
                print("the other job got capacity that is taken:", job["status"])
                sys.exit(1)
            time.sleep(0.02)
        sys.exit(2)
        """
    )
    holder = emu.definition(("0", {"command": python_node(holder_main)}), ("1:", {"command": FOREVER}), num_nodes=4)
    second = emu.definition(("0:", {"command": ["/bin/true"]}), num_nodes=4)
    first_id = emu.submit(small.without_actions, holder)
    emu.wait_status(first_id, "RUNNING")
    second_id = emu.submit(small.without_actions, second)
    handoff.write_text(second_id)
    first, _ = emu.wait_done(first_id, 4)
    assert first["status"] == "SUCCEEDED", emu.own_lines(emu.nodes(first_id, 4)[0])
    second_parent, _ = emu.wait_done(second_id, 4)
    assert second_parent["status"] == "SUCCEEDED"
    assert second_parent["startedAt"] >= first["stoppedAt"]


def test_a_job_waits_until_the_compute_environment_is_made_big_enough(small: Small) -> None:
    """UpdateComputeEnvironment's maxvCpus applies (moto ignored it): a job stuck on
    COMPUTE_ENVIRONMENT_MAX_RESOURCE runs once the compute environment is large enough."""
    emu = small.emulator
    grown = emu.compute_environment(max_vcpus=4, instance_types=["c5.large"])
    queue = emu.queue(grown)
    job_id = emu.submit(queue, emu.definition(("0:", {"command": ["/bin/true"]}), num_nodes=3))  # 6 vCPUs
    wait_until(lambda: emu.job(job_id).get("statusReason", "").startswith(MAX_RESOURCE), what="the stuck reason")
    emu.batch.update_compute_environment(computeEnvironment=grown, computeResources={"maxvCpus": 6})
    (described,) = emu.batch.describe_compute_environments(computeEnvironments=[grown])["computeEnvironments"]
    assert described["computeResources"]["maxvCpus"] == 6
    parent, _ = emu.wait_done(job_id, 3)
    assert parent["status"] == "SUCCEEDED"


@pytest.mark.parametrize("kind", ["SPOT", "UNMANAGED"])
def test_a_compute_environment_that_runs_no_mnp_job_never_places_one(small: Small, kind: str) -> None:
    """User guide, "Compute environment considerations for MNP": "Multi-node parallel jobs aren't supported on
    UNMANAGED compute environments" nor "on compute environments that use Spot Instances". The docs say no
    more: the job stays RUNNABLE, without a misconfiguration reason, and runs once the queue gets a compute
    environment that can run it (here on-demand EC2, after the unsupported one in the queue's order)."""
    emu = small.emulator
    unsupported = emu.compute_environment(kind=kind)
    queue = emu.queue(unsupported)
    report_ce = shell_node('echo "ce=$AWS_BATCH_CE_NAME"')
    job_id = emu.submit(queue, emu.definition(("0:", {"command": report_ce}), num_nodes=2))
    waiting = emu.wait_status(job_id, "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
    assert waiting["status"] == "RUNNABLE" and "statusReason" not in waiting
    emu.batch.update_job_queue(
        jobQueue=queue,
        computeEnvironmentOrder=[
            {"order": 1, "computeEnvironment": unsupported},
            {"order": 2, "computeEnvironment": small.compute_environment},
        ],
    )
    parent, (main, _) = emu.wait_done(job_id, 2)
    assert parent["status"] == "SUCCEEDED"
    assert emu.own_lines(main) == [f"ce={small.compute_environment.rsplit('/', 1)[-1]}"]


def test_every_node_group_runs_on_the_same_instance_type(small: Small) -> None:
    """User guide, "Node groups": "Currently all node groups in a multi-node parallel job must use the same
    instance type": the smallest type that fits every group (here c5.xlarge, for the child group's 4 vCPUs),
    even for a group that a smaller type would fit; groups naming different types are never placed."""
    emu = small.emulator
    both = emu.compute_environment(max_vcpus=64, instance_types=["c5.large", "c5.xlarge"])
    queue = emu.queue(both)
    mixed = emu.definition(("0", {"command": FOREVER}), ("1:", {"command": FOREVER, "vcpus": 4}), num_nodes=3)
    job_id = emu.submit(queue, mixed)
    wait_until(lambda: all(node["status"] == "RUNNING" for node in emu.nodes(job_id, 3)), what="every node to run")
    assert [node["container"]["instanceType"] for node in emu.nodes(job_id, 3)] == ["c5.xlarge"] * 3
    emu.batch.terminate_job(jobId=job_id, reason="clean up")
    emu.wait_done(job_id, 3)

    named = emu.definition(
        ("0", {"command": ["/bin/true"], "instanceType": "c5.large"}),
        ("1:", {"command": ["/bin/true"], "instanceType": "c5.xlarge"}),
        num_nodes=2,
    )
    job_id = emu.submit(queue, named)
    wait_until(
        lambda: str(emu.job(job_id).get("statusReason", "")).startswith(RESOURCE_REQUIREMENT), what="the stuck reason"
    )
    emu.batch.cancel_job(jobId=job_id, reason="clean up")
    parent, _ = emu.wait_done(job_id, 2)
    assert parent["isCancelled"] is True and parent["attempts"] == []


def test_an_update_of_the_queue_time_limit_actions_applies_to_waiting_jobs(small: Small) -> None:
    """UpdateJobQueue jobStateTimeLimitActions: the queue's actions as they are now decide, also for a job that
    was already waiting ("When a job has been in a RUNNABLE state with the defined statusReason, AWS Batch
    performs the action specified after maxTimeSeconds have elapsed")."""
    emu = small.emulator
    queue = emu.queue(small.compute_environment)
    job_id = emu.submit(queue, emu.definition(("0:", {"command": ["/bin/true"]}), num_nodes=5))  # 10 vCPUs > 8
    wait_until(lambda: emu.job(job_id).get("statusReason", "").startswith(MAX_RESOURCE), what="the stuck reason")
    emu.batch.update_job_queue(jobQueue=queue, jobStateTimeLimitActions=[_action(MAX_RESOURCE)])
    parent, _ = emu.wait_done(job_id, 5)
    assert parent["statusReason"] == f"Canceled by JobStateTimeLimit action due to reason: {MAX_RESOURCE}"
    assert parent["isCancelled"] is True
