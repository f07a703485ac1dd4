"""MNP102 (warning): no security group of an MNP compute environment admits all traffic from itself or
from the environment's other groups.

The groups are the compute environment's own ``SecurityGroupIds``: those are what the MNP task interfaces
carry (:func:`~mnp_toolkit.lint.model.security_groups.task_security_groups`).

Looks at inline ``SecurityGroupIngress`` and at ``AWS::EC2::SecurityGroupIngress`` resources: a rule
counts when its ``SourceSecurityGroupId`` is one of the environment's groups and its ``IpProtocol`` is
``-1`` (MPI, NCCL and EFA need every protocol and port). Groups the template does not define may carry
such rules elsewhere: then the rule gives an info, not a warning.
"""

from __future__ import annotations

from mnp_toolkit.lint.model.compute import mnp_ce_scope
from mnp_toolkit.lint.model.naming import describe
from mnp_toolkit.lint.model.resource_types import COMPUTE_ENVIRONMENT
from mnp_toolkit.lint.model.security_groups import (
    group_key,
    has_unresolved_rules,
    rule_allows_all_traffic,
    rule_peer_group,
    security_group_rules,
    task_security_groups,
)
from mnp_toolkit.lint.rule import Compliant, Level, NonCompliant, Rule, RuleResult, Unverifiable
from mnp_toolkit.lint.template import UNKNOWN, Resource, Template


def check(resource: Resource, template: Template) -> RuleResult:
    if (scope := mnp_ce_scope(resource, ec2_capacity=True)) is not None:
        return scope
    name = resource.display_name
    groups = task_security_groups(resource)
    if groups is UNKNOWN:
        return Unverifiable(f"the security groups of compute environment {name} are not fixed by the template")
    if not groups:
        return Unverifiable(
            f"compute environment {name} sets no SecurityGroupIds, so its MNP task interfaces get the VPC's "
            "default group, whose rules the template does not show (MNP111 reports a default group the "
            "template restricts)"
        )
    own = {group_key(group) for group in groups if group is not UNKNOWN}
    undecided = any(not isinstance(group, Resource) for group in groups)
    for group in groups:
        if not isinstance(group, Resource):
            continue
        undecided = undecided or has_unresolved_rules(group, "ingress")
        for rule in security_group_rules(group, "ingress"):
            peer = rule_peer_group(rule)
            if peer is None:
                continue
            allows_all = rule_allows_all_traffic(rule)
            if peer is UNKNOWN or allows_all is UNKNOWN:
                undecided = True
                continue
            if group_key(peer) in own and allows_all:
                return Compliant()
    if undecided:
        return Unverifiable(
            f"no rule in the template admits all traffic between the security groups of compute environment "
            f"{name}, but some groups or rules are not fixed by the template "
            f"({', '.join(describe(group) for group in groups)})"
        )
    return NonCompliant(
        f"No security group of compute environment {name} ({', '.join(describe(group) for group in groups)}) "
        "admits all traffic (IpProtocol -1) from itself or from the environment's other groups: the nodes of an "
        "MNP job cannot reach each other."
    )


RULE = Rule(
    id="MNP102",
    level=Level.WARNING,
    resource_type=COMPUTE_ENVIRONMENT,
    info="No security group of an MNP compute environment admits traffic from itself.",
    explanation="The nodes of a multi-node parallel job talk to each other over their awsvpc network "
    "interfaces, which carry the compute environment's security groups. MPI, NCCL and EFA need all "
    "protocols and ports between the nodes (EFA requires a security group that admits all traffic from "
    "itself); without such a self-referencing rule the main node never sees its children and the job hangs.",
    fix="Add an ingress rule with IpProtocol -1 whose source is the group itself (aws-cdk-lib: "
    "securityGroup.connections.allowInternally(ec2.Port.allTraffic()); the toolkit's MnpComputeEnvironment "
    "adds it).",
    source="https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/efa-start.html",
    check=check,
)
