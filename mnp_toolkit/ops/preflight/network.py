"""An existing VPC's subnets (in the VPC and the AZ, private, ``0.0.0.0/0`` routed to an available NAT
gateway) and each existing placement group (exists, strategy ``cluster``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mnp_toolkit.ops.aws import error_code
from mnp_toolkit.ops.preflight.clients import Clients, unknown_result
from mnp_toolkit.ops.preflight.results import CheckResult


def _route_table(clients: Clients, *, subnet_id: str, vpc_id: str) -> Mapping[str, Any] | None:
    tables = clients.ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}])[
        "RouteTables"
    ]
    if tables:
        return tables[0]
    main = clients.ec2.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "association.main", "Values": ["true"]}]
    )["RouteTables"]
    return main[0] if main else None


def check_network(
    clients: Clients, *, vpc_id: str | None, subnet_ids: Sequence[str], availability_zone: str | None
) -> list[CheckResult]:
    """An existing VPC's subnets: in the VPC and AZ, private, default route to an available NAT gateway."""
    if vpc_id is None:
        return []
    try:
        clients.ec2.describe_vpcs(VpcIds=[vpc_id])
    except Exception as error:
        if error_code(error) == "InvalidVpcID.NotFound":
            return [
                CheckResult.failed(
                    check=f"VPC {vpc_id}",
                    detail=f"{vpc_id} does not exist in {clients.region}",
                    fix="correct network.vpc_id or --region",
                )
            ]
        return [unknown_result(f"VPC {vpc_id}", error, action="call ec2:DescribeVpcs", service="ec2")]
    results = [CheckResult.passed(check=f"VPC {vpc_id}", detail="exists")]
    for subnet_id in subnet_ids:
        try:
            results.append(
                _check_subnet(clients, subnet_id=subnet_id, vpc_id=vpc_id, availability_zone=availability_zone)
            )
        except Exception as error:
            if error_code(error) == "InvalidSubnetID.NotFound":
                results.append(
                    CheckResult.failed(
                        check=f"subnet {subnet_id}",
                        detail=f"{subnet_id} does not exist in {clients.region}",
                        fix="correct network.private_subnet_ids",
                    )
                )
            else:
                results.append(
                    unknown_result(
                        f"subnet {subnet_id}", error, action="read the subnet and its route table", service="ec2"
                    )
                )
    return results


def _check_subnet(clients: Clients, *, subnet_id: str, vpc_id: str, availability_zone: str | None) -> CheckResult:
    check = f"subnet {subnet_id}"
    subnet = clients.ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]
    problems: list[tuple[str, str]] = []
    if subnet.get("VpcId") != vpc_id:
        problems.append((f"is in {subnet.get('VpcId')}, not {vpc_id}", "list subnets of network.vpc_id only"))
    if availability_zone and subnet.get("AvailabilityZone") != availability_zone:
        problems.append(
            (
                f"is in {subnet.get('AvailabilityZone')}, not {availability_zone}",
                "use subnets of network.availability_zone only (one AZ for the cluster placement group)",
            )
        )
    if subnet.get("MapPublicIpOnLaunch"):
        problems.append(("maps public IPs on launch (a public subnet)", "use private subnets"))
    table = _route_table(clients, subnet_id=subnet_id, vpc_id=vpc_id)
    default = next((r for r in (table or {}).get("Routes", []) if r.get("DestinationCidrBlock") == "0.0.0.0/0"), None)
    egress = ""
    if default is None:
        problems.append(
            (
                "has no default route (0.0.0.0/0): nodes cannot pull images or ship logs",
                "route 0.0.0.0/0 to a NAT gateway",
            )
        )
    elif str(default.get("GatewayId", "")).startswith("igw-"):
        problems.append(
            (
                f"routes 0.0.0.0/0 to internet gateway {default['GatewayId']} (public; MNP nodes get no public IP)",
                "use private subnets routed to a NAT gateway",
            )
        )
    elif default.get("NatGatewayId"):
        nat_id = str(default["NatGatewayId"])
        gateways = clients.ec2.describe_nat_gateways(NatGatewayIds=[nat_id]).get("NatGateways", [])
        state = str(gateways[0].get("State")) if gateways else "missing"
        if state != "available":
            problems.append((f"routes 0.0.0.0/0 to NAT gateway {nat_id}, which is {state}", "fix the NAT gateway"))
        egress = f"0.0.0.0/0 -> {nat_id} (available)"
    else:
        target = next((str(v) for k, v in default.items() if k.endswith("Id") and v), "an unknown target")
        if not problems:
            return CheckResult.could_not_check(
                check=check,
                detail=f"private; 0.0.0.0/0 goes to {target}: egress through it cannot be verified from here",
                fix="make sure it reaches the internet (or ECR, S3 and CloudWatch Logs endpoints)",
            )
    if problems:
        return CheckResult.failed(
            check=check,
            detail="; ".join(problem for problem, _ in problems),
            fix="; ".join(dict.fromkeys(fix for _, fix in problems)),
        )
    return CheckResult.passed(check=check, detail=f"private, {subnet.get('AvailabilityZone')}, {egress}")


def check_placement_groups(clients: Clients, *, names: Sequence[str]) -> list[CheckResult]:
    """Each existing placement group exists and has the ``cluster`` strategy."""
    results = []
    for name in names:
        check = f"placement group {name}"
        try:
            groups = clients.ec2.describe_placement_groups(GroupNames=[name])["PlacementGroups"]
        except Exception as error:
            if error_code(error) in {"InvalidPlacementGroup.Unknown", "InvalidGroup.NotFound"}:
                groups = []
            else:
                results.append(
                    unknown_result(
                        check,
                        error,
                        action="call ec2:DescribePlacementGroups",
                        service="ec2",
                        fix=f"check in the EC2 console that {name} exists with strategy cluster",
                    )
                )
                continue
        if not groups:
            results.append(
                CheckResult.failed(
                    check=check,
                    detail=f"no placement group {name} in {clients.region}",
                    fix="create it (`aws ec2 create-placement-group --strategy cluster`) or let the toolkit create one",
                )
            )
            continue
        strategy = str(groups[0].get("Strategy", ""))
        state = str(groups[0].get("State", "available"))
        if strategy == "cluster" and state == "available":
            results.append(CheckResult.passed(check=check, detail="strategy cluster, available"))
        else:
            results.append(
                CheckResult.failed(
                    check=check,
                    detail=f"strategy {strategy or '?'}, state {state}: MNP nodes need a cluster placement group",
                    fix="use a placement group with strategy cluster",
                )
            )
    return results
