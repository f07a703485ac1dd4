"""MNP012: subnets of an MNP compute environment must not be public."""

import pytest

from mnp_toolkit.lint.packs import mnp_pack
from tests.helpers.ce_templates import use_subnets
from tests.helpers.templates import errors_or_warnings, findings_for, mnp_environment, props, resources


def test_private_subnet_is_compliant() -> None:
    assert findings_for("MNP012", mnp_environment()) == []


def test_subnet_routed_to_internet_gateway_is_an_error() -> None:
    template = mnp_environment()
    props(template, "PublicSubnet1")["MapPublicIpOnLaunch"] = False  # the route alone makes it public
    use_subnets(template, "PublicSubnet1")
    found = errors_or_warnings("MNP012", template)
    assert [(f.rule, f.level.value, f.resource) for f in found] == [("MNP012", "error", "ComputeEnvironment")]
    assert "MnpStack/Vpc/PublicSubnet1/Subnet" in found[0].message
    assert "sends 0.0.0.0/0 to an internet gateway" in found[0].message
    assert "MapPublicIpOnLaunch" not in found[0].message


@pytest.mark.parametrize("value", [True, "true"])
def test_map_public_ip_with_a_nat_default_route_is_not_public(value: object) -> None:
    # Revised catalog (2026-12-01): MapPublicIpOnLaunch alone does not make a subnet public.
    template = mnp_environment()
    props(template, "PrivateSubnet1")["MapPublicIpOnLaunch"] = value
    assert findings_for("MNP012", template) == []


def test_only_the_default_route_to_an_internet_gateway_makes_a_subnet_public() -> None:
    template = mnp_environment()
    resources(template)["PartialIgwRoute"] = {
        "Type": "AWS::EC2::Route",
        "Properties": {
            "RouteTableId": {"Ref": "PrivateRouteTable1"},
            "DestinationCidrBlock": "52.0.0.0/8",
            "GatewayId": {"Ref": "Igw"},
        },
    }
    assert findings_for("MNP012", template) == []


def test_reports_every_public_subnet() -> None:
    template = mnp_environment()
    props(template, "PrivateDefaultRoute2").pop("NatGatewayId")
    props(template, "PrivateDefaultRoute2")["GatewayId"] = {"Ref": "Igw"}
    use_subnets(template, "PrivateSubnet1", "PublicSubnet1", "PrivateSubnet2")
    found = errors_or_warnings("MNP012", template)
    assert len(found) == 2
    assert "PublicSubnet1" in found[0].message and "PrivateSubnet2" in found[1].message


def test_route_to_literal_igw_id_counts() -> None:
    template = mnp_environment()
    props(template, "PrivateDefaultRoute1").pop("NatGatewayId")
    props(template, "PrivateDefaultRoute1")["GatewayId"] = "igw-0123456789abcdef0"
    assert len(errors_or_warnings("MNP012", template)) == 1


def test_route_to_virtual_private_gateway_is_not_public() -> None:
    template = mnp_environment()
    resources(template)["VpnRoute"] = {
        "Type": "AWS::EC2::Route",
        "Properties": {
            "RouteTableId": {"Ref": "PrivateRouteTable1"},
            "DestinationCidrBlock": "192.168.0.0/16",
            "GatewayId": "vgw-0123",
        },
    }
    assert findings_for("MNP012", template) == []


def test_subnet_ids_not_in_the_template_give_no_error() -> None:
    template = mnp_environment()
    use_subnets(template, "subnet-0123456789abcdef0", {"Fn::ImportValue": "SharedSubnet"})
    found = findings_for("MNP012", template)
    assert [f.level.value for f in found] == ["info"]
    assert "subnet-0123456789abcdef0" in found[0].message


def test_subnet_without_associated_route_table_is_info() -> None:
    template = mnp_environment()
    del resources(template)["PrivateAssoc1"]
    assert [f.level.value for f in findings_for("MNP012", template)] == ["info"]


def test_unresolvable_subnet_list_is_info() -> None:
    template = mnp_environment()
    props(template, "ComputeEnvironment")["ComputeResources"]["Subnets"] = {"Fn::Split": [",", {"Ref": "Ids"}]}
    assert [f.level.value for f in findings_for("MNP012", template)] == ["info"]


def test_public_subnet_outside_mnp_is_not_applicable() -> None:
    template = mnp_environment()
    use_subnets(template, "PublicSubnet1")
    resources(template)["JobQueue"]["Metadata"]["mnp:queue"] = False
    resources(template)["OtherQueue"] = {"Type": "AWS::Batch::JobQueue", "Metadata": {"mnp:queue": True}}
    assert findings_for("MNP012", template) == []


def test_rule_matches_the_catalog() -> None:
    rule = mnp_pack()["MNP012"]
    assert (rule.level.value, rule.resource_type) == ("error", "AWS::Batch::ComputeEnvironment")
    assert rule.source.startswith("https://docs.aws.amazon.com/")
    assert rule.info and rule.explanation and rule.fix
