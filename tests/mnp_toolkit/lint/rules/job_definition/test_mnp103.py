"""MNP103 (warning): NumNodes 1."""

from __future__ import annotations

from typing import Any

from tests.helpers.templates import errors_or_warnings, findings_for, mnp_environment, props


def _with_num_nodes(value: Any) -> dict[str, Any]:
    template = mnp_environment()
    props(template, "JobDefinition")["NodeProperties"]["NumNodes"] = value
    return template


def test_one_node_is_a_warning() -> None:
    found = errors_or_warnings("MNP103", _with_num_nodes(1))
    assert [(f.rule, f.level.value) for f in found] == [("MNP103", "warning")]
    assert "NumNodes 1" in found[0].message and "MnpStack/JobDefinition/Resource" in found[0].message


def test_two_nodes_pass() -> None:
    assert findings_for("MNP103", _with_num_nodes(2)) == []


def test_one_node_written_as_a_string_warns_too() -> None:
    assert len(errors_or_warnings("MNP103", _with_num_nodes("1"))) == 1  # CloudFormation passes "1" as 1


def test_unresolvable_num_nodes_is_info() -> None:
    assert [f.level.value for f in findings_for("MNP103", _with_num_nodes({"Ref": "N"}))] == ["info"]


def test_container_job_definitions_are_out_of_scope() -> None:
    template = _with_num_nodes(1)
    props(template, "JobDefinition")["Type"] = "container"
    assert findings_for("MNP103", template) == []
