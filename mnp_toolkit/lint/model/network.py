"""Subnets, route tables, routes, Availability Zones and VPC endpoints of compute environments."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mnp_toolkit.lint.cache import per_resource, per_template
from mnp_toolkit.lint.model.resource_types import (
    INTERNET_GATEWAY,
    ROUTE,
    ROUTE_TABLE,
    ROUTE_TABLE_ASSOCIATION,
    SUBNET,
    VPC_ENDPOINT,
)
from mnp_toolkit.lint.template import UNKNOWN, AvailabilityZone, Resource, ResourceRef, Template


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
