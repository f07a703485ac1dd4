"""A lint-only install keeps its promise: `pip install` of the project with no extras gives a working
`mnp lint`/`mnp rules`, pulls neither aws-cdk-lib nor boto3, and the AWS commands name the extra to add.

This installs the project from this checkout into a fresh virtual environment (pip resolves the base
dependencies from the package index, as a user's install does): about 30 s.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.install


@pytest.fixture(scope="module")
def lint_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lint-only")
    source = root / "src"
    # A copy of the tracked files only: what a clone has, without this checkout's build leftovers.
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    env_dir = root / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(source)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return env_dir


def _installed(env_dir: Path) -> set[str]:
    listing = subprocess.run(
        [str(env_dir / "bin" / "python"), "-m", "pip", "list", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {package["name"].lower() for package in json.loads(listing)}


def test_base_install_pulls_neither_the_cdk_nor_boto3(lint_only: Path) -> None:
    installed = _installed(lint_only)
    assert "mnp-batch-toolkit" in installed
    assert not installed & {"aws-cdk-lib", "constructs", "jsii", "boto3", "botocore", "moto", "cdk-nag"}


def test_lint_and_rules_work_without_extras(lint_only: Path, tmp_path: Path) -> None:
    template = tmp_path / "t.json"
    template.write_text(
        json.dumps({"Resources": {"Jd": {"Type": "AWS::Batch::JobDefinition", "Properties": {"Type": "multinode"}}}})
    )
    mnp = lint_only / "bin" / "mnp"
    lint = subprocess.run([str(mnp), "lint", str(template)], capture_output=True, text=True, check=False)
    assert lint.returncode == 1 and "MNP008" in lint.stdout, lint.stdout + lint.stderr
    rules = subprocess.run([str(mnp), "rules", "--format", "json"], capture_output=True, text=True, check=False)
    assert rules.returncode == 0 and len(json.loads(rules.stdout)["rules"]) >= 35


def test_aws_commands_name_the_extra_to_install(lint_only: Path) -> None:
    status = subprocess.run(
        [str(lint_only / "bin" / "mnp"), "status", "job-1"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1"},
    )
    assert status.returncode == 2
    (line,) = status.stderr.strip().splitlines()
    assert line.startswith("mnp status: needs ") and line.endswith("pip install 'mnp-batch-toolkit[aws]'"), line
