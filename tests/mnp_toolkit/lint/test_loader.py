"""mnp_toolkit.lint.loader: template files (JSON, YAML short forms) and cdk.out assemblies, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mnp_toolkit.lint.loader import (
    TemplateLoadError,
    assembly_templates,
    load_template_file,
    load_templates,
    parse_yaml,
    templates_in,
)


def write_json(path: Path, body: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body))
    return path


TEMPLATE = {"Resources": {"Queue": {"Type": "AWS::Batch::JobQueue", "Properties": {"Priority": 1}}}}


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("!Ref Vpc", {"Ref": "Vpc"}),
        ("!GetAtt Ce.ComputeEnvironmentArn", {"Fn::GetAtt": ["Ce", "ComputeEnvironmentArn"]}),
        ("!GetAtt Db.Endpoint.Address", {"Fn::GetAtt": ["Db", "Endpoint.Address"]}),
        ("!GetAtt [Ce, ComputeEnvironmentArn]", {"Fn::GetAtt": ["Ce", "ComputeEnvironmentArn"]}),
        ("!Sub '${AWS::StackName}-q'", {"Fn::Sub": "${AWS::StackName}-q"}),
        ("!Sub ['${A}-q', {A: x}]", {"Fn::Sub": ["${A}-q", {"A": "x"}]}),
        ("!Select [0, !GetAZs '']", {"Fn::Select": [0, {"Fn::GetAZs": ""}]}),
        ("!Join [',', [a, b]]", {"Fn::Join": [",", ["a", "b"]]}),
        ("!If [IsProd, 4, 0]", {"Fn::If": ["IsProd", 4, 0]}),
        ("!ImportValue SharedSubnet", {"Fn::ImportValue": "SharedSubnet"}),
        ("!FindInMap [M, a, b]", {"Fn::FindInMap": ["M", "a", "b"]}),
        ("!Split [',', 'a,b']", {"Fn::Split": [",", "a,b"]}),
        ("!Base64 hello", {"Fn::Base64": "hello"}),
        ("!Cidr [10.0.0.0/16, 4, 8]", {"Fn::Cidr": ["10.0.0.0/16", 4, 8]}),
        ("!Equals [a, b]", {"Fn::Equals": ["a", "b"]}),
        ("!Not [!Condition IsProd]", {"Fn::Not": [{"Condition": "IsProd"}]}),
        ("!And [!Condition A, !Condition B]", {"Fn::And": [{"Condition": "A"}, {"Condition": "B"}]}),
        ("!Or [!Condition A, !Condition B]", {"Fn::Or": [{"Condition": "A"}, {"Condition": "B"}]}),
    ],
)
def test_short_form_intrinsics_become_long_form(yaml_text: str, expected: Any) -> None:
    assert parse_yaml(f"value: {yaml_text}\n") == {"value": expected}


def test_yaml_dates_stay_strings() -> None:
    assert parse_yaml("AWSTemplateFormatVersion: 2010-09-09\n") == {"AWSTemplateFormatVersion": "2010-09-09"}


def test_yaml_template_resolves_like_json(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "Resources:\n"
        "  Ce:\n"
        "    Type: AWS::Batch::ComputeEnvironment\n"
        "    Properties: {Type: MANAGED}\n"
        "  Queue:\n"
        "    Type: AWS::Batch::JobQueue\n"
        "    Properties:\n"
        "      ComputeEnvironmentOrder:\n"
        "        - {ComputeEnvironment: !GetAtt Ce.ComputeEnvironmentArn, Order: 1}\n"
    )
    template = load_template_file(path)
    queue = template.resources["Queue"]
    target = template.resource(queue.get("ComputeEnvironmentOrder", 0, "ComputeEnvironment"))
    assert target is not None and target.logical_id == "Ce"


def test_unknown_extension_json_then_yaml(tmp_path: Path) -> None:
    as_json = write_json(tmp_path / "a.template", TEMPLATE)
    as_yaml = tmp_path / "b.template"
    as_yaml.write_text("Resources:\n  Queue:\n    Type: AWS::Batch::JobQueue\n")
    assert [t.resources["Queue"].type for t in load_templates([as_json, as_yaml])] == ["AWS::Batch::JobQueue"] * 2


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("bad.json", '{"Resources": {', "bad.json: invalid JSON: Expecting property name"),
        ("bad.yaml", "Resources: [a\n", "bad.yaml: invalid YAML"),
        ("tag.yaml", "Resources: !Bogus x\n", "tag.yaml: invalid YAML"),
        ("list.json", "[1, 2]", "list.json: not a CloudFormation template: the document is a list"),
        ("empty.yaml", "", "empty.yaml: not a CloudFormation template: the document is empty"),
        ("res.json", '{"Resources": [1]}', "res.json: 'Resources' must be a mapping, got list"),
        ("notype.json", '{"Resources": {"Q": {"Properties": {}}}}', "notype.json: resource \"Q\" has no 'Type'"),
        ("props.json", '{"Resources": {"Q": {"Type": "X", "Properties": 3}}}', "resource \"Q\": 'Properties' must"),
    ],
)
def test_unreadable_templates_raise_one_line_naming_the_file(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(TemplateLoadError) as raised:
        load_templates([path])
    message = str(raised.value)
    assert expected in message
    assert str(path) in message
    assert "\n" not in message


def test_missing_path_and_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(TemplateLoadError, match="no such file or directory"):
        templates_in(tmp_path / "missing.json")
    with pytest.raises(TemplateLoadError, match="no CloudFormation templates found"):
        templates_in(tmp_path)


def test_a_mapping_without_resources_is_not_a_template(tmp_path: Path) -> None:
    """A config file, a package.json or a cdk.out manifest is not a template: saying "passed" would lie."""
    for name, body, hint in [
        ("package.json", {"name": "app", "version": "1.0.0"}, 'top-level keys are "name", "version"'),
        ("manifest.json", {"version": "55.0.0", "artifacts": {}}, "lint its directory instead"),
        ("empty.json", {}, "the mapping is empty"),
    ]:
        with pytest.raises(TemplateLoadError, match="no 'Resources' section") as raised:
            load_template_file(write_json(tmp_path / name, body))
        assert hint in str(raised.value)


def test_a_stack_template_of_an_assembly_may_have_no_resources(tmp_path: Path) -> None:
    """An empty CDK stack synthesizes a template without Resources; the manifest vouches that it is one."""
    out = tmp_path / "cdk.out"
    write_json(out / "Empty.template.json", {"Parameters": {"BootstrapVersion": {"Type": "String"}}})
    write_json(
        out / "manifest.json",
        {
            "artifacts": {
                "Empty": {"type": "aws:cloudformation:stack", "properties": {"templateFile": "Empty.template.json"}}
            }
        },
    )
    [template] = load_templates([out])
    assert template.resources == {}


def _cdk_out(root: Path) -> Path:
    """A cloud assembly with one stack, a nested stack template and a Stage (nested assembly)."""
    out = root / "cdk.out"
    write_json(out / "App.template.json", TEMPLATE)
    write_json(out / "AppNestedStackNestedStackResource1234.nested.template.json", TEMPLATE)
    write_json(
        out / "manifest.json",
        {
            "version": "55.0.0",
            "artifacts": {
                "App": {"type": "aws:cloudformation:stack", "properties": {"templateFile": "App.template.json"}},
                "App.assets": {"type": "cdk:asset-manifest", "properties": {"file": "App.assets.json"}},
                "assembly-Prod": {"type": "cdk:cloud-assembly", "properties": {"directoryName": "assembly-Prod"}},
                "Tree": {"type": "cdk:tree", "properties": {"file": "tree.json"}},
            },
        },
    )
    stage = out / "assembly-Prod"
    write_json(stage / "ProdBatch.template.json", TEMPLATE)
    write_json(
        stage / "manifest.json",
        {
            "version": "55.0.0",
            "artifacts": {
                "ProdBatch": {
                    "type": "aws:cloudformation:stack",
                    "properties": {"templateFile": "ProdBatch.template.json"},
                }
            },
        },
    )
    write_json(out / "unrelated.template.json", {"not": "listed in the manifest"})
    return out


def test_cdk_out_reads_manifest_stacks_stages_and_nested_stacks(tmp_path: Path) -> None:
    out = _cdk_out(tmp_path)
    names = sorted(path.relative_to(out).as_posix() for path in assembly_templates(out))
    assert names == [
        "App.template.json",
        "AppNestedStackNestedStackResource1234.nested.template.json",
        "assembly-Prod/ProdBatch.template.json",
    ]


def test_cdk_out_manifest_pointing_to_missing_template(tmp_path: Path) -> None:
    out = _cdk_out(tmp_path)
    (out / "App.template.json").unlink()
    with pytest.raises(TemplateLoadError, match=r"App.template.json: listed in .*manifest.json .* re-run cdk synth"):
        templates_in(out)


def test_directory_without_manifest_falls_back_to_template_files(tmp_path: Path) -> None:
    write_json(tmp_path / "one.template.json", TEMPLATE)
    write_json(tmp_path / "sub" / "two.template.json", TEMPLATE)
    write_json(tmp_path / "other.json", TEMPLATE)
    assert sorted(p.name for p in templates_in(tmp_path)) == ["one.template.json", "two.template.json"]


def test_same_file_twice_is_linted_once(tmp_path: Path) -> None:
    path = write_json(tmp_path / "t.json", TEMPLATE)
    assert len(load_templates([path, tmp_path / "." / "t.json"])) == 1


def _assembly_with_ack(root: Path, reason: str, rule: str = "MNP001") -> Path:
    """A cdk.out whose CE is UNMANAGED and acknowledged with Validations.acknowledge (2.275 layout)."""
    from tests.helpers.templates import mnp_environment, props

    template = mnp_environment()
    props(template, "ComputeEnvironment")["Type"] = "UNMANAGED"
    path = write_json(root / "MnpStack.template.json", template)
    write_json(
        root / "MnpStack.metadata.json",
        {
            "/MnpStack/ComputeEnvironment": [
                {"type": "aws:cdk:acknowledged-rules", "data": {f"MnpChecks::{rule}": reason}}
            ]
        },
    )
    write_json(
        root / "manifest.json",
        {
            "artifacts": {
                "MnpStack": {
                    "type": "aws:cloudformation:stack",
                    "properties": {"templateFile": "MnpStack.template.json"},
                    "additionalMetadataFile": "MnpStack.metadata.json",
                }
            }
        },
    )
    return path


def test_cdk_acknowledgements_in_cdk_out_apply_to_lint(tmp_path: Path) -> None:
    from mnp_toolkit.lint.engine import lint_template
    from mnp_toolkit.lint.loader import acknowledge_from_assembly
    from mnp_toolkit.lint.packs import mnp_pack

    path = _assembly_with_ack(tmp_path, "replaced by a managed CE in Q3")
    pack = mnp_pack()
    raw = [f for f in lint_template(load_template_file(path), pack.rules) if f.rule == "MNP001"]
    assert [f.acknowledged for f in raw] == [None]
    [finding] = [f for f in acknowledge_from_assembly(raw, path, known_ids=set(pack)) if f.rule == "MNP001"]
    assert (
        finding.acknowledged
        == "replaced by a managed CE in Q3 (Validations.acknowledge on MnpStack/ComputeEnvironment)"
    )


def test_cdk_acknowledgement_with_short_reason_is_mnp000(tmp_path: Path) -> None:
    from mnp_toolkit.lint.loader import acknowledge_from_assembly

    path = _assembly_with_ack(tmp_path, "ok")
    [problem] = acknowledge_from_assembly([], path, known_ids={"MNP001"})
    assert (problem.rule, problem.level.value, problem.path) == ("MNP000", "error", "MnpStack/ComputeEnvironment")


def test_templates_outside_an_assembly_are_untouched(tmp_path: Path) -> None:
    from mnp_toolkit.lint.loader import acknowledge_from_assembly

    path = write_json(tmp_path / "t.json", TEMPLATE)
    assert acknowledge_from_assembly([], path, known_ids={"MNP001"}) == []
