"""The example configs of a real training and HPC job (config/examples/), through the real app wiring
(tests/conftest.py: the rule pack and cdk-nag run at synth, as in app.py): every new key synthesized and
asserted with aws_cdk.assertions, and the checks (cfn-lint, rule pack, cdk-nag) clean.

The examples are synth-only: the local emulator (mnp_local, moto) has no AWS::Batch::SchedulingPolicy,
so they are not among the shipped configs that `make deploy-local` deploys.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from tests.conftest import CONFIG_DIR, SynthesizedConfig, synthesize_config
from tests.helpers.cdk_app import cdk_app

#: A job definition line of a bad config, completed by each case.
JOB = "  - {name: j, queue: q, image: img, instance_type: c5n.18xlarge"
EXAMPLES = sorted(f"examples/{path.name}" for path in (CONFIG_DIR / "examples").glob("*.yaml"))


@pytest.fixture(scope="module")
def p4d() -> SynthesizedConfig:
    return synthesize_config("examples/p4d-training.yaml")


@pytest.fixture(scope="module")
def hpc() -> SynthesizedConfig:
    return synthesize_config("examples/hpc6a-mpi.yaml")


def _resources(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def _only(template: dict[str, Any], resource_type: str) -> dict[str, Any]:
    (resource,) = _resources(template, resource_type).values()
    properties: dict[str, Any] = resource["Properties"]
    return properties


def _s3(resource: str) -> dict[str, Any]:
    # env.region is set, so the CDK renders the partition as a literal (enablePartitionLiterals).
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":s3:::{resource}"]]}


def _partition_free(value: Any) -> str:
    return json.dumps(value).replace('"arn:", {"Ref": "AWS::Partition"}, ":', '"arn:aws:')


def test_job_role_grants_the_s3_locations_of_the_config(p4d: SynthesizedConfig) -> None:
    template = Template.from_json(p4d.template)
    roles = template.find_resources("AWS::IAM::Role", {"Properties": {"Policies": [{"PolicyName": "JobAccess"}]}})
    (role,) = roles.values()
    statements = {s["Sid"]: s for s in role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]}
    assert set(statements) == {"ListReadLocations0", "ReadObjects", "WriteObjects"}
    assert statements["ReadObjects"]["Action"] == "s3:GetObject"
    assert "example-datasets/tokenized/*" in json.dumps(statements["ReadObjects"]["Resource"])
    assert statements["ListReadLocations0"]["Condition"] == {"StringLike": {"s3:prefix": ["tokenized/*"]}}
    assert sorted(statements["WriteObjects"]["Action"]) == ["s3:AbortMultipartUpload", "s3:PutObject"]
    assert "example-checkpoints/llm-pretrain/*" in json.dumps(statements["WriteObjects"]["Resource"])
    (job_role_id,) = roles
    containers = [
        r["Container"]
        for r in _only(p4d.template, "AWS::Batch::JobDefinition")["NodeProperties"]["NodeRangeProperties"]
    ]
    assert all(c["JobRoleArn"] == {"Fn::GetAtt": [job_role_id, "Arn"]} for c in containers)


def test_ecs_exec_is_on_and_the_job_role_may_open_its_channels(p4d: SynthesizedConfig) -> None:
    containers = [
        r["Container"]
        for r in _only(p4d.template, "AWS::Batch::JobDefinition")["NodeProperties"]["NodeRangeProperties"]
    ]
    assert [c["EnableExecuteCommand"] for c in containers] == [True]
    Template.from_json(p4d.template).has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [
                    Match.object_like({"Action": Match.array_with(["ssmmessages:OpenDataChannel"]), "Resource": "*"})
                ],
                "Version": "2012-10-17",
            },
            "Roles": [{"Ref": Match.string_like_regexp("^JobRole")}],
        },
    )


def test_the_shared_execution_role_pulls_the_private_ecr_image(p4d: SynthesizedConfig) -> None:
    statements = [
        statement
        for policy in _resources(p4d.template, "AWS::IAM::Policy").values()
        if policy["Properties"]["Roles"]
        == [{"Ref": p4d.stack.resolve(p4d.stack.job_execution_role.node.default_child.logical_id)}]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    pulls = [s for s in statements if "ecr:BatchGetImage" in s["Action"]]
    assert len(pulls) == 1
    assert _partition_free(pulls[0]["Resource"]) in (
        '"arn:aws:ecr:us-east-1:123456789012:repository/ml/pretrain"',
        '["arn:aws:ecr:us-east-1:123456789012:repository/ml/pretrain"]',
    )
    assert {"Action": "ecr:GetAuthorizationToken", "Effect": "Allow", "Resource": "*"} in statements


def test_the_ami_comes_from_its_ssm_parameter(p4d: SynthesizedConfig, hpc: SynthesizedConfig) -> None:
    for synthesized, image_type, name in (
        (p4d, "ECS_AL2023_NVIDIA", "/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id"),
        (hpc, "ECS_AL2023", "/example/amis/ecs-al2023-efa/latest"),
    ):
        parameters = synthesized.template["Parameters"]
        (parameter,) = [key for key, value in parameters.items() if value.get("Default") == name]
        assert parameters[parameter]["Type"] == "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
        resources = _only(synthesized.template, "AWS::Batch::ComputeEnvironment")["ComputeResources"]
        assert resources["Ec2Configuration"] == [{"ImageIdOverride": {"Ref": parameter}, "ImageType": image_type}]


def _boot_script(template: dict[str, Any]) -> str:
    user_data = _only(template, "AWS::EC2::LaunchTemplate")["LaunchTemplateData"].get("UserData", {})
    parts = user_data.get("Fn::Base64", {}).get("Fn::Join", ["", []])[1]
    return "".join(p["Fn::Base64"] for p in parts if isinstance(p, dict) and isinstance(p.get("Fn::Base64"), str))


def test_the_efa_driver_install_follows_install_efa_driver(p4d: SynthesizedConfig, hpc: SynthesizedConfig) -> None:
    assert "efa_installer.sh" in _boot_script(p4d.template)  # the GPU AMI has no EFA driver
    assert "efa_installer.sh" not in _boot_script(hpc.template)  # install_efa_driver: false
    assert "ECS_AWSVPC_BLOCK_IMDS=true" in _boot_script(hpc.template)


def test_the_capacity_reservation_is_targeted(p4d: SynthesizedConfig, hpc: SynthesizedConfig) -> None:
    data = _only(p4d.template, "AWS::EC2::LaunchTemplate")["LaunchTemplateData"]
    assert data["CapacityReservationSpecification"] == {
        "CapacityReservationTarget": {"CapacityReservationId": "cr-0123456789abcdef0"}
    }
    assert (
        "CapacityReservationSpecification" not in _only(hpc.template, "AWS::EC2::LaunchTemplate")["LaunchTemplateData"]
    )


def test_capacity_waits_end_after_the_configured_time(p4d: SynthesizedConfig, hpc: SynthesizedConfig) -> None:
    for synthesized, seconds in ((p4d, 240 * 60), (hpc, 120 * 60)):
        actions = _only(synthesized.template, "AWS::Batch::JobQueue")["JobStateTimeLimitActions"]
        assert {
            "Action": "CANCEL",
            "MaxTimeSeconds": seconds,
            "Reason": "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
            "State": "RUNNABLE",
        } in actions


def test_the_queue_has_the_fair_share_policy(p4d: SynthesizedConfig, hpc: SynthesizedConfig) -> None:
    ((policy_id, policy),) = _resources(p4d.template, "AWS::Batch::SchedulingPolicy").items()
    assert policy["Properties"]["FairsharePolicy"] == {
        "ShareDecaySeconds": 3600,
        "ComputeReservation": 10,
        "ShareDistribution": [
            {"ShareIdentifier": "vision", "WeightFactor": 1},
            {"ShareIdentifier": "research*", "WeightFactor": 2},
        ],
    }
    assert _only(p4d.template, "AWS::Batch::JobQueue")["SchedulingPolicyArn"] == {"Fn::GetAtt": [policy_id, "Arn"]}
    assert "SchedulingPolicyArn" not in _only(hpc.template, "AWS::Batch::JobQueue")


@pytest.mark.parametrize("config_name", EXAMPLES)
def test_examples_pass_cfn_lint_the_rule_pack_and_cdk_nag(config_name: str) -> None:
    import cfnlint.api

    from mnp_toolkit.lint.engine import lint_template
    from mnp_toolkit.lint.findings import Summary
    from mnp_toolkit.lint.packs import mnp_pack
    from mnp_toolkit.lint.template import Template as CfnTemplate

    synthesized = synthesize_config(config_name)
    # No context lookup: `cdk synth` of an example needs no AWS account or credentials.
    manifest = json.loads((synthesized.assembly_dir / "manifest.json").read_text())
    assert manifest.get("missing") is None, manifest["missing"]
    # W3010 (hard-coded Availability Zones) is intended where a config pins them: a capacity reservation
    # lives in one AZ, and a stack with env.region lists its AZs rather than look them up.
    pinned = synthesized.stack.config.network.mode == "new" and synthesized.stack.config.network.availability_zones
    options = cfnlint.api.ManualArgs(ignore_checks=["W3010"] if pinned else [], regions=["us-east-1"])
    assert [str(m) for m in cfnlint.api.lint(json.dumps(synthesized.template), config=options)] == []
    findings = lint_template(CfnTemplate(synthesized.template, path=config_name), mnp_pack().rules)
    summary = Summary.of(findings)
    assert (summary.errors, summary.warnings) == (0, 0), findings
    report = json.loads((synthesized.assembly_dir / "validation-report.json").read_text())
    (nag,) = [p for p in report["pluginReports"] if p["pluginName"] == "AwsSolutions"]
    assert nag["conclusion"] == "success" and nag["violations"] == []
    acknowledged = {v["ruleName"] for v in nag["suppressedViolations"]}
    s3_objects = {
        name for name in acknowledged if name.startswith("AwsSolutions-IAM5[Resource::arn:") and ":s3:::" in name
    }
    config = synthesized.stack.config
    locations = {
        location.removeprefix("s3://")
        for jd in config.job_definitions
        if jd.job_role
        for location in (*jd.job_role.s3_read, *jd.job_role.s3_write)
    }
    # Exactly one acknowledgement per S3 location, naming its objects: no blanket wildcard.
    assert len(s3_objects) == len(locations)
    assert all(any(f":s3:::{location}*]" in name for name in s3_objects) for location in locations)


def test_an_ami_id_is_used_in_the_config_region(tmp_path: Path) -> None:
    from mnp_toolkit.config.load import parse_config
    from stacks.app_builder import build_environment_stack

    config = parse_config(
        {
            "env": {"region": "eu-west-1"},
            "network": {"availability_zones": ["eu-west-1a", "eu-west-1b"]},
            "compute_environments": [
                {"name": "hpc", "instance_types": ["hpc6a.48xlarge"], "ami": {"image_id": "ami-0123456789abcdef0"}}
            ],
            "job_queues": [{"name": "mpi", "compute_environments": ["hpc"], "watchdog": False}],
            "job_definitions": [
                {"name": "j", "queue": "mpi", "image": "img", "instance_type": "hpc6a.48xlarge", "num_nodes": 2}
            ],
        }
    )
    template = Template.from_stack(build_environment_stack(cdk_app(outdir=str(tmp_path)), config))
    template.has_resource_properties(
        "AWS::Batch::ComputeEnvironment",
        {
            "ComputeResources": Match.object_like(
                {"Ec2Configuration": [{"ImageIdOverride": "ami-0123456789abcdef0", "ImageType": "ECS_AL2023"}]}
            )
        },
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "  - {name: j, queue: q, image: img, instance_type: c5n.18xlarge, num_nodes: true}",
            "num_nodes: Input should be a valid integer",
        ),
        (
            f"{JOB}, num_nodes: 2, environment: {{AWS_BATCH_X: '1'}}}}",
            "names cannot start with AWS_BATCH",
        ),
        (
            f"{JOB}, num_nodes: 2, job_role: {{s3_read: [s3://B]}}}}",
            "job_definitions[0].job_role.s3_read[0]: 's3://B' is not an S3 location",
        ),
        (
            f"{JOB}, num_nodes: 2, timeout_minutes: 1000000000000}}",
            "timeout_minutes: Input should be less than or equal to",
        ),
    ],
)
def test_cdk_synth_of_a_wrong_value_exits_2_with_the_message(
    tmp_path: Path, text: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """What `cdk synth -c config=...` runs (app.py: build_app_from_context): one message, exit 2."""
    from stacks.app_builder import build_app_from_context

    path = tmp_path / "bad.yaml"
    path.write_text(
        "compute_environments:\n  - {name: c, instance_types: [c5n.18xlarge]}\n"
        "job_queues:\n  - {name: q, compute_environments: [c]}\njob_definitions:\n" + text + "\n"
    )
    with pytest.raises(SystemExit) as exit_info:
        build_app_from_context(cdk_app(outdir=str(tmp_path / "out"), context={"config": str(path)}))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err, err
