"""constructs_lib.security: the submitter policy, the permissions boundary aspect, the KMS key (aws_cdk.assertions)."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_batch as batch
from aws_cdk.assertions import Match, Template

from constructs_lib import MnpNetwork, MnpPropsError
from constructs_lib.security import (
    BATCH_READ_ACTIONS,
    EncryptionKey,
    SubmitterPolicy,
    apply_permissions_boundary,
    is_key_arn,
)
from tests.constructs_lib.conftest import fresh_stack


def _queue_and_definition(stack: Stack) -> tuple[batch.IJobQueue, batch.IJobDefinition]:
    queue = batch.JobQueue.from_job_queue_arn(stack, "Queue", "arn:aws:batch:us-east-1:123456789012:job-queue/mnp")
    definition = batch.EcsJobDefinition.from_job_definition_arn(
        stack, "Definition", "arn:aws:batch:us-east-1:123456789012:job-definition/mnp-train:3"
    )
    return queue, definition


def test_submitter_policy_allows_submit_only_with_the_given_queues_and_definitions() -> None:
    stack = fresh_stack()
    queue, definition = _queue_and_definition(stack)
    SubmitterPolicy(stack, "Submitters", job_queues=[queue], job_definitions=[definition])

    template = Template.from_stack(stack)
    (policy,) = template.find_resources("AWS::IAM::ManagedPolicy").values()
    submit, read = policy["Properties"]["PolicyDocument"]["Statement"]
    assert {**submit, "Resource": sorted(submit["Resource"])} == {
        "Sid": "SubmitOnlyToThisStacksQueuesWithItsJobDefinitions",
        "Action": "batch:SubmitJob",
        "Effect": "Allow",
        # Both resource types, as Batch requires for a scoped SubmitJob; the definition at its revision.
        "Resource": [
            "arn:aws:batch:us-east-1:123456789012:job-definition/mnp-train:3",
            "arn:aws:batch:us-east-1:123456789012:job-queue/mnp",
        ],
    }
    assert read["Resource"] == "*" and sorted(read["Action"]) == sorted(BATCH_READ_ACTIONS)
    assert "batch:SubmitJob" not in read["Action"] and "batch:TerminateJob" not in read["Action"]
    outputs = template.find_outputs("*")
    assert [o["Value"] for o in outputs.values()] == [
        {"Ref": next(iter(template.find_resources("AWS::IAM::ManagedPolicy")))}
    ]


@pytest.mark.parametrize("missing", ["job_queues", "job_definitions"])
def test_submitter_policy_needs_both_resource_types(missing: str) -> None:
    stack = fresh_stack()
    queue, definition = _queue_and_definition(stack)
    props: dict[str, Any] = {"job_queues": [queue], "job_definitions": [definition], missing: []}

    with pytest.raises(MnpPropsError) as caught:
        SubmitterPolicy(stack, "Submitters", **props)

    assert caught.value.prop == missing


@pytest.mark.parametrize("boundary", ["mnp-boundary", "arn:aws:iam::123456789012:policy/mnp-boundary"])
def test_permissions_boundary_reaches_every_role_including_the_cdks_provider_roles(boundary: str) -> None:
    stack = fresh_stack()
    MnpNetwork(stack, "Net")  # a flow-log role and the CDK's restrict-default-SG provider role (a CfnResource)
    apply_permissions_boundary(stack, boundary)

    roles = Template.from_stack(stack).find_resources("AWS::IAM::Role")
    assert len(roles) >= 2
    expected = (
        boundary
        if boundary.startswith("arn:")
        else {
            "Fn::Join": [
                "",
                ["arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"}, ":policy/mnp-boundary"],
            ]
        }
    )
    for logical_id, role in roles.items():
        assert role["Properties"].get("PermissionsBoundary") in (expected, {"Fn::Sub": Match.any_value()}), logical_id
    provider = [r for r in roles.values() if "ManagedPolicyArns" in r["Properties"]]
    assert provider and all("PermissionsBoundary" in r["Properties"] for r in provider)


def test_encryption_key_rotates_is_retained_and_admits_logs_and_auto_scaling() -> None:
    stack = fresh_stack()
    EncryptionKey(stack, "Key")

    template = Template.from_stack(stack)
    (key,) = template.find_resources("AWS::KMS::Key").values()
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"
    statements = {s.get("Sid"): s for s in key["Properties"]["KeyPolicy"]["Statement"]}
    logs_statement = statements["AllowCloudWatchLogsOfThisAccount"]
    assert logs_statement["Principal"] == {
        "Service": {"Fn::Join": ["", ["logs.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}
    }
    context = logs_statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]["Fn::Join"][1]
    assert context[-1] == ":log-group:*" and {"Ref": "AWS::AccountId"} in context
    grants = statements["AllowAutoScalingToCreateGrantsForEbs"]
    assert grants["Action"] == "kms:CreateGrant"
    assert grants["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": True}}
    principal = grants["Principal"]["AWS"]["Fn::Join"][1]
    assert principal[-1].endswith(":role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling")
    assert "kms:GenerateDataKey*" in statements["AllowAutoScalingToUseTheKeyForEbs"]["Action"]


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", True),
        ("arn:aws:kms:us-east-1:123456789012:alias/mnp", False),
        ("1234abcd-12ab-34cd-56ef-1234567890ab", False),
    ],
)
def test_is_key_arn(value: str, ok: bool) -> None:
    assert is_key_arn(value) is ok
