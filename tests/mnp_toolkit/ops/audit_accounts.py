"""Accounts for the `mnp audit` tests, made with plain boto3 calls (inside moto with
:func:`tests.helpers.moto_audit.audit_gaps_filled`, or against the emulated AWS).

:func:`build_compliant` makes what the toolkit's constructs would: a private subnet routed to a NAT gateway
in one AZ, a node security group admitting all traffic from itself, a cluster placement group, an IMDSv2
launch template with encrypted volumes, a managed On-Demand compute environment, a queue tagged
``mnp:queue=true`` with RUNNABLE time-limit actions and a 4-node multinode job definition. The
``add_*`` functions add one known problem each next to it, and return the resource a finding must name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import boto3

REGION = "us-east-1"
INSTANCE_TYPE = "c5n.18xlarge"  # 72 vCPUs
NUM_NODES = 4
#: 4 nodes x 72 vCPUs: what MNP004 asks of every MNP compute environment.
MAX_VCPUS = NUM_NODES * 72
TIME_LIMITS = [
    {
        "reason": "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
        "state": "RUNNABLE",
        "maxTimeSeconds": 1800,
        "action": "CANCEL",
    }
]
NODE_CONTAINER = {
    "image": "public.ecr.aws/amazonlinux/amazonlinux:2023",
    "command": ["mpirun", "./solver"],
    "instanceType": INSTANCE_TYPE,
    "resourceRequirements": [{"type": "VCPU", "value": "8"}, {"type": "MEMORY", "value": "16384"}],
}


@dataclass
class Account:
    """What a builder made (ids and ARNs), for tests to name in expected findings."""

    vpc: str = ""
    private_subnet: str = ""
    public_subnet: str = ""
    igw: str = ""
    nat: str = ""
    node_group: str = ""
    placement_group: str = "mnp-cluster"
    placement_group_arn: str = ""
    launch_template: str = ""
    service_role: str = ""
    instance_profile: str = ""
    compute_environments: dict[str, str] = field(default_factory=dict)  # name -> ARN
    queues: dict[str, str] = field(default_factory=dict)
    job_definitions: dict[str, str] = field(default_factory=dict)


def clients() -> tuple[Any, Any, Any]:
    return (
        boto3.client("ec2", region_name=REGION),
        boto3.client("batch", region_name=REGION),
        boto3.client("iam", region_name=REGION),
    )


def _node_group(ec2: Any, vpc: str, name: str) -> str:
    group = str(ec2.create_security_group(GroupName=name, Description="MNP nodes", VpcId=vpc)["GroupId"])
    ec2.authorize_security_group_ingress(
        GroupId=group, IpPermissions=[{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": group}]}]
    )
    return group


def build_compliant(*, roles: bool = True) -> Account:
    """The compliant environment (module docstring); ``roles`` False when the IAM roles exist already."""
    ec2, batch, iam = clients()
    account = Account()
    account.vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    account.igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=account.igw, VpcId=account.vpc)

    def subnet(cidr: str) -> str:
        created = ec2.create_subnet(VpcId=account.vpc, CidrBlock=cidr, AvailabilityZone=f"{REGION}a")
        return str(created["Subnet"]["SubnetId"])

    account.public_subnet = subnet("10.0.0.0/24")
    public_table = ec2.create_route_table(VpcId=account.vpc)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=public_table, SubnetId=account.public_subnet)
    ec2.create_route(RouteTableId=public_table, DestinationCidrBlock="0.0.0.0/0", GatewayId=account.igw)
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    account.nat = ec2.create_nat_gateway(SubnetId=account.public_subnet, AllocationId=allocation)["NatGateway"][
        "NatGatewayId"
    ]
    account.private_subnet = subnet("10.0.16.0/20")
    private_table = ec2.create_route_table(VpcId=account.vpc)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=private_table, SubnetId=account.private_subnet)
    ec2.create_route(RouteTableId=private_table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=account.nat)

    account.node_group = _node_group(ec2, account.vpc, "mnp-nodes")
    group = ec2.create_placement_group(GroupName=account.placement_group, Strategy="cluster")["PlacementGroup"]
    account.placement_group_arn = group["GroupArn"]
    account.launch_template = ec2.create_launch_template(
        LaunchTemplateName="mnp-nodes",
        LaunchTemplateData={
            "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 2},
            "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"Encrypted": True, "VolumeSize": 30}}],
        },
    )["LaunchTemplate"]["LaunchTemplateId"]

    if roles:
        iam.create_role(RoleName="batch-service", AssumeRolePolicyDocument="{}")
        iam.create_instance_profile(InstanceProfileName="ecs-instance")
    account.service_role = iam.get_role(RoleName="batch-service")["Role"]["Arn"]
    account.instance_profile = iam.get_instance_profile(InstanceProfileName="ecs-instance")["InstanceProfile"]["Arn"]

    account.compute_environments["mnp-ce"] = create_compute_environment(account, "mnp-ce")
    account.queues["mnp-q"] = create_queue(account, "mnp-q", ["mnp-ce"])
    account.job_definitions["mpi"] = register_job_definition(batch, "mpi")
    return account


def create_compute_environment(account: Account, name: str, **changes: Any) -> str:
    """A compliant managed EC2 compute environment, with ``changes`` merged into its computeResources (a
    change to None drops that key)."""
    _, batch, _ = clients()
    resources: dict[str, Any] = {
        "type": "EC2",
        "allocationStrategy": "BEST_FIT_PROGRESSIVE",
        "minvCpus": 0,
        "maxvCpus": MAX_VCPUS,
        "instanceTypes": [INSTANCE_TYPE],
        "subnets": [account.private_subnet],
        "securityGroupIds": [account.node_group],
        "placementGroup": account.placement_group,
        "launchTemplate": {"launchTemplateId": account.launch_template, "version": "1"},
        "instanceRole": account.instance_profile,
    }
    resources.update(changes)
    resources = {key: value for key, value in resources.items() if value is not None}
    tags = resources.pop("tags", None)
    return str(
        batch.create_compute_environment(
            computeEnvironmentName=name,
            type="MANAGED",
            state="ENABLED",
            computeResources=resources,
            serviceRole=account.service_role,
            **({"tags": tags} if tags else {}),
        )["computeEnvironmentArn"]
    )


def create_queue(account: Account, name: str, environments: list[str], *, tags: dict[str, str] | None = None) -> str:
    _, batch, _ = clients()
    return str(
        batch.create_job_queue(
            jobQueueName=name,
            state="ENABLED",
            priority=1,
            computeEnvironmentOrder=[
                {"order": order, "computeEnvironment": account.compute_environments[ce]}
                for order, ce in enumerate(environments, start=1)
            ],
            jobStateTimeLimitActions=TIME_LIMITS,
            tags={"mnp:queue": "true", **(tags or {})},
        )["jobQueueArn"]
    )


def register_job_definition(
    batch: Any, name: str, *, num_nodes: int = NUM_NODES, main_node: int = 0, **extra: Any
) -> str:
    return str(
        batch.register_job_definition(
            jobDefinitionName=name,
            type="multinode",
            nodeProperties={
                "numNodes": num_nodes,
                "mainNode": main_node,
                "nodeRangeProperties": [{"targetNodes": "0:", "container": NODE_CONTAINER}],
            },
            retryStrategy={"attempts": 1},
            **extra,
        )["jobDefinitionArn"]
    )


# ------------------------------------------------------------------------------------ known problems


def add_spot_compute_environment(account: Account) -> str:
    """MNP002: a Spot compute environment in an MNP queue."""
    arn = create_compute_environment(account, "spot-ce", type="SPOT")
    account.compute_environments["spot-ce"] = arn
    account.queues["spot-q"] = create_queue(account, "spot-q", ["spot-ce"])
    return arn


def add_six_security_groups(account: Account) -> str:
    """MNP003: six security groups (the node group and five more) on one MNP compute environment."""
    ec2, _, _ = clients()
    extra = [
        str(ec2.create_security_group(GroupName=f"extra-{n}", Description="extra", VpcId=account.vpc)["GroupId"])
        for n in range(5)
    ]
    arn = create_compute_environment(account, "six-sg-ce", securityGroupIds=[account.node_group, *extra])
    account.compute_environments["six-sg-ce"] = arn
    account.queues["six-sg-q"] = create_queue(account, "six-sg-q", ["six-sg-ce"])
    return arn


def add_imdsv1_launch_template_version(account: Account) -> str:
    """MNP201: version 2 of the launch template allows IMDSv1; a compute environment uses that version.
    Returns the launch-template version as the audit names it (``lt-...:2``)."""
    ec2, _, _ = clients()
    version = ec2.create_launch_template_version(
        LaunchTemplateId=account.launch_template,
        LaunchTemplateData={
            "MetadataOptions": {"HttpTokens": "optional"},
            "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"Encrypted": True, "VolumeSize": 30}}],
        },
    )["LaunchTemplateVersion"]["VersionNumber"]
    arn = create_compute_environment(
        account, "imdsv1-ce", launchTemplate={"launchTemplateId": account.launch_template, "version": str(version)}
    )
    account.compute_environments["imdsv1-ce"] = arn
    account.queues["imdsv1-q"] = create_queue(account, "imdsv1-q", ["imdsv1-ce"])
    return f"{account.launch_template}:{version}"


def add_public_subnet_compute_environment(account: Account) -> str:
    """MNP012: an MNP compute environment in the public subnet (0.0.0.0/0 to the internet gateway)."""
    arn = create_compute_environment(account, "public-ce", subnets=[account.public_subnet])
    account.compute_environments["public-ce"] = arn
    account.queues["public-q"] = create_queue(account, "public-q", ["public-ce"])
    return arn


def add_main_node_out_of_range(account: Account) -> str:
    """MNP011: a job definition of 4 nodes whose main node is 5."""
    _, batch, _ = clients()
    arn = register_job_definition(batch, "bad-main", main_node=5)
    account.job_definitions["bad-main"] = arn
    return arn
