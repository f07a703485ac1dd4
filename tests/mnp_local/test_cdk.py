"""Running the CDK CLI: a missing CLI is one clear error with the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from mnp_local.cdk import CdkError, _without_node_banners, cdk_executable


def test_missing_cli_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(CdkError, match=r"run `npm ci` in .*package.json pins aws-cdk"):
        cdk_executable(project_dir=tmp_path)


def test_node_banners_are_dropped_from_cli_output() -> None:
    output = "b'!!  Node 20 is end-of-life  !!\\n'\n(node:1) Warning: NodeVersionSupportWarning: x\n✅  MnpEnvironment"
    assert _without_node_banners(output) == "✅  MnpEnvironment"
