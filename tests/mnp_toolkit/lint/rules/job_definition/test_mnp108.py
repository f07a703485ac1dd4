"""MNP108 (warning): node ranges that overlap without nesting."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.helpers.templates import errors_or_warnings, findings_for, mnp_environment, props


def _with_targets(*targets: Any, num_nodes: Any = 4) -> dict[str, Any]:
    template = mnp_environment()
    node_props = props(template, "JobDefinition")["NodeProperties"]
    base = node_props["NodeRangeProperties"][0]
    node_props["NumNodes"] = num_nodes
    node_props["NodeRangeProperties"] = [{**copy.deepcopy(base), "TargetNodes": target} for target in targets]
    return template


@pytest.mark.parametrize(
    "targets",
    [("0:", "1:2"), ("0:3", "2:"), ("0:1", "2:3"), ("0:3", "0:3"), ("0:", "0", "1:2", "1"), (":", "3")],
)
def test_nested_disjoint_or_identical_ranges_pass(targets: tuple[str, ...]) -> None:
    assert findings_for("MNP108", _with_targets(*targets)) == []


def test_partial_overlap_warns_naming_the_shared_nodes() -> None:
    found = errors_or_warnings("MNP108", _with_targets("0:2", "1:3"))
    assert [(f.rule, f.level.value) for f in found] == [("MNP108", "warning")]
    assert '"0:2"' in found[0].message and '"1:3"' in found[0].message and "nodes 1-2" in found[0].message


def test_open_end_is_the_last_node() -> None:
    # on four nodes 2: is 2..3, which nests inside 1:3 but only partly overlaps 1:2
    assert findings_for("MNP108", _with_targets("0:", "2:", "1:3")) == []
    assert len(errors_or_warnings("MNP108", _with_targets("0:", "2:", "1:2"))) == 1


def test_reports_every_pair() -> None:
    assert len(errors_or_warnings("MNP108", _with_targets("0:1", "1:2", "2:3"))) == 2


def test_unknown_num_nodes_makes_a_possible_overlap_info() -> None:
    found = findings_for("MNP108", _with_targets("0:5", "3:", num_nodes={"Fn::ImportValue": "N"}))
    assert [f.level.value for f in found] == ["info"]
    assert findings_for("MNP108", _with_targets("0:", "3:", num_nodes={"Fn::ImportValue": "N"})) == []
