"""`mnp preflight`: what `cdk synth` cannot know, checked with boto3 against the account before a deploy.

Checks (each reports pass, fail or could-not-check, with the fix):

* the credentials belong to the config's ``env.account`` (STS GetCallerIdentity);
* the Availability Zone exists, and each instance type is offered there
  (EC2 DescribeInstanceTypeOfferings, location type ``availability-zone``);
* EFA support where the config asks for EFA (DescribeInstanceTypes ``NetworkInfo.EfaSupported``);
* the On-Demand vCPU quota of each instance class (Service Quotas, EC2 "Running On-Demand <class>
  instances") covers the largest job (``num_nodes`` x vCPUs) plus what already runs. vCPUs come from
  DescribeInstanceTypes (the account's truth), else from the toolkit's facts table. What runs is an
  *estimate*: the On-Demand instances DescribeInstances sees now (the quota's CloudWatch usage metric
  is the authority);
* an existing VPC's subnets are in the VPC and the AZ, private, and route ``0.0.0.0/0`` to an
  available NAT gateway;
* an existing placement group has the ``cluster`` strategy;
* a capacity reservation (or group) a compute environment launches into fits its jobs
  (:mod:`mnp_toolkit.ops.capacity_reservations`).

A check that AWS does not answer (no permission, an API the endpoint lacks, a quota Service Quotas
does not return) is *could-not-check*, never pass. Exit codes: 0 no check failed, 1 a check failed,
2 usage, config or AWS set-up error (no credentials, no Region).
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from mnp_toolkit.errors import UserError
from mnp_toolkit.ops.aws import (
    EXIT_AWS_ERROR,
    Notify,
    client_region,
    describe_aws_error,
    error_code,
    is_setup_error,
    make_client,
    make_session,
)
from mnp_toolkit.ops.capacity_reservations import ReservationNeed, check_capacity_reservations, reservation_needs

if TYPE_CHECKING:
    from mnp_toolkit.config.model import MnpConfig

DEFAULT_CONFIG_PATH = Path("config/default.yaml")
EXIT_CHECK_FAILED = 1


class Result(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "could-not-check"


@dataclass(frozen=True, kw_only=True)
class CheckResult:
    """One row of the preflight table."""

    check: str
    result: Result
    detail: str
    fix: str = ""

    @classmethod
    def passed(cls, *, check: str, detail: str) -> CheckResult:
        """A passing row (it needs no fix)."""
        return cls(check=check, result=Result.PASS, detail=detail)

    @classmethod
    def failed(cls, *, check: str, detail: str, fix: str) -> CheckResult:
        """A failing row: what is wrong, and the fix the table prints under it."""
        return cls(check=check, result=Result.FAIL, detail=detail, fix=fix)

    @classmethod
    def could_not_check(cls, *, check: str, detail: str, fix: str) -> CheckResult:
        """A row AWS did not answer (never a pass): why, and how to check it by hand."""
        return cls(check=check, result=Result.UNKNOWN, detail=detail, fix=fix)

    def to_dict(self) -> dict[str, str]:
        return {"check": self.check, "result": str(self.result), "detail": self.detail, "fix": self.fix}


# ------------------------------------------------------------------------------ quota classes


@dataclass(frozen=True)
class QuotaClass:
    """An EC2 "Running On-Demand ... instances" vCPU quota."""

    code: str
    name: str


STANDARD = QuotaClass("L-1216C47A", "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances")
#: Instance-family prefixes -> On-Demand vCPU quota (Service Quotas, service code ``ec2``). Longest
#: prefix wins, so ``hpc7a`` is HPC rather than Standard ``h`` and ``dl1`` is DL rather than ``d``.
QUOTA_PREFIXES: dict[str, QuotaClass] = {
    **{letter: STANDARD for letter in "acdhimrtz"},
    "dl": QuotaClass("L-6E869C2A", "Running On-Demand DL instances"),
    "f": QuotaClass("L-74FC7D96", "Running On-Demand F instances"),
    "g": QuotaClass("L-DB2E81BA", "Running On-Demand G and VT instances"),
    "vt": QuotaClass("L-DB2E81BA", "Running On-Demand G and VT instances"),
    "hpc": QuotaClass("L-F7808C92", "Running On-Demand HPC instances"),
    "inf": QuotaClass("L-1945791B", "Running On-Demand Inf instances"),
    "p": QuotaClass("L-417A185B", "Running On-Demand P instances"),
    "trn": QuotaClass("L-2C3B7624", "Running On-Demand Trn instances"),
    "u": QuotaClass("L-43DA4232", "Running On-Demand High Memory instances"),
    "x": QuotaClass("L-7295265B", "Running On-Demand X instances"),
}
# Families whose prefix would mislead the table above (Mac instances run on Dedicated Hosts only).
_NO_VCPU_QUOTA_PREFIXES = ("mac",)


def quota_class(instance_type: str) -> QuotaClass | None:
    """The On-Demand vCPU quota that counts ``instance_type``, or None when the toolkit does not know."""
    family = instance_type.strip().lower().split(".", 1)[0]
    if not family or family.startswith(_NO_VCPU_QUOTA_PREFIXES):
        return None
    letters = family.split("-", 1)[0]
    prefix = ""
    for char in letters:
        if not char.isalpha():
            break
        prefix += char
    for length in range(len(prefix), 0, -1):
        found = QUOTA_PREFIXES.get(prefix[:length])
        if found is not None:
            return found
    return None


# ----------------------------------------------------------------------------------- the plan


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


def _unique(values: Iterable[str]) -> tuple[str, ...]:
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
        instance_types=_unique(t for t in instance_types if t not in CATEGORY_ARCHITECTURES),
        efa_instance_types=_unique(efa_types),
        jobs=tuple(
            JobNeed(name=jd.name, instance_type=jd.instance_type, num_nodes=jd.num_nodes) for jd in job_definitions
        ),
        vpc_id=vpc_id,
        subnet_ids=subnet_ids,
        placement_groups=_unique(placement_groups),
        capacity_reservations=reservation_needs(config),
    )


# ----------------------------------------------------------------------------------- the checks


@dataclass
class Clients:
    """The AWS clients preflight uses (tests pass moto clients or stubbed ones)."""

    ec2: Any
    service_quotas: Any
    sts: Any
    region: str
    resource_groups: Any = None  # for capacity reservation groups
    # Filled lazily: vCPUs and EFA support per instance type from DescribeInstanceTypes.
    type_info: dict[str, Mapping[str, Any] | None] = field(default_factory=dict)


def _stop_on_setup_error(error: BaseException, *, action: str, service: str | None, region: str) -> None:
    """No credentials, no Region, or an endpoint that cannot be reached, does not answer or is not AWS:
    no other check can work either, and each would wait as long again. One line, exit 2."""
    if is_setup_error(error):
        raise UserError(describe_aws_error(error, action=action, service=service, region=region), EXIT_AWS_ERROR)


def _unknown(check: str, error: BaseException, *, action: str, service: str, fix: str = "") -> CheckResult:
    _stop_on_setup_error(error, action=action, service=service, region="")
    detail = describe_aws_error(error, action=action, service=service)
    if isinstance(error, NotImplementedError):
        detail = f"could not {action}: the endpoint does not implement it ({error})"
    return CheckResult.could_not_check(check=check, detail=detail, fix=fix or "grant the permission and rerun")


def check_account(clients: Clients, *, expected: str | None) -> list[CheckResult]:
    """The credentials' account is the config's ``env.account``."""
    try:
        account = str(clients.sts.get_caller_identity()["Account"])
    except Exception as error:
        if is_setup_error(error):
            # Nothing else can work either: one line, exit 2, instead of a table of could-not-check.
            raise UserError(
                describe_aws_error(error, action="run preflight", service="sts", region=clients.region),
                EXIT_AWS_ERROR,
            ) from None
        return [_unknown("account", error, action="call sts:GetCallerIdentity", service="sts")]
    if expected is None or account == expected:
        return [CheckResult.passed(check="account", detail=f"credentials of account {account}")]
    return [
        CheckResult.failed(
            check="account",
            detail=f"credentials are for account {account}, the config's env.account is {expected}",
            fix="use a --profile for the config's account, or correct env.account",
        )
    ]


def check_region(clients: Clients, *, expected: str | None) -> list[CheckResult]:
    """The Region checked is the config's ``env.region`` (a --region elsewhere checks the wrong place)."""
    if expected is None:
        return []
    if expected == clients.region:
        return [CheckResult.passed(check="region", detail=f"{clients.region} (env.region)")]
    return [
        CheckResult.failed(
            check="region",
            detail=f"checking {clients.region}, but the config deploys to env.region {expected}",
            fix="drop --region (or AWS_REGION) or correct env.region",
        )
    ]


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
        return [_unknown("availability zone", error, action="list Availability Zones", service="ec2")]
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
            _unknown("instance type offerings", error, action="call ec2:DescribeInstanceTypeOfferings", service="ec2"),
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
            _unknown("instance type offerings", error, action="call ec2:DescribeInstanceTypeOfferings", service="ec2")
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


def _describe_types(clients: Clients, instance_types: Iterable[str]) -> None:
    """Fill ``clients.type_info`` from DescribeInstanceTypes (None where the account does not know it)."""
    wanted = [t for t in _unique(instance_types) if "." in t and t not in clients.type_info]
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
        _describe_types(clients, instance_types)
    except Exception as error:
        return [_unknown("EFA support", error, action="call ec2:DescribeInstanceTypes", service="ec2")]
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


def _vcpus(clients: Clients, instance_type: str) -> tuple[int | None, str]:
    """vCPUs of a type and where the number came from (the account first, then the facts table)."""
    from mnp_toolkit.core.instance_types import lookup

    info = clients.type_info.get(instance_type)
    if info is not None:
        value = (info.get("VCpuInfo") or {}).get("DefaultVCpus")
        if isinstance(value, int):
            return value, "DescribeInstanceTypes"
    facts = lookup(instance_type)
    if facts is not None:
        return facts.vcpus, "the toolkit's facts table"
    return None, ""


def _get_quota(clients: Clients, quota: QuotaClass) -> float:
    """The applied quota value, else the AWS default (GetServiceQuota answers NoSuchResource when the
    account never changed it in some Regions)."""
    try:
        return float(
            clients.service_quotas.get_service_quota(ServiceCode="ec2", QuotaCode=quota.code)["Quota"]["Value"]
        )
    except Exception as error:
        if error_code(error) != "NoSuchResourceException":
            raise
        response = clients.service_quotas.get_aws_default_service_quota(ServiceCode="ec2", QuotaCode=quota.code)
        return float(response["Quota"]["Value"])


def _running_vcpus(clients: Clients) -> dict[QuotaClass, int]:
    """vCPUs of pending/running On-Demand instances per quota class (an estimate; see module docs)."""
    counts: dict[str, int] = {}
    cpu_options: dict[str, int] = {}
    paginator = clients.ec2.get_paginator("describe_instances")
    for page in paginator.paginate(Filters=[{"Name": "instance-state-name", "Values": ["pending", "running"]}]):
        for reservation in page.get("Reservations", []):
            for instance in reservation.get("Instances", []):
                if instance.get("InstanceLifecycle") in {"spot", "capacity-block"}:
                    continue  # Spot and Capacity Blocks do not count against On-Demand quotas
                instance_type = str(instance["InstanceType"])
                counts[instance_type] = counts.get(instance_type, 0) + 1
                options = instance.get("CpuOptions") or {}
                if options.get("CoreCount") and options.get("ThreadsPerCore"):
                    cpu_options[instance_type] = int(options["CoreCount"]) * int(options["ThreadsPerCore"])
    _describe_types(clients, counts)
    usage: dict[QuotaClass, int] = {}
    for instance_type, count in counts.items():
        quota = quota_class(instance_type)
        if quota is None:
            continue
        vcpus, _ = _vcpus(clients, instance_type)
        per_instance = vcpus if vcpus is not None else cpu_options.get(instance_type, 0)
        usage[quota] = usage.get(quota, 0) + count * per_instance
    return usage


def check_quotas(clients: Clients, *, jobs: Sequence[JobNeed]) -> list[CheckResult]:
    """Per quota class: quota >= the largest job's vCPUs + vCPUs already running (estimate)."""
    if not jobs:
        return []
    results: list[CheckResult] = []
    with contextlib.suppress(Exception):  # vCPUs then come from the facts table
        _describe_types(clients, [job.instance_type for job in jobs])
    largest: dict[QuotaClass, tuple[int, JobNeed, int, str]] = {}
    for job in jobs:
        quota = quota_class(job.instance_type)
        vcpus, source = _vcpus(clients, job.instance_type)
        if quota is None or vcpus is None:
            results.append(
                CheckResult.could_not_check(
                    check=f"vCPU quota: {job.instance_type}",
                    detail=(
                        f"the toolkit does not know which On-Demand quota counts {job.instance_type}"
                        if quota is None
                        else f"vCPUs of {job.instance_type} unknown (not in DescribeInstanceTypes or the facts table)"
                    ),
                    fix="compare num_nodes x vCPUs with the quota in the Service Quotas console",
                )
            )
            continue
        need = job.num_nodes * vcpus
        if quota not in largest or need > largest[quota][0]:
            largest[quota] = (need, job, vcpus, source)
    if not largest:
        return results
    try:
        running: dict[QuotaClass, int] | None = _running_vcpus(clients)
        running_error = ""
    except Exception as error:
        running = None
        running_error = describe_aws_error(error, action="count running instances", service="ec2")
    for quota, (need, job, vcpus, source) in largest.items():
        check = f"vCPU quota: {quota.code}"
        sizing = f"job definition {job.name} needs {job.num_nodes} x {vcpus} = {need} vCPUs ({vcpus} from {source})"
        try:
            value = _get_quota(clients, quota)
        except Exception as error:
            results.append(
                _unknown(
                    check,
                    error,
                    action=f"read quota {quota.code} ({quota.name})",
                    service="service-quotas",
                    fix=f"check '{quota.name}' in Service Quotas: it must cover {need} vCPUs plus what runs",
                )
            )
            continue
        if running is None:
            results.append(
                CheckResult(
                    check=check,
                    result=Result.UNKNOWN if value >= need else Result.FAIL,
                    detail=f"quota {value:g} vCPUs; {sizing}; running instances unknown: {running_error}",
                    fix="" if value >= need else f"request '{quota.name}' >= {need} vCPUs in Service Quotas",
                )
            )
            continue
        in_use = running.get(quota, 0)
        detail = (
            f"quota {value:g} vCPUs; {sizing}; ~{in_use} vCPUs already running "
            "(estimate: On-Demand instances DescribeInstances lists now)"
        )
        if value >= need + in_use:
            results.append(CheckResult.passed(check=check, detail=detail))
        else:
            results.append(
                CheckResult.failed(
                    check=check,
                    detail=detail,
                    fix=f"request an increase of '{quota.name}' ({quota.code}) to at least {need + in_use} vCPUs "
                    f"in Service Quotas ({clients.region})"
                    + (", or stop instances of that class" if value >= need else ""),
                )
            )
    return results


def _route_table(clients: Clients, *, subnet_id: str, vpc_id: str) -> Mapping[str, Any] | None:
    tables = clients.ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}])[
        "RouteTables"
    ]
    if tables:
        return tables[0]
    main = clients.ec2.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "association.main", "Values": ["true"]}]
    )["RouteTables"]
    return main[0] if main else None


def check_network(
    clients: Clients, *, vpc_id: str | None, subnet_ids: Sequence[str], availability_zone: str | None
) -> list[CheckResult]:
    """An existing VPC's subnets: in the VPC and AZ, private, default route to an available NAT gateway."""
    if vpc_id is None:
        return []
    try:
        clients.ec2.describe_vpcs(VpcIds=[vpc_id])
    except Exception as error:
        if error_code(error) == "InvalidVpcID.NotFound":
            return [
                CheckResult.failed(
                    check=f"VPC {vpc_id}",
                    detail=f"{vpc_id} does not exist in {clients.region}",
                    fix="correct network.vpc_id or --region",
                )
            ]
        return [_unknown(f"VPC {vpc_id}", error, action="call ec2:DescribeVpcs", service="ec2")]
    results = [CheckResult.passed(check=f"VPC {vpc_id}", detail="exists")]
    for subnet_id in subnet_ids:
        try:
            results.append(
                _check_subnet(clients, subnet_id=subnet_id, vpc_id=vpc_id, availability_zone=availability_zone)
            )
        except Exception as error:
            if error_code(error) == "InvalidSubnetID.NotFound":
                results.append(
                    CheckResult.failed(
                        check=f"subnet {subnet_id}",
                        detail=f"{subnet_id} does not exist in {clients.region}",
                        fix="correct network.private_subnet_ids",
                    )
                )
            else:
                results.append(
                    _unknown(f"subnet {subnet_id}", error, action="read the subnet and its route table", service="ec2")
                )
    return results


def _check_subnet(clients: Clients, *, subnet_id: str, vpc_id: str, availability_zone: str | None) -> CheckResult:
    check = f"subnet {subnet_id}"
    subnet = clients.ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]
    problems: list[tuple[str, str]] = []
    if subnet.get("VpcId") != vpc_id:
        problems.append((f"is in {subnet.get('VpcId')}, not {vpc_id}", "list subnets of network.vpc_id only"))
    if availability_zone and subnet.get("AvailabilityZone") != availability_zone:
        problems.append(
            (
                f"is in {subnet.get('AvailabilityZone')}, not {availability_zone}",
                "use subnets of network.availability_zone only (one AZ for the cluster placement group)",
            )
        )
    if subnet.get("MapPublicIpOnLaunch"):
        problems.append(("maps public IPs on launch (a public subnet)", "use private subnets"))
    table = _route_table(clients, subnet_id=subnet_id, vpc_id=vpc_id)
    default = next((r for r in (table or {}).get("Routes", []) if r.get("DestinationCidrBlock") == "0.0.0.0/0"), None)
    egress = ""
    if default is None:
        problems.append(
            (
                "has no default route (0.0.0.0/0): nodes cannot pull images or ship logs",
                "route 0.0.0.0/0 to a NAT gateway",
            )
        )
    elif str(default.get("GatewayId", "")).startswith("igw-"):
        problems.append(
            (
                f"routes 0.0.0.0/0 to internet gateway {default['GatewayId']} (public; MNP nodes get no public IP)",
                "use private subnets routed to a NAT gateway",
            )
        )
    elif default.get("NatGatewayId"):
        nat_id = str(default["NatGatewayId"])
        gateways = clients.ec2.describe_nat_gateways(NatGatewayIds=[nat_id]).get("NatGateways", [])
        state = str(gateways[0].get("State")) if gateways else "missing"
        if state != "available":
            problems.append((f"routes 0.0.0.0/0 to NAT gateway {nat_id}, which is {state}", "fix the NAT gateway"))
        egress = f"0.0.0.0/0 -> {nat_id} (available)"
    else:
        target = next((str(v) for k, v in default.items() if k.endswith("Id") and v), "an unknown target")
        if not problems:
            return CheckResult.could_not_check(
                check=check,
                detail=f"private; 0.0.0.0/0 goes to {target}: egress through it cannot be verified from here",
                fix="make sure it reaches the internet (or ECR, S3 and CloudWatch Logs endpoints)",
            )
    if problems:
        return CheckResult.failed(
            check=check,
            detail="; ".join(problem for problem, _ in problems),
            fix="; ".join(dict.fromkeys(fix for _, fix in problems)),
        )
    return CheckResult.passed(check=check, detail=f"private, {subnet.get('AvailabilityZone')}, {egress}")


def check_placement_groups(clients: Clients, *, names: Sequence[str]) -> list[CheckResult]:
    """Each existing placement group exists and has the ``cluster`` strategy."""
    results = []
    for name in names:
        check = f"placement group {name}"
        try:
            groups = clients.ec2.describe_placement_groups(GroupNames=[name])["PlacementGroups"]
        except Exception as error:
            if error_code(error) in {"InvalidPlacementGroup.Unknown", "InvalidGroup.NotFound"}:
                groups = []
            else:
                results.append(
                    _unknown(
                        check,
                        error,
                        action="call ec2:DescribePlacementGroups",
                        service="ec2",
                        fix=f"check in the EC2 console that {name} exists with strategy cluster",
                    )
                )
                continue
        if not groups:
            results.append(
                CheckResult.failed(
                    check=check,
                    detail=f"no placement group {name} in {clients.region}",
                    fix="create it (`aws ec2 create-placement-group --strategy cluster`) or let the toolkit create one",
                )
            )
            continue
        strategy = str(groups[0].get("Strategy", ""))
        state = str(groups[0].get("State", "available"))
        if strategy == "cluster" and state == "available":
            results.append(CheckResult.passed(check=check, detail="strategy cluster, available"))
        else:
            results.append(
                CheckResult.failed(
                    check=check,
                    detail=f"strategy {strategy or '?'}, state {state}: MNP nodes need a cluster placement group",
                    fix="use a placement group with strategy cluster",
                )
            )
    return results


def run_checks(clients: Clients, plan: PreflightPlan) -> list[CheckResult]:
    """Every check of the plan; an unexpected error in one check makes it could-not-check."""
    steps: list[tuple[str, Callable[[], list[CheckResult]]]] = [
        ("account", lambda: check_account(clients, expected=plan.account)),
        ("region", lambda: check_region(clients, expected=plan.region)),
        (
            "instance type offerings",
            lambda: check_offerings(
                clients, availability_zone=plan.availability_zone, instance_types=plan.instance_types
            ),
        ),
        ("EFA support", lambda: check_efa(clients, instance_types=plan.efa_instance_types)),
        ("vCPU quotas", lambda: check_quotas(clients, jobs=plan.jobs)),
        (
            "network",
            lambda: check_network(
                clients, vpc_id=plan.vpc_id, subnet_ids=plan.subnet_ids, availability_zone=plan.availability_zone
            ),
        ),
        ("placement groups", lambda: check_placement_groups(clients, names=plan.placement_groups)),
        (
            "capacity reservations",
            lambda: [
                CheckResult(check=row.check, result=Result(row.outcome), detail=row.detail, fix=row.fix)
                for row in check_capacity_reservations(
                    clients.ec2,
                    plan.capacity_reservations,
                    resource_groups=clients.resource_groups,
                    region=clients.region,
                )
            ],
        ),
    ]
    results: list[CheckResult] = []
    for name, step in steps:
        try:
            results.extend(step())
        except UserError:
            raise
        except Exception as error:  # no traceback reaches the user: the check becomes could-not-check
            _stop_on_setup_error(error, action=f"check {name}", service=None, region=clients.region)
            results.append(
                CheckResult.could_not_check(
                    check=name,
                    detail=describe_aws_error(error, action=f"check {name}"),
                    fix="rerun; report a bug if it persists",
                )
            )
    return results


# ----------------------------------------------------------------------------------- rendering


def render_table(results: Sequence[CheckResult], *, region: str) -> str:
    """The preflight table: CHECK, RESULT, DETAIL (and FIX under failing or unchecked rows)."""
    header = ("CHECK", "RESULT", "DETAIL")
    width_check = max([len(header[0]), *(len(r.check) for r in results)])
    width_result = max([len(header[1]), *(len(str(r.result)) for r in results)])
    lines = [f"Preflight in {region}", ""]
    lines.append(f"{header[0].ljust(width_check)}  {header[1].ljust(width_result)}  {header[2]}")
    for row in results:
        lines.append(f"{row.check.ljust(width_check)}  {str(row.result).ljust(width_result)}  {row.detail}")
        if row.fix and row.result is not Result.PASS:
            lines.append(f"{''.ljust(width_check)}  {''.ljust(width_result)}  fix: {row.fix}")
    counts = {result: sum(1 for r in results if r.result is result) for result in Result}
    lines.append("")
    lines.append(
        f"{counts[Result.PASS]} passed, {counts[Result.FAIL]} failed, {counts[Result.UNKNOWN]} could not be checked"
    )
    if counts[Result.UNKNOWN]:
        lines.append("could-not-check is not a pass: verify those by hand before deploying.")
    return "\n".join(lines)


def exit_code(results: Sequence[CheckResult]) -> int:
    return EXIT_CHECK_FAILED if any(r.result is Result.FAIL for r in results) else 0


def make_clients(*, region: str | None, profile: str | None, notify: Notify | None = None) -> Clients:
    session = make_session(region=region, profile=profile)
    ec2 = make_client("ec2", session=session, notify=notify)
    return Clients(
        ec2=ec2,
        service_quotas=make_client("service-quotas", session=session, notify=notify),
        sts=make_client("sts", session=session, notify=notify),
        region=client_region(ec2),
        resource_groups=make_client("resource-groups", session=session, notify=notify),
    )


def run_preflight(
    *,
    config_path: Path,
    region: str | None,
    profile: str | None,
    output_format: str = "text",
    out: TextIO | None = None,
    clients_factory: Callable[..., Clients] = make_clients,
    notify: Notify | None = None,
) -> int:
    """The body of `mnp preflight`; returns the exit code. `notify` hears what a slow endpoint is waited for."""
    from mnp_toolkit.config.load import load_config
    from mnp_toolkit.config.model import ConfigError

    try:
        config = load_config(config_path)
    except ConfigError as error:
        raise UserError(str(error), EXIT_AWS_ERROR) from None
    plan = plan_from_config(config)
    config_region = getattr(getattr(config, "env", None), "region", None)
    extra = {"notify": notify} if notify is not None else {}
    clients = clients_factory(region=region or config_region, profile=profile, **extra)
    results = run_checks(clients, plan)
    stream = out if out is not None else sys.stdout
    if output_format == "json":
        document = {"region": clients.region, "checks": [r.to_dict() for r in results], "exitCode": exit_code(results)}
        print(json.dumps(document, indent=2), file=stream)
    else:
        print(render_table(results, region=clients.region), file=stream)
    return exit_code(results)
