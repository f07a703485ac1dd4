"""`mnp preflight`: the On-Demand Capacity Reservations a config's compute environments launch into.

A compute environment with ``capacity_reservation`` targets one reservation (``id``) or a Capacity
Reservation resource group (``resource_group_arn``) through its launch template. EC2 launches an
instance into a reservation only if it "has matching attributes (instance type, platform, Availability
Zone, and tenancy)", "has sufficient available capacity" and "is in the active state" (EC2 user guide,
"Launch instances into an existing Capacity Reservation"). A launch that targets one reservation without
room fails, so an MNP job would wait in RUNNABLE; a group falls back to On-Demand capacity when none of its
reservations fits ("Capacity Reservation groups"). A reservation made in a cluster placement group serves
that group only ("Capacity Reservations for cluster placement groups").

So, per reservation: it exists (DescribeCapacityReservations), is ``active``, is in the compute
Availability Zone, is for an instance type of the jobs that run there, on ``Linux/UNIX`` with ``default``
tenancy (what Batch's ECS instances are), has room for the largest such job (``AvailableInstanceCount`` >=
``num_nodes``), and its placement group, if any, is the one the compute environment uses. A group's
reservations are listed with Resource Groups ``ListGroupResources``. What AWS does not answer is
could-not-check, never a pass.

The module returns plain :class:`ReservationCheck` rows; ``mnp_toolkit.ops.preflight`` turns them into its
table rows (this module does not import preflight, which imports it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from mnp_toolkit.errors import UserError
from mnp_toolkit.ops.aws import EXIT_AWS_ERROR, describe_aws_error, error_code, is_access_denied, is_setup_error

if TYPE_CHECKING:
    from mnp_toolkit.config.model import MnpConfig

Outcome = Literal["pass", "fail", "could-not-check"]
#: The platform and tenancy of the instances AWS Batch launches (ECS-optimized Amazon Linux, shared tenancy).
BATCH_PLATFORM = "Linux/UNIX"
BATCH_TENANCY = "default"
#: The error codes DescribeCapacityReservations answers for an id that does not exist or is malformed.
_NOT_FOUND_CODES = {"InvalidCapacityReservationId.NotFound", "InvalidCapacityReservationId.Malformed"}


@dataclass(frozen=True, kw_only=True)
class ReservationCheck:
    """One row for the preflight table."""

    check: str
    outcome: Outcome
    detail: str
    fix: str = ""


@dataclass(frozen=True, kw_only=True)
class ReservationNeed:
    """What one compute environment asks of its reservation (derived from the config)."""

    compute_environment: str
    reservation_id: str | None
    resource_group_arn: str | None
    #: The compute Availability Zone, or None when it is chosen at deploy time (not pinned in the config).
    availability_zone: str | None
    #: Instance type -> the most nodes a job of that type runs on this compute environment.
    nodes_by_type: Mapping[str, int]
    #: The existing placement group it uses; "" when the stack creates one; None without a placement group.
    placement_group: str | None


def reservation_needs(config: MnpConfig) -> tuple[ReservationNeed, ...]:
    """The compute environments of ``config`` that target a capacity reservation, and what they need."""
    from mnp_toolkit.config.model import ExistingNetwork

    network = config.network
    if isinstance(network, ExistingNetwork):
        availability_zone: str | None = network.availability_zone
    else:
        availability_zone = network.availability_zones[0] if network.availability_zones else None
    needs = []
    for ce in config.compute_environments:
        reservation = ce.capacity_reservation
        if reservation is None:
            continue
        nodes: dict[str, int] = {}
        for jd in config.compute_environment_job_definitions(ce.name):
            nodes[jd.instance_type] = max(nodes.get(jd.instance_type, 0), jd.num_nodes)
        placement = (ce.existing_placement_group_name or "") if ce.placement_group else None
        needs.append(
            ReservationNeed(
                compute_environment=ce.name,
                reservation_id=reservation.id,
                resource_group_arn=reservation.resource_group_arn,
                availability_zone=availability_zone,
                nodes_by_type=nodes,
                placement_group=placement,
            )
        )
    return tuple(needs)


def check_capacity_reservations(
    ec2: Any, needs: Sequence[ReservationNeed], *, resource_groups: Any = None, region: str = ""
) -> list[ReservationCheck]:
    """Check every reservation the config targets; ``resource_groups`` is needed for reservation groups."""
    rows: list[ReservationCheck] = []
    for need in needs:
        if need.reservation_id is not None:
            rows += _check_reservation(ec2, need, region=region)
        else:
            rows += _check_group(ec2, resource_groups, need, region=region)
    return rows


# ------------------------------------------------------------------------------------- one reservation


def _check_reservation(ec2: Any, need: ReservationNeed, *, region: str) -> list[ReservationCheck]:
    reservation_id = need.reservation_id
    assert reservation_id is not None
    check = f"capacity reservation {reservation_id}"
    try:
        found = _describe(ec2, [reservation_id], region=region)
    except _NotFound:
        return [
            ReservationCheck(
                check=check,
                outcome="fail",
                detail=f"not found in {region or 'the Region'} (compute environment {need.compute_environment})",
                fix="check the id and the Region (a reservation of another account must be shared with this one)",
            )
        ]
    except _Unanswered as unanswered:
        return [unanswered.row(check)]
    if not found:
        return [ReservationCheck(check=check, outcome="fail", detail="DescribeCapacityReservations returned nothing")]
    problems, facts = _problems(found[0], need)
    if problems:
        return [ReservationCheck(check=check, outcome="fail", detail="; ".join(problems), fix=_FIX)]
    return [ReservationCheck(check=check, outcome="pass", detail=facts)]


_FIX = (
    "target a reservation in the compute Availability Zone, for the jobs' instance type on Linux/UNIX, active, "
    "with room for the largest job (or change the config to match it)"
)


def _problems(reservation: Mapping[str, Any], need: ReservationNeed) -> tuple[list[str], str]:
    """What keeps EC2 from launching the jobs into ``reservation``; and the facts, for a passing row."""
    problems: list[str] = []
    state = str(reservation.get("State", "?"))
    zone = str(reservation.get("AvailabilityZone", "?"))
    instance_type = str(reservation.get("InstanceType", "?"))
    platform = str(reservation.get("InstancePlatform", "?"))
    tenancy = str(reservation.get("Tenancy", BATCH_TENANCY))
    available = reservation.get("AvailableInstanceCount")
    total = reservation.get("TotalInstanceCount")
    if state != "active":
        problems.append(f"state {state} (EC2 launches only into an active reservation)")
    if need.availability_zone is not None and zone != need.availability_zone:
        problems.append(f"in {zone}, but the compute subnets are in {need.availability_zone}")
    wanted = need.nodes_by_type.get(instance_type)
    if wanted is None:
        types = ", ".join(sorted(need.nodes_by_type)) or "none"
        problems.append(
            f"for {instance_type}, which no job of compute environment {need.compute_environment} uses ({types})"
        )
    elif isinstance(available, int) and available < wanted:
        problems.append(f"{available} of {total} instances available, but a job needs {wanted} {instance_type} at once")
    if platform != BATCH_PLATFORM:
        problems.append(f"platform {platform}: AWS Batch's ECS instances are {BATCH_PLATFORM}")
    if tenancy != BATCH_TENANCY:
        problems.append(f"tenancy {tenancy}: AWS Batch launches {BATCH_TENANCY} tenancy instances")
    problems += _placement_problems(reservation, need)
    facts = f"active, {instance_type} in {zone}, {available} of {total} available"
    if wanted is not None:
        facts += f" (largest job: {wanted} nodes)"
    if need.availability_zone is None:
        facts += "; the compute AZ is chosen at deploy time: pin network.availability_zones to " + zone
    return problems, facts


def _placement_problems(reservation: Mapping[str, Any], need: ReservationNeed) -> list[str]:
    arn = reservation.get("PlacementGroupArn")
    if not arn:
        return []
    group = str(arn).rsplit("/", 1)[-1]
    if need.placement_group is None:
        return [f"made in cluster placement group {group}, but the compute environment uses no placement group"]
    if need.placement_group == "":
        return [
            f"made in cluster placement group {group}, which serves that group only, but the stack creates its own "
            f"group: set existing_placement_group_name: {group}"
        ]
    if need.placement_group != group:
        return [f"made in cluster placement group {group}, but the compute environment uses {need.placement_group}"]
    return []


# ------------------------------------------------------------------------------------- a reservation group


def _check_group(ec2: Any, resource_groups: Any, need: ReservationNeed, *, region: str) -> list[ReservationCheck]:
    group_arn = need.resource_group_arn
    assert group_arn is not None
    check = f"capacity reservation group {group_arn.rsplit('/', 1)[-1]}"
    if resource_groups is None:
        return [
            ReservationCheck(
                check=check,
                outcome="could-not-check",
                detail="no Resource Groups client to list the group's reservations",
                fix=f"list them with `aws resource-groups list-group-resources --group {group_arn}`",
            )
        ]
    try:
        ids = _group_reservation_ids(resource_groups, group_arn)
    except _NotFound:
        return [
            ReservationCheck(
                check=check,
                outcome="fail",
                detail=f"resource group {group_arn} not found",
                fix="check the ARN (and that the group is in this Region and account)",
            )
        ]
    except _Unanswered as unanswered:
        return [unanswered.row(check)]
    if not ids:
        return [
            ReservationCheck(
                check=check,
                outcome="fail",
                detail="the group holds no capacity reservation: every instance would launch On-Demand",
                fix="add the reservations to the group (aws resource-groups group-resources)",
            )
        ]
    try:
        reservations = _describe(ec2, ids, region=region)
    except _NotFound:
        reservations = []
    except _Unanswered as unanswered:
        return [unanswered.row(check)]
    usable = [r for r in reservations if not _problems(r, _as_any_count(need))[0]]
    best = max(
        (
            (sum(int(r.get("AvailableInstanceCount") or 0) for r in usable if r.get("InstanceType") == t), t, nodes)
            for t, nodes in need.nodes_by_type.items()
        ),
        default=(0, "", 0),
    )
    available, instance_type, nodes = best
    if not usable or available == 0:
        reasons = "; ".join(
            f"{r.get('CapacityReservationId')}: {'; '.join(_problems(r, _as_any_count(need))[0])}" for r in reservations
        )
        return [
            ReservationCheck(
                check=check,
                outcome="fail",
                detail=f"none of its {len(ids)} reservation(s) can serve the jobs"
                + (f" ({reasons})" if reasons else ""),
                fix=_FIX,
            )
        ]
    detail = f"{available} {instance_type} available in its usable reservation(s) for a job of {nodes} nodes"
    if available < nodes:
        detail += f": the other {nodes - available} launch On-Demand (the group falls back), if capacity allows"
    return [ReservationCheck(check=check, outcome="pass", detail=detail)]


def _as_any_count(need: ReservationNeed) -> ReservationNeed:
    """The need without the node count: a group's reservations add up, so each one only has to match."""
    return ReservationNeed(
        compute_environment=need.compute_environment,
        reservation_id=need.reservation_id,
        resource_group_arn=need.resource_group_arn,
        availability_zone=need.availability_zone,
        nodes_by_type={t: 0 for t in need.nodes_by_type},
        placement_group=need.placement_group,
    )


def _group_reservation_ids(resource_groups: Any, group_arn: str) -> list[str]:
    ids: list[str] = []
    token: str | None = None
    for _ in range(100):  # 100 pages of 50: far more reservations than a group holds
        request: dict[str, Any] = {
            "Group": group_arn,
            "Filters": [{"Name": "resource-type", "Values": ["AWS::EC2::CapacityReservation"]}],
        }
        if token:
            request["NextToken"] = token
        try:
            page = resource_groups.list_group_resources(**request)
        except Exception as error:
            if error_code(error) == "NotFoundException":
                raise _NotFound from None
            raise _Unanswered(
                error, action="call resource-groups:ListGroupResources", service="resource-groups"
            ) from None
        for item in page.get("Resources") or [{"Identifier": i} for i in page.get("ResourceIdentifiers") or []]:
            arn = str((item.get("Identifier") or {}).get("ResourceArn", ""))
            if ":capacity-reservation/" in arn:
                ids.append(arn.rsplit("/", 1)[-1])
        token = page.get("NextToken")
        if not token:
            break
    return ids


# ------------------------------------------------------------------------------------- EC2


class _NotFound(Exception):
    pass


class _Unanswered(Exception):
    """AWS did not answer (no permission, an API the endpoint lacks): could-not-check."""

    def __init__(self, error: BaseException, *, action: str, service: str) -> None:
        super().__init__(str(error))
        self.error, self.action, self.service = error, action, service

    def row(self, check: str) -> ReservationCheck:
        if is_setup_error(self.error):
            # No credentials, no Region, an endpoint that does not answer: no check can work; one line, exit 2.
            raise UserError(describe_aws_error(self.error, action=self.action, service=self.service), EXIT_AWS_ERROR)
        detail = describe_aws_error(self.error, action=self.action, service=self.service)
        if isinstance(self.error, NotImplementedError):
            detail = f"could not {self.action}: the endpoint does not implement it"
        fix = "grant the permission and rerun" if is_access_denied(self.error) else "check the reservation by hand"
        return ReservationCheck(check=check, outcome="could-not-check", detail=detail, fix=fix)


def _describe(ec2: Any, ids: Iterable[str], *, region: str) -> list[Mapping[str, Any]]:
    try:
        answer = ec2.describe_capacity_reservations(CapacityReservationIds=list(ids))
    except Exception as error:
        if error_code(error) in _NOT_FOUND_CODES:
            raise _NotFound from None
        raise _Unanswered(error, action="call ec2:DescribeCapacityReservations", service="ec2") from None
    reservations = answer.get("CapacityReservations")
    return [r for r in reservations if isinstance(r, Mapping)] if isinstance(reservations, list) else []


__all__ = (
    "ReservationCheck",
    "ReservationNeed",
    "check_capacity_reservations",
    "reservation_needs",
)
