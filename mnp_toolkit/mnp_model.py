"""MNP semantics over a :class:`~mnp_toolkit.template.Template`: which resources are MNP job definitions,
queues and compute environments, and the facts rules ask about them (subnets, AZs, routes, security
groups, launch templates, node ranges).

Terms (from the rule catalog):

* **MNP job definition**: ``AWS::Batch::JobDefinition`` with ``Type: multinode``.
* **MNP queue**: a job queue with resource metadata ``{"mnp:queue": true}``. Where a template has MNP job
  definitions and marks no queue, every job queue in it is taken as an MNP queue.
* **MNP compute environment**: one in the ``ComputeEnvironmentOrder`` of an MNP queue.

Everything returns :data:`~mnp_toolkit.template.UNKNOWN` (or ``None`` for "absent") rather than guessing.

Rules ask these questions for every resource they check, many of them about the whole template ("which
CEs use this launch template?"). Whole-template answers are built once per template as indexes
(:func:`~mnp_toolkit.engine.per_template`), per-resource answers once per resource
(:func:`~mnp_toolkit.engine.per_resource`), so a lint stays linear in the template's size. Cached answers
are shared: callers must not change the lists and dicts they get.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mnp_toolkit import instance_types
from mnp_toolkit.engine import per_resource, per_template
from mnp_toolkit.job_definitions import mnp_job_definitions
from mnp_toolkit.rules._base import NotApplicable
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
ROUTE_TABLE = "AWS::EC2::RouteTable"
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


@per_template
def mnp_queues(template: Template) -> MnpQueues:
    marked = [queue for queue in template.of_type(JOB_QUEUE) if is_marked_mnp_queue(queue)]
    if marked:
        return MnpQueues(marked, implicit=False)
    if mnp_job_definitions(template):
        return MnpQueues(template.of_type(JOB_QUEUE), implicit=True)
    return MnpQueues([], implicit=False)


@per_template
def _mnp_queue_ids(template: Template) -> frozenset[str]:
    return frozenset(queue.logical_id for queue in mnp_queues(template).queues)


def is_mnp_queue(resource: Resource) -> bool:
    """True when ``resource`` is one of :func:`mnp_queues` (marked, or implicit)."""
    return resource.logical_id in _mnp_queue_ids(resource.template)


@per_resource
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


@per_template
def mnp_compute_environments(template: Template) -> list[Resource]:
    seen: dict[str, Resource] = {}
    for queue in mnp_queues(template).queues:
        for environment in queue_compute_environments(queue):
            if isinstance(environment, Resource):
                seen.setdefault(environment.logical_id, environment)
    return list(seen.values())


@per_template
def _mnp_compute_environment_ids(template: Template) -> frozenset[str]:
    return frozenset(ce.logical_id for ce in mnp_compute_environments(template))


def is_mnp_compute_environment(resource: Resource) -> bool:
    if resource.type != COMPUTE_ENVIRONMENT:
        return False
    return resource.logical_id in _mnp_compute_environment_ids(resource.template)


@per_template
def _mnp_queues_by_compute_environment(template: Template) -> dict[str, list[Resource]]:
    """CE logical ID -> the MNP queues whose order names it (each queue once, in queue order)."""
    index: dict[str, list[Resource]] = {}
    for queue in mnp_queues(template).queues:
        names = {env.logical_id for env in queue_compute_environments(queue) if isinstance(env, Resource)}
        for name in names:
            index.setdefault(name, []).append(queue)
    return index


def queues_of_compute_environment(resource: Resource) -> list[Resource]:
    return list(_mnp_queues_by_compute_environment(resource.template).get(resource.logical_id, ()))


@per_resource
def compute_type(resource: Resource) -> Any:
    """``ComputeResources.Type`` upper-cased (EC2, SPOT, FARGATE, FARGATE_SPOT), None or UNKNOWN."""
    value = resource.get("ComputeResources", "Type")
    return value.strip().upper() if isinstance(value, str) else value


def is_unmanaged(resource: Resource) -> bool:
    return same_text(resource.get("Type"), "UNMANAGED")


# ------------------------------------------------------------------------------ launch templates


@per_resource
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


@per_template
def _compute_environments_by_launch_template(template: Template) -> dict[str, list[Resource]]:
    """Launch template logical ID -> the CEs whose ``LaunchTemplate`` names it (template order)."""
    index: dict[str, list[Resource]] = {}
    for ce in template.of_type(COMPUTE_ENVIRONMENT):
        found = launch_template_of(ce)
        if isinstance(found, Resource):
            index.setdefault(found.logical_id, []).append(ce)
    return index


def compute_environments_using_launch_template(launch_template: Resource) -> list[Resource]:
    index = _compute_environments_by_launch_template(launch_template.template)
    return list(index.get(launch_template.logical_id, ()))


# ------------------------------------------------------------------------------ security groups


@per_resource
def security_groups_of(ce: Resource) -> list[Any] | Any:
    """The security groups of a CE's *instances*: ``SecurityGroupIds``, or where absent its launch
    template's ("If security groups are specified using both securityGroupIds and launchTemplate, the
    values in securityGroupIds are used", API ``ComputeResource``).

    Elements are Resources (groups in the template) or resolved values (ids, UNKNOWN). Returns UNKNOWN
    when the list itself cannot be known and None when the CE names no security group anywhere. The MNP
    task interfaces use :func:`task_security_groups` instead.
    """
    ids = ce.get("ComputeResources", "SecurityGroupIds")
    if ids is None:
        launch_template = launch_template_of(ce)
        if launch_template is UNKNOWN:
            return UNKNOWN
        if not isinstance(launch_template, Resource):
            return None
        ids = launch_template_security_groups(launch_template)
        if ids is None or ids is UNKNOWN:
            return ids
    if not isinstance(ids, list):
        return UNKNOWN
    return [_group_target(ce.template, item) for item in ids]


def launch_template_security_groups(launch_template: Resource) -> list[Any] | Any:
    """The groups a launch template gives an instance (``SecurityGroupIds``, its network interfaces'
    ``Groups``, or ``SecurityGroups``), unresolved into resources; None when it names none."""
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
            ids = list(dict.fromkeys(_hashable(item) for item in ids)) or None
        elif interfaces is not None:
            return UNKNOWN
    if ids is None:
        ids = data.get("SecurityGroups")
    return ids


@per_resource
def task_security_groups(ce: Resource) -> list[Any] | Any:
    """The security groups the MNP task interfaces of a CE get: exactly its ``SecurityGroupIds`` ("The
    elastic network interfaces that are created and attached to an MNP task will use the security groups
    specified in your compute environment. If you don't specify a security group, the default security
    group for the VPC is used", Batch user guide, mnp-ce). A launch template's groups never reach them.

    Resources for template groups, resolved values otherwise; None when the CE sets none (the VPC's
    default group applies), UNKNOWN when the list is not fixed by the template.
    """
    ids = ce.get("ComputeResources", "SecurityGroupIds")
    if ids is None:
        return None
    if not isinstance(ids, list):
        return UNKNOWN
    return [_group_target(ce.template, item) for item in ids]


#: The CDK's custom resource that removes every rule of a VPC's default security group
#: (``@aws-cdk/aws-ec2:restrictDefaultSecurityGroup``), and the property naming that group.
RESTRICT_DEFAULT_SECURITY_GROUP = "Custom::VpcRestrictDefaultSG"
_RESTRICTED_GROUP_PROPERTY = "DefaultSecurityGroupId"


@dataclass(frozen=True)
class RestrictedDefaultGroups:
    """The VPCs whose default security group the template restricts: template VPCs by logical ID, and
    whether some restriction names a group the template does not link to a VPC."""

    vpcs: frozenset[str]
    some_unlinked: bool

    @property
    def any(self) -> bool:
        return bool(self.vpcs) or self.some_unlinked


@per_template
def restricted_default_groups(template: Template) -> RestrictedDefaultGroups:
    vpcs: set[str] = set()
    unlinked = False
    for resource in template.of_type(RESTRICT_DEFAULT_SECURITY_GROUP):
        value = resource.get(_RESTRICTED_GROUP_PROPERTY)
        if isinstance(value, ResourceRef) and value.attribute == "DefaultSecurityGroup":
            vpcs.add(value.logical_id)
        else:
            unlinked = True
    return RestrictedDefaultGroups(frozenset(vpcs), unlinked)


@per_resource
def compute_environment_vpcs(ce: Resource) -> tuple[frozenset[str], bool]:
    """The template VPCs (logical IDs) of a CE's subnets, and whether some subnet's VPC is not known."""
    subnets = subnets_of(ce)
    if not isinstance(subnets, list):
        return frozenset(), True
    vpcs: set[str] = set()
    unknown = False
    for subnet in subnets:
        vpc = subnet_vpc(subnet) if isinstance(subnet, Resource) else UNKNOWN
        if isinstance(vpc, ResourceRef):
            vpcs.add(vpc.logical_id)
        else:
            unknown = True
    return frozenset(vpcs), unknown or not subnets


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


def _standalone_rules_by_group(template: Template, standalone_type: str) -> dict[str, list[Resource]]:
    """Group logical ID -> the standalone ``SecurityGroupIngress``/``Egress`` resources of that group."""
    index: dict[str, list[Resource]] = {}
    for resource in template.of_type(standalone_type):
        target = template.resource(resource.get("GroupId"), SECURITY_GROUP)
        if target is not None:
            index.setdefault(target.logical_id, []).append(resource)
    return index


@per_template
def _standalone_ingress_by_group(template: Template) -> dict[str, list[Resource]]:
    return _standalone_rules_by_group(template, SECURITY_GROUP_INGRESS)


@per_template
def _standalone_egress_by_group(template: Template) -> dict[str, list[Resource]]:
    return _standalone_rules_by_group(template, SECURITY_GROUP_EGRESS)


@per_resource
def _standalone_rule_properties(rule_resource: Resource) -> Any:
    return rule_resource.get() or {}


def security_group_rules(group: Resource, direction: str) -> list[SecurityGroupRule]:
    inline_key = "SecurityGroupIngress" if direction == "ingress" else "SecurityGroupEgress"
    rules: list[SecurityGroupRule] = []
    inline = group.get(inline_key)
    if isinstance(inline, list):
        rules.extend(SecurityGroupRule(group, direction, rule, group) for rule in inline if isinstance(rule, Mapping))
    index = (_standalone_ingress_by_group if direction == "ingress" else _standalone_egress_by_group)(group.template)
    for resource in index.get(group.logical_id, ()):
        rules.append(SecurityGroupRule(group, direction, _standalone_rule_properties(resource), resource))
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
    return str(protocol).strip().lower() in {"-1", "all"}


# ---------------------------------------------------------------------------- subnets and routes


@per_resource
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


@per_resource
def route_tables_of(subnet: Resource) -> list[Resource] | Any:
    """Route tables associated with a subnet by ``AWS::EC2::SubnetRouteTableAssociation``.

    UNKNOWN when none is associated in the template (the VPC's main table applies, which a template
    of new subnets can still define only through an association) or an association cannot be resolved.
    """
    template = subnet.template
    tables: list[Resource] = []
    for association in _associations_by_subnet(template).get(subnet.logical_id, ()):
        table = template.resource(association.get("RouteTableId"), ROUTE_TABLE)
        if table is None:
            return UNKNOWN
        tables.append(table)
    return tables if tables else UNKNOWN


@per_template
def _associations_by_subnet(template: Template) -> dict[str, list[Resource]]:
    """Subnet logical ID -> its ``SubnetRouteTableAssociation`` resources (template order)."""
    index: dict[str, list[Resource]] = {}
    for association in template.of_type(ROUTE_TABLE_ASSOCIATION):
        target = template.resource(association.get("SubnetId"), SUBNET)
        if target is not None:
            index.setdefault(target.logical_id, []).append(association)
    return index


@per_template
def _routes_by_route_table(template: Template) -> dict[str, list[Resource]]:
    """Route table logical ID -> its ``AWS::EC2::Route`` resources (template order)."""
    index: dict[str, list[Resource]] = {}
    for route in template.of_type(ROUTE):
        target = template.resource(route.get("RouteTableId"), ROUTE_TABLE)
        if target is not None:
            index.setdefault(target.logical_id, []).append(route)
    return index


def routes_of(route_table: Resource) -> list[Resource]:
    return list(_routes_by_route_table(route_table.template).get(route_table.logical_id, ()))


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


@per_resource
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


# ------------------------------------------------------------------------------ naming in messages


def describe(value: Any) -> str:
    """How a rule message names a value: a template resource by its display name, a literal as itself."""
    if isinstance(value, Resource):
        return value.display_name
    if value is UNKNOWN:
        return "(a value the template does not fix)"
    if isinstance(value, ResourceRef):
        return value.logical_id if value.attribute is None else f"{value.logical_id}.{value.attribute}"
    return str(value)


# ------------------------------------------------------------------------------ CPU architectures


#: The architecture of the instance-type categories a compute environment can list.
def entry_architectures(entry: Any) -> frozenset[str] | Any:
    """The CPU architectures an ``InstanceTypes`` entry can launch (:func:`instance_types.entry_architectures`);
    UNKNOWN when the facts do not say."""
    if not isinstance(entry, str):
        return UNKNOWN
    found = instance_types.entry_architectures(entry)
    return UNKNOWN if found is None else found


@per_resource
def compute_environment_architectures(ce: Resource) -> dict[str, list[str]] | Any:
    """Architecture -> the ``InstanceTypes`` entries of ``ce`` that launch it (entries with unknown
    architecture are left out). UNKNOWN when ``InstanceTypes`` cannot be resolved; ``{}`` when absent."""
    entries = instance_types_of(ce)
    if entries is UNKNOWN:
        return UNKNOWN
    by_architecture: dict[str, list[str]] = {}
    for entry in entries or []:
        architectures = entry_architectures(entry)
        if architectures is UNKNOWN:
            continue
        for architecture in sorted(architectures):
            by_architecture.setdefault(architecture, []).append(entry)
    return by_architecture


#: ``ComputeResources.Type`` of an Amazon ECS Managed Instances compute environment (container jobs only).
ECS_MANAGED_INSTANCES = "ECS_MANAGED_INSTANCES"


def is_managed_instances(compute_type_value: Any) -> bool:
    return isinstance(compute_type_value, str) and compute_type_value.upper() == ECS_MANAGED_INSTANCES


def is_fargate(compute_type_value: Any) -> bool:
    return isinstance(compute_type_value, str) and compute_type_value.upper() in {"FARGATE", "FARGATE_SPOT"}


def is_ec2(compute_type_value: Any) -> bool:
    return isinstance(compute_type_value, str) and compute_type_value.upper() in {"EC2", "SPOT"}


# ------------------------------------------------------------------------------ launch templates (more)


@per_resource
def launch_templates_of(ce: Resource) -> tuple[list[Resource], bool]:
    """Every template launch template a CE uses (``LaunchTemplate`` and its ``Overrides``), and whether
    some reference could not be resolved (so another launch template may be used too).

    A launch template named by a literal ``LaunchTemplateName`` is matched against the
    ``LaunchTemplateName`` of the template's launch templates.
    """
    found: list[Resource] = []
    unresolved = False
    spec = ce.get("ComputeResources", "LaunchTemplate")
    if spec is None:
        return found, unresolved
    if not isinstance(spec, Mapping):
        return found, True
    overrides = spec.get("Overrides")
    specs: list[Any] = [spec]
    if isinstance(overrides, list):
        specs.extend(overrides)
    elif overrides is not None:
        unresolved = True
    for item in specs:
        if not isinstance(item, Mapping):
            unresolved = True
            continue
        target = _launch_template_target(ce.template, item)
        if target is None:
            unresolved = True
        elif target.logical_id not in {lt.logical_id for lt in found}:
            found.append(target)
    return found, unresolved


def _launch_template_target(template: Template, spec: Mapping[str, Any]) -> Resource | None:
    for key in ("LaunchTemplateId", "LaunchTemplateName"):
        if key not in spec:
            continue
        value = spec[key]
        target = template.resource(value, LAUNCH_TEMPLATE)
        if target is not None:
            return target
        if key == "LaunchTemplateName" and isinstance(value, str):
            return _launch_templates_by_name(template).get(value)
        return None
    return None


@per_template
def _launch_templates_by_name(template: Template) -> dict[str, Resource]:
    """Literal ``LaunchTemplateName`` -> the first launch template of the template with that name."""
    index: dict[str, Resource] = {}
    for candidate in template.of_type(LAUNCH_TEMPLATE):
        name = candidate.get("LaunchTemplateName")
        if isinstance(name, str):
            index.setdefault(name, candidate)
    return index


@per_template
def _compute_environments_by_any_launch_template(template: Template) -> dict[str, list[Resource]]:
    """Launch template logical ID -> every CE using it directly or in an override (template order)."""
    index: dict[str, list[Resource]] = {}
    for ce in template.of_type(COMPUTE_ENVIRONMENT):
        for launch_template in launch_templates_of(ce)[0]:  # distinct per CE
            index.setdefault(launch_template.logical_id, []).append(ce)
    return index


def compute_environments_using(launch_template: Resource) -> list[Resource]:
    """Every CE of the template (MNP or not) that uses ``launch_template`` directly or in an override."""
    index = _compute_environments_by_any_launch_template(launch_template.template)
    return list(index.get(launch_template.logical_id, ()))


@per_template
def _compute_environments_by_security_group(template: Template) -> dict[str, list[Resource]]:
    """Security group logical ID -> every CE whose security groups include it (template order)."""
    index: dict[str, list[Resource]] = {}
    for ce in template.of_type(COMPUTE_ENVIRONMENT):
        groups = security_groups_of(ce)
        if isinstance(groups, list):
            for name in dict.fromkeys(item.logical_id for item in groups if isinstance(item, Resource)):
                index.setdefault(name, []).append(ce)
    return index


def compute_environments_of_security_group(group: Resource) -> list[Resource]:
    """Every CE of the template (MNP or not) whose security groups include ``group``."""
    return list(_compute_environments_by_security_group(group.template).get(group.logical_id, ()))


# ------------------------------------------------------------------------------ availability zones


def definitely_different_zones(left: Any, right: Any) -> bool:
    """True only when two AZ identities (from :func:`subnet_availability_zone`) are certainly different.

    Names compare with names and zone IDs with zone IDs. ``Fn::Select``/``Fn::GetAZs`` positions differ
    when their indexes differ (two positions of one region's list are two AZs; AZs of different regions
    are different anyway); a name and a position (``us-east-1a`` vs AZ #0) may be the same AZ.
    """
    if isinstance(left, AvailabilityZone) and isinstance(right, AvailabilityZone):
        if left.index != right.index:
            return True
        return bool(left.region and right.region and left.region != right.region)
    if isinstance(left, str) and isinstance(right, str):
        return left.strip().lower() != right.strip().lower()
    if isinstance(left, tuple) and isinstance(right, tuple):
        return left != right
    return False


def describe_zone(zone: Any) -> str:
    if isinstance(zone, tuple) and len(zone) == 2:
        return f"zone ID {zone[1]}"
    return str(zone)


# ------------------------------------------------------------------------------ subnets (public/egress)


@dataclass(frozen=True)
class SubnetExposure:
    """Why a template subnet is public (reasons), or that the template does not say (``unknown``)."""

    reasons: tuple[str, ...]
    unknown: tuple[str, ...]

    @property
    def public(self) -> bool:
        return bool(self.reasons)


@per_resource
def subnet_exposure(subnet: Resource) -> SubnetExposure:
    """A subnet is public when a route table of it sends the default route (``0.0.0.0/0``) to an internet
    gateway. ``MapPublicIpOnLaunch`` alone does not make it public: with its default route through a NAT
    gateway an instance without a public IP still gets out, and MNP containers never get one anyway."""
    reasons: list[str] = []
    unknown: list[str] = []
    tables = route_tables_of(subnet)
    if tables is UNKNOWN:
        unknown.append("its route table is not associated in the template (the VPC's main route table applies)")
        return SubnetExposure(tuple(reasons), tuple(unknown))
    for table in tables:
        for route in routes_of(table):
            default = is_default_route(route)
            if default is False:
                continue
            kind = route_target_kind(route)
            if kind == "internet-gateway":
                if default is UNKNOWN:
                    unknown.append(
                        f"route {route.display_name} goes to an internet gateway from a destination "
                        "the template does not fix"
                    )
                else:
                    reasons.append(f"route table {table.display_name} sends 0.0.0.0/0 to an internet gateway")
            elif kind is UNKNOWN and default is True:
                unknown.append(f"the default route {route.display_name} has a target the template does not fix")
    return SubnetExposure(tuple(reasons), tuple(unknown))


#: Interface endpoints (service-name suffix) and the gateway endpoint nodes need without a NAT gateway.
REQUIRED_INTERFACE_ENDPOINTS: tuple[str, ...] = ("ecr.api", "ecr.dkr", "logs")
REQUIRED_GATEWAY_ENDPOINTS: tuple[str, ...] = ("s3",)

_SERVICE_NAME = re.compile(r"(?:^|\.)com\.amazonaws\.[^.]*\.(?P<service>.+)$")
_REGION_PLACEHOLDER = "region"


@per_resource
def endpoint_service(endpoint: Resource) -> str | Any:
    """The service of a VPC endpoint (``ecr.api``, ``s3``...) from its ``ServiceName``; UNKNOWN else.

    CDK renders ``Fn::Join ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, ".ecr.api"]]``, which the
    resolver cannot finish (the region is a pseudo parameter); only the service suffix matters here, so
    the raw ``Fn::Join``/``Fn::Sub`` parts are rendered with a placeholder for what cannot be resolved.
    """
    text = _render_with_placeholder(endpoint.template, endpoint.raw("ServiceName"))
    if not isinstance(text, str):
        return UNKNOWN
    match = _SERVICE_NAME.search(text.strip().lower())
    return match.group("service") if match else UNKNOWN


def _render_with_placeholder(template: Template, value: Any) -> str | None:
    resolved = template.resolve(value)
    if isinstance(resolved, str):
        return resolved
    if isinstance(value, Mapping) and len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
            separator = template.resolve(argument[0])
            parts = template.resolve(argument[1], deep=False)
            if not isinstance(separator, str) or not isinstance(parts, list):
                return None
            rendered = []
            for part in parts:
                text = _render_with_placeholder(template, part)
                rendered.append(_REGION_PLACEHOLDER if text is None else text)
            return separator.join(rendered)
        if key == "Fn::Sub":
            text = argument[0] if isinstance(argument, list) and argument else argument
            if isinstance(text, str):
                return re.sub(r"\$\{(?!!)[^}]+\}", _REGION_PLACEHOLDER, text)
    return None


@per_resource
def endpoint_type(endpoint: Resource) -> str | Any:
    """``interface``, ``gateway`` (the CloudFormation default), ``gatewayloadbalancer``... or UNKNOWN."""
    value = endpoint.get("VpcEndpointType")
    if value is None:
        return "gateway"
    return value.strip().lower() if isinstance(value, str) else UNKNOWN


def subnet_vpc(subnet: Resource) -> Any:
    """The subnet's ``VpcId`` resolved (a ResourceRef to the template's VPC, an id, or UNKNOWN)."""
    value = subnet.get("VpcId")
    if isinstance(value, ResourceRef):
        return ResourceRef(value.logical_id)  # Ref and GetAtt VpcId name the same VPC
    return value if value is not None else UNKNOWN


@per_resource
def endpoint_vpc(endpoint: Resource) -> Any:
    value = endpoint.get("VpcId")
    if isinstance(value, ResourceRef):
        return ResourceRef(value.logical_id)
    return value if value is not None else UNKNOWN


@dataclass(frozen=True)
class _EndpointsByVpc:
    by_vpc: dict[Any, list[Resource]]  # a hashable resolved VpcId -> its endpoints (template order)
    unhashable: list[Resource]  # VpcId resolved to a list or dict: compared one by one
    some_unknown: bool  # some endpoint's VpcId is not fixed by the template


def _is_hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


@per_template
def _endpoints_by_vpc(template: Template) -> _EndpointsByVpc:
    by_vpc: dict[Any, list[Resource]] = {}
    unhashable: list[Resource] = []
    some_unknown = False
    for endpoint in template.of_type(VPC_ENDPOINT):
        where = endpoint_vpc(endpoint)
        if where is UNKNOWN:
            some_unknown = True
        elif _is_hashable(where):
            by_vpc.setdefault(where, []).append(endpoint)
        else:
            unhashable.append(endpoint)
    return _EndpointsByVpc(by_vpc, unhashable, some_unknown)


def vpc_endpoint_candidates(template: Template, vpc: Any) -> tuple[list[Resource], bool]:
    """The VPC endpoints whose :func:`endpoint_vpc` may equal ``vpc`` (callers still compare: this only
    narrows the search), and whether some endpoint's VPC is not fixed by the template."""
    index = _endpoints_by_vpc(template)
    if _is_hashable(vpc):
        candidates = [*index.by_vpc.get(vpc, ()), *index.unhashable]
    else:
        candidates = [endpoint for endpoints in index.by_vpc.values() for endpoint in endpoints] + index.unhashable
    return candidates, index.some_unknown


def not_ec2_capacity(ce: Resource) -> str | None:
    """Why rules about managed EC2 capacity (placement, vCPU limits, security groups) do not apply to
    ``ce``: it is UNMANAGED (MNP001 reports that), Fargate or ECS Managed Instances (MNP002); None when they
    apply."""
    if is_unmanaged(ce):
        return "an UNMANAGED compute environment (MNP001 reports it)"
    if is_fargate(compute_type(ce)):
        return "a Fargate compute environment (MNP002 reports it)"
    if is_managed_instances(compute_type(ce)):
        return "an Amazon ECS Managed Instances compute environment (MNP002 reports it)"
    return None


def mnp_ce_scope(resource: Resource, *, ec2_capacity: bool = False) -> NotApplicable | None:
    """``None`` when a compute-environment rule applies to ``resource`` (an MNP CE, and with
    ``ec2_capacity`` a managed EC2 one); else the NotApplicable the rule returns."""
    if not is_mnp_compute_environment(resource):
        return NotApplicable("not in the order of an MNP queue")
    if ec2_capacity and (reason := not_ec2_capacity(resource)) is not None:
        return NotApplicable(reason)
    return None


def has_unresolved_rules(group: Resource, direction: str) -> bool:
    """True when some inline rule of ``group`` (or the inline list itself) is not fixed by the template:
    :func:`security_group_rules` leaves such entries out, so a rule about "no such rule" cannot be sure."""
    inline = group.get("SecurityGroupIngress" if direction == "ingress" else "SecurityGroupEgress")
    if inline is UNKNOWN:
        return True
    return isinstance(inline, list) and any(not isinstance(rule, Mapping) for rule in inline)
