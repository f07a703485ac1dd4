"""MNP004: MaxvCpus of an MNP compute environment must hold the largest MNP job definition."""

import json
from typing import Any

import pytest

from mnp_toolkit.lint.packs import mnp_pack
from tests.helpers.ce_templates import add_compute_environment, add_job_definition, compute_resources
from tests.helpers.templates import (
    errors_or_warnings,
    findings_for,
    mnp_environment,
    only_info_naming_default,
    props,
    resources,
)


def node_properties(template: dict[str, Any], jd: str = "JobDefinition") -> dict[str, Any]:
    return props(template, jd)["NodeProperties"]


def vcpu_range(target: str, vcpus: str, **extra: Any) -> dict[str, Any]:
    return {
        "TargetNodes": target,
        "Container": {
            "Image": "example",
            "ResourceRequirements": [{"Type": "VCPU", "Value": vcpus}, {"Type": "MEMORY", "Value": "1024"}],
            **extra,
        },
    }


def test_exact_fit_is_compliant() -> None:
    template = mnp_environment()  # 4 x c5n.18xlarge (72) = 288 = MaxvCpus
    assert findings_for("MNP004", template) == []


def test_one_vcpu_short_is_an_error_with_numbers() -> None:
    template = mnp_environment()
    compute_resources(template)["MaxvCpus"] = 287
    found = errors_or_warnings("MNP004", template)
    assert [(f.rule, f.level.value, f.resource) for f in found] == [("MNP004", "error", "ComputeEnvironment")]
    message = found[0].message
    assert "MaxvCpus 287" in message and "288 vCPUs" in message and "4 nodes x 72 vCPUs of c5n.18xlarge" in message
    assert "MnpStack/JobDefinition" in message
    assert "288" in found[0].fix


@pytest.mark.parametrize("default", ["144", 1])
def test_max_vcpus_from_a_parameter_is_only_info_whatever_its_default(default: object) -> None:
    template = mnp_environment()
    template["Parameters"] = {"MaxVcpus": {"Type": "Number", "Default": default}}
    compute_resources(template)["MaxvCpus"] = {"Ref": "MaxVcpus"}
    info = only_info_naming_default("MNP004", template, parameter="MaxVcpus", default=json.dumps(default))
    assert "ComputeResources.MaxvCpus comes from parameter MaxVcpus" in info.message


def test_unresolvable_max_vcpus_is_info_not_error() -> None:
    template = mnp_environment()
    compute_resources(template)["MaxvCpus"] = {"Fn::ImportValue": "MaxVcpus"}
    assert [f.level.value for f in findings_for("MNP004", template)] == ["info"]


def test_instance_type_unknown_to_the_table_is_not_an_error() -> None:
    template = mnp_environment()
    compute_resources(template)["MaxvCpus"] = 8
    compute_resources(template)["InstanceTypes"] = ["c9zz.48xlarge"]
    node_properties(template)["NodeRangeProperties"][0]["Container"]["InstanceType"] = "c9zz.48xlarge"
    found = findings_for("MNP004", template)
    assert [f.level.value for f in found] == ["info"]
    assert "c9zz.48xlarge" in found[0].message


def test_unresolvable_num_nodes_is_not_an_error() -> None:
    template = mnp_environment()
    compute_resources(template)["MaxvCpus"] = 8
    node_properties(template)["NumNodes"] = {"Fn::ImportValue": "Nodes"}
    assert [f.level.value for f in findings_for("MNP004", template)] == ["info"]


def test_without_instance_type_the_node_requirements_are_summed() -> None:
    template = mnp_environment()
    node_properties(template)["NumNodes"] = 3
    node_properties(template)["NodeRangeProperties"] = [vcpu_range("0:", "16")]
    compute_resources(template)["MaxvCpus"] = 48
    assert findings_for("MNP004", template) == []
    compute_resources(template)["MaxvCpus"] = 47
    found = errors_or_warnings("MNP004", template)
    assert len(found) == 1 and "48 vCPUs" in found[0].message


def test_nested_ranges_count_each_node_once_with_the_inner_settings() -> None:
    template = mnp_environment()
    node_properties(template)["NumNodes"] = 4
    # Node 0 (inner range) asks for 32; nodes 1-3 (outer range) for 8 each: 32 + 24 = 56, not 32 + 4 x 8.
    node_properties(template)["NodeRangeProperties"] = [vcpu_range("0:3", "8"), vcpu_range("0", "32")]
    compute_resources(template)["MaxvCpus"] = 56
    assert findings_for("MNP004", template) == []
    compute_resources(template)["MaxvCpus"] = 55
    found = errors_or_warnings("MNP004", template)
    assert len(found) == 1 and "56 vCPUs" in found[0].message


def test_uncovered_node_without_instance_type_is_not_an_error() -> None:
    template = mnp_environment()
    node_properties(template)["NumNodes"] = 4
    node_properties(template)["NodeRangeProperties"] = [vcpu_range("0:1", "64")]
    compute_resources(template)["MaxvCpus"] = 8
    assert [f.level.value for f in findings_for("MNP004", template)] == ["info"]


def test_reports_every_job_definition_that_does_not_fit() -> None:
    template = mnp_environment()
    add_job_definition(template, "BigJob", num_nodes=8)  # 576
    add_job_definition(template, "SmallJob", num_nodes=2)  # 144
    compute_resources(template)["MaxvCpus"] = 200
    found = errors_or_warnings("MNP004", template)
    assert sorted(f.message.split("definition ")[1].split(" ")[0] for f in found) == [
        "MnpStack/BigJob/Resource",
        "MnpStack/JobDefinition/Resource",
    ]


def test_job_definition_the_ce_cannot_launch_is_left_to_mnp005() -> None:
    template = mnp_environment()
    add_job_definition(template, "GpuJob", num_nodes=16, instance_type="p4d.24xlarge")  # 1536 vCPUs
    assert findings_for("MNP004", template) == []


def test_each_mnp_ce_is_checked() -> None:
    template = mnp_environment()
    add_compute_environment(template, "SecondCe", instance_types=["c5n"])
    props(template, "SecondCe")["ComputeResources"]["MaxvCpus"] = 72
    found = errors_or_warnings("MNP004", template)
    assert [f.resource for f in found] == ["SecondCe"]


def test_template_without_mnp_job_definitions_is_not_applicable() -> None:
    template = mnp_environment()
    del resources(template)["JobDefinition"]
    compute_resources(template)["MaxvCpus"] = 1
    assert findings_for("MNP004", template) == []


@pytest.mark.parametrize("job_type", ["container", "CONTAINER"])
def test_container_job_definitions_do_not_count(job_type: str) -> None:
    template = mnp_environment()
    props(template, "JobDefinition")["Type"] = job_type
    resources(template)["JobQueue"]["Metadata"]["mnp:queue"] = True
    compute_resources(template)["MaxvCpus"] = 1
    assert findings_for("MNP004", template) == []


def test_fargate_ce_is_left_to_mnp002() -> None:
    template = mnp_environment()
    compute_resources(template)["Type"] = "FARGATE"
    compute_resources(template)["MaxvCpus"] = 4
    assert findings_for("MNP004", template) == []


def test_rule_matches_the_catalog() -> None:
    rule = mnp_pack()["MNP004"]
    assert (rule.level.value, rule.resource_type) == ("error", "AWS::Batch::ComputeEnvironment")
    assert rule.source.startswith("https://docs.aws.amazon.com/")
    assert rule.info and rule.explanation and rule.fix
