"""MnpJobDefinition hardening (issue 16, items 2 and 9): secrets from Secrets Manager or SSM with the
execution role granted exactly those ARNs (and kms:Decrypt on a named key), a read-only root file system
and a user (aws_cdk.assertions on the synthesized template)."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk.assertions import Template

from constructs_lib import MnpJobDefinition, MnpPropsError, NodeGroup
from constructs_lib.job_definition import JobSecret
from tests.constructs_lib.conftest import fresh_stack

ACCOUNT = "123456789012"
DB_PASSWORD = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:mnp/db-AbC123"
API = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:mnp/api"
TOKEN = f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/mnp/token"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _job(stack: Stack, **overrides: Any) -> MnpJobDefinition:
    props: dict[str, Any] = {
        "image": "public.ecr.aws/amazonlinux/amazonlinux:2023",
        "instance_type": "c5n.18xlarge",
        "num_nodes": 2,
        "command": ["true"],
        **overrides,
    }
    return MnpJobDefinition(stack, "Job", **props)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    stack = fresh_stack()
    _job(
        stack,
        secrets={
            "DB_PASSWORD": JobSecret(DB_PASSWORD),
            "API_KEY": JobSecret(API, field="key"),
            "HF_TOKEN": JobSecret(TOKEN, kms_key_arn=KEY),
        },
        readonly_root_filesystem=True,
        user="1000:1000",
    )
    return dict(Template.from_stack(stack).to_json())


def _container(template: dict[str, Any]) -> dict[str, Any]:
    (definition,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::Batch::JobDefinition"]
    (node_range,) = definition["Properties"]["NodeProperties"]["NodeRangeProperties"]
    return dict(node_range["Container"])


def test_secrets_are_the_containers_secrets_by_arn(template: dict[str, Any]) -> None:
    secrets = {s["Name"]: s["ValueFrom"] for s in _container(template)["Secrets"]}
    assert secrets == {"DB_PASSWORD": DB_PASSWORD, "API_KEY": f"{API}:key::", "HF_TOKEN": TOKEN}
    assert "Environment" not in _container(template) or all(
        e["Name"] not in secrets for e in _container(template)["Environment"]
    )


def test_the_execution_role_reads_exactly_those_secrets_and_decrypts_with_the_named_key(
    template: dict[str, Any],
) -> None:
    statements = [
        s
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy"
        for s in r["Properties"]["PolicyDocument"]["Statement"]
    ]
    resources: dict[str, set[str]] = {}
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in actions:
            resources.setdefault(action, set()).update(t if isinstance(t, str) else str(t) for t in targets)
    # Secrets Manager: the complete ARN as given; the partial one with the six-character suffix wildcard.
    assert resources["secretsmanager:GetSecretValue"] == {DB_PASSWORD, f"{API}-??????"}
    assert resources["ssm:GetParameters"] == {TOKEN}
    assert resources["kms:Decrypt"] == {KEY}
    assert not [r for rs in resources.values() for r in rs if r == "*"]


def test_read_only_root_file_system_and_user(template: dict[str, Any]) -> None:
    container = _container(template)
    assert container["ReadonlyRootFilesystem"] is True
    assert container["User"] == "1000:1000"


def test_by_default_no_secrets_writable_root_and_the_images_user() -> None:
    stack = fresh_stack()
    _job(stack)
    container = _container(dict(Template.from_stack(stack).to_json()))
    assert "Secrets" not in container and "User" not in container
    assert container.get("ReadonlyRootFilesystem") in (None, False)


@pytest.mark.parametrize(
    ("secrets", "environment", "node_groups", "prop"),
    [
        ({"DB": JobSecret("arn:aws:s3:::bucket/key")}, {}, None, "secrets[DB]"),
        ({"DB": JobSecret(f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/x", field="k")}, {}, None, "secrets[DB]"),
        ({"DB": JobSecret(DB_PASSWORD, kms_key_arn="alias/mine")}, {}, None, "secrets[DB]"),
        ({"1DB": JobSecret(DB_PASSWORD)}, {}, None, "secrets"),
        ({"DB": JobSecret(DB_PASSWORD)}, {"DB": "plain"}, None, "secrets[DB]"),
        ({"DB": JobSecret(DB_PASSWORD)}, {}, [NodeGroup(target_nodes="0:", environment={"DB": "x"})], "secrets[DB]"),
    ],
    ids=["not-a-secret-arn", "field-on-ssm", "key-not-an-arn", "bad-name", "also-plain", "also-in-node-group"],
)
def test_bad_secrets_are_refused_with_the_prop(
    secrets: dict[str, JobSecret], environment: dict[str, str], node_groups: Any, prop: str
) -> None:
    with pytest.raises(MnpPropsError) as caught:
        _job(fresh_stack(), secrets=secrets, environment=environment, node_groups=node_groups)
    assert caught.value.prop == prop
