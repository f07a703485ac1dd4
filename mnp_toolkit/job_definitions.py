"""MNP job definitions over a :class:`~mnp_toolkit.template.Template`: which job definitions are MNP,
``TargetNodes`` parsing, node ranges and what each node's container asks for.

Everything returns :data:`~mnp_toolkit.template.UNKNOWN` (or ``None`` for "absent") rather than guessing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from mnp_toolkit.template import UNKNOWN, Resource, Template, as_float, as_int, same_text

JOB_DEFINITION = "AWS::Batch::JobDefinition"


def is_mnp_job_definition(resource: Resource) -> bool:
    return resource.type == JOB_DEFINITION and same_text(resource.get("Type"), "multinode")


def mnp_job_definitions(template: Template) -> list[Resource]:
    return [resource for resource in template.of_type(JOB_DEFINITION) if is_mnp_job_definition(resource)]


_TARGET_NODES = re.compile(r"^\s*(?P<start>\d*)\s*(?P<colon>:?)\s*(?P<end>\d*)\s*$")


@dataclass(frozen=True)
class TargetNodes:
    """A parsed ``TargetNodes`` value: ``start`` and ``end`` inclusive; ``end`` None means open (``n:``)."""

    text: str
    start: int
    end: int | None

    def covers(self, index: int) -> bool:
        return self.start <= index and (self.end is None or index <= self.end)

    def last_index(self, num_nodes: int) -> int:
        return num_nodes - 1 if self.end is None else self.end

    def nodes(self, num_nodes: int) -> range:
        return range(self.start, self.last_index(num_nodes) + 1)


class TargetNodesError(ValueError):
    """A ``TargetNodes`` value that is not ``n:m``, ``:m``, ``n:`` or ``n`` with integers and n <= m."""


def parse_target_nodes(text: str) -> TargetNodes:
    """Parse ``n:m``, ``:m``, ``n:`` or ``n`` (non-negative integers, n <= m) per ``NodeRangeProperty``."""
    match = _TARGET_NODES.match(text) if isinstance(text, str) else None
    if match is None:
        raise TargetNodesError(f"{text!r} is not of the form n:m, :m, n: or n")
    start_text, colon, end_text = match.group("start"), match.group("colon"), match.group("end")
    if not start_text and not end_text:
        raise TargetNodesError(f"{text!r} names no node index")
    if not colon:
        index = int(start_text)
        return TargetNodes(text, index, index)
    start = int(start_text) if start_text else 0
    end = int(end_text) if end_text else None
    if end is not None and start > end:
        raise TargetNodesError(f"{text!r} starts after it ends ({start} > {end})")
    return TargetNodes(text, start, end)


@dataclass(frozen=True)
class NodeRange:
    """One entry of ``NodeProperties.NodeRangeProperties``; ``target`` is None when unparsable/unknown."""

    position: int
    raw_target: Any
    target: TargetNodes | None
    container: Mapping[str, Any]  # resolved

    @property
    def label(self) -> str:
        shown = self.raw_target if isinstance(self.raw_target, str) else "?"
        return f"node range #{self.position} (TargetNodes {shown!r})"


@dataclass(frozen=True)
class ContainerNeeds:
    """What a container asks for: None where absent, UNKNOWN where unresolvable."""

    vcpus: Any
    memory_mib: Any
    gpus: Any


def container_needs(container: Mapping[str, Any]) -> ContainerNeeds:
    """vCPUs, memory (MiB) and GPUs of a resolved container, from ``ResourceRequirements`` or legacy keys."""
    vcpus: Any = None
    memory: Any = None
    gpus: Any = None
    requirements = container.get("ResourceRequirements")
    if isinstance(requirements, list):
        for requirement in requirements:
            if not isinstance(requirement, Mapping):
                continue
            kind = requirement.get("Type")
            value = requirement.get("Value")
            if same_text(kind, "VCPU"):
                vcpus = as_float(value)
            elif same_text(kind, "MEMORY"):
                memory = as_int(value)
            elif same_text(kind, "GPU"):
                gpus = as_int(value)
    elif requirements is UNKNOWN:
        vcpus = memory = gpus = UNKNOWN
    if vcpus is None and "Vcpus" in container:
        vcpus = as_float(container["Vcpus"])
    if memory is None and "Memory" in container:
        memory = as_int(container["Memory"])
    return ContainerNeeds(vcpus=vcpus, memory_mib=memory, gpus=gpus)


class JobDefinitionModel:
    """The ``NodeProperties`` of an MNP job definition, resolved."""

    def __init__(self, resource: Resource) -> None:
        self.resource = resource
        self.node_properties = resource.get("NodeProperties")

    @property
    def known(self) -> bool:
        return isinstance(self.node_properties, Mapping)

    @cached_property
    def num_nodes(self) -> Any:
        """``NumNodes`` as int, None when absent, UNKNOWN when unresolvable."""
        if not isinstance(self.node_properties, Mapping):
            return UNKNOWN
        if "NumNodes" not in self.node_properties:
            return None
        return as_int(self.node_properties["NumNodes"])

    @cached_property
    def main_node(self) -> Any:
        if not isinstance(self.node_properties, Mapping):
            return UNKNOWN
        if "MainNode" not in self.node_properties:
            return None
        return as_int(self.node_properties["MainNode"])

    @cached_property
    def ranges(self) -> list[NodeRange] | None:
        """The node ranges, or None when ``NodeRangeProperties`` is absent or unresolvable."""
        if not isinstance(self.node_properties, Mapping):
            return None
        entries = self.node_properties.get("NodeRangeProperties")
        if not isinstance(entries, list):
            return None
        ranges = []
        for position, entry in enumerate(entries):
            entry = entry if isinstance(entry, Mapping) else {}
            raw_target = entry.get("TargetNodes")
            target: TargetNodes | None = None
            if isinstance(raw_target, str):
                try:
                    target = parse_target_nodes(raw_target)
                except TargetNodesError:
                    target = None
            container = entry.get("Container")
            if not isinstance(container, Mapping):
                ecs = entry.get("EcsProperties")
                container = {}
                if isinstance(ecs, Mapping):
                    tasks = ecs.get("TaskProperties")
                    if isinstance(tasks, list) and tasks and isinstance(tasks[0], Mapping):
                        containers = tasks[0].get("Containers")
                        if isinstance(containers, list) and containers and isinstance(containers[0], Mapping):
                            container = containers[0]
            instance_types = entry.get("InstanceTypes")
            if instance_types is not None and "InstanceType" not in container:
                container = {**container, "_InstanceTypes": instance_types}
            ranges.append(NodeRange(position, raw_target, target, container))
        return ranges

    def instance_types_of(self, node_range: NodeRange) -> list[Any]:
        """Instance types a range names: ``Container.InstanceType`` and/or ``InstanceTypes``."""
        named: list[Any] = []
        single = node_range.container.get("InstanceType")
        if single is not None:
            named.append(single)
        listed = node_range.container.get("_InstanceTypes")
        if isinstance(listed, list):
            named.extend(listed)
        elif listed is UNKNOWN:
            named.append(UNKNOWN)
        return named

    @cached_property
    def instance_type(self) -> Any:
        """The one instance type of the job (str), None when none is set, UNKNOWN when unresolvable or
        when the ranges disagree (MNP006 reports that)."""
        names = {
            name if not isinstance(name, str) else name.strip().lower()
            for node_range in (self.ranges or [])
            for name in self.instance_types_of(node_range)
        }
        if not names:
            return None
        if len(names) == 1:
            (name,) = names
            return name if isinstance(name, str) else UNKNOWN
        return UNKNOWN

    def effective_range(self, index: int) -> NodeRange | None:
        """The range whose settings apply to node ``index``: the innermost (narrowest) covering range."""
        num_nodes = self.num_nodes if isinstance(self.num_nodes, int) else index + 1
        covering = [r for r in self.ranges or [] if r.target is not None and r.target.covers(index)]
        if not covering:
            return None
        return min(covering, key=lambda r: (len(r.target.nodes(num_nodes)), -r.position))  # type: ignore[union-attr]
