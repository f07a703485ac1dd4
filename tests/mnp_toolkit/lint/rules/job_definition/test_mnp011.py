"""MNP011: MainNode within 0..NumNodes-1."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.templates import errors_or_warnings, findings_for, mnp_environment, props


def _with_main(main: Any, num_nodes: Any = 4) -> dict[str, Any]:
    template = mnp_environment()
    node_props = props(template, "JobDefinition")["NodeProperties"]
    node_props["MainNode"], node_props["NumNodes"] = main, num_nodes
    return template


@pytest.mark.parametrize("main", [0, 3, "3"])
def test_main_node_inside_passes(main: Any) -> None:
    assert findings_for("MNP011", _with_main(main)) == []


@pytest.mark.parametrize(
    ("main", "expected"), [(4, "MainNode 4, but NumNodes is 4"), (-1, "must be >= 0"), ("x", '"x"')]
)
def test_main_node_outside_fails(main: Any, expected: str) -> None:
    found = errors_or_warnings("MNP011", _with_main(main))
    assert [(f.rule, f.level.value) for f in found] == [("MNP011", "error")]
    assert expected in found[0].message and "MnpStack/JobDefinition/Resource" in found[0].message


def test_missing_main_node_is_an_error() -> None:
    template = mnp_environment()
    del props(template, "JobDefinition")["NodeProperties"]["MainNode"]
    assert len(errors_or_warnings("MNP011", template)) == 1


def test_unresolvable_values_are_info_not_error() -> None:
    assert [f.level.value for f in findings_for("MNP011", _with_main({"Fn::ImportValue": "Main"}))] == ["info"]
    assert [f.level.value for f in findings_for("MNP011", _with_main(2, {"Ref": "Nodes"}))] == ["info"]
