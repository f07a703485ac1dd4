"""scripts/regions_refresh.py: the vendored Region list is botocore's, and the config reads it without boto3."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import botocore.session

from mnp_toolkit.core import regions
from scripts.regions_refresh import DEFAULT_OUTPUT, botocore_partitions, main, render


def test_the_vendored_list_equals_the_pinned_botocore_s() -> None:
    """Backend: the installed botocore's endpoint data, read here with botocore's own partition API."""
    session = botocore.session.get_session()
    vendored = json.loads(DEFAULT_OUTPUT.read_text())["partitions"]
    assert sorted(vendored) == sorted(session.get_available_partitions())
    endpoints = session.get_data("endpoints")
    for partition in endpoints["partitions"]:
        assert vendored[partition["partition"]] == sorted(partition["regions"]), partition["partition"]
    assert DEFAULT_OUTPUT.read_text() == render(botocore_partitions()), "run python -m scripts.regions_refresh"


def test_every_region_botocore_knows_for_batch_is_a_region() -> None:
    session = botocore.session.get_session()
    for partition in session.get_available_partitions():
        for region in session.get_available_regions("batch", partition_name=partition):
            assert regions.is_region(region) and regions.partition_of(region) == partition


def test_check_mode_reports_a_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / "regions.json"
    stale.write_text('{"partitions": {"aws": ["us-east-1"]}}\n')
    assert main(["--check", "--output", str(stale)]) == 1
    assert main(["--output", str(stale)]) == 0
    assert main(["--check", "--output", str(stale)]) == 0


def test_the_config_checks_regions_without_boto3_or_botocore() -> None:
    """A lint-only install has neither: importing the config and checking a Region must not load them."""
    code = (
        "import sys\n"
        "sys.modules['boto3'] = None\n"
        "sys.modules['botocore'] = None\n"
        "from mnp_toolkit.config.model import Environment\n"
        "assert Environment(region='eu-west-1').region == 'eu-west-1'\n"
        "try:\n"
        "    Environment(region='eu-west-9')\n"
        "except Exception as error:\n"
        "    assert 'not an AWS Region name' in str(error)\n"
        "else:\n"
        "    raise SystemExit('eu-west-9 accepted')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_close_names_are_suggested() -> None:
    assert set(regions.close_regions("us-east-9")) >= {"us-east-1", "us-east-2"}
    assert regions.partition_of("cn-north-1") == "aws-cn" and regions.partition_of("mars-1") is None
