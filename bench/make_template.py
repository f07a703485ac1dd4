"""Generate an MNP-ish CloudFormation template of about N resources, for benchmarking `mnp lint`.

    python bench/make_template.py 1000 > /tmp/mnp-1000.template.json

One shared VPC (internet gateway, public subnet, NAT gateway) and then "units" of 12 resources, each a
complete MNP environment: private subnet + route table + association + default route to the NAT, node
security group + self-ingress rule, launch template (IMDSv2, encrypted EBS), cluster placement group,
managed EC2 compute environment, MNP-marked job queue, multinode job definition, and an IAM role.
Every few units one thing is wrong (Spot, MinvCpus > 0, too many node groups...) so rules find something,
as they would in a real repository. Logical IDs are readable and deterministic.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

UNIT_SIZE = 12
SHARED = 7


def _meta(path: str) -> dict[str, Any]:
    return {"aws:cdk:path": f"BenchStack/{path}/Resource"}


def _shared() -> dict[str, Any]:
    return {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/8"}, "Metadata": _meta("Vpc")},
        "Igw": {"Type": "AWS::EC2::InternetGateway"},
        "PublicSubnet": {
            "Type": "AWS::EC2::Subnet",
            "Properties": {
                "VpcId": {"Ref": "Vpc"},
                "CidrBlock": "10.0.0.0/24",
                "AvailabilityZone": {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
                "MapPublicIpOnLaunch": True,
            },
        },
        "PublicRouteTable": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Vpc"}}},
        "PublicAssoc": {
            "Type": "AWS::EC2::SubnetRouteTableAssociation",
            "Properties": {"RouteTableId": {"Ref": "PublicRouteTable"}, "SubnetId": {"Ref": "PublicSubnet"}},
        },
        "PublicRoute": {
            "Type": "AWS::EC2::Route",
            "Properties": {
                "RouteTableId": {"Ref": "PublicRouteTable"},
                "DestinationCidrBlock": "0.0.0.0/0",
                "GatewayId": {"Ref": "Igw"},
            },
        },
        "Nat": {
            "Type": "AWS::EC2::NatGateway",
            "Properties": {"SubnetId": {"Ref": "PublicSubnet"}, "AllocationId": "eipalloc-0123456789abcdef0"},
        },
    }


def _unit(i: int) -> dict[str, Any]:
    u = f"U{i:04d}"
    spot = i % 7 == 3
    nodes = 4 + i % 5
    ranges = [
        {
            "TargetNodes": "0:" if j == 0 else f"{j}:{j}",
            "Container": {
                "Image": "public.ecr.aws/amazonlinux/amazonlinux:2023",
                "InstanceType": "c5n.18xlarge",
                "Command": ["mpirun", "hostname"],
                "ResourceRequirements": [{"Type": "VCPU", "Value": "72"}, {"Type": "MEMORY", "Value": "180000"}],
            },
        }
        for j in range(6 if i % 11 == 5 else 1)
    ]
    return {
        f"{u}Subnet": {
            "Type": "AWS::EC2::Subnet",
            "Properties": {
                "VpcId": {"Ref": "Vpc"},
                "CidrBlock": f"10.{1 + i // 250}.{i % 250}.0/24",
                "AvailabilityZone": {"Fn::Select": [i % 2, {"Fn::GetAZs": ""}]},
                "MapPublicIpOnLaunch": False,
            },
            "Metadata": _meta(f"{u}/Subnet"),
        },
        f"{u}RouteTable": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Vpc"}}},
        f"{u}Assoc": {
            "Type": "AWS::EC2::SubnetRouteTableAssociation",
            "Properties": {"RouteTableId": {"Ref": f"{u}RouteTable"}, "SubnetId": {"Ref": f"{u}Subnet"}},
        },
        f"{u}Route": {
            "Type": "AWS::EC2::Route",
            "Properties": {
                "RouteTableId": {"Ref": f"{u}RouteTable"},
                "DestinationCidrBlock": "0.0.0.0/0",
                "NatGatewayId": {"Ref": "Nat"},
            },
        },
        f"{u}Sg": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": "MNP nodes",
                "VpcId": {"Ref": "Vpc"},
                "SecurityGroupEgress": [{"CidrIp": "0.0.0.0/0", "IpProtocol": "-1"}],
            },
            "Metadata": _meta(f"{u}/Sg"),
        },
        f"{u}SgSelf": {
            "Type": "AWS::EC2::SecurityGroupIngress",
            "Properties": {
                "GroupId": {"Fn::GetAtt": [f"{u}Sg", "GroupId"]},
                "IpProtocol": "-1",
                "SourceSecurityGroupId": {"Fn::GetAtt": [f"{u}Sg", "GroupId"]},
            },
        },
        f"{u}LaunchTemplate": {
            "Type": "AWS::EC2::LaunchTemplate",
            "Properties": {
                "LaunchTemplateData": {
                    "MetadataOptions": {"HttpTokens": "required"},
                    "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"Encrypted": True, "VolumeSize": 100}}],
                }
            },
        },
        f"{u}PlacementGroup": {"Type": "AWS::EC2::PlacementGroup", "Properties": {"Strategy": "cluster"}},
        f"{u}Ce": {
            "Type": "AWS::Batch::ComputeEnvironment",
            "Properties": {
                "Type": "managed",
                "ComputeResources": {
                    "Type": "SPOT" if spot else "EC2",
                    "AllocationStrategy": "BEST_FIT_PROGRESSIVE",
                    "MinvCpus": 72 if i % 5 == 1 else 0,
                    "MaxvCpus": 72 * 10,
                    "InstanceTypes": ["c5n.18xlarge"],
                    "Subnets": [{"Ref": f"{u}Subnet"}],
                    "SecurityGroupIds": [{"Fn::GetAtt": [f"{u}Sg", "GroupId"]}],
                    "PlacementGroup": {"Ref": f"{u}PlacementGroup"},
                    "LaunchTemplate": {"LaunchTemplateId": {"Ref": f"{u}LaunchTemplate"}},
                    "InstanceRole": "arn:aws:iam::123456789012:instance-profile/ecsInstanceRole",
                },
            },
            "Metadata": _meta(f"{u}/Ce"),
        },
        f"{u}Queue": {
            "Type": "AWS::Batch::JobQueue",
            "Properties": {
                "Priority": 1,
                "ComputeEnvironmentOrder": [
                    {"ComputeEnvironment": {"Fn::GetAtt": [f"{u}Ce", "ComputeEnvironmentArn"]}, "Order": 1}
                ],
                "JobStateTimeLimitActions": [
                    {"Action": "CANCEL", "MaxTimeSeconds": 3600, "Reason": "capacity", "State": "RUNNABLE"}
                ],
            },
            "Metadata": {**_meta(f"{u}/Queue"), "mnp:queue": True},
        },
        f"{u}JobDefinition": {
            "Type": "AWS::Batch::JobDefinition",
            "Properties": {
                "Type": "multinode",
                "PlatformCapabilities": ["EC2"],
                "RetryStrategy": {"Attempts": 1},
                "NodeProperties": {"MainNode": 0, "NumNodes": nodes, "NodeRangeProperties": ranges},
            },
            "Metadata": _meta(f"{u}/JobDefinition"),
        },
        f"{u}Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}},
        },
    }


def make_template(resources: int) -> dict[str, Any]:
    """A template of about ``resources`` resources (rounded to whole units, at least one unit)."""
    body: dict[str, Any] = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": _shared()}
    for i in range(max(1, (resources - SHARED) // UNIT_SIZE)):
        body["Resources"].update(_unit(i))
    return body


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("resources", type=int, help="approximate number of resources")
    args = parser.parse_args()
    if args.resources < 1:
        parser.error("resources must be positive")
    json.dump(make_template(args.resources), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
