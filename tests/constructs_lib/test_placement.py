"""ClusterPlacementGroup: an EC2 placement group with strategy cluster."""

from __future__ import annotations

import pytest
from aws_cdk import Stack
from aws_cdk.assertions import Match, Template

from constructs_lib import ClusterPlacementGroup, MnpPropsError
from tests.constructs_lib.conftest import fresh_stack
from tests.helpers.cdk_app import cdk_app


@pytest.fixture(scope="module")
def template() -> Template:
    stack = Stack(cdk_app(), "Placement")
    ClusterPlacementGroup(stack, "Unnamed")
    ClusterPlacementGroup(stack, "Named", name="mnp-cluster")
    return Template.from_stack(stack)


def test_strategy_is_cluster(template: Template) -> None:
    template.resource_count_is("AWS::EC2::PlacementGroup", 2)
    template.resource_properties_count_is("AWS::EC2::PlacementGroup", {"Strategy": "cluster"}, 2)


def test_name_becomes_a_name_tag(template: Template) -> None:
    # CloudFormation has no name property for placement groups; the name is a tag.
    template.has_resource_properties(
        "AWS::EC2::PlacementGroup",
        {"Strategy": "cluster", "Tags": [{"Key": "Name", "Value": "mnp-cluster"}]},
    )
    template.has_resource_properties("AWS::EC2::PlacementGroup", {"Tags": Match.absent()})


def test_exposes_the_placement_group() -> None:
    group = ClusterPlacementGroup(fresh_stack(), "Pg")
    assert group.placement_group.node.id == "Resource"


@pytest.mark.parametrize("name", ["", "x" * 256])
def test_rejects_bad_names(name: str) -> None:
    with pytest.raises(MnpPropsError, match=r"ClusterPlacementGroup 'Pg': name: has \d+ characters"):
        ClusterPlacementGroup(fresh_stack(), "Pg", name=name)
