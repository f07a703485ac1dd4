"""Deploy every shipped config with the real CDK CLI into the local emulated AWS and read it back.

One emulated AWS for the module (bootstrapped once); each config is deployed once and shared by its
checks. What is checked is what the emulated AWS reports through the AWS APIs (boto3), never the
template. Where moto cannot model a behaviour even with mnp_local's adapters, the test says so and
does not assert it (see docs/local-deploy.md). The sample multi-node jobs really run (mnp_local's node
runner, docs/local-run.md), submitted with plain boto3: every node joins the rendezvous, the ring
all-reduce's sum is checked, and the job and all its nodes SUCCEED.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from mnp_local import cdk
from mnp_local.existing_network import adapt_config
from mnp_local.inventory import Inventory, client, read_inventory
from mnp_local.server import LocalAws
from mnp_toolkit.config.load import load_config
from mnp_toolkit.config.model import MnpConfig

pytestmark = [pytest.mark.deploy, pytest.mark.timeout(1800)]

CONFIG_DIR = cdk.REPO_ROOT / "config"
SHIPPED_CONFIGS = sorted(path.name for path in CONFIG_DIR.glob("*.yaml"))


@dataclass
class Deployed:
    """One deploy of a config: what was asked for and what the emulated AWS then held."""

    config: MnpConfig
    config_path: Path
    template: dict[str, Any]
    run: cdk.CdkRun
    stack: dict[str, Any]
    inventory: Inventory


@dataclass
class Environment:
    endpoint: str
    workdir: Path
    deployed: dict[str, Deployed]


@pytest.fixture(scope="module")
def local() -> Iterator[Environment]:
    with tempfile.TemporaryDirectory(prefix="mnp_local_test_") as workdir, LocalAws() as endpoint:
        cdk.bootstrap(endpoint=endpoint, work_dir=Path(workdir) / "bootstrap")
        yield Environment(endpoint=endpoint, workdir=Path(workdir), deployed={})


def _describe_stack(endpoint: str, name: str) -> dict[str, Any]:
    stacks = client("cloudformation", endpoint=endpoint).describe_stacks(StackName=name)["Stacks"]
    return dict(stacks[0])


def _config_for_emulated_account(local: Environment, name: str) -> Path:
    """existing-vpc.yaml names a VPC of its author's account: the deploy gets a copy naming a network made
    in the emulated account (mnp_local.existing_network, as `make deploy-local` does); others as shipped."""
    path, _ = adapt_config(CONFIG_DIR / name, endpoint=local.endpoint, work_dir=local.workdir)
    return path


def deploy_config(local: Environment, key: str, config_path: Path) -> Deployed:
    """Deploy ``config_path`` (once per key) and read back the emulated account."""
    if key not in local.deployed:
        config = load_config(config_path)
        output_dir = local.workdir / f"cdk.out-{key}"
        run = cdk.deploy(
            endpoint=local.endpoint,
            app_dir=cdk.REPO_ROOT,
            output_dir=output_dir,
            context={"config": str(config_path)},
            stacks=[config.stack_name],
        )
        print(f"cdk deploy of {key}: {run.seconds:.1f} s")
        local.deployed[key] = Deployed(
            config=config,
            config_path=config_path,
            template=json.loads((output_dir / f"{config.stack_name}.template.json").read_text(encoding="utf-8")),
            run=run,
            stack=_describe_stack(local.endpoint, config.stack_name),
            inventory=read_inventory(endpoint=local.endpoint),
        )
    return local.deployed[key]


@pytest.fixture(scope="module", params=SHIPPED_CONFIGS)
def deployed(request: pytest.FixtureRequest, local: Environment) -> Deployed:
    name = str(request.param)
    return deploy_config(local, name, _config_for_emulated_account(local, name))


def _stack_compute_environments(deployed: Deployed) -> list[dict[str, Any]]:
    return [c for c in deployed.inventory.compute_environments if c["name"].startswith(deployed.config.stack_name)]


def _stack_job_definitions(deployed: Deployed) -> list[dict[str, Any]]:
    return [d for d in deployed.inventory.job_definitions if d["name"].startswith(deployed.config.stack_name)]


def test_stack_is_created_with_its_outputs(deployed: Deployed) -> None:
    assert deployed.stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {output["OutputKey"]: output["OutputValue"] for output in deployed.stack.get("Outputs", [])}
    assert set(outputs) == set(deployed.template.get("Outputs", {}))
    assert all(value.startswith("arn:aws:") for value in outputs.values()), outputs


def test_one_compute_environment_per_configured_one(deployed: Deployed) -> None:
    environments = _stack_compute_environments(deployed)
    assert len(environments) == len(deployed.config.compute_environments)
    for environment in environments:
        assert environment["type"] == "MANAGED"
        assert environment["resource_type"] == "EC2"
        assert environment["state"] == "ENABLED"


def test_compute_environment_subnets_are_private_and_routed_to_a_nat(deployed: Deployed) -> None:
    subnets = {subnet["id"]: subnet for subnet in deployed.inventory.subnets}
    for environment in _stack_compute_environments(deployed):
        assert environment["subnets"], environment["name"]
        for subnet_id in environment["subnets"]:
            subnet = subnets[subnet_id]
            assert not subnet["public"], subnet
            assert (subnet["default_route"] or "").startswith("nat-"), subnet


def test_compute_environment_with_placement_group_uses_one_az_and_a_cluster_group(deployed: Deployed) -> None:
    groups = {group["name"]: group for group in deployed.inventory.placement_groups}
    wanted = {ce.name: ce for ce in deployed.config.compute_environments}
    environments = _stack_compute_environments(deployed)
    for environment in environments:
        configured = [ce for name, ce in wanted.items() if name.replace("-", "") in environment["name"]]
        assert len(configured) == 1, (environment["name"], list(wanted))
        if configured[0].placement_group:
            assert environment["placement_group"] in groups, environment
            assert groups[environment["placement_group"]]["strategy"] == "cluster"
            assert len(environment["azs"]) == 1, environment
        else:
            assert environment["placement_group"] is None


def test_job_definitions_have_the_configured_nodes_and_instance_type(deployed: Deployed) -> None:
    definitions = {d["name"]: d for d in _stack_job_definitions(deployed)}
    assert len(definitions) == len(deployed.config.job_definitions)
    for configured in deployed.config.job_definitions:
        matching = [d for name, d in definitions.items() if name.endswith(f"-{configured.name}")]
        assert len(matching) == 1, (configured.name, list(definitions))
        definition = matching[0]
        assert definition["type"] == "multinode"
        assert definition["num_nodes"] == configured.num_nodes
        assert definition["main_node"] == configured.main_node
        assert definition["node_ranges"], definition
        assert {r["instance_type"] for r in definition["node_ranges"]} == {configured.instance_type}


def test_job_queues_point_at_the_stack_compute_environments(deployed: Deployed) -> None:
    arns = {c["arn"] for c in _stack_compute_environments(deployed)}
    queues = [q for q in deployed.inventory.job_queues if q["name"].startswith(deployed.config.stack_name)]
    assert len(queues) == len(deployed.config.job_queues)
    for queue in queues:
        assert queue["state"] == "ENABLED"
        assert queue["compute_environments"]
        assert set(queue["compute_environments"]) <= arns


def test_queue_runnable_timeouts_are_deployed(deployed: Deployed) -> None:
    """The queue's jobStateTimeLimitActions (kept by mnp_local's queue adapter) are the configured ones."""
    by_name = {q["name"]: q for q in deployed.inventory.job_queues}
    for configured in deployed.config.job_queues:
        queue = by_name[f"{deployed.config.stack_name}-{configured.name}"]
        expected = {
            "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE": configured.runnable_timeout_minutes * 60,
            "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT": configured.runnable_timeout_minutes * 60,
        }
        if configured.capacity_timeout_minutes is not None:
            expected["CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY"] = configured.capacity_timeout_minutes * 60
        assert queue["time_limit_actions"] == expected


def test_update_of_a_changed_config_is_in_place(local: Environment) -> None:
    before = deploy_config(local, "default.yaml", CONFIG_DIR / "default.yaml")
    data = yaml.safe_load((CONFIG_DIR / "default.yaml").read_text(encoding="utf-8"))
    for definition in data["job_definitions"]:
        definition["num_nodes"] = int(definition["num_nodes"]) + 2
    changed = local.workdir / "default-more-nodes.yaml"
    changed.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")

    after = deploy_config(local, "default-more-nodes.yaml", changed)

    assert after.stack["StackId"] == before.stack["StackId"]
    assert after.stack["StackStatus"] == "UPDATE_COMPLETE"
    old = {d["name"]: d for d in _stack_job_definitions(before)}
    new = {d["name"]: d for d in _stack_job_definitions(after)}
    assert set(new) == set(old)
    for name, definition in new.items():
        assert definition["revision"] == old[name]["revision"] + 1
        assert definition["num_nodes"] == old[name]["num_nodes"] + 2
    inactive = client("batch", endpoint=local.endpoint).describe_job_definitions(status="INACTIVE")["jobDefinitions"]
    assert {(d["jobDefinitionName"], d["revision"]) for d in inactive} >= {
        (name, definition["revision"]) for name, definition in old.items()
    }


def _run_sample(
    local: Environment, deployed: Deployed
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[int, list[str]]]:
    """Submit the config's sample job to its queue with plain boto3; the job, its nodes, each node's log."""
    batch = client("batch", endpoint=local.endpoint)
    configured = deployed.config.job_definitions[0]
    queue = f"{deployed.config.stack_name}-{configured.queue}"
    definition = f"{deployed.config.stack_name}-{configured.name}"
    job_id = batch.submit_job(jobName="sample", jobQueue=queue, jobDefinition=definition)["jobId"]
    deadline = time.monotonic() + 120
    while batch.describe_jobs(jobs=[job_id])["jobs"][0]["status"] not in ("SUCCEEDED", "FAILED"):
        assert time.monotonic() < deadline, f"the sample job of {deployed.config_path} did not end"
        time.sleep(0.05)
    (job,) = batch.describe_jobs(jobs=[job_id])["jobs"]
    num_nodes = job["nodeProperties"]["numNodes"]
    nodes = batch.describe_jobs(jobs=[f"{job_id}#{i}" for i in range(num_nodes)])["jobs"]
    nodes.sort(key=lambda node: node["nodeDetails"]["nodeIndex"])
    logs = client("logs", endpoint=local.endpoint)
    output: dict[int, list[str]] = {}
    for node in nodes:
        options = node["container"]["logConfiguration"]["options"]
        events = logs.get_log_events(
            logGroupName=options["awslogs-group"], logStreamName=node["container"]["logStreamName"], startFromHead=True
        )["events"]
        output[node["nodeDetails"]["nodeIndex"]] = [
            e["message"] for e in events if not e["message"].startswith("mnp_local: ")
        ]
    return job, nodes, output


def test_sample_job_rendezvous_and_all_reduce_across_every_node(local: Environment) -> None:
    """The default config's sample job as a user submits it: every node joins the rendezvous, the ring
    all-reduce sums every node's vector, the main node prints the checked sum, every node SUCCEEDS."""
    deployed = deploy_config(local, "default.yaml", CONFIG_DIR / "default.yaml")
    job, nodes, output = _run_sample(local, deployed)
    (configured,) = deployed.config.job_definitions
    assert job["jobQueue"].endswith(f"/{deployed.config.stack_name}-{deployed.config.job_queues[0].name}")
    assert f"/{deployed.config.stack_name}-{configured.name}:" in job["jobDefinition"]
    assert job["status"] == "SUCCEEDED", (job, output)
    # The job's own node count: an earlier test may have deployed more nodes than the config has.
    num_nodes, main_node = job["nodeProperties"]["numNodes"], job["nodeProperties"]["mainNode"]
    assert num_nodes >= configured.num_nodes and main_node == configured.main_node
    main = nodes[main_node]
    assert all(node["status"] == "SUCCEEDED" for node in nodes), [(n["status"], n.get("statusReason")) for n in nodes]
    assert all(node["startedAt"] >= main["startedAt"] for node in nodes)
    addresses = [node["container"]["networkInterfaces"][0]["privateIpv4Address"] for node in nodes]
    assert len(set(addresses)) == num_nodes
    shown = addresses if num_nodes <= 4 else [*addresses[:3], "...", addresses[-1]]
    total = num_nodes * (num_nodes + 1) // 2
    result = f"[{total}, {2 * total}, {3 * total}, ..., {1024 * total}]"
    first, last = output[main_node][0], output[main_node][-1]
    assert first == f"allreduce: the rendezvous is complete: {num_nodes} nodes ({', '.join(shown)})"
    assert last.startswith(f"allreduce: {num_nodes} nodes summed their vectors of 1024 integers over a TCP ring")
    assert f": {result}, checked on every node" in last
    for index, lines in output.items():
        if index != main_node:
            assert len(lines) == 1 and lines[0].startswith(f"allreduce: node {index}: sum {result} checked"), lines


def test_every_shipped_sample_job_succeeds_locally(local: Environment, deployed: Deployed) -> None:
    job, nodes, output = _run_sample(local, deployed)
    assert job["status"] == "SUCCEEDED", (job.get("statusReason"), output)
    assert [node["status"] for node in nodes] == ["SUCCEEDED"] * len(nodes)
    assert "checked on every node" in output[job["nodeProperties"]["mainNode"]][-1]
