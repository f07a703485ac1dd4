"""MNP104 (warning): no open-ended node range."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.helpers.templates import errors_or_warnings, findings_for, mnp_environment, props


def _with_targets(*targets: Any) -> dict[str, Any]:
    template = mnp_environment()
    node_props = props(template, "JobDefinition")["NodeProperties"]
    base = node_props["NodeRangeProperties"][0]
    node_props["NodeRangeProperties"] = [{**copy.deepcopy(base), "TargetNodes": target} for target in targets]
    return template


@pytest.mark.parametrize("targets", [("0:",), ("0", "1:"), (":",), ("0:3", "2:")])
def test_an_open_range_passes(targets: tuple[str, ...]) -> None:
    assert findings_for("MNP104", _with_targets(*targets)) == []


def test_closed_ranges_only_are_a_warning_with_the_open_form() -> None:
    found = errors_or_warnings("MNP104", _with_targets("0", "1:3"))
    assert [(f.rule, f.level.value) for f in found] == [("MNP104", "warning")]
    assert '"1:3" -> "1:"' in found[0].message and "MnpStack/JobDefinition/Resource" in found[0].message


def test_an_unresolvable_range_might_be_open_so_info() -> None:
    found = findings_for("MNP104", _with_targets("0:1", {"Fn::ImportValue": "Rest"}))
    assert [f.level.value for f in found] == ["info"]


def test_the_message_names_target_nodes_in_json_quotes_not_a_python_repr() -> None:
    [finding] = errors_or_warnings("MNP104", _with_targets("0", "1:3"))
    assert '(TargetNodes "0", "1:3")' in finding.message and "'" not in finding.message
