"""MNP111 (warning): an MNP compute environment sets no ``SecurityGroupIds`` while the template restricts
its VPC's default security group.

Without ``SecurityGroupIds`` the MNP task interfaces get the VPC's default group (Batch user guide,
mnp-ce). The CDK's ``@aws-cdk/aws-ec2:restrictDefaultSecurityGroup`` flag (on in new apps) adds a
``Custom::VpcRestrictDefaultSG`` resource that removes every rule of that group, including the one that
admits traffic from itself: the nodes then cannot reach each other. A launch template's groups do not
help, as they go to the instances' own interfaces, not to the task interfaces.

CloudFormation cannot remove the default group's rules otherwise, so the custom resource is what is
looked for. When the compute environment's VPC is not in the template and some default group is
restricted, the finding is an info.
"""

from __future__ import annotations

from mnp_toolkit.lint.model.compute import mnp_ce_scope
from mnp_toolkit.lint.model.launch_templates import launch_template_of
from mnp_toolkit.lint.model.network import compute_environment_vpcs
from mnp_toolkit.lint.model.resource_types import COMPUTE_ENVIRONMENT, RESTRICT_DEFAULT_SECURITY_GROUP
from mnp_toolkit.lint.model.security_groups import (
    launch_template_security_groups,
    restricted_default_groups,
    task_security_groups,
)
from mnp_toolkit.lint.rule import Compliant, Level, NonCompliant, NotApplicable, Rule, RuleResult, Unverifiable
from mnp_toolkit.lint.template import UNKNOWN, Resource, Template

_FIX = (
    "Give the compute environment its own security group with a self-referencing all-traffic ingress rule "
    "(aws-cdk-lib ManagedEc2EcsComputeEnvironment securityGroups=[sg] with "
    "sg.connections.allowInternally(ec2.Port.allTraffic()); the toolkit's MnpComputeEnvironment does this)."
)


def check(resource: Resource, template: Template) -> RuleResult:
    if (scope := mnp_ce_scope(resource, ec2_capacity=True)) is not None:
        return scope
    groups = task_security_groups(resource)
    if groups is UNKNOWN:
        return Unverifiable(f"the SecurityGroupIds of compute environment {resource.display_name} are not fixed")
    if groups:
        return NotApplicable("the compute environment sets its own SecurityGroupIds")
    restricted = restricted_default_groups(template)
    if not restricted.any:
        return Compliant()
    vpcs, some_unknown = compute_environment_vpcs(resource)
    hit = sorted(vpcs & restricted.vpcs)
    if not hit:
        if some_unknown or restricted.some_unlinked:
            return Unverifiable(
                f"compute environment {resource.display_name} sets no SecurityGroupIds, so its MNP task "
                f"interfaces get the VPC's default group, and the template restricts a default group "
                f"({RESTRICT_DEFAULT_SECURITY_GROUP}) that cannot be tied to its subnets' VPC"
            )
        return Compliant()
    note = ""
    launch_template = launch_template_of(resource)
    if isinstance(launch_template, Resource) and launch_template_security_groups(launch_template):
        note = (
            f" The security groups of launch template {launch_template.display_name} go to the instances' own "
            "interfaces, not to the task interfaces."
        )
    return NonCompliant(
        f"Compute environment {resource.display_name} sets no SecurityGroupIds, so its MNP task interfaces get "
        f"the default security group of VPC {', '.join(hit)}, and the template restricts that group "
        f"({RESTRICT_DEFAULT_SECURITY_GROUP} removes its rules, including the self-referencing one): the "
        f"nodes cannot reach each other.{note}"
    )


RULE = Rule(
    id="MNP111",
    level=Level.WARNING,
    resource_type=COMPUTE_ENVIRONMENT,
    info="An MNP compute environment sets no SecurityGroupIds and the template restricts the VPC's default "
    "security group.",
    explanation="The network interfaces of an MNP task use the compute environment's SecurityGroupIds, or the "
    "VPC's default security group when there are none. The CDK's restrictDefaultSecurityGroup feature flag "
    f"(on in new apps) adds {RESTRICT_DEFAULT_SECURITY_GROUP}, which removes every rule of that default "
    "group, so the nodes of an MNP job cannot reach each other and the job hangs at start-up. A launch "
    "template's groups do not reach the task interfaces.",
    fix=_FIX,
    source="https://docs.aws.amazon.com/batch/latest/userguide/mnp-ce.html; "
    "https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_ec2.Vpc.html (restrictDefaultSecurityGroup)",
    check=check,
)
