"""Exact locations: every finding names file, resource, property path, and the line and column of that
property (or of its nearest existing parent when the property is absent) in YAML (block, flow, short-form
tags) and JSON (compact and indented) templates. Expected positions come from the test's own text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mnp_toolkit.lint.engine import lint_template
from mnp_toolkit.lint.findings import Finding
from mnp_toolkit.lint.loader import load_template_file
from mnp_toolkit.lint.locations import RULE_PROPERTIES
from mnp_toolkit.lint.packs import mnp_pack
from mnp_toolkit.lint.source import JsonSource, parse_yaml_document
from tests.helpers.templates import mnp_environment, props


def _position(text: str, needle: str, occurrence: int = 0) -> tuple[int, int]:
    """1-based line and column of the ``occurrence``-th ``needle`` in ``text`` (the test's oracle)."""
    offset = -1
    for _ in range(occurrence + 1):
        offset = text.index(needle, offset + 1)
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _findings(path: Path, rule: str) -> list[Finding]:
    return [f for f in lint_template(load_template_file(path), mnp_pack().rules) if f.rule == rule]


YAML_BLOCK = """\
AWSTemplateFormatVersion: 2010-09-09
Resources:
  Ce:
    Type: AWS::Batch::ComputeEnvironment
    Properties:
      Type: UNMANAGED
  Queue:
    Type: AWS::Batch::JobQueue
    Metadata: {mnp:queue: true}
    Properties:
      Priority: 1
      ComputeEnvironmentOrder:
        - ComputeEnvironment: !GetAtt Ce.ComputeEnvironmentArn
          Order: 1
      JobStateTimeLimitActions: [{Action: CANCEL, MaxTimeSeconds: 600, Reason: r, State: RUNNABLE}]
  Jd:
    Type: AWS::Batch::JobDefinition
    Properties:
      Type: multinode
      NodeProperties: {NumNodes: 4, MainNode: 7, NodeRangeProperties: [
        {TargetNodes: "0:", Container: {Image: !Sub "${AWS::AccountId}.dkr/x", Command: [mpirun]}}]}
"""


def test_yaml_block_flow_and_short_form_tags(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(YAML_BLOCK)
    [unmanaged] = _findings(path, "MNP001")
    assert unmanaged.pointer == ("Resources", "Ce", "Properties", "Type")
    assert (unmanaged.line, unmanaged.column) == _position(YAML_BLOCK, "Type: UNMANAGED")
    [main_node] = _findings(path, "MNP011")  # inside a flow mapping on one line
    assert main_node.property_path == "Resources/Jd/Properties/NodeProperties/MainNode"
    assert (main_node.line, main_node.column) == _position(YAML_BLOCK, "MainNode: 7")
    _, source = parse_yaml_document(YAML_BLOCK)
    get_att = ["Resources", "Queue", "Properties", "ComputeEnvironmentOrder", 0, "ComputeEnvironment"]
    assert source.locate([*get_att, "Fn::GetAtt", 1]) == (8, *_position(YAML_BLOCK, "ComputeEnvironment: !GetAtt"))
    image = ["Resources", "Jd", "Properties", "NodeProperties", "NodeRangeProperties", 0, "Container", "Image"]
    assert source.locate([*image, "Fn::Sub"]) == (9, *_position(YAML_BLOCK, "Image: !Sub"))


def test_absent_property_points_at_its_nearest_parent(tmp_path: Path) -> None:
    text = YAML_BLOCK.replace("NumNodes: 4, ", "")
    path = tmp_path / "t.yaml"
    path.write_text(text)
    [missing] = _findings(path, "MNP008")
    assert missing.property_path == "Resources/Jd/Properties/NodeProperties/NumNodes"
    assert (missing.line, missing.column) == _position(text, "NodeProperties:")
    no_properties = text.replace("    Properties:\n      Type: UNMANAGED\n", "")
    _, source = parse_yaml_document(no_properties)
    assert source.locate(["Resources", "Ce", "Properties", "Type"]) == (2, *_position(no_properties, "Ce:"))


@pytest.mark.parametrize("indent", [None, 1, 4])
def test_json_compact_and_indented(tmp_path: Path, indent: int | None) -> None:
    template = mnp_environment()
    props(template, "JobDefinition")["NodeProperties"]["MainNode"] = 9
    props(template, "ComputeEnvironment")["Type"] = "UNMANAGED"
    text = json.dumps(template, indent=indent)
    path = tmp_path / "t.json"
    path.write_text(text)
    [main_node] = _findings(path, "MNP011")
    assert (main_node.line, main_node.column) == _position(text, '"MainNode": 9')
    [unmanaged] = _findings(path, "MNP001")
    assert (unmanaged.line, unmanaged.column) == _position(text, '"Type": "UNMANAGED"')


def test_json_lookup_is_not_fooled_by_the_same_key_elsewhere() -> None:
    """The fast path searches the text for the key; a hit inside a string or a nested object is not it."""
    text = json.dumps(
        {
            "Metadata": {"Jd": {"Jd": 1}, "note": 'a "Jd": x'},
            "Resources": {"A": {"Type": "T", "Properties": {"Jd": {"Jd": 2}}}, "Jd": {"Type": "T"}},
        }
    )
    found = JsonSource(text).locate(["Resources", "Jd", "Type"])
    assert found == (3, *_position(text, '"Type": "T"', occurrence=1))
    assert JsonSource(text).locate(["Resources", "Jd"]) == (2, *_position(text, '"Jd": {"Type"'))
    escaped = '{"Resources": {"\\u004a\\u0064": {"Type": "T"}}}'  # "Jd" written with escapes: the slow path
    assert JsonSource(escaped).locate(["Resources", "Jd", "Type"]) == (3, 1, escaped.index('"Type"') + 1)


def test_every_rule_names_the_property_it_checks() -> None:
    assert sorted(set(mnp_pack()) - set(RULE_PROPERTIES)) == []
    assert sorted(set(RULE_PROPERTIES) - set(mnp_pack())) == []


def test_template_built_from_a_dict_has_paths_but_no_lines() -> None:
    from mnp_toolkit.lint.template import Template

    template = mnp_environment()
    props(template, "ComputeEnvironment")["Type"] = "UNMANAGED"
    [finding] = [f for f in lint_template(Template(template), mnp_pack().rules) if f.rule == "MNP001"]
    assert finding.property_path == "Resources/ComputeEnvironment/Properties/Type"
    assert (finding.line, finding.column) == (None, None)
