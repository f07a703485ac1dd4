"""MNP012: a subnet of an MNP compute environment is public.

Public means a route table of the subnet sends the default route (``0.0.0.0/0``) to an internet gateway
(:func:`mnp_toolkit.lint.model.network.subnet_exposure`). ``MapPublicIpOnLaunch`` alone does not: with a default
route through a NAT gateway such a subnet works for MNP nodes. Subnets that are not resources of the
template (literal IDs, imports, parameters) cannot be checked and give no error.
"""

from __future__ import annotations

from mnp_toolkit.lint.model.compute import mnp_ce_scope
from mnp_toolkit.lint.model.naming import describe
from mnp_toolkit.lint.model.network import subnet_exposure, subnets_of
from mnp_toolkit.lint.model.resource_types import COMPUTE_ENVIRONMENT
from mnp_toolkit.lint.rule import Compliant, Level, NonCompliant, Problem, Rule, RuleResult, Unverifiable
from mnp_toolkit.lint.template import UNKNOWN, Resource, Template


def check(resource: Resource, template: Template) -> RuleResult:
    if (scope := mnp_ce_scope(resource)) is not None:
        return scope
    subnets = subnets_of(resource)
    if subnets is UNKNOWN:
        return Unverifiable(f"the subnets of compute environment {resource.display_name} are not fixed by the template")
    problems: list[Problem] = []
    unknown: list[str] = []
    for subnet in subnets:
        if not isinstance(subnet, Resource):
            unknown.append(f"subnet {describe(subnet)} is not defined in the template")
            continue
        exposure = subnet_exposure(subnet)
        if exposure.public:
            problems.append(
                Problem(
                    f"Compute environment {resource.display_name} uses public subnet {subnet.display_name}: "
                    f"{'; '.join(exposure.reasons)}. MNP node containers (awsvpc) get no public IP, so they "
                    "have no outbound access there.",
                    f"Use private subnets with a NAT gateway for {resource.display_name} (aws-cdk-lib "
                    "ManagedEc2EcsComputeEnvironment vpcSubnets: {subnetType: PRIVATE_WITH_EGRESS}).",
                )
            )
        elif exposure.unknown:
            unknown.append(f"subnet {subnet.display_name}: {'; '.join(exposure.unknown)}")
    if problems:
        return NonCompliant(*problems)
    if unknown:
        return Unverifiable(
            f"compute environment {resource.display_name}: {'; '.join(unknown)}, so it cannot be shown private"
        )
    return Compliant()


RULE = Rule(
    id="MNP012",
    level=Level.ERROR,
    resource_type=COMPUTE_ENVIRONMENT,
    info="A subnet of an MNP compute environment is public.",
    explanation="Multi-node parallel jobs use the awsvpc network mode: each node container gets its own "
    "network interface with a private IP only, never a public one. In a public subnet (its default route "
    "0.0.0.0/0 goes to an internet gateway) such an interface has no outbound access, so nodes cannot pull "
    "images, reach ECS or ship logs, and the job fails. MapPublicIpOnLaunch alone is not public: a subnet "
    "whose default route goes through a NAT gateway works.",
    fix="Place the MNP compute environment in private subnets whose default route goes to a NAT gateway "
    "(aws-cdk-lib: vpcSubnets={subnetType: SubnetType.PRIVATE_WITH_EGRESS}).",
    source="https://docs.aws.amazon.com/batch/latest/userguide/mnp-ce.html",
    check=check,
)
