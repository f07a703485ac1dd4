"""MNP007: at most five node groups."""

from __future__ import annotations

import copy
from typing import Any

from tests.helpers.templates import errors_or_warnings, findings_for, mnp_environment, props


def _with_groups(count: int) -> dict[str, Any]:
    template = mnp_environment()
    node_props = props(template, "JobDefinition")["NodeProperties"]
    base = node_props["NodeRangeProperties"][0]
    node_props["NumNodes"] = count
    node_props["NodeRangeProperties"] = [
        {**copy.deepcopy(base), "TargetNodes": str(index) if index < count - 1 else f"{index}:"}
        for index in range(count)
    ]
    return template


def test_five_groups_pass() -> None:
    assert findings_for("MNP007", _with_groups(5)) == []


def test_six_groups_fail() -> None:
    found = errors_or_warnings("MNP007", _with_groups(6))
    assert [(f.rule, f.level.value) for f in found] == [("MNP007", "error")]
    assert "6 node groups" in found[0].message and "MnpStack/JobDefinition/Resource" in found[0].message


def test_a_conditional_sixth_group_is_info_only() -> None:
    template = _with_groups(6)
    ranges = props(template, "JobDefinition")["NodeProperties"]["NodeRangeProperties"]
    ranges[5] = {"Fn::If": ["Extra", ranges[5], {"Ref": "AWS::NoValue"}]}
    assert [f.level.value for f in findings_for("MNP007", template)] == ["info"]


def test_unresolvable_list_is_info() -> None:
    template = mnp_environment()
    props(template, "JobDefinition")["NodeProperties"]["NodeRangeProperties"] = {"Fn::ImportValue": "Ranges"}
    assert [f.level.value for f in findings_for("MNP007", template)] == ["info"]


def test_container_job_definition_is_out_of_scope() -> None:
    template = _with_groups(6)
    props(template, "JobDefinition")["Type"] = "container"
    assert findings_for("MNP007", template) == []


def test_the_message_names_target_nodes_as_the_template_writes_them() -> None:
    """A TargetNodes from a parameter is named in words, not as the linter's placeholder or a Python repr."""
    template = _with_groups(6)
    template["Parameters"] = {"Last": {"Type": "String", "Default": "5:"}}
    props(template, "JobDefinition")["NodeProperties"]["NodeRangeProperties"][5]["TargetNodes"] = {"Ref": "Last"}
    [finding] = errors_or_warnings("MNP007", template)
    assert 'TargetNodes "0", "1", "2", "3", "4", (fixed only at deploy time))' in finding.message
    assert "UNKNOWN" not in finding.message and "'" not in finding.message
