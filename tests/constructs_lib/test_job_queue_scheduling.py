"""MnpJobQueue with a fair-share scheduling policy (aws-cdk-lib's FairshareSchedulingPolicy L2), and the
capacity-wait action next to the misconfiguration ones (aws_cdk.assertions on the template)."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_batch as batch
from aws_cdk.assertions import Match, Template

from constructs_lib import ClusterPlacementGroup, MnpComputeEnvironment, MnpJobQueue
from tests.constructs_lib.conftest import imported_network
from tests.helpers.cdk_app import cdk_app


@pytest.fixture(scope="module")
def synth() -> dict[str, Any]:
    stack = Stack(cdk_app(), "FairShare")
    network = imported_network(stack)
    ce = MnpComputeEnvironment(
        stack,
        "Ce",
        vpc=network.vpc,
        subnets=network.compute_subnets(),
        instance_types=["p4d.24xlarge"],
        placement_group=ClusterPlacementGroup(stack, "Pg").placement_group,
        max_vcpus=1536,
    )
    policy = batch.FairshareSchedulingPolicy(
        stack,
        "Policy",
        share_decay=Duration.hours(1),
        compute_reservation=10,
        shares=[
            batch.Share(share_identifier="vision", weight_factor=0.5),
            batch.Share(share_identifier="nlp*", weight_factor=1),
        ],
    )
    fair = MnpJobQueue(
        stack,
        "Fair",
        compute_environments=[ce],
        scheduling_policy=policy,
        capacity_timeout=Duration.hours(2),
        watchdog=False,
    )
    fifo = MnpJobQueue(stack, "Fifo", compute_environments=[ce], watchdog=False)
    return {"template": Template.from_stack(stack), "fair": fair, "fifo": fifo, "policy": policy, "stack": stack}


def _queue(queue: MnpJobQueue) -> dict[str, Any]:
    stack = Stack.of(queue)
    logical_id = stack.resolve(queue.job_queue.node.default_child.logical_id)  # type: ignore[union-attr]
    template = Template.from_stack(stack).to_json()
    properties: dict[str, Any] = template["Resources"][logical_id]["Properties"]
    return properties


def test_the_queue_uses_the_fair_share_policy(synth: dict[str, Any]) -> None:
    template: Template = synth["template"]
    template.has_resource_properties(
        "AWS::Batch::SchedulingPolicy",
        {
            "FairsharePolicy": {
                "ShareDecaySeconds": 3600,
                "ComputeReservation": 10,
                "ShareDistribution": [
                    {"ShareIdentifier": "vision", "WeightFactor": 0.5},
                    {"ShareIdentifier": "nlp*", "WeightFactor": 1},
                ],
            }
        },
    )
    policy_id = synth["stack"].resolve(synth["policy"].node.default_child.logical_id)
    assert _queue(synth["fair"])["SchedulingPolicyArn"] == {"Fn::GetAtt": [policy_id, "Arn"]}
    assert synth["fair"].scheduling_policy is synth["policy"]


def test_a_queue_without_a_policy_is_first_in_first_out(synth: dict[str, Any]) -> None:
    assert "SchedulingPolicyArn" not in _queue(synth["fifo"])
    assert synth["fifo"].scheduling_policy is None
    synth["template"].resource_count_is("AWS::Batch::SchedulingPolicy", 1)


def test_capacity_waits_are_cancelled_beside_misconfigurations(synth: dict[str, Any]) -> None:
    actions = {action["Reason"]: action for action in _queue(synth["fair"])["JobStateTimeLimitActions"]}
    assert actions["CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY"] == {
        "Action": "CANCEL",
        "MaxTimeSeconds": 7200,
        "Reason": "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
        "State": "RUNNABLE",
    }
    assert {"MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE", "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT"} <= set(
        actions
    )
    reasons = [action["Reason"] for action in _queue(synth["fifo"])["JobStateTimeLimitActions"]]
    assert "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY" not in reasons
    synth["template"].has_resource_properties("AWS::Batch::JobQueue", {"SchedulingPolicyArn": Match.absent()})


def test_mnp105_fix_text_is_what_mnp_job_queue_does(synth: dict[str, Any]) -> None:
    """MNP105's fix names the reasons to cancel and the MnpJobQueue props that set them: they must be real."""
    import re

    from mnp_toolkit.lint.rules.job_queue.mnp105_no_runnable_timeout import RULE

    named = set(re.findall(r"'([A-Z]+:[A-Z_]+)'", RULE.fix))
    assert named == {
        "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE",
        "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
        "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
    }
    with_capacity = {action["Reason"] for action in _queue(synth["fair"])["JobStateTimeLimitActions"]}
    by_default = {action["Reason"] for action in _queue(synth["fifo"])["JobStateTimeLimitActions"]}
    assert with_capacity == named
    assert by_default == named - {"CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY"}
    for prop in ("runnable_timeout", "capacity_timeout"):
        assert prop in RULE.fix and prop in MnpJobQueue.__init__.__doc__  # type: ignore[operator]
    from mnp_toolkit.config.model import JobQueueConfig

    for key in ("runnable_timeout_minutes", "capacity_timeout_minutes"):
        assert key in RULE.fix and key in JobQueueConfig.model_fields
