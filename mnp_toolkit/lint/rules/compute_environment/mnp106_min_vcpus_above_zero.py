"""MNP106 (warning): ``MinvCpus`` > 0 on an MNP compute environment."""

from __future__ import annotations

from mnp_toolkit.lint.model.compute import mnp_ce_scope
from mnp_toolkit.lint.model.resource_types import COMPUTE_ENVIRONMENT
from mnp_toolkit.lint.rule import Compliant, Level, NonCompliant, Rule, RuleResult, Unverifiable
from mnp_toolkit.lint.template import UNKNOWN, Resource, Template, as_int


def check(resource: Resource, template: Template) -> RuleResult:
    if (scope := mnp_ce_scope(resource, ec2_capacity=True)) is not None:
        return scope
    raw = resource.get("ComputeResources", "MinvCpus")
    if raw is None:
        return Compliant()  # the default is 0
    min_vcpus = as_int(raw)
    if min_vcpus is UNKNOWN:
        return Unverifiable(f"the MinvCpus of compute environment {resource.display_name} is not fixed by the template")
    assert isinstance(min_vcpus, int)
    if min_vcpus > 0:
        return NonCompliant(
            f"Compute environment {resource.display_name} has MinvCpus {min_vcpus}: instances with at least "
            f"{min_vcpus} vCPUs keep running, and cost money, while no job runs."
        )
    return Compliant()


RULE = Rule(
    id="MNP106",
    level=Level.WARNING,
    resource_type=COMPUTE_ENVIRONMENT,
    info="MinvCpus > 0 on an MNP compute environment.",
    explanation="With MinvCpus above zero AWS Batch keeps that many vCPUs of instances running at all times. "
    "MNP compute environments usually hold large instances (c5n.18xlarge, p4d.24xlarge), so idle capacity "
    "is expensive, and a partial warm pool rarely helps a job that needs all its nodes at once.",
    fix="Set MinvCpus to 0 (aws-cdk-lib ManagedEc2EcsComputeEnvironment minvCpus: 0, the default).",
    source="https://docs.aws.amazon.com/batch/latest/APIReference/API_ComputeResource.html",
    check=check,
)
