"""The README says how to run its constructs example: `cdk synth --app "python app.py"`. Run exactly that
with the pinned CDK CLI (node_modules), in a directory with no cdk.json, as a new user would."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()
CDK = REPO / "node_modules" / ".bin" / "cdk"


@pytest.mark.synth
@pytest.mark.skipif(not CDK.exists(), reason="the pinned CDK CLI is installed by `make setup` (node_modules)")
def test_the_readme_command_synthesizes_the_example(tmp_path: Path) -> None:
    section = README.split("## Using the constructs in your own CDK app", 1)[1].split("\n## ", 1)[0]
    example = re.search(r"```python\n(.*?)```", section, re.S)
    command = re.search(r'^(cdk synth --app "python app\.py")', section, re.M)
    assert example is not None and command is not None, "the README section lost its example or its command"
    (tmp_path / "app.py").write_text(example.group(1))
    argv = shlex.split(command.group(1))
    # "python" is whatever Python has the toolkit installed: here, the one running the tests.
    argv[argv.index("--app") + 1] = f"{sys.executable} app.py"
    result = subprocess.run(
        [str(CDK), *argv[1:], "--no-notices", "--no-version-reporting", "-o", "out", "--quiet"],
        cwd=tmp_path,
        env={
            **os.environ,
            "PYTHONPATH": str(REPO),
            "CDK_DISABLE_VERSION_CHECK": "1",
            "CDK_DISABLE_CLI_TELEMETRY": "true",
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        },
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert list((tmp_path / "out").glob("*.template.json")), "cdk synth wrote no template"
