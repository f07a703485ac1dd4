"""The default environment written with plain aws-cdk-lib L2s, as a user would without the toolkit.

Same shape as ``config/default.yaml``: a 2-AZ VPC with one NAT gateway, flow logs and an S3 endpoint; a
cluster placement group; a node-to-node security group; an IMDSv2, encrypted launch template; a managed
On-Demand compute environment pinned to one private subnet; a job queue with a RUNNABLE time limit; a
4-node c5n.18xlarge multi-node job definition. It has no watchdog and no validation: the benchmark
compares it with the toolkit's stack with the watchdog on and off.
"""

from __future__ import annotations

import sys

import aws_cdk as cdk
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs


def build(app: cdk.App, *, job_definitions: int = 1) -> cdk.Stack:
    stack = cdk.Stack(app, "PlainMnp")
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=1,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
            ec2.SubnetConfiguration(name="compute", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=19),
        ],
        flow_logs={"all": ec2.FlowLogOptions(destination=ec2.FlowLogDestination.to_cloud_watch_logs())},
        gateway_endpoints={"s3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)},
    )
    placement_group = ec2.PlacementGroup(stack, "Pg", strategy=ec2.PlacementGroupStrategy.CLUSTER)
    security_group = ec2.SecurityGroup(stack, "NodeSg", vpc=vpc, allow_all_outbound=True)
    security_group.add_ingress_rule(security_group, ec2.Port.all_traffic(), "node to node")
    launch_template = ec2.LaunchTemplate(
        stack,
        "Lt",
        require_imdsv2=True,
        http_put_response_hop_limit=2,
        block_devices=[
            ec2.BlockDevice(
                device_name="/dev/xvda",
                volume=ec2.BlockDeviceVolume.ebs(100, encrypted=True, volume_type=ec2.EbsDeviceVolumeType.GP3),
            )
        ],
    )
    compute_environment = batch.ManagedEc2EcsComputeEnvironment(
        stack,
        "Ce",
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnets=[vpc.private_subnets[0]]),
        instance_types=[ec2.InstanceType("c5n.18xlarge")],
        use_optimal_instance_classes=False,
        minv_cpus=0,
        maxv_cpus=288,
        placement_group=placement_group,
        security_groups=[security_group],
        launch_template=launch_template,
    )
    batch.JobQueue(
        stack,
        "Queue",
        compute_environments=[batch.OrderedComputeEnvironment(compute_environment=compute_environment, order=1)],
        job_state_time_limit_actions=[
            batch.JobStateTimeLimitAction(
                max_time=cdk.Duration.minutes(60),
                reason=batch.JobStateTimeLimitActionsReason.COMPUTE_ENVIRONMENT_MAX_RESOURCE,
            )
        ],
    )
    for index in range(job_definitions):
        log_group = logs.LogGroup(stack, f"Logs{index}", retention=logs.RetentionDays.ONE_MONTH)
        batch.MultiNodeJobDefinition(
            stack,
            f"Job{index}",
            instance_type=ec2.InstanceType("c5n.18xlarge"),
            main_node=0,
            containers=[
                batch.MultiNodeContainer(
                    start_node=0,
                    end_node=3,
                    container=batch.EcsEc2ContainerDefinition(
                        stack,
                        f"Container{index}",
                        image=ecs.ContainerImage.from_registry("public.ecr.aws/amazonlinux/amazonlinux:2023"),
                        cpu=72,
                        memory=cdk.Size.mebibytes(186745),
                        command=["/bin/sh", "-c", "echo hello"],
                        logging=ecs.LogDriver.aws_logs(stream_prefix="mnp", log_group=log_group),
                    ),
                )
            ],
        )
    return stack


if __name__ == "__main__":
    build(cdk.App(outdir=sys.argv[1] if len(sys.argv) > 1 else None))
