"""MNP019: the ``InstanceTypes`` of one MNP compute environment mix CPU architectures (x86_64 and arm64).

Architectures come from :func:`~mnp_toolkit.lint.model.compute.entry_architectures`: the facts table for types
and families, the documented architecture for ``optimal``/``default_x86_64``/``default_arm64``. Entries
the table does not know are ignored. Like every compute-environment rule it applies to MNP compute
environments only (catalog, "Terms").
"""

from __future__ import annotations

from mnp_toolkit.lint.model.compute import compute_environment_architectures, instance_types_of, mnp_ce_scope
from mnp_toolkit.lint.model.resource_types import COMPUTE_ENVIRONMENT
from mnp_toolkit.lint.rule import Compliant, Level, NonCompliant, Rule, RuleResult, Unverifiable
from mnp_toolkit.lint.template import UNKNOWN, Resource, Template


def check(resource: Resource, template: Template) -> RuleResult:
    if (scope := mnp_ce_scope(resource, ec2_capacity=True)) is not None:
        return scope
    architectures = compute_environment_architectures(resource)
    if architectures is UNKNOWN:
        return Unverifiable(
            f"the InstanceTypes of compute environment {resource.display_name} are not fixed by the template"
        )
    x86 = architectures.get("x86_64", [])
    arm = architectures.get("arm64", [])
    if x86 and arm:
        return NonCompliant(
            f"Compute environment {resource.display_name} mixes CPU architectures in InstanceTypes: x86_64 "
            f"({', '.join(x86)}) and arm64 ({', '.join(arm)}); all instance types of a compute environment "
            "must share one architecture."
        )
    entries = instance_types_of(resource)
    if isinstance(entries, list) and any(entry is UNKNOWN for entry in entries):
        return Unverifiable(
            f"some InstanceTypes of compute environment {resource.display_name} are not fixed by the template"
        )
    return Compliant()


RULE = Rule(
    id="MNP019",
    level=Level.ERROR,
    resource_type=COMPUTE_ENVIRONMENT,
    info="The InstanceTypes of one MNP compute environment mix CPU architectures (x86_64 and arm64).",
    explanation="AWS Batch requires the instance types of a compute environment to share one CPU "
    "architecture; creating one that mixes x86_64 and arm64 types fails, and a multi-node job's container "
    "image is built for one architecture anyway.",
    fix="Keep x86_64 and arm64 instance types in separate compute environments (aws-cdk-lib "
    "ManagedEc2EcsComputeEnvironment instanceTypes/instanceClasses), each in its own job queue.",
    source="https://docs.aws.amazon.com/batch/latest/APIReference/API_ComputeResource.html",
    check=check,
)
