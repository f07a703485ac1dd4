"""Security building blocks for an MNP environment: who may submit, a permissions boundary, a KMS key.

* :class:`SubmitterPolicy` -- a customer managed policy that allows ``batch:SubmitJob`` only with the
  given job queues and job definitions. Batch's ``SubmitJob`` takes resource-level permissions on both:
  "When scoping resource-level access for job submission, you must provide both job queue and job
  definition resource types" (Batch user guide, "Resource: Restrict to a job queue",
  https://docs.aws.amazon.com/batch/latest/userguide/iam-example-restrict-job-queue.html). A single-node
  job sent to an MNP queue runs in ``host`` network mode ("ECS-EC2 simple job: host", Batch user guide,
  "Networking modes for AWS Batch jobs"), where neither ``ECS_AWSVPC_BLOCK_IMDS`` nor the IMDS hop limit
  keeps it from the instance role; limiting *what* can be submitted closes that path.
* :func:`apply_permissions_boundary` -- the CDK's ``PermissionsBoundary`` aspect on a scope: every
  ``AWS::IAM::Role`` under it (the L2 roles and the CDK's own custom-resource provider roles) gets it.
* :func:`log_group` -- a log group with a retention period, encrypted with the given KMS key or, without
  one, by CloudWatch Logs' own keys (then checkov's CKV_AWS_158 is suppressed on it, with that reason).
* :class:`EncryptionKey` -- a customer managed KMS key (rotation on) whose key policy lets CloudWatch
  Logs encrypt this account's log groups and lets EC2 Auto Scaling (which AWS Batch uses to launch the
  instances) encrypt their EBS volumes; see ``docs/security.md`` for the statements and their sources.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment, ArnFormat, CfnOutput, RemovalPolicy, Stack, Token, Validations
from aws_cdk import aws_batch as batch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct

from constructs_lib._nag import NAG_IAM5, NAG_PLUGIN, checkov_skip
from constructs_lib._validation import MnpPropsError

#: The Batch read actions that support no resource-level permissions ("If an AWS Batch API action isn't
#: listed in this list, then it doesn't support resource-level permissions": Batch user guide, "Supported
#: resource-level permissions for AWS Batch API actions"): what ``mnp submit --wait`` and ``mnp status`` call.
BATCH_READ_ACTIONS = ("batch:DescribeJobs", "batch:ListJobs", "batch:DescribeJobQueues", "batch:DescribeJobDefinitions")

#: The service-linked role EC2 Auto Scaling launches instances with (Batch's managed EC2 compute
#: environments launch through Auto Scaling groups: BatchServiceRolePolicy grants autoscaling:*Group*).
AUTOSCALING_SERVICE_LINKED_ROLE = "role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"


class SubmitterPolicy(Construct):
    """A managed policy: ``batch:SubmitJob`` with these queues and job definitions only, plus reads.

    Attach it to the people and roles that submit jobs (``mnp submit``); the stack outputs its ARN.
    Job definitions are matched at their current revision (the ARN CloudFormation returns): Batch checks
    the revision a request resolves to ("the request ARN includes the revision", Batch user guide,
    "Resource: Restrict to job definition prefix on job submission"), and an update of the stack moves
    policy and job definition together. TerminateJob and CancelJob are not included: their only resource
    is ``job/*`` with no queue condition key, so they cannot be limited to this stack's jobs.

    Attributes:
        policy: the ``AWS::IAM::ManagedPolicy``.
    """

    policy: iam.ManagedPolicy

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        job_queues: Sequence[batch.IJobQueue],
        job_definitions: Sequence[batch.IJobDefinition],
        name: str | None = None,
        output: bool = True,
    ) -> None:
        """Args:
        job_queues, job_definitions: what may be submitted where (both at least one; Batch requires both
            resource types in a scoped SubmitJob statement).
        name: the managed policy's physical name; default generated.
        output: add a ``CfnOutput`` with the policy's ARN.
        """
        super().__init__(scope, id)
        if not job_queues or not job_definitions:
            missing = "job_queues" if not job_queues else "job_definitions"
            raise MnpPropsError(
                "SubmitterPolicy",
                id,
                missing,
                "is empty; a SubmitJob statement scoped to resources needs job queues and job definitions",
                "pass the stack's queues and job definitions",
            )
        self.policy = iam.ManagedPolicy(
            self,
            "Resource",
            managed_policy_name=name,
            description="Submit AWS Batch jobs only to this stack's MNP queues, only with its job definitions",
            statements=[
                iam.PolicyStatement(
                    sid="SubmitOnlyToThisStacksQueuesWithItsJobDefinitions",
                    actions=["batch:SubmitJob"],
                    resources=[
                        *(queue.job_queue_arn for queue in job_queues),
                        *(definition.job_definition_arn for definition in job_definitions),
                    ],
                ),
                iam.PolicyStatement(
                    sid="ReadJobsNoResourceLevelPermissions", actions=list(BATCH_READ_ACTIONS), resources=["*"]
                ),
            ],
        )
        Validations.of(self.policy).acknowledge(
            Acknowledgment(
                id=f"{NAG_PLUGIN}::{NAG_IAM5}[Resource::*]",
                reason="batch:DescribeJobs, ListJobs, DescribeJobQueues and DescribeJobDefinitions support no "
                "resource-level permissions (Batch user guide, supported resource-level permissions)",
            )
        )
        if output:
            CfnOutput(
                self,
                "Arn",
                value=self.policy.managed_policy_arn,
                description="Attach to whoever submits jobs: batch:SubmitJob with this stack's queues and job "
                "definitions only",
            )


def apply_permissions_boundary(scope: IConstruct, boundary: str) -> iam.IManagedPolicy:
    """Apply ``boundary`` (a managed policy name, or its ARN) to every IAM role under ``scope``.

    Uses the CDK's own ``iam.PermissionsBoundary.of(scope).apply(...)`` aspect, which sets
    ``PermissionsBoundary`` on the L2 roles and on ``AWS::IAM::Role`` resources of the CDK's
    custom-resource providers alike. Returns the policy that was applied.
    """
    stack = Stack.of(scope)
    policy = (
        iam.ManagedPolicy.from_managed_policy_arn(stack, "PermissionsBoundaryPolicy", boundary)
        if boundary.startswith("arn:")
        else iam.ManagedPolicy.from_managed_policy_name(stack, "PermissionsBoundaryPolicy", boundary)
    )
    iam.PermissionsBoundary.of(scope).apply(policy)
    return policy


class EncryptionKey(Construct):
    """A symmetric customer managed KMS key for the environment's log groups and EBS volumes.

    The key policy has, beside the CDK's default account-root statement (IAM policies in the account
    decide who else may use it):

    * ``AllowCloudWatchLogsOfThisAccount``: ``logs.<region>.amazonaws.com`` may ``kms:Encrypt*``,
      ``Decrypt*``, ``ReEncrypt*``, ``GenerateDataKey*`` and ``Describe*``, only with the encryption context
      ``kms:EncryptionContext:aws:logs:arn`` of a log group of this account and Region (CloudWatch Logs
      user guide, "Encrypt log data in CloudWatch Logs using AWS Key Management Service");
    * ``AllowAutoScalingToUseTheKeyForEbs`` and ``AllowAutoScalingToCreateGrantsForEbs``: the EC2 Auto
      Scaling service-linked role may use the key and create grants for AWS resources, which it needs to
      launch instances whose volumes use the key (EC2 Auto Scaling user guide, "Required AWS KMS key
      policy for use with encrypted volumes"). That role must exist (it is created with the account's
      first Auto Scaling group; ``aws iam create-service-linked-role --aws-service-name
      autoscaling.amazonaws.com`` otherwise): IAM rejects a key policy naming a role that does not.

    The key is retained when the stack is deleted (log data and snapshots encrypted with it would be lost).

    Attributes:
        key: the ``AWS::KMS::Key``.
    """

    key: kms.Key

    def __init__(self, scope: Construct, id: str, *, alias: str | None = None) -> None:
        super().__init__(scope, id)
        stack = Stack.of(self)
        self.key = kms.Key(
            self,
            "Resource",
            description="MNP environment: CloudWatch Logs log groups and EBS volumes of the compute instances",
            enable_key_rotation=True,
            alias=alias,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsOfThisAccount",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                            service="logs",
                            resource="log-group",
                            resource_name="*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    }
                },
            )
        )
        autoscaling = iam.ArnPrincipal(
            stack.format_arn(service="iam", region="", resource=AUTOSCALING_SERVICE_LINKED_ROLE)
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAutoScalingToUseTheKeyForEbs",
                principals=[autoscaling],
                actions=["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
                resources=["*"],
            )
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAutoScalingToCreateGrantsForEbs",
                principals=[autoscaling],
                actions=["kms:CreateGrant"],
                resources=["*"],
                conditions={"Bool": {"kms:GrantIsForAWSResource": True}},
            )
        )


#: Why a log group without a customer managed key is acceptable (checkov CKV_AWS_158).
LOG_GROUP_DEFAULT_ENCRYPTION = (
    "CloudWatch Logs encrypts log data at rest with its own keys; a customer managed key is opt-in "
    "(config security.kms_key) because its key policy must admit the Region's CloudWatch Logs principal "
    "(docs/security.md)"
)


def log_group(
    scope: Construct,
    id: str,
    *,
    retention: logs.RetentionDays,
    encryption_key: kms.IKey | None = None,
    removal_policy: RemovalPolicy | None = None,
) -> logs.LogGroup:
    """A log group that always has a retention period, encrypted with ``encryption_key`` when given."""
    group = logs.LogGroup(scope, id, retention=retention, encryption_key=encryption_key, removal_policy=removal_policy)
    if encryption_key is None:
        resource = group.node.default_child
        assert isinstance(resource, logs.CfnLogGroup)
        checkov_skip(resource, "CKV_AWS_158", LOG_GROUP_DEFAULT_ENCRYPTION)
    return group


def is_key_arn(value: str) -> bool:
    """``arn:<partition>:kms:<region>:<account>:key/<id>`` (aliases are not accepted where a key is granted)."""
    if Token.is_unresolved(value):
        return True
    parts = value.split(":", 5)
    return len(parts) == 6 and parts[0] == "arn" and parts[2] == "kms" and parts[5].startswith("key/")
