"""MNP016: every node has a memory requirement >= 4 MiB and >= 1 vCPU (counting nested ranges)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.helpers.templates import errors_or_warnings, findings_for, mnp_environment, props


def _ranges(template: dict[str, Any]) -> list[dict[str, Any]]:
    ranges: list[dict[str, Any]] = props(template, "JobDefinition")["NodeProperties"]["NodeRangeProperties"]
    return ranges


def _asking(vcpus: Any = "72", memory: Any = "180000") -> dict[str, Any]:
    template = mnp_environment()
    requirements = []
    if vcpus is not None:
        requirements.append({"Type": "VCPU", "Value": vcpus})
    if memory is not None:
        requirements.append({"Type": "MEMORY", "Value": memory})
    _ranges(template)[0]["Container"]["ResourceRequirements"] = requirements
    return template


@pytest.mark.parametrize(("vcpus", "memory"), [("1", "4"), ("72", "180000")])
def test_minimum_asks_pass(vcpus: str, memory: str) -> None:
    assert findings_for("MNP016", _asking(vcpus, memory)) == []


@pytest.mark.parametrize(
    ("vcpus", "memory", "expected"),
    [
        ("72", None, "no MEMORY resource requirement"),
        ("72", "3", "asks for 3 MiB"),
        ("0.5", "1024", "asks for 0.5 vCPUs"),
        (None, "1024", "no VCPU resource requirement"),
    ],
)
def test_missing_or_too_small_asks_fail(vcpus: Any, memory: Any, expected: str) -> None:
    found = errors_or_warnings("MNP016", _asking(vcpus, memory))
    assert [(f.rule, f.level.value) for f in found] == [("MNP016", "error")]
    assert expected in found[0].message and "MnpStack/JobDefinition/Resource" in found[0].message


def test_legacy_keys_count() -> None:
    template = _asking(None, None)
    container = _ranges(template)[0]["Container"]
    container["Vcpus"], container["Memory"] = 2, 2048
    assert findings_for("MNP016", template) == []


def test_reports_every_violation() -> None:
    assert len(errors_or_warnings("MNP016", _asking(None, None))) == 2


def test_a_wide_range_without_asks_is_fine_when_nested_ranges_cover_all_its_nodes() -> None:
    template = _asking(None, None)  # 0: has nothing...
    for target in ("0:1", "2:3"):  # ...but every node gets its settings from a nested range
        inner = copy.deepcopy(_ranges(mnp_environment())[0])
        inner["TargetNodes"] = target
        _ranges(template).append(inner)
    assert findings_for("MNP016", template) == []


def test_a_nested_range_without_memory_fails_naming_its_nodes() -> None:
    template = mnp_environment()
    inner = copy.deepcopy(_ranges(template)[0])
    inner["TargetNodes"] = "1:2"
    inner["Container"]["ResourceRequirements"] = [{"Type": "VCPU", "Value": "4"}]
    _ranges(template).append(inner)
    found = errors_or_warnings("MNP016", template)
    assert len(found) == 1 and 'node range #1 (TargetNodes "1:2") (nodes 1-2)' in found[0].message


def test_unresolvable_ask_is_info_not_error() -> None:
    template = _asking("72", {"Fn::ImportValue": "Memory"})
    assert [f.level.value for f in findings_for("MNP016", template)] == ["info"]
    template = _asking("72", "180000")
    _ranges(template)[0]["Container"]["ResourceRequirements"].append({"Fn::If": ["Gpu", {}, {}]})
    assert findings_for("MNP016", template) == []  # both asks are known already


def test_a_whole_unresolvable_requirement_list_is_info() -> None:
    template = mnp_environment()
    _ranges(template)[0]["Container"]["ResourceRequirements"] = {"Fn::If": ["Big", [], []]}
    assert [f.level.value for f in findings_for("MNP016", template)] == ["info"]


def _eks(cpu: Any, memory: Any) -> dict[str, Any]:
    template = mnp_environment()
    entry = _ranges(template)[0]
    del entry["Container"]
    requests = {key: value for key, value in (("cpu", cpu), ("memory", memory)) if value is not None}
    entry["EksProperties"] = {"PodProperties": {"Containers": [{"Name": "c", "Resources": {"Requests": requests}}]}}
    return template


def test_eks_pods_may_ask_for_a_quarter_vcpu() -> None:
    assert findings_for("MNP016", _eks("0.25", "64Mi")) == []


def test_eks_pods_below_a_quarter_vcpu_or_without_memory_fail() -> None:
    found = errors_or_warnings("MNP016", _eks("0.1", None))
    assert len(found) == 2
    assert any("at least 0.25 vCPU" in f.message for f in found)
    assert any("no MEMORY" in f.message for f in found)


def test_a_range_no_node_uses_may_omit_asks_but_not_write_them_below_the_minimum() -> None:
    template = mnp_environment()
    ranges = props(template, "JobDefinition")["NodeProperties"]["NodeRangeProperties"]
    outer = ranges[0]
    ranges.append(copy.deepcopy(outer))  # an identical later range wins every node: the first applies to none
    outer["Container"]["ResourceRequirements"] = []
    assert findings_for("MNP016", template) == []
    outer["Container"]["ResourceRequirements"] = [{"Type": "MEMORY", "Value": "2"}]
    (finding,) = errors_or_warnings("MNP016", template)
    assert "node range #0" in finding.message and "applies to no node" in finding.message


def test_a_range_whose_target_nodes_is_not_fixed_is_not_said_to_apply_to_no_node() -> None:
    """A parameter's TargetNodes may cover nodes: its too-small ask is an info, never "applies to no node"."""
    template = mnp_environment()
    template["Parameters"] = {"Special": {"Type": "String", "Default": "0"}}
    ranges = props(template, "JobDefinition")["NodeProperties"]["NodeRangeProperties"]
    special = copy.deepcopy(ranges[0])
    special["TargetNodes"] = {"Ref": "Special"}
    special["Container"]["ResourceRequirements"] = [
        {"Type": "VCPU", "Value": "0.5"},
        {"Type": "MEMORY", "Value": "1024"},
    ]
    ranges.append(special)
    found = findings_for("MNP016", template)
    assert [f.level.value for f in found] == ["info"]
    assert "0.5 vCPUs" in found[0].message and "applies to no node" not in found[0].message
