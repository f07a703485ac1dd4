"""Compute environments (:class:`ComputeEnvironmentConfig`: managed, On-Demand EC2 for MNP jobs) with their
custom AMI (:class:`AmiConfig`) and capacity reservation (:class:`CapacityReservationConfig`)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, field_validator, model_validator

from mnp_toolkit.config.model.base import Name, _Model, schema_rule
from mnp_toolkit.core import instance_types
from mnp_toolkit.core.limits import MAX_SECURITY_GROUPS


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
