"""Compute environments: capacity type, the scope of compute-environment rules, instance types, placement."""

from __future__ import annotations

from typing import Any

from mnp_toolkit.core import instance_types
from mnp_toolkit.lint.cache import per_resource
from mnp_toolkit.lint.model.queues import is_mnp_compute_environment
from mnp_toolkit.lint.model.resource_types import PLACEMENT_GROUP
from mnp_toolkit.lint.rule import NotApplicable
from mnp_toolkit.lint.template import UNKNOWN, Resource, ResourceRef, same_text


@per_resource
def compute_type(resource: Resource) -> Any:
    """``ComputeResources.Type`` upper-cased (EC2, SPOT, FARGATE, FARGATE_SPOT), None or UNKNOWN."""
    value = resource.get("ComputeResources", "Type")
    return value.strip().upper() if isinstance(value, str) else value


def is_unmanaged(resource: Resource) -> bool:
    return same_text(resource.get("Type"), "UNMANAGED")


def placement_group_of(ce: Resource) -> Resource | str | Any | None:
    """The placement group of a CE: the template's Resource, a name (str), None, or UNKNOWN."""
    value = ce.get("ComputeResources", "PlacementGroup")
    if value is None:
        return None
    if isinstance(value, ResourceRef):
        target = ce.template.resource(value, PLACEMENT_GROUP)
        return target if target is not None else UNKNOWN
    return value


@per_resource
def instance_types_of(ce: Resource) -> list[Any] | Any:
    """``ComputeResources.InstanceTypes`` resolved (lower-cased strings), None when absent."""
    value = ce.get("ComputeResources", "InstanceTypes")
    if value is None or value is UNKNOWN:
        return value
    if not isinstance(value, list):
        return UNKNOWN
    return [item.strip().lower() if isinstance(item, str) else UNKNOWN for item in value]


def entry_architectures(entry: Any) -> frozenset[str] | Any:
    """The CPU architectures an ``InstanceTypes`` entry can launch (:func:`instance_types.entry_architectures`);
    UNKNOWN when the facts do not say."""
    if not isinstance(entry, str):
        return UNKNOWN
    found = instance_types.entry_architectures(entry)
    return UNKNOWN if found is None else found


@per_resource
def compute_environment_architectures(ce: Resource) -> dict[str, list[str]] | Any:
    """Architecture -> the ``InstanceTypes`` entries of ``ce`` that launch it (entries with unknown
    architecture are left out). UNKNOWN when ``InstanceTypes`` cannot be resolved; ``{}`` when absent."""
    entries = instance_types_of(ce)
    if entries is UNKNOWN:
        return UNKNOWN
    by_architecture: dict[str, list[str]] = {}
    for entry in entries or []:
        architectures = entry_architectures(entry)
        if architectures is UNKNOWN:
            continue
        for architecture in sorted(architectures):
            by_architecture.setdefault(architecture, []).append(entry)
    return by_architecture


#: ``ComputeResources.Type`` of an Amazon ECS Managed Instances compute environment (container jobs only).
ECS_MANAGED_INSTANCES = "ECS_MANAGED_INSTANCES"


def is_managed_instances(compute_type_value: Any) -> bool:
    return isinstance(compute_type_value, str) and compute_type_value.upper() == ECS_MANAGED_INSTANCES


def is_fargate(compute_type_value: Any) -> bool:
    return isinstance(compute_type_value, str) and compute_type_value.upper() in {"FARGATE", "FARGATE_SPOT"}


def is_ec2(compute_type_value: Any) -> bool:
    return isinstance(compute_type_value, str) and compute_type_value.upper() in {"EC2", "SPOT"}


def not_ec2_capacity(ce: Resource) -> str | None:
    """Why rules about managed EC2 capacity (placement, vCPU limits, security groups) do not apply to
    ``ce``: it is UNMANAGED (MNP001 reports that), Fargate or ECS Managed Instances (MNP002); None when they
    apply."""
    if is_unmanaged(ce):
        return "an UNMANAGED compute environment (MNP001 reports it)"
    if is_fargate(compute_type(ce)):
        return "a Fargate compute environment (MNP002 reports it)"
    if is_managed_instances(compute_type(ce)):
        return "an Amazon ECS Managed Instances compute environment (MNP002 reports it)"
    return None


def mnp_ce_scope(resource: Resource, *, ec2_capacity: bool = False) -> NotApplicable | None:
    """``None`` when a compute-environment rule applies to ``resource`` (an MNP CE, and with
    ``ec2_capacity`` a managed EC2 one); else the NotApplicable the rule returns."""
    if not is_mnp_compute_environment(resource):
        return NotApplicable("not in the order of an MNP queue")
    if ec2_capacity and (reason := not_ec2_capacity(resource)) is not None:
        return NotApplicable(reason)
    return None
