"""Tests for :class:`constructs_lib.watchdog.ChildFailureWatchdog` (synthesized templates).

One CDK app, synthesized once per module (a synth costs seconds): a minimal stack with a plain
``aws_batch.JobQueue`` and the watchdog with its defaults, and a second stack (explicit environment)
with every option changed. The app runs cdk-nag's ``AwsSolutionsChecks`` as a policy-validation plugin,
so the same synth also proves the construct passes cdk-nag 3 with only its two documented
acknowledgements. Logical IDs are never asserted: resources are found by type and by reference.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

import aws_cdk as cdk
from aws_cdk import aws_batch as batch
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks

from constructs_lib._validation import MnpPropsError
from constructs_lib.lambda_src.watchdog import index as handler_module
from constructs_lib.watchdog import ChildFailureWatchdog
from tests.helpers.cdk_app import cdk_app

pytestmark = pytest.mark.synth

EXPLICIT_REGION = "eu-west-1"
EXPLICIT_ACCOUNT = "123456789012"


def _queue(stack: cdk.Stack) -> batch.JobQueue:
    compute = batch.UnmanagedComputeEnvironment(stack, "Compute")
    # The fixture's compute environment, not the watchdog, uses a managed policy; acknowledged here with
    # the same (prefixed) mechanism the watchdog uses, so the report stays a clean success.
    cdk.Validations.of(compute).acknowledge(
        cdk.Acknowledgment(
            id="AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBatchServiceRole]",
            reason="test fixture: the plain L2 compute environment's service role, not under test",
        )
    )
    return batch.JobQueue(
        stack, "Queue", compute_environments=[batch.OrderedComputeEnvironment(compute_environment=compute, order=1)]
    )


class Synth:
    """What the module fixture synthesized."""

    def __init__(self, outdir: Path, app: cdk.App, default: ChildFailureWatchdog, custom: ChildFailureWatchdog):
        assembly = app.synth()
        self.outdir = outdir
        self.default = default
        self.custom = custom
        self.default_template = Template.from_json(assembly.get_stack_by_name("Default").template)
        self.custom_template = Template.from_json(assembly.get_stack_by_name("Custom").template)
        self.bare_template = Template.from_json(assembly.get_stack_by_name("Bare").template)
        self.report: dict[str, Any] = json.loads((outdir / "validation-report.json").read_text())


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = cdk_app(outdir=str(outdir))
    default_stack = cdk.Stack(app, "Default")
    default = ChildFailureWatchdog(default_stack, "Watchdog", job_queue=_queue(default_stack))
    custom_stack = cdk.Stack(app, "Custom", env=cdk.Environment(account=EXPLICIT_ACCOUNT, region=EXPLICIT_REGION))
    dlq = sqs.Queue(custom_stack, "Dlq", enforce_ssl=True, encryption=sqs.QueueEncryption.SQS_MANAGED)
    cdk.Validations.of(dlq).acknowledge(
        cdk.Acknowledgment(
            id="AwsSolutions::AwsSolutions-SQS3", reason="test fixture: this queue is itself the dead-letter queue"
        )
    )
    custom = ChildFailureWatchdog(
        custom_stack,
        "Watchdog",
        job_queue=_queue(custom_stack),
        sweep_interval=cdk.Duration.minutes(15),
        log_retention=logs.RetentionDays.ONE_WEEK,
        timeout=cdk.Duration.minutes(5),
        memory_size=512,
        reserved_concurrency=3,
        dead_letter_queue=dlq,
    )
    bare_stack = cdk.Stack(app, "Bare")
    ChildFailureWatchdog(
        bare_stack, "Watchdog", job_queue=_queue(bare_stack), reserved_concurrency=None, dead_letter_queue=False
    )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return Synth(outdir, app, default, custom)


def _only(template: Template, resource_type: str) -> tuple[str, Any]:
    resources = template.find_resources(resource_type)
    assert len(resources) == 1, f"expected one {resource_type}, found {sorted(resources)}"
    return next(iter(resources.items()))


def _logical_id(template: Template, resource_type: str) -> str:
    return _only(template, resource_type)[0]


# --- event rule and schedule --------------------------------------------------------------------------


def test_event_rule_matches_failed_non_main_node_jobs_of_the_queue(synth: Synth) -> None:
    template = synth.default_template
    queue = _logical_id(template, "AWS::Batch::JobQueue")
    function = _logical_id(template, "AWS::Lambda::Function")
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.batch"],
                "detail-type": ["Batch Job State Change"],
                "account": [{"Ref": "AWS::AccountId"}],
                "detail": {
                    "jobQueue": [{"Fn::GetAtt": [queue, "JobQueueArn"]}],
                    "status": ["FAILED"],
                    "nodeDetails": {"isMainNode": [False]},
                },
            },
            "State": "ENABLED",
            "Targets": [
                Match.object_like({"Arn": {"Fn::GetAtt": [function, "Arn"]}, "RetryPolicy": Match.any_value()})
            ],
        },
    )


def test_event_rule_target_passes_the_event_unchanged(synth: Synth) -> None:
    rules = synth.default_template.find_resources(
        "AWS::Events::Rule", {"Properties": {"EventPattern": Match.any_value()}}
    )
    (rule,) = rules.values()
    (target,) = rule["Properties"]["Targets"]
    assert "Input" not in target and "InputTransformer" not in target


def test_sweep_runs_every_five_minutes_by_default_with_the_sweep_input_and_its_time(synth: Synth) -> None:
    """The target sends {"watchdog": "sweep", "scheduled_at": <the schedule event's time>} (an input
    transformer), which the handler accepts: filled with a real time it is a sweep, not bad input."""
    function = _logical_id(synth.default_template, "AWS::Lambda::Function")
    rules = synth.default_template.find_resources(
        "AWS::Events::Rule", {"Properties": {"ScheduleExpression": "rate(5 minutes)"}}
    )
    assert len(rules) == 1
    (target,) = next(iter(rules.values()))["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [function, "Arn"]}
    transformer = target["InputTransformer"]
    ((placeholder, path),) = transformer["InputPathsMap"].items()
    assert path == "$.time"
    # EventBridge puts a path's JSON value in place of an unquoted placeholder: a string arrives quoted.
    filled = json.loads(transformer["InputTemplate"].replace(f"<{placeholder}>", json.dumps("2026-11-24T15:10:00Z")))
    assert filled == {**handler_module.SWEEP_INPUT, handler_module.SWEEP_TIME_KEY: "2026-11-24T15:10:00Z"}
    assert synth.default.sweep_rule is not None


def test_sweep_interval_is_configurable(synth: Synth) -> None:
    synth.custom_template.has_resource_properties("AWS::Events::Rule", {"ScheduleExpression": "rate(15 minutes)"})


def test_without_sweep_only_the_event_rule_is_created() -> None:
    stack = cdk.Stack(cdk_app(), "NoSweep")
    watchdog = ChildFailureWatchdog(stack, "Watchdog", job_queue=_queue(stack), sweep_interval=None)

    rules = Template.from_stack(stack).find_resources("AWS::Events::Rule")

    assert watchdog.sweep_rule is None
    assert [r["Properties"].get("ScheduleExpression") for r in rules.values()] == [None]


def test_rules_may_invoke_the_function(synth: Synth) -> None:
    permissions = synth.default_template.find_resources(
        "AWS::Lambda::Permission", {"Properties": {"Principal": "events.amazonaws.com"}}
    )
    rule_ids = set(synth.default_template.find_resources("AWS::Events::Rule"))
    assert {p["Properties"]["SourceArn"]["Fn::GetAtt"][0] for p in permissions.values()} == rule_ids


# --- function and log group ---------------------------------------------------------------------------


def test_function_runs_the_latest_python_runtime_from_the_asset_directory(synth: Synth) -> None:
    template = synth.default_template
    queue = _logical_id(template, "AWS::Batch::JobQueue")
    log_group = _logical_id(template, "AWS::Logs::LogGroup")
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Runtime": "python3.14",
            "Handler": "index.handler",
            "Architectures": ["arm64"],
            "Environment": {
                "Variables": {
                    handler_module.JOB_QUEUE_ENV: {"Fn::GetAtt": [queue, "JobQueueArn"]},
                    handler_module.SWEEP_INTERVAL_ENV: "300",
                }
            },
            "LoggingConfig": {"LogGroup": {"Ref": log_group}},
            "Timeout": 120,
            "MemorySize": 256,
            "ReservedConcurrentExecutions": 2,
        },
    )


def test_a_dead_letter_queue_is_created_by_default_encrypted_tls_only_for_14_days(synth: Synth) -> None:
    template = synth.default_template
    dlq = _logical_id(template, "AWS::SQS::Queue")
    template.has_resource_properties(
        "AWS::SQS::Queue", {"SqsManagedSseEnabled": True, "MessageRetentionPeriod": 14 * 24 * 3600}
    )
    template.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            }
        },
    )
    function = _only(template, "AWS::Lambda::Function")[1]["Properties"]
    assert function["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": [dlq, "Arn"]}}
    for rule in template.find_resources("AWS::Events::Rule").values():
        (target,) = rule["Properties"]["Targets"]
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [dlq, "Arn"]}}


def test_without_dead_letter_queue_and_reservation_neither_is_rendered(synth: Synth) -> None:
    function = _only(synth.bare_template, "AWS::Lambda::Function")[1]["Properties"]
    assert "ReservedConcurrentExecutions" not in function
    assert "DeadLetterConfig" not in function
    assert synth.bare_template.find_resources("AWS::SQS::Queue") == {}


def test_lambda_asset_holds_the_handler_without_bytecode(synth: Synth) -> None:
    code = _only(synth.default_template, "AWS::Lambda::Function")[1]["Properties"]["Code"]
    asset_hash = str(code["S3Key"]).removesuffix(".zip")
    asset_dir = synth.outdir / f"asset.{asset_hash}"
    files = sorted(p.relative_to(asset_dir).as_posix() for p in asset_dir.rglob("*") if p.is_file())
    assert "index.py" in files
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc")]


def test_latest_runtime_is_the_newest_python_aws_cdk_lib_offers() -> None:
    from aws_cdk import aws_lambda

    from constructs_lib.watchdog import RUNTIME

    offered = [name for name in dir(aws_lambda.Runtime) if name.startswith("PYTHON_3_")]
    newest = max(offered, key=lambda name: int(name.rsplit("_", 1)[1]))
    assert getattr(aws_lambda.Runtime, newest).name == RUNTIME.name


def test_log_group_keeps_logs_three_months_by_default(synth: Synth) -> None:
    synth.default_template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 90})


def test_options_reach_the_template(synth: Synth) -> None:
    template = synth.custom_template
    dlq = _logical_id(template, "AWS::SQS::Queue")
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 7})
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Timeout": 300,
            "MemorySize": 512,
            "ReservedConcurrentExecutions": 3,
            "DeadLetterConfig": {"TargetArn": {"Fn::GetAtt": [dlq, "Arn"]}},
        },
    )
    for rule in template.find_resources("AWS::Events::Rule").values():
        (target,) = rule["Properties"]["Targets"]
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [dlq, "Arn"]}}


# --- IAM -------------------------------------------------------------------------------------------------


def _watchdog_role(template: Template) -> dict[str, Any]:
    roles = template.find_resources(
        "AWS::IAM::Role",
        {
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Statement": [Match.object_like({"Principal": {"Service": "lambda.amazonaws.com"}})]
                }
            }
        },
    )
    assert len(roles) == 1
    return next(iter(roles.values()))["Properties"]


def test_role_has_exactly_the_least_privilege_statements_and_no_managed_policy(synth: Synth) -> None:
    template = synth.bare_template
    log_group = _logical_id(template, "AWS::Logs::LogGroup")
    role = _watchdog_role(template)
    assert "ManagedPolicyArns" not in role
    (policy,) = role["Policies"]
    assert policy["PolicyDocument"]["Statement"] == [
        {
            "Sid": "TerminateJobsOfThisAccountAndRegion",
            "Action": "batch:TerminateJob",
            "Effect": "Allow",
            "Resource": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":batch:",
                        {"Ref": "AWS::Region"},
                        ":",
                        {"Ref": "AWS::AccountId"},
                        ":job/*",
                    ],
                ]
            },
        },
        {
            "Sid": "ReadJobsNoResourceLevelPermissions",
            "Action": ["batch:DescribeJobs", "batch:ListJobs"],
            "Effect": "Allow",
            "Resource": "*",
        },
        {
            "Sid": "WriteOwnLogGroup",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [log_group, "Arn"]},
        },
    ]
    # Nothing else grants the function more: no separate policy resources in this stack.
    assert synth.bare_template.find_resources("AWS::IAM::Policy") == {}


def test_function_waits_for_a_separate_policy_only_when_there_is_one(synth: Synth) -> None:
    """Without a DLQ every grant is inline in the role (GetAtt orders it; no DependsOn, no cfn-lint
    W3005); with one, the SQS grant is a separate policy Lambda checks at creation, so it must exist first."""
    _, bare_function = _only(synth.bare_template, "AWS::Lambda::Function")
    assert "DependsOn" not in bare_function
    _, custom_function = _only(synth.custom_template, "AWS::Lambda::Function")
    (policy_id,) = synth.custom_template.find_resources("AWS::IAM::Policy")
    assert policy_id in custom_function["DependsOn"]


@pytest.mark.parametrize("stack", ["default", "custom"])
def test_dead_letter_queue_adds_only_sqs_send(synth: Synth, stack: str) -> None:
    template = synth.default_template if stack == "default" else synth.custom_template
    dlq = _logical_id(template, "AWS::SQS::Queue")
    policies = template.find_resources("AWS::IAM::Policy")
    statements = [s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]]
    assert statements == [{"Action": "sqs:SendMessage", "Effect": "Allow", "Resource": {"Fn::GetAtt": [dlq, "Arn"]}}]


# --- cdk-nag 3 ------------------------------------------------------------------------------------------


def _aws_solutions(report: dict[str, Any]) -> dict[str, Any]:
    (plugin,) = [p for p in report["pluginReports"] if p["pluginName"] == "AwsSolutions"]
    return plugin


def test_cdk_nag_aws_solutions_passes_with_nothing_unacknowledged(synth: Synth) -> None:
    plugin = _aws_solutions(synth.report)
    assert plugin["conclusion"] == "success"
    assert plugin["violations"] == []


@pytest.mark.parametrize(
    ("stack_name", "job_arn"),
    [
        ("Default", "arn:<AWS::Partition>:batch:<AWS::Region>:<AWS::AccountId>:job/*"),
        # cdk.json's @aws-cdk/core:enablePartitionLiterals: a stack with a Region writes its partition out.
        ("Custom", f"arn:aws:batch:{EXPLICIT_REGION}:{EXPLICIT_ACCOUNT}:job/*"),
    ],
)
def test_only_the_two_wildcards_are_acknowledged_on_the_watchdog_role(
    synth: Synth, stack_name: str, job_arn: str
) -> None:
    suppressed = {
        (v["acknowledgedId"], v["acknowledgedAt"], c["constructPath"])
        for v in _aws_solutions(synth.report)["suppressedViolations"]
        for c in v["violatingConstructs"]
        if c["constructPath"].startswith(f"{stack_name}/Watchdog/")
    }
    # The dead-letter queue (TLS only, encrypted) raises no cdk-nag finding and needs no acknowledgement.
    assert suppressed == {
        (
            "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
            f"{stack_name}/Watchdog/Role",
            f"{stack_name}/Watchdog/Role/Resource",
        ),
        (
            f"AwsSolutions::AwsSolutions-IAM5[Resource::{job_arn}]",
            f"{stack_name}/Watchdog/Role",
            f"{stack_name}/Watchdog/Role/Resource",
        ),
    }
    reasons = [v["reason"] for v in _aws_solutions(synth.report)["suppressedViolations"] if "IAM5" in v["ruleName"]]
    assert all(len(reason) >= 10 for reason in reasons)


# --- props checks ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("props", "prop"),
    [
        ({"sweep_interval": cdk.Duration.seconds(30)}, "sweep_interval"),
        ({"sweep_interval": cdk.Duration.seconds(90)}, "sweep_interval"),
        ({"timeout": cdk.Duration.minutes(16)}, "timeout"),
        ({"timeout": cdk.Duration.seconds(30)}, "timeout"),
        ({"memory_size": 64}, "memory_size"),
        ({"reserved_concurrency": 0}, "reserved_concurrency"),
    ],
    ids=[
        "sweep-under-a-minute",
        "sweep-not-whole-minutes",
        "timeout-over-15-min",
        "timeout-leaves-no-sweep",
        "memory-too-small",
        "no-concurrency",
    ],
)
def test_impossible_props_raise_one_error_naming_the_prop_and_the_fix(props: dict[str, Any], prop: str) -> None:
    stack = cdk.Stack(cdk_app(), "Bad")
    queue = _queue(stack)

    with pytest.raises(MnpPropsError) as caught:
        ChildFailureWatchdog(stack, "Watchdog", job_queue=queue, **props)

    assert caught.value.prop == prop
    assert f"ChildFailureWatchdog 'Watchdog': {prop}:" in str(caught.value)
    assert "Fix:" in str(caught.value)


# --- through MnpJobQueue ---------------------------------------------------------------------------------


def test_mnp_job_queue_passes_the_watchdog_options_on(make_ce: Any, stack: cdk.Stack) -> None:
    from constructs_lib import MnpJobQueue
    from constructs_lib.watchdog import WatchdogOptions

    queue = MnpJobQueue(
        stack,
        "Queue",
        compute_environments=[make_ce()],
        watchdog_options=WatchdogOptions(
            reserved_concurrency=5, dead_letter_queue=False, log_retention=logs.RetentionDays.ONE_WEEK
        ),
        watchdog_sweep_interval=cdk.Duration.minutes(10),
    )

    template = Template.from_stack(stack)
    assert queue.watchdog is not None and queue.watchdog.dead_letter_queue is None
    template.has_resource_properties("AWS::Lambda::Function", {"ReservedConcurrentExecutions": 5})
    template.has_resource_properties("AWS::Events::Rule", {"ScheduleExpression": "rate(10 minutes)"})
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 7, "LogGroupName": Match.absent()})
    assert template.find_resources("AWS::SQS::Queue") == {}


def test_mnp_job_queue_watchdog_defaults_reserve_two_and_create_a_dead_letter_queue(
    make_ce: Any, stack: cdk.Stack
) -> None:
    from constructs_lib import MnpJobQueue

    MnpJobQueue(stack, "Queue", compute_environments=[make_ce()])

    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::Lambda::Function", {"ReservedConcurrentExecutions": 2})
    assert len(template.find_resources("AWS::SQS::Queue")) == 1
