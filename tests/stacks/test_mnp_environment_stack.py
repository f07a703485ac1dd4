"""The environment stack composes the constructs from config. One synth per shipped config per process
(tests/conftest.py); construct details are tested in tests/constructs_lib/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk.assertions import Match, Template

from tests.conftest import SHIPPED_CONFIGS, SynthesizedConfig, synthesize_config
from tests.helpers.cdk_app import cdk_app


@pytest.fixture(scope="module")
def default_template(default_synth: SynthesizedConfig) -> Template:
    return Template.from_json(default_synth.template)


def test_default_stack_has_one_of_each_mnp_piece(default_template: Template) -> None:
    for resource_type in (
        "AWS::EC2::VPC",
        "AWS::EC2::NatGateway",
        "AWS::EC2::PlacementGroup",
        "AWS::Batch::ComputeEnvironment",
        "AWS::Batch::JobQueue",
        "AWS::Batch::JobDefinition",
        "AWS::EC2::FlowLog",
    ):
        default_template.resource_count_is(resource_type, 1)


def test_default_ce_is_sized_for_its_jobs_and_pinned_to_one_subnet(default_template: Template) -> None:
    default_template.has_resource_properties(
        "AWS::Batch::ComputeEnvironment",
        {
            "Type": Match.string_like_regexp("^(managed|MANAGED)$"),
            "ComputeResources": Match.object_like(
                {
                    "Type": "EC2",
                    "MinvCpus": 0,
                    "MaxvCpus": 4 * 72,  # 4 nodes of c5n.18xlarge, derived from the job definition
                    "InstanceTypes": ["c5n.18xlarge"],
                }
            ),
        },
    )
    (ce,) = default_template.find_resources("AWS::Batch::ComputeEnvironment").values()
    assert len(ce["Properties"]["ComputeResources"]["Subnets"]) == 1


def test_default_job_definition_matches_config(default_template: Template) -> None:
    default_template.has_resource_properties(
        "AWS::Batch::JobDefinition",
        {
            "Type": "multinode",
            "JobDefinitionName": "MnpEnvironment-mpi-hello",
            "NodeProperties": Match.object_like({"NumNodes": 4, "MainNode": 0}),
        },
    )


def test_queue_is_marked_for_the_rule_pack(default_template: Template) -> None:
    queues = default_template.find_resources("AWS::Batch::JobQueue", {"Metadata": {"mnp:queue": True}})
    assert len(queues) == 1
    (queue,) = queues.values()
    assert queue["Properties"]["JobQueueName"] == "MnpEnvironment-mpi"


def test_outputs_name_queue_and_job_definition(default_synth: SynthesizedConfig) -> None:
    outputs = default_synth.template.get("Outputs", {})
    assert any(key.startswith("JobQueueArn") for key in outputs)
    assert any(key.startswith("JobDefinitionArn") for key in outputs)


def test_existing_vpc_config_creates_no_network() -> None:
    synthesized = synthesize_config("existing-vpc.yaml")
    template = Template.from_json(synthesized.template)
    for resource_type in ("AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::NatGateway"):
        template.resource_count_is(resource_type, 0)
    template.has_resource_properties(
        "AWS::Batch::ComputeEnvironment",
        {"ComputeResources": Match.object_like({"Subnets": ["subnet-0a1b2c3d4e5f60718"], "MaxvCpus": 1024})},
    )
    assert synthesized.stack.region == "us-east-1" and synthesized.stack.account == "123456789012"


def test_gpu_config_asks_for_gpus_and_a_large_dev_shm() -> None:
    synthesized = synthesize_config("gpu-training.yaml")
    (jd,) = [r for r in synthesized.template["Resources"].values() if r["Type"] == "AWS::Batch::JobDefinition"]
    for node_range in jd["Properties"]["NodeProperties"]["NodeRangeProperties"]:
        assert node_range["Container"]["LinuxParameters"]["SharedMemorySize"] == 16384
    text = json.dumps(synthesized.template)
    assert '"Type": "GPU", "Value": "4"' in text or '{"Type": "GPU", "Value": "4"}' in text.replace("\n", "")


@pytest.mark.parametrize("config_name", SHIPPED_CONFIGS)
def test_cfn_lint_finds_nothing(config_name: str) -> None:
    import cfnlint.api

    synthesized = synthesize_config(config_name)
    matches = cfnlint.api.lint(json.dumps(synthesized.template), regions=["us-east-1"])
    assert [str(match) for match in matches] == []


@pytest.mark.parametrize("config_name", SHIPPED_CONFIGS)
def test_policy_checks_pass_with_every_acknowledgement_reasoned(config_name: str) -> None:
    """MnpChecks and cdk-nag's AwsSolutions pack both run at synth (as in app.py; a violation would have
    failed the synth): nothing unacknowledged, and every acknowledged finding carries a specific reason.
    The CDK lists a plugin in the report only when it has something to say."""
    synthesized = synthesize_config(config_name)
    report = json.loads((synthesized.assembly_dir / "validation-report.json").read_text())
    plugins = {plugin["pluginName"]: plugin for plugin in report["pluginReports"]}
    assert "AwsSolutions" in plugins  # it has acknowledged findings to list
    for name, plugin in plugins.items():
        assert plugin["conclusion"] == "success", name
        assert plugin["violations"] == [], name
        for suppressed in plugin.get("suppressedViolations", []):
            assert len(suppressed["reason"]) >= 40, suppressed["ruleName"]
    acknowledged = {item["ruleName"].split("[")[0] for item in plugins["AwsSolutions"]["suppressedViolations"]}
    # Exactly the findings we accept on purpose: the CE instance role's managed ECS policy and the
    # watchdog's Batch wildcards; anything new must be fixed or acknowledged deliberately.
    assert acknowledged <= {"AwsSolutions-IAM4", "AwsSolutions-IAM5"}


@pytest.mark.parametrize("config_name", SHIPPED_CONFIGS)
def test_rule_pack_finds_no_error_or_warning(config_name: str) -> None:
    from mnp_toolkit.lint.engine import lint_template
    from mnp_toolkit.lint.findings import Summary
    from mnp_toolkit.lint.packs import mnp_pack
    from mnp_toolkit.lint.template import Template as CfnTemplate

    synthesized = synthesize_config(config_name)
    findings = lint_template(CfnTemplate(synthesized.template, path=config_name), mnp_pack().rules)
    summary = Summary.of(findings)
    assert (summary.errors, summary.warnings, summary.acknowledged) == (0, 0, 0), findings


def test_config_tags_skip_types_whose_tags_are_create_only(default_synth: SynthesizedConfig) -> None:
    """A tag edit must not replace the compute environment (killing its jobs) or the placement group."""
    # CloudFormation resource reference: `Tags` of AWS::Batch::ComputeEnvironment and of
    # AWS::EC2::PlacementGroup is "Update requires: Replacement".
    create_only_tags = {"AWS::Batch::ComputeEnvironment", "AWS::EC2::PlacementGroup"}
    resources = default_synth.template["Resources"].values()
    assert create_only_tags <= {resource["Type"] for resource in resources}
    for resource in resources:
        tags = resource.get("Properties", {}).get("Tags")
        tagged = tags is not None and "project" in json.dumps(tags)
        if resource["Type"] in create_only_tags:
            assert not tagged, resource["Type"]
    assert any(r["Type"] == "AWS::EC2::VPC" and "mnp-batch-toolkit" in json.dumps(r["Properties"]) for r in resources)
    (launch_template,) = [r for r in resources if r["Type"] == "AWS::EC2::LaunchTemplate"]
    assert "mnp-batch-toolkit" in json.dumps(launch_template["Properties"]["LaunchTemplateData"]["TagSpecifications"])


def test_existing_placement_group_is_used_by_name_and_none_is_created(tmp_path: Path) -> None:

    from mnp_toolkit.config.load import parse_config
    from stacks.app_builder import build_environment_stack

    config = parse_config(
        {
            "compute_environments": [
                {"name": "mpi", "instance_types": ["c5n.18xlarge"], "existing_placement_group_name": "shared-pg"}
            ],
            "job_queues": [{"name": "mpi", "compute_environments": ["mpi"], "watchdog": False}],
            "job_definitions": [
                {"name": "j", "queue": "mpi", "image": "img", "instance_type": "c5n.18xlarge", "num_nodes": 2}
            ],
        }
    )
    app = cdk_app(outdir=str(tmp_path))
    template = Template.from_stack(build_environment_stack(app, config))
    template.resource_count_is("AWS::EC2::PlacementGroup", 0)
    template.has_resource_properties(
        "AWS::Batch::ComputeEnvironment", {"ComputeResources": Match.object_like({"PlacementGroup": "shared-pg"})}
    )


def test_every_retention_the_config_accepts_becomes_that_many_days_in_the_template() -> None:
    """The config (no CDK import) lists the retentions; each must render as RetentionInDays of that value."""
    import aws_cdk as cdk
    from aws_cdk import aws_logs as logs

    from mnp_toolkit.config.model import LOG_RETENTION_DAYS
    from stacks.mnp_environment_stack import retention

    stack = cdk.Stack(cdk_app(), "Retention")
    for days in LOG_RETENTION_DAYS:
        logs.LogGroup(stack, f"Group{days}", retention=retention(days))
    rendered = sorted(
        group["Properties"]["RetentionInDays"]
        for group in Template.from_stack(stack).find_resources("AWS::Logs::LogGroup").values()
    )
    assert rendered == sorted(LOG_RETENTION_DAYS)
