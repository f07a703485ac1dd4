"""MNP101 (warning): an MNP compute environment should use a cluster placement group."""

import pytest

from mnp_toolkit.lint.packs import mnp_pack
from tests.helpers.ce_templates import compute_resources
from tests.helpers.templates import errors_or_warnings, findings_for, mnp_environment, props, resources


@pytest.mark.parametrize("strategy", ["cluster", "CLUSTER"])
def test_cluster_group_is_compliant(strategy: str) -> None:
    template = mnp_environment()
    props(template, "PlacementGroup")["Strategy"] = strategy
    assert findings_for("MNP101", template) == []


def test_no_placement_group_is_a_warning() -> None:
    template = mnp_environment()
    del compute_resources(template)["PlacementGroup"]
    found = errors_or_warnings("MNP101", template)
    assert [(f.rule, f.level.value, f.resource) for f in found] == [("MNP101", "warning", "ComputeEnvironment")]
    assert "no placement group" in found[0].message and "MnpStack/ComputeEnvironment" in found[0].message


def test_spread_group_is_a_warning_about_seven_instances() -> None:
    template = mnp_environment()
    props(template, "PlacementGroup")["Strategy"] = "spread"
    found = errors_or_warnings("MNP101", template)
    assert len(found) == 1 and "spread" in found[0].message and "7 running instances" in found[0].message


def test_partition_group_is_a_warning() -> None:
    template = mnp_environment()
    props(template, "PlacementGroup")["Strategy"] = "partition"
    found = errors_or_warnings("MNP101", template)
    assert len(found) == 1 and "partition" in found[0].message


def test_literal_group_name_is_info() -> None:
    template = mnp_environment()
    compute_resources(template)["PlacementGroup"] = "shared-cluster-group"
    found = findings_for("MNP101", template)
    assert [f.level.value for f in found] == ["info"] and "shared-cluster-group" in found[0].message


def test_strategy_from_a_parameter_is_not_a_warning_even_with_default_spread() -> None:
    template = mnp_environment()
    template["Parameters"] = {"Strategy": {"Type": "String", "Default": "spread"}}
    props(template, "PlacementGroup")["Strategy"] = {"Ref": "Strategy"}
    assert errors_or_warnings("MNP101", template) == []
    assert [f.level.value for f in findings_for("MNP101", template)] == ["info"]


def test_unresolvable_strategy_is_info() -> None:
    template = mnp_environment()
    props(template, "PlacementGroup")["Strategy"] = {"Fn::ImportValue": "Strategy"}
    assert [f.level.value for f in findings_for("MNP101", template)] == ["info"]


def test_ce_outside_mnp_queues_is_not_applicable() -> None:
    template = mnp_environment()
    del compute_resources(template)["PlacementGroup"]
    del resources(template)["JobQueue"]
    assert findings_for("MNP101", template) == []


@pytest.mark.parametrize("change", ["unmanaged", "fargate"])
def test_unmanaged_or_fargate_ce_is_left_to_mnp001_mnp002(change: str) -> None:
    template = mnp_environment()
    if change == "unmanaged":
        props(template, "ComputeEnvironment")["Type"] = "UNMANAGED"
        del props(template, "ComputeEnvironment")["ComputeResources"]
    else:
        compute_resources(template)["Type"] = "FARGATE"
        del compute_resources(template)["PlacementGroup"]
    assert findings_for("MNP101", template) == []


def test_rule_matches_the_catalog() -> None:
    rule = mnp_pack()["MNP101"]
    assert (rule.level.value, rule.resource_type) == ("warning", "AWS::Batch::ComputeEnvironment")
    assert rule.source.startswith("https://docs.aws.amazon.com/")
    assert rule.info and rule.explanation and rule.fix
