"""MNP019: the InstanceTypes of one MNP compute environment must share a CPU architecture."""

import pytest

from mnp_toolkit.lint.packs import mnp_pack
from tests.helpers.ce_templates import add_compute_environment, compute_resources
from tests.helpers.templates import errors_or_warnings, findings_for, mnp_environment


@pytest.mark.parametrize(
    "types",
    [["c5n.18xlarge"], ["c5n", "c6in", "optimal"], ["c7g", "c6gn.16xlarge", "default_arm64"], ["default_x86_64", "m5"]],
)
def test_one_architecture_is_compliant(types: list[str]) -> None:
    template = mnp_environment()
    compute_resources(template)["InstanceTypes"] = types
    assert findings_for("MNP019", template) == []


def test_mixing_types_is_an_error_naming_both_sides() -> None:
    template = mnp_environment()
    compute_resources(template)["InstanceTypes"] = ["c5n.18xlarge", "c7g.16xlarge", "c5n.9xlarge"]
    found = errors_or_warnings("MNP019", template)
    assert [(f.rule, f.level.value, f.resource) for f in found] == [("MNP019", "error", "ComputeEnvironment")]
    assert "x86_64 (c5n.18xlarge, c5n.9xlarge)" in found[0].message and "arm64 (c7g.16xlarge)" in found[0].message


@pytest.mark.parametrize("types", [["c5n", "c7g"], ["optimal", "default_arm64"], ["default_x86_64", "hpc7g.16xlarge"]])
def test_families_and_categories_count(types: list[str]) -> None:
    template = mnp_environment()
    compute_resources(template)["InstanceTypes"] = types
    assert len(errors_or_warnings("MNP019", template)) == 1


def test_case_does_not_matter() -> None:
    template = mnp_environment()
    compute_resources(template)["InstanceTypes"] = ["C5N.18XLARGE", "C7G"]
    assert len(errors_or_warnings("MNP019", template)) == 1


def test_types_unknown_to_the_table_are_ignored() -> None:
    template = mnp_environment()
    compute_resources(template)["InstanceTypes"] = ["c5n.18xlarge", "c99g.large", "zz9"]
    assert findings_for("MNP019", template) == []


def test_unresolvable_instance_types_are_info() -> None:
    template = mnp_environment()
    compute_resources(template)["InstanceTypes"] = ["c5n.18xlarge", {"Fn::ImportValue": "ExtraType"}]
    assert [f.level.value for f in findings_for("MNP019", template)] == ["info"]


def test_mixed_ce_outside_mnp_queues_is_not_applicable() -> None:
    template = mnp_environment()
    add_compute_environment(template, "OtherCe", instance_types=["c5n", "c7g"], queue=None)
    assert findings_for("MNP019", template) == []


def test_rule_matches_the_catalog() -> None:
    rule = mnp_pack()["MNP019"]
    assert (rule.level.value, rule.resource_type) == ("error", "AWS::Batch::ComputeEnvironment")
    assert rule.source.startswith("https://docs.aws.amazon.com/")
    assert rule.info and rule.explanation and rule.fix
