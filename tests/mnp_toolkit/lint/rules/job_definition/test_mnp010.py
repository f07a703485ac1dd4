"""MNP010: every node 0..NumNodes-1 is covered by a node range (nesting allowed)."""

from __future__ import annotations

import copy
from typing import Any

from tests.helpers.templates import errors_or_warnings, findings_for, mnp_environment, props


def _with_targets(*targets: Any, num_nodes: Any = 4) -> dict[str, Any]:
    template = mnp_environment()
    node_props = props(template, "JobDefinition")["NodeProperties"]
    base = node_props["NodeRangeProperties"][0]
    node_props["NumNodes"] = num_nodes
    node_props["NodeRangeProperties"] = [{**copy.deepcopy(base), "TargetNodes": target} for target in targets]
    return template


def test_nested_ranges_pass() -> None:
    assert findings_for("MNP010", _with_targets("0:", "1:2", "0")) == []


def test_adjacent_closed_ranges_pass() -> None:
    assert findings_for("MNP010", _with_targets("0:1", "2:3")) == []


def test_a_gap_fails_naming_the_nodes() -> None:
    found = errors_or_warnings("MNP010", _with_targets("0:1", "3:"))
    assert [(f.rule, f.level.value) for f in found] == [("MNP010", "error")]
    assert "node 2 of 0 to 3" in found[0].message


def test_reports_every_gap() -> None:
    found = errors_or_warnings("MNP010", _with_targets("1", "4:5", num_nodes=8))
    assert [f.message.split(": ", 1)[1].split(" of ")[0] for f in found] == ["node 0", "nodes 2-3", "nodes 6-7"]


def test_a_malformed_range_covers_nothing() -> None:
    found = errors_or_warnings("MNP010", _with_targets("0:1", "3:2"))
    assert len(found) == 1 and "nodes 2-3" in found[0].message


def test_a_gap_an_unresolvable_range_may_fill_is_info() -> None:
    found = findings_for("MNP010", _with_targets("0:1", {"Fn::ImportValue": "Rest"}))
    assert [f.level.value for f in found] == ["info"]


def test_unresolvable_num_nodes() -> None:
    assert findings_for("MNP010", _with_targets("0:", num_nodes={"Fn::ImportValue": "N"})) == []
    found = findings_for("MNP010", _with_targets("0:3", num_nodes={"Fn::ImportValue": "N"}))
    assert [f.level.value for f in found] == ["info"]


def test_no_node_ranges_at_all_leave_every_node_uncovered() -> None:
    template = mnp_environment()
    del props(template, "JobDefinition")["NodeProperties"]["NodeRangeProperties"]
    found = errors_or_warnings("MNP010", template)
    assert len(found) == 1 and "nodes 0-3" in found[0].message


def test_the_message_names_target_nodes_in_json_quotes_not_a_python_repr() -> None:
    [finding] = errors_or_warnings("MNP010", _with_targets("0:1", "3:"))
    assert '(TargetNodes: "0:1", "3:")' in finding.message and "'" not in finding.message
