"""MNP002: an MNP compute environment is not EC2 On-Demand: Spot, Fargate or Amazon ECS Managed Instances.

Spot shows as ``ComputeResources.Type: SPOT``, a ``SPOT_*`` allocation strategy or a ``BidPercentage``;
Fargate as ``Type: FARGATE``/``FARGATE_SPOT``; ECS Managed Instances as ``Type: ECS_MANAGED_INSTANCES``
(their job definitions must be ``type: container``, so an MNP job never runs there). Every such property
is reported, so one run names every property to change.
"""

from __future__ import annotations

from mnp_toolkit.lint.model.compute import ECS_MANAGED_INSTANCES, compute_type, mnp_ce_scope
from mnp_toolkit.lint.model.resource_types import COMPUTE_ENVIRONMENT
from mnp_toolkit.lint.rule import Compliant, Level, NonCompliant, Problem, Rule, RuleResult, Unverifiable
from mnp_toolkit.lint.template import UNKNOWN, Resource, Template

_SPOT_FIX = (
    "Use on-demand capacity: ComputeResources.Type EC2 with AllocationStrategy BEST_FIT_PROGRESSIVE and no "
    "BidPercentage (aws-cdk-lib ManagedEc2EcsComputeEnvironment: spot=False, the default)."
)
_MANAGED_INSTANCES_FIX = (
    "Run MNP jobs on a managed EC2 compute environment (ComputeResources.Type EC2; aws-cdk-lib "
    "ManagedEc2EcsComputeEnvironment, or the toolkit's MnpComputeEnvironment); keep ECS Managed Instances "
    "for container jobs."
)
_FARGATE_FIX = (
    "Run MNP jobs on an EC2 compute environment (aws-cdk-lib ManagedEc2EcsComputeEnvironment, or the "
    "toolkit's MnpComputeEnvironment) instead of FargateComputeEnvironment."
)


def check(resource: Resource, template: Template) -> RuleResult:
    if (scope := mnp_ce_scope(resource)) is not None:
        return scope
    name = resource.display_name
    problems: list[Problem] = []
    unknown: list[str] = []

    kind = compute_type(resource)
    if kind is not None and not isinstance(kind, str):
        kind = UNKNOWN  # not a string: CloudFormation rejects it; nothing to judge here
    if kind in {"FARGATE", "FARGATE_SPOT"}:
        problems.append(
            Problem(
                f"Compute environment {name} has ComputeResources.Type {kind}: Fargate does not run "
                "multi-node parallel jobs.",
                _FARGATE_FIX,
            )
        )
    elif kind == ECS_MANAGED_INSTANCES:
        problems.append(
            Problem(
                f"Compute environment {name} has ComputeResources.Type {ECS_MANAGED_INSTANCES}: job definitions "
                "on Amazon ECS Managed Instances must be type container, so multi-node parallel jobs never run "
                "there.",
                _MANAGED_INSTANCES_FIX,
            )
        )
    elif kind == "SPOT":
        problems.append(
            Problem(
                f"Compute environment {name} has ComputeResources.Type SPOT: multi-node parallel jobs "
                "are not supported on Spot capacity.",
                _SPOT_FIX,
            )
        )
    elif kind is UNKNOWN:
        unknown.append("ComputeResources.Type")

    strategy = resource.get("ComputeResources", "AllocationStrategy")
    if isinstance(strategy, str) and strategy.strip().upper().startswith("SPOT_"):
        problems.append(
            Problem(
                f"Compute environment {name} has AllocationStrategy {strategy.strip().upper()}, a Spot "
                "strategy: multi-node parallel jobs are not supported on Spot capacity.",
                _SPOT_FIX,
            )
        )
    elif strategy is UNKNOWN:
        unknown.append("ComputeResources.AllocationStrategy")

    bid = resource.get("ComputeResources", "BidPercentage")
    if bid is UNKNOWN:
        unknown.append("ComputeResources.BidPercentage")
    elif bid is not None:
        problems.append(
            Problem(
                f"Compute environment {name} sets BidPercentage {bid}, which only Spot capacity uses: "
                "multi-node parallel jobs are not supported on Spot capacity.",
                _SPOT_FIX,
            )
        )

    if problems:
        return NonCompliant(*problems)
    if unknown:
        return Unverifiable(
            f"compute environment {name}: {', '.join(unknown)} not fixed by the template, so Spot/Fargate "
            "capacity cannot be ruled out"
        )
    return Compliant()


RULE = Rule(
    id="MNP002",
    level=Level.ERROR,
    resource_type=COMPUTE_ENVIRONMENT,
    info="An MNP compute environment uses Spot capacity, Fargate or Amazon ECS Managed Instances.",
    explanation="AWS Batch does not support multi-node parallel jobs on Spot compute environments or on "
    "Fargate, and job definitions on Amazon ECS Managed Instances must be type container: a queued MNP job "
    "is never placed there, and a reclaimed Spot node would kill the whole job. Use on-demand EC2 capacity "
    "for every compute environment of an MNP queue.",
    fix="Set ComputeResources.Type EC2, a non-Spot AllocationStrategy (BEST_FIT_PROGRESSIVE) and no "
    "BidPercentage (aws-cdk-lib ManagedEc2EcsComputeEnvironment with spot=False; the toolkit's "
    "MnpComputeEnvironment).",
    source="https://docs.aws.amazon.com/batch/latest/userguide/mnp-ce.html; "
    "https://docs.aws.amazon.com/batch/latest/userguide/fargate.html; "
    "https://docs.aws.amazon.com/batch/latest/userguide/ecs-managed-instances-job-definitions.html",
    check=check,
)
