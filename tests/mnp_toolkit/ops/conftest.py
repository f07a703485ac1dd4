"""Shared fixtures for the `mnp` operations tests (moto and botocore Stubber).

Which backend a test uses is part of what it proves, so every test says so in its docstring:

* **moto** (``mock_aws``) where moto models the API: SubmitJob, DescribeJobs of a parent job or a
  single-node job, a job that does not exist, EC2 subnets/routes/offerings.
* **Stubber** (botocore's, with response shapes from the AWS Batch / EC2 / Service Quotas API
  reference, validated by botocore against its service model) where moto does not answer: MNP node
  jobs ``JOB_ID#N`` (moto never creates them, see verified-facts.md), node failures, Service Quotas
  for EC2, placement groups.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tests.helpers.moto_batch import MNP_CONTAINER, MOTO_BATCH_CONFIG, create_queue, register_mnp_definition

REGION = "us-east-1"
# A fixed instant (2026-11-24T15:00:00Z) in DescribeJobs' epoch milliseconds.
T0_MS = 1_795_532_400_000


_CLEARED = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_BATCH",
    "AWS_ENDPOINT_URL_EC2",
    "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
)


def _isolate(monkeypatch: pytest.MonkeyPatch, directory: Any) -> None:
    """Dummy credentials and a fixed Region; nothing from the developer's ~/.aws leaks in."""
    for name in _CLEARED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(directory / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(directory / "no-credentials"))


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """Every test runs isolated from the developer's AWS set-up."""
    _isolate(monkeypatch, tmp_path)


class LenientStubber(Stubber):
    """botocore's Stubber, except that a DescribeJobs job without ``startedAt`` is accepted.

    botocore's model marks ``JobDetail.startedAt`` as required, yet AWS omits it for a job that has
    not started (SUBMITTED .. STARTING); the real client parses such responses fine. Everything
    else in the response is still validated against the service model.
    """

    def _validate_operation_response(self, operation_name: str, service_response: Any) -> None:
        if operation_name == "DescribeJobs":
            service_response = copy.deepcopy(service_response)
            for job in service_response.get("jobs", []):
                job.setdefault("startedAt", 0)
        super()._validate_operation_response(operation_name, service_response)


@pytest.fixture
def stubbed() -> Iterator[Callable[[str], tuple[Any, LenientStubber]]]:
    """Factory: a real botocore client for a service and an active (lenient) Stubber on it."""
    stubbers: list[LenientStubber] = []

    def make(service: str) -> tuple[Any, LenientStubber]:
        client = boto3.client(service, region_name=REGION)
        stubber = LenientStubber(client)
        stubber.activate()
        stubbers.append(stubber)
        return client, stubber

    yield make
    for stubber in stubbers:
        stubber.deactivate()


def job_detail(
    job_id: str,
    *,
    status: str,
    name: str = "train",
    started: int | None = None,
    stopped: int | None = None,
    reason: str | None = None,
    container_reason: str | None = None,
    exit_code: int | None = None,
    num_nodes: int | None = None,
    main_node: int = 0,
    node_index: int | None = None,
    is_main: bool | None = None,
) -> dict[str, Any]:
    """A DescribeJobs ``JobDetail`` in the documented shape (API reference, JobDetail).

    A multinode parent carries ``nodeProperties`` {numNodes, mainNode, nodeRangeProperties}; a node
    job ``JOB_ID#N`` carries ``nodeDetails`` {nodeIndex, isMainNode}; a finished container carries
    ``container.exitCode`` and an ``attempts`` entry.
    """
    detail: dict[str, Any] = {
        "jobArn": f"arn:aws:batch:{REGION}:123456789012:job/{job_id}",
        "jobName": name,
        "jobId": job_id,
        "jobQueue": f"arn:aws:batch:{REGION}:123456789012:job-queue/mnp-queue",
        "status": status,
        "createdAt": T0_MS,
        "jobDefinition": f"arn:aws:batch:{REGION}:123456789012:job-definition/train:3",
    }
    if started is not None:
        detail["startedAt"] = started
    if stopped is not None:
        detail["stoppedAt"] = stopped
    if reason is not None:
        detail["statusReason"] = reason
    if num_nodes is not None:
        detail["nodeProperties"] = {
            "numNodes": num_nodes,
            "mainNode": main_node,
            "nodeRangeProperties": [{"targetNodes": "0:", "container": {"image": "busybox"}}],
        }
    if node_index is not None:
        detail["nodeDetails"] = {"nodeIndex": node_index, "isMainNode": bool(is_main)}
    if exit_code is not None:
        detail["container"] = {"exitCode": exit_code, "logStreamName": f"train/default/{job_id}"}
        if container_reason is not None:
            detail["container"]["reason"] = container_reason
        detail["attempts"] = [
            {
                "container": {"exitCode": exit_code, "taskArn": "arn:aws:ecs:us-east-1:123456789012:task/x"},
                "startedAt": started or T0_MS,
                "stoppedAt": stopped or T0_MS,
                "statusReason": reason or "Essential container in task exited",
            }
        ]
    return detail


@pytest.fixture
def make_job() -> Callable[..., dict[str, Any]]:
    """The :func:`job_detail` builder, for tests."""
    return job_detail


class MotoBatch:
    """Names of what :func:`moto_batch` created in moto."""

    queue = "mnp-queue"
    mnp_definition = "train-mnp"  # multinode, 3 nodes, closed range 0:2
    container_definition = "hello"  # a single-node container job


@pytest.fixture(scope="module")
def moto_batch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoBatch]:
    """moto with a compute environment, a queue, a multinode and a container job definition.

    Module-scoped (moto set-up costs seconds on a busy machine): tests add jobs but never change
    these resources. ``use_docker: False`` makes moto run jobs as threads that simply succeed
    (verified-facts.md).
    """
    from moto import mock_aws

    with pytest.MonkeyPatch.context() as monkeypatch, mock_aws(config=MOTO_BATCH_CONFIG):
        _isolate(monkeypatch, tmp_path_factory.mktemp("aws"))
        create_queue(region=REGION, queue_name=MotoBatch.queue)
        batch = boto3.client("batch", region_name=REGION)
        register_mnp_definition(region=REGION, name=MotoBatch.mnp_definition)
        batch.register_job_definition(
            jobDefinitionName=MotoBatch.container_definition,
            type="container",
            containerProperties=MNP_CONTAINER,
        )
        yield MotoBatch()
