"""The cfn-lint rule module with the pinned cfn-lint: `cfn-lint TEMPLATE -a mnp_toolkit.lint.cfn_lint`.

cfn-lint's own location logic (it places a match by its path in the decoded template) is an independent
oracle for the loader's line and column: both must name the same place for every finding.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mnp_toolkit.cli.main import main
from mnp_toolkit.lint.packs import mnp_pack
from tests.helpers.templates import mnp_environment, props, resources

REPO = Path(__file__).resolve().parents[3]
MODULE = "mnp_toolkit.lint.cfn_lint"
CFN_LINT = Path(sys.executable).with_name("cfn-lint")  # the pinned cfn-lint's console script in this venv


def cfn_lint(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    return subprocess.run(
        [str(CFN_LINT), *args, "-a", MODULE, "--format", "parseable"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _mnp_matches(output: str) -> list[tuple[int, int, str, str]]:
    """(line, column, cfn-lint ID, message) of the pack's matches in cfn-lint's parseable output."""
    found = []
    for line in output.splitlines():
        # file:line:column:end line:end column:ID:message
        parts = line.split(":", 6)
        if len(parts) == 7 and parts[5][1:2] == "9":
            found.append((int(parts[1]), int(parts[2]), parts[5], parts[6]))
    return found


def _failing() -> dict[str, object]:
    template = mnp_environment()
    props(template, "ComputeEnvironment")["Type"] = "UNMANAGED"  # MNP001 error
    props(template, "JobDefinition")["NodeProperties"]["MainNode"] = 9  # MNP011 error
    del props(template, "JobQueue")["JobStateTimeLimitActions"]  # MNP105 warning
    return template


@pytest.mark.parametrize("kind", ["json", "yaml"])
def test_failing_template_reports_mnp_rules_at_the_same_places(tmp_path: Path, kind: str) -> None:
    import yaml

    template = _failing()
    path = tmp_path / f"stack.template.{kind}"

    class NoAliases(yaml.SafeDumper):
        def ignore_aliases(self, data: object) -> bool:
            return True

    path.write_text(json.dumps(template, indent=1) if kind == "json" else yaml.dump(template, Dumper=NoAliases))
    result = cfn_lint(str(path))
    matches = _mnp_matches(result.stdout)
    assert {match[2] for match in matches} == {"E9001", "E9011", "W9105"}, result.stdout + result.stderr
    assert all(message.startswith(("MNP001 ", "MNP011 ", "MNP105 ")) and "Fix: " in message for *_, message in matches)
    assert result.returncode & 2 and result.returncode & 4  # cfn-lint's bits: errors and warnings found
    # The same places as mnp lint's own (E9011 is MNP011).
    positions = {(f"MNP{match[2][2:]}", match[0], match[1]) for match in matches}
    assert len(positions) == 3
    assert positions == _mnp_positions(path)


def _mnp_positions(path: Path) -> set[tuple[str, int, int]]:
    import io
    from contextlib import redirect_stdout

    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["lint", str(path), "--format", "json"]) == 1
    return {
        (f["rule"], f["location"]["line"], f["location"]["column"])
        for f in json.loads(out.getvalue())["findings"]
        if f["level"] != "info"
    }


def test_clean_template_has_no_mnp_matches(tmp_path: Path) -> None:
    path = tmp_path / "clean.template.json"
    path.write_text(json.dumps(mnp_environment(), indent=1))
    result = cfn_lint(str(path))
    assert "Traceback" not in result.stderr, result.stderr
    assert _mnp_matches(result.stdout) == []


def test_acknowledged_findings_are_not_reported(tmp_path: Path) -> None:
    template = mnp_environment()
    props(template, "ComputeEnvironment")["Type"] = "UNMANAGED"
    resources(template)["ComputeEnvironment"]["Metadata"]["mnp:acknowledge"] = [
        {"id": "MNP001", "reason": "migrating to managed next sprint"}
    ]
    path = tmp_path / "acked.template.json"
    path.write_text(json.dumps(template, indent=1))
    assert _mnp_matches(cfn_lint(str(path)).stdout) == []


def test_one_class_per_rule_with_cfn_lint_levels() -> None:
    from cfnlint.rules import Rules

    rules = Rules.create_from_module(MODULE)
    ids = set(rules.data) if hasattr(rules, "data") else {rule.id for rule in rules}
    expected = {f"{'E' if r.level.value == 'error' else 'W'}9{r.id[3:]}" for r in mnp_pack().rules}
    assert expected | {"E9000", "I9999"} == ids
    severities = {rules[rule_id].severity for rule_id in ids}
    assert severities == {"error", "warning", "informational"}
    # cfn-lint's own rules leave the 9xxx range free.
    builtin = Rules.create_from_directory(str(Path(__import__("cfnlint").__file__).parent / "rules"))
    assert not {rule_id for rule_id in builtin.data if rule_id[1:2] == "9"}


def test_the_documented_commands_are_the_tested_ones() -> None:
    """README and docs/rule-pack.md give the command these tests run, and a workflow that uploads SARIF."""
    import re

    import yaml

    readme = (REPO / "README.md").read_text()
    guide = (REPO / "docs" / "rule-pack.md").read_text()
    assert f"-a {MODULE}" in readme
    assert f"cfn-lint template.yaml -a {MODULE}" in guide
    [workflow] = re.findall(r"```yaml\n(# \.github/workflows/mnp-lint\.yml\n.*?)```", guide, re.S)
    steps = yaml.safe_load(workflow)["jobs"]["lint"]["steps"]
    runs = " ".join(step.get("run", "") for step in steps)
    assert "mnp lint cdk.out --format github" in runs and "--format sarif" in runs
    assert any(step.get("uses", "").startswith("github/codeql-action/upload-sarif") for step in steps)
