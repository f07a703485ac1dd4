"""MNP003: an MNP compute environment has more than five security groups.

Only ``ComputeResources.SecurityGroupIds`` counts: the MNP task interfaces use exactly those groups, or the
VPC's default group when there are none (:func:`~mnp_toolkit.lint.model.security_groups.task_security_groups`). A launch
template's groups go to the instances' own interfaces, never to the task interfaces, so they are not
counted.
"""

from __future__ import annotations

from mnp_toolkit.core.limits import MAX_SECURITY_GROUPS
from mnp_toolkit.lint.model.compute import mnp_ce_scope
from mnp_toolkit.lint.model.naming import describe
from mnp_toolkit.lint.model.resource_types import COMPUTE_ENVIRONMENT
from mnp_toolkit.lint.model.security_groups import group_key, task_security_groups
from mnp_toolkit.lint.rule import Compliant, Level, NonCompliant, Rule, RuleResult, Unverifiable
from mnp_toolkit.lint.template import UNKNOWN, Resource, Template


def check(resource: Resource, template: Template) -> RuleResult:
    if (scope := mnp_ce_scope(resource, ec2_capacity=True)) is not None:
        return scope
    groups = task_security_groups(resource)
    if groups is UNKNOWN:
        return Unverifiable(
            f"the security groups of compute environment {resource.display_name} are not fixed by the template"
        )
    if not groups:
        return Compliant()  # no group named: Batch uses the VPC's default security group
    known = list({group_key(group): group for group in groups if group is not UNKNOWN}.values())
    unknown_count = sum(group is UNKNOWN for group in groups)
    if len(known) > MAX_SECURITY_GROUPS:
        names = ", ".join(describe(group) for group in known)
        return NonCompliant(
            f"Compute environment {resource.display_name} has {len(known)} security groups: {names}; "
            f"an MNP compute environment may have at most {MAX_SECURITY_GROUPS}."
        )
    if len(known) + unknown_count > MAX_SECURITY_GROUPS:
        return Unverifiable(
            f"compute environment {resource.display_name} lists {len(groups)} security groups, "
            f"{unknown_count} of them not fixed by the template (duplicates would not count)"
        )
    return Compliant()


RULE = Rule(
    id="MNP003",
    level=Level.ERROR,
    resource_type=COMPUTE_ENVIRONMENT,
    info="An MNP compute environment has more than five security groups.",
    explanation="Each node of a multi-node parallel job gets its own elastic network interface (awsvpc "
    "network mode) carrying the security groups of the compute environment's SecurityGroupIds (the VPC's "
    "default group when there are none), and AWS Batch allows at most five there: with more, the nodes "
    "cannot be started. A launch template's groups never reach those interfaces and are not counted.",
    fix="Merge rules so the compute environment's SecurityGroupIds name at most five security groups "
    "(aws-cdk-lib ManagedEc2EcsComputeEnvironment securityGroups).",
    source="https://docs.aws.amazon.com/batch/latest/userguide/mnp-ce.html",
    check=check,
)
