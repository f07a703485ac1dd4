"""The On-Demand vCPU quotas: which Service Quotas code counts an instance type (:func:`quota_class`), and
the check that each quota covers the largest job (``num_nodes`` x vCPUs) plus what already runs (an
estimate from DescribeInstances; the quota's CloudWatch usage metric is the authority)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

from mnp_toolkit.ops.aws import describe_aws_error, error_code
from mnp_toolkit.ops.preflight.clients import Clients, unknown_result
from mnp_toolkit.ops.preflight.offerings import describe_types
from mnp_toolkit.ops.preflight.plan import JobNeed
from mnp_toolkit.ops.preflight.results import CheckResult, Result


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
    describe_types(clients, counts)
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
        describe_types(clients, [job.instance_type for job in jobs])
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
                unknown_result(
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
