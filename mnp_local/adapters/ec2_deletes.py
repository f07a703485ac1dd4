"""Delete handlers for the EC2 resources of a VPC, so that ``cdk destroy`` of our stacks succeeds.

moto gap (moto 5.2.5): moto's CloudFormation models of ``AWS::EC2::RouteTable``, ``AWS::EC2::Route``,
``AWS::EC2::NatGateway``, ``AWS::EC2::FlowLog``, ``AWS::EC2::InternetGateway``,
``AWS::EC2::VPCGatewayAttachment``, ``AWS::EC2::EIP`` and ``AWS::EC2::LaunchTemplate`` have no delete
handler: deleting a stack skips them silently, the route tables keep the VPC busy, and moto's
``DeleteVpc`` then fails the whole stack deletion with "The vpc ... has dependencies and cannot be
deleted" (``cdk destroy`` fails).

What AWS does instead: deleting the stack deletes each of these resources (CloudFormation orders the
deletes by dependency).

This adapter gives each of those moto models a delete handler that calls moto's own EC2 backend
(``delete_route``, ``delete_route_table``, ``delete_nat_gateway``, ``delete_flow_logs``,
``detach_internet_gateway``/``delete_internet_gateway``, ``release_address``,
``delete_launch_template``). moto's stack deletion retries a resource whose dependencies are still
there, so the handlers need not be ordered. A resource already gone counts as deleted.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from moto.ec2.models import ec2_backends
from moto.ec2.models.elastic_ip_addresses import ElasticAddress
from moto.ec2.models.flow_logs import FlowLogs
from moto.ec2.models.internet_gateways import InternetGateway
from moto.ec2.models.launch_templates import LaunchTemplate
from moto.ec2.models.nat_gateways import NatGateway
from moto.ec2.models.route_tables import Route, RouteTable
from moto.ec2.models.vpn_gateway import VPCGatewayAttachment

from mnp_local.adapters._base import already_done

_NOT_FOUND_CODES = {
    "InvalidRouteTableID.NotFound",
    "InvalidRoute.NotFound",
    "NatGatewayNotFound",
    "InvalidInternetGatewayID.NotFound",
    "InvalidAddress.NotFound",
    "InvalidLaunchTemplateId.NotFound",
    "InvalidLaunchTemplateName.NotFoundException",
    "InvalidFlowLogId.NotFound",
    "Gateway.NotAttached",
}


def _unless_gone() -> contextlib.AbstractContextManager[None]:
    return already_done(_NOT_FOUND_CODES)


def _delete_route(backend: Any, physical_id: str) -> None:
    # moto's Route id is "<route table id>~<destination>".
    route_table_id, _, destination = physical_id.partition("~")
    with _unless_gone():
        if ":" in destination:
            backend.delete_route(route_table_id, None, destination_ipv6_cidr_block=destination)
        else:
            backend.delete_route(route_table_id, destination)


def _delete_route_table(backend: Any, physical_id: str) -> None:
    with _unless_gone():
        backend.delete_route_table(physical_id)


def _delete_nat_gateway(backend: Any, physical_id: str) -> None:
    with _unless_gone():
        backend.delete_nat_gateway(physical_id)


def _delete_flow_log(backend: Any, physical_id: str) -> None:
    with _unless_gone():
        backend.delete_flow_logs([physical_id])


def _delete_internet_gateway(backend: Any, physical_id: str) -> None:
    with _unless_gone():
        backend.delete_internet_gateway(physical_id)


def _detach_gateways_of_vpc(backend: Any, physical_id: str) -> None:
    # moto's attachment id is the VPC id; the template's gateway id may be an unresolved Ref here.
    for gateway in backend.describe_internet_gateways():
        if gateway.vpc is not None and gateway.vpc.id == physical_id:
            with _unless_gone():
                backend.detach_internet_gateway(gateway.id, physical_id)


def _release_address(backend: Any, physical_id: str) -> None:
    with _unless_gone():
        backend.release_address(address=physical_id)


def _delete_launch_template(backend: Any, physical_id: str) -> None:
    with _unless_gone():
        backend.delete_launch_template(None, physical_id)


HANDLERS: dict[type[Any], Callable[[Any, str], None]] = {
    Route: _delete_route,
    RouteTable: _delete_route_table,
    NatGateway: _delete_nat_gateway,
    FlowLogs: _delete_flow_log,
    InternetGateway: _delete_internet_gateway,
    VPCGatewayAttachment: _detach_gateways_of_vpc,
    ElasticAddress: _release_address,
    LaunchTemplate: _delete_launch_template,
}


def _handler_for(delete: Callable[[Any, str], None]) -> classmethod:
    def delete_from_cloudformation_json(
        cls: type[Any], resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        delete(ec2_backends[account_id][region_name], resource_name)

    return classmethod(delete_from_cloudformation_json)


def register() -> None:
    """Give each model its delete handler (idempotent)."""
    for model, delete in HANDLERS.items():
        model.delete_from_cloudformation_json = _handler_for(delete)
