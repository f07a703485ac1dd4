"""`mnp preflight`'s capacity-reservation check (mnp_toolkit/ops/capacity_reservations.py).

Backend: botocore's Stubber with the documented DescribeCapacityReservations and ListGroupResources shapes
(every field validated against botocore's service models). moto implements neither Capacity Reservations
nor reservation groups, so there is nothing to run them against locally.
"""

from __future__ import annotations

from typing import Any

import botocore.exceptions
import pytest

from mnp_toolkit.config.load import parse_config
from mnp_toolkit.errors import UserError
from mnp_toolkit.ops.capacity_reservations import (
    ReservationNeed,
    check_capacity_reservations,
    reservation_needs,
)
from tests.mnp_toolkit.ops.conftest import REGION

CR = "cr-0123456789abcdef0"
CR2 = "cr-0fedcba9876543210"
GROUP = f"arn:aws:resource-groups:{REGION}:123456789012:group/p4d-odcr"
ZONE = f"{REGION}a"


def _need(**overrides: Any) -> ReservationNeed:
    values: dict[str, Any] = {
        "compute_environment": "p4d",
        "reservation_id": CR,
        "resource_group_arn": None,
        "availability_zone": ZONE,
        "nodes_by_type": {"p4d.24xlarge": 16},
        "placement_group": "",
    }
    values.update(overrides)
    return ReservationNeed(**values)


def _reservation(reservation_id: str = CR, **overrides: Any) -> dict[str, Any]:
    """A CapacityReservation as DescribeCapacityReservations documents it (EC2 API reference)."""
    reservation: dict[str, Any] = {
        "CapacityReservationId": reservation_id,
        "OwnerId": "123456789012",
        "InstanceType": "p4d.24xlarge",
        "InstancePlatform": "Linux/UNIX",
        "AvailabilityZone": ZONE,
        "Tenancy": "default",
        "TotalInstanceCount": 16,
        "AvailableInstanceCount": 16,
        "State": "active",
        "InstanceMatchCriteria": "targeted",
    }
    reservation.update(overrides)
    return reservation


def _expect(stubber: Any, *reservations: dict[str, Any], ids: list[str] | None = None) -> None:
    stubber.add_response(
        "describe_capacity_reservations",
        {"CapacityReservations": list(reservations)},
        {"CapacityReservationIds": ids or [r["CapacityReservationId"] for r in reservations]},
    )


def test_a_matching_active_reservation_passes(stubbed: Any) -> None:
    ec2, stubber = stubbed("ec2")
    _expect(stubber, _reservation())
    (row,) = check_capacity_reservations(ec2, [_need()], region=REGION)
    stubber.assert_no_pending_responses()
    assert (row.check, row.outcome) == (f"capacity reservation {CR}", "pass")
    assert row.detail == f"active, p4d.24xlarge in {ZONE}, 16 of 16 available (largest job: 16 nodes)"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"AvailabilityZone": f"{REGION}b"}, f"in {REGION}b, but the compute subnets are in {ZONE}"),
        (
            {"InstanceType": "p5.48xlarge"},
            "for p5.48xlarge, which no job of compute environment p4d uses (p4d.24xlarge)",
        ),
        ({"AvailableInstanceCount": 12}, "12 of 16 instances available, but a job needs 16 p4d.24xlarge at once"),
        ({"State": "expired"}, "state expired (EC2 launches only into an active reservation)"),
        ({"State": "pending"}, "state pending"),
        ({"InstancePlatform": "Windows"}, "platform Windows: AWS Batch's ECS instances are Linux/UNIX"),
        ({"Tenancy": "dedicated"}, "tenancy dedicated"),
    ],
)
def test_what_keeps_ec2_from_using_the_reservation_fails(
    stubbed: Any, overrides: dict[str, Any], expected: str
) -> None:
    ec2, stubber = stubbed("ec2")
    _expect(stubber, _reservation(**overrides))
    (row,) = check_capacity_reservations(ec2, [_need()], region=REGION)
    assert row.outcome == "fail"
    assert expected in row.detail
    assert row.fix


def test_every_problem_is_named_at_once(stubbed: Any) -> None:
    ec2, stubber = stubbed("ec2")
    _expect(stubber, _reservation(State="cancelled", AvailabilityZone=f"{REGION}c", AvailableInstanceCount=0))
    (row,) = check_capacity_reservations(ec2, [_need()], region=REGION)
    assert row.outcome == "fail"
    assert row.detail.count("; ") == 2


@pytest.mark.parametrize(
    ("placement_group", "reservation_group", "outcome", "expected"),
    [
        ("", "shared-pg", "fail", "the stack creates its own group: set existing_placement_group_name: shared-pg"),
        ("other-pg", "shared-pg", "fail", "but the compute environment uses other-pg"),
        (None, "shared-pg", "fail", "but the compute environment uses no placement group"),
        ("shared-pg", "shared-pg", "pass", "active"),
        ("", None, "pass", "active"),  # not in a group: instances in the cluster group still use it
    ],
)
def test_a_reservation_in_a_cluster_placement_group_serves_that_group_only(
    stubbed: Any, placement_group: str | None, reservation_group: str | None, outcome: str, expected: str
) -> None:
    ec2, stubber = stubbed("ec2")
    extra = {"PlacementGroupArn": f"arn:aws:ec2:{REGION}:123456789012:placement-group/{reservation_group}"}
    _expect(stubber, _reservation(**(extra if reservation_group else {})))
    (row,) = check_capacity_reservations(ec2, [_need(placement_group=placement_group)], region=REGION)
    assert (row.outcome, expected in row.detail) == (outcome, True), row


def test_an_unpinned_availability_zone_is_named(stubbed: Any) -> None:
    ec2, stubber = stubbed("ec2")
    _expect(stubber, _reservation())
    (row,) = check_capacity_reservations(ec2, [_need(availability_zone=None)], region=REGION)
    assert row.outcome == "pass"
    assert f"pin network.availability_zones to {ZONE}" in row.detail


def test_an_unknown_reservation_fails(stubbed: Any) -> None:
    ec2, stubber = stubbed("ec2")
    stubber.add_client_error(
        "describe_capacity_reservations",
        "InvalidCapacityReservationId.NotFound",
        f"The reservation ID '{CR}' does not exist",
        400,
    )
    (row,) = check_capacity_reservations(ec2, [_need()], region=REGION)
    assert row.outcome == "fail" and f"not found in {REGION}" in row.detail


def test_no_permission_is_could_not_check_never_a_pass(stubbed: Any) -> None:
    ec2, stubber = stubbed("ec2")
    stubber.add_client_error("describe_capacity_reservations", "UnauthorizedOperation", "not authorized", 403)
    (row,) = check_capacity_reservations(ec2, [_need()], region=REGION)
    assert row.outcome == "could-not-check"
    assert "ec2:DescribeCapacityReservations" in row.detail
    assert row.fix == "grant the permission and rerun"


def test_no_credentials_stop_preflight_with_one_line() -> None:
    class NoCredentials:
        def describe_capacity_reservations(self, **_: Any) -> Any:
            raise botocore.exceptions.NoCredentialsError()

    with pytest.raises(UserError) as caught:
        check_capacity_reservations(NoCredentials(), [_need()], region=REGION)
    assert caught.value.exit_code == 2 and "\n" not in str(caught.value)


# ------------------------------------------------------------------------------------------ groups


def _expect_group(stubber: Any, *reservation_ids: str) -> None:
    stubber.add_response(
        "list_group_resources",
        {
            "Resources": [
                {
                    "Identifier": {
                        "ResourceArn": f"arn:aws:ec2:{REGION}:123456789012:capacity-reservation/{rid}",
                        "ResourceType": "AWS::EC2::CapacityReservation",
                    }
                }
                for rid in reservation_ids
            ]
        },
        {"Group": GROUP, "Filters": [{"Name": "resource-type", "Values": ["AWS::EC2::CapacityReservation"]}]},
    )


def _group_need(**overrides: Any) -> ReservationNeed:
    return _need(reservation_id=None, resource_group_arn=GROUP, **overrides)


@pytest.mark.parametrize(
    ("counts", "outcome", "expected"),
    [
        ((10, 6), "pass", "16 p4d.24xlarge available in its usable reservation(s) for a job of 16 nodes"),
        ((4, 4), "pass", "the other 8 launch On-Demand (the group falls back)"),
        ((0, 0), "fail", "none of its 2 reservation(s) can serve the jobs"),
    ],
)
def test_a_group_adds_up_its_usable_reservations(
    stubbed: Any, counts: tuple[int, int], outcome: str, expected: str
) -> None:
    ec2, ec2_stubber = stubbed("ec2")
    groups, group_stubber = stubbed("resource-groups")
    _expect_group(group_stubber, CR, CR2)
    _expect(
        ec2_stubber,
        _reservation(CR, AvailableInstanceCount=counts[0]),
        _reservation(CR2, AvailableInstanceCount=counts[1]),
    )
    (row,) = check_capacity_reservations(ec2, [_group_need()], resource_groups=groups, region=REGION)
    ec2_stubber.assert_no_pending_responses()
    group_stubber.assert_no_pending_responses()
    assert (row.check, row.outcome) == ("capacity reservation group p4d-odcr", outcome)
    assert expected in row.detail


def test_a_group_member_in_another_zone_does_not_count(stubbed: Any) -> None:
    ec2, ec2_stubber = stubbed("ec2")
    groups, group_stubber = stubbed("resource-groups")
    _expect_group(group_stubber, CR, CR2)
    _expect(ec2_stubber, _reservation(CR, AvailableInstanceCount=8), _reservation(CR2, AvailabilityZone=f"{REGION}b"))
    (row,) = check_capacity_reservations(ec2, [_group_need()], resource_groups=groups, region=REGION)
    assert row.outcome == "pass" and "8 p4d.24xlarge available" in row.detail and "the other 8" in row.detail


def test_an_empty_or_unknown_group_fails(stubbed: Any) -> None:
    ec2, _ = stubbed("ec2")
    groups, group_stubber = stubbed("resource-groups")
    _expect_group(group_stubber)
    group_stubber.add_client_error("list_group_resources", "NotFoundException", "group not found", 404)
    empty, unknown = (
        check_capacity_reservations(ec2, [_group_need()], resource_groups=groups, region=REGION)[0] for _ in range(2)
    )
    assert empty.outcome == "fail" and "holds no capacity reservation" in empty.detail
    assert unknown.outcome == "fail" and f"resource group {GROUP} not found" in unknown.detail


# ------------------------------------------------------------------------------------------ config


def test_needs_come_from_the_config() -> None:
    config = parse_config(
        {
            "env": {"region": REGION},
            "network": {"availability_zones": [ZONE, f"{REGION}b"]},
            "compute_environments": [
                {"name": "p4d", "instance_types": ["p4d.24xlarge"], "capacity_reservation": {"id": CR}},
                {
                    "name": "hpc",
                    "instance_types": ["hpc6a.48xlarge"],
                    "existing_placement_group_name": "shared-pg",
                    "capacity_reservation": {"resource_group_arn": GROUP},
                },
                {"name": "plain", "instance_types": ["c5n.18xlarge"]},
            ],
            "job_queues": [{"name": "q", "compute_environments": ["p4d", "hpc", "plain"]}],
            "job_definitions": [
                {
                    "name": "big",
                    "queue": "q",
                    "image": "img",
                    "instance_type": "p4d.24xlarge",
                    "num_nodes": 16,
                    "gpus": 8,
                },
                {"name": "small", "queue": "q", "image": "img", "instance_type": "p4d.24xlarge", "num_nodes": 2},
                {"name": "mpi", "queue": "q", "image": "img", "instance_type": "hpc6a.48xlarge", "num_nodes": 8},
                {"name": "cpu", "queue": "q", "image": "img", "instance_type": "c5n.18xlarge", "num_nodes": 4},
            ],
        }
    )
    p4d, hpc = reservation_needs(config)
    assert (p4d.compute_environment, p4d.reservation_id, p4d.resource_group_arn) == ("p4d", CR, None)
    assert p4d.nodes_by_type == {"p4d.24xlarge": 16} and p4d.availability_zone == ZONE
    assert p4d.placement_group == ""  # the stack creates the group
    assert (hpc.resource_group_arn, hpc.placement_group, dict(hpc.nodes_by_type)) == (
        GROUP,
        "shared-pg",
        {"hpc6a.48xlarge": 8},
    )


# ------------------------------------------------------------------------------- through mnp preflight


def test_preflight_plans_and_reports_the_reservation(stubbed: Any) -> None:
    """Stubber (documented shapes): the config's reservation is in the preflight plan, its row in the
    table, and a reservation without room fails preflight (exit 1)."""
    from mnp_toolkit.ops.preflight import Clients, exit_code, plan_from_config, render_table, run_checks

    config = parse_config(
        {
            "env": {"region": REGION},
            "network": {"availability_zones": [ZONE, f"{REGION}b"]},
            "compute_environments": [
                {"name": "p4d", "instance_types": ["p4d.24xlarge"], "capacity_reservation": {"id": CR}}
            ],
            "job_queues": [{"name": "q", "compute_environments": ["p4d"]}],
            "job_definitions": [
                {"name": "big", "queue": "q", "image": "img", "instance_type": "p4d.24xlarge", "num_nodes": 16}
            ],
        }
    )
    plan = plan_from_config(config)
    assert [need.reservation_id for need in plan.capacity_reservations] == [CR]
    only_reservations = type(plan)(capacity_reservations=plan.capacity_reservations)
    ec2, ec2_stubber = stubbed("ec2")
    sts, sts_stubber = stubbed("sts")
    sts_stubber.add_response(
        "get_caller_identity", {"Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/u", "UserId": "U"}
    )
    _expect(ec2_stubber, _reservation(AvailableInstanceCount=8))
    results = run_checks(Clients(ec2=ec2, service_quotas=None, sts=sts, region=REGION), only_reservations)
    (row,) = [r for r in results if r.check.startswith("capacity reservation")]
    assert str(row.result) == "fail" and "8 of 16 instances available, but a job needs 16" in row.detail
    assert exit_code(results) == 1
    assert f"capacity reservation {CR}" in render_table(results, region=REGION)
