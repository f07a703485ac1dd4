"""MNP106 (warning): MinvCpus > 0 on an MNP compute environment."""

import pytest

from mnp_toolkit.lint.packs import mnp_pack
from tests.helpers.ce_templates import compute_resources
from tests.helpers.templates import (
    errors_or_warnings,
    findings_for,
    mnp_environment,
    only_info_naming_default,
    resources,
)


@pytest.mark.parametrize("value", [0, "0"])
def test_zero_is_compliant(value: object) -> None:
    template = mnp_environment()
    compute_resources(template)["MinvCpus"] = value
    assert findings_for("MNP106", template) == []


def test_absent_is_compliant() -> None:
    template = mnp_environment()
    del compute_resources(template)["MinvCpus"]
    assert findings_for("MNP106", template) == []


@pytest.mark.parametrize("value", [1, "72"])
def test_above_zero_is_a_warning(value: object) -> None:
    template = mnp_environment()
    compute_resources(template)["MinvCpus"] = value
    found = errors_or_warnings("MNP106", template)
    assert [(f.rule, f.level.value, f.resource) for f in found] == [("MNP106", "warning", "ComputeEnvironment")]
    assert f"MinvCpus {value}" in found[0].message


@pytest.mark.parametrize("default", [0, 64])
def test_min_vcpus_from_a_parameter_is_only_info_whatever_its_default(default: int) -> None:
    template = mnp_environment()
    template["Parameters"] = {"MinVcpus": {"Type": "Number", "Default": default}}
    compute_resources(template)["MinvCpus"] = {"Ref": "MinVcpus"}
    only_info_naming_default("MNP106", template, parameter="MinVcpus", default=str(default))


def test_unresolvable_is_info() -> None:
    template = mnp_environment()
    compute_resources(template)["MinvCpus"] = {"Ref": "MinVcpusWithoutDefault"}
    assert [f.level.value for f in findings_for("MNP106", template)] == ["info"]


def test_ce_outside_mnp_queues_is_not_applicable() -> None:
    template = mnp_environment()
    compute_resources(template)["MinvCpus"] = 8
    del resources(template)["JobQueue"]
    assert findings_for("MNP106", template) == []


def test_unmanaged_ce_is_left_to_mnp001() -> None:
    template = mnp_environment()
    compute_resources(template)["MinvCpus"] = 8
    resources(template)["ComputeEnvironment"]["Properties"]["Type"] = "unmanaged"
    assert findings_for("MNP106", template) == []


def test_rule_matches_the_catalog() -> None:
    rule = mnp_pack()["MNP106"]
    assert (rule.level.value, rule.resource_type) == ("warning", "AWS::Batch::ComputeEnvironment")
    assert rule.source.startswith("https://docs.aws.amazon.com/")
    assert rule.info and rule.explanation and rule.fix
