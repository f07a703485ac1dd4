"""Shared helpers for the construct tests.

Error-case tests need no synth: they build constructs inside a fresh ``Stack`` and expect
:class:`constructs_lib.MnpPropsError`. Synth-based tests build one app per module (module-scoped fixture).
"""

from __future__ import annotations

import os

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

from collections.abc import Callable, Mapping
from typing import Any

import pytest
from aws_cdk import Stack

from constructs_lib import ClusterPlacementGroup, MnpComputeEnvironment, MnpNetwork
from tests.helpers.cdk_app import cdk_app

AZS = ("us-east-1a", "us-east-1b")


def fresh_stack(name: str = "Test") -> Stack:
    return Stack(cdk_app(), name)


def imported_network(stack: Stack, id: str = "Net") -> MnpNetwork:
    """A network from plain IDs: cheap to build (no VPC resources), two AZs, one subnet each."""
    return MnpNetwork.from_existing(
        stack,
        id,
        vpc_id="vpc-12345678",
        availability_zones=list(AZS),
        private_subnet_ids=["subnet-aaaa1111", "subnet-bbbb2222"],
        private_subnet_route_table_ids=["rtb-aaaa1111", "rtb-bbbb2222"],
    )


def resources_of(template: Mapping[str, Any], type_: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == type_]


@pytest.fixture
def stack() -> Stack:
    return fresh_stack()


@pytest.fixture
def make_ce(stack: Stack) -> Callable[..., MnpComputeEnvironment]:
    """Build an MnpComputeEnvironment in ``stack`` with sane defaults that each test overrides."""
    network = imported_network(stack)
    counter = iter(range(1000))

    def build(**overrides: Any) -> MnpComputeEnvironment:
        n = next(counter)
        props: dict[str, Any] = {
            "vpc": network.vpc,
            "subnets": network.compute_subnets(),
            "instance_types": ["c5n.18xlarge"],
            "placement_group": ClusterPlacementGroup(stack, f"Pg{n}").placement_group,
            "max_vcpus": 288,
        }
        props.update(overrides)
        return MnpComputeEnvironment(stack, f"Ce{n}", **props)

    return build


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that share a module's synth (fixture ``synth`` or ``template``) with ``synth``."""
    for item in items:
        if {"synth", "template"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.synth)
