"""MNP003: at most five security groups on an MNP compute environment."""

from mnp_toolkit.lint.packs import mnp_pack
from tests.helpers.ce_templates import add_security_groups, compute_resources
from tests.helpers.templates import errors_or_warnings, findings_for, mnp_environment, only_info_naming_default, props


def test_five_security_groups_pass() -> None:
    template = mnp_environment()
    add_security_groups(template, 4)
    assert len(compute_resources(template)["SecurityGroupIds"]) == 5
    assert findings_for("MNP003", template) == []


def test_six_security_groups_fail_and_are_named() -> None:
    template = mnp_environment()
    added = add_security_groups(template, 5)
    found = errors_or_warnings("MNP003", template)
    assert [(f.rule, f.level.value, f.resource) for f in found] == [("MNP003", "error", "ComputeEnvironment")]
    assert "6 security groups" in found[0].message and "at most 5" in found[0].message
    for logical_id in added:
        assert logical_id in found[0].message
    assert "NodeSecurityGroup" in found[0].message


def test_literal_group_ids_count() -> None:
    template = mnp_environment()
    compute_resources(template)["SecurityGroupIds"] = [f"sg-{index:08x}" for index in range(6)]
    found = errors_or_warnings("MNP003", template)
    assert len(found) == 1 and "sg-00000005" in found[0].message


def test_duplicates_count_once() -> None:
    template = mnp_environment()
    compute_resources(template)["SecurityGroupIds"] = ["sg-1", "sg-2", "sg-3", "sg-4", "sg-5", "sg-1"]
    assert findings_for("MNP003", template) == []


def test_launch_template_groups_are_never_counted() -> None:
    # Revised catalog (2026-12-01): MNP task interfaces use only the CE's own SecurityGroupIds.
    template = mnp_environment()
    del compute_resources(template)["SecurityGroupIds"]
    data = props(template, "LaunchTemplate")["LaunchTemplateData"]
    data["NetworkInterfaces"] = [{"DeviceIndex": 0, "Groups": [f"sg-{index}" for index in range(6)]}]
    assert findings_for("MNP003", template) == []


def test_ce_groups_count_even_when_the_launch_template_has_few() -> None:
    template = mnp_environment()
    compute_resources(template)["SecurityGroupIds"] = [f"sg-{index}" for index in range(6)]
    props(template, "LaunchTemplate")["LaunchTemplateData"]["SecurityGroupIds"] = ["sg-a"]
    found = errors_or_warnings("MNP003", template)
    assert len(found) == 1 and "6 security groups" in found[0].message


def test_launch_template_with_five_groups_passes() -> None:
    template = mnp_environment()
    del compute_resources(template)["SecurityGroupIds"]
    props(template, "LaunchTemplate")["LaunchTemplateData"]["SecurityGroupIds"] = [f"sg-{i}" for i in range(5)]
    assert findings_for("MNP003", template) == []


def test_unresolvable_group_list_is_info_not_error() -> None:
    template = mnp_environment()
    compute_resources(template)["SecurityGroupIds"] = {"Fn::Split": [",", {"Fn::ImportValue": "NodeGroups"}]}
    assert [f.level.value for f in findings_for("MNP003", template)] == ["info"]


def test_six_entries_with_unresolvable_ones_is_info_not_error() -> None:
    template = mnp_environment()
    ids = ["sg-1", "sg-2", "sg-3", "sg-4", {"Fn::ImportValue": "A"}, {"Fn::ImportValue": "B"}]
    compute_resources(template)["SecurityGroupIds"] = ids
    assert [f.level.value for f in findings_for("MNP003", template)] == ["info"]


def test_list_parameter_with_six_default_groups_is_only_info() -> None:
    template = mnp_environment()
    template["Parameters"] = {
        "Groups": {"Type": "List<AWS::EC2::SecurityGroup::Id>", "Default": "sg-1,sg-2,sg-3,sg-4,sg-5,sg-6"}
    }
    compute_resources(template)["SecurityGroupIds"] = {"Ref": "Groups"}
    only_info_naming_default("MNP003", template, parameter="Groups", default='"sg-1,sg-2,sg-3,sg-4,sg-5,sg-6"')


def test_rule_matches_the_catalog() -> None:
    rule = mnp_pack()["MNP003"]
    assert (rule.level.value, rule.resource_type) == ("error", "AWS::Batch::ComputeEnvironment")
    assert rule.source.startswith("https://docs.aws.amazon.com/")
    assert rule.info and rule.explanation and rule.fix
