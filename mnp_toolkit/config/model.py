"""The typed configuration of an MNP environment (one YAML file per environment).

Validated with pydantic: an unknown key, a wrong type or an impossible value is a :class:`ConfigError`
whose message names the file, the field path (``job_definitions[0].num_nodes``) and what is allowed.
``python -m mnp_toolkit.config schema`` prints the JSON Schema (shipped as ``config/schema.json`` for
editors) and ``python -m mnp_toolkit.config reference`` the Markdown reference in ``docs/config.md``.

Plain Python (no aws-cdk-lib), so ``mnp preflight`` can read the same file.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    field_validator,
    model_validator,
)

from mnp_toolkit.core import instance_types
from mnp_toolkit.core.job_spec import JobSpec, NodeGroupSpec, Verdict, check_job, required_vcpus
from mnp_toolkit.core.limits import (
    MAX_NODE_RANGES,
    MAX_QUEUE_COMPUTE_ENVIRONMENTS,
    MAX_RETRY_ATTEMPTS,
    MAX_SECURITY_GROUPS,
    MAX_STATE_TIME_LIMIT_SECONDS,
    MIN_MEMORY_MIB,
    MIN_RETRY_ATTEMPTS,
    MIN_STATE_TIME_LIMIT_SECONDS,
    MIN_VCPUS,
)
from mnp_toolkit.core.target_nodes import TargetNodesError, parse_target_nodes

_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"


Name = Annotated[
    str,
    Field(pattern=_NAME_PATTERN, description="Letters, digits, '-' and '_', starting with a letter (max 64)."),
]


_ACCOUNT = re.compile(r"^\d{12}$")


_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


_AZ_NAME = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d[a-z]$")


#: Retention periods CloudWatch Logs accepts (days).
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)


def _retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        raise ValueError(f"CloudWatch Logs accepts only {', '.join(map(str, LOG_RETENTION_DAYS))} days")
    return value


RetentionDays = Annotated[int, AfterValidator(_retention)]


class ConfigError(Exception):
    """A config file that cannot be used; ``str()`` is a readable, multi-line explanation."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Environment(_Model):
    """Where `cdk deploy` goes. Omit both to deploy to the CLI's current account/region."""

    account: str | None = Field(default=None, description="12-digit AWS account ID.")
    region: str | None = Field(default=None, description="AWS Region, e.g. us-east-1.")

    @field_validator("account")
    @classmethod
    def _account(cls, value: str | None) -> str | None:
        if value is not None and not _ACCOUNT.match(value):
            raise ValueError("must be a 12-digit AWS account ID (quote it in YAML: '123456789012')")
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is not None and not _REGION.match(value):
            raise ValueError("must be an AWS Region name such as us-east-1")
        return value


class NewNetwork(_Model):
    """A new VPC: private compute subnets with egress through NAT, public subnets only for the NAT."""

    mode: Literal["new"] = "new"
    cidr: str = Field(default="10.0.0.0/16", description="IPv4 CIDR of the VPC (/16 to /24).")
    max_azs: int = Field(default=2, ge=1, le=6, description="Availability Zones the VPC spans.")
    nat_gateways: Literal["one", "per_az"] = Field(
        default="one", description="'one' NAT gateway (cheapest) or one 'per_az' (no cross-AZ dependency)."
    )
    flow_logs: bool = Field(default=True, description="VPC flow logs to CloudWatch Logs.")
    flow_log_retention_days: RetentionDays = Field(default=30, description="Retention of the flow-log group.")
    s3_gateway_endpoint: bool = Field(default=True, description="S3 gateway endpoint (free; image layers).")
    interface_endpoints: bool = Field(
        default=False,
        description="ECR api/dkr and CloudWatch Logs interface endpoints (hourly cost; cut NAT data charges).",
    )
    availability_zones: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=6,
        description="AZ names for the VPC (e.g. [us-east-1a, us-east-1b]); the compute subnets use the FIRST "
        "(a cluster placement group is single-AZ). Default: the Region's first `max_azs` AZs, resolved at deploy "
        "time, so synth needs no account. Set this when `env` names an account, to avoid a context lookup.",
    )

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        match = re.match(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})/(\d{1,2})$", value)
        if not match or any(int(part) > 255 for part in match.groups()[:4]) or not 16 <= int(match.group(5)) <= 24:
            raise ValueError("must be an IPv4 CIDR with a prefix from /16 to /24, e.g. 10.0.0.0/16")
        return value

    @model_validator(mode="after")
    def _room_for_subnets(self) -> NewNetwork:
        # Each AZ gets a /19 compute subnet and a /24 public one (MnpNetwork's masks).
        prefix = int(self.cidr.rsplit("/", 1)[1])
        fits = 2 ** (19 - prefix) if prefix <= 19 else 0
        azs = len(self.availability_zones) if self.availability_zones else self.max_azs
        if fits < azs + 1:  # the public /24s take (part of) one more /19
            raise ValueError(
                f"cidr {self.cidr} has no room for {azs} private /19 subnets plus the public /24s; "
                "use a /16 (up to 6 AZs) or /17 (up to 3 AZs)"
            )
        return self

    @field_validator("availability_zones")
    @classmethod
    def _azs(cls, values: list[str] | None) -> list[str] | None:
        if values is None:
            return None
        for value in values:
            if not _AZ_NAME.match(value):
                raise ValueError(f"{value!r} is not an Availability Zone name such as us-east-1a")
        if len(set(values)) != len(values):
            raise ValueError("lists an Availability Zone twice")
        return values


class ExistingNetwork(_Model):
    """Bring your own VPC: give its ID and the private subnets (with a NAT route) of ONE AZ to use."""

    mode: Literal["existing"]
    vpc_id: str = Field(pattern=r"^vpc-[0-9a-f]{8,17}$", description="ID of the existing VPC.")
    availability_zone: str = Field(description="The AZ of the compute subnets (single AZ for the placement group).")
    private_subnet_ids: list[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")]] = Field(
        min_length=1, description="Private subnets in `availability_zone`, each routed to a NAT gateway."
    )
    private_subnet_route_table_ids: list[Annotated[str, Field(pattern=r"^rtb-[0-9a-f]{8,17}$")]] | None = Field(
        default=None, description="Their route tables (optional; lets endpoints be attached)."
    )

    @field_validator("availability_zone")
    @classmethod
    def _az(cls, value: str) -> str:
        if not _AZ_NAME.match(value):
            raise ValueError("must be an Availability Zone name such as us-east-1a")
        return value

    @model_validator(mode="after")
    def _tables_match_subnets(self) -> ExistingNetwork:
        tables = self.private_subnet_route_table_ids
        if tables is not None and len(tables) != len(self.private_subnet_ids):
            raise ValueError(
                f"private_subnet_route_table_ids has {len(tables)} entries for {len(self.private_subnet_ids)} "
                "subnets: give one route table per subnet, in the same order, or omit it"
            )
        return self


class ComputeEnvironmentConfig(_Model):
    """A managed, On-Demand EC2 compute environment for MNP jobs (no Spot, no Fargate)."""

    name: Name
    instance_types: list[str] = Field(
        min_length=1,
        description="Instance types (c5n.18xlarge) or families (c5n). 'optimal' only if you really want it.",
    )
    max_vcpus: int | None = Field(
        default=None, ge=1, description="Default: the most vCPUs any job definition on its queues needs."
    )
    min_vcpus: int = Field(default=0, ge=0, description="Keep at 0 so nothing runs (or costs) while idle.")
    placement_group: bool = Field(default=True, description="Launch nodes into a cluster placement group.")
    existing_placement_group_name: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$",
        description="Use this existing placement group (it must be `cluster`; `mnp preflight` checks) "
        "instead of creating one. Needs placement_group: true.",
    )
    efa: bool = Field(default=False, description="Attach EFA interfaces (EFA-capable types only).")
    root_volume_size_gib: int = Field(default=100, ge=30, le=16384, description="Encrypted gp3 root volume.")
    additional_security_group_ids: list[Annotated[str, Field(pattern=r"^sg-[0-9a-f]{8,17}$")]] = Field(
        default_factory=list,
        max_length=MAX_SECURITY_GROUPS - 1,
        description=f"Up to {MAX_SECURITY_GROUPS - 1} more groups ({MAX_SECURITY_GROUPS} in all with the node group).",
    )

    @field_validator("instance_types")
    @classmethod
    def _instance_types(cls, values: list[str]) -> list[str]:
        cleaned = [value.strip().lower() for value in values]
        for value in cleaned:
            if not re.match(r"^[a-z][a-z0-9-]*(\.[a-z0-9-]+)?$", value):
                raise ValueError(f"{value!r} is not an instance type (c5n.18xlarge) or family (c5n)")
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("lists an instance type twice")
        if len(instance_types.architectures_of(cleaned)) > 1:
            raise ValueError("mixes x86_64 and arm64 instance types; use one compute environment per architecture")
        return cleaned

    @model_validator(mode="after")
    def _bounds(self) -> ComputeEnvironmentConfig:
        if self.max_vcpus is not None and self.min_vcpus > self.max_vcpus:
            raise ValueError(f"min_vcpus ({self.min_vcpus}) is larger than max_vcpus ({self.max_vcpus})")
        if self.existing_placement_group_name and not self.placement_group:
            raise ValueError("existing_placement_group_name needs placement_group: true")
        if self.efa and not self.placement_group:
            raise ValueError("efa needs placement_group: true (EFA traffic stays inside a cluster placement group)")
        if self.efa:
            self._check_efa_types()
        return self

    def _check_efa_types(self) -> None:
        interfaces: dict[str, int] = {}
        for value in self.instance_types:
            if not instance_types.is_instance_type_name(value):
                raise ValueError(
                    f"efa: instance_types lists {value!r}, a family or category, which includes sizes without "
                    "EFA; list explicit EFA-capable types such as c5n.18xlarge"
                )
            facts = instance_types.lookup(value)
            if facts is None:
                continue
            if not facts.efa_supported:
                raise ValueError(f"efa: {value} does not support EFA; remove it or choose an EFA-capable type")
            interfaces[value] = facts.max_efa_interfaces
        if len(set(interfaces.values())) > 1:
            counts = ", ".join(f"{name}: {count}" for name, count in interfaces.items())
            raise ValueError(
                f"efa: the instance types have different EFA interface counts ({counts}); one launch template "
                "cannot fit both: use one compute environment per instance type"
            )


class JobQueueConfig(_Model):
    """A job queue over 1-3 of the compute environments above."""

    name: Name
    compute_environments: list[Name] = Field(
        min_length=1, max_length=MAX_QUEUE_COMPUTE_ENVIRONMENTS, description="Names, in order."
    )
    priority: int = Field(default=1, ge=0, le=1000)
    runnable_timeout_minutes: int = Field(
        default=30,
        ge=MIN_STATE_TIME_LIMIT_SECONDS // 60,
        le=MAX_STATE_TIME_LIMIT_SECONDS // 60,
        description="Cancel a job stuck in RUNNABLE (unplaceable) after this long; Batch allows 10 min to 24 h.",
    )
    watchdog: bool = Field(default=True, description="Terminate the whole job when a child node fails.")


class NodeGroupConfig(_Model):
    """Settings for a range of nodes (`target_nodes`: 'n', 'n:m', ':m' or 'n:'); unset fields inherit."""

    target_nodes: Annotated[str, StringConstraints(strip_whitespace=False)] = Field(
        description="'n', 'n:m', ':m' or 'n:' exactly as Batch takes it (no blanks: AWS rejects them, so "
        "the config does too)."
    )
    image: str | None = None
    command: list[str] | None = None
    environment: dict[str, str] | None = None
    vcpus: int | None = Field(default=None, ge=MIN_VCPUS)
    memory_mib: int | None = Field(default=None, ge=MIN_MEMORY_MIB)

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
    image: str = Field(min_length=1, description="Container image, e.g. public.ecr.aws/... or an ECR URI.")
    instance_type: str = Field(description="ONE instance type for every node (MNP requirement).")
    num_nodes: int = Field(
        ge=1,
        description="Nodes per job (at least 1; above 1,000, the default limit per job, is warned about as "
        "MNP109); overridable at submit time.",
    )
    main_node: int = Field(default=0, ge=0, description="Index of the main node.")
    command: list[str] = Field(default_factory=list)
    environment: dict[str, str] = Field(default_factory=dict)
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
    timeout_minutes: int | None = Field(default=None, ge=1)
    efa: bool = Field(default=False, description="Map EFA devices into the containers.")
    log_retention_days: RetentionDays = Field(default=30, description="Retention of the job's log group.")

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
        facts = instance_types.lookup(self.instance_type)
        memory = self.memory_mib if self.memory_mib is not None else (facts.container_memory_mib if facts else None)
        problems = [str(verdict) for verdict in errors]
        if self.shared_memory_mib is not None and memory is not None and self.shared_memory_mib > memory:
            problems.append(
                f"shared_memory_mib: {self.shared_memory_mib} is more than the container's memory ({memory} MiB); "
                "/dev/shm counts against it (fix: lower it, or raise memory_mib)"
            )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def spec(self) -> JobSpec:
        """This job definition as the core of MNP semantics sees it."""
        return JobSpec(
            instance_type=self.instance_type,
            num_nodes=self.num_nodes,
            main_node=self.main_node,
            node_groups=tuple(
                NodeGroupSpec(target_nodes=group.target_nodes, vcpus=group.vcpus, memory_mib=group.memory_mib)
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


def _network_mode(value: Any) -> str:
    """``mode`` may be left out for a new VPC (the default)."""
    if isinstance(value, Mapping):
        return str(value.get("mode", "new"))
    return str(getattr(value, "mode", "new"))


Network = Annotated[
    Annotated[NewNetwork, Tag("new")] | Annotated[ExistingNetwork, Tag("existing")],
    Discriminator(_network_mode),
]


class MnpConfig(_Model):
    """One MNP environment: a network, compute environments, queues and job definitions."""

    stack_name: str = Field(
        default="MnpEnvironment", pattern=r"^[A-Za-z][A-Za-z0-9-]{0,127}$", description="CloudFormation stack name."
    )
    env: Environment = Field(default_factory=Environment)
    tags: dict[str, str] = Field(
        default_factory=dict,
        description="Tags applied to the stack's resources (not to the compute environment and placement group, "
        "whose tags cannot change without replacing them; instances get them through the launch template).",
    )

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: dict[str, str]) -> dict[str, str]:
        for key, value in tags.items():
            if not 1 <= len(key) <= 128 or key.lower().startswith("aws:"):
                raise ValueError(f"tag key {key!r}: 1-128 characters, not starting with 'aws:' (reserved by AWS)")
            if len(value) > 256:
                raise ValueError(f"tag {key!r}: values are at most 256 characters")
        return tags

    network: Network = Field(default_factory=NewNetwork)
    compute_environments: list[ComputeEnvironmentConfig] = Field(min_length=1)
    job_queues: list[JobQueueConfig] = Field(min_length=1)
    job_definitions: list[JobDefinitionConfig] = Field(
        default_factory=list,
        max_length=400,
        description="At most 400 per stack (one resource each, plus the environment's, against "
        "CloudFormation's 500-resource limit); split larger catalogs over several stacks.",
    )

    @model_validator(mode="after")
    def _network_fits_env(self) -> MnpConfig:
        network = self.network
        region = self.env.region
        zones = network.availability_zones if isinstance(network, NewNetwork) else [network.availability_zone]
        if region and zones:
            wrong = [zone for zone in zones or [] if zone[:-1] != region]
            if wrong:
                raise ValueError(f"network: Availability Zone(s) {', '.join(wrong)} are not in env.region {region}")
        if (
            isinstance(network, NewNetwork)
            and not network.availability_zones
            and region is None
            and network.max_azs > 2
        ):
            raise ValueError(
                f"network.max_azs {network.max_azs}: a stack with no env.region can only span 2 AZs (the CDK "
                "cannot list the Region's AZs without one); set env.region, or network.availability_zones"
            )
        return self

    @model_validator(mode="after")
    def _references(self) -> MnpConfig:
        problems: list[str] = []
        for kind, names in (
            ("compute_environments", [ce.name for ce in self.compute_environments]),
            ("job_queues", [queue.name for queue in self.job_queues]),
            ("job_definitions", [jd.name for jd in self.job_definitions]),
        ):
            duplicates = sorted({name for name in names if names.count(name) > 1})
            if duplicates:
                problems.append(f"{kind}: names must be unique, repeated: {', '.join(duplicates)}")
        environments = {ce.name: ce for ce in self.compute_environments}
        queues = {queue.name: queue for queue in self.job_queues}
        for index, queue in enumerate(self.job_queues):
            for name in queue.compute_environments:
                if name not in environments:
                    problems.append(
                        f"job_queues[{index}].compute_environments: unknown compute environment {name!r} "
                        f"(defined: {', '.join(environments)})"
                    )
            architectures = instance_types.architectures_of(
                [
                    item
                    for name in queue.compute_environments
                    if name in environments
                    for item in environments[name].instance_types
                ]
            )
            if len(architectures) > 1:
                problems.append(f"job_queues[{index}]: its compute environments mix x86_64 and arm64")
        for index, jd in enumerate(self.job_definitions):
            found = queues.get(jd.queue)
            if found is None:
                problems.append(
                    f"job_definitions[{index}].queue: unknown job queue {jd.queue!r} (defined: {', '.join(queues)})"
                )
                continue
            queue = found
            candidates = [environments[name] for name in queue.compute_environments if name in environments]
            launchable = [
                ce
                for ce in candidates
                if any(instance_types.covers(listed, jd.instance_type) for listed in ce.instance_types)
            ]
            if candidates and not launchable:
                problems.append(
                    f"job_definitions[{index}].instance_type: {jd.instance_type} is not in the instance_types of any "
                    f"compute environment of queue {queue.name!r}; add it (or its family) there"
                )
            for ce in launchable:
                if ce.max_vcpus is None and jd.required_vcpus is None:
                    problems.append(
                        f"compute_environments[{self.compute_environments.index(ce)}].max_vcpus: not set, and the "
                        f"toolkit does not know instance type {jd.instance_type} of job definition {jd.name!r}, so the "
                        f"vCPUs of its {jd.num_nodes} nodes cannot be derived; set max_vcpus"
                    )
                if ce.max_vcpus is not None and jd.required_vcpus is not None and ce.max_vcpus < jd.required_vcpus:
                    problems.append(
                        f"compute_environments[{self.compute_environments.index(ce)}].max_vcpus: {ce.max_vcpus} is "
                        f"less than job definition {jd.name!r} needs ({jd.num_nodes} nodes x "
                        f"{jd.vcpus_per_node} vCPUs = {jd.required_vcpus}); raise it or leave it unset"
                    )
            if jd.efa and not all(ce.efa for ce in launchable):
                problems.append(
                    f"job_definitions[{index}].efa: set efa: true on the compute environments of queue "
                    f"{queue.name!r} too"
                )
        queued = {name for queue in self.job_queues for name in queue.compute_environments}
        for index, ce in enumerate(self.compute_environments):
            if ce.name not in queued:
                problems.append(
                    f"compute_environments[{index}]: {ce.name!r} is in no job queue; add it to one or remove it"
                )
            elif ce.max_vcpus is None and not self.compute_environment_job_definitions(ce.name):
                problems.append(
                    f"compute_environments[{index}].max_vcpus: not set, and no job definition of its queues can run "
                    f"on it to size it from; set max_vcpus"
                )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def warnings(self) -> list[str]:
        """What the rule pack will warn about in the stack this config builds, with field paths."""
        return [
            f"job_definitions[{index}].{verdict}"
            for index, jd in enumerate(self.job_definitions)
            for verdict in jd.warnings
        ]

    def compute_environment_job_definitions(self, name: str) -> list[JobDefinitionConfig]:
        """The job definitions a compute environment must be able to run: those of its queues whose
        instance type it can launch (Batch places a job only where its type fits)."""
        environment = next((ce for ce in self.compute_environments if ce.name == name), None)
        if environment is None:
            return []
        queue_names = {queue.name for queue in self.job_queues if name in queue.compute_environments}
        return [
            jd
            for jd in self.job_definitions
            if jd.queue in queue_names
            and any(instance_types.covers(listed, jd.instance_type) for listed in environment.instance_types)
        ]
