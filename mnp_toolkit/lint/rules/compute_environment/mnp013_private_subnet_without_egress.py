"""MNP013: a private subnet of an MNP compute environment has no way to reach ECR, S3 and CloudWatch Logs.

A private subnet (not public per MNP012) needs a default route (``0.0.0.0/0``) to a NAT gateway, or VPC
endpoints in its VPC: interface endpoints for ``ecr.api``, ``ecr.dkr`` and ``logs`` and an ``s3`` gateway
endpoint attached to the subnet's route table. A default route to another target (transit gateway,
firewall endpoint, NAT instance, peering) may well provide egress the template cannot see: no error then.
Subnets that are not template resources cannot be checked.
"""

from __future__ import annotations

from typing import Any

from mnp_toolkit.lint.model.compute import mnp_ce_scope
from mnp_toolkit.lint.model.naming import describe
from mnp_toolkit.lint.model.network import (
    REQUIRED_GATEWAY_ENDPOINTS,
    REQUIRED_INTERFACE_ENDPOINTS,
    endpoint_service,
    endpoint_type,
    endpoint_vpc,
    is_default_route,
    route_tables_of,
    route_target_kind,
    routes_of,
    subnet_exposure,
    subnet_vpc,
    subnets_of,
    vpc_endpoint_candidates,
)
from mnp_toolkit.lint.model.resource_types import COMPUTE_ENVIRONMENT
from mnp_toolkit.lint.rule import Compliant, Level, NonCompliant, Problem, Rule, RuleResult, Unverifiable
from mnp_toolkit.lint.template import UNKNOWN, Resource, ResourceRef, Template


def _egress(subnet: Resource) -> str | None:
    """``nat``, ``other`` (egress the template cannot judge), ``none``, or None when unknown."""
    tables = route_tables_of(subnet)
    if tables is UNKNOWN:
        return None
    verdict = "none"
    for table in tables:
        for route in routes_of(table):
            default = is_default_route(route)
            if default is UNKNOWN:
                verdict = "other" if verdict == "none" else verdict
                continue
            if not default:
                continue
            kind = route_target_kind(route)
            if kind == "nat-gateway":
                return "nat"
            verdict = "other"
    return verdict


def _missing_endpoints(subnet: Resource, template: Template) -> list[str] | None:
    """The endpoints the subnet's VPC lacks (``ecr.api (interface)``...); None when it cannot be known."""
    vpc = subnet_vpc(subnet)
    if vpc is UNKNOWN:
        return None
    tables = route_tables_of(subnet)
    table_ids = {table.logical_id for table in tables} if isinstance(tables, list) else set()
    present: set[str] = set()
    # Only the endpoints of the subnet's VPC matter (the order does not): an index instead of a scan of
    # every endpoint for every subnet. Endpoints whose VPC is not fixed make the answer undecided.
    candidates, undecided = vpc_endpoint_candidates(template, vpc)
    for endpoint in candidates:
        where = endpoint_vpc(endpoint)
        if where != vpc:
            continue
        service = endpoint_service(endpoint)
        kind = endpoint_type(endpoint)
        if service is UNKNOWN or kind is UNKNOWN:
            undecided = True
            continue
        if service in REQUIRED_INTERFACE_ENDPOINTS and kind == "interface":
            present.add(service)
        elif service in REQUIRED_GATEWAY_ENDPOINTS and kind == "gateway":
            attached: Any = endpoint.get("RouteTableIds")
            if not isinstance(attached, list) or not all(isinstance(item, ResourceRef) for item in attached):
                undecided = True  # attached to tables the template does not fix
            elif table_ids & {item.logical_id for item in attached}:
                present.add(service)
    missing = [f"{name} (interface)" for name in REQUIRED_INTERFACE_ENDPOINTS if name not in present]
    missing += [
        f"{name} (gateway, on the subnet's route table)" for name in REQUIRED_GATEWAY_ENDPOINTS if name not in present
    ]
    if missing and undecided:
        return None
    return missing


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
            continue  # MNP012's finding
        egress = _egress(subnet)
        if egress == "nat":
            continue
        if egress is None:
            unknown.append(f"subnet {subnet.display_name} has no route table associated in the template")
            continue
        if egress == "other":
            unknown.append(f"the default route of subnet {subnet.display_name} goes to a target the rule cannot judge")
            continue
        missing = _missing_endpoints(subnet, template)
        if missing is None:
            unknown.append(f"the VPC endpoints of subnet {subnet.display_name} are not fixed by the template")
            continue
        if missing:
            problems.append(
                Problem(
                    f"Private subnet {subnet.display_name} of compute environment {resource.display_name} has "
                    "no default route (0.0.0.0/0) to a NAT gateway, and its VPC lacks the VPC endpoints "
                    f"{', '.join(missing)}: nodes cannot pull images or ship logs.",
                    f"Add a 0.0.0.0/0 route to a NAT gateway to the route table of {subnet.display_name} "
                    "(aws-cdk-lib Vpc natGateways >= 1, SubnetType.PRIVATE_WITH_EGRESS), or add the missing "
                    "endpoints (vpc.addInterfaceEndpoint with InterfaceVpcEndpointAwsService.ECR, ECR_DOCKER, "
                    "CLOUDWATCH_LOGS; vpc.addGatewayEndpoint with GatewayVpcEndpointAwsService.S3).",
                )
            )
    if problems:
        return NonCompliant(*problems)
    if unknown:
        return Unverifiable(f"compute environment {resource.display_name}: {'; '.join(unknown)}")
    return Compliant()


RULE = Rule(
    id="MNP013",
    level=Level.ERROR,
    resource_type=COMPUTE_ENVIRONMENT,
    info="A private subnet of an MNP compute environment has no NAT gateway route and no ECR/S3/Logs endpoints.",
    explanation="Nodes of a multi-node parallel job run in private subnets without public IPs. To pull "
    "container images (ECR API, ECR Docker registry, image layers in S3) and ship logs (CloudWatch Logs) "
    "they need a default route to a NAT gateway, or VPC endpoints for all four services; without either, "
    "every node fails at start-up (CannotPullContainerError).",
    fix="Route 0.0.0.0/0 of the subnet's route table to a NAT gateway (aws-cdk-lib Vpc natGateways >= 1 with "
    "SubnetType.PRIVATE_WITH_EGRESS), or add interface endpoints for ecr.api, ecr.dkr and logs and an S3 "
    "gateway endpoint on the subnet's route table (vpc.addInterfaceEndpoint / vpc.addGatewayEndpoint).",
    source="https://docs.aws.amazon.com/batch/latest/userguide/mnp-ce.html",
    check=check,
)
