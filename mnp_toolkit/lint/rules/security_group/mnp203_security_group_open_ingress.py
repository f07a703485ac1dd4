"""MNP203 (security): a security group of a compute environment admits ingress from 0.0.0.0/0 or ::/0.

"Of a compute environment" means any compute environment of the template (MNP or not) uses the group,
directly in ``SecurityGroupIds`` or through its launch template. Inline ``SecurityGroupIngress`` rules and
``AWS::EC2::SecurityGroupIngress`` resources are checked; every open rule is reported.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from mnp_toolkit.lint.model.naming import describe, render_value
from mnp_toolkit.lint.model.resource_types import SECURITY_GROUP
from mnp_toolkit.lint.model.security_groups import (
    compute_environments_of_security_group,
    has_unresolved_rules,
    security_group_rules,
)
from mnp_toolkit.lint.rule import Compliant, Level, NonCompliant, NotApplicable, Problem, Rule, RuleResult, Unverifiable
from mnp_toolkit.lint.template import UNKNOWN, Resource, Template


def _is_everywhere(cidr: object) -> bool:
    if not isinstance(cidr, str):
        return False
    try:
        return ipaddress.ip_network(cidr.strip(), strict=False).prefixlen == 0
    except ValueError:
        return False


_ICMP = frozenset({"icmp", "1", "icmpv6", "58"})


def _ports(properties: object) -> str:
    """What a rule admits, in words ("tcp port 22", "all traffic"); values the template does not fix are
    said to be fixed only at deploy time, never shown as the linter's placeholder."""
    if not isinstance(properties, Mapping):
        return "traffic"
    protocol = properties.get("IpProtocol")
    if protocol is UNKNOWN:
        what = "traffic of a protocol fixed only at deploy time"
    elif str(protocol).strip().lower() in {"-1", "all"}:
        return "all traffic"
    else:
        what = describe(protocol)
    low, high = properties.get("FromPort"), properties.get("ToPort")
    if low is UNKNOWN or high is UNKNOWN:
        return f"{what} on ports fixed only at deploy time"
    if low is None:
        return what
    if str(protocol).strip().lower() in _ICMP:
        # For ICMP, FromPort is the ICMP type and ToPort the code, -1 meaning all (EC2 API IpPermission).
        kind = "all types" if str(low) == "-1" else f"type {render_value(low)}"
        code = "" if high is None or str(high) == "-1" else f", code {render_value(high)}"
        return f"{what} ({kind}{code})"
    if high is None or low == high:
        return f"{what} port {render_value(low)}"
    return f"{what} ports {render_value(low)}-{render_value(high)}"


def check(resource: Resource, template: Template) -> RuleResult:
    users = compute_environments_of_security_group(resource)
    if not users:
        return NotApplicable("not a security group of a compute environment of the template")
    used_by = ", ".join(ce.display_name for ce in users)
    problems: list[Problem] = []
    unknown: list[str] = []
    for rule in security_group_rules(resource, "ingress"):
        where = "an inline SecurityGroupIngress rule" if rule.source is resource else f"{rule.source.display_name}"
        for key in ("CidrIp", "CidrIpv6"):
            cidr = rule.properties.get(key)
            if cidr is UNKNOWN:
                unknown.append(f"{key} of {where} is not fixed")
            elif _is_everywhere(cidr):
                problems.append(
                    Problem(
                        f"Security group {resource.display_name} (of compute environment {used_by}) admits "
                        f"{_ports(rule.properties)} from {describe(cidr)} ({where}): anyone on the internet "
                        "that can route to the nodes may reach them."
                    )
                )
    if has_unresolved_rules(resource, "ingress"):
        unknown.append("some of its inline SecurityGroupIngress rules are not fixed")
    if problems:
        return NonCompliant(*problems)
    if unknown:
        return Unverifiable(f"security group {resource.display_name}: {'; '.join(unknown)}")
    return Compliant()


RULE = Rule(
    id="MNP203",
    level=Level.ERROR,
    resource_type=SECURITY_GROUP,
    info="A security group of a compute environment admits ingress from 0.0.0.0/0 or ::/0.",
    explanation="Batch nodes need traffic from each other, not from the internet. A rule open to 0.0.0.0/0 "
    "or ::/0 exposes every node (SSH, MPI daemons, Jupyter...) to any address that can route to it -- "
    "the moment a subnet, peering or load balancer makes it reachable. cdk-nag does not look at the "
    "groups of Batch compute environments through launch templates, so this pack checks them.",
    fix="Remove the 0.0.0.0/0 and ::/0 ingress rules; admit node-to-node traffic with a self-referencing "
    "rule (aws-cdk-lib securityGroup.connections.allowInternally(ec2.Port.allTraffic())) and other peers by "
    "security group or a narrow CIDR.",
    source="https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html",
    check=check,
)
