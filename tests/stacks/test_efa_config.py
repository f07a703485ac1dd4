"""EFA end to end from config (config/efa-hpc.yaml, hpc7a.96xlarge: 2 network cards, 2 EFA interfaces):
launch template interfaces, driver install, security-group rules, devices and memlock in the job."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from tests.conftest import SynthesizedConfig, synthesize_config


@pytest.fixture(scope="module")
def efa() -> SynthesizedConfig:
    return synthesize_config("efa-hpc.yaml")


def _only(template: dict[str, Any], resource_type: str) -> dict[str, Any]:
    (resource,) = [r for r in template["Resources"].values() if r["Type"] == resource_type]
    return resource["Properties"]


def test_launch_template_has_one_efa_interface_per_network_card(efa: SynthesizedConfig) -> None:
    data = _only(efa.template, "AWS::EC2::LaunchTemplate")["LaunchTemplateData"]
    interfaces = data["NetworkInterfaces"]
    assert [(i["InterfaceType"], i["NetworkCardIndex"], i["DeviceIndex"]) for i in interfaces] == [
        ("efa", 0, 0),
        ("efa", 1, 1),
    ]
    assert all(i["Groups"] for i in interfaces)
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    # The compute environment names the same groups: Batch gives them to each MNP container's interface.
    ce_groups = _only(efa.template, "AWS::Batch::ComputeEnvironment")["ComputeResources"]["SecurityGroupIds"]
    assert all(interface["Groups"] == ce_groups for interface in interfaces)


def test_efa_driver_is_installed_through_mime_user_data(efa: SynthesizedConfig) -> None:
    user_data = _only(efa.template, "AWS::EC2::LaunchTemplate")["LaunchTemplateData"]["UserData"]
    parts = user_data["Fn::Base64"]["Fn::Join"][1]
    mime = "".join(part for part in parts if isinstance(part, str))
    assert "Content-Type: multipart/mixed" in mime  # Batch requires MIME multi-part launch-template user data
    (script_part,) = [part["Fn::Base64"] for part in parts if isinstance(part, dict) and "Fn::Base64" in part]
    script = script_part if isinstance(script_part, str) else base64.b64decode(script_part).decode()
    assert script.startswith("#!/bin/bash")
    assert "efa_installer.sh -y --minimal" in script
    assert "ECS_AWSVPC_BLOCK_IMDS=true" in script


def test_security_group_allows_all_traffic_to_and_from_itself(efa: SynthesizedConfig) -> None:
    template = Template.from_json(efa.template)
    template.has_resource_properties(
        "AWS::EC2::SecurityGroupIngress",
        {"IpProtocol": "-1", "SourceSecurityGroupId": Match.any_value(), "GroupId": Match.any_value()},
    )
    template.has_resource_properties(
        "AWS::EC2::SecurityGroupEgress",
        {"IpProtocol": "-1", "DestinationSecurityGroupId": Match.any_value(), "GroupId": Match.any_value()},
    )


def test_job_maps_both_uverbs_devices_and_unlimited_memlock(efa: SynthesizedConfig) -> None:
    node_properties = _only(efa.template, "AWS::Batch::JobDefinition")["NodeProperties"]
    (node_range,) = node_properties["NodeRangeProperties"]
    linux = node_range["Container"]["LinuxParameters"]
    assert [d["HostPath"] for d in linux["Devices"]] == ["/dev/infiniband/uverbs0", "/dev/infiniband/uverbs1"]
    for device in linux["Devices"]:
        assert device["ContainerPath"] == device["HostPath"]
        assert sorted(device["Permissions"]) == ["MKNOD", "READ", "WRITE"]
    ulimits = {u["Name"]: (u["SoftLimit"], u["HardLimit"]) for u in node_range["Container"]["Ulimits"]}
    assert ulimits["memlock"] == (-1, -1)
    assert node_range["Container"]["InstanceType"] == "hpc7a.96xlarge"


def test_placement_group_is_cluster(efa: SynthesizedConfig) -> None:
    assert _only(efa.template, "AWS::EC2::PlacementGroup")["Strategy"] == "cluster"
