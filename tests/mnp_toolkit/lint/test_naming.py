"""Values in messages are written as a template author writes them, never as the linter's objects."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

from mnp_toolkit.lint.engine import lint_template
from mnp_toolkit.lint.model.naming import MAX_RENDERED, describe, render_value
from mnp_toolkit.lint.packs import mnp_pack
from mnp_toolkit.lint.template import NO_VALUE, UNKNOWN, AvailabilityZone, AzList, ResourceRef, Template
from tests.helpers.templates import mnp_environment, props


def test_intrinsics_are_rendered_in_cloudformation_json() -> None:
    assert render_value(ResourceRef("Sg")) == '{"Ref": "Sg"}'
    assert render_value(ResourceRef("Sg", "GroupId")) == '{"Fn::GetAtt": ["Sg", "GroupId"]}'
    assert render_value(AzList("")) == '{"Fn::GetAZs": ""}'
    assert render_value(AvailabilityZone("", 1)) == '{"Fn::Select": [1, {"Fn::GetAZs": ""}]}'
    assert render_value(NO_VALUE) == '{"Ref": "AWS::NoValue"}'
    assert render_value(UNKNOWN) == "(not fixed by the template)"
    assert render_value([ResourceRef("A"), UNKNOWN]) == '[{"Ref": "A"}, (not fixed by the template)]'
    assert (
        render_value({"r": UNKNOWN, "g": ResourceRef("G")}) == '{"r": (not fixed by the template), "g": {"Ref": "G"}}'
    )


def test_plain_values_are_json_and_long_ones_are_cut() -> None:
    assert render_value("abc") == '"abc"' and render_value(True) == "true" and render_value(None) == "null"
    assert render_value(3) == "3" and render_value(2.5) == "2.5"
    assert render_value(10**100) == "(an integer of more than 30 digits)"
    long = render_value({"NodeRangeProperties": [{"Container": {"Command": ["x" * 50] * 20}}] * 20})
    assert len(long) == MAX_RENDERED and long.endswith("...")
    deep: object = 1
    for _ in range(10_000):  # nesting is never walked past a few levels
        deep = [deep]
    assert render_value(deep) == "[[[[[...]]]]]"


def test_describe_names_resources_and_keeps_names_unquoted() -> None:
    template = Template(
        {"Resources": {"Sg": {"Type": "AWS::EC2::SecurityGroup", "Metadata": {"aws:cdk:path": "S/Sg"}}}}
    )
    assert describe(template.resources["Sg"]) == "S/Sg"
    assert describe("subnet-0123") == "subnet-0123"
    assert describe(ResourceRef("Sg", "GroupId")) == "Sg.GroupId"
    assert describe({"Fn::ImportValue": "X"}) == '{"Fn::ImportValue": "X"}'


def _leaf_paths(node: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Every scalar value and every intrinsic of a template part, by path."""
    if isinstance(node, dict) and not (len(node) == 1 and next(iter(node)).startswith(("Ref", "Fn::"))):
        for key, value in node.items():
            yield from _leaf_paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _leaf_paths(value, (*path, index))
    else:
        yield path


def _violating_environment() -> dict[str, Any]:
    """The test environment with findings of several rules whose messages show template values."""
    template = mnp_environment()
    node_props = props(template, "JobDefinition")["NodeProperties"]
    base = node_props["NodeRangeProperties"][0]
    node_props["NumNodes"] = 6
    node_props["NodeRangeProperties"] = [{**copy.deepcopy(base), "TargetNodes": str(i)} for i in range(6)]
    base["Container"]["Command"] = ["torchrun", "--node_rank=$AWS_BATCH_JOB_NODE_INDEX"]
    props(template, "NodeSecurityGroup").setdefault("SecurityGroupIngress", []).append(
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"}
    )
    props(template, "ComputeEnvironment")["ComputeResources"]["MinvCpus"] = 8
    return template


def test_no_message_shows_the_placeholder_of_a_value_fixed_at_deploy_time() -> None:
    """Each value of the environment in turn comes from a parameter: no message may show the linter's
    UNKNOWN or a Python repr (``'0'``, ``{'Ref': ...}``) in its place."""
    base = _violating_environment()
    leaked: set[tuple[str, str]] = set()
    for path in _leaf_paths(base["Resources"]):
        template = copy.deepcopy(base)
        template["Parameters"] = {"P": {"Type": "String"}}
        node: Any = template["Resources"]
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = {"Ref": "P"}
        for finding in lint_template(Template(template), mnp_pack().rules):
            if "UNKNOWN" in finding.message or re.search(r"[{\[(,] ?'|^'|\w\(\w+=", finding.message):
                leaked.add((finding.rule, finding.message))
    assert sorted(leaked) == []
