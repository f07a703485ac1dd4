"""Every problem of a config at once: a field error in one entry does not hide the checks across sections
(references by name, sizing, Region and AZs) on the others, and those checks do not invent problems
about an entry that failed its own validation."""

from __future__ import annotations

from typing import Any

import pytest

from mnp_toolkit.config.load import parse_config
from mnp_toolkit.config.model import ConfigError


def minimal() -> dict[str, Any]:
    return {
        "compute_environments": [{"name": "mpi", "instance_types": ["c5n.18xlarge"]}],
        "job_queues": [{"name": "mpi", "compute_environments": ["mpi"]}],
        "job_definitions": [
            {"name": "hello", "queue": "mpi", "image": "img", "instance_type": "c5n.18xlarge", "num_nodes": 4}
        ],
    }


def problems_of(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, source="test.yaml")
    header, *lines = str(caught.value).splitlines()
    assert header == f"test.yaml: {len(lines)} problem{'' if len(lines) == 1 else 's'} in the MNP config:"
    return [line.removeprefix("  - ") for line in lines]


def test_a_typo_in_one_job_does_not_hide_an_unknown_reference_elsewhere() -> None:
    data = minimal()
    data["job_definitions"][0]["num_node"] = data["job_definitions"][0].pop("num_nodes")  # a typo
    data["job_queues"].append({"name": "spare", "compute_environments": ["nope"]})
    problems = problems_of(data)
    assert problems[0] == "job_definitions[0].num_nodes: required field is missing"
    assert problems[1].startswith("job_definitions[0].num_node: unknown key (did you mean 'num_nodes'?)")
    assert "job_queues[1].compute_environments: unknown compute environment 'nope' (defined: mpi)" in problems


def test_sizing_and_efa_of_valid_entries_are_checked_beside_a_field_error() -> None:
    data = minimal()
    data["compute_environments"][0]["max_vcpus"] = 100
    data["job_definitions"][0]["efa"] = True
    data["job_definitions"].append(
        {"name": "bad", "queue": "mpi", "image": "img", "instance_type": "c5n.18xlarge", "num_nodes": 0}
    )
    problems = problems_of(data)
    assert any(
        p.startswith("job_definitions[1].num_nodes: Input should be greater than or equal to 1") for p in problems
    )
    assert any(
        p.startswith("compute_environments[0].max_vcpus: 100 is less than job definition 'hello'") for p in problems
    )
    assert any(p.startswith("job_definitions[0].efa: set efa: true on the compute environments") for p in problems)


def test_the_region_and_az_mismatch_is_reported_beside_a_field_error() -> None:
    data = minimal()
    data.update(env={"region": "eu-west-1"}, network={"availability_zones": ["us-east-1a"]})
    data["job_queues"][0]["priority"] = 5000
    problems = problems_of(data)
    assert len(problems) == 2
    assert problems[0].startswith("job_queues[0].priority: Input should be less than or equal to 1000")
    assert problems[1].startswith("network.availability_zones: us-east-1a is not in env.region eu-west-1")
    assert "set env.region to the Region of us-east-1a" in problems[1]


def test_an_entry_that_failed_its_own_validation_is_not_called_unknown_or_unused() -> None:
    data = minimal()
    data["compute_environments"][0]["root_volume_size_gib"] = 10  # mpi fails, but it exists
    data["job_queues"].append({"name": "broken", "compute_environments": ["mpi"], "priority": -1})
    data["compute_environments"].append(
        {"name": "gpu", "instance_types": ["g5.12xlarge"], "max_vcpus": 96}
    )  # only the broken queue could list it: not judged "in no job queue"
    data["job_queues"][1]["compute_environments"] = ["gpu"]
    problems = problems_of(data)
    assert [p.split(":")[0] for p in problems] == [
        "compute_environments[0].root_volume_size_gib",
        "job_queues[1].priority",
    ], problems


def test_a_missing_section_adds_no_guesses() -> None:
    data = minimal()
    del data["compute_environments"]
    assert problems_of(data) == ["compute_environments: required field is missing"]


def test_names_repeated_across_valid_and_failed_entries_are_reported() -> None:
    data = minimal()
    data["compute_environments"].append({"name": "mpi", "instance_types": ["c5n.18xlarge"], "min_vcpus": -1})
    problems = problems_of(data)
    assert "compute_environments: names must be unique, repeated: mpi" in problems


def test_cross_checks_that_fail_alone_are_listed_once() -> None:
    data = minimal()
    data["job_queues"][0]["compute_environments"] = ["nope"]
    problems = problems_of(data)
    assert problems.count("job_queues[0].compute_environments: unknown compute environment 'nope' (defined: mpi)") == 1


def test_a_compute_environment_without_a_placement_group_is_warned_about_as_mnp101() -> None:
    data = minimal()
    assert parse_config(data).warnings == []
    data["compute_environments"][0]["placement_group"] = False
    (warning,) = parse_config(data).warnings
    assert warning.startswith("compute_environments[0].placement_group: is false") and "(MNP101;" in warning


@pytest.mark.parametrize(
    ("network", "expected"),
    [
        (
            {
                "mode": "existing",
                "vpc_id": "vpc-0123456789abcdef0",
                "availability_zone": "us-east-1a",
                "private_subnet_ids": ["subnet-0123456789abcdef0"],
                "cidr": "10.0.0.0/16",
            },
            "network.cidr: unknown key: cidr is a setting of a new VPC (mode: new)",
        ),
        ({"vpc_id": "vpc-0123456789abcdef0"}, "network.vpc_id: unknown key: vpc_id is a setting of an existing VPC"),
    ],
)
def test_a_key_of_the_other_network_mode_says_which_mode_it_belongs_to(network: dict[str, Any], expected: str) -> None:
    data = minimal()
    data["network"] = network
    (problem,) = problems_of(data)
    assert problem.startswith(expected), problem


def _p5(num_nodes: int, *, efa: bool = True) -> dict[str, Any]:
    return {
        "compute_environments": [{"name": "p5", "instance_types": ["p5.48xlarge"], "efa": efa}],
        "job_queues": [{"name": "q", "compute_environments": ["p5"]}],
        "job_definitions": [
            {"name": "j", "queue": "q", "image": "img", "instance_type": "p5.48xlarge", "num_nodes": num_nodes}
            | ({"efa": True} if efa else {})
        ],
    }


def test_a_job_larger_than_the_compute_subnet_is_refused() -> None:
    # p5.48xlarge: 32 EFA interfaces with an address each, plus the container's: 33 a node; /19 has 8,187.
    assert parse_config(_p5(248)).job_definitions[0].num_nodes == 248
    (problem,) = problems_of(_p5(249))
    assert problem.startswith("job_definitions[0].num_nodes: 249 nodes of p5.48xlarge on compute environment 'p5'")
    assert "need 8,217 private IPv4 addresses (33 a node" in problem and "at most 248 nodes" in problem
    # Without EFA a node takes 2: 1,000 nodes (the default per-job limit) fit.
    assert parse_config(_p5(1000, efa=False)).job_definitions[0].num_nodes == 1000


def test_an_existing_network_is_not_judged_by_the_new_subnet_size() -> None:
    data = _p5(300)
    data["network"] = {
        "mode": "existing",
        "vpc_id": "vpc-0123456789abcdef0",
        "availability_zone": "us-east-1a",
        "private_subnet_ids": ["subnet-0123456789abcdef0"],
    }
    assert parse_config(data).job_definitions[0].num_nodes == 300
