"""The typed configuration of an MNP environment (one YAML file per environment).

Validated with pydantic: an unknown key, a wrong type or an impossible value is a :class:`ConfigError`
whose message names the file, the field path (``job_definitions[0].num_nodes``) and what is allowed.
``python -m mnp_toolkit.config schema`` prints the JSON Schema (shipped as ``config/schema.json`` for
editors) and ``python -m mnp_toolkit.config reference`` the Markdown reference in ``docs/config.md``.

Plain Python (no aws-cdk-lib), so ``mnp preflight`` can read the same file.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping, Sequence
from functools import cache
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from mnp_toolkit.core import instance_types, regions
from mnp_toolkit.core.job_spec import JobSpec, NodeGroupSpec, Verdict, check_job, node_settings, required_vcpus
from mnp_toolkit.core.limits import (
    MAX_NODE_RANGES,
    MAX_QUEUE_COMPUTE_ENVIRONMENTS,
    MAX_RETRY_ATTEMPTS,
    MAX_SECURITY_GROUPS,
    MAX_STATE_TIME_LIMIT_SECONDS,
    MAX_TIMEOUT_SECONDS,
    MIN_MEMORY_MIB,
    MIN_RETRY_ATTEMPTS,
    MIN_STATE_TIME_LIMIT_SECONDS,
    MIN_VCPUS,
    RESERVED_ENVIRONMENT_PREFIX,
    SHARE_IDENTIFIER_PATTERN,
)
from mnp_toolkit.core.target_nodes import TargetNodesError, parse_target_nodes

_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
#: Job definitions and the job roles the stack creates for them, per stack: one resource each, beside the
#: environment's own, within CloudFormation's 500 resources per stack.
MAX_JOB_RESOURCES = 400


Name = Annotated[
    str,
    Field(pattern=_NAME_PATTERN, description="Letters, digits, '-' and '_', starting with a letter (max 64)."),
]


_ACCOUNT = re.compile(r"^[0-9]{12}$")


def _did_you_mean(value: str, choices: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` when one of ``choices`` is close to ``value``; "" otherwise."""
    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _region(value: str) -> str:
    if not regions.is_region(value):
        close = regions.close_regions(value, limit=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise schema_rule(
            f"is not an AWS Region name{hint}: use one such as us-east-1 (the Regions in botocore's endpoint "
            "data, vendored in mnp_toolkit/core/data/regions.json)"
        )
    return value


RegionName = Annotated[
    str, AfterValidator(_region), WithJsonSchema({"type": "string", "enum": list(regions.all_regions())})
]


_AZ_NAME = re.compile(r"^[a-z]{2,4}(-[a-z]+)+-[0-9][a-z]$")


def _az_name(value: str) -> str:
    if not _AZ_NAME.fullmatch(value):
        raise schema_rule(f"{value!r} is not an Availability Zone name such as us-east-1a")
    return value


AzName = Annotated[str, AfterValidator(_az_name), WithJsonSchema({"type": "string", "pattern": _AZ_NAME.pattern})]

_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CIDR = re.compile(rf"^{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}/(1[6-9]|2[0-4])$")


def _cidr(value: str) -> str:
    if not _CIDR.fullmatch(value):
        raise schema_rule("must be an IPv4 CIDR with a prefix from /16 to /24, e.g. 10.0.0.0/16")
    return value


Cidr = Annotated[str, AfterValidator(_cidr), WithJsonSchema({"type": "string", "pattern": _CIDR.pattern})]


def _unique(values: list[Any] | None) -> list[Any] | None:
    if values is not None and len(set(values)) != len(values):
        repeated = sorted({str(value) for value in values if values.count(value) > 1})
        raise schema_rule(f"lists {', '.join(repeated)} twice; list each once")
    return values


#: A list whose entries must differ (JSON Schema ``uniqueItems``).
UNIQUE_ITEMS: dict[str, Any] = {"uniqueItems": True}


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


#: The error type of a check that ``config/schema.json`` states too (an enum, a pattern, a bound), so an
#: editor validating against the schema refuses the same value. Checks the schema cannot express (across
#: fields, or MNP semantics) raise plain ``ValueError``; tests/mnp_toolkit/config/test_config_schema.py
#: checks that every error of this type is an error for the schema too.
SCHEMA_RULE = "schema_rule"


def schema_rule(message: str) -> PydanticCustomError:
    """An error for a rule the JSON Schema also carries (see :data:`SCHEMA_RULE`)."""
    return PydanticCustomError(SCHEMA_RULE, message)


def _retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        raise schema_rule(f"CloudWatch Logs accepts only {', '.join(map(str, LOG_RETENTION_DAYS))} days")
    return value


RetentionDays = Annotated[
    int, AfterValidator(_retention), WithJsonSchema({"type": "integer", "enum": list(LOG_RETENTION_DAYS)})
]


class ConfigError(Exception):
    """A config file that cannot be used; ``str()`` is a readable, multi-line explanation."""


def _is_integer_field(annotation: Any) -> bool:
    """``int``, ``int | None`` or an ``Annotated`` int: a field JSON Schema types as ``integer``."""
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if annotation is int:
        return True
    others = [arg for arg in get_args(annotation) if arg is not type(None)]
    return len(others) == 1 and len(get_args(annotation)) == 2 and _is_integer_field(others[0])


@cache
def _integer_fields(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(name for name, field in model.model_fields.items() if _is_integer_field(field.annotation))


class _Model(BaseModel):
    """Strict types, as ``config/schema.json`` states them: ``num_nodes: true`` or ``"4"``, ``flow_logs:
    "off"`` and ``watchdog: "n"`` are errors, not 1 node, four nodes or False. Strings are taken as written
    (no stripping: a command argument keeps its blanks; a name with a stray blank is an error)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    @model_validator(mode="before")
    @classmethod
    def _json_integers(cls, data: Any) -> Any:
        # JSON Schema's "integer" is any number with a zero fractional part (4.0 is the integer 4), so an
        # editor accepts `num_nodes: 4.0`; strict pydantic would not. Only such floats become ints here;
        # 4.5, true and "4" stay errors for both.
        if not isinstance(data, Mapping):
            return data
        fields = _integer_fields(cls)
        return {
            key: int(value) if key in fields and type(value) is float and value.is_integer() else value
            for key, value in data.items()
        }


class Environment(_Model):
    """Where `cdk deploy` goes. Omit both to deploy to the CLI's current account/region."""

    account: Annotated[str, WithJsonSchema({"type": "string", "pattern": _ACCOUNT.pattern})] | None = Field(
        default=None, description="12-digit AWS account ID, quoted in YAML ('123456789012')."
    )
    region: RegionName | None = Field(default=None, description="AWS Region, e.g. us-east-1.")

    @field_validator("account", mode="before")
    @classmethod
    def _account(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            # YAML reads an unquoted account ID as a number (and drops its leading zeros).
            raise schema_rule("must be a 12-digit AWS account ID as a string: quote it in YAML ('123456789012')")
        if isinstance(value, str) and not _ACCOUNT.fullmatch(value):
            raise schema_rule("must be a 12-digit AWS account ID (quote it in YAML: '123456789012')")
        return value


class NewNetwork(_Model):
    """A new VPC: private compute subnets with egress through NAT, public subnets only for the NAT."""

    mode: Literal["new"] = "new"
    cidr: Cidr = Field(default="10.0.0.0/16", description="IPv4 CIDR of the VPC (/16 to /24).")
    max_azs: int = Field(default=2, ge=1, le=6, description="Availability Zones the VPC spans.")
    nat_gateways: Literal["one", "per_az"] = Field(
        default="one", description="'one' NAT gateway (cheapest) or one 'per_az' (no cross-AZ dependency)."
    )
    flow_logs: bool = Field(default=True, description="VPC flow logs to CloudWatch Logs.")
    flow_log_retention_days: RetentionDays = Field(default=30, description="Retention of the flow-log group.")
    restrict_endpoints: bool = Field(
        default=True,
        description="Endpoint policies that admit only this account's resources (plus endpoint_accounts', ECR's "
        "layer bucket and the Amazon Linux repositories). The S3 gateway endpoint carries all S3 traffic of the "
        "Region: a bucket of another account is refused unless its account is listed.",
    )
    endpoint_accounts: Annotated[list[Annotated[str, Field(pattern=r"^[0-9]{12}$")]], AfterValidator(_unique)] = Field(
        default_factory=list,
        json_schema_extra=UNIQUE_ITEMS,
        description="Further accounts whose buckets or ECR repositories the nodes use (e.g. a data set's).",
    )
    s3_gateway_endpoint: bool = Field(default=True, description="S3 gateway endpoint (free; image layers).")
    interface_endpoints: bool = Field(
        default=False,
        description="ECR api/dkr and CloudWatch Logs interface endpoints (hourly cost; cut NAT data charges).",
    )
    availability_zones: Annotated[list[AzName] | None, AfterValidator(_unique)] = Field(
        default=None,
        min_length=1,
        max_length=6,
        json_schema_extra=UNIQUE_ITEMS,
        description="AZ names for the VPC (e.g. [us-east-1a, us-east-1b]); the compute subnets use the FIRST "
        "(a cluster placement group is single-AZ). Default: the Region's first `max_azs` AZs, resolved at deploy "
        "time, so synth needs no account. Set this when `env` names an account, to avoid a context lookup.",
    )

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


class ExistingNetwork(_Model):
    """Bring your own VPC: give its ID and the private subnets (with a NAT route) of ONE AZ to use."""

    mode: Literal["existing"]
    vpc_id: str = Field(pattern=r"^vpc-[0-9a-f]{8,17}$", description="ID of the existing VPC.")
    availability_zone: AzName = Field(description="The AZ of the compute subnets (single AZ for the placement group).")
    private_subnet_ids: list[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")]] = Field(
        min_length=1, description="Private subnets in `availability_zone`, each routed to a NAT gateway."
    )
    private_subnet_route_table_ids: list[Annotated[str, Field(pattern=r"^rtb-[0-9a-f]{8,17}$")]] | None = Field(
        default=None, description="Their route tables (optional; lets endpoints be attached)."
    )

    @model_validator(mode="after")
    def _tables_match_subnets(self) -> ExistingNetwork:
        tables = self.private_subnet_route_table_ids
        if tables is not None and len(tables) != len(self.private_subnet_ids):
            raise ValueError(
                f"private_subnet_route_table_ids has {len(tables)} entries for {len(self.private_subnet_ids)} "
                "subnets: give one route table per subnet, in the same order, or omit it"
            )
        return self


def _exactly_one(model: BaseModel, *names: str) -> None:
    given = [name for name in names if getattr(model, name) is not None]
    if len(given) != 1:
        problem = "both" if len(given) > 1 else "neither"
        raise ValueError(f"give exactly one of {' or '.join(names)} ({problem} given)")


class AmiConfig(_Model):
    """A custom AMI for the instances (for example one with GPU or EFA drivers baked in): an AMI ID, or
    the name of an SSM parameter that holds one (resolved at deploy time). It must be an ECS-optimized
    AMI, or one built from it (Batch runs jobs through the ECS agent)."""

    image_id: str | None = Field(
        default=None,
        pattern=r"^ami-[0-9a-f]{8}([0-9a-f]{9})?$",
        description="An AMI ID. AMI IDs are per Region, so this needs env.region.",
    )
    ssm_parameter: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_./-]{1,1011}$",
        description="An SSM parameter whose value is an AMI ID, e.g. "
        "/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id (works in any Region).",
    )
    image_type: Literal["ECS_AL2023", "ECS_AL2023_NVIDIA", "ECS_AL2", "ECS_AL2_NVIDIA"] | None = Field(
        default=None,
        description="What the AMI is built from (Batch Ec2Configuration imageType). Default: ECS_AL2023, "
        "or ECS_AL2023_NVIDIA when the instance types have GPUs.",
    )

    @model_validator(mode="after")
    def _one_source(self) -> AmiConfig:
        _exactly_one(self, "image_id", "ssm_parameter")
        return self


class CapacityReservationConfig(_Model):
    """An On-Demand Capacity Reservation, or a Capacity Reservation group, that the instances launch into
    (launch template ``CapacityReservationSpecification``). EC2 uses a reservation only for its instance
    type, Availability Zone and platform while it is active; `mnp preflight` checks those, and that it has
    room for the largest job. A group falls back to On-Demand capacity when none of its reservations fit."""

    id: str | None = Field(default=None, pattern=r"^cr-[0-9a-f]{17}$", description="A reservation ID (cr-...).")
    resource_group_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws[a-z-]*:resource-groups:[a-z0-9-]+:[0-9]{12}:group/[A-Za-z0-9_.-]{1,300}$",
        description="The ARN of a Capacity Reservation resource group.",
    )

    @model_validator(mode="after")
    def _one_target(self) -> CapacityReservationConfig:
        _exactly_one(self, "id", "resource_group_arn")
        return self


def _security_groups(values: list[str]) -> list[str]:
    if len(values) > MAX_SECURITY_GROUPS - 1:
        raise schema_rule(
            f"lists {len(values)} groups: at most {MAX_SECURITY_GROUPS - 1} additional security groups, because "
            f"the compute environment's own node-to-node group makes {MAX_SECURITY_GROUPS}, the most AWS Batch "
            "allows on an MNP compute environment (Batch user guide, mnp-ce)"
        )
    return values


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
    imds_hop_limit: int = Field(
        default=1,
        ge=1,
        le=64,
        description="IMDSv2 response hop limit: 1 keeps bridge-mode containers from instance metadata (the ECS agent, "
        "on the host, still reaches it; MNP containers are blocked either way). See docs/security.md.",
    )
    restricted_egress: bool = Field(
        default=False,
        description="Allow only HTTPS (443) out, plus all traffic within the node group, instead of all outbound "
        "traffic (DNS, NTP and IMDS are not filtered by security groups).",
    )
    efa_installer_sha256: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="With efa and the driver installed at boot: also require this SHA256 of the pinned installer "
        "(its GPG signature is always checked).",
    )
    additional_security_group_ids: Annotated[
        list[Annotated[str, Field(pattern=r"^sg-[0-9a-f]{8,17}$")]], AfterValidator(_security_groups)
    ] = Field(
        default_factory=list,
        json_schema_extra={"maxItems": MAX_SECURITY_GROUPS - 1},
        description=f"Up to {MAX_SECURITY_GROUPS - 1} more groups ({MAX_SECURITY_GROUPS} in all with the node group).",
    )
    ami: AmiConfig | None = Field(default=None, description="A custom AMI (see below); default: Batch's ECS AMI.")
    install_efa_driver: bool = Field(
        default=True,
        description="With efa: install the EFA driver at boot (the ECS-optimized AMI has none). Set false "
        "with an `ami` that has the driver baked in (faster boot, no download through the NAT).",
    )
    capacity_reservation: CapacityReservationConfig | None = Field(
        default=None, description="Launch into an On-Demand Capacity Reservation or a reservation group (below)."
    )

    @field_validator("instance_types")
    @classmethod
    def _instance_types(cls, values: list[str]) -> list[str]:
        cleaned = [value.strip().lower() for value in values]
        for value in cleaned:
            if not re.fullmatch(r"[a-z][a-z0-9-]*(\.[a-z0-9-]+)?", value):
                raise ValueError(f"{value!r} is not an instance type (c5n.18xlarge) or family (c5n)")
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("lists an instance type twice")
        if len(instance_types.architectures_of(cleaned)) > 1:
            raise ValueError("mixes x86_64 and arm64 instance types; use one compute environment per architecture")
        return cleaned

    @model_validator(mode="after")
    def _bounds(self) -> ComputeEnvironmentConfig:
        problems: list[str] = []
        if self.max_vcpus is not None and self.min_vcpus > self.max_vcpus:
            problems.append(f"min_vcpus ({self.min_vcpus}) is larger than max_vcpus ({self.max_vcpus})")
        if self.existing_placement_group_name and not self.placement_group:
            problems.append("existing_placement_group_name needs placement_group: true")
        if self.efa and not self.placement_group:
            problems.append("efa needs placement_group: true (EFA traffic stays inside a cluster placement group)")
        if not self.install_efa_driver and not self.efa:
            problems.append(
                "install_efa_driver: false has no effect without efa: true (the driver is installed only for EFA); "
                "remove it, or set efa: true"
            )
        if self.efa and not self.install_efa_driver and self.ami is None:
            problems.append(
                "install_efa_driver: false needs an `ami` with the EFA driver: Batch's default ECS-optimized AMI "
                "has none, and AWS Batch requires the driver to be loaded for EFA (set ami, or remove "
                "install_efa_driver)"
            )
        if self.efa:
            try:
                self._check_efa_types()
            except ValueError as error:
                problems.append(str(error))
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def ami_image_type(self) -> str | None:
        """The Batch ``imageType`` of the custom AMI (None without one): as given, else by GPUs."""
        if self.ami is None:
            return None
        if self.ami.image_type is not None:
            return self.ami.image_type
        has_gpus = any((facts := instance_types.lookup(t)) is not None and facts.gpus for t in self.instance_types)
        return "ECS_AL2023_NVIDIA" if has_gpus else "ECS_AL2023"

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


class ShareConfig(_Model):
    """The weight of one share identifier (or of every identifier with a prefix: ``team-*``)."""

    share_identifier: str = Field(
        pattern=SHARE_IDENTIFIER_PATTERN,
        description="Up to 255 letters, digits, '-' and '_', optionally ending in '*' (a prefix).",
    )
    weight_factor: float = Field(
        default=1.0,
        ge=0.0001,
        le=999.9999,
        description="Lower gets more: 0.125 gets 8 times the compute of 1 (0.0001 to 999.9999).",
    )


class FairShareConfig(_Model):
    """A fair-share scheduling policy for the queue (``AWS::Batch::SchedulingPolicy``). Every job submitted
    to such a queue needs a share identifier (``mnp submit --share-identifier``). A queue created without a
    policy cannot get one, and one created with a policy cannot lose it (API ``CreateJobQueue``): adding or
    removing `fair_share` on a deployed queue needs a new queue name."""

    share_decay_seconds: int = Field(
        default=0, ge=0, le=604_800, description="Time over which past use counts (0 to 604800 = one week)."
    )
    compute_reservation: int = Field(
        default=0, ge=0, le=99, description="Percent of vCPUs held back for share identifiers not yet active."
    )
    shares: list[ShareConfig] = Field(
        default_factory=list,
        max_length=500,
        description="Weights per identifier; identifiers not listed weigh 1.0.",
    )

    @field_validator("shares")
    @classmethod
    def _no_overlap(cls, shares: list[ShareConfig]) -> list[ShareConfig]:
        # "The list of share identifiers in a fair share policy can't overlap" (API ShareAttributes): a
        # prefix entry (`team*`) may not cover another entry.
        names = [share.share_identifier for share in shares]
        for index, name in enumerate(names):
            for other in names[index + 1 :]:
                if (
                    name == other
                    or (name.endswith("*") and other.startswith(name[:-1]))
                    or (other.endswith("*") and name.startswith(other[:-1]))
                ):
                    raise ValueError(
                        f"share identifiers {name!r} and {other!r} overlap, which AWS Batch refuses "
                        "(API ShareAttributes); make them distinct"
                    )
        return shares


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
    capacity_timeout_minutes: int | None = Field(
        default=None,
        ge=MIN_STATE_TIME_LIMIT_SECONDS // 60,
        le=MAX_STATE_TIME_LIMIT_SECONDS // 60,
        description="Also cancel a job that has waited this long in RUNNABLE for instance capacity "
        "(CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY). Default: wait, since large cluster-placement jobs often "
        "must; 10 min to 24 h.",
    )
    fair_share: FairShareConfig | None = Field(
        default=None, description="A fair-share scheduling policy (below); default: first in, first out."
    )
    watchdog: bool = Field(default=True, description="Terminate the whole job when a child node fails.")
    watchdog_reserved_concurrency: int | None = Field(
        default=2,
        ge=1,
        description="Concurrent executions reserved for (and capping) the watchdog function; null for none "
        "(accounts whose Lambda concurrency limit is below 100 + this cannot reserve any).",
    )
    watchdog_dead_letter_queue: bool = Field(
        default=True, description="An encrypted SQS queue for events the watchdog could not handle (kept 14 days)."
    )
    watchdog_log_retention_days: RetentionDays = Field(default=90, description="Retention of the watchdog's logs.")


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
KMS_KEY_ARN_PATTERN = r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]{1,128}$"
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


def _network_mode(value: Any) -> str:
    """``mode`` may be left out for a new VPC (the default)."""
    if isinstance(value, Mapping):
        return str(value.get("mode", "new"))
    return str(getattr(value, "mode", "new"))


Network = Annotated[
    Annotated[NewNetwork, Tag("new")] | Annotated[ExistingNetwork, Tag("existing")],
    Discriminator(
        _network_mode,
        custom_error_type=SCHEMA_RULE,
        custom_error_message="mode must be 'new' (the default: the stack creates the VPC) or 'existing' (a VPC "
        "you have: give vpc_id, availability_zone and private_subnet_ids)",
    ),
]


def _tag_rules(tags: dict[str, str]) -> dict[str, str]:
    for key, value in tags.items():
        if not 1 <= len(key) <= 128 or key.lower().startswith("aws:"):
            raise schema_rule(f"tag key {key!r}: 1-128 characters, not starting with 'aws:' (reserved by AWS)")
        if len(value) > 256:
            raise schema_rule(f"tag {key!r}: values are at most 256 characters")
    return tags


Tags = Annotated[
    dict[str, str],
    AfterValidator(_tag_rules),
    WithJsonSchema(
        {
            "type": "object",
            "additionalProperties": {"type": "string", "maxLength": 256},
            "propertyNames": {"minLength": 1, "maxLength": 128, "not": {"pattern": "^[aA][wW][sS]:"}},
        }
    ),
]


class SecurityConfig(_Model):
    """Stack-wide security settings (docs/security.md)."""

    permissions_boundary: str | None = Field(
        default=None,
        pattern=r"^(arn:aws[a-z-]*:iam::[0-9]{12}:policy/[A-Za-z0-9+=,.@_/-]{1,512}|[A-Za-z0-9+=,.@_-]{1,128})$",
        description="A managed policy (name, or ARN) set as the permissions boundary of every IAM role the stack "
        "creates, the CDK's own helper roles included. Set it here: `-c` on the cdk command line passes strings only.",
    )
    kms_key: str | None = Field(
        default=None,
        pattern=rf"^(create|{KMS_KEY_ARN_PATTERN[1:-1]})$",
        description="'create' a customer managed key (rotated, retained on delete), or the ARN of yours, for every "
        "log group and the instances' root volumes; default: CloudWatch Logs' and EBS's own keys. Its key policy "
        "must admit CloudWatch Logs and the EC2 Auto Scaling service-linked role (docs/security.md).",
    )


class MnpConfig(_Model):
    """One MNP environment: a network, compute environments, queues and job definitions."""

    stack_name: str = Field(
        default="MnpEnvironment", pattern=r"^[A-Za-z][A-Za-z0-9-]{0,127}$", description="CloudFormation stack name."
    )
    env: Environment = Field(default_factory=Environment)
    tags: Tags = Field(
        default_factory=dict,
        description="Tags applied to the stack's resources (not to the compute environment and placement group, "
        "whose tags cannot change without replacing them; instances get them through the launch template).",
    )

    security: SecurityConfig = Field(default_factory=SecurityConfig)
    network: Network = Field(default_factory=NewNetwork)
    compute_environments: list[ComputeEnvironmentConfig] = Field(min_length=1)
    job_queues: list[JobQueueConfig] = Field(min_length=1)
    job_definitions: list[JobDefinitionConfig] = Field(
        default_factory=list,
        max_length=MAX_JOB_RESOURCES,
        description=f"At most {MAX_JOB_RESOURCES} per stack, with their job roles (one resource each, plus the "
        "environment's, against CloudFormation's 500-resource limit); split larger catalogs over several stacks.",
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
            if ce.ami is not None and ce.ami.image_id is not None and self.env.region is None:
                problems.append(
                    f"compute_environments[{index}].ami.image_id: an AMI ID exists in one Region only, and the stack "
                    "has no env.region; set env.region, or use ami.ssm_parameter (resolved in the deploy Region)"
                )
        roles = self.job_role_costs()
        resources = len(self.job_definitions) + sum(roles.values())
        if resources > MAX_JOB_RESOURCES:
            problems.append(
                f"job_definitions: {len(self.job_definitions)} job definitions and {len(roles)} job role(s) make "
                f"{resources} resources, more than the {MAX_JOB_RESOURCES} one stack can hold beside the environment "
                "(CloudFormation allows 500); share job_role settings between job definitions or split the stack"
            )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def job_role_costs(self) -> dict[tuple[Any, ...], int]:
        """The job roles the stack creates (job definitions with equal settings share one), each with the
        resources it takes: the role (its S3 access inline), plus the policy the CDK adds for ECS Exec.
        Roles given by ARN are imported and cost nothing."""
        costs: dict[tuple[Any, ...], int] = {}
        for jd in self.job_definitions:
            key = jd.job_role_key
            if key is not None:
                costs[key] = 1 + (1 if jd.ecs_exec else 0)
        return costs

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


#: Keys that other AWS Batch compute environments take and that ask for what MNP jobs cannot run on.
_ON_DEMAND_EC2_ONLY_KEYS = frozenset(
    {"type", "compute_type", "capacity_type", "spot", "fargate", "bid_percentage", "spot_iam_fleet_role"}
)
_ON_DEMAND_EC2_ONLY = (
    "unknown key: an MNP compute environment is always managed, On-Demand EC2 (the toolkit sets it), because "
    "AWS Batch does not run multi-node parallel jobs on Spot Instances (Batch user guide, 'Compute environment "
    "considerations for MNP') or on Fargate ('Create a multi-node parallel job definition'); remove the key"
)


def _members(annotation: Any) -> list[Any]:
    """The types a field may hold: the members of a union (without None), each without ``Annotated``."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, UnionType):
        return [member for arg in get_args(annotation) if arg is not type(None) for member in _members(arg)]
    return [annotation]


def _model_of(annotation: Any, part: str | int) -> Any:
    """The annotation one step into ``annotation`` along a location part (a list index, a field, a tag)."""
    for member in _members(annotation):
        if isinstance(part, int):
            if get_origin(member) is list:
                return get_args(member)[0]
        elif isinstance(member, type) and issubclass(member, BaseModel) and part in member.model_fields:
            return member.model_fields[part].annotation
    return {"new": NewNetwork, "existing": ExistingNetwork}.get(part) if isinstance(part, str) else None


def model_at(loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The section model at a location of the config (``("job_definitions", 0, "job_role")`` ->
    :class:`JobRoleConfig`); for the network, the new-network model unless the location says otherwise."""
    current: Any = MnpConfig
    for part in loc:
        current = _model_of(current, part)
        if current is None:
            return None
    return next((m for m in _members(current) if isinstance(m, type) and issubclass(m, BaseModel)), None)


def unknown_key_message(loc: Sequence[str | int]) -> str:
    """The explanation of an unknown key at ``loc``: a "did you mean" when an allowed key is close, and
    for Spot/Fargate settings on a compute environment, why MNP needs On-Demand EC2."""
    *parent, key = loc
    model = model_at(parent)
    if model is ComputeEnvironmentConfig and str(key).lower() in _ON_DEMAND_EC2_ONLY_KEYS:
        return _ON_DEMAND_EC2_ONLY
    allowed = sorted(model.model_fields) if model is not None else []
    hint = _did_you_mean(str(key), allowed).strip()
    return f"unknown key{' ' + hint if hint else ''} (see docs/config.md for the allowed keys)"
