"""A small Batch environment in moto for tests of the boto3 tooling (call inside ``mock_aws``)."""

from __future__ import annotations

import boto3

#: moto's Batch runs no containers with this config; a submitted job simply succeeds (verified-facts.md).
MOTO_BATCH_CONFIG = {"batch": {"use_docker": False}}
MNP_CONTAINER = {"image": "busybox", "vcpus": 1, "memory": 128, "command": ["true"]}


def create_queue(*, region: str, queue_name: str) -> str:
    """A VPC, subnet, security group, roles, a managed EC2 compute environment and a queue; the queue ARN."""
    ec2 = boto3.client("ec2", region_name=region)
    iam = boto3.client("iam", region_name=region)
    batch = boto3.client("batch", region_name=region)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="nodes", Description="nodes", VpcId=vpc)["GroupId"]
    role = iam.create_role(RoleName="batch-service", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    profile = iam.create_instance_profile(InstanceProfileName="ecs-instance")["InstanceProfile"]["Arn"]
    environment = batch.create_compute_environment(
        computeEnvironmentName="mnp-ce",
        type="MANAGED",
        state="ENABLED",
        computeResources={
            "type": "EC2",
            "minvCpus": 0,
            "maxvCpus": 64,
            "instanceTypes": ["c5.large"],
            "subnets": [subnet],
            "securityGroupIds": [group],
            "instanceRole": profile,
        },
        serviceRole=role,
    )["computeEnvironmentArn"]
    return str(
        batch.create_job_queue(
            jobQueueName=queue_name,
            state="ENABLED",
            priority=1,
            computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}],
        )["jobQueueArn"]
    )


def register_mnp_definition(*, region: str, name: str, num_nodes: int = 3) -> None:
    """A multinode job definition with one range over all nodes."""
    boto3.client("batch", region_name=region).register_job_definition(
        jobDefinitionName=name,
        type="multinode",
        nodeProperties={
            "numNodes": num_nodes,
            "mainNode": 0,
            "nodeRangeProperties": [{"targetNodes": f"0:{num_nodes - 1}", "container": MNP_CONTAINER}],
        },
    )
