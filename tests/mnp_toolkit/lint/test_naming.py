"""Values in messages are written as a template author writes them, never as the linter's objects."""

from __future__ import annotations

from mnp_toolkit.lint.model.naming import MAX_RENDERED, describe, render_value
from mnp_toolkit.lint.template import NO_VALUE, UNKNOWN, AvailabilityZone, AzList, ResourceRef, Template


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
