"""SubmitJob checks of an MNP job that AWS makes at submit time: a bad request fails with ClientException,
naming the problem. Through plain boto3 only."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.mnp_local.runner.conftest import Environment
from tests.mnp_local.runner.emulator import unique

pytestmark = pytest.mark.timeout(300)


def _fair_share_queue(env: Environment) -> str:
    batch = env.emulator.batch
    policy = batch.create_scheduling_policy(
        name=unique("policy"), fairsharePolicy={"shareDecaySeconds": 0, "shareDistribution": []}
    )["arn"]
    name = unique("fair")
    batch.create_job_queue(
        jobQueueName=name,
        state="ENABLED",
        priority=1,
        schedulingPolicyArn=policy,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": env.compute_environment}],
    )
    return name


def _definition(env: Environment) -> str:
    return env.emulator.definition(("0:", {"command": ["/bin/true"]}), num_nodes=2)


def _rejected(env: Environment, **request: Any) -> str:
    with pytest.raises(ClientError) as raised:
        env.emulator.batch.submit_job(jobName=unique("job"), jobDefinition=_definition(env), **request)
    assert raised.value.response["Error"]["Code"] == "ClientException"
    return str(raised.value.response["Error"]["Message"])


def test_a_fair_share_queue_needs_a_share_identifier(env: Environment) -> None:
    """SubmitJob shareIdentifier: "If the job queue has a fair-share scheduling policy, then this parameter must
    be specified"."""
    queue = _fair_share_queue(env)
    assert "must specify a shareIdentifier" in _rejected(env, jobQueue=queue)
    assert "is not valid" in _rejected(env, jobQueue=queue, shareIdentifier="no spaces")
    assert "is not valid" in _rejected(env, jobQueue=queue, shareIdentifier="vision\n")  # $ is not the end
    parent = env.emulator.wait_done(env.emulator.submit(queue, _definition(env), shareIdentifier="vision"), 2)[0]
    assert parent["status"] == "SUCCEEDED"


def test_a_queue_without_fair_share_refuses_a_share_identifier(env: Environment) -> None:
    """SubmitJob shareIdentifier: "If the job queue doesn't have a fair-share scheduling policy, then this
    parameter must not be specified"."""
    assert "must not specify a shareIdentifier" in _rejected(env, jobQueue=env.queue, shareIdentifier="vision")


def test_a_dependency_on_an_unknown_job_is_refused(env: Environment) -> None:
    """The docs do not say; a job depending on a job that does not exist could never leave PENDING, so the
    emulator refuses it, naming the id."""
    missing = "00000000-0000-0000-0000-000000000000"
    message = _rejected(env, jobQueue=env.queue, dependsOn=[{"jobId": missing}])
    assert f"dependsOn: job {missing} does not exist" in message


def test_a_job_name_ending_in_a_newline_is_refused(env: Environment) -> None:
    with pytest.raises(ClientError) as raised:
        env.emulator.batch.submit_job(jobName="train\n", jobQueue=env.queue, jobDefinition=_definition(env))
    assert raised.value.response["Error"]["Code"] == "ClientException"
