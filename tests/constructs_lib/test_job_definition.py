"""MnpJobDefinition: node ranges (open-ended, nested), NumNodes, resources, retries, logs, EFA."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk.assertions import Template

from constructs_lib import MnpJobDefinition, MnpPropsError, NodeGroup
from mnp_toolkit.core import instance_types
from mnp_toolkit.core.instance_types import InstanceTypeFacts
from tests.constructs_lib.conftest import fresh_stack
from tests.helpers.cdk_app import cdk_app

IMAGE = "public.ecr.aws/example/mpi:1"


def _facts(name: str) -> InstanceTypeFacts:
    facts = instance_types.lookup(name)
    assert facts is not None, f"the instance-type table lost {name}"
    return facts


C5N = _facts("c5n.18xlarge")
P4D = _facts("p4d.24xlarge")


def _props(jd: MnpJobDefinition, template: Mapping[str, Any]) -> dict[str, Any]:
    """The rendered properties of one construct's job definition (found by its Ref, not its logical ID)."""
    stack = Stack.of(jd)
    logical_id = stack.resolve(jd.job_definition.node.default_child.logical_id)  # type: ignore[union-attr]
    props: dict[str, Any] = template["Resources"][logical_id]["Properties"]
    return props


def _targets(props: dict[str, Any]) -> list[str]:
    return [r["TargetNodes"] for r in props["NodeProperties"]["NodeRangeProperties"]]


@pytest.fixture(scope="module")
def synth() -> dict[str, Any]:
    stack = Stack(cdk_app(), "JobDefinitions")
    jds = {
        "default": MnpJobDefinition(stack, "Default", image=IMAGE, instance_type="c5n.18xlarge", num_nodes=4),
        "nested": MnpJobDefinition(
            stack,
            "Nested",
            image=IMAGE,
            instance_type="c5n.18xlarge",
            num_nodes=10,
            main_node=0,
            environment={"SHARED": "1", "ROLE": "worker"},
            node_groups=[
                NodeGroup(target_nodes="0:9", command=["worker"]),
                NodeGroup(target_nodes="0", command=["main"], environment={"ROLE": "main"}),
            ],
        ),
        "closed": MnpJobDefinition(
            stack, "Closed", image=IMAGE, instance_type="c5n.18xlarge", num_nodes=4, open_ended=False
        ),
        "groups": MnpJobDefinition(
            stack,
            "Groups",
            image=IMAGE,
            instance_type="c5n.18xlarge",
            num_nodes=8,
            main_node=0,
            node_groups=[
                NodeGroup(target_nodes="0", vcpus=8, memory_mib=16384),
                NodeGroup(target_nodes="1:3", image="public.ecr.aws/example/other:2"),
                NodeGroup(target_nodes="4:"),
            ],
            command=["run"],
            environment={"A": "1"},
            retry_attempts=3,
            timeout=Duration.hours(2),
        ),
        "retry_any": MnpJobDefinition(
            stack,
            "RetryAny",
            image=IMAGE,
            instance_type="c5n.18xlarge",
            num_nodes=2,
            retry_attempts=2,
            retry_on="any",
        ),
        "efa": MnpJobDefinition(stack, "Efa", image=IMAGE, instance_type="p4d.24xlarge", num_nodes=2, gpus=8, efa=True),
        "unknown": MnpJobDefinition(
            stack,
            "Unknown",
            image=IMAGE,
            instance_type="zz9.hyperlarge",
            num_nodes=3,
            vcpus=16,
            memory_mib=30000,
            node_groups=[NodeGroup(target_nodes="0:"), NodeGroup(target_nodes="0", vcpus=4)],
        ),
    }
    return {"template": Template.from_stack(stack), "jds": jds}


def test_default_is_one_open_ended_group_filling_the_instance(synth: dict[str, Any]) -> None:
    jd = synth["jds"]["default"]
    props = _props(jd, synth["template"].to_json())
    assert props["Type"] == "multinode"
    assert props["NodeProperties"]["NumNodes"] == 4
    assert props["NodeProperties"]["MainNode"] == 0
    assert _targets(props) == ["0:"]
    container = props["NodeProperties"]["NodeRangeProperties"][0]["Container"]
    assert container["InstanceType"] == "c5n.18xlarge"
    assert container["Image"] == IMAGE
    assert {"Type": "VCPU", "Value": str(C5N.vcpus)} in container["ResourceRequirements"]
    assert {"Type": "MEMORY", "Value": str(C5N.container_memory_mib)} in container["ResourceRequirements"]
    assert container["Privileged"] is False
    assert "RetryStrategy" not in props or props["RetryStrategy"] == {"Attempts": 1}


def test_nested_ranges_count_once_and_last_range_is_open(synth: dict[str, Any]) -> None:
    props = _props(synth["jds"]["nested"], synth["template"].to_json())
    # aws-cdk's MultiNodeJobDefinition would render NumNodes 11 (10 + 1) and closed ranges.
    assert props["NodeProperties"]["NumNodes"] == 10
    assert _targets(props) == ["0:", "0:0"]
    ranges = props["NodeProperties"]["NodeRangeProperties"]
    assert ranges[0]["Container"]["Command"] == ["worker"]
    assert ranges[1]["Container"]["Command"] == ["main"]
    assert ranges[0]["Container"]["Environment"] == [
        {"Name": "SHARED", "Value": "1"},
        {"Name": "ROLE", "Value": "worker"},
    ]
    # a group's environment adds to the job definition's and overrides the same names
    assert ranges[1]["Container"]["Environment"] == [
        {"Name": "SHARED", "Value": "1"},
        {"Name": "ROLE", "Value": "main"},
    ]


def test_open_ended_false_renders_closed_ranges(synth: dict[str, Any]) -> None:
    props = _props(synth["jds"]["closed"], synth["template"].to_json())
    assert _targets(props) == ["0:3"]


def test_several_groups_keep_their_settings(synth: dict[str, Any]) -> None:
    props = _props(synth["jds"]["groups"], synth["template"].to_json())
    assert props["NodeProperties"]["NumNodes"] == 8
    assert _targets(props) == ["0:0", "1:3", "4:"]
    first, second, third = (r["Container"] for r in props["NodeProperties"]["NodeRangeProperties"])
    assert {"Type": "VCPU", "Value": "8"} in first["ResourceRequirements"]
    assert {"Type": "MEMORY", "Value": "16384"} in first["ResourceRequirements"]
    assert second["Image"] == "public.ecr.aws/example/other:2"
    assert third["Image"] == IMAGE and third["Command"] == ["run"]
    assert {c["InstanceType"] for c in (first, second, third)} == {"c5n.18xlarge"}
    assert props["Timeout"] == {"AttemptDurationSeconds": 7200}


def test_retries_only_infrastructure_failures_by_default(synth: dict[str, Any]) -> None:
    props = _props(synth["jds"]["groups"], synth["template"].to_json())
    assert props["RetryStrategy"] == {
        "Attempts": 3,
        "EvaluateOnExit": [
            {"Action": "RETRY", "OnStatusReason": "Host EC2*"},
            {"Action": "EXIT", "OnReason": "*"},
        ],
    }
    any_props = _props(synth["jds"]["retry_any"], synth["template"].to_json())
    assert any_props["RetryStrategy"] == {"Attempts": 2}


def test_logs_go_to_a_log_group_with_retention(synth: dict[str, Any]) -> None:
    template: Template = synth["template"]
    jd: MnpJobDefinition = synth["jds"]["default"]
    props = _props(jd, template.to_json())
    log = props["NodeProperties"]["NodeRangeProperties"][0]["Container"]["LogConfiguration"]
    assert log["LogDriver"] == "awslogs"
    assert log["Options"]["awslogs-group"] == Stack.of(jd).resolve(jd.log_group.log_group_name)
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 30})


def test_efa_maps_every_uverbs_device_and_unlimited_memlock(synth: dict[str, Any]) -> None:
    props = _props(synth["jds"]["efa"], synth["template"].to_json())
    container = props["NodeProperties"]["NodeRangeProperties"][0]["Container"]
    devices = container["LinuxParameters"]["Devices"]
    assert [d["HostPath"] for d in devices] == [f"/dev/infiniband/uverbs{i}" for i in range(4)]
    assert all(d["ContainerPath"] == d["HostPath"] for d in devices)
    assert all(d["Permissions"] == ["READ", "WRITE", "MKNOD"] for d in devices)
    assert container["Ulimits"] == [{"Name": "memlock", "HardLimit": -1, "SoftLimit": -1}]
    assert {"Type": "GPU", "Value": "8"} in container["ResourceRequirements"]


def test_unknown_instance_type_uses_given_resources(synth: dict[str, Any]) -> None:
    jd: MnpJobDefinition = synth["jds"]["unknown"]
    assert jd.instance_facts is None
    # The size of an instance the table does not know is unknown: the sum of the asks (4 + 16 + 16) would
    # only be a lower bound, so no vCPU need is claimed and a compute environment must be given max_vcpus.
    assert jd.required_vcpus is None
    props = _props(jd, synth["template"].to_json())
    assert props["NodeProperties"]["NumNodes"] == 3
    assert _targets(props) == ["0:", "0:0"]


def test_required_vcpus_of_a_known_type(synth: dict[str, Any]) -> None:
    assert synth["jds"]["default"].required_vcpus == 4 * C5N.vcpus
    assert synth["jds"]["nested"].required_vcpus == 10 * C5N.vcpus
    assert synth["jds"]["efa"].required_vcpus == 2 * P4D.vcpus


def test_every_node_shares_one_execution_role(synth: dict[str, Any]) -> None:
    props = _props(synth["jds"]["groups"], synth["template"].to_json())
    roles = {str(r["Container"]["ExecutionRoleArn"]) for r in props["NodeProperties"]["NodeRangeProperties"]}
    assert len(roles) == 1


# -- validation (no synth) ----------------------------------------------------------------------------


def _build(**overrides: Any) -> MnpJobDefinition:
    props: dict[str, Any] = {"image": IMAGE, "instance_type": "c5n.18xlarge", "num_nodes": 4}
    props.update(overrides)
    return MnpJobDefinition(fresh_stack(), "Jd", **props)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"num_nodes": 0}, "num_nodes: is 0"),
        ({"main_node": 4}, "main_node: is 4 but the job has nodes 0 to 3"),
        ({"main_node": -1}, "main_node: is -1"),
        ({"retry_attempts": 0}, "retry_attempts: is 0"),
        ({"retry_attempts": 11}, "retry_attempts: is 11"),
        ({"retry_on": "sometimes"}, "retry_on: is 'sometimes'"),
        ({"timeout": Duration.seconds(30)}, "timeout: is 30 seconds"),
        ({"instance_type": "c5n"}, "instance_type: 'c5n' is not an instance type name"),
        ({"instance_type": "optimal"}, "instance_type: 'optimal' is not an instance type name"),
        ({"vcpus": 73}, "vcpus: node group '0:' asks for 73 vCPUs but c5n.18xlarge has 72"),
        ({"vcpus": 0}, "vcpus: is 0"),
        ({"memory_mib": 2}, "memory_mib: is 2"),
        ({"memory_mib": 196608}, "memory_mib: node group '0:' asks for 196608 MiB but c5n.18xlarge offers"),
        ({"gpus": 1}, "gpus: node group '0:' asks for 1 GPUs but c5n.18xlarge has 0"),
        ({"gpus": -1}, "gpus: is -1"),
        ({"shared_memory_mib": 0}, "shared_memory_mib: is 0"),
        ({"instance_type": "zz9.hyperlarge", "memory_mib": 1024}, "vcpus: is not set for node group '0:'"),
        ({"instance_type": "zz9.hyperlarge", "vcpus": 4}, "memory_mib: is not set for node group '0:'"),
    ],
)
def test_rejects_bad_props(overrides: dict[str, Any], match: str) -> None:
    with pytest.raises(MnpPropsError, match=rf"MnpJobDefinition 'Jd': {match}"):
        _build(**overrides)


@pytest.mark.parametrize(
    ("targets", "match"),
    [
        (["a:b"], "node_groups\\[0\\].target_nodes: 'a:b' is not of the form n:m, :m, n: or n"),
        (["-1:"], "node_groups\\[0\\].target_nodes: '-1:' is not of the form"),
        ([" 0:"], "node_groups\\[0\\].target_nodes: ' 0:' is not of the form"),
        (["3:1"], "node_groups\\[0\\].target_nodes: '3:1' starts after it ends"),
        (["0:4"], "node_groups\\[0\\].target_nodes: '0:4' reaches node 4 but the job has nodes 0 to 3"),
        (["4:"], "node_groups\\[0\\].target_nodes: '4:' reaches node 4"),
        (["0:1", "3"], "node_groups: no group covers node 2 of 0 to 3"),
        (["0", "1", "2", "3", "0:", "1:"], "node_groups: has 6 groups"),
        ([], "node_groups: is empty"),
    ],
)
def test_rejects_bad_node_groups(targets: list[str], match: str) -> None:
    with pytest.raises(MnpPropsError, match=match):
        _build(node_groups=[NodeGroup(target_nodes=t) for t in targets])


def test_group_resources_are_checked_against_the_instance() -> None:
    groups = [NodeGroup(target_nodes="0:"), NodeGroup(target_nodes="1", vcpus=100)]
    with pytest.raises(MnpPropsError, match=r"node_groups\[1\].vcpus: node group '1' asks for 100 vCPUs"):
        _build(node_groups=groups)


def test_five_groups_and_nested_open_ranges_are_accepted() -> None:
    groups = [NodeGroup(target_nodes=t) for t in ("0:", "0", "1:2", "3:", "4")]
    jd = _build(num_nodes=6, node_groups=groups)
    assert [(r.start, r.end) for r in jd.node_ranges] == [(0, None), (0, 0), (1, 2), (3, None), (4, 4)]
    assert [r.render(6, open_ended=True) for r in jd.node_ranges] == ["0:", "0:0", "1:2", "3:", "4:4"]
    assert [r.render(6, open_ended=False) for r in jd.node_ranges] == ["0:5", "0:0", "1:2", "3:5", "4:4"]


def test_error_message_names_construct_prop_problem_and_fix() -> None:
    with pytest.raises(MnpPropsError) as info:
        _build(num_nodes=0)
    error = info.value
    assert (error.construct, error.construct_id, error.prop) == ("MnpJobDefinition", "Jd", "num_nodes")
    assert "Fix: use 1 or more" in str(error) and "(MNP008)" in str(error)


def test_every_violation_is_named_at_once() -> None:
    with pytest.raises(MnpPropsError) as info:
        _build(main_node=9, retry_attempts=20, vcpus=0)
    message = str(info.value)
    assert all(rule in message for rule in ("MNP011", "MNP017", "MNP016")), message


@pytest.mark.parametrize(
    ("overrides", "rule", "text"),
    [
        ({"num_nodes": 1001}, "MNP109", "num_nodes: is 1001, above the default limit"),
        ({"num_nodes": 1}, "MNP103", "num_nodes: is 1"),
        (
            {"node_groups": [NodeGroup(target_nodes="0:2"), NodeGroup(target_nodes="1:3")]},
            "MNP108",
            "overlap on nodes 1-2",
        ),
        ({"efa": True, "instance_type": "m5.large"}, "MNP107", "m5.large does not support EFA"),
        ({"node_groups": [NodeGroup(target_nodes="0:3")], "open_ended": False}, "MNP104", "no range is open-ended"),
    ],
)
def test_what_the_pack_warns_about_is_a_cdk_warning_not_an_error(
    overrides: dict[str, Any], rule: str, text: str
) -> None:
    from aws_cdk import Stack
    from aws_cdk.assertions import Annotations, Match

    jd = _build(**overrides)
    Annotations.from_stack(Stack.of(jd)).has_warning("*", Match.string_like_regexp(f"{text}.*\\({rule}\\)"))


def test_identical_ranges_nest_as_the_pack_reads_them() -> None:
    jd = _build(node_groups=[NodeGroup(target_nodes="0:"), NodeGroup(target_nodes=":3", vcpus=8)])
    assert jd.required_vcpus == 4 * C5N.vcpus


def test_default_resources_match_the_instance() -> None:
    jd = _build()
    assert jd.instance_facts == C5N
    assert jd.num_nodes == 4 and jd.instance_type == "c5n.18xlarge"
    assert jd.props.num_nodes == 4 and jd.props.node_groups is None and jd.props.open_ended is True


def test_job_definitions_can_share_execution_role_and_log_group() -> None:
    """A stack with many job definitions shares one role and log group (CloudFormation's 500-resource
    limit); each job logs under its own stream prefix."""
    from aws_cdk import Stack
    from aws_cdk import aws_iam as iam
    from aws_cdk import aws_logs as logs
    from aws_cdk.assertions import Template

    stack = Stack(cdk_app(), "Shared")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
    group = logs.LogGroup(stack, "Logs")
    for name in ("alpha", "beta"):
        MnpJobDefinition(
            stack, name, image="img", instance_type="c5n.18xlarge", num_nodes=2, execution_role=role, log_group=group
        )
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::IAM::Role", 1)
    template.resource_count_is("AWS::Logs::LogGroup", 1)
    prefixes = sorted(
        jd["Properties"]["NodeProperties"]["NodeRangeProperties"][0]["Container"]["LogConfiguration"]["Options"][
            "awslogs-stream-prefix"
        ]
        for jd in template.find_resources("AWS::Batch::JobDefinition").values()
    )
    assert prefixes == ["alpha", "beta"]
