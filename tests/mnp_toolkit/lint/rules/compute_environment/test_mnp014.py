"""MNP014: a cluster placement group with subnets in more than one Availability Zone."""

import pytest

from mnp_toolkit.lint.packs import mnp_pack
from tests.helpers.ce_templates import compute_resources, use_subnets
from tests.helpers.templates import errors_or_warnings, findings_for, mnp_environment, props, resources


def test_single_az_is_compliant() -> None:
    assert findings_for("MNP014", mnp_environment()) == []


def test_two_subnets_in_one_az_are_compliant() -> None:
    template = mnp_environment()
    props(template, "PrivateSubnet2")["AvailabilityZone"] = {"Fn::Select": [0, {"Fn::GetAZs": ""}]}
    use_subnets(template, "PrivateSubnet1", "PrivateSubnet2")
    assert findings_for("MNP014", template) == []


def test_two_get_azs_indexes_are_two_azs() -> None:
    template = mnp_environment()
    use_subnets(template, "PrivateSubnet1", "PrivateSubnet2")
    found = errors_or_warnings("MNP014", template)
    assert [(f.rule, f.level.value, f.resource) for f in found] == [("MNP014", "error", "ComputeEnvironment")]
    message = found[0].message
    assert "2 Availability Zones" in message and "AZ #0" in message and "AZ #1" in message
    assert "MnpStack/PlacementGroup/Resource" in message


def test_named_azs_compare_case_insensitively() -> None:
    template = mnp_environment()
    props(template, "PrivateSubnet1")["AvailabilityZone"] = "us-east-1a"
    props(template, "PrivateSubnet2")["AvailabilityZone"] = "US-EAST-1A"
    use_subnets(template, "PrivateSubnet1", "PrivateSubnet2")
    assert findings_for("MNP014", template) == []
    props(template, "PrivateSubnet2")["AvailabilityZone"] = "us-east-1b"
    assert len(errors_or_warnings("MNP014", template)) == 1


def test_name_and_get_azs_position_may_be_the_same_az() -> None:
    template = mnp_environment()
    props(template, "PrivateSubnet2")["AvailabilityZone"] = "us-east-1b"
    use_subnets(template, "PrivateSubnet1", "PrivateSubnet2")
    assert errors_or_warnings("MNP014", template) == []


def test_unresolvable_az_gives_no_error() -> None:
    template = mnp_environment()
    props(template, "PrivateSubnet2")["AvailabilityZone"] = {"Fn::ImportValue": "Az"}
    use_subnets(template, "PrivateSubnet1", "PrivateSubnet2")
    assert [f.level.value for f in findings_for("MNP014", template)] == ["info"]


@pytest.mark.parametrize("strategy", ["spread", "partition"])
def test_non_cluster_strategy_is_not_applicable(strategy: str) -> None:
    template = mnp_environment()
    props(template, "PlacementGroup")["Strategy"] = strategy
    use_subnets(template, "PrivateSubnet1", "PrivateSubnet2")
    assert findings_for("MNP014", template) == []


def test_cluster_strategy_is_case_insensitive() -> None:
    template = mnp_environment()
    props(template, "PlacementGroup")["Strategy"] = "CLUSTER"
    use_subnets(template, "PrivateSubnet1", "PrivateSubnet2")
    assert len(errors_or_warnings("MNP014", template)) == 1


def test_literal_placement_group_name_is_info_not_error() -> None:
    template = mnp_environment()
    compute_resources(template)["PlacementGroup"] = "my-existing-group"
    use_subnets(template, "PrivateSubnet1", "PrivateSubnet2")
    found = findings_for("MNP014", template)
    assert [f.level.value for f in found] == ["info"] and "my-existing-group" in found[0].message


def test_no_placement_group_is_not_applicable() -> None:
    template = mnp_environment()
    del compute_resources(template)["PlacementGroup"]
    use_subnets(template, "PrivateSubnet1", "PrivateSubnet2")
    assert findings_for("MNP014", template) == []


def test_zone_ids_compare_with_zone_ids() -> None:
    template = mnp_environment()
    for subnet, zone in (("PrivateSubnet1", "use1-az1"), ("PrivateSubnet2", "use1-az2")):
        del props(template, subnet)["AvailabilityZone"]
        props(template, subnet)["AvailabilityZoneId"] = zone
    use_subnets(template, "PrivateSubnet1", "PrivateSubnet2")
    found = errors_or_warnings("MNP014", template)
    assert len(found) == 1 and "zone ID use1-az2" in found[0].message


def test_multi_az_outside_mnp_is_not_applicable() -> None:
    template = mnp_environment()
    use_subnets(template, "PrivateSubnet1", "PrivateSubnet2")
    del resources(template)["JobQueue"]
    assert findings_for("MNP014", template) == []


def test_rule_matches_the_catalog() -> None:
    rule = mnp_pack()["MNP014"]
    assert (rule.level.value, rule.resource_type) == ("error", "AWS::Batch::ComputeEnvironment")
    assert rule.source.startswith("https://docs.aws.amazon.com/")
    assert rule.info and rule.explanation and rule.fix
