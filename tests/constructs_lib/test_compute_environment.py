"""MnpComputeEnvironment: On-Demand EC2, node security group, launch template, derived maxvCpus, EFA."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Match, Template

from constructs_lib import (
    CapacityReservation,
    ClusterPlacementGroup,
    MnpComputeEnvironment,
    MnpJobDefinition,
    MnpNetwork,
    MnpPropsError,
)
from mnp_toolkit.core import instance_types
from tests.constructs_lib.conftest import resources_of
from tests.helpers.cdk_app import cdk_app

IMAGE = "public.ecr.aws/example/mpi:1"


@pytest.fixture(scope="module")
def synth() -> dict[str, Any]:
    app = cdk_app()
    plain = Stack(app, "Plain")
    network = MnpNetwork(plain, "Net")
    group = ClusterPlacementGroup(plain, "Pg")
    jd = MnpJobDefinition(plain, "Jd", image=IMAGE, instance_type="c5n.18xlarge", num_nodes=4)
    small = MnpJobDefinition(plain, "Small", image=IMAGE, instance_type="c5n.18xlarge", num_nodes=2)
    ce = MnpComputeEnvironment(
        plain,
        "Ce",
        vpc=network.vpc,
        subnets=network.compute_subnets(),
        instance_types=["c5n.18xlarge"],
        placement_group=group.placement_group,
        job_definitions=[jd, small],
    )
    efa_stack = Stack(app, "Efa")
    efa_network = MnpNetwork(efa_stack, "Net", flow_logs=False)
    efa_group = ClusterPlacementGroup(efa_stack, "Pg")
    efa_ce = MnpComputeEnvironment(
        efa_stack,
        "Ce",
        vpc=efa_network.vpc,
        subnets=efa_network.compute_subnets(),
        instance_types=["p4d.24xlarge"],
        placement_group=efa_group.placement_group,
        max_vcpus=192,
        efa=True,
        install_efa_driver=False,  # the image below is taken to carry the driver
        images=[
            batch.EcsMachineImage(
                image=ec2.MachineImage.generic_linux({"us-east-1": "ami-0123456789abcdef0"}),
                image_type=batch.EcsMachineImageType.ECS_AL2023,
            )
        ],
    )
    return {
        "plain": Template.from_stack(plain),
        "efa": Template.from_stack(efa_stack),
        "ce": ce,
        "efa_ce": efa_ce,
        "network": network,
    }


def test_managed_on_demand_ec2_only(synth: dict[str, Any]) -> None:
    template: Template = synth["plain"]
    template.resource_count_is("AWS::Batch::ComputeEnvironment", 1)
    template.has_resource_properties(
        "AWS::Batch::ComputeEnvironment",
        {
            "ComputeResources": {
                "Type": "EC2",
                "AllocationStrategy": "BEST_FIT_PROGRESSIVE",
                "BidPercentage": Match.absent(),
                "SpotIamFleetRole": Match.absent(),
                "InstanceTypes": ["c5n.18xlarge"],  # explicit list, no "optimal"
                "MinvCpus": 0,
                "PlacementGroup": Match.any_value(),
            },
        },
    )


def test_type_is_managed(synth: dict[str, Any]) -> None:
    ce_props = resources_of(synth["plain"].to_json(), "AWS::Batch::ComputeEnvironment")[0]["Properties"]
    assert ce_props["Type"].upper() == "MANAGED"  # CloudFormation compares case-insensitively


def test_max_vcpus_derived_from_the_largest_job_definition(synth: dict[str, Any]) -> None:
    ce: MnpComputeEnvironment = synth["ce"]
    assert ce.max_vcpus == 4 * 72
    synth["plain"].has_resource_properties("AWS::Batch::ComputeEnvironment", {"ComputeResources": {"MaxvCpus": 288}})


def test_one_availability_zone(synth: dict[str, Any]) -> None:
    ce_props = resources_of(synth["plain"].to_json(), "AWS::Batch::ComputeEnvironment")[0]["Properties"]
    network: MnpNetwork = synth["network"]
    selection = network.compute_subnets()
    assert selection.subnets is not None
    expected = [Stack.of(network).resolve(selection.subnets[0].subnet_id)]
    assert ce_props["ComputeResources"]["Subnets"] == expected


def test_security_group_admits_only_itself(synth: dict[str, Any]) -> None:
    template = synth["plain"].to_json()
    ce: MnpComputeEnvironment = synth["ce"]
    sg_id = Stack.of(ce).resolve(ce.security_group.security_group_id)
    ce_props = resources_of(template, "AWS::Batch::ComputeEnvironment")[0]["Properties"]
    assert ce_props["ComputeResources"]["SecurityGroupIds"] == [sg_id]

    ingress = resources_of(template, "AWS::EC2::SecurityGroupIngress")
    # exactly one ingress rule: all traffic from the group itself
    assert [{k: v for k, v in i["Properties"].items() if k != "Description"} for i in ingress] == [
        {"GroupId": sg_id, "SourceSecurityGroupId": sg_id, "IpProtocol": "-1"}
    ]
    for group in resources_of(template, "AWS::EC2::SecurityGroup"):
        for rule in group["Properties"].get("SecurityGroupIngress", []):
            assert rule.get("CidrIp") != "0.0.0.0/0" and rule.get("CidrIpv6") != "::/0"

    egress = resources_of(template, "AWS::EC2::SecurityGroupEgress")
    assert [(e["Properties"]["GroupId"], e["Properties"]["DestinationSecurityGroupId"]) for e in egress] == [
        (sg_id, sg_id)
    ]


def test_launch_template_requires_imdsv2_and_encrypts_root(synth: dict[str, Any]) -> None:
    template: Template = synth["plain"]
    template.has_resource_properties(
        "AWS::EC2::LaunchTemplate",
        {
            "LaunchTemplateData": {
                "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 1},
                "BlockDeviceMappings": [
                    {
                        "DeviceName": "/dev/xvda",
                        "Ebs": {"Encrypted": True, "VolumeType": "gp3", "VolumeSize": 100},
                    }
                ],
                "NetworkInterfaces": Match.absent(),
            }
        },
    )
    ce: MnpComputeEnvironment = synth["ce"]
    lt_ref = Stack.of(ce).resolve(ce.launch_template.launch_template_id)
    template.has_resource_properties(
        "AWS::Batch::ComputeEnvironment",
        {"ComputeResources": {"LaunchTemplate": {"LaunchTemplateId": lt_ref}}},
    )


def test_instance_role_is_exposed(synth: dict[str, Any]) -> None:
    ce: MnpComputeEnvironment = synth["ce"]
    assert ce.instance_role is not None
    synth["plain"].has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": Match.object_like(
                {"Statement": [Match.object_like({"Principal": {"Service": "ec2.amazonaws.com"}})]}
            ),
            "ManagedPolicyArns": [
                Match.object_like(
                    {"Fn::Join": ["", Match.array_with([Match.string_like_regexp("AmazonEC2ContainerService")])]}
                )
            ],
        },
    )


def test_architecture_is_reported(synth: dict[str, Any]) -> None:
    assert synth["ce"].architecture == "x86_64"


def test_efa_launch_template_has_one_interface_per_network_card(synth: dict[str, Any]) -> None:
    efa_ce: MnpComputeEnvironment = synth["efa_ce"]
    p4d = instance_types.lookup("p4d.24xlarge")
    assert p4d is not None and efa_ce.efa_interfaces == p4d.max_efa_interfaces == 4
    template = synth["efa"].to_json()
    sg_id = Stack.of(efa_ce).resolve(efa_ce.security_group.security_group_id)
    lt = resources_of(template, "AWS::EC2::LaunchTemplate")[0]["Properties"]["LaunchTemplateData"]
    interfaces = lt["NetworkInterfaces"]
    assert [(i["NetworkCardIndex"], i["DeviceIndex"]) for i in interfaces] == [(0, 0), (1, 1), (2, 1), (3, 1)]
    assert all(i["InterfaceType"] == "efa" and i["Groups"] == [sg_id] for i in interfaces)
    # The CE keeps the same groups: Batch gives them to every MNP container's network interface (without
    # them, the VPC's default group) and they take precedence over the launch template's.
    ce_props = resources_of(template, "AWS::Batch::ComputeEnvironment")[0]["Properties"]
    assert ce_props["ComputeResources"]["SecurityGroupIds"] == [sg_id]
    assert ce_props["ComputeResources"]["PlacementGroup"]


def test_images_pass_through(synth: dict[str, Any]) -> None:
    ce_props = resources_of(synth["efa"].to_json(), "AWS::Batch::ComputeEnvironment")[0]["Properties"]
    [config] = ce_props["ComputeResources"]["Ec2Configuration"]
    assert config["ImageType"] == "ECS_AL2023"
    assert "ImageIdOverride" in config
    plain = resources_of(synth["plain"].to_json(), "AWS::Batch::ComputeEnvironment")[0]["Properties"]
    assert "Ec2Configuration" not in plain["ComputeResources"]


def _boot_script(template: dict[str, Any]) -> str:
    """The shell part of a launch template's MIME user data ("" when it has none)."""
    (launch_template,) = resources_of(template, "AWS::EC2::LaunchTemplate")
    user_data = launch_template["Properties"]["LaunchTemplateData"].get("UserData")
    if user_data is None:
        return ""
    parts = user_data["Fn::Base64"]["Fn::Join"][1]
    assert "Content-Type: multipart/mixed" in "".join(p for p in parts if isinstance(p, str))
    return "".join(p["Fn::Base64"] for p in parts if isinstance(p, dict) and "Fn::Base64" in p)


def test_containers_are_kept_from_instance_metadata_by_default(synth: dict[str, Any]) -> None:
    for name in ("efa", "plain"):
        assert "ECS_AWSVPC_BLOCK_IMDS=true >> /etc/ecs/ecs.config" in _boot_script(synth[name].to_json()), name


def test_efa_driver_install_can_be_left_to_the_image(synth: dict[str, Any]) -> None:
    """install_efa_driver=False (an AMI with the driver): no boot-time download. The default (on) is
    covered from config in tests/stacks/test_efa_config.py."""
    assert "efa_installer" not in _boot_script(synth["efa"].to_json())


def test_no_boot_script_when_nothing_needs_one(stack: Stack) -> None:
    """block_container_imds=False and no EFA: the launch template carries no user data at all."""
    network = MnpNetwork(stack, "OpenNet", flow_logs=False)
    MnpComputeEnvironment(
        stack,
        "OpenCe",
        vpc=network.vpc,
        subnets=network.compute_subnets(),
        instance_types=["c5n.18xlarge"],
        placement_group=None,
        max_vcpus=72,
        block_container_imds=False,
    )
    assert _boot_script(Template.from_stack(stack).to_json()) == ""


def test_launch_template_version_is_pinned_so_changes_reach_instances(synth: dict[str, Any]) -> None:
    template = synth["plain"].to_json()
    (ce,) = resources_of(template, "AWS::Batch::ComputeEnvironment")
    spec = ce["Properties"]["ComputeResources"]["LaunchTemplate"]
    (lt_id,) = [k for k, v in template["Resources"].items() if v["Type"] == "AWS::EC2::LaunchTemplate"]
    assert spec["Version"] == {"Fn::GetAtt": [lt_id, "LatestVersionNumber"]}


# -- validation (no synth) ----------------------------------------------------------------------------

Build = Callable[..., MnpComputeEnvironment]


def _jd(stack: Stack, id: str, instance_type: str = "c5n.18xlarge", num_nodes: int = 4) -> MnpJobDefinition:
    return MnpJobDefinition(stack, id, image=IMAGE, instance_type=instance_type, num_nodes=num_nodes)


def test_rejects_five_additional_security_groups(make_ce: Build, stack: Stack) -> None:
    vpc = make_ce().props.vpc
    groups = [ec2.SecurityGroup.from_security_group_id(stack, f"Sg{i}", f"sg-0000000{i}") for i in range(5)]
    with pytest.raises(MnpPropsError, match=r"additional_security_groups: has 5 groups.*makes 6"):
        make_ce(vpc=vpc, additional_security_groups=groups)
    assert len(make_ce(additional_security_groups=groups[:4]).props.additional_security_groups) == 4


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"instance_types": []}, "instance_types: is empty"),
        ({"instance_types": ["optimal"]}, "instance_types: lists the category 'optimal'"),
        ({"instance_types": ["c5n.18xlarge", "C5N.18xlarge"]}, "instance_types: lists a type twice"),
        ({"instance_types": ["c5n 18xlarge"]}, "instance_types: 'c5n 18xlarge' is neither an instance type"),
        (
            {"instance_types": ["c5n.18xlarge", "c7g.16xlarge"]},
            r"instance_types: mixes CPU architectures \(c7g.16xlarge is arm64, c5n.18xlarge is x86_64\)",
        ),
        (
            {"instance_types": ["c7g"], "use_optimal_instance_classes": True},
            r"instance_types: mixes CPU architectures \(c7g is arm64, optimal is x86_64\)",
        ),
        ({"min_vcpus": 300}, "min_vcpus: is 300, more than max_vcpus 288"),
        ({"min_vcpus": -1}, "min_vcpus: is -1"),
        ({"max_vcpus": 0}, "max_vcpus: is 0"),
        ({"max_vcpus": None}, "max_vcpus: is not set and no job_definitions"),
        ({"root_volume_size_gib": 0}, "root_volume_size_gib: is 0"),
        ({"root_volume_size_gib": 29}, "root_volume_size_gib: is 29; the ECS-optimized AMIs need"),
        ({"imds_hop_limit": 0}, "imds_hop_limit: is 0"),
        ({"efa": True, "placement_group": None}, "placement_group: is None but efa=True"),
        ({"efa": True, "instance_types": ["m5.large"]}, "instance_types: m5.large does not support EFA"),
        ({"efa": True, "instance_types": ["c5n"]}, "instance_types: lists the family 'c5n' with efa=True"),
        (
            {"efa": True, "instance_types": ["c5n.18xlarge", "p4d.24xlarge"], "max_vcpus": 288},
            r"instance_types: mixes EFA interface counts \(c5n.18xlarge: 1, p4d.24xlarge: 4\)",
        ),
    ],
)
def test_rejects_bad_props(make_ce: Build, overrides: dict[str, Any], match: str) -> None:
    with pytest.raises(MnpPropsError, match=rf"MnpComputeEnvironment 'Ce\d+': {match}"):
        make_ce(**overrides)


def test_rejects_max_vcpus_below_a_job_definition(make_ce: Build, stack: Stack) -> None:
    jd = _jd(stack, "Big", num_nodes=8)
    with pytest.raises(MnpPropsError, match="max_vcpus: is 288 but job definition 'Big' needs 576 vCPUs"):
        make_ce(job_definitions=[jd])


def test_rejects_a_job_definition_whose_type_is_not_listed(make_ce: Build, stack: Stack) -> None:
    jd = _jd(stack, "Other", instance_type="m5.large")
    with pytest.raises(MnpPropsError, match=r"instance_types: \['c5n.18xlarge'\] cannot launch m5.large"):
        make_ce(job_definitions=[jd], max_vcpus=None)


@pytest.mark.synth
def test_a_family_covers_its_sizes(make_ce: Build, stack: Stack) -> None:
    jd = _jd(stack, "Jd", num_nodes=2)
    ce = make_ce(instance_types=["c5n"], job_definitions=[jd], max_vcpus=None)
    assert ce.max_vcpus == 2 * 72
    assert ce.architecture == "x86_64"
    # The L2 cannot hold a family name; check the override renders the family, not its placeholder.
    Template.from_stack(stack).has_resource_properties(
        "AWS::Batch::ComputeEnvironment", {"ComputeResources": {"InstanceTypes": ["c5n"]}}
    )


def test_unknown_types_are_not_errors(make_ce: Build) -> None:
    ce = make_ce(instance_types=["zz9.hyperlarge"])
    assert ce.architecture is None


def test_rejects_subnets_in_two_azs_with_a_placement_group(make_ce: Build) -> None:
    vpc = make_ce().props.vpc
    both = ec2.SubnetSelection(subnets=list(vpc.private_subnets))
    with pytest.raises(MnpPropsError, match="subnets: span 2 Availability Zones"):
        make_ce(subnets=both)
    # Without a placement group two AZs are allowed (the rule pack warns about the missing group).
    assert make_ce(subnets=both, placement_group=None).props.placement_group is None


def test_rejects_public_subnets(stack: Stack) -> None:
    network = MnpNetwork(stack, "NewNet", flow_logs=False)
    with pytest.raises(MnpPropsError, match=r"subnets: selects 1 public subnet\(s\)"):
        MnpComputeEnvironment(
            stack,
            "Ce",
            vpc=network.vpc,
            subnets=ec2.SubnetSelection(
                subnet_type=ec2.SubnetType.PUBLIC, one_per_az=True, availability_zones=network.availability_zones[:1]
            ),
            instance_types=["c5n.18xlarge"],
            placement_group=None,
            max_vcpus=72,
        )


def test_max_vcpus_of_a_job_on_an_instance_type_the_toolkit_does_not_know_must_be_given(
    stack: Stack, make_ce: Build
) -> None:
    jd = MnpJobDefinition(
        stack, "Unknown", image="img", instance_type="zz9.hyperlarge", num_nodes=4, vcpus=8, memory_mib=1024
    )
    with pytest.raises(MnpPropsError, match="max_vcpus: is not set, and the toolkit does not know instance type"):
        make_ce(instance_types=["zz9.hyperlarge"], job_definitions=[jd], max_vcpus=None)
    assert make_ce(instance_types=["zz9.hyperlarge"], job_definitions=[jd], max_vcpus=512).max_vcpus == 512


# -- custom AMI, EFA driver, capacity reservations ----------------------------------------------------


@pytest.mark.synth
@pytest.mark.parametrize(
    ("reservation", "target"),
    [
        (CapacityReservation(id="cr-0123456789abcdef0"), {"CapacityReservationId": "cr-0123456789abcdef0"}),
        (
            CapacityReservation(resource_group_arn="arn:aws:resource-groups:us-east-1:123456789012:group/p4d-odcr"),
            {"CapacityReservationResourceGroupArn": "arn:aws:resource-groups:us-east-1:123456789012:group/p4d-odcr"},
        ),
    ],
    ids=["reservation", "group"],
)
def test_capacity_reservation_is_targeted_through_the_launch_template(
    make_ce: Build, stack: Stack, reservation: CapacityReservation, target: dict[str, str]
) -> None:
    ce = make_ce(capacity_reservation=reservation)
    template = Template.from_stack(stack)
    lt_id = stack.resolve(ce.launch_template.node.default_child.logical_id)  # type: ignore[union-attr]
    data = template.to_json()["Resources"][lt_id]["Properties"]["LaunchTemplateData"]
    assert data["CapacityReservationSpecification"] == {"CapacityReservationTarget": target}
    # The rest of the launch template is untouched (IMDSv2, encrypted root volume).
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert data["BlockDeviceMappings"][0]["Ebs"]["Encrypted"] is True


def test_no_capacity_reservation_by_default(synth: dict[str, Any]) -> None:
    for name in ("plain", "efa"):
        synth[name].has_resource_properties(
            "AWS::EC2::LaunchTemplate",
            {"LaunchTemplateData": Match.object_like({"CapacityReservationSpecification": Match.absent()})},
        )


@pytest.mark.parametrize(
    ("reservation", "match"),
    [
        (CapacityReservation(), "capacity_reservation: names no id and no resource group"),
        (
            CapacityReservation(
                id="cr-0123456789abcdef0", resource_group_arn="arn:aws:resource-groups:us-east-1:1:group/x"
            ),
            "capacity_reservation: names both an id and a resource group",
        ),
        (CapacityReservation(id="cr-123"), "capacity_reservation: id 'cr-123' is not cr- and 17 hex digits"),
        (
            CapacityReservation(resource_group_arn="arn:aws:ec2:::x"),
            "capacity_reservation: resource_group_arn 'arn:aws:ec2:::x' is not a resource group ARN",
        ),
    ],
)
def test_rejects_bad_capacity_reservations(make_ce: Build, reservation: CapacityReservation, match: str) -> None:
    with pytest.raises(MnpPropsError, match=rf"MnpComputeEnvironment 'Ce\d+': {re.escape(match)}"):
        make_ce(capacity_reservation=reservation)


def test_skipping_the_efa_driver_needs_an_image_with_it(make_ce: Build) -> None:
    with pytest.raises(MnpPropsError, match="install_efa_driver: is False with efa=True but no images are given"):
        make_ce(efa=True, install_efa_driver=False)


@pytest.mark.synth
def test_an_ami_from_an_ssm_parameter_is_resolved_at_deploy_time(make_ce: Build, stack: Stack) -> None:
    name = "/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id"
    make_ce(
        images=[
            batch.EcsMachineImage(
                image=ec2.MachineImage.from_ssm_parameter(name), image_type=batch.EcsMachineImageType.ECS_AL2023_NVIDIA
            )
        ]
    )
    template = Template.from_stack(stack).to_json()
    (parameter_id,) = [k for k, v in template["Parameters"].items() if v.get("Default") == name]
    assert template["Parameters"][parameter_id]["Type"] == "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
    (ce,) = resources_of(template, "AWS::Batch::ComputeEnvironment")
    assert ce["Properties"]["ComputeResources"]["Ec2Configuration"] == [
        {"ImageIdOverride": {"Ref": parameter_id}, "ImageType": "ECS_AL2023_NVIDIA"}
    ]
