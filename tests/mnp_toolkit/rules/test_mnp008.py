"""MNP008: NumNodes between 1 and 1000 (and present)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.templates import errors_or_warnings, findings_for, mnp_environment, props


def _with_num_nodes(value: Any) -> dict[str, Any]:
    template = mnp_environment()
    props(template, "JobDefinition")["NodeProperties"]["NumNodes"] = value
    return template


@pytest.mark.parametrize("value", [1, 1000, "1000", 4.0])
def test_valid_num_nodes_pass(value: Any) -> None:
    assert findings_for("MNP008", _with_num_nodes(value)) == []


@pytest.mark.parametrize(("value", "shown"), [(1001, "1001"), (0, "0"), (-3, "-3"), ("abc", "'abc'"), (2.5, "2.5")])
def test_out_of_range_or_non_integer_num_nodes_fail(value: Any, shown: str) -> None:
    found = errors_or_warnings("MNP008", _with_num_nodes(value))
    assert [(f.rule, f.level.value) for f in found] == [("MNP008", "error")]
    assert f"NumNodes {shown}" in found[0].message


def test_missing_num_nodes_is_an_error() -> None:
    template = mnp_environment()
    del props(template, "JobDefinition")["NodeProperties"]["NumNodes"]
    found = errors_or_warnings("MNP008", template)
    assert len(found) == 1 and "no NodeProperties.NumNodes" in found[0].message


def test_missing_node_properties_is_an_error() -> None:
    template = mnp_environment()
    del props(template, "JobDefinition")["NodeProperties"]
    assert len(errors_or_warnings("MNP008", template)) == 1


def test_num_nodes_from_a_parameter_default_is_resolved() -> None:
    template = _with_num_nodes({"Ref": "Nodes"})
    template["Parameters"] = {"Nodes": {"Type": "Number", "Default": 1001}}
    assert len(errors_or_warnings("MNP008", template)) == 1
    template["Parameters"]["Nodes"]["Default"] = 8
    assert findings_for("MNP008", template) == []


def test_unresolvable_num_nodes_is_info_not_error() -> None:
    found = findings_for("MNP008", _with_num_nodes({"Fn::ImportValue": "Nodes"}))
    assert [f.level.value for f in found] == ["info"]
