"""Fn::ForEach (AWS::LanguageExtensions) loops in Resources: expanded as CloudFormation expands them, a loop
over a parameter kept as one resource whose loop values are unknown; never a refusal, never a dropped
resource (CloudFormation Template Reference, Fn::ForEach)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from mnp_toolkit.lint.engine import lint_template
from mnp_toolkit.lint.language_extensions import MAX_EXPANDED_RESOURCES
from mnp_toolkit.lint.loader import TemplateLoadError, load_template_file
from mnp_toolkit.lint.packs import mnp_pack
from mnp_toolkit.lint.template import UNKNOWN, Template
from tests.helpers.templates import errors_or_warnings, findings_for, mnp_environment, resources


def _queue(**extra: Any) -> dict[str, Any]:
    properties = {
        "Priority": 1,
        "ComputeEnvironmentOrder": [{"ComputeEnvironment": {"Ref": "ComputeEnvironment"}, "Order": 1}],
    }
    return {"Type": "AWS::Batch::JobQueue", "Properties": {**properties, **extra}}


def _with_loop(template: dict[str, Any], loop: str, value: list[Any]) -> dict[str, Any]:
    template["Transform"] = "AWS::LanguageExtensions"
    resources(template)[f"Fn::ForEach::{loop}"] = value
    return template


def test_a_literal_collection_expands_to_one_resource_per_value() -> None:
    template = mnp_environment()
    del resources(template)["JobQueue"]  # the loop's queues take its place
    _with_loop(template, "Queues", ["Env", ["dev", "prod-1"], {"Queue&{Env}": _queue()}])
    built = Template(template)
    assert {"Queuedev", "Queueprod1"} <= set(built.resources)
    found = errors_or_warnings("MNP105", template)
    assert sorted(f.resource for f in found) == ["Queuedev", "Queueprod1"]
    assert {f.pointer[:4] for f in found} == {("Resources", "Fn::ForEach::Queues", 2, "Queue&{Env}")}


def test_values_naming_a_known_identifier_are_substituted() -> None:
    template = _with_loop(
        mnp_environment(),
        "Groups",
        [
            "Name",
            ["a"],
            {
                "Sg${Name}": {
                    "Type": "AWS::EC2::SecurityGroup",
                    "Properties": {
                        "GroupDescription": {"Fn::Sub": "group ${Name} in ${AWS::Region}"},
                        "Tags": [{"Key": {"Ref": "Name"}}],
                    },
                }
            },
        ],
    )
    sg = Template(template).resources["Sga"]
    assert sg.raw("GroupDescription") == {"Fn::Sub": "group a in ${AWS::Region}"}
    assert sg.get("Tags", 0, "Key") == "a"


def test_a_collection_from_a_parameter_is_one_resource_with_unknown_loop_values() -> None:
    """The parameter's Default is not the deployed value: no expansion by it, no finding from it."""
    template = mnp_environment()
    template["Parameters"] = {"Ranges": {"Type": "CommaDelimitedList", "Default": "bad,worse"}}
    job_definition = copy.deepcopy(resources(template).pop("JobDefinition"))
    job_definition["Properties"]["NodeProperties"]["NodeRangeProperties"][0]["TargetNodes"] = "${Range}"
    _with_loop(template, "Jobs", ["Range", {"Ref": "Ranges"}, {"Job&{Range}": job_definition}])
    built = Template(template)
    (job,) = built.of_type("AWS::Batch::JobDefinition")
    assert job.logical_id == "Job&{Range}"
    assert job.get("NodeProperties", "NodeRangeProperties", 0, "TargetNodes") is UNKNOWN
    counted = [f for f in lint_template(built, mnp_pack().rules) if f.level.value != "info"]
    assert counted == []


def test_a_true_finding_inside_a_loop_over_a_parameter_is_still_reported() -> None:
    template = mnp_environment()
    template["Parameters"] = {"Names": {"Type": "CommaDelimitedList"}}
    job_definition = copy.deepcopy(resources(template).pop("JobDefinition"))
    job_definition["Properties"]["NodeProperties"]["NodeRangeProperties"][0]["Container"]["Privileged"] = True
    _with_loop(template, "Jobs", ["N", {"Ref": "Names"}, {"Job${N}": job_definition}])
    (finding,) = errors_or_warnings("MNP204", template)
    assert finding.resource == "Job${N}" and finding.level.value == "error"


def test_a_self_ingress_rule_inside_a_loop_counts_for_mnp102() -> None:
    """Rules that conclude from absence must see the loop's resources: the group's only self-ingress rule
    is written inside a loop over a parameter."""
    template = mnp_environment()
    template["Parameters"] = {"Names": {"Type": "CommaDelimitedList"}}
    ingress = resources(template).pop("NodeSecurityGroupSelfIngress")
    assert errors_or_warnings("MNP102", template)  # without it the warning is true
    _with_loop(template, "Rules", ["N", {"Ref": "Names"}, {"Ingress${N}": ingress}])
    assert errors_or_warnings("MNP102", template) == []


def test_nested_loops_expand_with_the_outer_value() -> None:
    template = _with_loop(
        mnp_environment(),
        "Outer",
        ["A", ["x", "y"], {"Fn::ForEach::Inner": ["B", ["1", "2"], {"Topic${A}${B}": {"Type": "AWS::SNS::Topic"}}]}],
    )
    assert {"Topicx1", "Topicx2", "Topicy1", "Topicy2"} <= set(Template(template).resources)


def test_a_loop_template_file_is_read_and_located(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text(
        "Transform: AWS::LanguageExtensions\n"
        "Resources:\n"
        "  Fn::ForEach::Jobs:\n"
        "    - Name\n"
        "    - [a, b]\n"
        "    - Job${Name}:\n"
        "        Type: AWS::Batch::JobDefinition\n"
        "        Properties:\n"
        "          Type: container\n"
        "          ContainerProperties: {Image: busybox, Privileged: true}\n"
    )
    findings = [f for f in lint_template(load_template_file(path), mnp_pack().rules) if f.rule == "MNP204"]
    assert sorted((f.resource, f.line) for f in findings) == [("Joba", 10), ("Jobb", 10)]


@pytest.mark.parametrize(
    ("loop", "words"),
    [
        (["Name", ["a"]], "must be a list of an identifier, a collection and a mapping"),
        (["Name", ["a"], ["not a mapping"]], "third item must be a mapping"),
        (["Name", ["a"], {"Job${Name}": {"Properties": {}}}], "has no 'Type'"),
    ],
)
def test_a_malformed_loop_is_refused_naming_it(tmp_path: Path, loop: list[Any], words: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"Resources": {"Fn::ForEach::Jobs": loop}}))
    with pytest.raises(TemplateLoadError, match=r"bad\.json") as caught:
        load_template_file(path)
    assert words in str(caught.value)


def test_loops_expanding_past_the_bound_are_refused(tmp_path: Path) -> None:
    """Four nested loops of 100 values would be 10^8 resources; CloudFormation takes 500 per stack."""
    fragment: dict[str, Any] = {"T${A}${B}${C}${D}": {"Type": "AWS::SNS::Topic"}}
    values = [str(index) for index in range(100)]
    for identifier in "DCBA":
        fragment = {f"Fn::ForEach::{identifier}": [identifier, values, fragment]}
    path = tmp_path / "many.json"
    path.write_text(json.dumps({"Resources": fragment}))
    with pytest.raises(TemplateLoadError, match=f"more than {MAX_EXPANDED_RESOURCES:,} resources"):
        load_template_file(path)


def test_a_template_without_loops_keeps_its_resources_where_they_are() -> None:
    (finding,) = findings_for("MNP011", _main_node_out_of_range())
    assert finding.pointer[:2] == ("Resources", "JobDefinition")


def _main_node_out_of_range() -> dict[str, Any]:
    template = mnp_environment()
    resources(template)["JobDefinition"]["Properties"]["NodeProperties"]["MainNode"] = 9
    return template
