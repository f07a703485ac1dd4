"""MNP semantics over a :class:`~mnp_toolkit.template.Template`: which resources are MNP job definitions,
queues and compute environments, and the facts rules ask about them (subnets, AZs, routes, security
groups, launch templates, node ranges).

Terms (from the rule catalog):

* **MNP job definition**: ``AWS::Batch::JobDefinition`` with ``Type: multinode``.
* **MNP queue**: a job queue with resource metadata ``{"mnp:queue": true}``. Where a template has MNP job
  definitions and marks no queue, every job queue in it is taken as an MNP queue.
* **MNP compute environment**: one in the ``ComputeEnvironmentOrder`` of an MNP queue.

Everything returns :data:`~mnp_toolkit.template.UNKNOWN` (or ``None`` for "absent") rather than guessing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mnp_toolkit.job_definitions import mnp_job_definitions
from mnp_toolkit.template import (
    UNKNOWN,
    AvailabilityZone,
    Resource,
    ResourceRef,
    Template,
    as_bool,
    same_text,
)

JOB_QUEUE = "AWS::Batch::JobQueue"
COMPUTE_ENVIRONMENT = "AWS::Batch::ComputeEnvironment"
LAUNCH_TEMPLATE = "AWS::EC2::LaunchTemplate"
SECURITY_GROUP = "AWS::EC2::SecurityGroup"
SECURITY_GROUP_INGRESS = "AWS::EC2::SecurityGroupIngress"
SECURITY_GROUP_EGRESS = "AWS::EC2::SecurityGroupEgress"
SUBNET = "AWS::EC2::Subnet"
ROUTE = "AWS::EC2::Route"
ROUTE_TABLE_ASSOCIATION = "AWS::EC2::SubnetRouteTableAssociation"
PLACEMENT_GROUP = "AWS::EC2::PlacementGroup"
VPC_ENDPOINT = "AWS::EC2::VPCEndpoint"
NAT_GATEWAY = "AWS::EC2::NatGateway"
INTERNET_GATEWAY = "AWS::EC2::InternetGateway"

MNP_QUEUE_METADATA_KEY = "mnp:queue"
HOW_TO_MARK_QUEUES = (
    'mark the queues that run MNP jobs with resource metadata {"mnp:queue": true} '
    "(the toolkit's MnpJobQueue does this; in CDK: queue.node.default_child.add_metadata('mnp:queue', True))"
)

# ------------------------------------------------------------------------------ queues and CEs


def is_marked_mnp_queue(resource: Resource) -> bool:
    return resource.type == JOB_QUEUE and as_bool(resource.metadata.get(MNP_QUEUE_METADATA_KEY)) is True


@dataclass(frozen=True)
class MnpQueues:
    queues: list[Resource]
    implicit: bool  # True when no queue is marked and every queue is taken as an MNP queue


def mnp_queues(template: Template) -> MnpQueues:
    marked = [queue for queue in template.of_type(JOB_QUEUE) if is_marked_mnp_queue(queue)]
    if marked:
        return MnpQueues(marked, implicit=False)
    if mnp_job_definitions(template):
        return MnpQueues(template.of_type(JOB_QUEUE), implicit=True)
    return MnpQueues([], implicit=False)


def queue_compute_environments(queue: Resource) -> list[Any]:
    """The CEs of a queue, in order: a Resource where it is in the template, else the resolved value."""
    order = queue.get("ComputeEnvironmentOrder")
    if not isinstance(order, list):
        return [UNKNOWN] if order is UNKNOWN else []
    environments: list[Any] = []
    for entry in order:
        value = entry.get("ComputeEnvironment") if isinstance(entry, Mapping) else UNKNOWN
        target = queue.template.resource(value, COMPUTE_ENVIRONMENT) if isinstance(value, ResourceRef) else None
        environments.append(target if target is not None else value)
    return environments


def mnp_compute_environments(template: Template) -> list[Resource]:
    seen: dict[str, Resource] = {}
    for queue in mnp_queues(template).queues:
        for environment in queue_compute_environments(queue):
            if isinstance(environment, Resource):
                seen.setdefault(environment.logical_id, environment)
    return list(seen.values())


def is_mnp_compute_environment(resource: Resource) -> bool:
    if resource.type != COMPUTE_ENVIRONMENT:
        return False
    return any(ce.logical_id == resource.logical_id for ce in mnp_compute_environments(resource.template))


def queues_of_compute_environment(resource: Resource) -> list[Resource]:
    return [
        queue
        for queue in mnp_queues(resource.template).queues
        if any(
            isinstance(env, Resource) and env.logical_id == resource.logical_id
            for env in queue_compute_environments(queue)
        )
    ]


def compute_type(resource: Resource) -> Any:
    """``ComputeResources.Type`` upper-cased (EC2, SPOT, FARGATE, FARGATE_SPOT), None or UNKNOWN."""
    value = resource.get("ComputeResources", "Type")
    return value.strip().upper() if isinstance(value, str) else value


def is_unmanaged(resource: Resource) -> bool:
    return same_text(resource.get("Type"), "UNMANAGED")


# ------------------------------------------------------------------------------ launch templates


def launch_template_of(ce: Resource) -> Resource | Any | None:
    """The ``AWS::EC2::LaunchTemplate`` a CE uses: Resource, None (no launch template) or UNKNOWN."""
    spec = ce.get("ComputeResources", "LaunchTemplate")
    if spec is None:
        return None
    if not isinstance(spec, Mapping):
        return UNKNOWN
    for key in ("LaunchTemplateId", "LaunchTemplateName"):
        if key in spec:
            target = ce.template.resource(spec[key], LAUNCH_TEMPLATE)
            if target is not None:
                return target
            return UNKNOWN
    return UNKNOWN


def compute_environments_using_launch_template(launch_template: Resource) -> list[Resource]:
    return [
        ce
        for ce in launch_template.template.of_type(COMPUTE_ENVIRONMENT)
        if isinstance(found := launch_template_of(ce), Resource) and found.logical_id == launch_template.logical_id
    ]


# ------------------------------------------------------------------------------ security groups


def security_groups_of(ce: Resource) -> list[Any] | Any:
    """The security groups of a CE: ``SecurityGroupIds``, or where absent its launch template's.

    Elements are Resources (groups in the template) or resolved values (ids, UNKNOWN). Returns UNKNOWN
    when the list itself cannot be known and None when the CE names no security group anywhere.
    """
    ids = ce.get("ComputeResources", "SecurityGroupIds")
    if ids is None:
        launch_template = launch_template_of(ce)
        if launch_template is UNKNOWN:
            return UNKNOWN
        if not isinstance(launch_template, Resource):
            return None
        data = launch_template.get("LaunchTemplateData")
        if not isinstance(data, Mapping):
            return UNKNOWN if data is UNKNOWN else None
        ids = data.get("SecurityGroupIds")
        if ids is None:
            interfaces = data.get("NetworkInterfaces")
            if isinstance(interfaces, list):
                ids = []
                for interface in interfaces:
                    groups = interface.get("Groups") if isinstance(interface, Mapping) else UNKNOWN
                    if isinstance(groups, list):
                        ids.extend(groups)
                    elif groups is not None:
                        return UNKNOWN
                ids = list(dict.fromkeys(_hashable(item) for item in ids))
            elif interfaces is not None:
                return UNKNOWN
        if ids is None:
            ids = data.get("SecurityGroups")
        if ids is None:
            return None
    if not isinstance(ids, list):
        return UNKNOWN
    return [_group_target(ce.template, item) for item in ids]


def _hashable(value: Any) -> Any:
    return value if not isinstance(value, dict | list) else repr(value)


def _group_target(template: Template, value: Any) -> Any:
    if isinstance(value, ResourceRef):
        target = template.resource(value, SECURITY_GROUP)
        if target is not None:
            return target
    return value


def group_key(group: Any) -> Any:
    """A comparable identity for a group entry (logical ID for template groups)."""
    return group.logical_id if isinstance(group, Resource) else _hashable(group)


@dataclass(frozen=True)
class SecurityGroupRule:
    """One ingress or egress rule of a group, from inline rules or standalone rule resources (resolved)."""

    group: Resource
    direction: str  # "ingress" | "egress"
    properties: Mapping[str, Any]
    source: Resource  # the SecurityGroup (inline) or the Ingress/Egress resource


def security_group_rules(group: Resource, direction: str) -> list[SecurityGroupRule]:
    inline_key = "SecurityGroupIngress" if direction == "ingress" else "SecurityGroupEgress"
    rules: list[SecurityGroupRule] = []
    inline = group.get(inline_key)
    if isinstance(inline, list):
        rules.extend(SecurityGroupRule(group, direction, rule, group) for rule in inline if isinstance(rule, Mapping))
    standalone_type = SECURITY_GROUP_INGRESS if direction == "ingress" else SECURITY_GROUP_EGRESS
    for resource in group.template.of_type(standalone_type):
        target = group.template.resource(resource.get("GroupId"), SECURITY_GROUP)
        if target is not None and target.logical_id == group.logical_id:
            rules.append(SecurityGroupRule(group, direction, resource.get() or {}, resource))
    return rules


def rule_peer_group(rule: SecurityGroupRule) -> Resource | Any | None:
    """The peer group of a rule (``SourceSecurityGroupId`` / ``DestinationSecurityGroupId``)."""
    key = "SourceSecurityGroupId" if rule.direction == "ingress" else "DestinationSecurityGroupId"
    value = rule.properties.get(key)
    if value is None:
        return None
    return _group_target(rule.group.template, value)


def rule_allows_all_traffic(rule: SecurityGroupRule) -> Any:
    """True when the rule admits every protocol and port (``IpProtocol: -1``, or tcp+udp 0-65535 is not
    enough for EFA/MPI so only -1 counts); UNKNOWN when unresolvable."""
    protocol = rule.properties.get("IpProtocol")
    if protocol is UNKNOWN:
        return UNKNOWN
    return str(protocol).strip() in {"-1", "all"}


# ---------------------------------------------------------------------------- subnets and routes


def subnets_of(ce: Resource) -> list[Any] | Any:
    """The subnets of a CE: Resource for subnets in the template, resolved values otherwise.

    UNKNOWN when the list cannot be resolved; ``[]`` when the CE lists none (Fargate/unmanaged)."""
    subnets = ce.get("ComputeResources", "Subnets")
    if subnets is None:
        return []
    if not isinstance(subnets, list):
        return UNKNOWN
    result: list[Any] = []
    for item in subnets:
        target = ce.template.resource(item, SUBNET) if isinstance(item, ResourceRef) else None
        result.append(target if target is not None else item)
    return result


def subnet_availability_zone(subnet: Any) -> Any:
    """An AZ identity (a name, an :class:`AvailabilityZone`, or an ``AvailabilityZoneId``); UNKNOWN else."""
    if not isinstance(subnet, Resource):
        return UNKNOWN
    zone = subnet.get("AvailabilityZone")
    if isinstance(zone, str | AvailabilityZone):
        return zone
    zone_id = subnet.get("AvailabilityZoneId")
    if isinstance(zone_id, str):
        return ("zone-id", zone_id)
    return UNKNOWN


def route_tables_of(subnet: Resource) -> list[Resource] | Any:
    """Route tables associated with a subnet by ``AWS::EC2::SubnetRouteTableAssociation``.

    UNKNOWN when none is associated in the template (the VPC's main table applies, which a template
    of new subnets can still define only through an association) or an association cannot be resolved.
    """
    template = subnet.template
    tables: list[Resource] = []
    for association in template.of_type(ROUTE_TABLE_ASSOCIATION):
        target = template.resource(association.get("SubnetId"), SUBNET)
        if target is None or target.logical_id != subnet.logical_id:
            continue
        table = template.resource(association.get("RouteTableId"), "AWS::EC2::RouteTable")
        if table is None:
            return UNKNOWN
        tables.append(table)
    return tables if tables else UNKNOWN


def routes_of(route_table: Resource) -> list[Resource]:
    template = route_table.template
    return [
        route
        for route in template.of_type(ROUTE)
        if (target := template.resource(route.get("RouteTableId"), "AWS::EC2::RouteTable")) is not None
        and target.logical_id == route_table.logical_id
    ]


def route_target_kind(route: Resource) -> str | Any:
    """``internet-gateway``, ``nat-gateway``, ``other`` or UNKNOWN for a route's target."""
    if route.get("GatewayId") is not None:
        gateway = route.get("GatewayId")
        target = route.template.resource(gateway)
        if target is not None:
            return "internet-gateway" if target.type == INTERNET_GATEWAY else "other"
        if isinstance(gateway, str):
            return "internet-gateway" if gateway.startswith("igw-") else "other"
        return UNKNOWN
    if route.get("NatGatewayId") is not None:
        return "nat-gateway"
    for key in (
        "TransitGatewayId",
        "VpcPeeringConnectionId",
        "InstanceId",
        "NetworkInterfaceId",
        "VpcEndpointId",
        "EgressOnlyInternetGatewayId",
        "CarrierGatewayId",
        "LocalGatewayId",
        "CoreNetworkArn",
    ):
        if route.get(key) is not None:
            return "other"
    return UNKNOWN


def is_default_route(route: Resource) -> Any:
    cidr = route.get("DestinationCidrBlock")
    if cidr is UNKNOWN:
        return UNKNOWN
    return cidr == "0.0.0.0/0"


def placement_group_of(ce: Resource) -> Resource | str | Any | None:
    """The placement group of a CE: the template's Resource, a name (str), None, or UNKNOWN."""
    value = ce.get("ComputeResources", "PlacementGroup")
    if value is None:
        return None
    if isinstance(value, ResourceRef):
        target = ce.template.resource(value, PLACEMENT_GROUP)
        return target if target is not None else UNKNOWN
    return value


def instance_types_of(ce: Resource) -> list[Any] | Any:
    """``ComputeResources.InstanceTypes`` resolved (lower-cased strings), None when absent."""
    value = ce.get("ComputeResources", "InstanceTypes")
    if value is None or value is UNKNOWN:
        return value
    if not isinstance(value, list):
        return UNKNOWN
    return [item.strip().lower() if isinstance(item, str) else UNKNOWN for item in value]


def first_known(values: Sequence[Any]) -> Any:
    return next((value for value in values if value is not UNKNOWN), UNKNOWN)
