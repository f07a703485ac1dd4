"""MNP006: node groups of one MNP job definition name different instance types, or one lists several."""

from __future__ import annotations

import copy
from typing import Any

from tests.helpers.templates import errors_or_warnings, findings_for, mnp_environment, props


def _ranges(template: dict[str, Any]) -> list[dict[str, Any]]:
    ranges: list[dict[str, Any]] = props(template, "JobDefinition")["NodeProperties"]["NodeRangeProperties"]
    return ranges


def _two_groups(first_type: Any, second_type: Any) -> dict[str, Any]:
    template = mnp_environment()
    ranges = _ranges(template)
    second = copy.deepcopy(ranges[0])
    ranges[0]["TargetNodes"], second["TargetNodes"] = "0", "1:"
    ranges[0]["Container"]["InstanceType"], second["Container"]["InstanceType"] = first_type, second_type
    ranges.append(second)
    return template


def test_compliant_environment_has_no_finding() -> None:
    assert findings_for("MNP006", mnp_environment()) == []


def test_same_type_in_every_group_any_case_is_compliant() -> None:
    assert findings_for("MNP006", _two_groups("c5n.18xlarge", "C5N.18XLARGE")) == []


def test_different_types_are_an_error_naming_both() -> None:
    found = errors_or_warnings("MNP006", _two_groups("c5n.18xlarge", "c5n.9xlarge"))
    assert [(f.level.value, f.resource) for f in found] == [("error", "JobDefinition")]
    assert "c5n.18xlarge" in found[0].message and "c5n.9xlarge" in found[0].message
    assert "MnpStack/JobDefinition/Resource" in found[0].message


def test_a_group_listing_two_types_is_an_error() -> None:
    template = mnp_environment()
    entry = _ranges(template)[0]
    del entry["Container"]["InstanceType"]
    entry["InstanceTypes"] = ["c5n.18xlarge", "c5n.9xlarge"]
    found = errors_or_warnings("MNP006", template)
    assert len(found) == 2  # lists two, and (so) the job names two different types
    assert any("lists 2 instance types" in f.message for f in found)


def test_one_element_instance_types_list_is_compliant() -> None:
    template = mnp_environment()
    entry = _ranges(template)[0]
    del entry["Container"]["InstanceType"]
    entry["InstanceTypes"] = ["c5n.18xlarge"]
    assert findings_for("MNP006", template) == []


def test_container_instance_type_and_list_that_disagree_are_an_error() -> None:
    template = mnp_environment()
    _ranges(template)[0]["InstanceTypes"] = ["p4d.24xlarge"]
    found = errors_or_warnings("MNP006", template)
    assert any("Container.InstanceType and InstanceTypes disagree" in f.message for f in found)


def test_reports_every_violation() -> None:
    template = _two_groups("c5n.18xlarge", "c5n.9xlarge")
    _ranges(template)[0]["InstanceTypes"] = ["a1.large", "a1.xlarge"]
    messages = [f.message for f in errors_or_warnings("MNP006", template)]
    assert len(messages) == 2
    assert any("lists 2" in m for m in messages) and any("name different instance types" in m for m in messages)


def test_no_instance_type_at_all_is_fine() -> None:
    template = _two_groups("x", "y")
    for entry in _ranges(template):
        del entry["Container"]["InstanceType"]
    assert findings_for("MNP006", template) == []


def test_unresolvable_instance_type_is_info_not_error() -> None:
    template = _two_groups("c5n.18xlarge", {"Fn::ImportValue": "NodeType"})
    assert [f.level.value for f in findings_for("MNP006", template)] == ["info"]


def test_non_mnp_job_definition_is_out_of_scope() -> None:
    template = _two_groups("c5n.18xlarge", "c5n.9xlarge")
    props(template, "JobDefinition")["Type"] = "container"
    assert findings_for("MNP006", template) == []
