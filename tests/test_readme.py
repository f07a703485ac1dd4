"""The README's promises: its first lines are the two commands, and its construct example runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()


def test_first_commands_are_make_deploy_local_and_make_test() -> None:
    commands = re.findall(r"^(make \S+)", README.split("```bash", 1)[1].split("```", 1)[0], re.M)
    assert commands[:2] == ["make deploy-local", "make test"]
    makefile = (REPO / "Makefile").read_text()
    for target in ("synth", "test", "setup", "deploy-local"):
        assert re.search(rf"^{target}:", makefile, re.M), target
    assert "make test" in (REPO / ".ci" / "run").read_text()


@pytest.mark.synth
def test_constructs_example_synthesizes_with_the_pack(tmp_path: Path) -> None:
    example = re.search(r"## Using the constructs in your own CDK app\n\n```python\n(.*?)```", README, re.S)
    assert example is not None
    script = tmp_path / "example_app.py"
    script.write_text(example.group(1))
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO), "CDK_OUTDIR": str(tmp_path / "out")},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert list((tmp_path / "out").glob("*.template.json")), "the example wrote no template"
