"""`mnp submit --node-override TARGET KEY=VALUE` (mnp_toolkit/ops/submit.py): parsed into SubmitJob's
``nodeOverrides.nodePropertyOverrides``, checked on the job definition before SubmitJob.

Backends: none for the parsing and the checks on a definition (JobDefinitionInfo built here, shaped as
DescribeJobDefinitions returns it); botocore Stubber for what is sent and for AWS's refusal. The same against
the emulated AWS, through the real CLI, is in test_emulator_cli.py.
"""

from __future__ import annotations

import io
from typing import Any

import pytest

from mnp_toolkit.cli import main as cli_main
from mnp_toolkit.errors import UserError
from mnp_toolkit.ops.submit import (
    JobDefinitionInfo,
    node_property_override_problems,
    parse_node_overrides,
    run_submit,
    submit_job,
)
from tests.mnp_toolkit.ops.conftest import REGION

JOB = "9d5e0a1b-aaaa-bbbb-cccc-ddddeeeeffff"
DEF_ARN = f"arn:aws:batch:{REGION}:123456789012:job-definition/train:3"


def _container(instance_type: str | None = "c5.xlarge", **extra: Any) -> dict[str, Any]:
    container: dict[str, Any] = {
        "image": "busybox",
        "resourceRequirements": [{"type": "VCPU", "value": "2"}, {"type": "MEMORY", "value": "2048"}],
        **extra,
    }
    if instance_type:
        container["instanceType"] = instance_type
    return container


def _node_properties(*ranges: tuple[str, dict[str, Any]], num_nodes: int = 4) -> dict[str, Any]:
    return {
        "numNodes": num_nodes,
        "mainNode": 0,
        "nodeRangeProperties": [{"targetNodes": target, "container": c} for target, c in ranges],
    }


def _info(properties: dict[str, Any] | None, *, kind: str = "multinode") -> JobDefinitionInfo:
    ranges = tuple(r["targetNodes"] for r in (properties or {}).get("nodeRangeProperties", []))
    return JobDefinitionInfo(
        name="train", revision=3, arn=DEF_ARN, type=kind, num_nodes=4, main_node=0, target_nodes=ranges,
        node_properties=properties,
    )  # fmt: skip


TWO_RANGES = _node_properties(("0", _container()), ("1:", _container()))


# ------------------------------------------------------------------------------------------ parsing


def test_settings_become_container_overrides_per_target() -> None:
    """No AWS: one entry per target in the order first given; the command split like a shell; resources as
    resourceRequirements with string values (the deprecated vcpus/memory fields would not override them)."""
    overrides = parse_node_overrides(
        [
            ("1:", "env.NCCL_DEBUG=INFO"),
            ("0", "command=python -m train --role 'main node'"),
            ("1:", "vcpus=4"),
            ("1:", "memory=6000"),
            ("1:", "env.EMPTY="),
            ("0", "instance-type=c5.2xlarge"),
            ("0", "gpus=0"),
        ]
    )
    assert overrides == [
        {
            "targetNodes": "1:",
            "containerOverrides": {
                "environment": [{"name": "NCCL_DEBUG", "value": "INFO"}, {"name": "EMPTY", "value": ""}],
                "resourceRequirements": [{"type": "VCPU", "value": "4"}, {"type": "MEMORY", "value": "6000"}],
            },
        },
        {
            "targetNodes": "0",
            "containerOverrides": {
                "command": ["python", "-m", "train", "--role", "main node"],
                "instanceType": "c5.2xlarge",
                "resourceRequirements": [{"type": "GPU", "value": "0"}],
            },
        },
    ]


def test_every_bad_setting_is_named_at_once() -> None:
    """No AWS: all problems in one line, each naming the option as given."""
    with pytest.raises(UserError) as caught:
        parse_node_overrides(
            [
                ("1-3", "vcpus=2"),
                ("1:", "vcpus=two"),
                ("1:", "colour=red"),
                ("1:", "command=echo 'unbalanced"),
                ("1:", "memory=2"),
                ("1:", "noequals"),
                ("0", "env.=x"),
                ("0", "instance-type=huge"),
                ("0", "command="),
                ("0", "env.A=1"),
                ("0", "env.A=2"),
            ]
        )
    message = str(caught.value)
    assert caught.value.exit_code == 2
    assert "\n" not in message
    for expected in (
        "--node-override 1-3: '1-3' is not of the form n:m",
        "--node-override 1: vcpus=two: vcpus must be a whole number of vCPUs, at least 1",
        "unknown setting colour; use one of command, env.NAME, instance-type, vcpus, memory, gpus",
        "the command does not split like a shell command (No closing quotation)",
        "memory must be a whole number of MiB, at least 4",
        "--node-override 1: noequals: write KEY=VALUE",
        "env. needs a variable name",
        "instance-type=huge: huge is not an instance type name",
        "the command is empty",
        "env.A is given twice for 0",
    ):
        assert expected in message, expected


# ------------------------------------------------------------------------- checks on the definition


def test_targets_must_be_the_definition_s_ranges() -> None:
    """No AWS: the "NodeOverride targets should match job definition" failure, before SubmitJob: a target that
    is not one of the definition's ranges, and two spellings of one range, are named with their options."""
    overrides = parse_node_overrides([("0:2", "env.A=1"), ("1:", "env.B=2"), (":0", "env.C=3"), ("0", "env.D=4")])

    problems = node_property_override_problems(_info(TWO_RANGES), overrides)

    assert problems == [
        "--node-override 0:2 is not a node range of the job definition (0, 1:); target one of those ranges "
        "(same first and last node)",
        "--node-override 0 overrides the same node range as --node-override :0; merge the two overrides into one",
    ]


def test_reserved_variable_names_are_refused_by_the_core() -> None:
    """No AWS: AWS_BATCH* variables are Batch's (API ContainerOverrides.environment)."""
    overrides = parse_node_overrides([("1:", "env.AWS_BATCH_JOB_ID=x")])
    (problem,) = node_property_override_problems(_info(TWO_RANGES), overrides)
    assert problem.startswith("--node-override 1: 'AWS_BATCH_JOB_ID' starts with AWS_BATCH")


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ([("1:", "vcpus=8")], "nodes 1-3 (node range 1:) would ask for 8 vCPUs per node, but c5.xlarge has 4"),
        (
            [("0", "memory=8192")],
            "node 0 (node range 0) would ask for 8192 MiB of memory per node, but c5.xlarge offers",
        ),
        ([("0", "gpus=1")], "node 0 (node range 0) would ask for 1 GPUs per node, but c5.xlarge has 0"),
        (
            [("1:", "instance-type=c5.2xlarge")],
            "the nodes would run on different instance types (c5.xlarge for node 0 (node range 0); c5.2xlarge for "
            "nodes 1-3 (node range 1:))",
        ),
    ],
)
def test_overrides_that_ask_more_than_the_instance_are_refused(settings: list[tuple[str, str]], expected: str) -> None:
    """No AWS: an override that makes a node ask more than its instance type offers (the toolkit's facts, as
    MNP015 judges a definition), or runs node groups on different instance types (user guide, "Node
    groups": all must use the same), is refused: such a job waits in RUNNABLE or is rejected."""
    problems = node_property_override_problems(_info(TWO_RANGES), parse_node_overrides(settings))
    assert len(problems) == 1
    assert expected in problems[0]


@pytest.mark.parametrize(
    "settings",
    [
        [("1:", "vcpus=4"), ("1:", "memory=4096")],
        [("0", "instance-type=c5.2xlarge"), ("1:", "instance-type=c5.2xlarge"), ("1:", "vcpus=8")],
        [("1:", "command=python worker.py"), ("1:", "env.RANK_OFFSET=1")],
    ],
)
def test_overrides_that_fit_pass(settings: list[tuple[str, str]]) -> None:
    """No AWS: within the instance (4 vCPUs of c5.xlarge), or a larger type for every range, passes."""
    assert node_property_override_problems(_info(TWO_RANGES), parse_node_overrides(settings)) == []


def test_what_cannot_be_judged_is_not_claimed() -> None:
    """No AWS: no nodeProperties returned (moto), an instance type the facts table does not know, or no
    instance type at all: no problem is invented."""
    overrides = parse_node_overrides([("1:", "vcpus=512")])
    unknown_type = _node_properties(("0", _container("c99.metal")), ("1:", _container("c99.metal")))
    no_type = _node_properties(("0", _container(None)), ("1:", _container(None)))
    assert node_property_override_problems(_info(None), overrides) == []
    assert node_property_override_problems(_info(unknown_type), overrides) == []
    assert node_property_override_problems(_info(no_type), overrides) == []


def test_not_for_a_container_job_or_ecs_properties_ranges() -> None:
    """No AWS: --node-override is for multinode definitions whose ranges have a container."""
    overrides = parse_node_overrides([("0", "env.A=1")])
    (container_job,) = node_property_override_problems(_info(None, kind="container"), overrides)
    assert "is a container job, not multinode" in container_job
    ecs = {"numNodes": 2, "mainNode": 0, "nodeRangeProperties": [{"targetNodes": "0:", "ecsProperties": {}}]}
    (problem,) = node_property_override_problems(_info(ecs), overrides)
    assert "node ranges without a container" in problem


def test_a_node_count_override_is_judged_with_the_ranges() -> None:
    """No AWS: with --nodes 2 the open range 1: covers node 1 only; overrides are judged on that job."""
    properties = _node_properties(("0", _container()), ("1:", _container()), ("2:3", _container()))
    overrides = parse_node_overrides([("2:3", "env.A=1")])
    problems = node_property_override_problems(_info(properties), overrides, nodes=2)
    assert problems and "names node 3, but the job has 2 nodes" in problems[0]


# ------------------------------------------------------------------------------------------ Stubber


def _expect_definition(stubber: Any, properties: dict[str, Any]) -> None:
    stubber.add_response(
        "describe_job_definitions",
        {
            "jobDefinitions": [
                {
                    "jobDefinitionName": "train",
                    "jobDefinitionArn": DEF_ARN,
                    "revision": 3,
                    "status": "ACTIVE",
                    "type": "multinode",
                    "nodeProperties": properties,
                }
            ]
        },
        {"jobDefinitionName": "train", "status": "ACTIVE"},
    )


def test_overrides_are_sent_with_the_node_count(stubbed: Any) -> None:
    """Stubber (documented shapes): numNodes and nodePropertyOverrides go into one nodeOverrides; the Stubber
    checks the exact SubmitJob parameters."""
    client, stubber = stubbed("batch")
    _expect_definition(stubber, TWO_RANGES)
    stubber.add_response(
        "submit_job",
        {"jobArn": f"arn:aws:batch:{REGION}:123456789012:job/{JOB}", "jobName": "run", "jobId": JOB},
        {
            "jobName": "run",
            "jobQueue": "q",
            "jobDefinition": DEF_ARN,
            "nodeOverrides": {
                "numNodes": 8,
                "nodePropertyOverrides": [
                    {"targetNodes": "1:", "containerOverrides": {"environment": [{"name": "A", "value": "1"}]}}
                ],
            },
        },
    )

    job_id = submit_job(client, queue="q", definition="train", name="run", nodes=8, node_overrides=[("1:", "env.A=1")])

    stubber.assert_no_pending_responses()
    assert job_id == JOB


def test_bad_overrides_are_refused_before_submit_job(stubbed: Any) -> None:
    """Stubber: no SubmitJob response is queued, so a call would fail the test differently; one line, exit 2,
    naming the definition's revision and every problem."""
    client, stubber = stubbed("batch")
    _expect_definition(stubber, TWO_RANGES)

    with pytest.raises(UserError) as caught:
        submit_job(client, queue="q", definition="train", node_overrides=[("0:3", "env.A=1"), ("1:", "vcpus=64")])

    stubber.assert_no_pending_responses()
    message = str(caught.value)
    assert caught.value.exit_code == 2
    assert message.startswith("job definition train:3 cannot take these --node-override settings: ")
    assert "--node-override 0:3 is not a node range of the job definition (0, 1:)" in message
    assert "would ask for 64 vCPUs per node, but c5.xlarge has 4" in message


def test_aws_refusing_the_targets_is_explained(stubbed: Any) -> None:
    """Stubber: the definition cannot be read (no permission), so AWS is the judge; its ClientException
    (the message users meet on AWS) gets the fix appended, and a note says the check was skipped."""
    client, stubber = stubbed("batch")
    stubber.add_client_error("describe_job_definitions", "AccessDeniedException", "not authorized", 403)
    stubber.add_client_error("submit_job", "ClientException", "NodeOverride targets should match job definition", 400)
    err = io.StringIO()

    with pytest.raises(UserError) as caught:
        run_submit(
            client, queue="q", definition="train", node_overrides=[("0:2", "env.A=1")], out=io.StringIO(), err=err
        )

    message = str(caught.value)
    assert "AWS Batch rejected the request in us-east-1: NodeOverride targets should match job definition" in message
    assert "each --node-override TARGET must be one of the job definition's node ranges" in message
    assert "submitting without checking it" in err.getvalue()


def test_bad_override_syntax_exits_2_without_calling_aws(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No AWS: the endpoint is a closed port, so any call would fail with another message."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    code = cli_main(["submit", "--queue", "q", "--job-definition", "d", "--node-override", "1:", "vcpus=lots"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert "--node-override 1: vcpus=lots: vcpus must be a whole number" in err
