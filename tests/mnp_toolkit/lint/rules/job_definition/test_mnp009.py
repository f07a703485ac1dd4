"""MNP009: TargetNodes well-formed and within 0..NumNodes-1."""

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
    for entry, target in zip(node_props["NodeRangeProperties"], targets, strict=True):
        if target is None:
            del entry["TargetNodes"]
    return template


@pytest.mark.parametrize("targets", [("0:3",), ("0:",), ("3:",), (":3",), ("0", "1:"), (":",), (3, "0:")])
def test_valid_targets_pass(targets: tuple[Any, ...]) -> None:
    assert findings_for("MNP009", _with_targets(*targets)) == []


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("0:4", "reaches node 4"),
        ("4", "reaches node 4"),
        ("4:", "starts at node 4"),
        (":9", "reaches node 9"),
        ("3:1", "starts after it ends"),
        ("a", "not of the form"),
        ("-1:", "not of the form"),
        (None, "has no TargetNodes"),
        (True, "must be a string"),
        ("0:" + "9" * 5000, "more than 10 digits"),
    ],
)
def test_bad_targets_fail(target: Any, expected: str) -> None:
    found = errors_or_warnings("MNP009", _with_targets(target))
    assert [(f.rule, f.level.value) for f in found] == [("MNP009", "error")]
    assert expected in found[0].message and "MnpStack/JobDefinition/Resource" in found[0].message


def test_reports_every_violation() -> None:
    found = errors_or_warnings("MNP009", _with_targets("0:1", "2:9", "x", "7:"))
    assert [next(tag for tag in ("#1", "#2", "#3") if tag in f.message) for f in found] == ["#1", "#2", "#3"]


def test_unresolvable_target_is_info_not_error() -> None:
    found = findings_for("MNP009", _with_targets({"Fn::ImportValue": "Targets"}))
    assert [f.level.value for f in found] == ["info"]


def test_unresolvable_num_nodes_skips_the_reach_check_but_not_the_form() -> None:
    assert [f.level.value for f in findings_for("MNP009", _with_targets("0:99", num_nodes={"Ref": "N"}))] == ["info"]
    found = errors_or_warnings("MNP009", _with_targets("3:1", num_nodes={"Ref": "N"}))
    assert len(found) == 1 and "starts after it ends" in found[0].message
