"""NodeContext.from_env: strict parsing of the Batch MNP environment variables."""

from __future__ import annotations

from typing import Any

import pytest

from mnp_runtime import ConfigError, NodeContext

CHILD = {
    "AWS_BATCH_JOB_NODE_INDEX": "3",
    "AWS_BATCH_JOB_NUM_NODES": "8",
    "AWS_BATCH_JOB_MAIN_NODE_INDEX": "0",
    "AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS": "10.0.1.23",
    "AWS_BATCH_JOB_ID": "8f03e412-aaaa-bbbb-cccc-0123456789ab#3",
}
MAIN = {"AWS_BATCH_JOB_NODE_INDEX": "0", "AWS_BATCH_JOB_NUM_NODES": "8", "AWS_BATCH_JOB_MAIN_NODE_INDEX": "0"}


def test_child_context() -> None:
    ctx = NodeContext.from_env(environ=CHILD)
    assert ctx == NodeContext(
        node_index=3,
        num_nodes=8,
        main_node_index=0,
        main_address="10.0.1.23",
        job_id="8f03e412-aaaa-bbbb-cccc-0123456789ab#3",
    )
    assert not ctx.is_main
    assert ctx.node_rank == 3
    assert ctx.parent_job_id == "8f03e412-aaaa-bbbb-cccc-0123456789ab"


def test_main_context_has_no_main_address() -> None:
    ctx = NodeContext.from_env(environ=MAIN)
    assert ctx.is_main
    assert ctx.main_address is None
    assert ctx.node_rank == 0
    assert ctx.job_id is None and ctx.parent_job_id is None


def test_node_rank_puts_a_non_zero_main_node_first() -> None:
    env = {**CHILD, "AWS_BATCH_JOB_MAIN_NODE_INDEX": "5"}
    ranks = [NodeContext.from_env(environ={**env, "AWS_BATCH_JOB_NODE_INDEX": str(i)}).node_rank for i in range(8)]
    assert ranks == [3, 4, 5, 6, 7, 0, 1, 2]


def test_values_are_stripped_and_address_normalised() -> None:
    ctx = NodeContext.from_env(
        environ={
            **CHILD,
            "AWS_BATCH_JOB_NODE_INDEX": " 3\n",
            "AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS": " 10.0.1.23 ",
        }
    )
    assert (ctx.node_index, ctx.main_address) == (3, "10.0.1.23")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"AWS_BATCH_JOB_NODE_INDEX": None}, "AWS_BATCH_JOB_NODE_INDEX is not set (expected an integer >= 0)"),
        ({"AWS_BATCH_JOB_NUM_NODES": None}, "AWS_BATCH_JOB_NUM_NODES is not set (expected an integer >= 1)"),
        (
            {"AWS_BATCH_JOB_MAIN_NODE_INDEX": None},
            "AWS_BATCH_JOB_MAIN_NODE_INDEX is not set (expected an integer >= 0)",
        ),
        ({"AWS_BATCH_JOB_NODE_INDEX": "-1"}, "AWS_BATCH_JOB_NODE_INDEX is '-1' (expected an integer >= 0)"),
        ({"AWS_BATCH_JOB_NODE_INDEX": "+3"}, "AWS_BATCH_JOB_NODE_INDEX is '+3' (expected an integer >= 0)"),
        ({"AWS_BATCH_JOB_NODE_INDEX": "3.0"}, "AWS_BATCH_JOB_NODE_INDEX is '3.0' (expected an integer >= 0)"),
        ({"AWS_BATCH_JOB_NODE_INDEX": "\u0663"}, "AWS_BATCH_JOB_NODE_INDEX is '\u0663' (expected an integer >= 0)"),
        ({"AWS_BATCH_JOB_NUM_NODES": "0"}, "AWS_BATCH_JOB_NUM_NODES is 0 (expected an integer >= 1)"),
        ({"AWS_BATCH_JOB_NUM_NODES": ""}, "AWS_BATCH_JOB_NUM_NODES is '' (expected an integer >= 1)"),
        (
            {"AWS_BATCH_JOB_NODE_INDEX": "8"},
            "AWS_BATCH_JOB_NODE_INDEX is 8 (expected 0..7, since AWS_BATCH_JOB_NUM_NODES is 8)",
        ),
        (
            {"AWS_BATCH_JOB_MAIN_NODE_INDEX": "9"},
            "AWS_BATCH_JOB_MAIN_NODE_INDEX is 9 (expected 0..7, since AWS_BATCH_JOB_NUM_NODES is 8)",
        ),
        (
            {"AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS": None},
            "AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS is not set (expected the main node's IPv4 address "
            "on child node 3)",
        ),
        (
            {"AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS": "ip-10-0-1-23"},
            "AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS is 'ip-10-0-1-23': expected an IPv4 address",
        ),
        (
            {"AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS": "fd00::1"},
            "AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS is 'fd00::1': expected an IPv4 address",
        ),
    ],
)
def test_missing_or_malformed_variable_is_named(changes: dict[str, str | None], expected: str) -> None:
    env = {**CHILD}
    for name, value in changes.items():
        if value is None:
            env.pop(name)
        else:
            env[name] = value
    with pytest.raises(ConfigError) as caught:
        NodeContext.from_env(environ=env)
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message
    assert "AWS Batch multi-node parallel job" in message  # says how to fix it


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        NodeContext.from_env(environ={"AWS_BATCH_JOB_NODE_INDEX": "x"})
    message = str(caught.value)
    for name in ("AWS_BATCH_JOB_NODE_INDEX", "AWS_BATCH_JOB_NUM_NODES", "AWS_BATCH_JOB_MAIN_NODE_INDEX"):
        assert name in message


def test_main_node_address_variable_is_optional_on_the_main_node_but_checked_if_set() -> None:
    assert (
        NodeContext.from_env(environ={**MAIN, "AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS": "10.0.0.9"}).main_address
        == "10.0.0.9"
    )
    with pytest.raises(ConfigError, match="AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS is 'nope'"):
        NodeContext.from_env(environ={**MAIN, "AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS": "nope"})


def test_from_env_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CHILD.items():
        monkeypatch.setenv(name, value)
    assert NodeContext.from_env().node_index == 3


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"node_index": 0, "num_nodes": 0, "main_node_index": 0}, "num_nodes is 0: expected at least 1"),
        ({"node_index": 4, "num_nodes": 4, "main_node_index": 0}, "node_index is 4: expected 0..3 for a 4-node job"),
        ({"node_index": 1, "num_nodes": 4, "main_node_index": 0}, "a child node needs the main node's address"),
    ],
)
def test_direct_construction_is_validated(kwargs: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        NodeContext(**kwargs)


def test_as_dict() -> None:
    assert NodeContext.from_env(environ=CHILD).as_dict() == {
        "node_index": 3,
        "num_nodes": 8,
        "main_node_index": 0,
        "is_main": False,
        "node_rank": 3,
        "main_address": "10.0.1.23",
        "job_id": "8f03e412-aaaa-bbbb-cccc-0123456789ab#3",
        "parent_job_id": "8f03e412-aaaa-bbbb-cccc-0123456789ab",
    }
