"""`mnp lint` and `mnp rules`: exit codes, text and JSON output, input errors, start-up imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mnp_toolkit.cli.main import main
from mnp_toolkit.lint.packs import mnp_pack
from tests.helpers.templates import mnp_environment, props, resources

REPO = Path(__file__).resolve().parents[3]


def write(tmp_path: Path, template: Any, name: str = "stack.template.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(template))
    return str(path)


def unmanaged() -> dict[str, Any]:
    template = mnp_environment()
    props(template, "ComputeEnvironment")["Type"] = "UNMANAGED"
    return template


def lint(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["lint", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_compliant_template_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = lint(capsys, write(tmp_path, mnp_environment()))
    assert code == 0
    assert "mnp lint passed: 1 template checked, 0 errors, 0 warnings" in out
    assert "ERROR" not in out


def test_error_exits_1_with_rule_resource_path_message_and_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, unmanaged())
    code, out, _ = lint(capsys, path)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == path
    block = lines.index("  ERROR MNP001 ComputeEnvironment (MnpStack/ComputeEnvironment/Resource)")
    assert lines[block + 1].startswith(f"    at {path}:1:")
    assert lines[block + 1].endswith(" (Resources/ComputeEnvironment/Properties/Type)")
    assert "UNMANAGED" in lines[block + 2]
    assert lines[block + 3].startswith("    fix: Set Type: MANAGED")
    assert "mnp lint FAILED" in lines[-1] and "1 error" in lines[-1]


def test_warning_exits_0_unless_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    template = mnp_environment()
    props(template, "ComputeEnvironment")["ComputeResources"]["MinvCpus"] = 72  # MNP106
    path = write(tmp_path, template)
    code, out, _ = lint(capsys, path)
    assert code == 0
    assert "  WARNING MNP106 ComputeEnvironment" in out
    code, out, _ = lint(capsys, path, "--strict")
    assert code == 1
    assert "FAILED (--strict: warnings fail)" in out


def test_acknowledged_error_is_listed_with_reason_and_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = unmanaged()
    resources(template)["ComputeEnvironment"]["Metadata"]["mnp:acknowledge"] = [
        {"id": "MNP001", "reason": "migrating to managed next sprint"}
    ]
    path = write(tmp_path, template)
    code, out, _ = lint(capsys, path)
    assert code == 0
    assert "  ACKNOWLEDGED MNP001 ComputeEnvironment (MnpStack/ComputeEnvironment/Resource) [error]" in out
    assert "    reason: migrating to managed next sprint" in out
    code, out, _ = lint(capsys, path, "--format", "json")
    document = json.loads(out)
    assert document["summary"]["acknowledged"] == 1 and document["summary"]["errors"] == 0
    [finding] = [f for f in document["findings"] if f["rule"] == "MNP001"]
    assert finding["acknowledged"] == "migrating to managed next sprint"


def test_json_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, unmanaged())
    code, out, _ = lint(capsys, path, "--format", "json")
    assert code == 1
    document = json.loads(out)
    assert set(document) == {"findings", "summary"}
    assert {"errors", "warnings", "acknowledged"} <= set(document["summary"])
    assert document["summary"]["errors"] == sum(f["level"] == "error" for f in document["findings"]) == 1
    [finding] = document["findings"]
    assert {"rule", "level", "template", "resource", "message", "fix", "path", "acknowledged", "location"} == set(
        finding
    )
    assert finding["location"]["path"] == "Resources/ComputeEnvironment/Properties/Type"
    assert finding["location"]["line"] == 1 and finding["location"]["column"] > 1
    assert (finding["rule"], finding["level"], finding["template"], finding["resource"]) == (
        "MNP001",
        "error",
        path,
        "ComputeEnvironment",
    )


def test_info_findings_hidden_unless_verbose(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    template = mnp_environment()
    props(template, "ComputeEnvironment")["Type"] = {"Fn::ImportValue": "SharedCeType"}
    path = write(tmp_path, template)
    code, out, _ = lint(capsys, path)
    assert code == 0
    assert "INFO" not in out and "hidden (could not verify; --verbose shows them)" in out
    code, out, _ = lint(capsys, path, "--verbose")
    assert code == 0
    assert "  INFO MNP001 ComputeEnvironment" in out


def test_template_with_empty_resources_is_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = lint(capsys, write(tmp_path, {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {}}))
    assert code == 0
    assert "0 errors, 0 warnings" in out


def test_mapping_without_resources_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = lint(capsys, write(tmp_path, {"AWSTemplateFormatVersion": "2010-09-09"}, "config.json"))
    assert (code, out) == (2, "")
    assert "not a CloudFormation template: no 'Resources' section" in err and err.count("\n") == 1


def test_findings_grouped_by_template(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write(tmp_path, unmanaged(), "bad.template.json")
    good = write(tmp_path, mnp_environment(), "good.template.json")
    code, out, _ = lint(capsys, good, bad)
    assert code == 1
    assert bad in out.splitlines() and good not in out  # templates without findings stay quiet
    assert "2 templates checked" in out


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("missing.json", None, "no such file or directory"),
        ("broken.json", '{"Resources": ', "invalid JSON"),
        ("broken.yaml", "Resources:\n  - [", "invalid YAML"),
        ("list.json", "[]", "not a CloudFormation template"),
    ],
)
def test_unreadable_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: str | None, problem: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    good = write(tmp_path, unmanaged())
    code, out, err = lint(capsys, good, str(path))
    assert code == 2
    assert out == ""  # nothing is linted when an input is unreadable
    assert err.count("\n") == 1 and err.startswith(f"mnp lint: {path}: ") and problem in err


def test_empty_directory_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = lint(capsys, str(tmp_path))
    assert code == 2
    assert "no CloudFormation templates found" in err


def test_cdk_out_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "cdk.out"
    out_dir.mkdir()
    write(out_dir, unmanaged(), "MnpStack.template.json")
    (out_dir / "manifest.json").write_text(
        json.dumps(
            {
                "version": "55.0.0",
                "artifacts": {
                    "MnpStack": {
                        "type": "aws:cloudformation:stack",
                        "properties": {"templateFile": "MnpStack.template.json"},
                    }
                },
            }
        )
    )
    code, out, _ = lint(capsys, str(out_dir))
    assert code == 1
    assert str(out_dir / "MnpStack.template.json") in out.splitlines()


def test_rules_json_lists_the_pack(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [rule["id"] for rule in document["rules"]] == list(mnp_pack())
    assert all(rule["fix"] and rule["explanation"] and rule["source"] for rule in document["rules"])


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}


def test_lint_imports_neither_aws_cdk_nor_boto3(tmp_path: Path) -> None:
    """Start-up cost and portability: lint must run where the CDK is not installed."""
    path = write(tmp_path, unmanaged())
    script = (
        "import sys\n"
        "from mnp_toolkit.cli import main\n"
        f"code = main(['lint', {path!r}, '--format', 'json'])\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'aws_cdk', 'boto3', 'botocore', 'jsii'})\n"
        "print('HEAVY', heavy, 'CODE', code, file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, env=_clean_env(), check=False
    )
    assert "HEAVY [] CODE 1" in result.stderr, result.stderr


def test_python_m_entry_point_exit_codes(tmp_path: Path) -> None:
    bad = write(tmp_path, unmanaged())
    run = [sys.executable, "-m", "mnp_toolkit", "lint"]
    failed = subprocess.run([*run, bad], cwd=REPO, capture_output=True, text=True, check=False)
    missing = subprocess.run([*run, str(tmp_path / "nope.json")], cwd=REPO, capture_output=True, text=True, check=False)
    assert failed.returncode == 1 and "ERROR MNP001" in failed.stdout
    assert missing.returncode == 2
    assert "Traceback" not in missing.stderr and "nope.json: no such file or directory" in missing.stderr


def test_pre_commit_hook_definition() -> None:
    import re

    import yaml

    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    [hook] = [h for h in hooks if h["id"] == "mnp-lint"]
    assert (hook["entry"], hook["language"]) == ("mnp lint", "python")
    files, exclude = re.compile(hook["files"]), re.compile(hook["exclude"])

    def selected(path: str) -> bool:
        return bool(files.search(path)) and not exclude.search(path)

    assert selected("infra/MnpStack.template.json") and selected("templates/batch.yaml")
    assert selected("cfn/queue.yml")
    assert not selected("package.json") and not selected("config/settings.yaml")
    assert not selected("cdk.out/MnpStack.template.json")  # generated; lint the app's cdk.out in CI instead
