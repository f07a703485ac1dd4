"""Read back, with boto3, what a deploy created in the emulated AWS, and print it.

Only what the emulated AWS really holds is reported: every value comes from an AWS API call
against the endpoint, never from the template.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mnp_local.server import DEFAULT_ACCOUNT, EmulatedAccount


def client(service: str, *, endpoint: str, account: EmulatedAccount = DEFAULT_ACCOUNT) -> Any:
    """A boto3 client for the endpoint, as ``account`` (default: 123456789012 in us-east-1)."""
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=account.region,
        aws_access_key_id=account.access_key_id,
        aws_secret_access_key=account.secret_access_key,
    )


@dataclass
class Inventory:
    """What the emulated account holds, per resource kind (dicts shaped for printing and tests)."""

    stacks: list[dict[str, Any]] = field(default_factory=list)
    vpcs: list[dict[str, Any]] = field(default_factory=list)
    subnets: list[dict[str, Any]] = field(default_factory=list)
    nat_gateways: list[dict[str, Any]] = field(default_factory=list)
    placement_groups: list[dict[str, Any]] = field(default_factory=list)
    compute_environments: list[dict[str, Any]] = field(default_factory=list)
    job_queues: list[dict[str, Any]] = field(default_factory=list)
    job_definitions: list[dict[str, Any]] = field(default_factory=list)
    functions: list[dict[str, Any]] = field(default_factory=list)
    rules: list[dict[str, Any]] = field(default_factory=list)
    flow_logs: list[dict[str, Any]] = field(default_factory=list)


def _default_route_target(route_table: dict[str, Any]) -> str | None:
    for route in route_table.get("Routes", []):
        if route.get("DestinationCidrBlock") == "0.0.0.0/0":
            return route.get("NatGatewayId") or route.get("GatewayId") or route.get("TransitGatewayId")
    return None


def read_inventory(*, endpoint: str, account: EmulatedAccount = DEFAULT_ACCOUNT) -> Inventory:
    """Everything our stacks create in ``account``'s Region, read through the AWS APIs of the endpoint."""
    ec2 = client("ec2", endpoint=endpoint, account=account)
    batch = client("batch", endpoint=endpoint, account=account)
    inventory = Inventory()

    for stack in client("cloudformation", endpoint=endpoint, account=account).describe_stacks()["Stacks"]:
        inventory.stacks.append({"name": stack["StackName"], "status": stack["StackStatus"]})

    vpc_ids = []
    for vpc in ec2.describe_vpcs()["Vpcs"]:
        if vpc.get("IsDefault"):
            continue
        vpc_ids.append(vpc["VpcId"])
        inventory.vpcs.append({"id": vpc["VpcId"], "cidr": vpc["CidrBlock"]})
    if vpc_ids:
        vpc_filter = [{"Name": "vpc-id", "Values": vpc_ids}]
        route_tables = ec2.describe_route_tables(Filters=vpc_filter)["RouteTables"]
        main_by_vpc = {
            table["VpcId"]: table
            for table in route_tables
            if any(assoc.get("Main") for assoc in table.get("Associations", []))
        }
        table_by_subnet = {
            assoc["SubnetId"]: table
            for table in route_tables
            for assoc in table.get("Associations", [])
            if assoc.get("SubnetId")
        }
        for subnet in ec2.describe_subnets(Filters=vpc_filter)["Subnets"]:
            table = table_by_subnet.get(subnet["SubnetId"]) or main_by_vpc.get(subnet["VpcId"], {})
            target = _default_route_target(table)
            inventory.subnets.append(
                {
                    "id": subnet["SubnetId"],
                    "vpc": subnet["VpcId"],
                    "az": subnet["AvailabilityZone"],
                    "cidr": subnet["CidrBlock"],
                    "route_table": table.get("RouteTableId"),
                    "default_route": target,
                    "public": bool(subnet.get("MapPublicIpOnLaunch")) or bool(target and target.startswith("igw-")),
                }
            )
    for nat in ec2.describe_nat_gateways()["NatGateways"]:
        if nat.get("State") in ("deleted", "deleting", "failed"):
            continue
        inventory.nat_gateways.append({"id": nat["NatGatewayId"], "subnet": nat["SubnetId"], "state": nat["State"]})
    for group in ec2.describe_placement_groups()["PlacementGroups"]:
        inventory.placement_groups.append(
            {"name": group["GroupName"], "strategy": group["Strategy"], "state": group["State"]}
        )
    az_by_subnet = {subnet["id"]: subnet["az"] for subnet in inventory.subnets}
    for environment in batch.describe_compute_environments()["computeEnvironments"]:
        resources = environment.get("computeResources", {})
        subnets = resources.get("subnets", [])
        inventory.compute_environments.append(
            {
                "name": environment["computeEnvironmentName"],
                "arn": environment["computeEnvironmentArn"],
                "type": environment.get("type"),
                "state": environment.get("state"),
                "service_role": environment.get("serviceRole"),
                "resource_type": resources.get("type"),
                "instance_types": resources.get("instanceTypes", []),
                "min_vcpus": resources.get("minvCpus"),
                "max_vcpus": resources.get("maxvCpus"),
                "subnets": subnets,
                "azs": sorted({az_by_subnet.get(subnet_id, "?") for subnet_id in subnets}),
                "security_groups": resources.get("securityGroupIds", []),
                "placement_group": resources.get("placementGroup"),
                "launch_template": resources.get("launchTemplate"),
            }
        )
    for queue in batch.describe_job_queues()["jobQueues"]:
        order = sorted(queue.get("computeEnvironmentOrder", []), key=lambda item: item["order"])
        inventory.job_queues.append(
            {
                "name": queue["jobQueueName"],
                "arn": queue["jobQueueArn"],
                "state": queue.get("state"),
                "priority": queue.get("priority"),
                "compute_environments": [item["computeEnvironment"] for item in order],
                "time_limit_actions": {
                    action["reason"]: action["maxTimeSeconds"] for action in queue.get("jobStateTimeLimitActions") or []
                },
            }
        )
    for definition in batch.describe_job_definitions(status="ACTIVE")["jobDefinitions"]:
        nodes = definition.get("nodeProperties") or {}
        inventory.job_definitions.append(
            {
                "name": definition["jobDefinitionName"],
                "arn": definition["jobDefinitionArn"],
                "revision": definition["revision"],
                "type": definition["type"],
                "num_nodes": nodes.get("numNodes"),
                "main_node": nodes.get("mainNode"),
                "node_ranges": [
                    {
                        "target_nodes": node_range.get("targetNodes"),
                        "instance_type": (node_range.get("container") or {}).get("instanceType"),
                        "image": (node_range.get("container") or {}).get("image"),
                    }
                    for node_range in nodes.get("nodeRangeProperties", [])
                ],
            }
        )
    for function in client("lambda", endpoint=endpoint, account=account).list_functions()["Functions"]:
        inventory.functions.append({"name": function["FunctionName"], "runtime": function.get("Runtime")})
    events = client("events", endpoint=endpoint, account=account)
    for rule in events.list_rules()["Rules"]:
        targets = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
        inventory.rules.append(
            {
                "name": rule["Name"],
                "state": rule.get("State"),
                "pattern": json.loads(rule["EventPattern"]) if rule.get("EventPattern") else None,
                "schedule": rule.get("ScheduleExpression"),
                "targets": [target["Arn"] for target in targets],
            }
        )
    for flow_log in ec2.describe_flow_logs()["FlowLogs"]:
        inventory.flow_logs.append(
            {"id": flow_log["FlowLogId"], "resource": flow_log["ResourceId"], "traffic": flow_log.get("TrafficType")}
        )
    return inventory


def format_inventory(inventory: Inventory) -> str:
    """A readable listing of :func:`read_inventory`'s result."""
    lines: list[str] = []

    def section(title: str, rows: list[str]) -> None:
        lines.append(f"{title} ({len(rows)})")
        lines.extend(f"  {row}" for row in rows or ["(none)"])

    section("Stacks", [f"{s['name']}: {s['status']}" for s in inventory.stacks])
    section("VPCs", [f"{v['id']} {v['cidr']}" for v in inventory.vpcs])
    section(
        "Subnets",
        [
            f"{s['id']} {s['az']} {s['cidr']} {'public' if s['public'] else 'private'}"
            f" default route -> {s['default_route'] or 'none'}"
            for s in sorted(inventory.subnets, key=lambda s: (s["public"], s["az"]))
        ],
    )
    section("NAT gateways", [f"{n['id']} in {n['subnet']} ({n['state']})" for n in inventory.nat_gateways])
    section("Placement groups", [f"{g['name']} strategy={g['strategy']}" for g in inventory.placement_groups])
    section(
        "Compute environments",
        [
            f"{c['name']} {c['type']}/{c['resource_type']} {c['state']} instances={','.join(c['instance_types'])}"
            f" vCPUs={c['min_vcpus']}..{c['max_vcpus']} AZs={','.join(c['azs'])}"
            f" placement group={c['placement_group'] or 'none'}"
            for c in inventory.compute_environments
        ],
    )
    section(
        "Job queues",
        [
            f"{q['name']} {q['state']} -> {len(q['compute_environments'])} CE(s)"
            + "".join(
                f", cancel in RUNNABLE after {seconds // 60} min on {reason}"
                for reason, seconds in sorted((q.get("time_limit_actions") or {}).items())
            )
            for q in inventory.job_queues
        ],
    )
    section(
        "Job definitions (ACTIVE)",
        [
            f"{d['name']}:{d['revision']} {d['type']} nodes={d['num_nodes']} main={d['main_node']} ranges="
            + ", ".join(f"{r['target_nodes']}@{r['instance_type']}" for r in d["node_ranges"])
            for d in inventory.job_definitions
        ],
    )
    section("Lambda functions", [f"{f['name']} ({f['runtime']})" for f in inventory.functions])
    section(
        "EventBridge rules",
        [f"{r['name']} {r['state']} -> {len(r['targets'])} target(s)" for r in inventory.rules],
    )
    section("VPC flow logs", [f"{f['id']} on {f['resource']} ({f['traffic']})" for f in inventory.flow_logs])
    return "\n".join(lines)
