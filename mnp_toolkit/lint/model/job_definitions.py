"""MNP job definitions over a :class:`~mnp_toolkit.lint.template.Template`: which job definitions are MNP,
``TargetNodes`` parsing, node ranges, which range's settings apply to which node, and what each node's
containers ask for.

Everything returns :data:`~mnp_toolkit.lint.template.UNKNOWN` (or ``None`` for "absent") rather than guessing:
rules turn UNKNOWN into "could not verify", never into a violation.

A node range (``NodeRangeProperties`` entry) describes its node's work in one of three shapes, all handled
here: ``Container`` (ECS, one container), ``EcsProperties.TaskProperties[0].Containers`` (ECS, several
containers of one task: their asks add up) and ``EksProperties.PodProperties`` (EKS, one pod: the asks
of its containers add up; an init container runs before them, so the pod needs at least its ask).

Nested ranges (``0:9`` with ``4:5`` inside) are allowed by the API and the inner range's settings win
for its nodes; :func:`innermost` picks, among the ranges covering a node, the one with the fewest nodes
(the later one on a tie). Partly overlapping ranges have no documented winner (MNP108 warns about them);
the same choice is applied to them so that rules stay deterministic.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from mnp_toolkit.core.limits import EFA_DEVICE_PREFIX, EKS_EFA_RESOURCE
from mnp_toolkit.core.target_nodes import (
    TargetNodes,
    TargetNodesError,
    describe_nodes,
    innermost,
    node_spans,
    parse_target_nodes,
)
from mnp_toolkit.lint.cache import per_resource, per_template
from mnp_toolkit.lint.model.naming import render_value
from mnp_toolkit.lint.model.resource_types import JOB_DEFINITION
from mnp_toolkit.lint.rule import Compliant, NonCompliant, NotApplicable, RuleResult, Unverifiable
from mnp_toolkit.lint.template import UNKNOWN, Resource, Template, as_float, as_int, same_text


def is_mnp_job_definition(resource: Resource) -> bool:
    return resource.type == JOB_DEFINITION and same_text(resource.get("Type"), "multinode")


@per_template
def mnp_job_definitions(template: Template) -> list[Resource]:
    """The MNP job definitions of ``template`` in template order (cached: callers must not change it)."""
    return [resource for resource in template.of_type(JOB_DEFINITION) if is_mnp_job_definition(resource)]


def is_plain_json(value: Any) -> bool:
    """A value as CloudFormation will pass it (not UNKNOWN, not a reference to a resource's attribute).

    Rules use it to tell a wrong value written in the template (a violation) from one they cannot know.
    """
    return isinstance(value, str | int | float | bool | list | dict)


def mnp_scope(resource: Resource) -> NotApplicable | Unverifiable | None:
    """``None`` when an MNP-only rule applies to ``resource``; else the result the rule returns.

    A job definition whose ``Type`` the template does not fix but that has ``NodeProperties`` may well be
    multinode: the rule says it could not verify rather than staying silent or guessing.
    """
    if resource.type != JOB_DEFINITION:
        return NotApplicable(f"not an {JOB_DEFINITION}")
    kind = resource.get("Type")
    if kind is UNKNOWN:
        if resource.get("NodeProperties") is not None:
            return Unverifiable(f"the Type of job definition {resource.display_name} is not fixed by the template")
        return NotApplicable("Type is not fixed and there are no NodeProperties")
    if not same_text(kind, "multinode"):
        return NotApplicable("not a multinode job definition")
    return None


# --------------------------------------------------------------------------------------- container asks


@dataclass(frozen=True)
class ContainerNeeds:
    """What a container (or a node's task/pod) asks for: None where absent, UNKNOWN where unresolvable."""

    vcpus: Any
    memory_mib: Any
    gpus: Any


_ALL_UNKNOWN = ContainerNeeds(vcpus=UNKNOWN, memory_mib=UNKNOWN, gpus=UNKNOWN)


def _or_unknown(value: Any, unsure: bool) -> Any:
    return UNKNOWN if unsure and value is None else value


def container_needs(container: Mapping[str, Any]) -> ContainerNeeds:
    """vCPUs, memory (MiB) and GPUs of a resolved ECS container, from ``ResourceRequirements`` or the legacy
    ``Vcpus``/``Memory`` keys. An entry the template does not fix makes whatever stays unset UNKNOWN (it
    might be that entry), never "absent"."""
    if not isinstance(container, Mapping):
        return _ALL_UNKNOWN
    found: dict[str, Any] = {"VCPU": None, "MEMORY": None, "GPU": None}
    unsure = False
    requirements = container.get("ResourceRequirements")
    if isinstance(requirements, list):
        for requirement in requirements:
            kind = requirement.get("Type") if isinstance(requirement, Mapping) else UNKNOWN
            if not isinstance(kind, str):
                unsure = True
                continue
            key = kind.strip().upper()
            if key in found:
                value = requirement.get("Value")
                found[key] = as_float(value) if key == "VCPU" else as_int(value)
    elif requirements is not None:
        unsure = True
    if found["VCPU"] is None and "Vcpus" in container:
        found["VCPU"] = as_float(container["Vcpus"])
    if found["MEMORY"] is None and "Memory" in container:
        found["MEMORY"] = as_int(container["Memory"])
    return ContainerNeeds(
        vcpus=_or_unknown(found["VCPU"], unsure),
        memory_mib=_or_unknown(found["MEMORY"], unsure),
        gpus=_or_unknown(found["GPU"], unsure),
    )


_QUANTITY = re.compile(r"^\s*(?P<number>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>Mi|Gi)?\s*$")


def _eks_memory_mib(value: Any) -> Any:
    """Batch on EKS takes memory in MiB with an ``Mi`` suffix; ``Gi`` is read too, anything else is UNKNOWN."""
    if value is None:
        return None
    match = _QUANTITY.match(value) if isinstance(value, str) else None
    if match is None or match.group("unit") is None:
        return UNKNOWN
    number = float(match.group("number")) * (1024 if match.group("unit") == "Gi" else 1)
    return int(number) if number.is_integer() else UNKNOWN


def _eks_resource(container: Mapping[str, Any], name: str) -> Any:
    """A resource of an EKS container: ``requests`` if given, else ``limits`` (Batch copies limits into
    requests); None when absent, UNKNOWN when unresolvable."""
    resources = container.get("Resources")
    if resources is None:
        return None
    if not isinstance(resources, Mapping):
        return UNKNOWN
    for key in ("Requests", "Limits"):
        values = resources.get(key)
        if values is None:
            continue
        if not isinstance(values, Mapping):
            return UNKNOWN
        if name in values:
            return values[name]
    return None


def eks_container_needs(container: Mapping[str, Any]) -> ContainerNeeds:
    """vCPUs, memory (MiB) and GPUs of a resolved EKS container (``Resources.Requests``/``Limits``)."""
    if not isinstance(container, Mapping):
        return _ALL_UNKNOWN
    vcpus = _eks_resource(container, "cpu")
    gpus = _eks_resource(container, "nvidia.com/gpu")
    return ContainerNeeds(
        vcpus=vcpus if vcpus is None or vcpus is UNKNOWN else as_float(vcpus),
        memory_mib=_eks_memory_mib(_eks_resource(container, "memory")),
        gpus=gpus if gpus is None or gpus is UNKNOWN else as_int(gpus),
    )


def _combine(left: Any, right: Any, how: str) -> Any:
    if left is UNKNOWN or right is UNKNOWN:
        return UNKNOWN
    if left is None:
        return right
    if right is None:
        return left
    return left + right if how == "sum" else max(left, right)


def _combine_needs(needs: Iterable[ContainerNeeds], how: str) -> ContainerNeeds:
    total = ContainerNeeds(vcpus=None, memory_mib=None, gpus=None)
    for need in needs:
        total = ContainerNeeds(
            vcpus=_combine(total.vcpus, need.vcpus, how),
            memory_mib=_combine(total.memory_mib, need.memory_mib, how),
            gpus=_combine(total.gpus, need.gpus, how),
        )
    return total


# ------------------------------------------------------------------------------------------ node ranges

#: ``NodeRange.kind`` values.
KIND_CONTAINER = "container"  # Container (ECS)
KIND_ECS = "ecs"  # EcsProperties.TaskProperties[0].Containers
KIND_EKS = "eks"  # EksProperties.PodProperties
KIND_NONE = "none"  # none of the three
KIND_UNKNOWN = "unknown"  # the entry or its container part is not fixed by the template


@dataclass(frozen=True)
class NodeRange:
    """One entry of ``NodeProperties.NodeRangeProperties`` (resolved).

    ``target`` is None when ``TargetNodes`` is absent, malformed or not fixed (see :attr:`target_state`).
    ``container`` is the range's ECS container (for ``EcsProperties`` the first one; ``{}`` otherwise);
    ``containers`` holds all of them (ECS containers, or the EKS pod's containers). Use :attr:`needs` for
    what the node asks for in total.
    """

    position: int
    raw_target: Any
    target: TargetNodes | None
    container: Mapping[str, Any]
    kind: str = KIND_CONTAINER
    containers: tuple[Mapping[str, Any], ...] = ()
    init_containers: tuple[Mapping[str, Any], ...] = ()
    #: ``Container.InstanceType`` then the ``InstanceTypes`` entries (str, or UNKNOWN where not fixed).
    instance_type_names: tuple[Any, ...] = ()
    entry: Any = field(default=None, repr=False)

    @property
    def label(self) -> str:
        shown = _as_target_text(self.raw_target)
        text = render_value(shown) if isinstance(shown, str) else "not fixed"
        return f"node range #{self.position} (TargetNodes {text})"

    @property
    def target_state(self) -> str:
        """``parsed``, ``unknown`` (not fixed by the template) or ``malformed`` (absent or invalid)."""
        if self.target is not None:
            return "parsed"
        if not isinstance(self.entry, Mapping):
            return "unknown"
        # Plain JSON values are as CloudFormation will send them: wrong. Anything else (UNKNOWN, a Ref to a
        # resource) is only known after deploy.
        if self.raw_target is None or isinstance(self.raw_target, str | int | float | bool | list | dict):
            return "malformed"
        return "unknown"

    @cached_property
    def needs(self) -> ContainerNeeds:
        """What one node of this range asks for: its container, the sum over its ECS task's containers, or
        its EKS pod (sum over containers, at least each init container)."""
        if self.kind == KIND_UNKNOWN:
            return _ALL_UNKNOWN
        if self.kind == KIND_CONTAINER:
            return container_needs(self.container)
        if self.kind == KIND_ECS:
            return _combine_needs((container_needs(c) for c in self.containers), "sum")
        if self.kind == KIND_EKS:
            running = _combine_needs((eks_container_needs(c) for c in self.containers), "sum")
            init = [eks_container_needs(c) for c in self.init_containers]
            return _combine_needs([running, *init], "max")
        return ContainerNeeds(vcpus=None, memory_mib=None, gpus=None)

    def ecs_containers(self) -> tuple[Mapping[str, Any], ...]:
        """The ECS containers of the range (``Container`` or the ECS task's containers)."""
        if self.kind == KIND_CONTAINER:
            return (self.container,)
        if self.kind == KIND_ECS:
            return self.containers
        return ()


def _as_target_text(value: Any) -> Any:
    """``TargetNodes`` as text: CloudFormation passes a YAML number (``TargetNodes: 3``) as ``"3"``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _node_range(position: int, entry: Any) -> NodeRange:
    if not isinstance(entry, Mapping):
        return NodeRange(position, UNKNOWN, None, {}, KIND_UNKNOWN, instance_type_names=(UNKNOWN,), entry=UNKNOWN)
    raw_target = entry.get("TargetNodes")
    target: TargetNodes | None = None
    text = _as_target_text(raw_target)
    if isinstance(text, str):
        try:
            target = parse_target_nodes(text)
        except TargetNodesError:
            target = None
    kind = KIND_NONE
    container: Mapping[str, Any] = {}
    containers: tuple[Mapping[str, Any], ...] = ()
    init_containers: tuple[Mapping[str, Any], ...] = ()
    names: list[Any] = []
    if "Container" in entry:
        value = entry["Container"]
        if isinstance(value, Mapping):
            kind, container, containers = KIND_CONTAINER, value, (value,)
            if "InstanceType" in value:
                names.append(value["InstanceType"] if isinstance(value["InstanceType"], str) else UNKNOWN)
        else:
            kind = KIND_UNKNOWN
            names.append(UNKNOWN)
    elif "EcsProperties" in entry:
        kind, containers = _ecs_containers(entry["EcsProperties"])
        container = containers[0] if containers else {}
    elif "EksProperties" in entry:
        kind, containers, init_containers = _eks_containers(entry["EksProperties"])
    if "InstanceTypes" in entry:
        listed = entry["InstanceTypes"]
        if isinstance(listed, list):
            names.extend(item if isinstance(item, str) else UNKNOWN for item in listed)
        else:
            names.append(UNKNOWN)
    return NodeRange(
        position,
        raw_target,
        target,
        container,
        kind,
        containers,
        init_containers,
        tuple(names),
        entry,
    )


def _mappings(value: Any) -> tuple[Mapping[str, Any], ...] | None:
    """A list of mappings, or None when the list or one of its items is not fixed."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        return None
    return tuple(value)


def _ecs_containers(ecs: Any) -> tuple[str, tuple[Mapping[str, Any], ...]]:
    if not isinstance(ecs, Mapping):
        return KIND_UNKNOWN, ()
    tasks = _mappings(ecs.get("TaskProperties"))
    if tasks is None:
        return KIND_UNKNOWN, ()
    if not tasks:
        return KIND_NONE, ()
    containers = _mappings(tasks[0].get("Containers"))
    if containers is None:
        return KIND_UNKNOWN, ()
    return KIND_ECS, containers


def _eks_containers(eks: Any) -> tuple[str, tuple[Mapping[str, Any], ...], tuple[Mapping[str, Any], ...]]:
    pod = eks.get("PodProperties") if isinstance(eks, Mapping) else UNKNOWN
    if pod is None:
        return KIND_NONE, (), ()
    if not isinstance(pod, Mapping):
        return KIND_UNKNOWN, (), ()
    containers = _mappings(pod.get("Containers"))
    init_containers = _mappings(pod.get("InitContainers"))
    if containers is None or init_containers is None:
        return KIND_UNKNOWN, (), ()
    return KIND_EKS, containers, init_containers


def efa_requests(node_range: NodeRange) -> tuple[list[str], bool]:
    """How a range asks for EFA: mapped ``/dev/infiniband/*`` host devices (ECS) or the EKS extended
    resource ``vpc.amazonaws.com/efa``. Returns the descriptions and whether something was not fixed."""
    found: list[str] = []
    unsure = node_range.kind == KIND_UNKNOWN
    for container in node_range.ecs_containers():
        linux = container.get("LinuxParameters")
        if linux is None:
            continue
        devices = linux.get("Devices") if isinstance(linux, Mapping) else UNKNOWN
        if devices is None:
            continue
        if not isinstance(devices, list):
            unsure = True
            continue
        for device in devices:
            host_path = device.get("HostPath") if isinstance(device, Mapping) else UNKNOWN
            if isinstance(host_path, str):
                if host_path.strip().startswith(EFA_DEVICE_PREFIX):
                    found.append(f"device {host_path.strip()}")
            else:
                unsure = True
    if node_range.kind == KIND_EKS:
        for container in (*node_range.containers, *node_range.init_containers):
            value = _eks_resource(container, EKS_EFA_RESOURCE)
            count = as_int(value) if value is not None and value is not UNKNOWN else value
            if count is UNKNOWN:
                unsure = True
            elif isinstance(count, int) and count > 0:
                found.append(f"EKS resource {EKS_EFA_RESOURCE}: {count}")
    return found, unsure


# ------------------------------------------------------------------------------------- the job definition


@dataclass(frozen=True)
class NodeAssignment:
    """Nodes ``first..last`` and the range whose settings apply to them (None: no range covers them)."""

    first: int
    last: int
    node_range: NodeRange | None

    def describe(self) -> str:
        return describe_nodes(self.first, self.last)


class JobDefinitionModel:
    """The ``NodeProperties`` of an MNP job definition, resolved."""

    def __init__(self, resource: Resource) -> None:
        self.resource = resource
        self.node_properties = resource.get("NodeProperties")

    @property
    def known(self) -> bool:
        return isinstance(self.node_properties, Mapping)

    def _scalar(self, key: str) -> Any:
        if self.node_properties is None:
            return None
        if not isinstance(self.node_properties, Mapping):
            return UNKNOWN
        if key not in self.node_properties:
            return None
        return as_int(self.node_properties[key])

    @cached_property
    def num_nodes(self) -> Any:
        """``NumNodes`` as int, None when absent (or no ``NodeProperties``), UNKNOWN when unresolvable or
        not an integer."""
        return self._scalar("NumNodes")

    @cached_property
    def main_node(self) -> Any:
        """``MainNode`` as int, None when absent, UNKNOWN when unresolvable or not an integer."""
        return self._scalar("MainNode")

    def raw_scalar(self, key: str) -> Any:
        """The resolved ``NodeProperties`` value of ``key`` as written (for messages about bad values)."""
        if not isinstance(self.node_properties, Mapping):
            return self.node_properties
        return self.node_properties.get(key)

    @cached_property
    def range_entries(self) -> Any:
        """``NodeRangeProperties`` resolved: a list, None when absent, UNKNOWN when not fixed."""
        if self.node_properties is None:
            return None
        if not isinstance(self.node_properties, Mapping):
            return UNKNOWN
        entries = self.node_properties.get("NodeRangeProperties")
        if entries is None or isinstance(entries, list):
            return entries
        return UNKNOWN

    @cached_property
    def ranges(self) -> list[NodeRange] | None:
        """The node ranges, or None when ``NodeRangeProperties`` is absent or unresolvable."""
        entries = self.range_entries
        if not isinstance(entries, list):
            return None
        return [_node_range(position, entry) for position, entry in enumerate(entries)]

    @property
    def parsed_ranges(self) -> list[NodeRange]:
        return [r for r in self.ranges or [] if r.target is not None]

    @property
    def has_unknown_ranges(self) -> bool:
        """True when some range's ``TargetNodes`` (or the list itself) is not fixed by the template."""
        if self.ranges is None:
            return self.range_entries is UNKNOWN
        return any(r.target_state == "unknown" for r in self.ranges)

    @cached_property
    def instance_type(self) -> Any:
        """The one instance type of the job (lower-case str), None when none is set, UNKNOWN when
        unresolvable or when the ranges disagree (MNP006 reports that)."""
        names = {
            name.strip().lower() if isinstance(name, str) else UNKNOWN
            for node_range in (self.ranges or [])
            for name in node_range.instance_type_names
        }
        if self.ranges is None and self.range_entries is UNKNOWN:
            return UNKNOWN
        if not names:
            return None
        if len(names) == 1:
            (name,) = names
            return name
        return UNKNOWN

    def instance_type_of(self, node_range: NodeRange) -> Any:
        """The instance type a range's nodes run on: the one it names, else the job's (all nodes of an MNP
        job run on one type); None when nothing is named, UNKNOWN when not fixed or ambiguous."""
        names = {name.strip().lower() if isinstance(name, str) else UNKNOWN for name in node_range.instance_type_names}
        if len(names) == 1:
            (name,) = names
            return name
        if len(names) > 1:
            return UNKNOWN
        return self.instance_type

    def assignments(self) -> list[NodeAssignment] | None:
        """Nodes ``0..NumNodes-1`` in spans, each with the range whose settings apply (ranges with a parsed
        ``TargetNodes`` only); None when ``NumNodes`` or the range list is not fixed."""
        num_nodes = self.num_nodes
        if not isinstance(num_nodes, int) or self.ranges is None:
            return None
        ranges = self.parsed_ranges
        targets = [r.target for r in ranges if r.target is not None]
        result: list[NodeAssignment] = []
        for span in node_spans(targets, num_nodes):
            position = innermost(targets, span.covering, num_nodes)
            node_range = None if position is None else ranges[position]
            if result and result[-1].node_range is node_range and result[-1].last == span.first - 1:
                result[-1] = NodeAssignment(result[-1].first, span.last, node_range)
            else:
                result.append(NodeAssignment(span.first, span.last, node_range))
        return result

    def ranges_in_effect(self) -> list[tuple[NodeRange, list[NodeAssignment]]] | None:
        """Each range whose settings apply to at least one node, with those nodes (in range order).

        None when ``NumNodes`` or the ranges are not fixed: callers then cannot tell which settings apply.
        """
        assignments = self.assignments()
        if assignments is None:
            return None
        by_position: dict[int, tuple[NodeRange, list[NodeAssignment]]] = {}
        for assignment in assignments:
            if assignment.node_range is not None:
                entry = by_position.setdefault(assignment.node_range.position, (assignment.node_range, []))
                entry[1].append(assignment)
        return [by_position[position] for position in sorted(by_position)]


def describe_assignments(assignments: Sequence[NodeAssignment]) -> str:
    return ", ".join(a.describe() for a in assignments)


def is_number(value: Any) -> bool:
    """True for a number the template fixes (a resolved ask); False for UNKNOWN, None, booleans and text."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def number(value: float) -> str:
    """``72.0`` -> ``72``, ``0.5`` -> ``0.5`` (for messages)."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@per_resource
def job_definition_model(resource: Resource) -> JobDefinitionModel:
    """The :class:`JobDefinitionModel` of ``resource``, built once per template.

    Many rules read the same job definition (MNP004 reads every MNP job definition once per compute
    environment); sharing one model shares its resolved ``NodeProperties`` and cached properties.
    """
    return JobDefinitionModel(resource)


def model_with_ranges(
    resource: Resource, *, without_ranges: RuleResult | None = None
) -> JobDefinitionModel | NotApplicable | Unverifiable | RuleResult:
    """The model of an MNP job definition whose ``NodeRangeProperties`` the template fixes, for rules
    about node ranges; otherwise the result such a rule returns: the scope's (not MNP), an info when the
    ranges are not fixed, and ``without_ranges`` (default Compliant) when there are none."""
    if (scope := mnp_scope(resource)) is not None:
        return scope
    model = job_definition_model(resource)
    if model.ranges is None:
        if model.range_entries is UNKNOWN:
            return Unverifiable(f"the node ranges of job definition {resource.display_name} are not fixed")
        return without_ranges if without_ranges is not None else Compliant()
    return model


def required_integer(resource: Resource, key: str, *, expected: str) -> int | NonCompliant | Unverifiable:
    """A required integer of ``NodeProperties`` (``NumNodes``, ``MainNode``) of an MNP job definition, or the
    finding when it is missing or not an integer (``expected`` says what it should be, e.g. "a node
    index"); an info when the template does not fix it."""
    model = job_definition_model(resource)
    name = resource.display_name
    if model.node_properties is None:
        return NonCompliant(
            f"MNP job definition {name} has no NodeProperties, so no {key}; a multinode job definition requires them."
        )
    value = model._scalar(key)
    if value is None:
        return NonCompliant(f"MNP job definition {name} has no NodeProperties.{key}; it is required ({expected}).")
    if value is UNKNOWN:
        raw = model.raw_scalar(key)
        if is_plain_json(raw):
            return NonCompliant(f"MNP job definition {name} has {key} {render_value(raw)}, which is not {expected}.")
        return Unverifiable(f"the {key} of job definition {name} is not fixed by the template")
    assert isinstance(value, int)
    return value
