"""Where the environment is deployed: the account and Region (:class:`Environment`) and the VPC, new or
existing (:class:`NewNetwork`, :class:`ExistingNetwork`, told apart by ``mode`` in :data:`Network`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Discriminator, Field, Tag, WithJsonSchema, field_validator, model_validator

from mnp_toolkit.config.model.base import SCHEMA_RULE, UNIQUE_ITEMS, RetentionDays, _Model, _unique, schema_rule
from mnp_toolkit.core import regions

_ACCOUNT = re.compile(r"^[0-9]{12}$")


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
