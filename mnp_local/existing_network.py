"""A network for configs that bring their own VPC (``network.mode: existing``), made in the emulated account.

Such a config names a VPC, subnets and route tables of its author's account; the emulated account has
none of them, and the deploy would fail (``subnet subnet-0a1b... does not exist``). :func:`adapt_config`
makes what the config promises -- a VPC with a private subnet in the config's Availability Zone whose
default route goes to a NAT gateway in a public subnet -- through the EC2 API, and writes a copy of the
config with those IDs; everything else in the config is kept.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from mnp_local.inventory import client
from mnp_local.server import DEFAULT_ACCOUNT, EmulatedAccount


def existing_network(
    *, endpoint: str, availability_zone: str, account: EmulatedAccount = DEFAULT_ACCOUNT, cidr: str = "10.20.0.0/16"
) -> dict[str, Any]:
    """A private subnet routed to a NAT gateway in ``availability_zone``; the config keys that name them."""
    ec2 = client("ec2", endpoint=endpoint, account=account)
    prefix = cidr.split(".")[:2]
    vpc_id = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    public = ec2.create_subnet(
        VpcId=vpc_id, CidrBlock=".".join([*prefix, "0", "0/24"]), AvailabilityZone=availability_zone
    )["Subnet"]
    private = ec2.create_subnet(
        VpcId=vpc_id, CidrBlock=".".join([*prefix, "16", "0/20"]), AvailabilityZone=availability_zone
    )["Subnet"]
    gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc_id)
    public_table = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public_table, DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway)
    ec2.associate_route_table(RouteTableId=public_table, SubnetId=public["SubnetId"])
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=public["SubnetId"], AllocationId=allocation)["NatGateway"]
    private_table = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=private_table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat["NatGatewayId"])
    ec2.associate_route_table(RouteTableId=private_table, SubnetId=private["SubnetId"])
    return {
        "vpc_id": vpc_id,
        "availability_zone": availability_zone,
        "private_subnet_ids": [private["SubnetId"]],
        "private_subnet_route_table_ids": [private_table],
    }


def adapt_config(
    config: Path, *, endpoint: str, work_dir: Path, account: EmulatedAccount = DEFAULT_ACCOUNT
) -> tuple[Path, dict[str, Any] | None]:
    """``config`` itself, or for ``network.mode: existing`` a copy in ``work_dir`` that names a network made
    in the emulated account (and that network's keys)."""
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    network = data.get("network") if isinstance(data, dict) else None
    if not isinstance(network, dict) or network.get("mode") != "existing":
        return config, None
    made = existing_network(endpoint=endpoint, availability_zone=str(network.get("availability_zone")), account=account)
    adapted = copy.deepcopy(data)
    adapted["network"].update(made)
    path = work_dir / f"emulated-{config.name}"
    path.write_text(yaml.safe_dump(adapted, sort_keys=False), encoding="utf-8")
    return path, made
