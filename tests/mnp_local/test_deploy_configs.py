"""Deploy every shipped config with the real CDK CLI into the local emulated AWS and read it back.

One emulated AWS for the module (bootstrapped once); each config is deployed once and shared by its
checks. What is checked is what the emulated AWS reports through the AWS APIs (boto3), never the
template. Where moto cannot model a behaviour even with mnp_local's adapters, the test says so and
does not assert it (see docs/local-deploy.md). The sample multi-node job really runs (mnp_local's node
runner, docs/local-run.md): the test checks its nodes came up main first, each printed its line and the
job SUCCEEDED.
"""

from __future__ import annotations

import copy
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from mnp_local import cdk, demo
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


def _existing_network(endpoint: str) -> dict[str, Any]:
    """A private subnet routed to a NAT gateway in us-east-1a, made through the EC2 API.

    existing-vpc.yaml names a VPC of its author's account; the emulated account has other IDs, so the
    test gives the config this network's IDs instead (everything else in the config is kept).
    """
    ec2 = client("ec2", endpoint=endpoint)
    vpc_id = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    public = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.20.0.0/24", AvailabilityZone="us-east-1a")["Subnet"]
    private = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.20.16.0/20", AvailabilityZone="us-east-1a")["Subnet"]
    gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc_id)
    public_table = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public_table, DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway)
    ec2.associate_route_table(RouteTableId=public_table, SubnetId=public["SubnetId"])
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=public["SubnetId"], AllocationId=allocation)["NatGateway"]
    private_table = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=private_table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat["NatGatewayId"])
    ec2.associate_route_table(RouteTableId=private_table, SubnetId=private["SubnetId"])
    return {
        "vpc_id": vpc_id,
        "availability_zone": "us-east-1a",
        "private_subnet_ids": [private["SubnetId"]],
        "private_subnet_route_table_ids": [private_table],
    }


def _config_for_emulated_account(local: Environment, name: str) -> Path:
    source = CONFIG_DIR / name
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    if data.get("network", {}).get("mode") != "existing":
        return source
    adapted = copy.deepcopy(data)
    adapted["network"].update(_existing_network(local.endpoint))
    path = local.workdir / f"emulated-{name}"
    path.write_text(yaml.safe_dump(adapted, sort_keys=False), encoding="utf-8")
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


def test_sample_job_runs_every_node_main_first(local: Environment) -> None:
    deployed = deploy_config(local, "default.yaml", CONFIG_DIR / "default.yaml")
    said: list[str] = []
    job_id = demo.submit_and_show(
        endpoint=local.endpoint, inventory=deployed.inventory, say=said.append, stack=deployed.config.stack_name
    )
    assert job_id, "\n".join(said)
    batch = client("batch", endpoint=local.endpoint)
    (job,) = batch.describe_jobs(jobs=[job_id])["jobs"]
    (configured,) = deployed.config.job_definitions
    assert job["jobQueue"].endswith(f"/{deployed.config.stack_name}-{deployed.config.job_queues[0].name}")
    assert f"/{deployed.config.stack_name}-{configured.name}:" in job["jobDefinition"]
    assert job["status"] == "SUCCEEDED", "\n".join(said)
    # The job's own node count: an earlier test may have deployed more nodes than the config has.
    num_nodes, main_node = job["nodeProperties"]["numNodes"], job["nodeProperties"]["mainNode"]
    assert num_nodes >= configured.num_nodes and main_node == configured.main_node
    nodes = batch.describe_jobs(jobs=[f"{job_id}#{i}" for i in range(num_nodes)])["jobs"]
    by_index = {node["nodeDetails"]["nodeIndex"]: node for node in nodes}
    assert sorted(by_index) == list(range(num_nodes))
    main = by_index[main_node]
    assert all(node["startedAt"] >= main["startedAt"] for node in nodes)
    for index in by_index:
        where = "self" if index == main_node else main["container"]["networkInterfaces"][0]["privateIpv4Address"]
        assert any(line.endswith(f"node {index} of {num_nodes}, main at {where}") for line in said), said
    assert any(
        line.startswith(f"Nodes came up in this order (startedAt): node {main_node} (main) +0 ms") for line in said
    )
    assert not any("simply succeeds" in line or "creates no node jobs" in line for line in said)
