"""Values the config must refuse, not coerce, each with exit 2 and a message naming the field and the fix.

Every case goes through the command (`python -m mnp_toolkit.config check FILE`, in process) with a YAML
file, as a user would meet it; the expected text is what the user must read, not the implementation's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from mnp_toolkit.config.__main__ import main as config_main
from mnp_toolkit.config.load import load_config, parse_config
from mnp_toolkit.config.model import ConfigError
from mnp_toolkit.core.limits import MAX_TIMEOUT_SECONDS
from tests.mnp_toolkit.config.test_config import minimal

Mutation = Callable[[dict[str, Any]], object]


def _jd(data: dict[str, Any]) -> dict[str, Any]:
    job: dict[str, Any] = data["job_definitions"][0]
    return job


def _ce(data: dict[str, Any]) -> dict[str, Any]:
    ce: dict[str, Any] = data["compute_environments"][0]
    return ce


def _queue(data: dict[str, Any]) -> dict[str, Any]:
    queue: dict[str, Any] = data["job_queues"][0]
    return queue


def check(tmp_path: Path, data: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    code = config_main(["check", str(path)])
    return code, capsys.readouterr().err


REFUSED: list[tuple[str, Mutation, str]] = [
    # Strict types: what YAML gives is what the schema says, or an error.
    (
        "num_nodes true",
        lambda d: _jd(d).update(num_nodes=True),
        "job_definitions[0].num_nodes: Input should be a valid integer (got True)",
    ),
    (
        "num_nodes '4'",
        lambda d: _jd(d).update(num_nodes="4"),
        "job_definitions[0].num_nodes: Input should be a valid integer (got '4')",
    ),
    (
        "num_nodes 4.5",
        lambda d: _jd(d).update(num_nodes=4.5),
        "job_definitions[0].num_nodes: Input should be a valid integer",
    ),
    (
        "retry_attempts yes",
        lambda d: _jd(d).update(retry_attempts="yes"),
        "job_definitions[0].retry_attempts: Input should be a valid integer",
    ),
    (
        "flow_logs 'off'",
        lambda d: d.update(network={"flow_logs": "off"}),
        "network.flow_logs: Input should be a valid boolean (got 'off')",
    ),
    (
        "watchdog 'n'",
        lambda d: _queue(d).update(watchdog="n"),
        "job_queues[0].watchdog: Input should be a valid boolean (got 'n')",
    ),
    ("efa 1", lambda d: _ce(d).update(efa=1), "compute_environments[0].efa: Input should be a valid boolean (got 1)"),
    (
        "placement_group 'true'",
        lambda d: _ce(d).update(placement_group="true"),
        "compute_environments[0].placement_group: Input should be a valid boolean",
    ),
    (
        "an env value that is a number",
        lambda d: _jd(d).update(environment={"N": 1}),
        "job_definitions[0].environment.N: Input should be a valid string",
    ),
    (
        "account unquoted",
        lambda d: d.update(env={"account": 123456789012}),
        "env.account: must be a 12-digit AWS account ID as a string: quote it in YAML",
    ),
    # Values AWS refuses.
    (
        "an AWS_BATCH_ variable",
        lambda d: _jd(d).update(environment={"AWS_BATCH_JOB_ID": "x", "OK": "1"}),
        "job_definitions[0].environment: AWS_BATCH_JOB_ID: names cannot start with AWS_BATCH, which AWS Batch reserves",
    ),
    (
        "an AWS_BATCH_ variable of a node group",
        lambda d: _jd(d).update(node_groups=[{"target_nodes": "0:", "environment": {"AWS_BATCH_X": "1"}}]),
        "job_definitions[0].node_groups[0].environment: AWS_BATCH_X: names cannot start with AWS_BATCH",
    ),
    (
        "an empty variable name",
        lambda d: _jd(d).update(environment={"": "x"}),
        "job_definitions[0].environment: a variable has an empty name",
    ),
    (
        "timeout_minutes 10**12",
        lambda d: _jd(d).update(timeout_minutes=10**12),
        f"job_definitions[0].timeout_minutes: Input should be less than or equal to {MAX_TIMEOUT_SECONDS // 60}",
    ),
    (
        "us-east-9",
        lambda d: d.update(env={"region": "us-east-9"}),
        "env.region: is not an AWS Region name (did you mean",
    ),
    ("a Region in capitals", lambda d: d.update(env={"region": "US-EAST-1"}), "env.region: is not an AWS Region name"),
    (
        "an image with a blank",
        lambda d: _jd(d).update(image="img latest"),
        "job_definitions[0].image: is not an image reference",
    ),
    (
        "a name with a stray blank",
        lambda d: _ce(d).update(name="mpi "),
        "compute_environments[0].name: String should match pattern",
    ),
    (
        "an unknown network mode",
        lambda d: d.update(network={"mode": "shared"}),
        "network: mode must be 'new' (the default: the stack creates the VPC) or 'existing'",
    ),
    # Messages that explain.
    (
        "five additional security groups",
        lambda d: _ce(d).update(additional_security_group_ids=[f"sg-0000000{i}" for i in range(5)]),
        "compute_environments[0].additional_security_group_ids: lists 5 groups: at most 4 additional security "
        "groups, because the compute environment's own node-to-node group makes 5, the most AWS Batch allows",
    ),
    (
        "type: SPOT",
        lambda d: _ce(d).update(type="SPOT"),
        "compute_environments[0].type: unknown key: an MNP compute environment is always managed, On-Demand EC2",
    ),
    (
        "compute_type: FARGATE",
        lambda d: _ce(d).update(compute_type="FARGATE"),
        "does not run multi-node parallel jobs on Spot Instances",
    ),
    (
        "a misspelt key",
        lambda d: _queue(d).update(runnable_timeout=60),
        "job_queues[0].runnable_timeout: unknown key (did you mean 'runnable_timeout_minutes'?)",
    ),
    (
        "a misspelt nested key",
        lambda d: d.update(network={"nat_gateway": "one"}),
        "network.nat_gateway: unknown key (did you mean 'nat_gateways'?)",
    ),
    (
        "main_node past the end",
        lambda d: _jd(d).update(main_node=4),
        "job_definitions[0].main_node: is 4 but the job has nodes 0 to 3",
    ),
    (
        "gpus on a CPU type",
        lambda d: _jd(d).update(gpus=1),
        "job_definitions[0].gpus: node group '0:' asks for 1 GPUs but c5n.18xlarge has 0",
    ),
    (
        "gpus of a node group",
        lambda d: _jd(d).update(node_groups=[{"target_nodes": "0:", "gpus": 2}]),
        "job_definitions[0].node_groups[0].gpus: node group '0:' asks for 2 GPUs but c5n.18xlarge has 0",
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), [(m, e) for _, m, e in REFUSED], ids=[name for name, _, _ in REFUSED])
def test_refused_with_exit_2_and_the_message(
    mutate: Mutation, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = minimal()
    mutate(data)
    code, err = check(tmp_path, data, capsys)
    assert code == 2
    assert expected in err, err
    assert "Traceback" not in err and "_network_mode" not in err


def test_the_header_counts_the_problems_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = minimal()
    _jd(data).update(num_nodes=True, environment={"AWS_BATCH_X": "1"}, main_node=-1)
    _ce(data).update(spot=True, efa="yes")
    d = data
    d["env"] = {"region": "mars-1"}
    code, err = check(tmp_path, data, capsys)
    listed = [line for line in err.splitlines() if line.startswith("  - ")]
    assert code == 2 and len(listed) == 6, err
    assert f"{len(listed)} problems in the MNP config" in err.splitlines()[0]


def test_integral_floats_are_integers_as_in_json_schema() -> None:
    """JSON Schema's integer is any number with a zero fractional part; the loader agrees (and no more)."""
    data = minimal()
    _jd(data).update(num_nodes=4.0)
    assert parse_config(data).job_definitions[0].num_nodes == 4
    assert type(parse_config(data).job_definitions[0].num_nodes) is int


def test_strings_are_taken_as_written(tmp_path: Path) -> None:
    """No silent stripping: a command argument keeps its blanks (it is what the container receives)."""
    data = minimal()
    _jd(data).update(command=["echo", "  two leading blanks"])
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    assert load_config(path).job_definitions[0].command == ["echo", "  two leading blanks"]


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-2", "cn-north-1", "us-gov-west-1", "eusc-de-east-1"])
def test_real_regions_of_every_partition_are_accepted(region: str) -> None:
    data = minimal()
    data["env"] = {"region": region}
    assert parse_config(data).env.region == region


@pytest.mark.parametrize("spelling", ["off", "Off", "no", "yes", "ON"])
def test_yaml_1_1_booleans_are_refused_where_they_are_written(
    spelling: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """PyYAML reads an unquoted `off` as false (YAML 1.1); an editor with the schema reads a string (YAML
    1.2). Only true/false mean the same to both."""
    path = tmp_path / "c.yaml"
    text = yaml.safe_dump(minimal(), sort_keys=False)
    path.write_text(text.replace("job_queues:\n", f"network:\n  flow_logs: {spelling}\njob_queues:\n", 1))
    assert config_main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    line = text.splitlines().index("job_queues:") + 2
    assert f"invalid YAML at line {line}, column 14: '{spelling}' is a boolean only in YAML 1.1" in err, err
    path.write_text(text.replace("job_queues:\n", "network:\n  flow_logs: false\njob_queues:\n", 1))
    assert load_config(path).network.flow_logs is False


def test_a_job_role_needs_arn_or_access_but_not_both() -> None:
    data = minimal()
    _jd(data)["job_role"] = {"arn": "arn:aws:iam::123456789012:role/train", "s3_read": ["s3://data"]}
    with pytest.raises(ConfigError, match=r"job_definitions\[0\]\.job_role: arn names an existing role"):
        parse_config(data)
    _jd(data)["job_role"] = {}
    with pytest.raises(ConfigError, match=r"job_definitions\[0\]\.job_role: is empty"):
        parse_config(data)
