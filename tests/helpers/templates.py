"""Template dicts for rule tests: a compliant MNP environment shaped like a real CDK synth, to mutate.

``mnp_environment()`` returns a fresh deep copy each call, so tests can change it freely. Logical IDs
here are readable names chosen by us (not CDK hashes). Use :func:`findings_for` to run one rule.
"""

from __future__ import annotations

import copy
from typing import Any

from mnp_toolkit.lint.engine import lint_template
from mnp_toolkit.lint.findings import Finding
from mnp_toolkit.lint.packs import mnp_pack
from mnp_toolkit.lint.template import Template

AZ0 = {"Fn::Select": [0, {"Fn::GetAZs": ""}]}
AZ1 = {"Fn::Select": [1, {"Fn::GetAZs": ""}]}


def _meta(path: str) -> dict[str, Any]:
    return {"aws:cdk:path": f"MnpStack/{path}/Resource"}


_BASE: dict[str, Any] = {
    "Resources": {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}, "Metadata": _meta("Vpc")},
        "Igw": {"Type": "AWS::EC2::InternetGateway", "Metadata": _meta("Vpc/IGW")},
        "PublicSubnet1": {
            "Type": "AWS::EC2::Subnet",
            "Properties": {
                "VpcId": {"Ref": "Vpc"},
                "AvailabilityZone": AZ0,
                "CidrBlock": "10.0.0.0/24",
                "MapPublicIpOnLaunch": True,
            },
            "Metadata": _meta("Vpc/PublicSubnet1/Subnet"),
        },
        "PublicRouteTable1": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Vpc"}}},
        "PublicAssoc1": {
            "Type": "AWS::EC2::SubnetRouteTableAssociation",
            "Properties": {"RouteTableId": {"Ref": "PublicRouteTable1"}, "SubnetId": {"Ref": "PublicSubnet1"}},
        },
        "PublicDefaultRoute1": {
            "Type": "AWS::EC2::Route",
            "Properties": {
                "RouteTableId": {"Ref": "PublicRouteTable1"},
                "DestinationCidrBlock": "0.0.0.0/0",
                "GatewayId": {"Ref": "Igw"},
            },
        },
        "NatEip1": {"Type": "AWS::EC2::EIP", "Properties": {"Domain": "vpc"}},
        "Nat1": {
            "Type": "AWS::EC2::NatGateway",
            "Properties": {
                "SubnetId": {"Ref": "PublicSubnet1"},
                "AllocationId": {"Fn::GetAtt": ["NatEip1", "AllocationId"]},
            },
        },
        "PrivateSubnet1": {
            "Type": "AWS::EC2::Subnet",
            "Properties": {
                "VpcId": {"Ref": "Vpc"},
                "AvailabilityZone": AZ0,
                "CidrBlock": "10.0.128.0/18",
                "MapPublicIpOnLaunch": False,
            },
            "Metadata": _meta("Vpc/PrivateSubnet1/Subnet"),
        },
        "PrivateRouteTable1": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Vpc"}}},
        "PrivateAssoc1": {
            "Type": "AWS::EC2::SubnetRouteTableAssociation",
            "Properties": {"RouteTableId": {"Ref": "PrivateRouteTable1"}, "SubnetId": {"Ref": "PrivateSubnet1"}},
        },
        "PrivateDefaultRoute1": {
            "Type": "AWS::EC2::Route",
            "Properties": {
                "RouteTableId": {"Ref": "PrivateRouteTable1"},
                "DestinationCidrBlock": "0.0.0.0/0",
                "NatGatewayId": {"Ref": "Nat1"},
            },
        },
        "PrivateSubnet2": {
            "Type": "AWS::EC2::Subnet",
            "Properties": {
                "VpcId": {"Ref": "Vpc"},
                "AvailabilityZone": AZ1,
                "CidrBlock": "10.0.192.0/18",
                "MapPublicIpOnLaunch": False,
            },
            "Metadata": _meta("Vpc/PrivateSubnet2/Subnet"),
        },
        "PrivateRouteTable2": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Vpc"}}},
        "PrivateAssoc2": {
            "Type": "AWS::EC2::SubnetRouteTableAssociation",
            "Properties": {"RouteTableId": {"Ref": "PrivateRouteTable2"}, "SubnetId": {"Ref": "PrivateSubnet2"}},
        },
        "PrivateDefaultRoute2": {
            "Type": "AWS::EC2::Route",
            "Properties": {
                "RouteTableId": {"Ref": "PrivateRouteTable2"},
                "DestinationCidrBlock": "0.0.0.0/0",
                "NatGatewayId": {"Ref": "Nat1"},
            },
        },
        "PlacementGroup": {
            "Type": "AWS::EC2::PlacementGroup",
            "Properties": {"Strategy": "cluster"},
            "Metadata": _meta("PlacementGroup"),
        },
        "NodeSecurityGroup": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": "MNP node-to-node traffic",
                "VpcId": {"Ref": "Vpc"},
                "SecurityGroupEgress": [{"CidrIp": "0.0.0.0/0", "IpProtocol": "-1", "Description": "all out"}],
            },
            "Metadata": _meta("ComputeEnvironment/NodeSecurityGroup"),
        },
        "NodeSecurityGroupSelfIngress": {
            "Type": "AWS::EC2::SecurityGroupIngress",
            "Properties": {
                "GroupId": {"Fn::GetAtt": ["NodeSecurityGroup", "GroupId"]},
                "IpProtocol": "-1",
                "SourceSecurityGroupId": {"Fn::GetAtt": ["NodeSecurityGroup", "GroupId"]},
            },
        },
        "LaunchTemplate": {
            "Type": "AWS::EC2::LaunchTemplate",
            "Properties": {
                "LaunchTemplateData": {
                    "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 2},
                    "BlockDeviceMappings": [
                        {"DeviceName": "/dev/xvda", "Ebs": {"Encrypted": True, "VolumeSize": 100, "VolumeType": "gp3"}}
                    ],
                }
            },
            "Metadata": _meta("ComputeEnvironment/LaunchTemplate"),
        },
        "ComputeEnvironment": {
            "Type": "AWS::Batch::ComputeEnvironment",
            "Properties": {
                "Type": "managed",
                "State": "ENABLED",
                "ComputeResources": {
                    "Type": "EC2",
                    "AllocationStrategy": "BEST_FIT_PROGRESSIVE",
                    "MinvCpus": 0,
                    "MaxvCpus": 288,
                    "InstanceTypes": ["c5n.18xlarge"],
                    "Subnets": [{"Ref": "PrivateSubnet1"}],
                    "SecurityGroupIds": [{"Fn::GetAtt": ["NodeSecurityGroup", "GroupId"]}],
                    "PlacementGroup": {"Ref": "PlacementGroup"},
                    "LaunchTemplate": {
                        "LaunchTemplateId": {"Ref": "LaunchTemplate"},
                        "Version": {"Fn::GetAtt": ["LaunchTemplate", "LatestVersionNumber"]},
                    },
                    "InstanceRole": {"Fn::GetAtt": ["InstanceProfile", "Arn"]},
                },
            },
            "Metadata": _meta("ComputeEnvironment"),
        },
        "JobQueue": {
            "Type": "AWS::Batch::JobQueue",
            "Properties": {
                "Priority": 1,
                "State": "ENABLED",
                "ComputeEnvironmentOrder": [
                    {"ComputeEnvironment": {"Fn::GetAtt": ["ComputeEnvironment", "ComputeEnvironmentArn"]}, "Order": 1}
                ],
                "JobStateTimeLimitActions": [
                    {
                        "Action": "CANCEL",
                        "MaxTimeSeconds": 3600,
                        "Reason": "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
                        "State": "RUNNABLE",
                    }
                ],
            },
            "Metadata": {**_meta("JobQueue"), "mnp:queue": True},
        },
        "JobDefinition": {
            "Type": "AWS::Batch::JobDefinition",
            "Properties": {
                "Type": "multinode",
                "PlatformCapabilities": ["EC2"],
                "RetryStrategy": {"Attempts": 1},
                "NodeProperties": {
                    "MainNode": 0,
                    "NumNodes": 4,
                    "NodeRangeProperties": [
                        {
                            "TargetNodes": "0:",
                            "Container": {
                                "Image": "public.ecr.aws/amazonlinux/amazonlinux:2023",
                                "InstanceType": "c5n.18xlarge",
                                "Command": ["mpirun", "hostname"],
                                "ResourceRequirements": [
                                    {"Type": "VCPU", "Value": "72"},
                                    {"Type": "MEMORY", "Value": "180000"},
                                ],
                            },
                        }
                    ],
                },
            },
            "Metadata": _meta("JobDefinition"),
        },
    }
}


def mnp_environment() -> dict[str, Any]:
    """A fresh, compliant (zero errors, zero warnings) MNP environment template to mutate."""
    return copy.deepcopy(_BASE)


def resources(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]


def props(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return template["Resources"][logical_id]["Properties"]


def findings_for(rule_id: str, template: dict[str, Any], *, path: str = "test.template.json") -> list[Finding]:
    """Findings of one rule (info findings included) on a template dict."""
    rule = mnp_pack()[rule_id]
    return [f for f in lint_template(Template(template, path=path), [rule]) if f.rule == rule_id]


def errors_or_warnings(rule_id: str, template: dict[str, Any]) -> list[Finding]:
    """Only the findings that count (errors and warnings, not infos)."""
    return [f for f in findings_for(rule_id, template) if f.level.value != "info"]


def only_info_naming_default(rule_id: str, template: dict[str, Any], *, parameter: str, default: str) -> Finding:
    """A value from a parameter is unknowable (its Default is not the deployed value): the rule gives no
    error or warning, and its info names the parameter and the default. Returns that info."""
    found = findings_for(rule_id, template)
    assert [f.level.value for f in found] == ["info"], [(f.level.value, f.message) for f in found]
    assert f"parameter {parameter}, default {default}" in found[0].message, found[0].message
    return found[0]
