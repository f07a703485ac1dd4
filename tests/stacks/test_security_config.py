"""The config's security fields (issue 16): secret-looking plain variables refused with a pointer to
``secrets``, secrets by ARN, defaults of the hardening options, the stack-wide ``security`` section."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from mnp_toolkit.config.load import load_config
from mnp_toolkit.config.model import ConfigError, MnpConfig

BASE: dict[str, Any] = {
    "compute_environments": [{"name": "mpi", "instance_types": ["c5n.18xlarge"]}],
    "job_queues": [{"name": "mpi", "compute_environments": ["mpi"]}],
    "job_definitions": [
        {
            "name": "hello",
            "queue": "mpi",
            "image": "public.ecr.aws/amazonlinux/amazonlinux:2023",
            "instance_type": "c5n.18xlarge",
            "num_nodes": 2,
        }
    ],
}
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbC123"
PARAMETER = "arn:aws:ssm:us-east-1:123456789012:parameter/mnp/token"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _load(tmp_path: Path, **changes: Any) -> MnpConfig:
    data = copy.deepcopy(BASE)
    for path, value in changes.items():
        *parents, last = path.split("__")
        target: Any = data
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = value
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_config(path)


@pytest.mark.parametrize(
    "name", ["DB_PASSWORD", "HF_TOKEN", "API_SECRET", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "db_password"]
)
def test_secret_looking_plain_variables_are_refused_with_a_pointer_to_secrets(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, job_definitions__0__environment={name: "hunter2", "NCCL_DEBUG": "INFO"})

    message = str(caught.value)
    assert "job_definitions[0].environment" in message and name in message
    assert "`secrets`" in message
    assert "hunter2" not in message  # the value itself is never echoed


def test_secret_looking_variables_of_a_node_group_are_refused_too(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="secrets"):
        _load(
            tmp_path,
            job_definitions__0__node_groups=[{"target_nodes": "0:", "environment": {"WANDB_TOKEN": "x"}}],
        )


@pytest.mark.parametrize("name", ["TOKENIZER", "PASSWORD_FILE", "NCCL_SOCKET_IFNAME", "MY_TOKENS"])
def test_names_that_only_contain_the_words_are_plain_variables(tmp_path: Path, name: str) -> None:
    config = _load(tmp_path, job_definitions__0__environment={name: "x"})
    assert config.job_definitions[0].environment == {name: "x"}


def test_secrets_by_arn_and_their_keys(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        job_definitions__0__secrets={"DB_PASSWORD": SECRET, "HF_TOKEN": PARAMETER},
        job_definitions__0__secret_kms_key_arns=[KEY],
    )
    jd = config.job_definitions[0]
    assert jd.secrets == {"DB_PASSWORD": SECRET, "HF_TOKEN": PARAMETER}
    assert jd.secret_kms_key_arns == [KEY]


@pytest.mark.parametrize(
    ("secrets", "expected"),
    [
        ({"DB": "arn:aws:s3:::bucket/key"}, "secrets.DB"),
        ({"AWS_BATCH_X": SECRET}, "AWS_BATCH"),
        ({"1DB": SECRET}, "variable names"),
    ],
    ids=["not-a-secret-arn", "reserved-name", "bad-name"],
)
def test_bad_secrets_are_refused(tmp_path: Path, secrets: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        _load(tmp_path, job_definitions__0__secrets=secrets)


def test_a_secret_also_set_as_a_plain_variable_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="also set as plain variables"):
        _load(tmp_path, job_definitions__0__secrets={"DB": SECRET}, job_definitions__0__environment={"DB": "x"})


def test_hardening_defaults(tmp_path: Path) -> None:
    config = _load(tmp_path)
    ce, queue, jd = config.compute_environments[0], config.job_queues[0], config.job_definitions[0]
    assert (ce.imds_hop_limit, ce.restricted_egress, ce.efa_installer_sha256) == (1, False, None)
    assert (queue.watchdog_reserved_concurrency, queue.watchdog_dead_letter_queue) == (2, True)
    assert queue.watchdog_log_retention_days == 90
    assert (jd.readonly_root_filesystem, jd.user, jd.secrets) == (False, None, {})
    assert (config.security.permissions_boundary, config.security.kms_key) == (None, None)
    network = config.network
    assert getattr(network, "restrict_endpoints", None) is True and getattr(network, "endpoint_accounts", None) == []


@pytest.mark.parametrize(
    ("field", "value", "ok"),
    [
        ("kms_key", "create", True),
        ("kms_key", KEY, True),
        ("kms_key", "alias/mine", False),
        ("permissions_boundary", "mnp-boundary", True),
        ("permissions_boundary", "arn:aws:iam::123456789012:policy/org/mnp-boundary", True),
        ("permissions_boundary", "arn:aws:iam::123456789012:role/x", False),
    ],
)
def test_security_section(tmp_path: Path, field: str, value: str, ok: bool) -> None:
    if ok:
        assert getattr(_load(tmp_path, security={field: value}).security, field) == value
    else:
        with pytest.raises(ConfigError, match=f"security.{field}"):
            _load(tmp_path, security={field: value})


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"compute_environments__0__imds_hop_limit": 0}, "imds_hop_limit"),
        ({"compute_environments__0__efa_installer_sha256": "abc"}, "efa_installer_sha256"),
        ({"job_queues__0__watchdog_reserved_concurrency": 0}, "watchdog_reserved_concurrency"),
        ({"job_definitions__0__user": "root; rm -rf /"}, "user"),
        ({"network": {"endpoint_accounts": ["123"]}}, "endpoint_accounts"),
    ],
)
def test_out_of_range_hardening_options_are_refused(tmp_path: Path, change: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        _load(tmp_path, **change)
