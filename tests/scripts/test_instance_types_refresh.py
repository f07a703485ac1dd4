"""instance_types_refresh: DescribeInstanceTypes -> data/instance_types.json.

Backend: moto (``mock_aws``), which serves DescribeInstanceTypes from its own copy of the EC2 catalog;
the expected values below are AWS's published specs for those types, which moto's data matches.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from scripts.instance_types_refresh import DEFAULT_OUTPUT, FIELDS, all_regions, collect, facts_of, main, render

REGION = "us-east-1"


@pytest.fixture(scope="module")
def aws() -> Iterator[None]:
    """Dummy credentials and moto, once per module (moto answers DescribeInstanceTypes in seconds)."""
    with pytest.MonkeyPatch.context() as patch:
        for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION"):
            patch.delenv(key, raising=False)
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_DEFAULT_REGION", REGION)
        with mock_aws():
            yield


@pytest.fixture(scope="module")
def full_table(aws: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One full refresh of us-east-1 (every type moto knows)."""
    output = tmp_path_factory.mktemp("refresh") / "types.json"
    assert main(["--region", REGION, "--output", str(output)]) == 0
    return output


def rows(path: Path) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in json.loads(path.read_text())["instance_types"]}


def test_known_types_come_out_right(full_table: Path) -> None:
    output = full_table
    table = rows(output)
    assert table["c5n.18xlarge"] == {
        "name": "c5n.18xlarge",
        "vcpus": 72,
        "memory_mib": 196608,
        "architecture": "x86_64",
        "gpus": 0,
        "efa_supported": True,
        "max_efa_interfaces": 1,
        "network_cards": 1,
    }
    p4d = table["p4d.24xlarge"]
    assert (p4d["vcpus"], p4d["gpus"], p4d["efa_supported"], p4d["max_efa_interfaces"], p4d["network_cards"]) == (
        96,
        8,
        True,
        4,
        4,
    )
    assert table["m7g.large"]["architecture"] == "arm64" and table["m7g.large"]["efa_supported"] is False
    assert table["t2.micro"]["architecture"] == "x86_64"  # i386 + x86_64
    assert not any(name.startswith("mac") for name in table)  # x86_64_mac / arm64_mac are skipped
    assert list(next(iter(table.values()))) == list(FIELDS)
    document = json.loads(output.read_text())
    assert document["source"].startswith(f"EC2 DescribeInstanceTypes ({REGION}) on ")
    assert list(table) == sorted(table)


def test_only_listed_keeps_a_curated_subset(aws: None, tmp_path: Path) -> None:
    output = tmp_path / "types.json"
    output.write_text(DEFAULT_OUTPUT.read_text())
    before = set(rows(output))
    assert main(["--region", REGION, "--output", str(output), "--only-listed"]) == 0
    after = set(rows(output))
    assert after <= before and "c5n.18xlarge" in after
    assert json.loads(output.read_text())["_comment"] == json.loads(DEFAULT_OUTPUT.read_text())["_comment"]


def test_all_regions_lists_every_region(aws: None) -> None:
    regions = all_regions(boto3.Session(), REGION)
    assert {"us-east-1", "eu-west-1", "ap-southeast-2"} <= set(regions)


def test_collect_unions_regions_first_wins(aws: None) -> None:
    clients = [boto3.client("ec2", region_name=region) for region in ("us-east-1", "eu-west-1")]
    table = collect(clients, only={"c5n.18xlarge", "m7g.large", "no-such.type"})
    assert [row["name"] for row in table] == ["c5n.18xlarge", "m7g.large"]


@pytest.mark.parametrize(
    ("architectures", "expected"),
    [
        (["i386"], None),
        (["x86_64_mac"], None),
        (["arm64_mac"], None),
        (["i386", "x86_64"], "x86_64"),
        (["arm64"], "arm64"),
    ],
)
def test_architecture_mapping(architectures: list[str], expected: str | None) -> None:
    info = {
        "InstanceType": "x1.large",
        "VCpuInfo": {"DefaultVCpus": 2},
        "MemoryInfo": {"SizeInMiB": 4096},
        "ProcessorInfo": {"SupportedArchitectures": architectures},
    }
    row = facts_of(info)
    assert (row["architecture"] if row else None) == expected


def test_gpus_are_summed_over_gpu_kinds() -> None:
    info = {
        "InstanceType": "g9.large",
        "VCpuInfo": {"DefaultVCpus": 8},
        "MemoryInfo": {"SizeInMiB": 32768},
        "ProcessorInfo": {"SupportedArchitectures": ["x86_64"]},
        "GpuInfo": {"Gpus": [{"Count": 2}, {"Count": 1}]},
        "NetworkInfo": {"EfaSupported": False, "MaximumNetworkCards": 2},
    }
    row = facts_of(info)
    assert row is not None and (row["gpus"], row["max_efa_interfaces"], row["network_cards"]) == (3, 0, 2)


def test_render_keeps_the_shipped_layout() -> None:
    shipped_text = DEFAULT_OUTPUT.read_text()
    shipped = json.loads(shipped_text)
    assert render(shipped["instance_types"], comment=shipped["_comment"], source=shipped["source"]) == shipped_text


def test_no_region_is_a_one_line_error(
    aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    assert main(["--output", "/tmp/unused.json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no region" in err
