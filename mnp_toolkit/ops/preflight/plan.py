"""What preflight checks (:class:`PreflightPlan`), independent of the config file's layout: derived from a
config by :func:`plan_from_config`, or built directly by tests."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mnp_toolkit.ops.capacity_reservations import ReservationNeed, reservation_needs

if TYPE_CHECKING:
    from mnp_toolkit.config.model import MnpConfig


@dataclass(frozen=True, kw_only=True)
class JobNeed:
    """One job definition's demand: ``num_nodes`` instances of ``instance_type`` at once."""

    name: str
    instance_type: str
    num_nodes: int


@dataclass(frozen=True, kw_only=True)
class PreflightPlan:
    """What to check, independent of the config file's layout (tests build plans directly)."""

    account: str | None = None
    region: str | None = None  # the config's env.region
    availability_zone: str | None = None  # None: chosen at deploy time
    instance_types: tuple[str, ...] = ()  # types (c5n.18xlarge) or families (c5n)
    efa_instance_types: tuple[str, ...] = ()
    jobs: tuple[JobNeed, ...] = ()
    vpc_id: str | None = None
    subnet_ids: tuple[str, ...] = ()
    placement_groups: tuple[str, ...] = ()  # existing groups the config refers to
    capacity_reservations: tuple[ReservationNeed, ...] = ()


def unique_in_order(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value for value in values if value))


def plan_from_config(config: MnpConfig) -> PreflightPlan:
    """Derive the checks from an :class:`mnp_toolkit.config.MnpConfig`."""
    from mnp_toolkit.config.model import ExistingNetwork
    from mnp_toolkit.core.instance_types import CATEGORY_ARCHITECTURES, is_instance_type_name

    network = config.network
    vpc_id: str | None = None
    subnet_ids: tuple[str, ...] = ()
    if isinstance(network, ExistingNetwork):
        availability_zone: str | None = network.availability_zone
        vpc_id = network.vpc_id
        subnet_ids = tuple(network.private_subnet_ids)
    else:
        zones = network.availability_zones or ()
        availability_zone = zones[0] if zones else None  # compute subnets use the first AZ

    job_definitions = config.job_definitions
    instance_types = [jd.instance_type for jd in job_definitions]
    efa_types = [jd.instance_type for jd in job_definitions if jd.efa]
    placement_groups: list[str] = []
    for ce in config.compute_environments:
        instance_types += ce.instance_types
        if ce.efa:
            efa_types += [t for t in ce.instance_types if is_instance_type_name(t)]
            efa_types += [jd.instance_type for jd in config.compute_environment_job_definitions(ce.name)]
        if ce.existing_placement_group_name:
            placement_groups.append(ce.existing_placement_group_name)
    return PreflightPlan(
        account=config.env.account,
        region=config.env.region,
        availability_zone=availability_zone,
        instance_types=unique_in_order(t for t in instance_types if t not in CATEGORY_ARCHITECTURES),
        efa_instance_types=unique_in_order(efa_types),
        jobs=tuple(
            JobNeed(name=jd.name, instance_type=jd.instance_type, num_nodes=jd.num_nodes) for jd in job_definitions
        ),
        vpc_id=vpc_id,
        subnet_ids=subnet_ids,
        placement_groups=unique_in_order(placement_groups),
        capacity_reservations=reservation_needs(config),
    )
