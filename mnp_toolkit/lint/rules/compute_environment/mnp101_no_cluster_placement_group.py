"""MNP101 (warning): an MNP compute environment has no placement group, or one whose strategy is not cluster.

The strategy is known only for a placement group that the template defines with a fixed ``Strategy``;
a group named by a literal or imported name, or without ``Strategy``, gives an info.
"""

from __future__ import annotations

from mnp_toolkit.lint.model.compute import mnp_ce_scope, placement_group_of
from mnp_toolkit.lint.model.naming import describe
from mnp_toolkit.lint.model.resource_types import COMPUTE_ENVIRONMENT
from mnp_toolkit.lint.rule import Compliant, Level, NonCompliant, Rule, RuleResult, Unverifiable
from mnp_toolkit.lint.template import UNKNOWN, Resource, Template, same_text


def check(resource: Resource, template: Template) -> RuleResult:
    if (scope := mnp_ce_scope(resource, ec2_capacity=True)) is not None:
        return scope
    name = resource.display_name
    group = placement_group_of(resource)
    if group is None:
        return NonCompliant(
            f"Compute environment {name} has no placement group: the nodes of an MNP job may land far apart, "
            "with higher latency and lower bandwidth between them."
        )
    if group is UNKNOWN:
        return Unverifiable(f"the placement group of compute environment {name} is not fixed by the template")
    if not isinstance(group, Resource):
        return Unverifiable(
            f"compute environment {name} uses placement group {describe(group)}, which the template does not define, "
            "so its strategy is unknown"
        )
    strategy = group.get("Strategy")
    if same_text(strategy, "cluster"):
        return Compliant()
    if not isinstance(strategy, str):
        return Unverifiable(f"the strategy of placement group {group.display_name} is not fixed by the template")
    return NonCompliant(
        f"Compute environment {name} uses placement group {group.display_name} with strategy "
        f"{strategy.strip()}, not cluster"
        + (": a spread group holds at most 7 running instances per AZ." if same_text(strategy, "spread") else ".")
    )


RULE = Rule(
    id="MNP101",
    level=Level.WARNING,
    resource_type=COMPUTE_ENVIRONMENT,
    info="An MNP compute environment has no cluster placement group.",
    explanation="AWS Batch recommends a cluster placement group in a single AZ for MNP compute environments: "
    "it keeps the nodes of a job close together with high network throughput and low latency, which "
    "tightly coupled MPI/NCCL jobs need. Without one the nodes may be spread out; a spread group holds at "
    "most 7 running instances per AZ, so larger jobs cannot start.",
    fix="Create a placement group with strategy cluster and set it on the compute environment (aws-cdk-lib: "
    "ec2.PlacementGroup(strategy=PlacementGroupStrategy.CLUSTER) passed as placementGroup of "
    "ManagedEc2EcsComputeEnvironment; the toolkit's MnpComputeEnvironment creates one).",
    source="https://docs.aws.amazon.com/batch/latest/userguide/mnp-ce.html",
    check=check,
)
