"""A running emulator for runner tests, driven through plain boto3 only (never the runner's internals).

Durations: the emulator runs with ``MNP_LOCAL_TIME_SCALE`` (see :data:`TIME_SCALE`), so a queue's 600 s
``maxTimeSeconds`` is over in about a second and ECS's 30 s stop grace in a few tens of milliseconds.
Waits below bound how long a test waits on a loaded machine; no assertion is about how fast anything is.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

#: AWS seconds are this many emulator seconds in these tests.
TIME_SCALE = 0.002
#: The longest a test waits for something to happen (a bound for loaded machines, not an expectation).
WAIT_SECONDS = 90.0
PYTHON = sys.executable
_names = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{os.getpid()}-{next(_names)}"


def wait_until(check: Callable[[], Any], *, what: str, timeout: float = WAIT_SECONDS, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(interval)


def python_node(script: str) -> list[str]:
    """A node command running ``script`` with the test's Python (exec form, no shell)."""
    return [PYTHON, "-c", script]


def shell_node(script: str) -> list[str]:
    return ["/bin/sh", "-c", script]


@dataclass
class Emulator:
    endpoint: str
    region: str = "us-east-1"
    clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = boto3.client(
                service,
                endpoint_url=self.endpoint,
                region_name=self.region,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
        return self.clients[service]

    @property
    def batch(self) -> Any:
        return self.client("batch")

    # ---------------------------------------------------------------------------------- resources

    def compute_environment(
        self,
        *,
        max_vcpus: int = 4096,
        instance_types: Sequence[str] = ("c5.large",),
        name: str | None = None,
        kind: str = "EC2",
    ) -> str:
        """A managed compute environment of ``kind`` (``computeResources.type``: EC2, SPOT), or an
        ``UNMANAGED`` one."""
        ec2, iam = self.client("ec2"), self.client("iam")
        role = iam.create_role(RoleName=unique("batch"), AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        if kind == "UNMANAGED":
            return str(
                self.batch.create_compute_environment(
                    computeEnvironmentName=name or unique("ce"), type="UNMANAGED", state="ENABLED", serviceRole=role
                )["computeEnvironmentArn"]
            )
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        group = ec2.create_security_group(GroupName=unique("nodes"), Description="nodes", VpcId=vpc)["GroupId"]
        profile = iam.create_instance_profile(InstanceProfileName=unique("ecs"))["InstanceProfile"]["Arn"]
        return str(
            self.batch.create_compute_environment(
                computeEnvironmentName=name or unique("ce"),
                type="MANAGED",
                state="ENABLED",
                computeResources={
                    "type": kind,
                    "minvCpus": 0,
                    "maxvCpus": max_vcpus,
                    "instanceTypes": list(instance_types),
                    "subnets": [subnet],
                    "securityGroupIds": [group],
                    "instanceRole": profile,
                },
                serviceRole=role,
            )["computeEnvironmentArn"]
        )

    def queue(self, compute_environment: str, *, time_limit_actions: Iterable[dict[str, Any]] = ()) -> str:
        name = unique("queue")
        request: dict[str, Any] = {
            "jobQueueName": name,
            "state": "ENABLED",
            "priority": 1,
            "computeEnvironmentOrder": [{"order": 1, "computeEnvironment": compute_environment}],
        }
        if time_limit_actions:
            request["jobStateTimeLimitActions"] = list(time_limit_actions)
        self.batch.create_job_queue(**request)
        return name

    def definition(
        self,
        *ranges: tuple[str, dict[str, Any]],
        num_nodes: int,
        main_node: int = 0,
        **extra: Any,
    ) -> str:
        name = unique("def")
        node_ranges = []
        for target, container in ranges:
            node_ranges.append(
                {
                    "targetNodes": target,
                    "container": {
                        "image": "public.ecr.aws/amazonlinux/amazonlinux:2023",
                        "vcpus": 1,
                        "memory": 512,
                        **container,
                    },
                }
            )
        self.batch.register_job_definition(
            jobDefinitionName=name,
            type="multinode",
            nodeProperties={"numNodes": num_nodes, "mainNode": main_node, "nodeRangeProperties": node_ranges},
            **extra,
        )
        return name

    def submit(self, queue: str, definition: str, **extra: Any) -> str:
        return str(
            self.batch.submit_job(jobName=unique("job"), jobQueue=queue, jobDefinition=definition, **extra)["jobId"]
        )

    # ---------------------------------------------------------------------------------- reading

    def describe(self, *job_ids: str) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        ids = list(job_ids)
        for start in range(0, len(ids), 100):
            for job in self.batch.describe_jobs(jobs=ids[start : start + 100])["jobs"]:
                found[job["jobId"]] = job
        return found

    def job(self, job_id: str) -> dict[str, Any]:
        return self.describe(job_id)[job_id]

    def nodes(self, job_id: str, num_nodes: int) -> list[dict[str, Any]]:
        found = self.describe(*(f"{job_id}#{index}" for index in range(num_nodes)))
        return [found[f"{job_id}#{index}"] for index in range(num_nodes)]

    def wait_status(self, job_id: str, *statuses: str, timeout: float = WAIT_SECONDS) -> dict[str, Any]:
        return dict(
            wait_until(
                lambda: (job := self.describe(job_id).get(job_id)) and job["status"] in statuses and job,
                what=f"{job_id} to be {'/'.join(statuses)}",
                timeout=timeout,
            )
        )

    def wait_done(self, job_id: str, num_nodes: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Wait until the job and every node job have ended; the parent and the nodes."""
        ended = ("SUCCEEDED", "FAILED")
        parent = self.wait_status(job_id, *ended)
        nodes = wait_until(
            lambda: (nodes := self.nodes(job_id, num_nodes)) and all(n["status"] in ended for n in nodes) and nodes,
            what=f"every node of {job_id} to end",
        )
        return parent, list(nodes)

    def log_lines(
        self, node: dict[str, Any], *, group: str = "/aws/batch/job", attempt: int | None = None
    ) -> list[str]:
        stream = (
            node["container"]["logStreamName"]
            if attempt is None
            else node["attempts"][attempt - 1]["container"]["logStreamName"]
        )
        events = self.client("logs").get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
        return [event["message"] for event in events["events"]]

    def own_lines(self, node: dict[str, Any], **kwargs: Any) -> list[str]:
        """The node's own output (without the emulator's notices)."""
        return [line for line in self.log_lines(node, **kwargs) if not line.startswith("mnp_local: ")]

    def json_line(self, node: dict[str, Any], **kwargs: Any) -> Any:
        return json.loads(self.own_lines(node, **kwargs)[-1])


def node_processes(job_id: str) -> list[int]:
    """Pids of live processes whose environment says they are a node of ``job_id`` (read from /proc)."""
    marker = f"AWS_BATCH_JOB_ID={job_id}#".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and any(item.startswith(marker) for item in environ.split(b"\0")):
            found.append(int(entry.name))
    return found


def no_node_processes(job_id: str) -> bool:
    return not node_processes(job_id)
