"""mnp_runtime is installed into arbitrary job images: it must run on Python 3.9 (standard library only).

Skipped where no Python 3.9 interpreter is found; set MNP_RUNTIME_PYTHON39 to point at one.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.mnp_runtime.nodes import Cluster, node_env, run_cli
from tests.mnp_runtime.test_rendezvous_hostile import run_hostile_rendezvous


def _find_python39() -> str | None:
    candidates = [os.environ.get("MNP_RUNTIME_PYTHON39"), shutil.which("python3.9")]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.9*/bin/python3.9")))
    for candidate in candidates:
        if not candidate:
            continue
        try:
            probe = subprocess.run(
                [candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 9))"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except OSError:
            continue
        if probe.stdout.strip() == "True":
            return candidate
    return None


PYTHON39 = _find_python39()
pytestmark = pytest.mark.skipif(PYTHON39 is None, reason="no Python 3.9 interpreter found (set MNP_RUNTIME_PYTHON39)")


def test_rendezvous_runs_on_python_39(tmp_path: Path) -> None:
    assert PYTHON39 is not None
    cluster = Cluster(tmp_path, num_nodes=3, main_index=1, python=PYTHON39)
    try:
        nodes = [cluster.start(i) for i in (2, 0, 1)]
        assert [n.wait() for n in nodes] == [0, 0, 0], [n.stderr for n in nodes]
    finally:
        cluster.kill_all()
    assert {n.hostfile.read_text() for n in nodes} == {cluster.expected_hostfile()}


def test_env_and_errors_on_python_39() -> None:
    assert PYTHON39 is not None
    ok = run_cli(["env"], node_env(index=1, num_nodes=2, main_address="10.0.0.1"), python=PYTHON39)
    assert ok.returncode == 0, ok.stderr
    assert "MNP_NODE_RANK=1" in ok.stdout.splitlines()
    bad = run_cli(["env"], node_env(index="x", num_nodes=2), python=PYTHON39)
    assert bad.returncode == 2
    assert bad.stderr.startswith("mnp-node: error: AWS_BATCH_JOB_NODE_INDEX is 'x'")


def test_hostile_rendezvous_on_python_39(tmp_path: Path) -> None:
    """Garbage peers, an idle flood and oversized lines: the bounds hold on 3.9's json and selectors too."""
    assert PYTHON39 is not None
    cluster = Cluster(tmp_path, num_nodes=6, python=PYTHON39)
    try:
        run_hostile_rendezvous(cluster)
    finally:
        cluster.kill_all()
