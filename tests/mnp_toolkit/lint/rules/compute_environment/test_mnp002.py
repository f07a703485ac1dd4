"""MNP002: an MNP compute environment must not use Spot or Fargate."""

import pytest

from mnp_toolkit.lint.packs import mnp_pack
from tests.helpers.ce_templates import add_compute_environment, compute_resources
from tests.helpers.templates import (
    errors_or_warnings,
    findings_for,
    mnp_environment,
    only_info_naming_default,
    resources,
)


def test_on_demand_ec2_is_compliant() -> None:
    assert findings_for("MNP002", mnp_environment()) == []


@pytest.mark.parametrize("kind", ["SPOT", "spot"])
def test_spot_type_is_an_error(kind: str) -> None:
    template = mnp_environment()
    compute_resources(template)["Type"] = kind
    found = errors_or_warnings("MNP002", template)
    assert [(f.rule, f.level.value, f.resource) for f in found] == [("MNP002", "error", "ComputeEnvironment")]
    assert "SPOT" in found[0].message and "MnpStack/ComputeEnvironment" in found[0].message


@pytest.mark.parametrize("strategy", ["SPOT_CAPACITY_OPTIMIZED", "spot_price_capacity_optimized"])
def test_spot_allocation_strategy_is_an_error(strategy: str) -> None:
    template = mnp_environment()
    compute_resources(template)["AllocationStrategy"] = strategy
    found = errors_or_warnings("MNP002", template)
    assert len(found) == 1
    assert strategy.upper() in found[0].message


def test_bid_percentage_is_an_error() -> None:
    template = mnp_environment()
    compute_resources(template)["BidPercentage"] = 60
    found = errors_or_warnings("MNP002", template)
    assert len(found) == 1
    assert "BidPercentage 60" in found[0].message


def test_reports_every_spot_property() -> None:
    template = mnp_environment()
    cr = compute_resources(template)
    cr.update(Type="SPOT", AllocationStrategy="SPOT_CAPACITY_OPTIMIZED", BidPercentage="50")
    messages = [f.message for f in errors_or_warnings("MNP002", template)]
    assert len(messages) == 3
    assert any("Type SPOT" in m for m in messages)
    assert any("SPOT_CAPACITY_OPTIMIZED" in m for m in messages)
    assert any("BidPercentage 50" in m for m in messages)


@pytest.mark.parametrize("kind", ["FARGATE", "fargate_spot"])
def test_fargate_mnp_ce_is_an_error(kind: str) -> None:
    template = mnp_environment()
    compute_resources(template)["Type"] = kind
    found = errors_or_warnings("MNP002", template)
    assert len(found) == 1
    assert "Fargate" in found[0].message and kind.upper() in found[0].message


def test_non_spot_allocation_strategy_near_miss_is_compliant() -> None:
    template = mnp_environment()
    compute_resources(template)["AllocationStrategy"] = "BEST_FIT"
    assert findings_for("MNP002", template) == []


def test_spot_ce_outside_mnp_queues_is_not_applicable() -> None:
    template = mnp_environment()
    add_compute_environment(template, "SpotCe", compute_type="SPOT", queue=None)
    assert findings_for("MNP002", template) == []


def test_type_from_a_parameter_is_only_info_even_when_its_default_is_spot() -> None:
    template = mnp_environment()
    template["Parameters"] = {"CapacityType": {"Type": "String", "Default": "SPOT"}}
    compute_resources(template)["Type"] = {"Ref": "CapacityType"}
    only_info_naming_default("MNP002", template, parameter="CapacityType", default='"SPOT"')


def test_unresolvable_type_is_info_not_error() -> None:
    template = mnp_environment()
    compute_resources(template)["Type"] = {"Fn::ImportValue": "CapacityType"}
    found = findings_for("MNP002", template)
    assert [f.level.value for f in found] == ["info"]
    assert "Type" in found[0].message


def test_bid_percentage_behind_condition_is_info_not_error() -> None:
    template = mnp_environment()
    compute_resources(template)["BidPercentage"] = {"Fn::If": ["UseSpot", 60, {"Ref": "AWS::NoValue"}]}
    assert [f.level.value for f in findings_for("MNP002", template)] == ["info"]


def test_no_value_bid_percentage_is_absent() -> None:
    template = mnp_environment()
    compute_resources(template)["BidPercentage"] = {"Ref": "AWS::NoValue"}
    assert findings_for("MNP002", template) == []


def test_every_queue_is_mnp_when_none_is_marked() -> None:
    template = mnp_environment()
    del resources(template)["JobQueue"]["Metadata"]["mnp:queue"]
    compute_resources(template)["Type"] = "SPOT"
    assert len(errors_or_warnings("MNP002", template)) == 1


def test_rule_matches_the_catalog() -> None:
    rule = mnp_pack()["MNP002"]
    assert (rule.level.value, rule.resource_type) == ("error", "AWS::Batch::ComputeEnvironment")
    assert rule.source.startswith("https://docs.aws.amazon.com/")
    assert rule.info and rule.explanation and rule.fix


def test_malformed_type_is_info_not_a_traceback() -> None:
    template = mnp_environment()
    compute_resources(template)["Type"] = ["SPOT"]
    assert [f.level.value for f in findings_for("MNP002", template)] == ["info"]


@pytest.mark.parametrize("kind", ["ECS_MANAGED_INSTANCES", "ecs_managed_instances"])
def test_ecs_managed_instances_is_an_error(kind: str) -> None:
    template = mnp_environment()
    compute_resources(template)["Type"] = kind
    found = errors_or_warnings("MNP002", template)
    assert [(f.rule, f.level.value) for f in found] == [("MNP002", "error")]
    assert "ECS_MANAGED_INSTANCES" in found[0].message and "type container" in found[0].message


def test_ecs_managed_instances_outside_mnp_queues_is_not_applicable() -> None:
    template = mnp_environment()
    compute_resources(template)["Type"] = "ECS_MANAGED_INSTANCES"
    resources(template)["JobQueue"]["Metadata"]["mnp:queue"] = False
    resources(template)["OtherQueue"] = {"Type": "AWS::Batch::JobQueue", "Metadata": {"mnp:queue": True}}
    assert findings_for("MNP002", template) == []


def test_ec2_rules_leave_ecs_managed_instances_to_mnp002() -> None:
    template = mnp_environment()
    compute_resources(template)["Type"] = "ECS_MANAGED_INSTANCES"
    compute_resources(template)["MaxvCpus"] = 1  # would be MNP004 on EC2 capacity
    assert errors_or_warnings("MNP004", template) == []
