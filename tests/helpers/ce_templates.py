"""Mutations of :func:`tests.helpers.templates.mnp_environment` for the compute-environment, network,
queue and security rules (MNP002-MNP005, MNP012-MNP014, MNP018/019, MNP101-MNP106, MNP201-MNP203).

Every helper changes the template dict in place and returns what it added, so a test reads as
"start compliant, break exactly one thing".
"""

from __future__ import annotations

import copy
from typing import Any

from tests.helpers.templates import props, resources

REGION_JOIN_PREFIX = "com.amazonaws."


def compute_resources(template: dict[str, Any], ce: str = "ComputeEnvironment") -> dict[str, Any]:
    return props(template, ce)["ComputeResources"]


def endpoint_service_name(service: str) -> dict[str, Any]:
    """A ``ServiceName`` as CDK renders it (the region is a pseudo parameter the resolver cannot fix)."""
    return {"Fn::Join": ["", [REGION_JOIN_PREFIX, {"Ref": "AWS::Region"}, f".{service}"]]}


def add_endpoint(
    template: dict[str, Any],
    service: str,
    *,
    endpoint_type: str | None = "Interface",
    logical_id: str | None = None,
    route_tables: list[str] | None = None,
    service_name: Any = None,
) -> str:
    """Add an ``AWS::EC2::VPCEndpoint`` in the template's VPC; gateway endpoints get ``route_tables``."""
    logical_id = logical_id or "Endpoint" + service.replace(".", "").title()
    properties: dict[str, Any] = {
        "VpcId": {"Ref": "Vpc"},
        "ServiceName": service_name if service_name is not None else endpoint_service_name(service),
    }
    if endpoint_type is not None:
        properties["VpcEndpointType"] = endpoint_type
    if endpoint_type == "Interface":
        properties["PrivateDnsEnabled"] = True
        properties["SubnetIds"] = [{"Ref": "PrivateSubnet1"}]
    if route_tables is not None:
        properties["RouteTableIds"] = [{"Ref": table} for table in route_tables]
    resources(template)[logical_id] = {"Type": "AWS::EC2::VPCEndpoint", "Properties": properties}
    return logical_id


def add_all_endpoints(template: dict[str, Any], *, route_table: str = "PrivateRouteTable1") -> None:
    """ECR api/dkr and Logs interface endpoints plus an S3 gateway endpoint on ``route_table``."""
    for service in ("ecr.api", "ecr.dkr", "logs"):
        add_endpoint(template, service)
    add_endpoint(template, "s3", endpoint_type="Gateway", route_tables=[route_table])


def remove_nat_route(template: dict[str, Any], route: str = "PrivateDefaultRoute1") -> None:
    del resources(template)[route]


def use_subnets(template: dict[str, Any], *subnets: Any, ce: str = "ComputeEnvironment") -> None:
    """Set the CE's subnets: str names are template subnets (Ref), anything else is used as is."""
    compute_resources(template, ce)["Subnets"] = [
        {"Ref": subnet} if isinstance(subnet, str) and subnet in resources(template) else subnet for subnet in subnets
    ]


def add_security_groups(template: dict[str, Any], count: int, *, prefix: str = "ExtraSg") -> list[str]:
    """Add ``count`` template security groups (no rules) and append them to the CE's SecurityGroupIds."""
    added = []
    for index in range(count):
        logical_id = f"{prefix}{index + 1}"
        resources(template)[logical_id] = {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {"GroupDescription": f"extra {index + 1}", "VpcId": {"Ref": "Vpc"}},
        }
        compute_resources(template)["SecurityGroupIds"].append({"Fn::GetAtt": [logical_id, "GroupId"]})
        added.append(logical_id)
    return added


def add_compute_environment(
    template: dict[str, Any],
    logical_id: str,
    *,
    instance_types: list[Any] | None = None,
    compute_type: str = "EC2",
    queue: str | None = "JobQueue",
) -> dict[str, Any]:
    """Copy the compliant CE under ``logical_id`` (new types/Type) and append it to ``queue``'s order."""
    definition = copy.deepcopy(resources(template)["ComputeEnvironment"])
    definition["Metadata"] = {"aws:cdk:path": f"MnpStack/{logical_id}/Resource"}
    cr = definition["Properties"]["ComputeResources"]
    cr["Type"] = compute_type
    if compute_type.upper().startswith("FARGATE"):
        for key in (
            "InstanceTypes",
            "AllocationStrategy",
            "MinvCpus",
            "PlacementGroup",
            "LaunchTemplate",
            "InstanceRole",
        ):
            cr.pop(key, None)
    elif instance_types is not None:
        cr["InstanceTypes"] = instance_types
    resources(template)[logical_id] = definition
    if queue is not None:
        order = props(template, queue)["ComputeEnvironmentOrder"]
        order.append(
            {"ComputeEnvironment": {"Fn::GetAtt": [logical_id, "ComputeEnvironmentArn"]}, "Order": len(order) + 1}
        )
    return definition


def add_job_definition(
    template: dict[str, Any],
    logical_id: str,
    *,
    num_nodes: int = 4,
    instance_type: str | None = "c5n.18xlarge",
    vcpus: str = "72",
) -> dict[str, Any]:
    """Copy the compliant MNP job definition with another NumNodes / instance type / VCPU requirement."""
    definition = copy.deepcopy(resources(template)["JobDefinition"])
    definition["Metadata"] = {"aws:cdk:path": f"MnpStack/{logical_id}/Resource"}
    node_properties = definition["Properties"]["NodeProperties"]
    node_properties["NumNodes"] = num_nodes
    container = node_properties["NodeRangeProperties"][0]["Container"]
    if instance_type is None:
        container.pop("InstanceType", None)
    else:
        container["InstanceType"] = instance_type
    container["ResourceRequirements"][0]["Value"] = vcpus
    resources(template)[logical_id] = definition
    return definition
