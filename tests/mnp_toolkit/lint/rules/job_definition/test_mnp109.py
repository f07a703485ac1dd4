"""MNP109 (warning): NumNodes above 1,000, the default (raisable) limit of nodes per job."""

from __future__ import annotations

from typing import Any

import pytest

from mnp_toolkit.lint.packs import mnp_pack
from tests.helpers.templates import errors_or_warnings, findings_for, mnp_environment, props


def _with_num_nodes(value: Any) -> dict[str, Any]:
    template = mnp_environment()
    props(template, "JobDefinition")["NodeProperties"]["NumNodes"] = value
    return template


@pytest.mark.parametrize("value", [1, 4, 1000, "1000"])
def test_up_to_the_default_limit_is_compliant(value: Any) -> None:
    assert findings_for("MNP109", _with_num_nodes(value)) == []


@pytest.mark.parametrize("value", [1001, "2000"])
def test_above_the_default_limit_is_a_warning_not_an_error(value: Any) -> None:
    found = errors_or_warnings("MNP109", _with_num_nodes(value))
    assert [(f.rule, f.level.value, f.resource) for f in found] == [("MNP109", "warning", "JobDefinition")]
    assert f"NumNodes {int(value)}" in found[0].message and "raised" in found[0].message


def test_an_acknowledged_raise_passes() -> None:
    template = _with_num_nodes(1500)
    template["Resources"]["JobDefinition"]["Metadata"]["mnp:acknowledge"] = [
        {"id": "MNP109", "reason": "limit raised to 2000 in support case 1234"}
    ]
    found = findings_for("MNP109", template)
    assert len(found) == 1 and found[0].acknowledged and not found[0].counts_as_warning


@pytest.mark.parametrize("value", [{"Fn::ImportValue": "Nodes"}, {"Ref": "Nodes"}, 0])
def test_unknown_or_too_small_num_nodes_is_left_to_mnp008(value: Any) -> None:
    template = _with_num_nodes(value)
    template["Parameters"] = {"Nodes": {"Type": "Number", "Default": 5000}}
    assert findings_for("MNP109", template) == []


def test_rule_matches_the_catalog() -> None:
    rule = mnp_pack()["MNP109"]
    assert (rule.level.value, rule.resource_type) == ("warning", "AWS::Batch::JobDefinition")
    assert rule.source == "https://docs.aws.amazon.com/batch/latest/userguide/mnp-node-groups.html"
