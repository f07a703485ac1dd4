"""The typed config: shipped files load; bad input gives a ConfigError naming the field, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mnp_toolkit.config.load import load_config, parse_config
from mnp_toolkit.config.model import ConfigError
from mnp_toolkit.config.reference import json_schema, markdown_reference

REPO = Path(__file__).resolve().parents[3]


def minimal() -> dict[str, Any]:
    return {
        "compute_environments": [{"name": "mpi", "instance_types": ["c5n.18xlarge"]}],
        "job_queues": [{"name": "mpi", "compute_environments": ["mpi"]}],
        "job_definitions": [
            {"name": "hello", "queue": "mpi", "image": "img", "instance_type": "c5n.18xlarge", "num_nodes": 4}
        ],
    }


def error_of(data: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, source="test.yaml")
    return str(caught.value)


@pytest.mark.parametrize("path", sorted((REPO / "config").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_configs_load(path: Path) -> None:
    config = load_config(path)
    assert config.compute_environments and config.job_queues


def test_defaults_are_safe() -> None:
    config = parse_config(minimal())
    ce = config.compute_environments[0]
    assert (ce.min_vcpus, ce.placement_group, ce.efa) == (0, True, False)
    assert config.network.mode == "new" and config.network.nat_gateways == "one"
    assert config.job_queues[0].watchdog is True
    assert config.job_definitions[0].required_vcpus == 4 * 72


def test_unknown_key_names_the_path() -> None:
    data = minimal()
    data["compute_environments"][0]["spot"] = True
    message = error_of(data)
    assert "compute_environments[0].spot: unknown key" in message


def test_wrong_type_and_impossible_value_are_reported_together() -> None:
    data = minimal()
    data["job_definitions"][0]["num_nodes"] = 0
    data["compute_environments"][0]["min_vcpus"] = "lots"
    message = error_of(data)
    assert "job_definitions[0].num_nodes" in message and "greater than or equal to 1" in message
    assert "compute_environments[0].min_vcpus" in message and "'lots'" in message
    assert "2 problems" in message and message.count("\n  - ") == 2


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["job_queues"][0].update(compute_environments=["nope"]), "unknown compute environment 'nope'"),
        (lambda d: d["job_definitions"][0].update(queue="nope"), "unknown job queue 'nope'"),
        (lambda d: d["job_definitions"][0].update(instance_type="hpc6a.48xlarge"), "not in the instance_types"),
        (lambda d: d["compute_environments"][0].update(max_vcpus=100), "max_vcpus: 100 is less than"),
        (
            lambda d: d["job_definitions"][0].update(main_node=4),
            "job_definitions[0].main_node: is 4 but the job has nodes 0 to 3 (MNP011",
        ),
        (lambda d: d["job_definitions"][0].update(memory_mib=196608), "offers containers at most 191608"),
        (lambda d: d["job_definitions"][0].update(efa=True), "set efa: true on the compute environments"),
        (lambda d: d["job_definitions"][0].update(instance_type="c5n"), "families are not allowed"),
        (
            lambda d: d["job_definitions"][0].update(shared_memory_mib=200_000),
            "job_definitions[0].shared_memory_mib: 200000 is more than",
        ),
        (
            lambda d: (
                d["job_definitions"][0].update(
                    shared_memory_mib=2048,
                    node_groups=[{"target_nodes": "0", "memory_mib": 4096}, {"target_nodes": "1:"}],
                )
                or d["job_definitions"][0]["node_groups"][1].update(memory_mib=1024)
            ),
            "job_definitions[0].shared_memory_mib: 2048 is more than the container's memory of node_groups[1] (1024",
        ),
        (lambda d: d["compute_environments"][0].update(instance_types=["c5n.18xlarge", "c7g.16xlarge"]), "mixes"),
        (
            lambda d: d["compute_environments"][0].update(additional_security_group_ids=["sg-0123456789abcdef0"] * 5),
            "at most 4",
        ),
        (lambda d: d["job_definitions"][0].update(node_groups=[{"target_nodes": "3:1"}]), "starts after it ends"),
        (lambda d: d.update(network={"mode": "existing", "vpc_id": "vpc-1"}), "network.vpc_id"),
        (lambda d: d.update(network={"cidr": "banana"}), "network.cidr: must be an IPv4 CIDR"),
        (lambda d: d.update(network={"cidr": "10.0.0.0/24"}), "has no room for 2 private /19 subnets"),
        (lambda d: d.update(network={"max_azs": 3}), "can only span 2 AZs"),
        (
            lambda d: d.update(env={"region": "us-east-1"}, network={"availability_zones": ["eu-west-1a"]}),
            "network.availability_zones: eu-west-1a is not in env.region us-east-1",
        ),
        (lambda d: d.update(tags={"aws:owner": "me"}), "not starting with 'aws:'"),
        (
            lambda d: d["compute_environments"].append({"name": "spare", "instance_types": ["c5n.18xlarge"]}),
            "compute_environments[1]: 'spare' is in no job queue",
        ),
        (
            lambda d: (
                d["compute_environments"].append({"name": "gpu", "instance_types": ["g5.12xlarge"]}),
                d["job_queues"].append({"name": "gpu", "compute_environments": ["gpu"]}),
            ),
            "compute_environments[1].max_vcpus: not set, and no job definition",
        ),
        (
            lambda d: d["compute_environments"][0].update(efa=True, instance_types=["c5n"]),
            "efa: instance_types lists 'c5n', a family",
        ),
        (
            lambda d: d["compute_environments"][0].update(efa=True, instance_types=["c5n.18xlarge", "p4d.24xlarge"]),
            "different EFA interface counts (c5n.18xlarge: 1, p4d.24xlarge: 4)",
        ),
        (lambda d: d["compute_environments"][0].update(instance_types=["c5n", "c7g"]), "mixes x86_64 and arm64"),
        (
            lambda d: d["job_definitions"][0].update(node_groups=[{"target_nodes": "0"}, {"target_nodes": "1:5"}]),
            "job_definitions[0].node_groups[1].target_nodes: '1:5' reaches node 5 but the job has nodes 0 to 3",
        ),
        (
            lambda d: d["job_definitions"][0].update(node_groups=[{"target_nodes": "0"}, {"target_nodes": "2:"}]),
            "job_definitions[0].node_groups: no group covers node 1 of 0 to 3 (MNP010",
        ),
        (
            lambda d: d["job_definitions"][0].update(node_groups=[{"target_nodes": "0:", "memory_mib": 196608}]),
            "job_definitions[0].node_groups[0].memory_mib: node group '0:' asks for 196608 MiB",
        ),
    ],
)
def test_contradictions_are_errors_naming_the_field(mutate: Any, expected: str) -> None:
    data = minimal()
    mutate(data)
    assert expected in error_of(data)


def test_a_queue_ce_only_sizes_for_the_jobs_it_can_launch() -> None:
    data = minimal()
    data["compute_environments"].append({"name": "gpu", "instance_types": ["g5.12xlarge"], "max_vcpus": 96})
    data["job_queues"][0]["compute_environments"] = ["mpi", "gpu"]
    config = parse_config(data)
    assert [jd.name for jd in config.compute_environment_job_definitions("mpi")] == ["hello"]
    assert config.compute_environment_job_definitions("gpu") == []


def test_cross_field_problems_are_listed_one_per_line() -> None:
    data = minimal()
    data["job_queues"][0]["compute_environments"] = ["nope"]
    data["job_definitions"][0]["queue"] = "missing"
    message = error_of(data)
    assert "  - job_queues[0].compute_environments: unknown compute environment 'nope'" in message
    assert "  - job_definitions[0].queue: unknown job queue 'missing'" in message
    assert "(top level)" not in message


def test_unknown_instance_type_needs_explicit_resources() -> None:
    data = minimal()
    data["compute_environments"][0]["instance_types"] = ["zz9.metal"]
    data["job_definitions"][0]["instance_type"] = "zz9.metal"
    message = error_of(data)
    assert "does not know instance type zz9.metal" in message and "job_definitions[0].vcpus" in message
    assert "job_definitions[0].memory_mib" in message
    data["job_definitions"][0].update(vcpus=64, memory_mib=100_000)
    assert "compute_environments[0].max_vcpus: not set, and the toolkit does not know instance type zz9.metal" in (
        error_of(data)
    )
    data["compute_environments"][0]["max_vcpus"] = 1024
    assert parse_config(data).job_definitions[0].required_vcpus is None


def test_file_errors_are_one_clear_message(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("compute_environments: [\n")
    with pytest.raises(ConfigError, match=r"invalid YAML at line \d+"):
        load_config(bad)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just a string\n")
    with pytest.raises(ConfigError, match="must be a YAML mapping"):
        load_config(scalar)


def test_check_command_prints_errors_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    data = minimal()
    data["job_definitions"][0]["num_nodes"] = 0
    bad.write_text(yaml.safe_dump(data))
    result = subprocess.run(
        [sys.executable, "-m", "mnp_toolkit.config", "check", str(bad)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "job_definitions[0].num_nodes" in result.stderr
    assert "Traceback" not in result.stderr


def test_shipped_schema_and_reference_are_current() -> None:
    assert json.loads((REPO / "config" / "schema.json").read_text()) == json_schema(), "run `make docs`"
    assert (REPO / "docs" / "config.md").read_text().strip() == markdown_reference().strip(), "run `make docs`"


@pytest.mark.parametrize(
    ("mutate", "rule"),
    [
        (lambda d: d["job_definitions"][0].update(num_nodes=1001), "MNP109"),
        (lambda d: d["job_definitions"][0].update(num_nodes=1), "MNP103"),
        (
            lambda d: d["job_definitions"][0].update(node_groups=[{"target_nodes": "0:2"}, {"target_nodes": "1:"}]),
            "MNP108",
        ),
    ],
)
def test_what_the_pack_warns_about_is_accepted_with_a_warning(mutate: Any, rule: str) -> None:
    data = minimal()
    mutate(data)
    data["compute_environments"][0].pop("max_vcpus", None)
    config = parse_config(data)
    assert [warning for warning in config.warnings if f"({rule};" in warning], config.warnings


def test_identical_node_ranges_nest_as_in_the_rule_pack() -> None:
    data = minimal()
    data["job_definitions"][0]["node_groups"] = [{"target_nodes": "0:"}, {"target_nodes": "0:3", "vcpus": 8}]
    assert parse_config(data).warnings == []


def _section_models() -> set[type]:
    """Every model a config can hold, found from MnpConfig's field annotations (not from a list)."""
    import typing

    from pydantic import BaseModel

    from mnp_toolkit.config.model import MnpConfig

    found: set[type] = set()

    def walk(annotation: Any) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation not in found:
                found.add(annotation)
                for field in annotation.model_fields.values():
                    walk(field.annotation)
            return
        for arg in typing.get_args(annotation):
            walk(arg)

    walk(MnpConfig)
    return found


def test_the_reference_has_a_section_for_every_model_of_the_config() -> None:
    import inspect

    reference = markdown_reference()
    models = _section_models()
    assert len(models) >= 14  # the walk reaches the nested sections (security among them)
    missing = [m.__name__ for m in models if inspect.cleandoc(m.__doc__ or "") not in reference]
    assert missing == [], f"docs/config.md has no section for {missing}"
