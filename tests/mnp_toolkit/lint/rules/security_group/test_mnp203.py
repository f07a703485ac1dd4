"""MNP203: a security group of a compute environment must not admit ingress from anywhere."""

from typing import Any

import pytest

from mnp_toolkit.lint.packs import mnp_pack
from tests.helpers.ce_templates import add_compute_environment, compute_resources
from tests.helpers.templates import (
    errors_or_warnings,
    findings_for,
    mnp_environment,
    only_info_naming_default,
    props,
    resources,
)


def inline_ingress(template: dict[str, Any]) -> list[dict[str, Any]]:
    return props(template, "NodeSecurityGroup").setdefault("SecurityGroupIngress", [])


def test_self_ingress_only_is_compliant() -> None:
    assert findings_for("MNP203", mnp_environment()) == []


@pytest.mark.parametrize(("key", "cidr"), [("CidrIp", "0.0.0.0/0"), ("CidrIpv6", "::/0"), ("CidrIpv6", "0::0/0")])
def test_inline_open_ingress_is_an_error(key: str, cidr: str) -> None:
    template = mnp_environment()
    inline_ingress(template).append({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, key: cidr})
    found = errors_or_warnings("MNP203", template)
    assert [(f.rule, f.level.value, f.resource) for f in found] == [("MNP203", "error", "NodeSecurityGroup")]
    assert cidr in found[0].message and "tcp port 22" in found[0].message
    assert "MnpStack/ComputeEnvironment/Resource" in found[0].message


def test_narrow_cidr_is_compliant() -> None:
    template = mnp_environment()
    inline_ingress(template).append({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "10.0.0.0/8"})
    assert findings_for("MNP203", template) == []


def test_standalone_open_ingress_is_an_error() -> None:
    template = mnp_environment()
    resources(template)["OpenIngress"] = {
        "Type": "AWS::EC2::SecurityGroupIngress",
        "Properties": {"GroupId": {"Ref": "NodeSecurityGroup"}, "IpProtocol": "-1", "CidrIp": "0.0.0.0/0"},
    }
    found = errors_or_warnings("MNP203", template)
    assert len(found) == 1 and "OpenIngress" in found[0].message and "all traffic" in found[0].message


def test_reports_every_open_rule() -> None:
    template = mnp_environment()
    inline_ingress(template).extend(
        [
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"},
            {"IpProtocol": "tcp", "FromPort": 8888, "ToPort": 8890, "CidrIpv6": "::/0"},
        ]
    )
    found = errors_or_warnings("MNP203", template)
    assert len(found) == 2
    assert "tcp port 22" in found[0].message and "tcp ports 8888-8890" in found[1].message


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ({"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1}, "icmp (all types)"),
        ({"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1}, "icmp (type 8)"),
        ({"IpProtocol": "icmpv6", "FromPort": 3, "ToPort": 0}, "icmpv6 (type 3, code 0)"),
    ],
)
def test_icmp_rules_are_named_by_type_and_code_not_port(rule: dict[str, Any], words: str) -> None:
    """For ICMP, FromPort and ToPort are the ICMP type and code, -1 for all (EC2 IpPermission)."""
    template = mnp_environment()
    inline_ingress(template).append({**rule, "CidrIp": "0.0.0.0/0"})
    (found,) = errors_or_warnings("MNP203", template)
    assert words in found.message and " port" not in found.message


def test_open_egress_is_not_ingress() -> None:
    template = mnp_environment()
    assert props(template, "NodeSecurityGroup")["SecurityGroupEgress"][0]["CidrIp"] == "0.0.0.0/0"
    assert findings_for("MNP203", template) == []


def test_group_of_a_non_mnp_ce_is_checked() -> None:
    template = mnp_environment()
    resources(template)["OtherSg"] = {
        "Type": "AWS::EC2::SecurityGroup",
        "Properties": {"GroupDescription": "o", "SecurityGroupIngress": [{"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}]},
    }
    other = add_compute_environment(template, "OtherCe", queue=None)
    other["Properties"]["ComputeResources"]["SecurityGroupIds"] = [{"Ref": "OtherSg"}]
    found = errors_or_warnings("MNP203", template)
    assert [f.resource for f in found] == ["OtherSg"]


def test_group_not_used_by_a_ce_is_not_applicable() -> None:
    template = mnp_environment()
    resources(template)["WebSg"] = {
        "Type": "AWS::EC2::SecurityGroup",
        "Properties": {"GroupDescription": "w", "SecurityGroupIngress": [{"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}]},
    }
    assert findings_for("MNP203", template) == []


def test_group_used_through_the_launch_template_is_checked() -> None:
    template = mnp_environment()
    del compute_resources(template)["SecurityGroupIds"]
    props(template, "LaunchTemplate")["LaunchTemplateData"]["SecurityGroupIds"] = [{"Ref": "NodeSecurityGroup"}]
    inline_ingress(template).append({"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"})
    assert len(errors_or_warnings("MNP203", template)) == 1


def test_unresolvable_cidr_is_info() -> None:
    template = mnp_environment()
    inline_ingress(template).append({"IpProtocol": "-1", "CidrIp": {"Ref": "AllowedCidr"}})
    assert [f.level.value for f in findings_for("MNP203", template)] == ["info"]


def test_ssh_cidr_from_a_parameter_defaulting_to_everywhere_is_only_info() -> None:
    template = mnp_environment()
    template["Parameters"] = {"SshCidr": {"Type": "String", "Default": "0.0.0.0/0"}}
    inline_ingress(template).append({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": {"Ref": "SshCidr"}})
    info = only_info_naming_default("MNP203", template, parameter="SshCidr", default='"0.0.0.0/0"')
    assert "CidrIp" in info.message


def test_rule_matches_the_catalog() -> None:
    rule = mnp_pack()["MNP203"]
    assert (rule.level.value, rule.resource_type) == ("error", "AWS::EC2::SecurityGroup")
    assert rule.source.startswith("https://docs.aws.amazon.com/")
    assert rule.info and rule.explanation and rule.fix


def test_conditional_inline_rule_is_info_not_silence() -> None:
    template = mnp_environment()
    inline_ingress(template).append({"Fn::If": ["Open", {"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}, {"Ref": "X"}]})
    assert [f.level.value for f in findings_for("MNP203", template)] == ["info"]


def test_launch_template_groups_of_instances_are_still_checked() -> None:
    # MNP203 guards the instances: without CE SecurityGroupIds they get the launch template's groups.
    template = mnp_environment()
    del compute_resources(template)["SecurityGroupIds"]
    props(template, "LaunchTemplate")["LaunchTemplateData"]["SecurityGroupIds"] = [
        {"Fn::GetAtt": ["NodeSecurityGroup", "GroupId"]}
    ]
    inline_ingress(template).append({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"})
    assert len(errors_or_warnings("MNP203", template)) == 1


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        (
            {"IpProtocol": "tcp", "FromPort": {"Ref": "Port"}, "ToPort": {"Ref": "Port"}},
            "tcp on ports fixed only at deploy time",
        ),
        ({"IpProtocol": {"Ref": "Protocol"}}, "traffic of a protocol fixed only at deploy time"),
        ({"IpProtocol": "udp", "FromPort": 1000, "ToPort": 2000}, "udp ports 1000-2000"),
    ],
)
def test_the_message_names_values_the_template_does_not_fix_in_words(rule: dict[str, Any], words: str) -> None:
    template = mnp_environment()
    template["Parameters"] = {"Port": {"Type": "Number", "Default": 22}, "Protocol": {"Type": "String"}}
    inline_ingress(template).append({**rule, "CidrIp": "0.0.0.0/0"})
    [finding] = errors_or_warnings("MNP203", template)
    assert f"admits {words} from 0.0.0.0/0" in finding.message and "UNKNOWN" not in finding.message
