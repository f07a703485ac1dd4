"""ruff (lint + format) and mypy over the whole tree, so `make test` (and CI) keeps the quality gates
too; `make lint` runs the same tools by hand. A cold mypy takes about a minute (aws-cdk-lib's stubs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
RUFF = Path(sys.executable).with_name("ruff")
MYPY = Path(sys.executable).with_name("mypy")


@pytest.mark.skipif(not RUFF.exists(), reason="ruff is installed by `make setup` (requirements-dev.txt)")
@pytest.mark.parametrize("arguments", [["check", "."], ["format", "--check", "."]], ids=["check", "format"])
def test_ruff_is_clean(arguments: list[str]) -> None:
    result = subprocess.run([str(RUFF), *arguments], cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


@pytest.mark.skipif(not MYPY.exists(), reason="mypy is installed by `make setup` (requirements-dev.txt)")
def test_mypy_is_clean() -> None:
    result = subprocess.run([str(MYPY)], cwd=REPO, capture_output=True, text=True, check=False, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
