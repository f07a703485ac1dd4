"""MNP111 (warning): no CE SecurityGroupIds, and the template restricts the VPC's default group."""

from __future__ import annotations

from typing import Any

from mnp_toolkit.lint.packs import mnp_pack
from tests.helpers.ce_templates import compute_resources, use_subnets
from tests.helpers.templates import errors_or_warnings, findings_for, mnp_environment, props, resources


def _restrict_default_group(template: dict[str, Any], vpc: Any = None) -> None:
    resources(template)["VpcRestrictDefaultSecurityGroupCustomResource"] = {
        "Type": "Custom::VpcRestrictDefaultSG",
        "Properties": {
            "ServiceToken": {"Fn::GetAtt": ["RestrictProvider", "Arn"]},
            "DefaultSecurityGroupId": vpc if vpc is not None else {"Fn::GetAtt": ["Vpc", "DefaultSecurityGroup"]},
        },
    }


def _without_ce_groups() -> dict[str, Any]:
    template = mnp_environment()
    del compute_resources(template)["SecurityGroupIds"]
    return template


def test_default_group_of_the_ces_vpc_restricted_is_a_warning() -> None:
    template = _without_ce_groups()
    _restrict_default_group(template)
    found = errors_or_warnings("MNP111", template)
    assert [(f.rule, f.level.value, f.resource) for f in found] == [("MNP111", "warning", "ComputeEnvironment")]
    assert "default security group of VPC Vpc" in found[0].message


def test_launch_template_groups_are_named_as_not_reaching_the_tasks() -> None:
    template = _without_ce_groups()
    _restrict_default_group(template)
    props(template, "LaunchTemplate")["LaunchTemplateData"]["SecurityGroupIds"] = [
        {"Fn::GetAtt": ["NodeSecurityGroup", "GroupId"]}
    ]
    (finding,) = errors_or_warnings("MNP111", template)
    assert "not to the task interfaces" in finding.message


def test_ce_with_its_own_groups_is_not_applicable() -> None:
    template = mnp_environment()
    _restrict_default_group(template)
    assert findings_for("MNP111", template) == []


def test_unrestricted_default_group_is_compliant() -> None:
    assert findings_for("MNP111", _without_ce_groups()) == []


def test_restriction_of_another_vpc_is_compliant() -> None:
    template = _without_ce_groups()
    resources(template)["OtherVpc"] = {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.9.0.0/16"}}
    _restrict_default_group(template, {"Fn::GetAtt": ["OtherVpc", "DefaultSecurityGroup"]})
    assert findings_for("MNP111", template) == []


def test_subnets_outside_the_template_with_a_restriction_is_info() -> None:
    template = _without_ce_groups()
    _restrict_default_group(template)
    use_subnets(template, "subnet-0123456789abcdef0")
    assert [f.level.value for f in findings_for("MNP111", template)] == ["info"]


def test_rule_matches_the_catalog() -> None:
    rule = mnp_pack()["MNP111"]
    assert (rule.level.value, rule.resource_type) == ("warning", "AWS::Batch::ComputeEnvironment")
    assert "mnp-ce.html" in rule.source
