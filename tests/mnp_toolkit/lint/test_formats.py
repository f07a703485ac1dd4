"""`mnp lint --format sarif` (validated against the official SARIF 2.1.0 schema) and `--format github`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from mnp_toolkit.cli.main import main
from tests.helpers.templates import mnp_environment, props, resources

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "data" / "sarif" / "sarif-schema-2.1.0.json").read_text())


def _failing_template() -> dict[str, Any]:
    template = mnp_environment()
    props(template, "ComputeEnvironment")["ComputeResources"]["MinvCpus"] = 72  # MNP106, warning
    props(template, "JobDefinition")["NodeProperties"]["MainNode"] = 9  # MNP011, error
    resources(template)["JobQueue"]["Metadata"]["mnp:acknowledge"] = [{"id": "MNP105", "reason": "short"}]  # MNP000
    return template


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["lint", *argv])
    return code, capsys.readouterr().out


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "stack.template.json").write_text(json.dumps(_failing_template(), indent=1))
    acknowledged = mnp_environment()
    props(acknowledged, "ComputeEnvironment")["Type"] = "UNMANAGED"
    resources(acknowledged)["ComputeEnvironment"]["Metadata"]["mnp:acknowledge"] = [
        {"id": "MNP001", "reason": "migrating to managed next sprint"}
    ]
    (tmp_path / "infra" / "acked.template.json").write_text(json.dumps(acknowledged, indent=1))
    return tmp_path


def test_sarif_validates_against_the_official_schema(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(capsys, "infra", "--format", "sarif", "--rules-uri", "https://example.org/docs/rules.md")
    assert code == 1
    log = json.loads(out)
    jsonschema.Draft4Validator(SCHEMA).validate(log)  # raises on any violation
    assert log["version"] == "2.1.0"
    [run] = log["runs"]
    driver = run["tool"]["driver"]
    ids = [rule["id"] for rule in driver["rules"]]
    assert {"MNP001", "MNP011", "MNP106", "MNP000"} <= set(ids)
    assert len(ids) == len(set(ids)) == len(driver["rules"])
    mnp001 = driver["rules"][ids.index("MNP001")]
    assert mnp001["helpUri"] == "https://example.org/docs/rules.md#mnp001"
    assert mnp001["shortDescription"]["text"] and mnp001["fullDescription"]["text"]
    assert mnp001["help"]["text"].startswith("Fix: Set Type: MANAGED")
    assert mnp001["defaultConfiguration"]["level"] == "error"
    levels = {(r["ruleId"], r["level"], "suppressions" in r) for r in run["results"]}
    assert {("MNP000", "error", False), ("MNP011", "error", False), ("MNP106", "warning", False)} <= levels
    assert ("MNP001", "error", True) in levels  # the acknowledged one, as a suppressed result
    assert ("MNP001", "error", False) not in levels
    for result in run["results"]:
        assert ids[result["ruleIndex"]] == result["ruleId"]


def test_sarif_locations_are_relative_with_line_and_column(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out = _run(capsys, "infra/stack.template.json", "--format", "sarif")
    [run] = json.loads(out)["runs"]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == workdir.resolve().as_uri() + "/"
    [main_node] = [r for r in run["results"] if r["ruleId"] == "MNP011"]
    [location] = main_node["locations"]
    physical = location["physicalLocation"]
    assert physical["artifactLocation"] == {"uri": "infra/stack.template.json", "uriBaseId": "%SRCROOT%"}
    lines = (workdir / "infra" / "stack.template.json").read_text().splitlines()
    line = physical["region"]["startLine"]
    column = physical["region"]["startColumn"]
    assert lines[line - 1][column - 1 :].startswith('"MainNode": 9')
    assert location["logicalLocations"][0]["fullyQualifiedName"] == (
        "Resources/JobDefinition/Properties/NodeProperties/MainNode"
    )


def test_sarif_suppression_carries_the_reason(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out = _run(capsys, "infra/acked.template.json", "--format", "sarif")
    [run] = json.loads(out)["runs"]
    [result] = [r for r in run["results"] if r["ruleId"] == "MNP001"]
    assert result["suppressions"] == [
        {"kind": "inSource", "status": "accepted", "justification": "migrating to managed next sprint"}
    ]


def test_sarif_of_a_clean_template_has_no_results(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "clean.template.json").write_text(json.dumps(mnp_environment()))
    code, out = _run(capsys, "clean.template.json", "--format", "sarif")
    log = json.loads(out)
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    assert code == 0 and log["runs"][0]["results"] == []


def test_github_annotations(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(capsys, "infra/stack.template.json", "--format", "github")
    assert code == 1
    lines = out.splitlines()
    text = (workdir / "infra" / "stack.template.json").read_text().splitlines()
    [error] = [line for line in lines if "title=MNP011" in line]
    assert error.startswith("::error file=infra/stack.template.json,line=")
    fields = dict(part.split("=", 1) for part in error.split("::")[1].split(" ", 1)[1].split(","))
    assert text[int(fields["line"]) - 1][int(fields["col"]) - 1 :].startswith('"MainNode"')
    assert fields["title"] == "MNP011 JobDefinition"
    assert "Fix: " in error.split("::", 2)[2]
    assert any(line.startswith("::warning ") and "title=MNP106 ComputeEnvironment" in line for line in lines)
    assert lines[-1].startswith("mnp lint FAILED")
    assert all(line.startswith("::") for line in lines[:-1])


def test_github_escapes_what_would_forge_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    template = mnp_environment()
    props(template, "ComputeEnvironment")["Type"] = "UNMANAGED"
    resources(template)["ComputeEnvironment"]["Metadata"]["aws:cdk:path"] = "Stack/Ce\n::error file=x::forged %0A"
    path = tmp_path / "t.template.json"
    path.write_text(json.dumps(template))
    _, out = _run(capsys, str(path), "--format", "github")
    annotations = [line for line in out.splitlines() if line.startswith("::")]
    assert not any(line.startswith("::error file=x") for line in annotations)
    [mnp001] = [line for line in annotations if "title=MNP001" in line]
    assert "Stack/Ce\\n::error file=x::forged %250A" in mnp001


def test_sarif_template_outside_the_working_directory_is_an_absolute_uri(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    template = mnp_environment()
    props(template, "ComputeEnvironment")["Type"] = "UNMANAGED"
    (tmp_path / "other.template.json").write_text(json.dumps(template))
    _, out = _run(capsys, "../other.template.json", "--format", "sarif")
    log = json.loads(out)
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    [result] = log["runs"][0]["results"]
    artifact = result["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact == {"uri": (tmp_path / "other.template.json").resolve().as_uri()}
