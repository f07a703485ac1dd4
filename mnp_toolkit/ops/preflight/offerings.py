"""Instance types in the account: the Availability Zone exists and offers each type or family (EC2
DescribeInstanceTypeOfferings), and each type used with EFA reports ``NetworkInfo.EfaSupported``
(DescribeInstanceTypes, whose answers :attr:`Clients.type_info` keeps for the vCPU quota check)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from mnp_toolkit.ops.aws import error_code
from mnp_toolkit.ops.preflight.clients import Clients, unknown_result
from mnp_toolkit.ops.preflight.plan import unique_in_order
from mnp_toolkit.ops.preflight.results import CheckResult, Result


def _offered_types(clients: Clients, *, availability_zone: str) -> set[str]:
    """Every instance type offered in the AZ (filtered here, so families work on any endpoint)."""
    offered: set[str] = set()
    paginator = clients.ec2.get_paginator("describe_instance_type_offerings")
    for page in paginator.paginate(
        LocationType="availability-zone", Filters=[{"Name": "location", "Values": [availability_zone]}]
    ):
        offered.update(str(item["InstanceType"]) for item in page.get("InstanceTypeOfferings", []))
    return offered


def check_offerings(
    clients: Clients, *, availability_zone: str | None, instance_types: Sequence[str]
) -> list[CheckResult]:
    """The AZ exists and offers each instance type (a family: at least one type of it)."""
    if not instance_types and availability_zone is None:
        return []
    try:
        zones = {
            str(zone["ZoneName"]): str(zone.get("State", "available"))
            for zone in clients.ec2.describe_availability_zones()["AvailabilityZones"]
        }
    except Exception as error:
        return [unknown_result("availability zone", error, action="list Availability Zones", service="ec2")]
    results: list[CheckResult] = []
    if availability_zone is None:
        return _offerings_unpinned(clients, zones=sorted(zones), instance_types=instance_types)
    if availability_zone not in zones:
        return [
            CheckResult.failed(
                check=f"availability zone {availability_zone}",
                detail=f"{availability_zone} is not an Availability Zone of {clients.region} "
                f"(it has {', '.join(sorted(zones)) or 'none'})",
                fix="set the AZ to one of those, or --region to the AZ's Region",
            )
        ]
    results.append(
        CheckResult(
            check=f"availability zone {availability_zone}",
            result=Result.PASS if zones[availability_zone] == "available" else Result.FAIL,
            detail=f"state {zones[availability_zone]}",
            fix="" if zones[availability_zone] == "available" else "choose an available AZ",
        )
    )
    try:
        offered = _offered_types(clients, availability_zone=availability_zone)
    except Exception as error:
        return [
            *results,
            unknown_result(
                "instance type offerings", error, action="call ec2:DescribeInstanceTypeOfferings", service="ec2"
            ),
        ]
    for instance_type in instance_types:
        results.append(_offering_result(instance_type, availability_zone, offered))
    return results


def _matches(instance_type: str, offered: Iterable[str]) -> list[str]:
    if "." in instance_type:
        return [t for t in offered if t == instance_type]
    return sorted(t for t in offered if t.split(".", 1)[0] == instance_type)


def _offering_result(instance_type: str, availability_zone: str, offered: set[str]) -> CheckResult:
    check = f"offered: {instance_type} in {availability_zone}"
    if _matches(instance_type, offered):
        return CheckResult.passed(check=check, detail="DescribeInstanceTypeOfferings lists it")
    what = "instance type" if "." in instance_type else "no type of the family"
    return CheckResult.failed(
        check=check,
        detail=f"{what} {instance_type} is not offered in {availability_zone}",
        fix="choose another AZ (`aws ec2 describe-instance-type-offerings --location-type availability-zone "
        f"--filters Name=instance-type,Values={instance_type}`) or another instance type",
    )


def _offerings_unpinned(clients: Clients, *, zones: Sequence[str], instance_types: Sequence[str]) -> list[CheckResult]:
    """No AZ in the config (a new VPC picks it at deploy): report where each type is offered."""
    try:
        per_zone = {zone: _offered_types(clients, availability_zone=zone) for zone in zones}
    except Exception as error:
        return [
            unknown_result(
                "instance type offerings", error, action="call ec2:DescribeInstanceTypeOfferings", service="ec2"
            )
        ]
    results = []
    for instance_type in instance_types:
        where = [zone for zone in zones if _matches(instance_type, per_zone[zone])]
        check = f"offered: {instance_type}"
        if where and len(where) == len(zones):
            results.append(CheckResult.passed(check=check, detail=f"offered in every AZ of {clients.region}"))
        elif where:
            results.append(
                CheckResult.could_not_check(
                    check=check,
                    detail=f"offered only in {', '.join(where)}; the config does not pin the AZ (chosen at deploy)",
                    fix=f"pin network.availability_zones to start with one of {', '.join(where)}",
                )
            )
        else:
            results.append(
                CheckResult.failed(
                    check=check,
                    detail=f"{instance_type} is not offered in any AZ of {clients.region}",
                    fix="choose another instance type or Region",
                )
            )
    return results


def describe_types(clients: Clients, instance_types: Iterable[str]) -> None:
    """Fill ``clients.type_info`` from DescribeInstanceTypes (None where the account does not know it)."""
    wanted = [t for t in unique_in_order(instance_types) if "." in t and t not in clients.type_info]
    if not wanted:
        return
    try:
        for start in range(0, len(wanted), 100):
            response = clients.ec2.describe_instance_types(InstanceTypes=wanted[start : start + 100])
            for info in response.get("InstanceTypes", []):
                clients.type_info[str(info["InstanceType"])] = info
    except Exception as error:
        if error_code(error) != "InvalidInstanceType":
            raise
        # One unknown name fails the whole call: ask one by one to keep the answers for the others.
        for instance_type in wanted:
            if instance_type in clients.type_info:
                continue
            try:
                response = clients.ec2.describe_instance_types(InstanceTypes=[instance_type])
                infos = response.get("InstanceTypes", [])
                clients.type_info[instance_type] = infos[0] if infos else None
            except Exception as single_error:
                if error_code(single_error) != "InvalidInstanceType":
                    raise
                clients.type_info[instance_type] = None
    for instance_type in wanted:
        clients.type_info.setdefault(instance_type, None)


def check_efa(clients: Clients, *, instance_types: Sequence[str]) -> list[CheckResult]:
    """Each instance type used with EFA reports ``NetworkInfo.EfaSupported``."""
    if not instance_types:
        return []
    try:
        describe_types(clients, instance_types)
    except Exception as error:
        return [unknown_result("EFA support", error, action="call ec2:DescribeInstanceTypes", service="ec2")]
    results = []
    for instance_type in instance_types:
        check = f"EFA: {instance_type}"
        info = clients.type_info.get(instance_type)
        if info is None:
            results.append(
                CheckResult.failed(
                    check=check,
                    detail=f"DescribeInstanceTypes does not know {instance_type} in {clients.region}",
                    fix="check the instance type name and the Region",
                )
            )
            continue
        network = info.get("NetworkInfo") or {}
        if "EfaSupported" not in network:
            results.append(
                CheckResult.could_not_check(
                    check=check,
                    detail="DescribeInstanceTypes returned no NetworkInfo.EfaSupported",
                    fix="check the type in the EC2 documentation",
                )
            )
        elif network["EfaSupported"]:
            results.append(CheckResult.passed(check=check, detail="NetworkInfo.EfaSupported is true"))
        else:
            results.append(
                CheckResult.failed(
                    check=check,
                    detail=f"{instance_type} does not support EFA",
                    fix="use an EFA-capable type (e.g. c5n.18xlarge, hpc7a.96xlarge, p4d.24xlarge) or set efa: false",
                )
            )
    return results
