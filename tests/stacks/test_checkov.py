"""checkov (pinned in requirements-checkov.lock, installed by `make setup` into .venv/checkov) on every
shipped config's synthesized template: no failed check, and every suppression sits on its resource
(``Metadata.checkov.skip``) with a specific reason. A config with a customer managed key needs no log-group
suppression at all.

checkov runs as a subprocess of its own virtualenv (it pins boto3==1.35.49, which this project's boto3
conflicts with), offline (``--skip-download``: no guideline mapping fetched from Prisma Cloud).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT, SHIPPED_CONFIGS, synthesize_config
from tests.helpers.cdk_app import cdk_app

pytestmark = pytest.mark.synth

CHECKOV = REPO_ROOT / ".venv" / "checkov" / "bin" / "checkov"
#: Every config the repository ships: config/*.yaml and the worked examples under config/examples/.
CONFIGS = [*SHIPPED_CONFIGS, *sorted(f"examples/{p.name}" for p in (REPO_ROOT / "config" / "examples").glob("*.yaml"))]
#: A reason must say why, not just that: the generic texts checkov itself fills in are refused.
MIN_REASON_LENGTH = 40


def run_checkov(template_path: Path) -> dict[str, Any]:
    assert CHECKOV.exists(), f"{CHECKOV} is missing: run `make setup` (it installs requirements-checkov.lock there)"
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    result = subprocess.run(
        [
            str(CHECKOV),
            "--file",
            str(template_path),
            "--framework",
            "cloudformation",
            "--output",
            "json",
            "--compact",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    # checkov exits 1 when a check failed; anything else but 0 is a crash.
    assert result.returncode in (0, 1), result.stderr[-2000:]
    report = json.loads(result.stdout)
    (single,) = report if isinstance(report, list) else [report]
    assert isinstance(single, dict)
    return single


def _failed(report: dict[str, Any]) -> list[tuple[str, str]]:
    return [(check["check_id"], check["resource"]) for check in report["results"]["failed_checks"]]


@pytest.mark.parametrize("config_name", CONFIGS)
def test_checkov_finds_nothing_unexplained_in_the_shipped_config(config_name: str) -> None:
    synthesized = synthesize_config(config_name)

    report = run_checkov(synthesized.template_path)

    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 0  # checkov really looked at the resources
    assert _failed(report) == []
    for skipped in report["results"]["skipped_checks"]:
        reason = skipped["check_result"].get("suppress_comment", "")
        assert len(reason) >= MIN_REASON_LENGTH, (skipped["check_id"], skipped["resource"], reason)
        # the suppression sits on the very resource, in its template metadata
        logical_id = skipped["resource"].split(".", 1)[1]
        resource = synthesized.template["Resources"][logical_id]
        ids = [skip["id"] for skip in resource["Metadata"]["checkov"]["skip"]]
        assert skipped["check_id"] in ids


def test_checkov_fails_an_unencrypted_log_group_without_a_reason(tmp_path: Path) -> None:
    """The test can fail: a template with a bare log group is reported (CKV_AWS_158 and its retention)."""
    template = {"Resources": {"Bare": {"Type": "AWS::Logs::LogGroup", "Properties": {}}}}
    path = tmp_path / "bare.template.json"
    path.write_text(json.dumps(template))

    failed = {check_id for check_id, _ in _failed(run_checkov(path))}

    assert {"CKV_AWS_158", "CKV_AWS_66"} <= failed


def test_with_a_customer_managed_key_the_log_groups_need_no_suppression(tmp_path: Path) -> None:
    from mnp_toolkit.config.load import load_config
    from stacks.app_builder import build_environment_stack

    config = load_config(REPO_ROOT / "config" / "default.yaml")
    data = copy.deepcopy(config.model_dump(mode="json", exclude_defaults=True))
    data["security"] = {"kms_key": "create"}
    app = cdk_app(outdir=str(tmp_path / "cdk.out"))
    stack = build_environment_stack(app, type(config).model_validate(data))
    assembly = app.synth()
    template_path = Path(assembly.directory) / assembly.get_stack_artifact(stack.artifact_id).template_file

    report = run_checkov(template_path)

    assert _failed(report) == []
    assert [s for s in report["results"]["skipped_checks"] if s["check_id"] == "CKV_AWS_158"] == []
    passed = {check["check_id"] for check in report["results"]["passed_checks"]}
    assert "CKV_AWS_158" in passed
