"""`mnp audit` of what the real CDK CLI deployed into the emulated AWS (mnp_local), as `make deploy-local` can.

Backend: the emulated AWS (:class:`mnp_local.server.LocalAws`: moto's server with mnp_local's adapters),
with ``config/default.yaml`` deployed by ``cdk deploy``. The audit talks to it through
``AWS_ENDPOINT_URL`` only, as it would to AWS. Nothing here patches the emulator.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mnp_local import cdk
from mnp_local.inventory import client
from mnp_local.server import LocalAws
from mnp_local.server import aws_environment as emulator_environment

pytestmark = [pytest.mark.deploy, pytest.mark.timeout(1800)]


@dataclass(frozen=True)
class Deployed:
    endpoint: str
    env: dict[str, str]
    queue: dict[str, Any]  # DescribeJobQueues of the stack's queue


@pytest.fixture(scope="module")
def deployed() -> Iterator[Deployed]:
    config = cdk.REPO_ROOT / "config" / "default.yaml"
    with tempfile.TemporaryDirectory(prefix="mnp_audit_test_") as workdir, LocalAws() as endpoint:
        cdk.bootstrap(endpoint=endpoint, work_dir=Path(workdir) / "bootstrap")
        cdk.deploy(
            endpoint=endpoint,
            app_dir=cdk.REPO_ROOT,
            output_dir=Path(workdir) / "cdk.out",
            context={"config": str(config)},
        )
        (queue,) = client("batch", endpoint=endpoint).describe_job_queues()["jobQueues"]
        yield Deployed(endpoint=endpoint, env=emulator_environment(endpoint=endpoint), queue=queue)


def _audit(deployed: Deployed, *args: str) -> subprocess.CompletedProcess[str]:
    """`mnp audit` as a user (or `make deploy-local`) runs it: a process with the emulator's environment."""
    return subprocess.run(
        [sys.executable, "-m", "mnp_toolkit", "audit", *args],
        env=deployed.env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        cwd=cdk.REPO_ROOT,
    )


def test_the_deployed_queue_is_tagged_as_an_mnp_queue(deployed: Deployed) -> None:
    assert deployed.queue["tags"].get("mnp:queue") == "true"


def test_the_deployed_default_config_audits_clean(deployed: Deployed) -> None:
    result = _audit(deployed, "--format", "json", "--strict", "--verbose")
    assert result.stderr == ""
    document = json.loads(result.stdout)
    found = {(finding["rule"], finding["resource"]) for finding in document["findings"]}
    # mnp_local keeps the queue's jobStateTimeLimitActions (moto drops them), so MNP105 has what it reads.
    assert deployed.queue["jobStateTimeLimitActions"]
    assert found == set()
    assert result.returncode == 0


def test_a_spot_compute_environment_added_with_boto3_is_found(deployed: Deployed) -> None:
    """A Spot compute environment put into the deployed MNP queue by hand (as a platform team might)."""
    batch = client("batch", endpoint=deployed.endpoint)
    (environment,) = batch.describe_compute_environments()["computeEnvironments"]
    resources = {
        key: environment["computeResources"][key]
        for key in ("minvCpus", "maxvCpus", "instanceTypes", "subnets", "securityGroupIds", "instanceRole")
        if key in environment["computeResources"]
    }
    spot = batch.create_compute_environment(
        computeEnvironmentName="hand-made-spot",
        type="MANAGED",
        state="ENABLED",
        computeResources={
            **resources,
            "type": "SPOT",
            "placementGroup": environment["computeResources"]["placementGroup"],
        },
        serviceRole=environment["serviceRole"],
    )["computeEnvironmentArn"]
    order = [*deployed.queue["computeEnvironmentOrder"], {"order": 9, "computeEnvironment": spot}]
    batch.update_job_queue(jobQueue=deployed.queue["jobQueueArn"], computeEnvironmentOrder=order)
    try:
        result = _audit(deployed)
        assert result.returncode == 1, result.stdout + result.stderr
        assert f"ERROR MNP002 {spot}" in result.stdout
        errors = [line for line in result.stdout.splitlines() if line.startswith("  ERROR ")]
        assert errors == [f"  ERROR MNP002 {spot}"]
    finally:
        batch.update_job_queue(
            jobQueue=deployed.queue["jobQueueArn"], computeEnvironmentOrder=deployed.queue["computeEnvironmentOrder"]
        )
