"""MNP014: an MNP compute environment uses a cluster placement group across more than one Availability Zone.

The strategy is known only for a placement group defined in the template; a group named by a literal (or
imported) name has an unknown strategy. AZs are compared as
:func:`~mnp_toolkit.lint.model.network.definitely_different_zones` allows: names with names, zone IDs with zone
IDs, ``Fn::GetAZs`` positions by index. Where the AZs cannot be told apart the rule reports nothing (or
an info).
"""

from __future__ import annotations

from typing import Any

from mnp_toolkit.lint.model.compute import mnp_ce_scope, placement_group_of
from mnp_toolkit.lint.model.network import (
    definitely_different_zones,
    describe_zone,
    subnet_availability_zone,
    subnets_of,
)
from mnp_toolkit.lint.model.resource_types import COMPUTE_ENVIRONMENT
from mnp_toolkit.lint.rule import Compliant, Level, NonCompliant, NotApplicable, Rule, RuleResult, Unverifiable
from mnp_toolkit.lint.template import UNKNOWN, Resource, Template, same_text


def _spread_pair(zones: list[tuple[Resource, Any]]) -> tuple[tuple[Resource, Any], tuple[Resource, Any]] | None:
    for position, first in enumerate(zones):
        for second in zones[position + 1 :]:
            if definitely_different_zones(first[1], second[1]):
                return first, second
    return None


def check(resource: Resource, template: Template) -> RuleResult:
    if (scope := mnp_ce_scope(resource)) is not None:
        return scope
    group = placement_group_of(resource)
    if group is None:
        return NotApplicable("no placement group (MNP101 warns about that)")
    if isinstance(group, Resource):
        strategy = group.get("Strategy")
        if isinstance(strategy, str) and not same_text(strategy, "cluster"):
            return NotApplicable(f"placement group strategy {strategy} is not cluster")
        cluster_known = same_text(strategy, "cluster")
        group_name = group.display_name
    else:
        cluster_known = False
        group_name = str(group) if isinstance(group, str) else "(not fixed by the template)"
    subnets = subnets_of(resource)
    if subnets is UNKNOWN:
        return Unverifiable(f"the subnets of compute environment {resource.display_name} are not fixed by the template")
    zones = [(subnet, subnet_availability_zone(subnet)) for subnet in subnets if isinstance(subnet, Resource)]
    known = [(subnet, zone) for subnet, zone in zones if zone is not UNKNOWN]
    pair = _spread_pair(known)
    if pair is None:
        if len(known) < len(subnets) and len(subnets) > 1:
            return Unverifiable(
                f"the Availability Zones of some subnets of compute environment {resource.display_name} are "
                "not fixed by the template, so a single-AZ cluster placement group cannot be confirmed"
            )
        return Compliant()
    distinct: list[Any] = []
    for _, zone in known:
        if all(definitely_different_zones(zone, seen) for seen in distinct):
            distinct.append(zone)
    listing = ", ".join(f"{subnet.display_name} in {describe_zone(zone)}" for subnet, zone in known)
    if not cluster_known:
        return Unverifiable(
            f"compute environment {resource.display_name} spans more than one Availability Zone ({listing}) "
            f"and the strategy of its placement group {group_name} is not fixed by the template; a cluster "
            "placement group must stay in one AZ"
        )
    return NonCompliant(
        f"Compute environment {resource.display_name} uses cluster placement group {group_name} but its subnets "
        f"span {len(distinct)} Availability Zones ({listing}); a cluster placement group lives in one AZ."
    )


RULE = Rule(
    id="MNP014",
    level=Level.ERROR,
    resource_type=COMPUTE_ENVIRONMENT,
    info="A cluster placement group is used and the MNP compute environment's subnets span several AZs.",
    explanation="A cluster placement group packs instances close together inside one Availability Zone; "
    "AWS Batch documents that MNP compute environments should use a cluster placement group in a single "
    "AZ. With subnets in several AZs, instances launched outside the group's AZ fail to launch "
    "and the nodes of a job cannot be placed together.",
    fix="Give the MNP compute environment subnets of one Availability Zone only (aws-cdk-lib "
    "vpcSubnets={subnetType: PRIVATE_WITH_EGRESS, availabilityZones: [one AZ]}; the toolkit's "
    "MnpComputeEnvironment does this).",
    source="https://docs.aws.amazon.com/batch/latest/userguide/mnp-ce.html",
    check=check,
)
