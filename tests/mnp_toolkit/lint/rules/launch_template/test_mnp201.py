"""MNP201: a launch template used by a compute environment must require IMDSv2."""

from typing import Any

import pytest

from mnp_toolkit.lint.packs import mnp_pack
from tests.helpers.ce_templates import add_compute_environment, compute_resources
from tests.helpers.templates import errors_or_warnings, findings_for, mnp_environment, props, resources


def metadata_options(template: dict[str, Any]) -> dict[str, Any]:
    return props(template, "LaunchTemplate")["LaunchTemplateData"]["MetadataOptions"]


@pytest.mark.parametrize("tokens", ["required", "REQUIRED"])
def test_required_tokens_are_compliant(tokens: str) -> None:
    template = mnp_environment()
    metadata_options(template)["HttpTokens"] = tokens
    assert findings_for("MNP201", template) == []


def test_optional_tokens_are_an_error() -> None:
    template = mnp_environment()
    metadata_options(template)["HttpTokens"] = "optional"
    found = errors_or_warnings("MNP201", template)
    assert [(f.rule, f.level.value, f.resource) for f in found] == [("MNP201", "error", "LaunchTemplate")]
    message = found[0].message
    assert "MnpStack/ComputeEnvironment/LaunchTemplate" in message and 'is "optional"' in message
    assert "MnpStack/ComputeEnvironment/Resource" in message


def test_missing_metadata_options_are_an_error_mentioning_account_defaults() -> None:
    template = mnp_environment()
    del props(template, "LaunchTemplate")["LaunchTemplateData"]["MetadataOptions"]
    found = errors_or_warnings("MNP201", template)
    assert len(found) == 1 and "not set" in found[0].message and "account default" in found[0].message


def test_unresolvable_tokens_are_info() -> None:
    template = mnp_environment()
    metadata_options(template)["HttpTokens"] = {"Fn::If": ["Strict", "required", "optional"]}
    assert [f.level.value for f in findings_for("MNP201", template)] == ["info"]


def test_launch_template_not_used_by_a_ce_is_not_applicable() -> None:
    template = mnp_environment()
    del compute_resources(template)["LaunchTemplate"]
    del metadata_options(template)["HttpTokens"]
    assert findings_for("MNP201", template) == []


def test_launch_template_of_a_non_mnp_ce_is_checked() -> None:
    template = mnp_environment()
    add_compute_environment(template, "OtherCe", queue=None)
    del compute_resources(template)["LaunchTemplate"]
    del metadata_options(template)["HttpTokens"]
    found = errors_or_warnings("MNP201", template)
    assert len(found) == 1 and "MnpStack/OtherCe/Resource" in found[0].message


def test_launch_template_named_by_literal_name_is_matched() -> None:
    template = mnp_environment()
    props(template, "LaunchTemplate")["LaunchTemplateName"] = "mnp-nodes"
    compute_resources(template)["LaunchTemplate"] = {"LaunchTemplateName": "mnp-nodes", "Version": "$Latest"}
    metadata_options(template)["HttpTokens"] = "optional"
    assert len(errors_or_warnings("MNP201", template)) == 1


def test_launch_template_in_overrides_is_used() -> None:
    template = mnp_environment()
    resources(template)["OverrideLt"] = {
        "Type": "AWS::EC2::LaunchTemplate",
        "Properties": {"LaunchTemplateData": {"MetadataOptions": {"HttpTokens": "optional"}}},
    }
    compute_resources(template)["LaunchTemplate"]["Overrides"] = [
        {"LaunchTemplateId": {"Ref": "OverrideLt"}, "TargetInstanceTypes": ["c5n.9xlarge"]}
    ]
    found = errors_or_warnings("MNP201", template)
    assert [f.resource for f in found] == ["OverrideLt"]


def test_rule_matches_the_catalog() -> None:
    rule = mnp_pack()["MNP201"]
    assert (rule.level.value, rule.resource_type) == ("error", "AWS::EC2::LaunchTemplate")
    assert rule.source.startswith("https://docs.aws.amazon.com/")
    assert rule.info and rule.explanation and rule.fix


def test_message_names_the_ami_imds_support_alternative() -> None:
    template = mnp_environment()
    props(template, "LaunchTemplate")["LaunchTemplateData"]["MetadataOptions"]["HttpTokens"] = "optional"
    (finding,) = errors_or_warnings("MNP201", template)
    assert "ImdsSupport: v2.0" in finding.message
