"""Can the job queue's compute environments place a multi-node parallel job, now or ever?

There are no instances locally, so the emulator decides placement the way Batch documents it and the
rule pack checks it: every node of an MNP job runs on an instance of its own, so the job needs, in one
compute environment of its queue, one fitting instance per node and the sum of those instances' vCPUs
within the environment's ``maxvCpus``. A node fits an instance type when the type has at least the
node's VCPU, MEMORY (the memory an instance can schedule, see :mod:`mnp_toolkit.core.instance_types`) and
GPU requirements, and it is the node's ``instanceType`` when the node names one. Every node of the job
runs on the same instance type (user guide, "Node groups"): among the types a compute environment allows
(exact types, families, and the ``optimal``/``default_*`` categories) the smallest that fits every node
group is used.

A job that no compute environment can ever place stays ``RUNNABLE`` with the ``statusReason`` Batch gives
(user guide, "Jobs stuck in RUNNABLE due to misconfiguration"):

* ``MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - The job resource requirement (vCPU/memory/GPU) is higher
  than that can be met by the CE(s) attached to the job queue.`` when no compute environment has an
  instance type that fits a node;
* ``MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE - CE(s) associated with the job queue cannot meet
  the CPU requirement of the job.`` when instances fit but ``maxvCpus`` is too small for all nodes.

A job that fits but finds the environment's vCPUs taken by other running jobs waits in ``RUNNABLE``
without a reason until they finish. Instance types the facts table does not know cannot be sized: they
are assumed to fit (a node then counts its own VCPU requirement, or 1), never to block a job.

Some compute environments never run an MNP job: "Multi-node parallel jobs aren't supported on UNMANAGED
compute environments" and "aren't supported on compute environments that use Spot Instances" (user
guide, "Compute environment considerations for MNP with AWS Batch"); "AWS Fargate doesn't support
multi-node parallel jobs" (user guide, "Create a multi-node parallel job definition"); nor does the
emulator place them on ECS Managed Instances environments. The docs do
not say what becomes of such a job; the emulator keeps it RUNNABLE without a ``statusReason`` (Batch
documents no misconfiguration reason for it, so no ``jobStateTimeLimitActions`` entry matches it either):
it waits until the queue gets a compute environment that can run it, or it is cancelled.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mnp_toolkit.core import instance_types
from mnp_toolkit.core.instance_types import InstanceTypeFacts
from mnp_toolkit.core.job_spec import exceeds_instance
from mnp_toolkit.core.node_groups import NodeAsks, NodeGroup, node_range_asks

JOB_RESOURCE_REQUIREMENT = "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT"
COMPUTE_ENVIRONMENT_MAX_RESOURCE = "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE"
STUCK_MESSAGES = {
    JOB_RESOURCE_REQUIREMENT: (
        "The job resource requirement (vCPU/memory/GPU) is higher than that can be met by the CE(s) attached "
        "to the job queue."
    ),
    COMPUTE_ENVIRONMENT_MAX_RESOURCE: "CE(s) associated with the job queue cannot meet the CPU requirement of the job.",
}
#: ``computeResources.type`` values whose compute environments run no MNP job (see the module doc).
_NO_MNP_TYPES = frozenset({"SPOT", "FARGATE", "FARGATE_SPOT", "ECS_MANAGED_INSTANCES"})


def stuck_reason(code: str) -> str:
    """The ``statusReason`` of a job stuck in RUNNABLE for ``code``."""
    return f"{code} - {STUCK_MESSAGES[code]}"


def node_need(node_range: Mapping[str, Any]) -> NodeAsks:
    """The needs of the nodes a ``nodeRangeProperties`` entry covers (the core's reading of a range)."""
    asks = node_range_asks(node_range)
    instance_type = asks.instance_type.lower() if asks.instance_type else None
    return NodeAsks(vcpus=asks.vcpus, memory_mib=asks.memory_mib, gpus=asks.gpus or 0, instance_type=instance_type)


@dataclass(frozen=True)
class Choice:
    """The instance a node runs on: its type (None when unknown) and the vCPUs it takes from maxvCpus."""

    instance_type: str | None
    vcpus: int


def _candidates(entries: Iterable[str]) -> tuple[list[InstanceTypeFacts], bool]:
    """Known instance types a compute environment may launch, and whether some entry is unknown."""
    known = instance_types.known_types()
    found: dict[str, InstanceTypeFacts] = {}
    unknown = False
    for entry in entries:
        matched = False
        for name in known:
            if instance_types.covers(entry, name):
                facts = instance_types.lookup(name)
                if facts is not None:
                    found[name] = facts
                    matched = True
        unknown = unknown or not matched
    return list(found.values()), unknown


def _fits(facts: InstanceTypeFacts, need: NodeAsks) -> bool:
    # The same limits the config, the constructs and the rule pack judge a node by (MNP015).
    return not exceeds_instance(
        vcpus=need.vcpus,
        memory_mib=None if need.memory_mib is None else math.ceil(need.memory_mib),
        gpus=None if need.gpus is None else math.ceil(need.gpus),
        facts=facts,
    )


def _own_vcpus(need: NodeAsks) -> int:
    return max(1, math.ceil(need.vcpus or 1))


def choose_instance(entries: Sequence[str], needs: Sequence[NodeAsks]) -> tuple[Choice, ...] | None:
    """The one instance type every node group of a job gets in a compute environment allowing ``entries``
    (a :class:`Choice` per group, in the order of ``needs``); None if no type fits them all.

    "Currently all node groups in a multi-node parallel job must use the same instance type" (user guide,
    "Node groups"; API reference, ContainerProperties ``instanceType``: "All node groups in a multi-node
    parallel job must use the same instance type"). Groups naming different types can never be placed
    (the docs do not say SubmitJob refuses them; the rule pack's MNP006 does).
    """
    named = {need.instance_type for need in needs if need.instance_type is not None}
    if len(named) > 1:
        return None
    if named:
        (name,) = named
        if not any(instance_types.covers(entry, name) for entry in entries):
            return None
        facts = instance_types.lookup(name)
        if facts is None:
            return tuple(Choice(name, _own_vcpus(need)) for need in needs)
        if not all(_fits(facts, need) for need in needs):
            return None
        return tuple(Choice(facts.name, facts.vcpus) for _ in needs)
    candidates, unknown = _candidates(entries)
    fitting = sorted(
        (f for f in candidates if all(_fits(f, need) for need in needs)), key=lambda f: (f.vcpus, f.memory_mib, f.name)
    )
    if fitting:
        return tuple(Choice(fitting[0].name, fitting[0].vcpus) for _ in needs)
    return tuple(Choice(None, _own_vcpus(need)) for need in needs) if unknown else None


@dataclass(frozen=True)
class Plan:
    """How a job would be placed in one compute environment."""

    compute_environment: Any  # moto's ComputeEnvironment
    choices: tuple[Choice, ...]  # one per node group
    vcpus: int
    max_vcpus: int | None  # None: not limited (unmanaged)

    @property
    def name(self) -> str:
        return str(self.compute_environment.name)


@dataclass(frozen=True)
class Verdict:
    """``plans``: the compute environments that can ever place the job, in queue order; ``stuck``: why none
    can (a reason code), when ``plans`` is empty."""

    plans: tuple[Plan, ...]
    stuck: str | None


def evaluate(queue: Any, node_properties: Mapping[str, Any], groups: Sequence[NodeGroup]) -> Verdict:
    """Which of ``queue``'s compute environments can ever place the job (see the module doc)."""
    needs = [node_need(node_properties["nodeRangeProperties"][group.range_index]) for group in groups]
    sizes = [group.last - group.first + 1 for group in groups]
    plans: list[Plan] = []
    too_small = misfit = False
    for environment in queue.environments:
        resources = environment.compute_resources or {}
        if str(environment.env_type).upper() == "UNMANAGED" or not resources:
            continue  # "Multi-node parallel jobs aren't supported on UNMANAGED compute environments."
        if str(resources.get("type", "EC2")).upper() in _NO_MNP_TYPES:
            continue
        entries = [str(entry) for entry in resources.get("instanceTypes") or ["optimal"]]
        fitted = choose_instance(entries, needs)
        if fitted is None:
            misfit = True
            continue
        vcpus = sum(choice.vcpus * size for choice, size in zip(fitted, sizes, strict=True))
        max_vcpus = int(resources.get("maxvCpus") or 0)
        if vcpus > max_vcpus:
            too_small = True
            continue
        plans.append(Plan(environment, fitted, vcpus, max_vcpus))
    if plans:
        return Verdict(tuple(plans), None)
    if too_small:
        return Verdict((), COMPUTE_ENVIRONMENT_MAX_RESOURCE)
    if misfit or not queue.environments:
        return Verdict((), JOB_RESOURCE_REQUIREMENT)
    # Only compute environments that run no MNP job: RUNNABLE without a reason (see the module doc).
    return Verdict((), None)


class CapacityLedger:
    """vCPUs in use per compute environment (by ARN), shared by every job of the emulator."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._used: dict[str, int] = {}

    def try_acquire(self, plan: Plan) -> bool:
        if plan.max_vcpus is None:
            return True
        arn = str(plan.compute_environment.arn)
        with self._lock:
            used = self._used.get(arn, 0)
            if used + plan.vcpus > plan.max_vcpus:
                return False
            self._used[arn] = used + plan.vcpus
            return True

    def release(self, plan: Plan) -> None:
        if plan.max_vcpus is None:
            return
        arn = str(plan.compute_environment.arn)
        with self._lock:
            self._used[arn] = max(0, self._used.get(arn, 0) - plan.vcpus)

    def clear(self) -> None:
        with self._lock:
            self._used.clear()
