"""MNP008: NumNodes between 1 and 1000 (and present)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.templates import errors_or_warnings, findings_for, mnp_environment, only_info_naming_default, props


def _with_num_nodes(value: Any) -> dict[str, Any]:
    template = mnp_environment()
    props(template, "JobDefinition")["NodeProperties"]["NumNodes"] = value
    return template


@pytest.mark.parametrize("value", [1, 1000, "1000", 4.0, 1001, 5000])
def test_valid_num_nodes_pass(value: Any) -> None:
    # Above 1,000 is MNP109's warning (a default limit that can be raised), never MNP008's error.
    assert findings_for("MNP008", _with_num_nodes(value)) == []


@pytest.mark.parametrize(("value", "shown"), [(0, "0"), (-3, "-3"), ("abc", '"abc"'), (2.5, "2.5")])
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


@pytest.mark.parametrize("default", [0, 8])
def test_num_nodes_from_a_parameter_is_only_info_whatever_its_default(default: int) -> None:
    template = _with_num_nodes({"Ref": "Nodes"})
    template["Parameters"] = {"Nodes": {"Type": "Number", "Default": default}}
    only_info_naming_default("MNP008", template, parameter="Nodes", default=str(default))


def test_unresolvable_num_nodes_is_info_not_error() -> None:
    found = findings_for("MNP008", _with_num_nodes({"Fn::ImportValue": "Nodes"}))
    assert [f.level.value for f in found] == ["info"]
