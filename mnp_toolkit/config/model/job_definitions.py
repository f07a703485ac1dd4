"""Multi-node parallel job definitions (:class:`JobDefinitionConfig`) with their node groups and job role,
and the rules on what the containers get: environment variable names (none secret-like, none of AWS
Batch's), secrets by ARN, image references and S3 locations."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints, WithJsonSchema, field_validator, model_validator

from mnp_toolkit.config.model.base import (
    KMS_KEY_ARN_PATTERN,
    UNIQUE_ITEMS,
    Name,
    RetentionDays,
    _Model,
    _unique,
    schema_rule,
)
from mnp_toolkit.core import instance_types
from mnp_toolkit.core.job_spec import JobSpec, NodeGroupSpec, Verdict, check_job, node_settings, required_vcpus
from mnp_toolkit.core.limits import (
    MAX_NODE_RANGES,
    MAX_RETRY_ATTEMPTS,
    MAX_TIMEOUT_SECONDS,
    MIN_MEMORY_MIB,
    MIN_RETRY_ATTEMPTS,
    MIN_VCPUS,
    RESERVED_ENVIRONMENT_PREFIX,
)
from mnp_toolkit.core.target_nodes import TargetNodesError, parse_target_nodes


def _any_case(word: str) -> str:
    """``word`` as a regular expression matching it in any case, in the syntax JSON Schema patterns share
    with Python (ECMA 262 has no inline ``(?i)``)."""
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in word)


#: Names of plain environment variables that look like secrets: their values would sit in the
#: job definition in clear text, readable by anyone with batch:DescribeJobDefinitions; they belong in
#: ``secrets``. Any case: *_PASSWORD, *_TOKEN, *_SECRET, and AWS_SECRET_ACCESS_KEY.
SECRET_LIKE_NAME = (
    f"_({_any_case('PASSWORD')}|{_any_case('TOKEN')}|{_any_case('SECRET')})$|^{_any_case('AWS_SECRET_ACCESS_KEY')}$"
)


def _environment_names(values: dict[str, str]) -> dict[str, str]:
    problems = []
    if "" in values:
        problems.append("a variable has an empty name; give every variable a name")
    secret_like = sorted(name for name in values if re.search(SECRET_LIKE_NAME, name))
    if secret_like:
        problems.append(
            f"{', '.join(secret_like)}: a plain variable's value is stored in the job definition in clear text "
            "(anyone who may describe job definitions reads it); move it to `secrets` (NAME: a Secrets Manager "
            "secret or SSM parameter ARN), which ECS resolves when the container starts"
        )
    reserved = sorted(name for name in values if name.startswith(RESERVED_ENVIRONMENT_PREFIX))
    if reserved:
        problems.append(
            f"{', '.join(reserved)}: names cannot start with {RESERVED_ENVIRONMENT_PREFIX}, which AWS Batch reserves "
            "for the variables it sets (API ContainerProperties.environment); rename them"
        )
    if problems:
        raise schema_rule("; ".join(problems))
    return values


EnvironmentVariables = Annotated[
    dict[str, str],
    AfterValidator(_environment_names),
    WithJsonSchema(
        {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "propertyNames": {"minLength": 1, "not": {"pattern": f"^{RESERVED_ENVIRONMENT_PREFIX}|{SECRET_LIKE_NAME}"}},
        }
    ),
]

#: What ECS takes as a container secret: a Secrets Manager secret ARN (complete or partial) or an SSM
#: parameter ARN (ECS developer guide, "Pass sensitive data to an Amazon ECS container").
SECRET_ARN_PATTERN = (
    r"^arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}"
    r"|ssm:[a-z0-9-]+:[0-9]{12}:parameter/[A-Za-z0-9/_.-]{1,2048})$"
)


_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _secret_names(values: dict[str, Any]) -> dict[str, Any]:
    bad = sorted(
        name for name in values if not _VARIABLE_NAME.match(name) or name.startswith(RESERVED_ENVIRONMENT_PREFIX)
    )
    if bad:
        raise schema_rule(
            f"{', '.join(map(repr, bad))}: secret names are variable names ([A-Za-z_][A-Za-z0-9_]*) not starting "
            f"with {RESERVED_ENVIRONMENT_PREFIX} (AWS Batch's own); rename them"
        )
    return values


Secrets = Annotated[dict[str, Annotated[str, Field(pattern=SECRET_ARN_PATTERN)]], AfterValidator(_secret_names)]

#: Batch ``ContainerProperties.image``: "up to 255 letters (uppercase and lowercase), numbers, hyphens,
#: underscores, colons, periods, forward slashes, and number signs" (and ``@`` of a ``@sha256:`` digest).
_IMAGE = re.compile(r"^[A-Za-z0-9_:./#@-]{1,255}$")


def _image(value: str) -> str:
    if not _IMAGE.fullmatch(value):
        raise schema_rule(
            "is not an image reference AWS Batch takes: up to 255 letters, digits and - _ : . / # @ (no blanks), "
            "e.g. public.ecr.aws/amazonlinux/amazonlinux:2023 or 123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:tag"
        )
    return value


ImageReference = Annotated[str, AfterValidator(_image), WithJsonSchema({"type": "string", "pattern": _IMAGE.pattern})]

#: ``s3://bucket`` or ``s3://bucket/prefix``: bucket names are 3-63 lowercase letters, digits, '.' and '-'
#: (S3 user guide, bucket naming rules); no IAM wildcards (``*``, ``?``) or control characters in the prefix.
_S3_LOCATION = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^*?\x00-\x1f]{0,1024})?$")


def _s3_location(value: str) -> str:
    if not _S3_LOCATION.fullmatch(value):
        raise schema_rule(
            f"{value!r} is not an S3 location: use s3://bucket or s3://bucket/prefix/ (bucket names are 3-63 "
            "lowercase letters, digits, '.' and '-'; no '*' or '?' in the prefix)"
        )
    return value


S3Location = Annotated[
    str, AfterValidator(_s3_location), WithJsonSchema({"type": "string", "pattern": _S3_LOCATION.pattern})
]


class JobRoleConfig(_Model):
    """The IAM role the job's containers run as (their AWS credentials): either least-privilege access
    the stack builds from the lists below, or an existing role by ARN. Default: no role (no AWS access)."""

    arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$",
        description="Use this existing role (it must trust ecs-tasks.amazonaws.com); not with the keys below.",
    )
    s3_read: Annotated[list[S3Location], AfterValidator(_unique)] = Field(
        default_factory=list,
        json_schema_extra=UNIQUE_ITEMS,
        description="s3://bucket or s3://bucket/prefix the job reads: s3:GetObject on those objects, "
        "s3:ListBucket limited to the prefix.",
    )
    s3_write: Annotated[list[S3Location], AfterValidator(_unique)] = Field(
        default_factory=list,
        json_schema_extra=UNIQUE_ITEMS,
        description="s3://bucket or s3://bucket/prefix the job writes (checkpoints, results): s3:PutObject "
        "and s3:AbortMultipartUpload on those objects (no delete).",
    )
    managed_policy_arns: Annotated[
        list[Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::(aws|[0-9]{12}):policy/[A-Za-z0-9+=,.@_/-]{1,512}$")]],
        AfterValidator(_unique),
    ] = Field(default_factory=list, json_schema_extra=UNIQUE_ITEMS, description="Managed policies to attach, by ARN.")

    @model_validator(mode="after")
    def _role_or_access(self) -> JobRoleConfig:
        access = self.s3_read or self.s3_write or self.managed_policy_arns
        if self.arn is not None and access:
            raise ValueError(
                "arn names an existing role, so the stack cannot add s3_read, s3_write or managed_policy_arns "
                "to it: give either arn or those keys"
            )
        if self.arn is None and not access:
            raise ValueError("is empty: give arn (an existing role) or s3_read, s3_write, managed_policy_arns")
        return self


class NodeGroupConfig(_Model):
    """Settings for a range of nodes (`target_nodes`: 'n', 'n:m', ':m' or 'n:'); unset fields inherit."""

    target_nodes: Annotated[str, StringConstraints(strip_whitespace=False)] = Field(
        description="'n', 'n:m', ':m' or 'n:' exactly as Batch takes it (no blanks: AWS rejects them, so "
        "the config does too)."
    )
    image: ImageReference | None = None
    command: list[str] | None = None
    environment: EnvironmentVariables | None = Field(
        default=None, description="Added to the job definition's variables (same name: this one wins)."
    )
    vcpus: int | None = Field(default=None, ge=MIN_VCPUS)
    memory_mib: int | None = Field(default=None, ge=MIN_MEMORY_MIB)
    gpus: int | None = Field(default=None, ge=0, description="GPUs per node of this range.")

    @field_validator("target_nodes")
    @classmethod
    def _target(cls, value: str) -> str:
        try:
            parse_target_nodes(value)
        except TargetNodesError as error:
            raise ValueError(str(error)) from None
        return value


class JobDefinitionConfig(_Model):
    """A multi-node parallel job definition."""

    name: Name
    queue: Name = Field(description="The job queue it is meant for (sizes that queue's compute environments).")
    image: ImageReference = Field(
        description="Container image, e.g. public.ecr.aws/... or a private ECR URI (the execution role gets "
        "pull access to the repositories the job's images name; see docs/constructs.md for cross-account)."
    )
    instance_type: str = Field(description="ONE instance type for every node (MNP requirement).")
    num_nodes: int = Field(
        ge=1,
        description="Nodes per job (at least 1; above 1,000, the default limit per job, is warned about as "
        "MNP109); overridable at submit time.",
    )
    main_node: int = Field(default=0, ge=0, description="Index of the main node.")
    command: list[str] = Field(default_factory=list)
    environment: EnvironmentVariables = Field(
        default_factory=dict,
        description=f"Variables of every container (not starting with {RESERVED_ENVIRONMENT_PREFIX}).",
    )
    vcpus: int | None = Field(default=None, ge=MIN_VCPUS, description="Per node; default: all of the instance's vCPUs.")
    memory_mib: int | None = Field(
        default=None, ge=MIN_MEMORY_MIB, description="Per node; default: what the instance type leaves to containers."
    )
    gpus: int = Field(default=0, ge=0, description="GPUs per node.")
    shared_memory_mib: int | None = Field(
        default=None,
        ge=1,
        description="Size of /dev/shm in every container. Docker's default is 64 MiB, too small for NCCL and "
        "PyTorch data loaders: multi-GPU training typically wants several GiB.",
    )
    node_groups: list[NodeGroupConfig] | None = Field(
        default=None,
        max_length=MAX_NODE_RANGES,
        description=f"Up to {MAX_NODE_RANGES} node ranges; default: one range for all nodes.",
    )
    retry_attempts: int = Field(default=1, ge=MIN_RETRY_ATTEMPTS, le=MAX_RETRY_ATTEMPTS)
    timeout_minutes: int | None = Field(
        default=None,
        ge=1,
        le=MAX_TIMEOUT_SECONDS // 60,
        description="Limit for one attempt of the whole job (Batch attemptDurationSeconds, at most 2^31-1 s).",
    )
    efa: bool = Field(default=False, description="Map EFA devices into the containers.")
    log_retention_days: RetentionDays = Field(default=30, description="Retention of the job's log group.")
    job_role: JobRoleConfig | None = Field(
        default=None, description="The IAM role the containers run as (below); default: none, no AWS access."
    )
    ecs_exec: bool = Field(
        default=False,
        description="ECS Exec into the running containers (`aws ecs execute-command`), e.g. to debug a hung node. "
        "Gives the job role the four ssmmessages channel actions (a role is created if none is set).",
    )
    secrets: Secrets = Field(
        default_factory=dict,
        json_schema_extra={
            "propertyNames": {"pattern": _VARIABLE_NAME.pattern, "not": {"pattern": f"^{RESERVED_ENVIRONMENT_PREFIX}"}}
        },
        description="Variables whose values ECS reads from Secrets Manager or SSM Parameter Store when a container "
        "starts (NAME: secret or parameter ARN); the execution role may read exactly these ARNs.",
    )
    secret_kms_key_arns: Annotated[
        list[Annotated[str, Field(pattern=KMS_KEY_ARN_PATTERN)]], AfterValidator(_unique)
    ] = Field(
        default_factory=list,
        json_schema_extra=UNIQUE_ITEMS,
        description="Customer managed keys the secrets are encrypted with: the execution role gets kms:Decrypt on "
        "them (none needed for AWS managed keys).",
    )
    readonly_root_filesystem: bool = Field(
        default=False, description="Mount the containers' root file system read-only (writes go to volumes, /dev/shm)."
    )
    user: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,31})?$",
        description="Run the containers as this user (name, uid or uid:gid) instead of the image's.",
    )

    @model_validator(mode="after")
    def _secrets_not_plain(self) -> JobDefinitionConfig:
        plain = set(self.environment).union(*((group.environment or {}) for group in self.node_groups or ()))
        both = sorted(set(self.secrets) & plain)
        if both:
            raise ValueError(f"secrets: {', '.join(both)} also set as plain variables; set each once, as a secret")
        return self

    @field_validator("instance_type")
    @classmethod
    def _instance_type(cls, value: str) -> str:
        value = value.strip().lower()
        if not instance_types.is_instance_type_name(value):
            raise ValueError(f"{value!r} is not an instance type name such as c5n.18xlarge (families are not allowed)")
        return value

    @model_validator(mode="after")
    def _consistency(self) -> JobDefinitionConfig:
        # One verdict with the constructs and the rule pack (mnp_toolkit.core.job_spec): every error at once.
        errors = [verdict for verdict in check_job(self.spec) if verdict.is_error]
        problems = [str(verdict) for verdict in errors]
        spec = self.spec
        groups: list[tuple[int | None, NodeGroupSpec]] = (
            list(enumerate(spec.groups)) if self.node_groups else [(None, spec.groups[0])]
        )
        for position, group in groups:
            memory = node_settings(spec, group).memory_mib
            if self.shared_memory_mib is not None and memory is not None and self.shared_memory_mib > memory:
                where = "" if position is None else f" of node_groups[{position}]"
                problems.append(
                    f"shared_memory_mib: {self.shared_memory_mib} is more than the container's memory{where} "
                    f"({memory} MiB); /dev/shm counts against it (fix: lower it, or raise memory_mib)"
                )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def job_role_key(self) -> tuple[Any, ...] | None:
        """What the job role the stack creates for this job definition depends on (equal keys share one
        role); None when no role is created (none asked for, or an existing one by ARN)."""
        role = self.job_role
        if role is not None and role.arn is not None:
            return None
        if role is None and not self.ecs_exec:
            return None
        access = (tuple(role.s3_read), tuple(role.s3_write), tuple(role.managed_policy_arns)) if role else ((), (), ())
        return (*access, self.ecs_exec)

    @property
    def spec(self) -> JobSpec:
        """This job definition as the core of MNP semantics sees it."""
        return JobSpec(
            instance_type=self.instance_type,
            num_nodes=self.num_nodes,
            main_node=self.main_node,
            node_groups=tuple(
                NodeGroupSpec(
                    target_nodes=group.target_nodes, vcpus=group.vcpus, memory_mib=group.memory_mib, gpus=group.gpus
                )
                for group in self.node_groups or ()
            ),
            vcpus=self.vcpus,
            memory_mib=self.memory_mib,
            gpus=self.gpus,
            retry_attempts=self.retry_attempts,
            efa=self.efa,
        )

    @property
    def warnings(self) -> list[Verdict]:
        """What the rule pack will warn about (MNP103, MNP104, MNP107, MNP108, MNP109): reported, not refused."""
        return [verdict for verdict in check_job(self.spec) if not verdict.is_error]

    @property
    def vcpus_per_node(self) -> int | None:
        facts = instance_types.lookup(self.instance_type)
        return facts.vcpus if facts is not None else self.vcpus

    @property
    def required_vcpus(self) -> int | None:
        """vCPUs of the whole job: the instances Batch must launch at once (the core's sizing); None when
        the toolkit does not know the instance type."""
        needed = required_vcpus(self.spec)
        return None if needed is None else math.ceil(needed)
