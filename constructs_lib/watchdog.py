"""Child-failure watchdog for a job queue that runs AWS Batch multi-node parallel (MNP) jobs.

"If a child node dies, AWS Batch doesn't take any action on the other nodes in the job" (Batch user
guide, "Job lifecycle for MNP jobs"): the job runs on, short a node, until the main node exits or the
job times out, and every remaining node bills the whole time. This construct adds a Lambda function
that terminates the parent job, with a reason naming the failed node, when a child node FAILS:

* an EventBridge rule (``rule``) on "Batch Job State Change" events of the queue's FAILED non-main node
  jobs. Batch documents these events for jobs, and documents node jobs ``JOB_ID#N`` with
  ``nodeDetails`` in ``DescribeJobs``, but does not document that node jobs emit events, so this rule
  is a fast path that may never fire;
* a schedule (``sweep_rule``, every 5 minutes by default) on which the same function lists the queue's
  RUNNING jobs, describes each MNP job's nodes and terminates a job with a FAILED child. This is the
  path that relies only on documented API behaviour.

The function re-reads the parent and the node before it acts, so a stale event, a retried job or a job
that has already ended is left alone (see ``docs/watchdog.md``).

Least privilege: ``batch:TerminateJob`` on job ARNs of this account and Region only (the documented
resource type; the job IDs are not known in advance and Batch has no condition key for the queue),
``batch:DescribeJobs`` / ``batch:ListJobs`` on ``*`` (the Batch docs list neither among the actions that
support resource-level permissions), and ``logs:CreateLogStream`` / ``logs:PutLogEvents`` on the
function's own log group. No AWS managed policy. The two unavoidable wildcards are acknowledged for
cdk-nag (v3, a CDK policy-validation plugin) with CDK's own ``Validations.of(...).acknowledge(...)``,
one finding ID at a time, on this construct's role only.

Under load: two reserved concurrent executions by default (a burst of failing nodes cannot take the
account's concurrency, and a sweep and an event can run side by side), a dead-letter queue (SSE-SQS,
TLS only, 14 days) for events that could not be delivered or processed, an event rule that also matches
the stack's account, and a sweep that stops before the Lambda's deadline and before the next sweep
(the handler's ``CALL_BUDGET_S``; the schedule passes the event time, the function the interval).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Acknowledgment, Duration, Stack, Validations
from aws_cdk import aws_batch as batch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from constructs_lib._nag import NAG_IAM5, NAG_PLUGIN, checkov_skip, nag_finding_value
from constructs_lib._validation import MnpPropsError
from constructs_lib.lambda_src.watchdog import index as handler_module
from constructs_lib.security import log_group

_KIND = "ChildFailureWatchdog"
#: The Lambda code: one directory, standard library + boto3, no bundling (no Docker needed).
HANDLER_DIR = Path(__file__).resolve().parent / "lambda_src" / "watchdog"
#: Newest Python runtime aws-cdk-lib 2.275.0 offers (cdk-nag AwsSolutions-L1 wants the latest).
RUNTIME = lambda_.Runtime.PYTHON_3_14
DEFAULT_SWEEP_INTERVAL = Duration.minutes(5)
DEFAULT_TIMEOUT = Duration.minutes(2)
DEFAULT_MEMORY_MIB = 256
DEFAULT_LOG_RETENTION = logs.RetentionDays.THREE_MONTHS
#: Two: a sweep and an event (or two events) at once; also the cap on what a burst of failures can take.
DEFAULT_RESERVED_CONCURRENCY = 2
#: SQS keeps a message at most 14 days: the longest time to find out why an event was not handled.
DLQ_RETENTION = Duration.days(14)
#: A sweep needs time beyond one API call's worst case (the handler's CALL_BUDGET_S) to do anything.
_MIN_TIMEOUT_S = handler_module.CALL_BUDGET_S + 15
#: Lambda's longest function timeout: 900 seconds (15 minutes), Lambda quotas.
_MAX_LAMBDA_TIMEOUT_S = 900
_EVENT_SOURCE = "aws.batch"
_EVENT_DETAIL_TYPE = "Batch Job State Change"


@dataclass(frozen=True)
class WatchdogOptions:
    """The watchdog's settings as :class:`~constructs_lib.MnpJobQueue` passes them on (defaults as
    :class:`ChildFailureWatchdog`'s)."""

    sweep_interval: Duration | None = DEFAULT_SWEEP_INTERVAL
    log_retention: logs.RetentionDays = DEFAULT_LOG_RETENTION
    reserved_concurrency: int | None = DEFAULT_RESERVED_CONCURRENCY
    dead_letter_queue: sqs.IQueue | bool = True
    log_encryption_key: kms.IKey | None = None


class ChildFailureWatchdog(Construct):
    """Terminates an MNP job of ``job_queue`` when one of its child nodes fails.

    Attributes:
        function: the Lambda function (Python, handler ``index.handler``).
        rule: the EventBridge rule on FAILED non-main node jobs of the queue.
        sweep_rule: the schedule that sweeps the queue's RUNNING MNP jobs (``None`` when disabled).
        log_group: the function's log group (explicit, with a retention period).
        role: the function's execution role (inline least-privilege policy, no managed policy).
        dead_letter_queue: where undeliverable or failed events go (``None`` when turned off).
    """

    function: lambda_.Function
    rule: events.Rule
    sweep_rule: events.Rule | None
    log_group: logs.LogGroup
    role: iam.Role
    dead_letter_queue: sqs.IQueue | None

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        job_queue: batch.IJobQueue,
        sweep_interval: Duration | None = DEFAULT_SWEEP_INTERVAL,
        log_retention: logs.RetentionDays = DEFAULT_LOG_RETENTION,
        timeout: Duration = DEFAULT_TIMEOUT,
        memory_size: int = DEFAULT_MEMORY_MIB,
        reserved_concurrency: int | None = DEFAULT_RESERVED_CONCURRENCY,
        dead_letter_queue: sqs.IQueue | bool = True,
        log_encryption_key: kms.IKey | None = None,
    ) -> None:
        """Args:
        job_queue: the queue whose MNP jobs are watched.
        sweep_interval: how often to sweep the queue's RUNNING MNP jobs (whole minutes, at least one);
            ``None`` turns the sweep off and leaves only the event rule, which AWS does not document to
            fire for node jobs: only do that after checking that your account receives node-job events.
        log_retention: how long the function's logs are kept.
        timeout: the function's timeout (at least the handler's ``CALL_BUDGET_S`` plus 15 seconds: the
            sweep keeps one API call's worst case in reserve before it).
        memory_size: the function's memory in MiB (128 to 10240).
        reserved_concurrency: reserve (and cap at) this many concurrent executions; default 2, so a
            burst of failing nodes cannot take the account's concurrency and the watchdog is never
            starved by other functions. Lambda keeps 100 unreserved executions per account, so in an
            account whose concurrency limit is lower (some new accounts) a reservation fails the deploy:
            pass ``None`` there (the deploy error names ``ReservedConcurrentExecutions``).
        dead_letter_queue: where events go that could not be delivered or processed after retries (the
            function's asynchronous invocations and both rule targets): ``True`` (default) creates an
            SSE-SQS encrypted, TLS-only queue that keeps messages 14 days; pass your own queue, or
            ``False`` for none (the next sweep re-derives everything from the API anyway).
        log_encryption_key: a KMS key for the log group (its key policy must let CloudWatch Logs use it;
            see docs/security.md); default: CloudWatch Logs' own encryption.
        """
        super().__init__(scope, id)
        self._check(id, sweep_interval, timeout, memory_size, reserved_concurrency)

        self.log_group = log_group(self, "LogGroup", retention=log_retention, encryption_key=log_encryption_key)
        dlq = self._dead_letter_queue(dead_letter_queue)
        self.dead_letter_queue = dlq
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="mnp child-failure watchdog: terminate MNP jobs whose child node failed",
            inline_policies={"Watchdog": self._policy(self.log_group)},
        )
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler="index.handler",
            code=lambda_.Code.from_asset(str(HANDLER_DIR), exclude=["__pycache__", "*.pyc"]),
            description="Terminates an AWS Batch MNP job when one of its child nodes fails",
            environment={
                handler_module.JOB_QUEUE_ENV: job_queue.job_queue_arn,
                **(
                    {handler_module.SWEEP_INTERVAL_ENV: str(int(sweep_interval.to_seconds()))}
                    if sweep_interval is not None
                    else {}
                ),
            },
            timeout=timeout,
            memory_size=memory_size,
            role=self.role,
            log_group=self.log_group,
            reserved_concurrent_executions=reserved_concurrency,
            dead_letter_queue=dlq,
        )
        # aws-cdk-lib makes the function DependsOn its role; Fn::GetAtt Role.Arn already orders them (the
        # policies are inline, part of the role resource) and cfn-lint warns (W3005) on the duplicate. With
        # a dead-letter queue the SQS grant lands in the role's separate default policy, which Lambda checks
        # at creation: that dependency is real and stays, alone.
        function_resource = self.function.node.default_child
        assert isinstance(function_resource, lambda_.CfnFunction)
        checkov_skip(
            function_resource,
            "CKV_AWS_117",
            "The watchdog calls only the AWS Batch API; in the VPC it would need a NAT or a Batch endpoint and "
            "ENIs for nothing it reaches there",
        )
        checkov_skip(
            function_resource,
            "CKV_AWS_173",
            "Its environment holds the watched queue's ARN and the sweep interval, nothing secret; Lambda encrypts "
            "environment variables at rest with an AWS managed key",
        )
        default_policy = self.role.node.try_find_child("DefaultPolicy")
        policy_resource = default_policy.node.default_child if default_policy is not None else None
        if isinstance(policy_resource, iam.CfnPolicy):
            function_resource.add_override("DependsOn", [Stack.of(self).get_logical_id(policy_resource)])
        else:
            function_resource.add_deletion_override("DependsOn")

        self.rule = events.Rule(
            self,
            "NodeFailedRule",
            description="FAILED child node jobs (JOB_ID#N) of an MNP job queue",
            event_pattern=events.EventPattern(
                source=[_EVENT_SOURCE],
                detail_type=[_EVENT_DETAIL_TYPE],
                # Only this account's Batch events (the default bus can receive other accounts' events).
                account=[Stack.of(self).account],
                detail={
                    "jobQueue": [job_queue.job_queue_arn],
                    "status": ["FAILED"],
                    "nodeDetails": {"isMainNode": [False]},
                },
            ),
            targets=[self._target(None, dlq)],
        )
        self.sweep_rule = None
        if sweep_interval is not None:
            self.sweep_rule = events.Rule(
                self,
                "SweepRule",
                description="Sweep the RUNNING MNP jobs of a job queue for FAILED child nodes",
                schedule=events.Schedule.rate(sweep_interval),
                # The schedule event's time lets the handler stop before the next sweep, even on a retry.
                targets=[
                    self._target(
                        {**handler_module.SWEEP_INPUT, handler_module.SWEEP_TIME_KEY: events.EventField.time},
                        dlq,
                    )
                ],
            )
        self._acknowledge_wildcards(self._job_arns())

    def _dead_letter_queue(self, given: sqs.IQueue | bool) -> sqs.IQueue | None:
        if given is False:
            return None
        if given is not True:
            return given
        queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            # SSE-SQS: EventBridge can write to it without key-policy statements (a customer key would need them).
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=DLQ_RETENTION,
        )
        resource = queue.node.default_child
        assert isinstance(resource, sqs.CfnQueue)
        checkov_skip(
            resource,
            "CKV_AWS_27",
            "Encrypted with SSE-SQS (SqsManagedSseEnabled), which checkov 3.3's check does not read (it looks for "
            "KmsMasterKeyId only); a KMS key would need EventBridge in its key policy to deliver dead letters",
        )
        return queue

    def _job_arns(self) -> str:
        return Stack.of(self).format_arn(service="batch", resource="job", resource_name="*")

    def _policy(self, log_group: logs.ILogGroup) -> iam.PolicyDocument:
        job_arns = self._job_arns()
        return iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    sid="TerminateJobsOfThisAccountAndRegion",
                    actions=["batch:TerminateJob"],
                    resources=[job_arns],
                ),
                iam.PolicyStatement(
                    sid="ReadJobsNoResourceLevelPermissions",
                    actions=["batch:DescribeJobs", "batch:ListJobs"],
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="WriteOwnLogGroup",
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    # The log group's Arn attribute ends in ":*", which covers its log streams.
                    resources=[log_group.log_group_arn],
                ),
            ]
        )

    def _target(self, payload: dict[str, str] | None, dlq: sqs.IQueue | None) -> targets.LambdaFunction:
        return targets.LambdaFunction(
            self.function,
            event=events.RuleTargetInput.from_object(payload) if payload is not None else None,
            dead_letter_queue=dlq,
            retry_attempts=2,
            max_event_age=Duration.hours(1),
        )

    def _acknowledge_wildcards(self, job_arns: str) -> None:
        # Each IAM5 finding is acknowledged by its own ID, on the role only, so a wildcard added anywhere
        # else (or a new one on this role) is still reported.
        job_arn_id = nag_finding_value(Stack.of(self), job_arns)
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id=f"{NAG_PLUGIN}::{NAG_IAM5}[Resource::*]",
                reason="batch:DescribeJobs and batch:ListJobs support no resource-level permissions "
                "(AWS Batch user guide, supported resource-level permissions): Resource must be '*'",
            ),
            Acknowledgment(
                id=f"{NAG_PLUGIN}::{NAG_IAM5}[Resource::{job_arn_id}]",
                reason="batch:TerminateJob takes job ARNs whose IDs are only known at run time and has no "
                "job-queue condition key; scoped to job ARNs of this account and Region",
            ),
        )

    @staticmethod
    def _check(
        construct_id: str,
        sweep_interval: Duration | None,
        timeout: Duration,
        memory_size: int,
        reserved_concurrency: int | None,
    ) -> None:
        def fail(prop: str, problem: str, fix: str) -> None:
            raise MnpPropsError(_KIND, construct_id, prop, problem, fix)

        if sweep_interval is not None:
            seconds = sweep_interval.to_seconds()
            if seconds < 60 or seconds % 60:
                fail(
                    "sweep_interval",
                    f"{sweep_interval.to_human_string()} is not a whole number of minutes of at least one "
                    "(an EventBridge rate schedule counts in minutes)",
                    "pass Duration.minutes(n) with n >= 1, or None to turn the sweep off",
                )
        timeout_s = timeout.to_seconds()
        if not _MIN_TIMEOUT_S <= timeout_s <= _MAX_LAMBDA_TIMEOUT_S:
            fail(
                "timeout",
                f"{timeout.to_human_string()} is outside {_MIN_TIMEOUT_S} s (a sweep keeps one API call's worst "
                f"case, {handler_module.CALL_BUDGET_S} s, in reserve) to Lambda's 15 min",
                f"pass {_MIN_TIMEOUT_S} s .. 15 min",
            )
        if not 128 <= memory_size <= 10240:
            fail("memory_size", f"{memory_size} MiB is outside Lambda's 128 to 10240 MiB", "pass 128 .. 10240")
        if reserved_concurrency is not None and reserved_concurrency < 1:
            fail(
                "reserved_concurrency",
                f"{reserved_concurrency} would stop the function from ever running",
                "pass at least 1, or None to reserve nothing",
            )
