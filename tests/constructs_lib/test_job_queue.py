"""MnpJobQueue: MNP marker metadata, RUNNABLE time-limit actions, compute-environment checks, watchdog."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_batch as batch
from aws_cdk.assertions import Match, Template

from constructs_lib import (
    MNP_QUEUE_METADATA_KEY,
    ClusterPlacementGroup,
    MnpComputeEnvironment,
    MnpJobQueue,
    MnpPropsError,
)
from tests.constructs_lib.conftest import imported_network, resources_of
from tests.helpers.cdk_app import cdk_app

Build = Callable[..., MnpComputeEnvironment]


@pytest.fixture(scope="module")
def synth() -> dict[str, Any]:
    stack = Stack(cdk_app(), "Queues")
    network = imported_network(stack)

    def ce(id: str) -> MnpComputeEnvironment:
        return MnpComputeEnvironment(
            stack,
            id,
            vpc=network.vpc,
            subnets=network.compute_subnets(),
            instance_types=["c5n.18xlarge"],
            placement_group=ClusterPlacementGroup(stack, f"{id}Pg").placement_group,
            max_vcpus=288,
        )

    first, second = ce("First"), ce("Second")
    default = MnpJobQueue(stack, "Default", compute_environments=[first, second])
    tuned = MnpJobQueue(
        stack,
        "Tuned",
        compute_environments=[first],
        priority=10,
        runnable_timeout=Duration.hours(1),
        capacity_timeout=Duration.hours(4),
        watchdog=False,
    )
    return {
        "template": Template.from_stack(stack),
        "default": default,
        "tuned": tuned,
        "ces": (first, second),
    }


def _queue_props(queue: MnpJobQueue, template: Template) -> dict[str, Any]:
    logical_id = Stack.of(queue).resolve(queue.job_queue.node.default_child.logical_id)  # type: ignore[union-attr]
    resource: dict[str, Any] = template.to_json()["Resources"][logical_id]
    return resource


def test_queue_carries_the_mnp_marker(synth: dict[str, Any]) -> None:
    template: Template = synth["template"]
    template.resource_count_is("AWS::Batch::JobQueue", 2)
    for name in ("default", "tuned"):
        resource = _queue_props(synth[name], template)
        assert resource["Metadata"][MNP_QUEUE_METADATA_KEY] is True
    assert MNP_QUEUE_METADATA_KEY == "mnp:queue"


def test_queue_is_tagged_for_mnp_audit(synth: dict[str, Any]) -> None:
    """`mnp audit` reads the tag from the deployed queue (docs/audit.md); metadata stays in the template."""
    template: Template = synth["template"]
    queues = template.find_resources(
        "AWS::Batch::JobQueue", {"Properties": {"Tags": Match.object_like({"mnp:queue": "true"})}}
    )
    assert len(queues) == 2
    # Only the queue carries it: the watchdog's resources are not queues.
    tagged = [
        resource
        for resource in template.to_json()["Resources"].values()
        if "mnp:queue" in str(resource.get("Properties", {}).get("Tags", ""))
    ]
    assert [resource["Type"] for resource in tagged] == ["AWS::Batch::JobQueue"] * 2


def test_runnable_misconfigurations_are_cancelled_after_30_minutes(synth: dict[str, Any]) -> None:
    props = _queue_props(synth["default"], synth["template"])["Properties"]
    assert props["JobStateTimeLimitActions"] == [
        {
            "Action": "CANCEL",
            "MaxTimeSeconds": 1800,
            "Reason": "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE",
            "State": "RUNNABLE",
        },
        {
            "Action": "CANCEL",
            "MaxTimeSeconds": 1800,
            "Reason": "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
            "State": "RUNNABLE",
        },
    ]


def test_capacity_timeout_adds_a_third_action(synth: dict[str, Any]) -> None:
    props = _queue_props(synth["tuned"], synth["template"])["Properties"]
    actions = {a["Reason"]: a["MaxTimeSeconds"] for a in props["JobStateTimeLimitActions"]}
    assert actions == {
        "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE": 3600,
        "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT": 3600,
        "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY": 14400,
    }
    assert props["Priority"] == 10


def test_compute_environments_in_order(synth: dict[str, Any]) -> None:
    props = _queue_props(synth["default"], synth["template"])["Properties"]
    first, second = synth["ces"]
    stack = Stack.of(first)
    assert props["ComputeEnvironmentOrder"] == [
        {"ComputeEnvironment": stack.resolve(first.compute_environment.compute_environment_arn), "Order": 1},
        {"ComputeEnvironment": stack.resolve(second.compute_environment.compute_environment_arn), "Order": 2},
    ]
    assert props["Priority"] == 1


def test_watchdog_is_on_by_default(synth: dict[str, Any]) -> None:
    default: MnpJobQueue = synth["default"]
    assert default.watchdog is not None
    assert synth["tuned"].watchdog is None
    # one watchdog in the stack (the default queue's), and its event rule watches that queue
    patterns = [
        r["Properties"]["EventPattern"]
        for r in resources_of(synth["template"].to_json(), "AWS::Events::Rule")
        if "EventPattern" in r["Properties"]
    ]
    queue_arn = Stack.of(default).resolve(default.job_queue.job_queue_arn)
    assert len(patterns) == 1 and str(queue_arn) in str(patterns[0])


# -- validation (no synth) ----------------------------------------------------------------------------


def test_rejects_no_compute_environment(stack: Stack) -> None:
    with pytest.raises(MnpPropsError, match="MnpJobQueue 'Q': compute_environments: is empty"):
        MnpJobQueue(stack, "Q", compute_environments=[], watchdog=False)


def test_rejects_four_compute_environments(make_ce: Build, stack: Stack) -> None:
    ces = [make_ce() for _ in range(4)]
    with pytest.raises(MnpPropsError, match=r"compute_environments: has 4.*at most 3"):
        MnpJobQueue(stack, "Q", compute_environments=ces, watchdog=False)


def test_rejects_mixed_architectures(make_ce: Build, stack: Stack) -> None:
    x86 = make_ce()
    arm = make_ce(instance_types=["c7g.16xlarge"], max_vcpus=128)
    with pytest.raises(MnpPropsError, match=r"compute_environments: mix CPU architectures \('Ce1' is arm64"):
        MnpJobQueue(stack, "Q", compute_environments=[x86, arm], watchdog=False)


def test_rejects_a_plain_l2_compute_environment(make_ce: Build, stack: Stack) -> None:
    fargate = batch.FargateComputeEnvironment(stack, "Fargate", vpc=make_ce().props.vpc)
    with pytest.raises(MnpPropsError, match="contains FargateComputeEnvironment, not an MnpComputeEnvironment"):
        MnpJobQueue(stack, "Q", compute_environments=[fargate], watchdog=False)  # type: ignore[list-item]


def test_rejects_the_same_environment_twice(make_ce: Build, stack: Stack) -> None:
    ce = make_ce()
    with pytest.raises(MnpPropsError, match="compute_environments: lists one environment twice"):
        MnpJobQueue(stack, "Q", compute_environments=[ce, ce], watchdog=False)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"runnable_timeout": Duration.minutes(5)}, "runnable_timeout: is 300 seconds"),
        ({"runnable_timeout": Duration.hours(25)}, "runnable_timeout: is 90000 seconds"),
        ({"capacity_timeout": Duration.minutes(1)}, "capacity_timeout: is 60 seconds"),
        ({"priority": -1}, "priority: is -1"),
    ],
)
def test_rejects_bad_props(make_ce: Build, stack: Stack, overrides: dict[str, Any], match: str) -> None:
    with pytest.raises(MnpPropsError, match=rf"MnpJobQueue 'Q': {match}"):
        MnpJobQueue(stack, "Q", compute_environments=[make_ce()], watchdog=False, **overrides)


def test_watchdog_can_be_turned_off(make_ce: Build, stack: Stack) -> None:
    queue = MnpJobQueue(stack, "Q", compute_environments=[make_ce()], watchdog=False)
    assert queue.watchdog is None
    assert [c.node.id for c in queue.node.children] == ["Resource"]
