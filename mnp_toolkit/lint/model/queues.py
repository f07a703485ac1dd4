"""MNP queues and the compute environments they order (which compute environments are MNP ones)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mnp_toolkit.core.limits import MNP_QUEUE_METADATA_KEY
from mnp_toolkit.lint.cache import per_resource, per_template
from mnp_toolkit.lint.model.job_definitions import mnp_job_definitions
from mnp_toolkit.lint.model.resource_types import COMPUTE_ENVIRONMENT, JOB_QUEUE
from mnp_toolkit.lint.template import UNKNOWN, Resource, ResourceRef, Template, as_bool

HOW_TO_MARK_QUEUES = (
    'mark the queues that run MNP jobs with resource metadata {"mnp:queue": true} '
    "(the toolkit's MnpJobQueue does this; in CDK: queue.node.default_child.add_metadata('mnp:queue', True))"
)


def is_marked_mnp_queue(resource: Resource) -> bool:
    return resource.type == JOB_QUEUE and as_bool(resource.metadata.get(MNP_QUEUE_METADATA_KEY)) is True


@dataclass(frozen=True)
class MnpQueues:
    queues: list[Resource]
    implicit: bool  # True when no queue is marked and every queue is taken as an MNP queue


@per_template
def mnp_queues(template: Template) -> MnpQueues:
    marked = [queue for queue in template.of_type(JOB_QUEUE) if is_marked_mnp_queue(queue)]
    if marked:
        return MnpQueues(marked, implicit=False)
    if mnp_job_definitions(template):
        return MnpQueues(template.of_type(JOB_QUEUE), implicit=True)
    return MnpQueues([], implicit=False)


@per_template
def _mnp_queue_ids(template: Template) -> frozenset[str]:
    return frozenset(queue.logical_id for queue in mnp_queues(template).queues)


def is_mnp_queue(resource: Resource) -> bool:
    """True when ``resource`` is one of :func:`mnp_queues` (marked, or implicit)."""
    return resource.logical_id in _mnp_queue_ids(resource.template)


@per_resource
def queue_compute_environments(queue: Resource) -> list[Any]:
    """The CEs of a queue, in order: a Resource where it is in the template, else the resolved value."""
    order = queue.get("ComputeEnvironmentOrder")
    if not isinstance(order, list):
        return [UNKNOWN] if order is UNKNOWN else []
    environments: list[Any] = []
    for entry in order:
        value = entry.get("ComputeEnvironment") if isinstance(entry, Mapping) else UNKNOWN
        target = queue.template.resource(value, COMPUTE_ENVIRONMENT) if isinstance(value, ResourceRef) else None
        environments.append(target if target is not None else value)
    return environments


@per_template
def mnp_compute_environments(template: Template) -> list[Resource]:
    seen: dict[str, Resource] = {}
    for queue in mnp_queues(template).queues:
        for environment in queue_compute_environments(queue):
            if isinstance(environment, Resource):
                seen.setdefault(environment.logical_id, environment)
    return list(seen.values())


@per_template
def _mnp_compute_environment_ids(template: Template) -> frozenset[str]:
    return frozenset(ce.logical_id for ce in mnp_compute_environments(template))


def is_mnp_compute_environment(resource: Resource) -> bool:
    if resource.type != COMPUTE_ENVIRONMENT:
        return False
    return resource.logical_id in _mnp_compute_environment_ids(resource.template)
