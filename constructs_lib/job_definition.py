"""An AWS Batch multi-node parallel (MNP) job definition, built on aws-cdk-lib's ``MultiNodeJobDefinition``.

The L2 leaves three gaps that this construct closes with property overrides on its ``CfnJobDefinition``:

* it renders every node range closed (``0:9``), so ``numNodes`` cannot be overridden at submit time
  (``SubmitJob`` needs one range open at the end, ``n:``; aws-cdk issue 29415). Here the ranges that
  reach the last node are rendered open-ended by default (``open_ended=True``);
* it computes ``numNodes`` as the sum of the range sizes, so nested ranges (``0:9`` with ``4:5`` inside,
  which the Batch API allows: the inner range's settings win) are counted twice. Here ``NumNodes`` is
  exactly ``num_nodes``;
* it checks nothing about ranges, main node, sizes or resources. Here everything that AWS would accept
  but that could never run (a node asking for more memory than its instance offers, a range past the
  last node, a node left uncovered) is rejected when the construct is built.

Each node gets, by default, the whole instance: all its vCPUs and the memory ECS leaves to containers
(:pyattr:`mnp_toolkit.core.instance_types.InstanceTypeFacts.container_memory_mib`). Logs go to a CloudWatch
log group with a retention period.

Identities: the containers run as ``job_role`` (their AWS credentials; :class:`MnpJobRole` builds a
least-privilege one for S3 data and checkpoints), and ECS uses the ``execution_role`` to pull the images
and ship the logs. Images in private ECR repositories (``<account>.dkr.ecr.<region>.amazonaws.com/<repo>``,
same account or another) are pulled with the CDK's own ``Repository.grant_pull`` on exactly the
repositories the images name; a repository of another account must also allow the role in its
repository policy (docs/constructs.md). ``enable_execute_command`` turns on ECS Exec for every container
(the job role gets the four ``ssmmessages`` channel actions; a role is created when none is given).

Secrets: ``secrets={"NAME": JobSecret(arn)}`` puts a Secrets Manager secret or an SSM parameter into every
container's environment as ``NAME`` (the container's ``Secrets``, resolved by ECS at start); the
execution role may read exactly those ARNs, and ``kms:Decrypt`` on the key named for a secret, if any.
``readonly_root_filesystem`` and ``user`` harden the containers (``ReadonlyRootFilesystem``, ``User``).

Retries: the main node decides the outcome of an MNP job ("Job lifecycle for MNP jobs", Batch user
guide: when the main node exits the job is finished and the other nodes are stopped), and a retry runs
the whole job again on all nodes. With ``retry_attempts > 1`` the job is retried, by default, only when
the failure came from the infrastructure (status reason ``Host EC2*``: an instance was terminated or
failed its health check); an application error ends the job at once, since rerunning a whole cluster on
a deterministic bug wastes every node's hours. ``retry_on="any"`` retries every failure.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from aws_cdk import Acknowledgment, Annotations, Duration, Size, Stack, Validations
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from constructs_lib._nag import NAG_IAM4, NAG_IAM5, NAG_PLUGIN, nag_finding_value
from constructs_lib._validation import MnpPropsError
from mnp_toolkit.core import instance_types
from mnp_toolkit.core.instance_types import InstanceTypeFacts
from mnp_toolkit.core.job_spec import JobSpec, NodeGroupSpec, check_job, node_settings, required_vcpus
from mnp_toolkit.core.limits import MIN_MEMORY_MIB, MIN_TIMEOUT_SECONDS, MIN_VCPUS
from mnp_toolkit.core.target_nodes import TargetNodes, parse_target_nodes

_KIND = "MnpJobDefinition"
#: Status reason Batch gives a job whose instance went away (terminated, failed health check).
INFRASTRUCTURE_FAILURE_STATUS_REASON = "Host EC2*"
_DEVICE_PERMISSIONS = ("READ", "WRITE", "MKNOD")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: Secrets Manager appends a hyphen and six characters to a secret's name in its complete ARN.
_COMPLETE_SECRET_ARN = re.compile(r"-[A-Za-z0-9]{6}$")
_KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$")

Image = str | ecs.ContainerImage


@dataclass(frozen=True)
class NodeGroup:
    """Settings for one range of node indexes of an MNP job.

    ``target_nodes`` uses the Batch syntax: ``"3"`` (one node), ``"1:3"`` (nodes 1 to 3), ``":3"``
    (nodes 0 to 3), ``"4:"`` (node 4 to the last). Ranges may nest (``"0:"`` with ``"0"`` inside: the
    inner range's settings win for its nodes) but must not overlap partly. Every field left ``None``
    falls back to the job definition's own value; ``environment`` adds to the job definition's variables
    (overriding those with the same name).
    """

    target_nodes: str
    command: Sequence[str] | None = None
    environment: Mapping[str, str] | None = None
    vcpus: int | None = None
    memory_mib: int | None = None
    gpus: int | None = None
    image: Image | None = None


@dataclass(frozen=True)
class JobSecret:
    """A secret for the containers' environment: a Secrets Manager secret or an SSM parameter, by ARN.

    ``arn``: ``arn:<partition>:secretsmanager:<region>:<account>:secret:<name>`` (complete, with the
    six-character suffix, or partial) or ``arn:<partition>:ssm:<region>:<account>:parameter/<name>``.
    ``field``: a JSON key of a Secrets Manager secret (its value instead of the whole secret).
    ``kms_key_arn``: the customer managed key the secret or SecureString is encrypted with; the
    execution role then gets ``kms:Decrypt`` on it (an AWS managed key needs nothing).
    """

    arn: str
    field: str | None = None
    kms_key_arn: str | None = None

    @property
    def service(self) -> Literal["secretsmanager", "ssm"] | None:
        parts = self.arn.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn":
            return None
        if parts[2] == "secretsmanager" and parts[5].startswith("secret:") and len(parts[5]) > len("secret:"):
            return "secretsmanager"
        if parts[2] == "ssm" and parts[5].startswith("parameter/") and len(parts[5]) > len("parameter/"):
            return "ssm"
        return None


@dataclass(frozen=True)
class NodeRange:
    """A node group's ``target_nodes`` as the core parsed it (:class:`~mnp_toolkit.core.target_nodes.TargetNodes`:
    ``end`` is ``None`` for an open range ``n:``), and the group."""

    target: TargetNodes
    group: NodeGroup = field(compare=False)

    @property
    def start(self) -> int:
        return self.target.start

    @property
    def end(self) -> int | None:
        return self.target.end

    def last(self, num_nodes: int) -> int:
        return self.target.last_index(num_nodes)

    def render(self, num_nodes: int, *, open_ended: bool) -> str:
        """``n:`` where the range reaches the last node and ``open_ended``, else the closed ``n:m``."""
        last = self.last(num_nodes)
        if open_ended and last == num_nodes - 1:
            return f"{self.start}:"
        return f"{self.start}:{last}"


@dataclass(frozen=True)
class MnpJobDefinitionProps:
    """The props of :class:`MnpJobDefinition`, as given (kept on the construct as ``props``)."""

    image: Image
    instance_type: str
    num_nodes: int
    main_node: int = 0
    node_groups: tuple[NodeGroup, ...] | None = None
    command: tuple[str, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict)
    vcpus: int | None = None
    memory_mib: int | None = None
    gpus: int = 0
    retry_attempts: int = 1
    retry_on: Literal["infrastructure", "any"] = "infrastructure"
    timeout: Duration | None = None
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH
    open_ended: bool = True
    efa: bool = False
    shared_memory_mib: int | None = None
    job_role: iam.IRole | None = None
    name: str | None = None
    enable_execute_command: bool = False
    secrets: Mapping[str, JobSecret] = field(default_factory=dict)
    readonly_root_filesystem: bool = False
    user: str | None = None


@dataclass(frozen=True)
class _NodeSettings:
    image: Image
    command: Sequence[str]
    environment: Mapping[str, str]
    vcpus: int
    memory_mib: int
    gpus: int


#: A private ECR image: ``<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]/<repository>[:tag|@digest]``
#: or the dual-stack ``<account>.dkr-ecr.<region>.on.aws/...`` (Amazon ECR user guide, registry endpoints).
_ECR_HOST = re.compile(
    r"^(?P<account>[0-9]{12})\.(?:dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?"
    r"|dkr-ecr\.(?P<region2>[a-z0-9-]+)\.on\.aws)/(?P<rest>.*)$"
)
#: ECR repository names (API ``CreateRepository.repositoryName``), then an optional tag or digest.
_ECR_REPOSITORY = re.compile(
    r"^(?P<repository>(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*)"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})?$"
)


@dataclass(frozen=True)
class EcrImage:
    """The private ECR repository an image reference names."""

    account: str
    region: str
    repository: str


def ecr_image_of(image: str) -> EcrImage | None:
    """The ECR repository of a private ECR image reference; None for any other registry.

    Raises ValueError for a reference whose registry is ECR but whose repository part is malformed
    (it could never be pulled)."""
    host = _ECR_HOST.fullmatch(image)
    if host is None:
        return None
    repository = _ECR_REPOSITORY.fullmatch(host.group("rest"))
    if repository is None:
        raise ValueError(
            f"{image!r} names a private ECR registry, but {host.group('rest')!r} is not a repository name with an "
            "optional :tag or @sha256: digest (lowercase letters, digits, '.', '_', '-' and '/')"
        )
    return EcrImage(
        account=host.group("account"),
        region=host.group("region") or host.group("region2"),
        repository=repository.group("repository"),
    )


@dataclass(frozen=True)
class S3Location:
    """``s3://bucket`` (the whole bucket, ``prefix == ""``) or ``s3://bucket/prefix`` (every key that
    starts with ``prefix``, as S3 prefixes go: end it with ``/`` to mean a folder)."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, text: str) -> S3Location | None:
        match = _S3_LOCATION.fullmatch(text)
        if match is None:
            return None
        return cls(bucket=match.group("bucket"), prefix=match.group("prefix") or "")


_S3_LOCATION = re.compile(
    r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(?P<prefix>[^*?\x00-\x1f]{0,1024}))?$"
)
_JOB_ROLE_KIND = "MnpJobRole"
#: Reading and writing objects: what a training job needs for data and checkpoints, nothing more (no
#: delete, no bucket configuration). Multipart uploads (large checkpoints) need the abort action.
S3_READ_ACTIONS = ("s3:GetObject",)
S3_WRITE_ACTIONS = ("s3:PutObject", "s3:AbortMultipartUpload")
#: What ECS Exec needs in the job role ("Using ECS Exec", Amazon ECS developer guide: IAM permissions);
#: these actions take no resource ARN, so ``Resource: "*"``.
ECS_EXEC_ACTIONS = (
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
)


class MnpJobRole(Construct):
    """A least-privilege IAM role for the containers of MNP job definitions (their ``job_role``).

    ``s3_read`` locations get ``s3:GetObject`` on their objects and ``s3:ListBucket`` on their bucket,
    limited by the ``s3:prefix`` condition key to the prefix; ``s3_write`` locations get ``s3:PutObject``
    and ``s3:AbortMultipartUpload`` on their objects. Object ARNs under a prefix end in ``*`` (IAM has no
    other way to name all objects under it): each such resource is acknowledged for cdk-nag's
    AwsSolutions-IAM5 by its own finding ID, so any other wildcard is still reported. ``managed_policy_arns``
    are attached as given (an AWS managed one is acknowledged for AwsSolutions-IAM4: the caller named it).
    The statements are inline, in the role resource itself (one resource per role).

    Attributes:
        role: the role (trusted by ``ecs-tasks.amazonaws.com``).
        s3_read, s3_write: the parsed locations.
    """

    role: iam.Role
    s3_read: tuple[S3Location, ...]
    s3_write: tuple[S3Location, ...]

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        s3_read: Sequence[str] = (),
        s3_write: Sequence[str] = (),
        managed_policy_arns: Sequence[str] = (),
        description: str | None = None,
    ) -> None:
        """Args:
        s3_read: ``s3://bucket`` or ``s3://bucket/prefix`` locations the job reads.
        s3_write: locations the job writes (list one in both to read back what it wrote).
        managed_policy_arns: managed policies to attach, by ARN.
        description: the role's description.
        """
        super().__init__(scope, id)
        self.s3_read = self._locations(id, "s3_read", s3_read)
        self.s3_write = self._locations(id, "s3_write", s3_write)
        policy_arns = tuple(managed_policy_arns)
        if not (self.s3_read or self.s3_write or policy_arns):
            raise MnpPropsError(
                _JOB_ROLE_KIND,
                id,
                "s3_read",
                "and s3_write and managed_policy_arns are all empty: the role would grant nothing",
                "name what the job needs, or pass no job role at all",
            )
        stack = Stack.of(self)
        statements, wildcards = self._statements(stack)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description=description or "The containers of MNP jobs: least-privilege S3 data and checkpoint access",
            inline_policies={"JobAccess": iam.PolicyDocument(statements=statements)} if statements else None,
            managed_policies=[
                iam.ManagedPolicy.from_managed_policy_arn(self, f"ManagedPolicy{index}", arn)
                for index, arn in enumerate(policy_arns)
            ],
        )
        acknowledgments = [
            Acknowledgment(
                id=f"{NAG_PLUGIN}::{NAG_IAM5}[Resource::{nag_finding_value(stack, arn)}]",
                reason="S3 object ARNs under a prefix need a trailing '*': IAM has no other way to name every "
                "object the job reads or writes under this location (the actions are exact, no wildcards)",
            )
            for arn in wildcards
        ]
        acknowledgments += [
            Acknowledgment(
                id=f"{NAG_PLUGIN}::{NAG_IAM4}[Policy::{nag_finding_value(stack, arn)}]",
                reason="This AWS managed policy is attached because the caller named it explicitly "
                "(managed_policy_arns / the config's job_role.managed_policy_arns)",
            )
            for arn in policy_arns
            if ":iam::aws:policy/" in arn
        ]
        if acknowledgments:
            Validations.of(self.role).acknowledge(*acknowledgments)

    @staticmethod
    def _locations(id: str, prop: str, values: Sequence[str]) -> tuple[S3Location, ...]:
        parsed: list[S3Location] = []
        for value in values:
            location = S3Location.parse(value)
            if location is None:
                raise MnpPropsError(
                    _JOB_ROLE_KIND,
                    id,
                    prop,
                    f"{value!r} is not s3://bucket or s3://bucket/prefix",
                    "use a bucket name of 3-63 lowercase letters, digits, '.' and '-', and no '*' or '?' in the prefix",
                )
            if location not in parsed:
                parsed.append(location)
        return tuple(parsed)

    def _statements(self, stack: Stack) -> tuple[list[iam.PolicyStatement], list[str]]:
        def bucket_arn(bucket: str) -> str:
            return stack.format_arn(service="s3", region="", account="", resource=bucket)

        def objects_arn(location: S3Location) -> str:
            return stack.format_arn(
                service="s3", region="", account="", resource=location.bucket, resource_name=f"{location.prefix}*"
            )

        statements: list[iam.PolicyStatement] = []
        buckets = sorted({location.bucket for location in self.s3_read})
        for index, bucket in enumerate(buckets):
            prefixes = [location.prefix for location in self.s3_read if location.bucket == bucket]
            statements.append(
                iam.PolicyStatement(
                    sid=f"ListReadLocations{index}",
                    actions=["s3:ListBucket"],
                    resources=[bucket_arn(bucket)],
                    # The whole bucket needs no condition; prefixes limit what may be listed.
                    conditions=None if "" in prefixes else {"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}},
                )
            )
        wildcards: list[str] = []
        for sid, actions, locations in (
            ("ReadObjects", S3_READ_ACTIONS, self.s3_read),
            ("WriteObjects", S3_WRITE_ACTIONS, self.s3_write),
        ):
            if not locations:
                continue
            arns = [objects_arn(location) for location in locations]
            statements.append(iam.PolicyStatement(sid=sid, actions=list(actions), resources=arns))
            wildcards += [arn for arn in arns if arn not in wildcards]
        return statements, wildcards


class MnpJobDefinition(Construct):
    """A ``multinode`` ``AWS::Batch::JobDefinition`` with checked node ranges and resources.

    Attributes:
        job_definition: the job definition.
        num_nodes: the number of nodes (``NumNodes``).
        instance_type: the one instance type every node runs on.
        instance_facts: what the toolkit's table knows about it (``None`` when the type is unknown).
        required_vcpus: the vCPUs a compute environment must be able to provide at once to run the job
            (``num_nodes`` x the instance's vCPUs); ``None`` when the toolkit does not know the instance type.
        node_ranges: the parsed node ranges, in the order given.
        log_group: where the containers log.
        execution_role: the ECS task execution role shared by every node (image pulls, log delivery).
        job_role: the role the containers run as (``None``: no AWS credentials in the containers).
        ecr_repositories: the private ECR repositories of the images, which the execution role may pull.
        props: the props as given.
    """

    job_definition: batch.IJobDefinition
    num_nodes: int
    instance_type: str
    instance_facts: InstanceTypeFacts | None
    required_vcpus: int | None
    node_ranges: tuple[NodeRange, ...]
    log_group: logs.ILogGroup
    execution_role: iam.IRole
    job_role: iam.IRole | None
    ecr_repositories: tuple[ecr.IRepository, ...]
    props: MnpJobDefinitionProps

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        image: Image,
        instance_type: str,
        num_nodes: int,
        main_node: int = 0,
        node_groups: Sequence[NodeGroup] | None = None,
        command: Sequence[str] = (),
        environment: Mapping[str, str] | None = None,
        vcpus: int | None = None,
        memory_mib: int | None = None,
        gpus: int = 0,
        retry_attempts: int = 1,
        retry_on: Literal["infrastructure", "any"] = "infrastructure",
        timeout: Duration | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        open_ended: bool = True,
        efa: bool = False,
        shared_memory_mib: int | None = None,
        job_role: iam.IRole | None = None,
        enable_execute_command: bool = False,
        name: str | None = None,
        execution_role: iam.IRole | None = None,
        log_group: logs.ILogGroup | None = None,
        secrets: Mapping[str, JobSecret] | None = None,
        readonly_root_filesystem: bool = False,
        user: str | None = None,
    ) -> None:
        """Args:
        image: container image (a registry reference such as ``"public.ecr.aws/x/y:1"``, or an
            ``ecs.ContainerImage``); node groups may override it.
        instance_type: the one EC2 instance type (``family.size``) every node runs on.
        num_nodes: 1 to 1000.
        main_node: index of the main node, whose exit decides the job's outcome.
        node_groups: up to five ranges with their own settings; default one group ``0:`` for all nodes.
        command, environment, vcpus, memory_mib, gpus: defaults for every node group. ``vcpus`` and
            ``memory_mib`` default to the whole instance (all vCPUs, the memory ECS leaves to containers);
            they are required when the toolkit does not know ``instance_type``.
        retry_attempts: 1 (no retry) to 10 attempts of the whole job.
        retry_on: ``"infrastructure"`` retries only failures of the instances (``Host EC2*``);
            ``"any"`` retries every failure.
        timeout: limit for one attempt of the whole job (at least 60 seconds); default none.
        log_retention: retention of the job's CloudWatch log group.
        open_ended: render ranges that reach the last node as ``n:`` so that ``numNodes`` can be
            overridden at submit time; ``False`` renders every range closed.
        efa: pass the instance's EFA devices into every container (``/dev/infiniband/uverbsN``) and
            lift the locked-memory limit; the instance type must support EFA.
        shared_memory_mib: size of ``/dev/shm`` for every container (NCCL and MPI use it).
        job_role: IAM role the containers run as (for example ``MnpJobRole(...).role``); default none.
        enable_execute_command: ECS Exec into every container (``aws ecs execute-command``), e.g. to debug
            a hung node; the job role gets the ``ssmmessages`` actions ECS Exec needs (the CDK's
            ``enableExecuteCommand``), and a job role of its own is created when none is given. A role
            imported as immutable must carry them already.
        name: physical job definition name; default generated.
        execution_role: share one ECS execution role between job definitions (default: one each).
        log_group: share one log group (``log_retention`` is then the group's); streams are prefixed
            with this construct's id. Default: a log group of its own.
        secrets: environment variable name -> :class:`JobSecret`, for every container; the execution role
            is granted read on exactly these ARNs (and ``kms:Decrypt`` on their named keys).
        readonly_root_filesystem: mount every container's root file system read-only (write to volumes
            or ``/dev/shm``; MPI and many tools write to ``/tmp``, so check the image first).
        user: the user (``name``, ``uid`` or ``uid:gid``) the containers run as instead of the image's.
        """
        super().__init__(scope, id)
        if retry_on not in ("infrastructure", "any"):
            raise MnpPropsError(_KIND, id, "retry_on", f"is {retry_on!r}", "use 'infrastructure' (default) or 'any'")
        env = dict(environment or {})
        job_secrets = dict(secrets or {})
        self._check_secrets(id, job_secrets, env, node_groups or ())
        if user is not None and not user.strip():
            raise MnpPropsError(_KIND, id, "user", "is empty", "give a user name, uid or uid:gid, or None")
        self.props = MnpJobDefinitionProps(
            image=image,
            instance_type=instance_type,
            num_nodes=num_nodes,
            main_node=main_node,
            node_groups=tuple(node_groups) if node_groups is not None else None,
            command=tuple(command),
            environment=env,
            vcpus=vcpus,
            memory_mib=memory_mib,
            gpus=gpus,
            retry_attempts=retry_attempts,
            retry_on=retry_on,
            timeout=timeout,
            log_retention=log_retention,
            open_ended=open_ended,
            efa=efa,
            shared_memory_mib=shared_memory_mib,
            job_role=job_role,
            name=name,
            enable_execute_command=enable_execute_command,
            secrets=job_secrets,
            readonly_root_filesystem=readonly_root_filesystem,
            user=user,
        )
        self.instance_type = instance_type
        self.num_nodes = num_nodes
        self.instance_facts = self._check_instance_type(id, instance_type)
        self._check_scalars(id, timeout, shared_memory_mib)
        groups = list(node_groups) if node_groups is not None else [NodeGroup(target_nodes="0:")]
        if not groups:
            raise MnpPropsError(
                _KIND, id, "node_groups", "is empty", "pass None for one group over all nodes, or 1-5 groups"
            )
        spec = JobSpec(
            instance_type=instance_type,
            num_nodes=num_nodes,
            main_node=main_node,
            node_groups=tuple(
                NodeGroupSpec(target_nodes=g.target_nodes, vcpus=g.vcpus, memory_mib=g.memory_mib, gpus=g.gpus)
                for g in groups
            )
            if node_groups is not None
            else (),
            vcpus=vcpus,
            memory_mib=memory_mib,
            gpus=gpus,
            retry_attempts=retry_attempts,
            open_ended=open_ended,
            efa=efa,
        )
        # One verdict with the config and the rule pack (mnp_toolkit.core.job_spec): errors reject the
        # props, warnings are CDK warnings naming the rule.
        verdicts = check_job(spec)
        errors = [verdict for verdict in verdicts if verdict.is_error]
        if errors:
            raise MnpPropsError.of_verdicts(_KIND, id, errors)
        for verdict in verdicts:
            Annotations.of(self).add_warning_v2(
                f"mnp:{verdict.rule}", f"{verdict.field}: {verdict.message} ({verdict.rule}). Fix: {verdict.fix}"
            )
        self.node_ranges = tuple(
            NodeRange(target, group=group)
            for target, group in ((parse_target_nodes(g.target_nodes), g) for g in groups)
        )
        settings = [
            self._node_settings(spec, spec_group, r.group, image, command, env)
            for spec_group, r in zip(spec.groups, self.node_ranges, strict=True)
        ]
        needed = required_vcpus(spec)
        self.required_vcpus = None if needed is None else math.ceil(needed)

        # A stack with many job definitions shares one role and log group (CloudFormation allows 500
        # resources a stack); each job definition then logs under its own stream prefix.
        self.log_group = log_group or logs.LogGroup(self, "Logs", retention=log_retention)
        self.execution_role = execution_role or iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="Pulls the images and ships the logs of an MNP job definition's containers",
        )
        self.ecr_repositories = self._grant_image_pulls(id, image, groups)
        self.job_role = job_role
        if enable_execute_command:
            self.job_role = self._ecs_exec_role(job_role)
        log_driver = ecs.LogDrivers.aws_logs(stream_prefix="mnp" if log_group is None else id, log_group=self.log_group)
        container_secrets = self._container_secrets(job_secrets)
        efa_devices = self._efa_device_count() if efa else 0

        containers: list[batch.MultiNodeContainer] = []
        for index, (node_range, node) in enumerate(zip(self.node_ranges, settings, strict=True)):
            linux = None
            if efa_devices or shared_memory_mib is not None:
                linux = batch.LinuxParameters(
                    self,
                    f"Node{index}Linux",
                    shared_memory_size=(Size.mebibytes(shared_memory_mib) if shared_memory_mib is not None else None),
                )
                for device in range(efa_devices):
                    path = f"/dev/infiniband/uverbs{device}"
                    linux.add_devices(
                        batch.Device(
                            host_path=path,
                            container_path=path,
                            permissions=[
                                batch.DevicePermission.READ,
                                batch.DevicePermission.WRITE,
                                batch.DevicePermission.MKNOD,
                            ],
                        )
                    )
            container = batch.EcsEc2ContainerDefinition(
                self,
                f"Node{index}",
                image=(ecs.ContainerImage.from_registry(node.image) if isinstance(node.image, str) else node.image),
                cpu=node.vcpus,
                memory=Size.mebibytes(node.memory_mib),
                gpu=node.gpus or None,
                command=list(node.command) or None,
                environment=dict(node.environment) or None,
                logging=log_driver,
                execution_role=self.execution_role,
                job_role=self.job_role,
                # The L2 adds ECS Exec's ssmmessages actions to the job role.
                enable_execute_command=enable_execute_command or None,
                linux_parameters=linux,
                # EFA registers memory with the NIC; the default 64 KiB memlock limit breaks it.
                ulimits=([batch.Ulimit(name=batch.UlimitName.MEMLOCK, hard_limit=-1, soft_limit=-1)] if efa else None),
                privileged=False,
                # The L2 grants the execution role read on each secret's ARN.
                secrets=container_secrets or None,
                readonly_root_filesystem=readonly_root_filesystem or None,
                user=user,
            )
            if isinstance(node.image, str) and ecr_image_of(node.image) is not None:
                # The image is used as written (FIPS and dual-stack registry names included); the execution
                # role got pull access to its repository above, which is what the CDK's warning asks for.
                Annotations.of(container).acknowledge_warning(
                    "@aws-cdk/aws-ecs:ecrImageRequiresPolicy",
                    "the execution role is granted pull on this image's ECR repository (Repository.grant_pull)",
                )
            containers.append(
                batch.MultiNodeContainer(
                    start_node=node_range.start,
                    end_node=node_range.last(num_nodes),
                    container=container,
                )
            )

        retry_strategies = None
        if retry_attempts > 1 and retry_on == "infrastructure":
            retry_strategies = [
                batch.RetryStrategy.of(
                    batch.Action.RETRY,
                    batch.Reason.custom(on_status_reason=INFRASTRUCTURE_FAILURE_STATUS_REASON),
                ),
                batch.RetryStrategy.of(batch.Action.EXIT, batch.Reason.custom(on_reason="*")),
            ]
        definition = batch.MultiNodeJobDefinition(
            self,
            "Resource",
            instance_type=ec2.InstanceType(instance_type),
            containers=containers,
            main_node=main_node,
            retry_attempts=retry_attempts,
            retry_strategies=retry_strategies,
            timeout=timeout,
            job_definition_name=name,
        )
        cfn = definition.node.default_child
        assert isinstance(cfn, batch.CfnJobDefinition)
        # The L2 sums range sizes (nested ranges count twice); NumNodes is what the user asked for.
        cfn.add_property_override("NodeProperties.NumNodes", num_nodes)
        for index, node_range in enumerate(self.node_ranges):
            prefix = f"NodeProperties.NodeRangeProperties.{index}"
            cfn.add_property_override(f"{prefix}.TargetNodes", node_range.render(num_nodes, open_ended=open_ended))
            for device in range(efa_devices):
                # The L2 renders the enum in lower case; the Batch API documents READ | WRITE | MKNOD.
                cfn.add_property_override(
                    f"{prefix}.Container.LinuxParameters.Devices.{device}.Permissions", list(_DEVICE_PERMISSIONS)
                )
        self.job_definition = definition

    # -- secrets --------------------------------------------------------------------------------------

    def _container_secrets(self, job_secrets: Mapping[str, JobSecret]) -> dict[str, batch.Secret]:
        rendered: dict[str, batch.Secret] = {}
        keys: list[str] = []
        for index, (env_name, secret) in enumerate(sorted(job_secrets.items())):
            if secret.service == "secretsmanager":
                imported = (
                    secretsmanager.Secret.from_secret_complete_arn(self, f"Secret{index}", secret.arn)
                    if _COMPLETE_SECRET_ARN.search(secret.arn)
                    else secretsmanager.Secret.from_secret_partial_arn(self, f"Secret{index}", secret.arn)
                )
                rendered[env_name] = batch.Secret.from_secrets_manager(imported, secret.field)
            else:
                parameter = ssm.StringParameter.from_string_parameter_arn(self, f"Secret{index}", secret.arn)
                rendered[env_name] = batch.Secret.from_ssm_parameter(parameter)
            if secret.kms_key_arn is not None and secret.kms_key_arn not in keys:
                keys.append(secret.kms_key_arn)
        if keys:
            self.execution_role.add_to_principal_policy(
                iam.PolicyStatement(sid="DecryptTheJobSecrets", actions=["kms:Decrypt"], resources=keys)
            )
        return rendered

    @staticmethod
    def _check_secrets(
        id: str, job_secrets: Mapping[str, JobSecret], environment: Mapping[str, str], groups: Sequence[NodeGroup]
    ) -> None:
        for env_name, secret in job_secrets.items():
            if not _ENV_NAME.match(env_name):
                raise MnpPropsError(
                    _KIND,
                    id,
                    "secrets",
                    f"{env_name!r} is not an environment variable name",
                    "use [A-Za-z_][A-Za-z0-9_]*",
                )
            if secret.service is None:
                raise MnpPropsError(
                    _KIND,
                    id,
                    f"secrets[{env_name}]",
                    f"{secret.arn!r} is neither a Secrets Manager secret ARN nor an SSM parameter ARN",
                    "give arn:...:secretsmanager:<region>:<account>:secret:<name> or arn:...:ssm:<region>:<account>:"
                    "parameter/<name>",
                )
            if secret.field is not None and secret.service != "secretsmanager":
                raise MnpPropsError(
                    _KIND,
                    id,
                    f"secrets[{env_name}]",
                    "has a field, but only Secrets Manager secrets have JSON keys",
                    "drop field, or use a Secrets Manager secret",
                )
            if secret.kms_key_arn is not None and not _KMS_KEY_ARN.match(secret.kms_key_arn):
                raise MnpPropsError(
                    _KIND,
                    id,
                    f"secrets[{env_name}]",
                    f"kms_key_arn {secret.kms_key_arn!r} is not a KMS key ARN",
                    "give arn:<partition>:kms:<region>:<account>:key/<id>",
                )
            clashes = [f"environment {env_name}"] if env_name in environment else []
            clashes += [f"node group {g.target_nodes!r}" for g in groups if env_name in (g.environment or {})]
            if clashes:
                raise MnpPropsError(
                    _KIND,
                    id,
                    f"secrets[{env_name}]",
                    f"is also set as a plain variable ({', '.join(clashes)})",
                    "set it once, as a secret",
                )

    # -- identities -----------------------------------------------------------------------------------

    def _grant_image_pulls(self, id: str, image: Image, groups: Sequence[NodeGroup]) -> tuple[ecr.IRepository, ...]:
        """Pull access for the execution role (ECS logs in to the registry and fetches the layers with it)
        on exactly the private ECR repositories the images name, through the CDK's ``grant_pull``."""
        found: list[EcrImage] = []
        for candidate in (image, *(group.image for group in groups)):
            if not isinstance(candidate, str):
                continue  # an ecs.ContainerImage grants its own pulls when the L2 binds it
            try:
                reference = ecr_image_of(candidate)
            except ValueError as error:
                raise MnpPropsError(_KIND, id, "image", str(error), "fix the image reference") from None
            if reference is not None and reference not in found:
                found.append(reference)
        stack = Stack.of(self)
        repositories: list[ecr.IRepository] = []
        for index, reference in enumerate(found):
            repository = ecr.Repository.from_repository_attributes(
                self,
                f"EcrRepository{index}",
                repository_arn=stack.format_arn(
                    service="ecr",
                    region=reference.region,
                    account=reference.account,
                    resource="repository",
                    resource_name=reference.repository,
                ),
                repository_name=reference.repository,
            )
            repository.grant_pull(self.execution_role)
            repositories.append(repository)
        if repositories:
            Validations.of(self.execution_role).acknowledge(
                Acknowledgment(
                    id=f"{NAG_PLUGIN}::{NAG_IAM5}[Resource::*]",
                    reason="ecr:GetAuthorizationToken supports no resource-level permissions: the registry login "
                    "token is per account and Region (Amazon ECR user guide, private registry authentication); "
                    "the pulls themselves are granted on the named repositories only",
                )
            )
        return tuple(repositories)

    def _ecs_exec_role(self, job_role: iam.IRole | None) -> iam.IRole:
        # One role for every node group: the L2 would create a role per container otherwise.
        role = job_role or iam.Role(
            self,
            "JobRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="ECS Exec into the containers of an MNP job definition (no other permissions)",
        )
        Validations.of(role).acknowledge(
            Acknowledgment(
                id=f"{NAG_PLUGIN}::{NAG_IAM5}[Resource::*]",
                reason="ECS Exec's ssmmessages channel actions take no resource ARN (Amazon ECS developer guide, "
                "ECS Exec IAM permissions use Resource '*'); they open channels to this task's own agent only",
            )
        )
        return role

    # -- validation -----------------------------------------------------------------------------------

    @staticmethod
    def _check_instance_type(id: str, instance_type: str) -> InstanceTypeFacts | None:
        if not instance_types.is_instance_type_name(instance_type):
            raise MnpPropsError(
                _KIND,
                id,
                "instance_type",
                f"{instance_type!r} is not an instance type name",
                "give one type as family.size, for example c5n.18xlarge (not a family or 'optimal')",
            )
        return instance_types.lookup(instance_type)

    @staticmethod
    def _check_scalars(id: str, timeout: Duration | None, shared_memory_mib: int | None) -> None:
        if timeout is not None and timeout.to_seconds() < MIN_TIMEOUT_SECONDS:
            raise MnpPropsError(
                _KIND,
                id,
                "timeout",
                f"is {timeout.to_seconds()} seconds",
                f"use at least {MIN_TIMEOUT_SECONDS} seconds (AWS Batch minimum), or None",
            )
        if shared_memory_mib is not None and shared_memory_mib < 1:
            raise MnpPropsError(_KIND, id, "shared_memory_mib", f"is {shared_memory_mib}", "use 1 MiB or more, or None")

    @staticmethod
    def _node_settings(
        spec: JobSpec,
        spec_group: NodeGroupSpec,
        group: NodeGroup,
        image: Image,
        command: Sequence[str],
        environment: Mapping[str, str],
    ) -> _NodeSettings:
        asks = node_settings(spec, spec_group)
        # check_job rejected every group in effect whose asks are unknown. A group that nested ranges
        # override for all its nodes applies to no node (Batch: the asks must be "specified for each node at
        # least once"), but the L2 container needs values: the minimum Batch accepts, never used.
        return _NodeSettings(
            image=group.image if group.image is not None else image,
            command=group.command if group.command is not None else command,
            # a group's variables add to (and override) the job definition's
            environment={**environment, **(group.environment or {})},
            vcpus=math.ceil(asks.vcpus) if asks.vcpus is not None else MIN_VCPUS,
            memory_mib=asks.memory_mib if asks.memory_mib is not None else MIN_MEMORY_MIB,
            gpus=asks.gpus,
        )

    def _efa_device_count(self) -> int:
        facts = self.instance_facts
        # Unknown type: one EFA device, the minimum any EFA-capable type has.
        return max(1, facts.max_efa_interfaces) if facts is not None else 1
