"""MNP005: an MNP job definition's instance type must be launchable by some MNP compute environment."""

import pytest

from mnp_toolkit.lint.packs import mnp_pack
from tests.helpers.ce_templates import add_compute_environment, add_job_definition, compute_resources
from tests.helpers.templates import errors_or_warnings, findings_for, mnp_environment, props, resources


def set_types(template: dict, types: object) -> None:
    compute_resources(template)["InstanceTypes"] = types


def test_exact_type_listed_is_compliant() -> None:
    assert findings_for("MNP005", mnp_environment()) == []


@pytest.mark.parametrize("listed", [["c5n"], ["C5N.18XLARGE"], ["m5.large", "c5n"]])
def test_type_or_family_listed_is_compliant(listed: list[str]) -> None:
    template = mnp_environment()
    set_types(template, listed)
    assert findings_for("MNP005", template) == []


def test_optimal_covers_c5_but_not_c5n() -> None:
    template = mnp_environment()
    set_types(template, ["optimal"])
    props(template, "JobDefinition")["NodeProperties"]["NodeRangeProperties"][0]["Container"]["InstanceType"] = (
        "c5.18xlarge"
    )
    assert findings_for("MNP005", template) == []
    props(template, "JobDefinition")["NodeProperties"]["NodeRangeProperties"][0]["Container"]["InstanceType"] = (
        "c5n.18xlarge"
    )
    found = errors_or_warnings("MNP005", template)
    assert len(found) == 1 and "c5n.18xlarge" in found[0].message and "[optimal]" in found[0].message


def test_optimal_covers_the_default_x86_64_families_it_now_matches() -> None:
    """Since 2025-11-01 ``optimal`` behaves like ``default_x86_64`` (API ComputeResource.instanceTypes)."""
    template = mnp_environment()
    set_types(template, ["optimal"])
    props(template, "JobDefinition")["NodeProperties"]["NodeRangeProperties"][0]["Container"]["InstanceType"] = (
        "c6i.32xlarge"
    )
    assert findings_for("MNP005", template) == []


def test_type_not_launchable_is_an_error_on_the_job_definition() -> None:
    template = mnp_environment()
    set_types(template, ["c5n.9xlarge", "c6in"])
    found = errors_or_warnings("MNP005", template)
    assert [(f.rule, f.level.value, f.resource) for f in found] == [("MNP005", "error", "JobDefinition")]
    assert "c5n.18xlarge" in found[0].message and "c5n.9xlarge, c6in" in found[0].message
    assert "MnpStack/ComputeEnvironment/Resource" in found[0].message


def test_any_mnp_ce_launching_it_is_enough() -> None:
    template = mnp_environment()
    set_types(template, ["m5"])
    add_compute_environment(template, "SecondCe", instance_types=["c5n"])
    assert findings_for("MNP005", template) == []


def test_ce_outside_mnp_queues_does_not_count() -> None:
    template = mnp_environment()
    set_types(template, ["m5"])
    add_compute_environment(template, "OtherCe", instance_types=["c5n"], queue=None)
    assert len(errors_or_warnings("MNP005", template)) == 1


def test_unresolvable_instance_types_of_a_ce_give_no_error() -> None:
    template = mnp_environment()
    set_types(template, {"Fn::Split": [",", {"Fn::ImportValue": "Types"}]})
    assert [f.level.value for f in findings_for("MNP005", template)] == ["info"]


def test_ce_not_in_the_template_might_launch_it() -> None:
    template = mnp_environment()
    set_types(template, ["m5"])
    props(template, "JobQueue")["ComputeEnvironmentOrder"].append(
        {"ComputeEnvironment": {"Fn::ImportValue": "SharedCeArn"}, "Order": 2}
    )
    assert [f.level.value for f in findings_for("MNP005", template)] == ["info"]


def test_job_definitions_alone_are_not_applicable() -> None:
    template = mnp_environment()
    for logical_id in ("ComputeEnvironment", "JobQueue"):
        del resources(template)[logical_id]
    assert findings_for("MNP005", template) == []


def test_queue_of_imported_ces_only_is_not_applicable() -> None:
    template = mnp_environment()
    props(template, "JobQueue")["ComputeEnvironmentOrder"] = [{"ComputeEnvironment": "arn:aws:batch:x", "Order": 1}]
    assert findings_for("MNP005", template) == []


def test_job_definition_without_instance_type_is_not_applicable() -> None:
    template = mnp_environment()
    set_types(template, ["m5"])
    del props(template, "JobDefinition")["NodeProperties"]["NodeRangeProperties"][0]["Container"]["InstanceType"]
    assert findings_for("MNP005", template) == []


def test_unresolvable_job_instance_type_is_info() -> None:
    template = mnp_environment()
    container = props(template, "JobDefinition")["NodeProperties"]["NodeRangeProperties"][0]["Container"]
    container["InstanceType"] = {"Fn::ImportValue": "NodeType"}
    assert [f.level.value for f in findings_for("MNP005", template)] == ["info"]


def test_type_unknown_to_the_table_against_a_category_is_not_an_error() -> None:
    template = mnp_environment()
    set_types(template, ["default_x86_64"])
    container = props(template, "JobDefinition")["NodeProperties"]["NodeRangeProperties"][0]["Container"]
    container["InstanceType"] = "c9zz.48xlarge"
    assert [f.level.value for f in findings_for("MNP005", template)] == ["info"]


def test_type_unknown_to_the_table_in_a_listed_family_is_compliant() -> None:
    template = mnp_environment()
    set_types(template, ["c9zz"])
    container = props(template, "JobDefinition")["NodeProperties"]["NodeRangeProperties"][0]["Container"]
    container["InstanceType"] = "c9zz.48xlarge"
    assert findings_for("MNP005", template) == []


def test_each_job_definition_is_checked_on_its_own() -> None:
    template = mnp_environment()
    add_job_definition(template, "GpuJob", num_nodes=2, instance_type="p4d.24xlarge")
    found = errors_or_warnings("MNP005", template)
    assert [f.resource for f in found] == ["GpuJob"]
    assert "p4d.24xlarge" in found[0].message and "p4d" in found[0].fix


def test_fargate_ce_launches_no_instance_type() -> None:
    template = mnp_environment()
    props(template, "JobQueue")["ComputeEnvironmentOrder"] = []
    add_compute_environment(template, "FargateCe", compute_type="FARGATE")
    found = errors_or_warnings("MNP005", template)
    assert len(found) == 1 and "no InstanceTypes" in found[0].message


def test_rule_matches_the_catalog() -> None:
    rule = mnp_pack()["MNP005"]
    assert (rule.level.value, rule.resource_type) == ("error", "AWS::Batch::JobDefinition")
    assert rule.source.startswith("https://docs.aws.amazon.com/")
    assert rule.info and rule.explanation and rule.fix
