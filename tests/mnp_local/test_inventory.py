"""The read-back listing: every kind of resource is shown, with what matters about it."""

from __future__ import annotations

from mnp_local.inventory import Inventory, format_inventory


def test_format_inventory_shows_each_resource_kind_and_its_key_facts() -> None:
    inventory = Inventory(
        stacks=[{"name": "MnpEnvironment", "status": "CREATE_COMPLETE"}],
        subnets=[
            {"id": "subnet-1", "az": "us-east-1a", "cidr": "10.0.32.0/19", "public": False, "default_route": "nat-1"},
            {"id": "subnet-2", "az": "us-east-1a", "cidr": "10.0.0.0/24", "public": True, "default_route": "igw-1"},
        ],
        placement_groups=[{"name": "pg", "strategy": "cluster", "state": "available"}],
        job_queues=[
            {
                "name": "q",
                "state": "ENABLED",
                "compute_environments": ["ce"],
                "time_limit_actions": {"MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT": 3600},
            }
        ],
        job_definitions=[
            {
                "name": "jd",
                "revision": 2,
                "type": "multinode",
                "num_nodes": 4,
                "main_node": 0,
                "node_ranges": [{"target_nodes": "0:", "instance_type": "c5n.18xlarge"}],
            }
        ],
    )
    text = format_inventory(inventory)
    assert "MnpEnvironment: CREATE_COMPLETE" in text
    assert "subnet-1 us-east-1a 10.0.32.0/19 private default route -> nat-1" in text
    assert "subnet-2 us-east-1a 10.0.0.0/24 public default route -> igw-1" in text
    assert "pg strategy=cluster" in text
    assert "q ENABLED -> 1 CE(s), cancel in RUNNABLE after 60 min on MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT" in text
    assert "jd:2 multinode nodes=4 main=0 ranges=0:@c5n.18xlarge" in text
    assert "NAT gateways (0)\n  (none)" in text
