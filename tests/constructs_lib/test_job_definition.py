"""MnpJobDefinition: node ranges (open-ended, nested), NumNodes, resources, retries, logs, EFA."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk.assertions import Annotations, Match, Template

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


# -- identities: job role, private ECR pulls, ECS Exec -------------------------------------------------

ECR_SAME = "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/train:1"
ECR_OTHER = "222222222222.dkr.ecr.us-west-2.amazonaws.com/shared/tools@sha256:" + "ab" * 32


def _statements(template: Template, resource_type: str, logical_id: str | None = None) -> list[dict[str, Any]]:
    found = []
    for key, resource in template.find_resources(resource_type).items():
        if logical_id is not None and key != logical_id:
            continue
        props = resource["Properties"]
        documents = [props["PolicyDocument"]] if "PolicyDocument" in props else []
        documents += [policy["PolicyDocument"] for policy in props.get("Policies", [])]
        found += [statement for document in documents for statement in document["Statement"]]
    return found


@pytest.fixture(scope="module")
def identities() -> dict[str, Any]:
    from constructs_lib import MnpJobRole

    stack = Stack(cdk_app(), "Identities")
    role = MnpJobRole(
        stack,
        "Role",
        s3_read=["s3://datasets/imagenet/", "s3://datasets/extra/", "s3://public-data"],
        s3_write=["s3://checkpoints/run-1/"],
        managed_policy_arns=["arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"],
    )
    private = MnpJobDefinition(
        stack,
        "Private",
        image=ECR_SAME,
        instance_type="c5n.18xlarge",
        num_nodes=2,
        job_role=role.role,
        node_groups=[NodeGroup(target_nodes="0", image=ECR_OTHER), NodeGroup(target_nodes="1:")],
    )
    public = MnpJobDefinition(stack, "Public", image=IMAGE, instance_type="c5n.18xlarge", num_nodes=2)
    exec_only = MnpJobDefinition(
        stack,
        "ExecOnly",
        image=IMAGE,
        instance_type="c5n.18xlarge",
        num_nodes=3,
        enable_execute_command=True,
        node_groups=[NodeGroup(target_nodes="0"), NodeGroup(target_nodes="1:")],
    )
    exec_with_role = MnpJobDefinition(
        stack,
        "ExecWithRole",
        image=IMAGE,
        instance_type="c5n.18xlarge",
        num_nodes=2,
        job_role=role.role,
        enable_execute_command=True,
    )
    return {
        "template": Template.from_stack(stack),
        "stack": stack,
        "role": role,
        "private": private,
        "public": public,
        "exec_only": exec_only,
        "exec_with_role": exec_with_role,
    }


def _s3_arn(resource: str) -> dict[str, Any]:
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":s3:::{resource}"]]}


def _logical_id(construct: Any) -> str:
    node = construct.node.default_child if construct.node.default_child is not None else construct
    return str(Stack.of(construct).resolve(node.logical_id))


def test_job_role_reads_and_writes_only_the_named_locations(identities: dict[str, Any]) -> None:
    template: Template = identities["template"]
    role = identities["role"].role
    statements = {s.get("Sid"): s for s in _statements(template, "AWS::IAM::Role", _logical_id(role))}
    assert statements["ReadObjects"]["Action"] == "s3:GetObject"
    assert sorted(map(json.dumps, statements["ReadObjects"]["Resource"])) == sorted(
        json.dumps(_s3_arn(f"{path}*")) for path in ("datasets/extra/", "datasets/imagenet/", "public-data/")
    )
    assert sorted(statements["WriteObjects"]["Action"]) == ["s3:AbortMultipartUpload", "s3:PutObject"]
    assert statements["WriteObjects"]["Resource"] == _s3_arn("checkpoints/run-1/*")
    # Listing: limited to the read prefixes in a bucket with prefixes; a whole bucket needs no condition.
    lists = [s for sid, s in statements.items() if sid and sid.startswith("ListReadLocations")]
    by_bucket = {json.dumps(s["Resource"]): s for s in lists}
    datasets = by_bucket[json.dumps(_s3_arn("datasets"))]
    assert datasets["Action"] == "s3:ListBucket"
    assert sorted(datasets["Condition"]["StringLike"]["s3:prefix"]) == ["extra/*", "imagenet/*"]
    public = by_bucket[json.dumps(_s3_arn("public-data"))]
    assert "Condition" not in public
    # Nothing else: no delete, no bucket configuration, no wildcard action.
    actions = {a for s in statements.values() for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert actions == {"s3:GetObject", "s3:ListBucket", "s3:PutObject", "s3:AbortMultipartUpload"}
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "ManagedPolicyArns": ["arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"],
            "AssumeRolePolicyDocument": Match.object_like(
                {"Statement": [Match.object_like({"Principal": {"Service": "ecs-tasks.amazonaws.com"}})]}
            ),
        },
    )


def test_containers_run_as_the_job_role(identities: dict[str, Any]) -> None:
    template: Template = identities["template"]
    private = _props(identities["private"], template.to_json())
    role_arn = {"Fn::GetAtt": [_logical_id(identities["role"].role), "Arn"]}
    assert [r["Container"]["JobRoleArn"] for r in private["NodeProperties"]["NodeRangeProperties"]] == [role_arn] * 2
    public = _props(identities["public"], template.to_json())
    assert "JobRoleArn" not in public["NodeProperties"]["NodeRangeProperties"][0]["Container"]


def test_private_ecr_images_are_pullable_same_account_and_cross_account(identities: dict[str, Any]) -> None:
    template: Template = identities["template"]
    private: MnpJobDefinition = identities["private"]
    statements = _statements(template, "AWS::IAM::Policy")
    pulls = [s for s in statements if "ecr:BatchGetImage" in s["Action"]]
    assert len(pulls) == 1
    assert sorted(pulls[0]["Action"]) == [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    ]
    rendered = sorted(json.dumps(resource) for resource in pulls[0]["Resource"])
    assert rendered == sorted(
        json.dumps({"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":ecr:{arn}"]]})
        for arn in ("us-east-1:123456789012:repository/team/train", "us-west-2:222222222222:repository/shared/tools")
    )
    assert {"Action": "ecr:GetAuthorizationToken", "Effect": "Allow", "Resource": "*"} in statements
    # on the execution role of that job definition (the policy is attached to it), and only there
    policy_roles = [
        r["Properties"]["Roles"]
        for r in template.find_resources("AWS::IAM::Policy").values()
        if any("ecr:BatchGetImage" in s["Action"] for s in r["Properties"]["PolicyDocument"]["Statement"])
    ]
    assert policy_roles == [[{"Ref": _logical_id(private.execution_role)}]]
    assert len(private.ecr_repositories) == 2 and identities["public"].ecr_repositories == ()
    # The images are rendered as written, and the CDK's "attach policies first" warning is answered.
    images = [
        r["Container"]["Image"] for r in _props(private, template.to_json())["NodeProperties"]["NodeRangeProperties"]
    ]
    assert images == [ECR_OTHER, ECR_SAME]
    Annotations.from_stack(identities["stack"]).has_no_warning("*", Match.string_like_regexp("Proper policies"))


def test_ecs_exec_turns_on_execute_command_with_one_job_role(identities: dict[str, Any]) -> None:
    template: Template = identities["template"]
    exec_only: MnpJobDefinition = identities["exec_only"]
    props = _props(exec_only, template.to_json())
    containers = [r["Container"] for r in props["NodeProperties"]["NodeRangeProperties"]]
    assert [c["EnableExecuteCommand"] for c in containers] == [True, True]
    assert exec_only.job_role is not None
    role_arn = {"Fn::GetAtt": [_logical_id(exec_only.job_role), "Arn"]}
    assert [c["JobRoleArn"] for c in containers] == [role_arn, role_arn]
    exec_policies = [
        r["Properties"]
        for r in template.find_resources("AWS::IAM::Policy").values()
        if r["Properties"]["Roles"] == [{"Ref": _logical_id(exec_only.job_role)}]
    ]
    (document,) = [p["PolicyDocument"] for p in exec_policies]
    (statement,) = document["Statement"]
    assert sorted(statement["Action"]) == [
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
    ]
    assert statement["Resource"] == "*"
    # A given job role gets the same actions, no second role is made.
    with_role: MnpJobDefinition = identities["exec_with_role"]
    assert with_role.job_role is identities["role"].role
    given = [
        s
        for r in template.find_resources("AWS::IAM::Policy").values()
        if r["Properties"]["Roles"] == [{"Ref": _logical_id(with_role.job_role)}]
        for s in r["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert [sorted(s["Action"]) for s in given] == [sorted(statement["Action"])]
    public = _props(identities["public"], template.to_json())["NodeProperties"]["NodeRangeProperties"][0]
    assert "EnableExecuteCommand" not in public["Container"]


@pytest.mark.parametrize(
    ("image", "match"),
    [
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/Team/Train:1",
            "names a private ECR registry, but 'Team/Train:1'",
        ),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/", "is not a repository name"),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:bad tag", "is not a repository name"),
    ],
)
def test_a_malformed_private_ecr_image_is_refused(image: str, match: str) -> None:
    with pytest.raises(MnpPropsError, match=rf"MnpJobDefinition 'Bad': image: .*{re.escape(match)}"):
        MnpJobDefinition(fresh_stack(), "Bad", image=image, instance_type="c5n.18xlarge", num_nodes=2)


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/a/b/c:v1.2", ("123456789012", "eu-west-1", "a/b/c")),
        ("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/x", ("123456789012", "us-gov-west-1", "x")),
        ("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/x:1", ("123456789012", "cn-north-1", "x")),
        ("123456789012.dkr-ecr.us-east-1.on.aws/x@sha256:" + "0" * 64, ("123456789012", "us-east-1", "x")),
        ("public.ecr.aws/amazonlinux/amazonlinux:2023", None),
        ("docker.io/library/python:3.12", None),
        ("python:3.12", None),
    ],
)
def test_ecr_image_references_are_read_per_the_registry_endpoints(image: str, expected: tuple[str, ...] | None) -> None:
    from constructs_lib.job_definition import ecr_image_of

    found = ecr_image_of(image)
    assert (None if found is None else (found.account, found.region, found.repository)) == expected


@pytest.mark.parametrize(
    ("props", "match"),
    [
        ({}, "s3_read: and s3_write and managed_policy_arns are all empty"),
        ({"s3_read": ["datasets/imagenet"]}, r"s3_read: 'datasets/imagenet' is not s3://bucket"),
        ({"s3_write": ["s3://Bucket/x"]}, r"s3_write: 's3://Bucket/x' is not s3://bucket"),
        ({"s3_read": ["s3://bucket/logs/*"]}, r"s3_read: 's3://bucket/logs/\*' is not s3://bucket"),
    ],
)
def test_job_role_rejects_bad_locations(props: dict[str, Any], match: str) -> None:
    from constructs_lib import MnpJobRole

    with pytest.raises(MnpPropsError, match=rf"MnpJobRole 'Role': {match}"):
        MnpJobRole(fresh_stack(), "Role", **props)


def test_cdk_nag_sees_only_the_acknowledged_wildcards() -> None:
    """cdk-nag (AwsSolutions) over a stack with every identity feature: nothing unacknowledged, and exactly
    the findings that need a wildcard are acknowledged, each by its own ID."""
    import tempfile

    from cdk_nag import AwsSolutionsChecks

    from constructs_lib import MnpJobRole

    outdir = tempfile.mkdtemp(prefix="nag-identities-")
    app = cdk_app(outdir=outdir)
    stack = Stack(app, "Nag")
    role = MnpJobRole(stack, "Role", s3_read=["s3://datasets/imagenet/"], s3_write=["s3://checkpoints"])
    MnpJobDefinition(
        stack,
        "Job",
        image=ECR_SAME,
        instance_type="c5n.18xlarge",
        num_nodes=2,
        job_role=role.role,
        enable_execute_command=True,
    )
    from aws_cdk import Validations

    Validations.of(app).add_plugins(AwsSolutionsChecks())
    app.synth()
    report = json.loads((Path(outdir) / "validation-report.json").read_text())
    (nag,) = [p for p in report["pluginReports"] if p["pluginName"] == "AwsSolutions"]
    assert nag["conclusion"] == "success" and nag["violations"] == []
    suppressed = sorted(v["ruleName"] for v in nag["suppressedViolations"])
    assert suppressed == sorted(
        [
            "AwsSolutions-IAM5[Resource::*]",  # ecr:GetAuthorizationToken on the execution role
            "AwsSolutions-IAM5[Resource::*]",  # ECS Exec's ssmmessages on the job role
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::checkpoints/*]",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::datasets/imagenet/*]",
        ]
    )
