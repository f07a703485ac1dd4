"""Node groups of a multi-node parallel (MNP) job: which settings each node runs with, and what Batch sets.

Pure functions on API-shaped data (``nodeProperties`` as RegisterJobDefinition/DescribeJobDefinitions
spell it, ``nodeOverrides`` as SubmitJob takes it), standard library only, shared by the local runner,
``mnp submit`` and the rule pack:

* :func:`node_groups`: the node indexes ``0..numNodes-1`` split into spans that run with the same node
  range's settings. "You can nest node ranges (for example, 0:10 and 4:5). In this case, the 4:5 range
  properties override the 0:10 properties" (API ``NodeRangeProperty.targetNodes``): the core's
  :func:`~mnp_toolkit.core.target_nodes.innermost` picks the inner range.
* :func:`apply_node_overrides`: SubmitJob's ``nodeOverrides`` applied to a definition's ``nodeProperties``.
  ``numNodes`` may be overridden only when "there must be at least one node range in your job definition
  that has an open upper boundary, such as : or n:", "the lower boundary of the node range ... must be fewer
  than the number of nodes specified in the override" and "the main node index ... must be fewer than the
  number of nodes specified in the override" (API ``NodeOverrides.numNodes``). Each
  ``nodePropertyOverrides[].targetNodes`` must name one of the definition's node ranges (same first and last
  node): the override's ``containerOverrides`` then apply to that range's container.
* :func:`merge_container_overrides`: ``ContainerOverrides`` on a ``ContainerProperties``: ``command``
  replaces the command, ``environment`` overrides variables of the same name and adds the others,
  ``resourceRequirements`` replace the requirements of the same type, ``instanceType``/``vcpus``/``memory``
  replace theirs (API ``ContainerOverrides``).
* :func:`node_range_asks`: what each node of a range asks of its instance (``resourceRequirements`` VCPU,
  MEMORY and GPU, which win over the deprecated ``vcpus``/``memory``) and the instance type it names, for
  checks with :func:`mnp_toolkit.core.job_spec.exceeds_instance`.
* :func:`substitute_parameters`: ``Ref::name`` placeholders of a command replaced by the job's parameters
  (the definition's defaults, overridden by SubmitJob's ``parameters``; user guide "Parameter substitution").
  The guide shows placeholders only as whole arguments (``"-i", "Ref::inputfile"``) and is silent on a
  placeholder inside a longer argument, so only whole arguments are replaced; an unknown name stays as is.
* :func:`batch_environment`: the variables Batch sets on a node (user guide "AWS Batch job environment
  variables" and, for MNP jobs, "Environment variables"); ``AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS`` "is
  only set in multi-node parallel job child nodes. This variable isn't present on the main node."

Bad input never gets a silent default: every problem found is reported at once in a
:class:`NodeGroupsError`, each naming the field, the problem and the fix.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

from mnp_toolkit.core.limits import MIN_NODES, RESERVED_ENVIRONMENT_PREFIX
from mnp_toolkit.core.target_nodes import (
    TargetNodes,
    TargetNodesError,
    describe_nodes,
    innermost,
    node_spans,
    parse_target_nodes,
)

ENV_JOB_ID = "AWS_BATCH_JOB_ID"
ENV_JOB_ATTEMPT = "AWS_BATCH_JOB_ATTEMPT"
ENV_QUEUE_NAME = "AWS_BATCH_JQ_NAME"
ENV_COMPUTE_ENVIRONMENT_NAME = "AWS_BATCH_CE_NAME"
ENV_NODE_INDEX = "AWS_BATCH_JOB_NODE_INDEX"
ENV_NUM_NODES = "AWS_BATCH_JOB_NUM_NODES"
ENV_MAIN_NODE_INDEX = "AWS_BATCH_JOB_MAIN_NODE_INDEX"
ENV_MAIN_NODE_ADDRESS = "AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS"

#: ``ContainerOverrides`` fields that replace the container's value of the same name.
_REPLACED_FIELDS = ("command", "instanceType", "vcpus", "memory")
#: The ``ResourceRequirement`` types a container override may set (API ``ContainerOverrides``).
_RESOURCE_TYPES = frozenset({"GPU", "MEMORY", "VCPU"})


class NodeGroupsError(ValueError):
    """Node properties or overrides that Batch would reject; ``problems`` lists every one found."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True)
class NodeGroup:
    """Nodes ``first..last`` (inclusive) that run with the settings of ``nodeRangeProperties[range_index]``."""

    first: int
    last: int
    range_index: int
    target_nodes: str

    def covers(self, index: int) -> bool:
        return self.first <= index <= self.last

    def describe(self) -> str:
        return describe_nodes(self.first, self.last)


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _ranges(node_properties: Mapping[str, Any], problems: list[str], *, where: str) -> list[TargetNodes | None]:
    ranges = node_properties.get("nodeRangeProperties")
    if not isinstance(ranges, list) or not ranges:
        problems.append(f"{where}.nodeRangeProperties must be a non-empty list of node ranges")
        return []
    parsed: list[TargetNodes | None] = []
    for position, node_range in enumerate(ranges):
        field = f"{where}.nodeRangeProperties[{position}]"
        if not isinstance(node_range, Mapping):
            problems.append(f"{field} must be an object with targetNodes and container")
            parsed.append(None)
            continue
        try:
            parsed.append(parse_target_nodes(node_range.get("targetNodes")))  # type: ignore[arg-type]
        except TargetNodesError as error:
            problems.append(f"{field}.targetNodes: {error}; write n:m, :m, n: or n")
            parsed.append(None)
            continue
        container = node_range.get("container")
        if container is not None and not isinstance(container, Mapping):
            problems.append(f"{field}.container must be an object (ContainerProperties)")
    return parsed


def _groups(targets: Sequence[TargetNodes], num_nodes: int, problems: list[str], *, where: str) -> list[NodeGroup]:
    groups: list[NodeGroup] = []
    for span in node_spans(targets, num_nodes):
        position = innermost(targets, span.covering, num_nodes)
        if position is None:
            problems.append(
                f"{where}: no node range covers {span.describe()} of {num_nodes}; "
                "add a range (or make the last one open, n:) so the ranges cover 0:numNodes-1"
            )
            continue
        groups.append(NodeGroup(span.first, span.last, position, targets[position].text))
    return groups


def _check_structure(node_properties: Any, *, where: str) -> tuple[int, int, list[TargetNodes]]:
    """numNodes, mainNode and the parsed ranges (one per ``nodeRangeProperties`` entry, in order); any
    problem raises :class:`NodeGroupsError` listing them all."""
    problems: list[str] = []
    if not isinstance(node_properties, Mapping):
        raise NodeGroupsError([f"{where} must be an object with numNodes, mainNode and nodeRangeProperties"])
    raw_nodes = node_properties.get("numNodes")
    raw_main = node_properties.get("mainNode")
    num_nodes = raw_nodes if _is_int(raw_nodes) and raw_nodes >= MIN_NODES else None
    main_node = raw_main if _is_int(raw_main) and raw_main >= 0 else None
    if num_nodes is None:
        problems.append(f"{where}.numNodes is {raw_nodes!r}: it must be an integer of at least {MIN_NODES}")
    if main_node is None:
        problems.append(f"{where}.mainNode is {raw_main!r}: it must be a node index (an integer from 0)")
    elif num_nodes is not None and main_node >= num_nodes:
        problems.append(
            f"{where}.mainNode {main_node} is not a node of the job's {num_nodes}: it must be below numNodes"
        )
    parsed = _ranges(node_properties, problems, where=where)
    if problems or num_nodes is None or main_node is None:
        raise NodeGroupsError(problems)
    return num_nodes, main_node, [target for target in parsed if target is not None]


def node_groups(node_properties: Mapping[str, Any], *, where: str = "nodeProperties") -> list[NodeGroup]:
    """Split the job's nodes into groups by the node range whose settings apply (inner range wins).

    Raises :class:`NodeGroupsError` when ``numNodes``/``mainNode``/``targetNodes`` are malformed, a range
    names a node beyond ``numNodes``, or a node is covered by no range (every problem at once).
    """
    num_nodes, _, targets = _check_structure(node_properties, where=where)
    problems: list[str] = []
    for position, target in enumerate(targets):
        if target.highest_named_index() >= num_nodes:
            problems.append(
                f"{where}.nodeRangeProperties[{position}].targetNodes {target.text!r} names node "
                f"{target.highest_named_index()}, but the job has {num_nodes} nodes (0:{num_nodes - 1}); "
                "narrow the range or raise numNodes"
            )
    groups = _groups(targets, num_nodes, problems, where=where)
    if problems:
        raise NodeGroupsError(problems)
    return groups


def range_index_for_node(groups: Sequence[NodeGroup], node_index: int) -> int:
    """The position in ``nodeRangeProperties`` of the range whose settings node ``node_index`` runs with."""
    for group in groups:
        if group.covers(node_index):
            return group.range_index
    raise IndexError(f"node {node_index} is in no node group")


def node_container(node_properties: Mapping[str, Any], groups: Sequence[NodeGroup], node_index: int) -> dict[str, Any]:
    """A copy of the ``container`` (ContainerProperties) node ``node_index`` runs with."""
    node_range = node_properties["nodeRangeProperties"][range_index_for_node(groups, node_index)]
    return copy.deepcopy(dict(node_range.get("container") or {}))


@dataclass(frozen=True)
class NodeAsks:
    """What each node of a node range asks of its instance (None: not asked, or not a number)."""

    vcpus: float | None
    memory_mib: float | None
    gpus: float | None
    instance_type: str | None


def _asked(container: Mapping[str, Any], kind: str) -> float | None:
    """A ``resourceRequirements`` entry of ``kind`` (its value is a string in the API), else the deprecated
    field of the same meaning: a ``vcpus``/``memory`` override "doesn't override any vCPU [memory] requirement
    specified in the resourceRequirements structure" (API ``ContainerOverrides``), so the requirement wins."""
    for requirement in container.get("resourceRequirements") or []:
        if isinstance(requirement, Mapping) and str(requirement.get("type", "")).upper() == kind:
            try:
                asked = float(str(requirement.get("value")))
            except ValueError:
                return None
            return asked if math.isfinite(asked) else None
    legacy = {"VCPU": "vcpus", "MEMORY": "memory"}.get(kind)
    value = container.get(legacy) if legacy else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def node_range_asks(node_range: Mapping[str, Any]) -> NodeAsks:
    """The asks of one ``nodeRangeProperties`` entry's container: VCPU, MEMORY (MiB) and GPU requirements, and
    the instance type its nodes run on (``container.instanceType``, else the range's one-element
    ``instanceTypes``; None when neither names one and Batch picks from the compute environment)."""
    container = node_range.get("container")
    container = container if isinstance(container, Mapping) else {}
    instance_type = container.get("instanceType")
    listed = node_range.get("instanceTypes")
    if not (isinstance(instance_type, str) and instance_type.strip()) and isinstance(listed, list) and listed:
        instance_type = listed[0]
    return NodeAsks(
        vcpus=_asked(container, "VCPU"),
        memory_mib=_asked(container, "MEMORY"),
        gpus=_asked(container, "GPU"),
        instance_type=instance_type.strip() if isinstance(instance_type, str) and instance_type.strip() else None,
    )


# ------------------------------------------------------------------------------------------ overrides


def _environment_problems(environment: Any, *, where: str) -> list[str]:
    if not isinstance(environment, list):
        return [f"{where} must be a list of {{name, value}} objects"]
    problems: list[str] = []
    for position, variable in enumerate(environment):
        field = f"{where}[{position}]"
        if not isinstance(variable, Mapping) or not isinstance(variable.get("name"), str):
            problems.append(f"{field} must be an object with a string name (and a string value)")
            continue
        if not isinstance(variable.get("value", ""), str):
            problems.append(f"{field}.value must be a string")
        if variable["name"].startswith(RESERVED_ENVIRONMENT_PREFIX):
            problems.append(
                f"{field}.name {variable['name']!r} starts with {RESERVED_ENVIRONMENT_PREFIX}, which is reserved for "
                "the variables AWS Batch sets; rename the variable"
            )
    return problems


def container_override_problems(overrides: Any, *, where: str) -> list[str]:
    """Every problem of a ``ContainerOverrides`` object (types, reserved variable names)."""
    if not isinstance(overrides, Mapping):
        return [f"{where} must be an object (ContainerOverrides)"]
    problems: list[str] = []
    command = overrides.get("command")
    if command is not None and (not isinstance(command, list) or not all(isinstance(a, str) for a in command)):
        problems.append(f"{where}.command must be a list of strings (exec form)")
    if "environment" in overrides:
        problems += _environment_problems(overrides["environment"], where=f"{where}.environment")
    requirements = overrides.get("resourceRequirements")
    if requirements is not None:
        if not isinstance(requirements, list):
            problems.append(f"{where}.resourceRequirements must be a list of {{type, value}} objects")
        else:
            for position, requirement in enumerate(requirements):
                field = f"{where}.resourceRequirements[{position}]"
                if (
                    not isinstance(requirement, Mapping)
                    or requirement.get("type") not in _RESOURCE_TYPES
                    or not isinstance(requirement.get("value"), str)
                ):
                    problems.append(f"{field} must be {{type: GPU|MEMORY|VCPU, value: string}}")
    for name in ("vcpus", "memory"):
        if name in overrides and not _is_int(overrides[name]):
            problems.append(f"{where}.{name} must be an integer")
    if "instanceType" in overrides and not isinstance(overrides["instanceType"], str):
        problems.append(f"{where}.instanceType must be a string")
    return problems


def merge_container_overrides(container: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``container`` with ``overrides`` (ContainerOverrides, already checked) applied; a new dict."""
    merged = copy.deepcopy(dict(container))
    for name in _REPLACED_FIELDS:
        if name in overrides:
            merged[name] = copy.deepcopy(overrides[name])
    if "environment" in overrides:
        variables = {v["name"]: str(v.get("value", "")) for v in merged.get("environment") or []}
        for variable in overrides["environment"]:
            variables[variable["name"]] = str(variable.get("value", ""))
        merged["environment"] = [{"name": name, "value": value} for name, value in variables.items()]
    if "resourceRequirements" in overrides:
        replaced = {requirement["type"] for requirement in overrides["resourceRequirements"]}
        kept = [r for r in merged.get("resourceRequirements") or [] if r.get("type") not in replaced]
        merged["resourceRequirements"] = kept + copy.deepcopy(list(overrides["resourceRequirements"]))
    return merged


def apply_node_overrides(
    node_properties: Mapping[str, Any], node_overrides: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The ``nodeProperties`` a job submitted with ``node_overrides`` runs with (a new dict).

    Checks the definition's own properties (:func:`node_groups`) and the overrides as SubmitJob does (see
    the module doc), and raises :class:`NodeGroupsError` with every problem found.
    """
    effective = copy.deepcopy(dict(node_properties))
    if node_overrides is None:
        node_groups(effective)
        return effective
    if not isinstance(node_overrides, Mapping):
        raise NodeGroupsError(["nodeOverrides must be an object with numNodes and/or nodePropertyOverrides"])
    _, main_node, parsed = _check_structure(effective, where="job definition nodeProperties")
    problems: list[str] = []
    if "numNodes" in node_overrides:
        problems += _num_nodes_problems(node_overrides["numNodes"], main_node=main_node, targets=parsed)
        if not problems:
            effective["numNodes"] = node_overrides["numNodes"]
    overrides = node_overrides.get("nodePropertyOverrides")
    if overrides is not None:
        problems += _apply_property_overrides(effective, overrides, parsed)
    if problems:
        raise NodeGroupsError(problems)
    node_groups(effective, where="nodeProperties (after nodeOverrides)")
    return effective


def num_nodes_conflicts(
    num_nodes: int, *, main_node: int | None, targets: Sequence[TargetNodes]
) -> list[tuple[str, int]]:
    """Why ``nodeOverrides.numNodes`` = ``num_nodes`` breaks SubmitJob's conditions ("There must be at least
    one node range in your job definition that has an open upper boundary, such as : or n:"; "The lower
    boundary of the node range ... must be fewer than the number of nodes specified in the override"; "The
    main node index ... must be fewer than the number of nodes"): ``("no_open_range", 0)``,
    ``("open_range_start", lowest start)``, ``("main_node", index)``. The one decision the emulator and
    ``mnp submit`` word their own way."""
    open_ranges = [target for target in targets if target.is_open]
    if not open_ranges:
        return [("no_open_range", 0)]
    conflicts: list[tuple[str, int]] = []
    lowest = min(target.start for target in open_ranges)
    if lowest >= num_nodes:
        conflicts.append(("open_range_start", lowest))
    if main_node is not None and main_node >= num_nodes:
        conflicts.append(("main_node", main_node))
    return conflicts


def _num_nodes_problems(num_nodes: Any, *, main_node: int, targets: Sequence[TargetNodes]) -> list[str]:
    if not _is_int(num_nodes) or num_nodes < MIN_NODES:
        return [f"nodeOverrides.numNodes is {num_nodes!r}: it must be an integer of at least {MIN_NODES}"]
    listed = ", ".join(target.text for target in targets)
    problems: list[str] = []
    for kind, value in num_nodes_conflicts(num_nodes, main_node=main_node, targets=targets):
        if kind == "no_open_range":
            problems.append(
                f"nodeOverrides.numNodes {num_nodes} needs a node range with an open upper boundary (: or n:) in "
                f"the job definition, whose ranges are {listed}; register a revision whose last range is open, or "
                "submit without numNodes"
            )
        elif kind == "open_range_start":
            problems.append(
                f"nodeOverrides.numNodes {num_nodes} must be more than the lower boundary of the open node range "
                f"({value}:); ask for at least {value + 1} nodes"
            )
        else:
            problems.append(
                f"nodeOverrides.numNodes {num_nodes} must be more than the job definition's mainNode {value}; "
                f"ask for at least {value + 1} nodes"
            )
    return problems


def _apply_property_overrides(effective: dict[str, Any], overrides: Any, targets: Sequence[TargetNodes]) -> list[str]:
    if not isinstance(overrides, list):
        return ["nodeOverrides.nodePropertyOverrides must be a list of {targetNodes, containerOverrides} objects"]
    problems: list[str] = []
    listed = ", ".join(target.text for target in targets)
    seen: dict[int, int] = {}
    pending: list[tuple[int, Mapping[str, Any]]] = []
    for position, override in enumerate(overrides):
        where = f"nodeOverrides.nodePropertyOverrides[{position}]"
        if not isinstance(override, Mapping):
            problems.append(f"{where} must be an object with targetNodes and containerOverrides")
            continue
        try:
            wanted = parse_target_nodes(override.get("targetNodes"))  # type: ignore[arg-type]
        except TargetNodesError as error:
            problems.append(f"{where}.targetNodes: {error}; write n:m, :m, n: or n")
            continue
        matches = [
            index for index, target in enumerate(targets) if (target.start, target.end) == (wanted.start, wanted.end)
        ]
        if not matches:
            problems.append(
                f"{where}.targetNodes {wanted.text!r} is not a node range of the job definition ({listed}); "
                "target one of those ranges (same first and last node)"
            )
            continue
        range_index = matches[0]
        if range_index in seen:
            problems.append(
                f"{where}.targetNodes {wanted.text!r} overrides the same node range as "
                f"nodePropertyOverrides[{seen[range_index]}]; merge the two overrides into one"
            )
            continue
        seen[range_index] = position
        container_overrides = override.get("containerOverrides")
        if container_overrides is None:
            continue
        found = container_override_problems(container_overrides, where=f"{where}.containerOverrides")
        if found:
            problems += found
            continue
        pending.append((range_index, container_overrides))
    if not problems:
        for range_index, container_overrides in pending:
            node_range = effective["nodeRangeProperties"][range_index]
            node_range["container"] = merge_container_overrides(node_range.get("container") or {}, container_overrides)
    return problems


# ------------------------------------------------------------------------------ command and environment


def substitute_parameters(command: Sequence[str], parameters: Mapping[str, str]) -> list[str]:
    """Replace each argument that is exactly ``Ref::name`` by ``parameters[name]`` (see the module doc)."""
    substituted: list[str] = []
    for argument in command:
        name = argument[len("Ref::") :] if argument.startswith("Ref::") else None
        substituted.append(str(parameters[name]) if name is not None and name in parameters else argument)
    return substituted


def batch_environment(
    *,
    job_id: str,
    node_index: int,
    num_nodes: int,
    main_node: int,
    attempt: int,
    queue_name: str,
    compute_environment_name: str,
    main_node_address: str | None,
) -> dict[str, str]:
    """The ``AWS_BATCH_*`` variables Batch sets on node ``node_index`` (``job_id`` is the node's ``JOB#N``).

    ``main_node_address`` is the main node's private IPv4 address; it is set on child nodes only.
    """
    environment = {
        ENV_JOB_ID: job_id,
        ENV_JOB_ATTEMPT: str(attempt),
        ENV_QUEUE_NAME: queue_name,
        ENV_COMPUTE_ENVIRONMENT_NAME: compute_environment_name,
        ENV_NODE_INDEX: str(node_index),
        ENV_NUM_NODES: str(num_nodes),
        ENV_MAIN_NODE_INDEX: str(main_node),
    }
    if node_index != main_node:
        if main_node_address is None:
            raise ValueError(f"child node {node_index} needs the main node's address")
        environment[ENV_MAIN_NODE_ADDRESS] = main_node_address
    return environment


def container_environment(container: Mapping[str, Any]) -> dict[str, str]:
    """The container's own ``environment`` as a name -> value mapping (later entries win)."""
    return {str(v["name"]): str(v.get("value", "")) for v in container.get("environment") or [] if "name" in v}


__all__ = [
    "ENV_COMPUTE_ENVIRONMENT_NAME",
    "ENV_JOB_ATTEMPT",
    "ENV_JOB_ID",
    "ENV_MAIN_NODE_ADDRESS",
    "ENV_MAIN_NODE_INDEX",
    "ENV_NODE_INDEX",
    "ENV_NUM_NODES",
    "ENV_QUEUE_NAME",
    "NodeAsks",
    "NodeGroup",
    "NodeGroupsError",
    "apply_node_overrides",
    "batch_environment",
    "container_environment",
    "container_override_problems",
    "merge_container_overrides",
    "node_container",
    "node_groups",
    "node_range_asks",
    "range_index_for_node",
    "substitute_parameters",
]
