"""Node groups, SubmitJob node overrides, parameter substitution and the Batch variables of a node."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mnp_toolkit.core.node_groups import (
    ENV_MAIN_NODE_ADDRESS,
    NodeGroup,
    NodeGroupsError,
    apply_node_overrides,
    batch_environment,
    container_environment,
    merge_container_overrides,
    node_container,
    node_groups,
    substitute_parameters,
)


def _properties(*ranges: tuple[str, dict[str, Any]], num_nodes: int = 4, main_node: int = 0) -> dict[str, Any]:
    return {
        "numNodes": num_nodes,
        "mainNode": main_node,
        "nodeRangeProperties": [{"targetNodes": target, "container": container} for target, container in ranges],
    }


def test_one_range_is_one_group() -> None:
    assert node_groups(_properties(("0:3", {"image": "a"}))) == [NodeGroup(0, 3, 0, "0:3")]


def test_nested_range_wins_over_the_outer_one_in_either_order() -> None:
    for ranges in ((("0:9", {"image": "outer"}), ("4:5", {"image": "inner"})),
                   (("4:5", {"image": "inner"}), ("0:9", {"image": "outer"}))):  # fmt: skip
        properties = _properties(*ranges, num_nodes=10)
        groups = node_groups(properties)
        images = [node_container(properties, groups, index)["image"] for index in range(10)]
        assert images == ["outer"] * 4 + ["inner"] * 2 + ["outer"] * 4


def test_open_range_reaches_the_last_node() -> None:
    properties = _properties(("0", {"image": "main"}), ("1:", {"image": "child"}), num_nodes=3)
    assert [(g.first, g.last, g.target_nodes) for g in node_groups(properties)] == [(0, 0, "0"), (1, 2, "1:")]


def test_node_container_is_a_copy() -> None:
    properties = _properties(("0:3", {"image": "a", "environment": [{"name": "X", "value": "1"}]}))
    container = node_container(properties, node_groups(properties), 2)
    container["environment"].append({"name": "Y", "value": "2"})
    assert properties["nodeRangeProperties"][0]["container"]["environment"] == [{"name": "X", "value": "1"}]


def test_every_problem_of_a_bad_definition_is_reported_at_once() -> None:
    properties = {"numNodes": 0, "mainNode": -1, "nodeRangeProperties": [{"targetNodes": "3:1"}, "x"]}
    with pytest.raises(NodeGroupsError) as raised:
        node_groups(properties)
    text = " | ".join(raised.value.problems)
    assert "numNodes is 0" in text
    assert "mainNode is -1" in text
    assert "nodeRangeProperties[0].targetNodes" in text
    assert "nodeRangeProperties[1] must be an object" in text


def test_uncovered_nodes_and_ranges_beyond_num_nodes_are_errors() -> None:
    with pytest.raises(NodeGroupsError, match="no node range covers node 3"):
        node_groups(_properties(("0:2", {})))
    with pytest.raises(NodeGroupsError, match="names node 7, but the job has 4 nodes"):
        node_groups(_properties(("0:7", {})))


def test_main_node_must_be_a_node_of_the_job() -> None:
    with pytest.raises(NodeGroupsError, match="mainNode 4 is not a node"):
        node_groups(_properties(("0:", {}), main_node=4))


def test_hostile_num_nodes_costs_nothing() -> None:
    groups = node_groups(_properties(("0", {}), ("1:", {}), num_nodes=10**15))
    assert groups[-1].last == 10**15 - 1


# ------------------------------------------------------------------------------------- numNodes override


def test_num_nodes_override_with_an_open_range() -> None:
    definition = _properties(("0", {"image": "main"}), ("1:", {"image": "child"}), num_nodes=2)
    effective = apply_node_overrides(definition, {"numNodes": 6})
    assert effective["numNodes"] == 6
    assert node_groups(effective)[-1] == NodeGroup(1, 5, 1, "1:")
    assert definition["numNodes"] == 2  # the definition itself is untouched


def test_num_nodes_override_needs_an_open_range() -> None:
    with pytest.raises(NodeGroupsError, match="open upper boundary"):
        apply_node_overrides(_properties(("0:3", {})), {"numNodes": 6})


def test_num_nodes_override_must_exceed_the_open_range_start_and_the_main_node() -> None:
    definition = _properties(("0:2", {}), ("3:", {}), num_nodes=4, main_node=3)
    with pytest.raises(NodeGroupsError) as raised:
        apply_node_overrides(definition, {"numNodes": 3})
    text = " | ".join(raised.value.problems)
    assert "lower boundary of the open node range (3:)" in text
    assert "mainNode 3" in text


@pytest.mark.parametrize("bad", [0, -1, True, "4", 2.0])
def test_num_nodes_override_must_be_a_positive_integer(bad: object) -> None:
    with pytest.raises(NodeGroupsError, match="numNodes"):
        apply_node_overrides(_properties(("0:", {})), {"numNodes": bad})


def test_num_nodes_below_a_closed_range_is_an_error() -> None:
    definition = _properties(("0:5", {}), ("1:", {}), num_nodes=8)
    with pytest.raises(NodeGroupsError, match="names node 5"):
        apply_node_overrides(definition, {"numNodes": 4})


# -------------------------------------------------------------------------- node property overrides


def test_property_override_applies_to_the_range_it_names() -> None:
    definition = _properties(
        ("0", {"image": "i", "command": ["main"], "environment": [{"name": "A", "value": "1"}]}),
        ("1:", {"image": "i", "command": ["child"]}),
    )
    effective = apply_node_overrides(
        definition,
        {
            "nodePropertyOverrides": [
                {
                    "targetNodes": "1:",
                    "containerOverrides": {"command": ["other"], "environment": [{"name": "B", "value": "2"}]},
                }
            ]
        },
    )
    groups = node_groups(effective)
    assert node_container(effective, groups, 0)["command"] == ["main"]
    assert node_container(effective, groups, 3)["command"] == ["other"]
    assert container_environment(node_container(effective, groups, 3)) == {"B": "2"}


def test_open_range_matches_by_its_bounds_not_its_text() -> None:
    definition = _properties((":", {"command": ["a"]}))
    effective = apply_node_overrides(
        definition, {"nodePropertyOverrides": [{"targetNodes": "0:", "containerOverrides": {"command": ["b"]}}]}
    )
    assert effective["nodeRangeProperties"][0]["container"]["command"] == ["b"]


def test_property_override_must_name_a_range_of_the_definition() -> None:
    definition = _properties(("0:1", {}), ("2:", {}))
    for target in ("0:3", "2:3", "1:"):
        with pytest.raises(NodeGroupsError, match=f"targetNodes '{target}' is not a node range"):
            apply_node_overrides(definition, {"nodePropertyOverrides": [{"targetNodes": target}]})


def test_two_overrides_of_one_range_and_reserved_names_are_all_reported() -> None:
    definition = _properties(("0:", {}))
    overrides = {
        "nodePropertyOverrides": [
            {"targetNodes": "0:", "containerOverrides": {"environment": [{"name": "AWS_BATCH_X", "value": "1"}]}},
            {"targetNodes": ":", "containerOverrides": {}},
            {"targetNodes": "x"},
        ]
    }
    with pytest.raises(NodeGroupsError) as raised:
        apply_node_overrides(definition, overrides)
    text = " | ".join(raised.value.problems)
    assert "AWS_BATCH_X" in text and "reserved" in text
    assert "same node range" in text
    assert "nodePropertyOverrides[2].targetNodes" in text


def test_malformed_container_overrides_are_reported() -> None:
    definition = _properties(("0:", {}))
    overrides = {
        "nodePropertyOverrides": [
            {
                "targetNodes": "0:",
                "containerOverrides": {
                    "command": "echo hi",
                    "resourceRequirements": [{"type": "CPU", "value": "1"}],
                    "vcpus": "2",
                },
            }
        ]
    }
    with pytest.raises(NodeGroupsError) as raised:
        apply_node_overrides(definition, overrides)
    text = " | ".join(raised.value.problems)
    assert "command must be a list of strings" in text
    assert "resourceRequirements[0]" in text
    assert "vcpus must be an integer" in text


def test_node_overrides_must_be_an_object() -> None:
    with pytest.raises(NodeGroupsError, match="nodeOverrides must be an object"):
        apply_node_overrides(_properties(("0:", {})), ["numNodes", 3])  # type: ignore[arg-type]


def test_merge_container_overrides() -> None:
    container = {
        "command": ["a"],
        "environment": [{"name": "KEEP", "value": "1"}, {"name": "CHANGE", "value": "old"}],
        "resourceRequirements": [{"type": "VCPU", "value": "2"}, {"type": "MEMORY", "value": "1024"}],
        "instanceType": "c5.large",
    }
    original = copy.deepcopy(container)
    merged = merge_container_overrides(
        container,
        {
            "environment": [{"name": "CHANGE", "value": "new"}, {"name": "ADD", "value": "x"}],
            "resourceRequirements": [{"type": "MEMORY", "value": "2048"}],
        },
    )
    assert merged["command"] == ["a"]
    assert container_environment(merged) == {"KEEP": "1", "CHANGE": "new", "ADD": "x"}
    assert sorted((r["type"], r["value"]) for r in merged["resourceRequirements"]) == [
        ("MEMORY", "2048"),
        ("VCPU", "2"),
    ]
    assert merged["instanceType"] == "c5.large"
    assert container == original


# -------------------------------------------------------------------------- parameters and environment


def test_substitute_parameters_replaces_whole_arguments_only() -> None:
    command = ["ffmpeg", "-i", "Ref::inputfile", "-c", "Ref::codec", "--x=Ref::codec", "Ref::unknown"]
    assert substitute_parameters(command, {"inputfile": "in.mp4", "codec": "mp4"}) == [
        "ffmpeg",
        "-i",
        "in.mp4",
        "-c",
        "mp4",
        "--x=Ref::codec",
        "Ref::unknown",
    ]


def test_batch_environment_of_the_main_node_has_no_main_address() -> None:
    env = batch_environment(
        job_id="j#0",
        node_index=0,
        num_nodes=3,
        main_node=0,
        attempt=1,
        queue_name="q",
        compute_environment_name="ce",
        main_node_address="10.0.0.1",
    )
    assert ENV_MAIN_NODE_ADDRESS not in env
    assert env == {
        "AWS_BATCH_JOB_ID": "j#0",
        "AWS_BATCH_JOB_ATTEMPT": "1",
        "AWS_BATCH_JQ_NAME": "q",
        "AWS_BATCH_CE_NAME": "ce",
        "AWS_BATCH_JOB_NODE_INDEX": "0",
        "AWS_BATCH_JOB_NUM_NODES": "3",
        "AWS_BATCH_JOB_MAIN_NODE_INDEX": "0",
    }


def test_batch_environment_of_a_child_has_the_main_address() -> None:
    env = batch_environment(
        job_id="j#2",
        node_index=2,
        num_nodes=3,
        main_node=0,
        attempt=2,
        queue_name="q",
        compute_environment_name="ce",
        main_node_address="10.0.0.1",
    )
    assert env[ENV_MAIN_NODE_ADDRESS] == "10.0.0.1"
    assert env["AWS_BATCH_JOB_ATTEMPT"] == "2"
    with pytest.raises(ValueError, match="main node's address"):
        batch_environment(
            job_id="j#2",
            node_index=2,
            num_nodes=3,
            main_node=0,
            attempt=1,
            queue_name="q",
            compute_environment_name="ce",
            main_node_address=None,
        )


# ------------------------------------------------------------------------------------------ asks


def test_node_range_asks_read_resource_requirements_before_the_deprecated_fields() -> None:
    from mnp_toolkit.core.node_groups import NodeAsks, node_range_asks

    node_range = {
        "targetNodes": "0:",
        "container": {
            "vcpus": 2,
            "memory": 1024,
            "instanceType": "c5.xlarge",
            "resourceRequirements": [{"type": "VCPU", "value": "4"}, {"type": "GPU", "value": "1"}],
        },
    }
    assert node_range_asks(node_range) == NodeAsks(vcpus=4.0, memory_mib=1024.0, gpus=1.0, instance_type="c5.xlarge")


def test_node_range_asks_after_an_override_see_the_override() -> None:
    from mnp_toolkit.core.node_groups import node_range_asks

    properties = _properties(("0:", {"image": "a", "resourceRequirements": [{"type": "VCPU", "value": "1"}]}))
    effective = apply_node_overrides(
        properties,
        {
            "nodePropertyOverrides": [
                {
                    "targetNodes": "0:",
                    "containerOverrides": {
                        "instanceType": "c5.large",
                        "resourceRequirements": [{"type": "VCPU", "value": "8"}, {"type": "MEMORY", "value": "2048"}],
                    },
                }
            ]
        },
    )
    asks = node_range_asks(effective["nodeRangeProperties"][0])
    assert (asks.vcpus, asks.memory_mib, asks.gpus, asks.instance_type) == (8.0, 2048.0, None, "c5.large")


@pytest.mark.parametrize(
    ("node_range", "instance_type"),
    [
        ({"container": {}, "instanceTypes": ["p4d.24xlarge"]}, "p4d.24xlarge"),
        ({"container": {"instanceType": " "}, "instanceTypes": ["p4d.24xlarge"]}, "p4d.24xlarge"),
        ({"container": {}}, None),
        ({"ecsProperties": {}}, None),
    ],
)
def test_node_range_asks_instance_type(node_range: dict[str, Any], instance_type: str | None) -> None:
    from mnp_toolkit.core.node_groups import node_range_asks

    assert node_range_asks(node_range).instance_type == instance_type


@pytest.mark.parametrize("value", ["lots", "nan", "inf", None])
def test_node_range_asks_that_are_not_numbers_are_unknown(value: object) -> None:
    from mnp_toolkit.core.node_groups import node_range_asks

    container = {"vcpus": 2, "resourceRequirements": [{"type": "VCPU", "value": value}]}
    assert node_range_asks({"container": container}).vcpus is None
    assert node_range_asks({"container": {"vcpus": True}}).vcpus is None
