"""A config that names its account and its Availability Zones synthesizes with no context lookup, as
docs/config.md promises (`network.availability_zones`: "Set this when `env` names an account, to avoid a
context lookup"): `cdk synth` with no AWS credentials must not need one. ec2.Vpc reads the stack's AZs to
check the given ones against them, which for a stack with a concrete account is a lookup unless the stack
answers from the config (MnpEnvironmentStack.availability_zones). One synth for the module."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cdk_app import cdk_app

ZONES = ["us-west-2b", "us-west-2c"]


def _config(network: dict[str, Any]) -> dict[str, Any]:
    return {
        "env": {"account": "111122223333", "region": "us-west-2"},
        "network": network,
        "compute_environments": [{"name": "mpi", "instance_types": ["c5n.18xlarge"]}],
        "job_queues": [{"name": "mpi", "compute_environments": ["mpi"]}],
        "job_definitions": [
            {"name": "j", "queue": "mpi", "image": "img", "instance_type": "c5n.18xlarge", "num_nodes": 2}
        ],
    }


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    from mnp_toolkit.config.load import parse_config
    from stacks.app_builder import add_policy_checks, build_environment_stack

    outdir = tmp_path_factory.mktemp("zones")
    app = cdk_app(outdir=str(outdir))
    stack = build_environment_stack(app, parse_config(_config({"availability_zones": ZONES})))
    add_policy_checks(app)
    app.synth()
    return stack, outdir


def test_named_zones_need_no_lookup_with_an_account(synthesized: tuple[Any, Path]) -> None:
    stack, outdir = synthesized
    manifest = json.loads((outdir / "manifest.json").read_text())
    assert manifest.get("missing") is None, manifest["missing"]
    assert stack.availability_zones == ZONES
    template = json.loads((outdir / f"{stack.artifact_id}.template.json").read_text())
    subnets = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::EC2::Subnet"]
    assert sorted({s["AvailabilityZone"] for s in subnets}) == ZONES
    (environment,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::Batch::ComputeEnvironment"]
    compute = environment["Properties"]["ComputeResources"]["Subnets"]
    by_id = {key: r["Properties"] for key, r in template["Resources"].items() if r["Type"] == "AWS::EC2::Subnet"}
    assert {by_id[ref["Ref"]]["AvailabilityZone"] for ref in compute} == {"us-west-2b"}  # the first one


def test_named_zones_are_acknowledged_for_w3010_not_warned_about(synthesized: tuple[Any, Path]) -> None:
    _, outdir = synthesized
    report = json.loads((outdir / "validation-report.json").read_text())
    (validate,) = [p for p in report["pluginReports"] if p["pluginName"] == "CloudFormation Validate"]
    assert [v["ruleName"] for v in validate["violations"]] == []
    assert {v["ruleName"] for v in validate["suppressedViolations"]} == {"W3010"}


def test_without_named_zones_the_cdk_still_looks_them_up(tmp_path: Path) -> None:
    """The override answers only from the config: max_azs with an account is the CDK's lookup, as before."""
    from mnp_toolkit.config.load import parse_config
    from stacks.app_builder import build_environment_stack

    app = cdk_app(outdir=str(tmp_path))
    build_environment_stack(app, parse_config(_config({"max_azs": 3})))
    app.synth()
    missing = json.loads((tmp_path / "manifest.json").read_text())["missing"]
    assert [entry["provider"] for entry in missing] == ["availability-zones"]
