"""A multi-node parallel job as the config and the constructs describe it, and the verdicts on it.

The config (``mnp_toolkit.config``), the constructs (``constructs_lib.MnpJobDefinition``) and the rule pack
must give one verdict on the same job: the config and the constructs call :func:`check_job` (an error
rejects the job, a warning is reported), and the pack's job-definition rules decide with the same
functions on what a template fixes (:func:`job_vcpus`, :func:`exceeds_instance`, :func:`below_minimum`,
:func:`~mnp_toolkit.core.target_nodes.relation`, :func:`~mnp_toolkit.core.target_nodes.uncovered`). A
property-based test generates jobs and checks that all three agree.

Each :class:`Verdict` names the catalog rule it stands for (``MNP009``...), its level (as the catalog
gives it), the field of the job (``node_groups[1].target_nodes``, the config's and the construct's name
for it), what is wrong and the fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from mnp_toolkit.core import instance_types
from mnp_toolkit.core.instance_types import InstanceTypeFacts
from mnp_toolkit.core.limits import (
    DEFAULT_MAX_NODES,
    MAX_NODE_RANGES,
    MAX_RETRY_ATTEMPTS,
    MIN_MEMORY_MIB,
    MIN_NODES,
    MIN_RETRY_ATTEMPTS,
    MIN_VCPUS,
)
from mnp_toolkit.core.target_nodes import (
    TargetNodes,
    TargetNodesError,
    innermost,
    node_spans,
    parse_target_nodes,
    relation,
    shared_nodes,
    spans_text,
    uncovered,
)

Level = Literal["error", "warning"]
#: The node group a job has when it names none: every node.
ALL_NODES = "0:"


@dataclass(frozen=True)
class Verdict:
    """One finding on a job spec: the catalog rule, its level, the field, what is wrong and the fix."""

    rule: str
    level: Level
    field: str
    message: str
    fix: str

    @property
    def is_error(self) -> bool:
        return self.level == "error"

    def __str__(self) -> str:
        return f"{self.field}: {self.message} ({self.rule}; fix: {self.fix})"


@dataclass(frozen=True, kw_only=True)
class NodeGroupSpec:
    """Settings for a range of nodes; ``None`` inherits the job's value."""

    target_nodes: str
    vcpus: float | None = None
    memory_mib: int | None = None
    gpus: int | None = None


@dataclass(frozen=True, kw_only=True)
class JobSpec:
    """A multi-node parallel job: one instance type, ``num_nodes`` nodes, up to five node groups.

    ``vcpus``/``memory_mib`` left ``None`` mean the whole instance: all its vCPUs and the memory the
    instance type leaves to containers (:attr:`InstanceTypeFacts.container_memory_mib`). ``open_ended``
    says whether the group reaching the last node is rendered ``n:`` (so ``numNodes`` can be overridden at
    submit time).
    """

    instance_type: str
    num_nodes: int
    main_node: int = 0
    node_groups: tuple[NodeGroupSpec, ...] = ()
    vcpus: float | None = None
    memory_mib: int | None = None
    gpus: int = 0
    retry_attempts: int = 1
    open_ended: bool = True
    efa: bool = False

    @property
    def groups(self) -> tuple[NodeGroupSpec, ...]:
        return self.node_groups or (NodeGroupSpec(target_nodes=ALL_NODES),)

    @property
    def facts(self) -> InstanceTypeFacts | None:
        return instance_types.lookup(self.instance_type)


@dataclass(frozen=True)
class NodeSettings:
    """What every node of a group asks for, after inheritance and defaults (None: cannot be known)."""

    vcpus: float | None
    memory_mib: int | None
    gpus: int


def group_field(position: int | None, name: str) -> str:
    return name if position is None else f"node_groups[{position}].{name}"


def node_settings(spec: JobSpec, group: NodeGroupSpec) -> NodeSettings:
    """A group's asks: its own value, else the job's, else the whole instance (None when the instance
    type is not in the facts table and nothing is set)."""
    facts = spec.facts
    vcpus = group.vcpus if group.vcpus is not None else spec.vcpus
    memory = group.memory_mib if group.memory_mib is not None else spec.memory_mib
    if vcpus is None and facts is not None:
        vcpus = facts.vcpus
    if memory is None and facts is not None:
        memory = facts.container_memory_mib
    return NodeSettings(vcpus=vcpus, memory_mib=memory, gpus=group.gpus if group.gpus is not None else spec.gpus)


def job_vcpus(num_nodes: int, instance_vcpus: int | None, spans: Sequence[tuple[int, float]]) -> float:
    """The vCPUs a compute environment must provide at once to start a job.

    Batch gives every node an instance of its own, so with the instance type known that is ``num_nodes`` x
    its vCPUs; without it, the sum of every node's VCPU ask: ``spans`` are (node count, vCPUs per node) of
    the spans of nodes that share one group's settings.
    """
    if instance_vcpus is not None:
        return float(num_nodes * instance_vcpus)
    return float(sum(count * vcpus for count, vcpus in spans))


def exceeds_instance(
    *, vcpus: float | None, memory_mib: int | None, gpus: int | None, facts: InstanceTypeFacts
) -> list[tuple[str, float, int]]:
    """The asks of one node above what its instance offers containers: ``(what, asked, offered)`` for
    ``vcpus``, ``memory_mib`` (against :attr:`InstanceTypeFacts.schedulable_memory_mib`) and ``gpus``.
    Such a job waits in RUNNABLE for ever (MNP015)."""
    found: list[tuple[str, float, int]] = []
    if vcpus is not None and vcpus > facts.vcpus:
        found.append(("vcpus", vcpus, facts.vcpus))
    if memory_mib is not None and memory_mib > facts.schedulable_memory_mib:
        found.append(("memory_mib", memory_mib, facts.schedulable_memory_mib))
    if gpus is not None and gpus > facts.gpus:
        found.append(("gpus", gpus, facts.gpus))
    return found


def below_minimum(
    *, vcpus: float | None, memory_mib: int | None, min_vcpus: float = MIN_VCPUS
) -> list[tuple[str, float | None, float]]:
    """The asks of one node below what Batch accepts (MNP016): ``(what, asked or None, minimum)``."""
    found: list[tuple[str, float | None, float]] = []
    if memory_mib is None or memory_mib < MIN_MEMORY_MIB:
        found.append(("memory_mib", memory_mib, MIN_MEMORY_MIB))
    if vcpus is None or vcpus < min_vcpus:
        found.append(("vcpus", vcpus, min_vcpus))
    return found


def check_job(spec: JobSpec) -> list[Verdict]:
    """Every verdict on ``spec``, errors and warnings, in field order (all of them at once)."""
    verdicts: list[Verdict] = []
    num_nodes = spec.num_nodes
    if num_nodes < MIN_NODES:
        verdicts.append(
            Verdict("MNP008", "error", "num_nodes", f"is {num_nodes}; a job has at least 1 node", "use 1 or more")
        )
    elif num_nodes > DEFAULT_MAX_NODES:
        verdicts.append(
            Verdict(
                "MNP109",
                "warning",
                "num_nodes",
                f"is {num_nodes}, above the default limit of {DEFAULT_MAX_NODES:,} nodes per job",
                "use at most 1,000, or have the limit raised and acknowledge MNP109",
            )
        )
    elif num_nodes == 1:
        verdicts.append(
            Verdict(
                "MNP103",
                "warning",
                "num_nodes",
                "is 1: a single-node job is cheaper and simpler as a container job",
                "use 2 or more nodes, or a container job definition",
            )
        )
    if num_nodes >= MIN_NODES and not 0 <= spec.main_node < num_nodes:
        verdicts.append(
            Verdict(
                "MNP011",
                "error",
                "main_node",
                f"is {spec.main_node} but the job has nodes 0 to {num_nodes - 1}",
                "choose a node index between 0 and num_nodes - 1",
            )
        )
    groups = spec.groups
    if len(groups) > MAX_NODE_RANGES:
        verdicts.append(
            Verdict(
                "MNP007",
                "error",
                "node_groups",
                f"has {len(groups)} groups; AWS Batch allows at most {MAX_NODE_RANGES}",
                "merge groups, or nest ranges instead of listing more",
            )
        )
    verdicts.extend(_range_verdicts(spec, groups))
    if not MIN_RETRY_ATTEMPTS <= spec.retry_attempts <= MAX_RETRY_ATTEMPTS:
        verdicts.append(
            Verdict(
                "MNP017",
                "error",
                "retry_attempts",
                f"is {spec.retry_attempts}",
                f"use {MIN_RETRY_ATTEMPTS} (no retry) to {MAX_RETRY_ATTEMPTS} attempts",
            )
        )
    facts = spec.facts
    if spec.efa and facts is not None and not facts.efa_supported:
        verdicts.append(
            Verdict(
                "MNP107",
                "warning",
                "efa",
                f"is set but instance type {facts.name} does not support EFA: the EFA devices do not exist there",
                "choose an EFA-capable type (for example c5n.18xlarge, p4d.24xlarge) or turn efa off",
            )
        )
    return verdicts


def _range_verdicts(spec: JobSpec, groups: Sequence[NodeGroupSpec]) -> list[Verdict]:
    """Verdicts on the node groups. Like the rule pack, ranges that do not parse are MNP009's and left
    out of the rest; the asks are judged for the groups in effect, the innermost range of some node (a
    group that nested ranges override for all its nodes applies to none)."""
    verdicts: list[Verdict] = []
    num_nodes = spec.num_nodes
    parsed: list[tuple[int | None, int, TargetNodes]] = []  # (field position, index into groups, target)
    positions = [None] if not spec.node_groups else list(range(len(groups)))
    for index, (position, group) in enumerate(zip(positions, groups, strict=True)):
        field = group_field(position, "target_nodes")
        try:
            target = parse_target_nodes(group.target_nodes)
        except TargetNodesError as error:
            verdicts.append(
                Verdict("MNP009", "error", field, str(error), "use 'n', 'n:m', ':m' or 'n:' with start <= end")
            )
            continue
        parsed.append((position, index, target))
        reach = target.highest_named_index()
        if num_nodes >= MIN_NODES and reach >= num_nodes:
            verdicts.append(
                Verdict(
                    "MNP009",
                    "error",
                    field,
                    f"{group.target_nodes!r} reaches node {reach} but the job has nodes 0 to {num_nodes - 1}",
                    "keep every range inside 0..num_nodes-1 (or raise num_nodes)",
                )
            )
    targets = [target for _, _, target in parsed]
    if num_nodes >= MIN_NODES:
        gaps = uncovered(targets, num_nodes)
        if gaps:
            verdicts.append(
                Verdict(
                    "MNP010",
                    "error",
                    "node_groups",
                    f"no group covers {spans_text(gaps)} of 0 to {num_nodes - 1}",
                    "add a group for those nodes, or widen a range (for example make the last one 'n:')",
                )
            )
    size = num_nodes if num_nodes >= MIN_NODES else None
    for left_number, (left_position, _, left) in enumerate(parsed):
        for right_position, _, right in parsed[left_number + 1 :]:
            if size is not None and (left.start >= size or right.start >= size):
                continue
            if relation(left, right, size) == "partial":
                verdicts.append(
                    Verdict(
                        "MNP108",
                        "warning",
                        group_field(right_position, "target_nodes"),
                        f"{right.text!r} and {left.text!r} (node_groups[{left_position}]) overlap on "
                        f"{shared_nodes(left, right, size)} without one nesting inside the other: which "
                        "settings win there is not documented",
                        "make the ranges disjoint, or put one wholly inside the other",
                    )
                )
    if parsed and num_nodes >= MIN_NODES:
        open_ended = any(
            target.is_open or (spec.open_ended and target.last_index(num_nodes) == num_nodes - 1) for target in targets
        )
        if not open_ended:
            verdicts.append(
                Verdict(
                    "MNP104",
                    "warning",
                    "node_groups",
                    "no range is open-ended (n:), so numNodes cannot be overridden at submit time",
                    "make the range that reaches the last node open, e.g. 'n:'",
                )
            )
    in_effect = sorted(
        {
            parsed[number][1]
            for span in node_spans(targets, num_nodes)
            if (number := innermost(targets, span.covering, num_nodes)) is not None
        }
        if num_nodes >= MIN_NODES
        else set()
    )
    for index in in_effect:
        verdicts.extend(_needs_verdicts(spec, groups[index], positions[index]))
    well_formed = {index for _, index, _ in parsed}
    verdicts.extend(_written_below_minimum(spec, groups, positions, well_formed, already={v.field for v in verdicts}))
    return verdicts


def _written_below_minimum(
    spec: JobSpec,
    groups: Sequence[NodeGroupSpec],
    positions: Sequence[int | None],
    well_formed: set[int],
    *,
    already: set[str],
) -> list[Verdict]:
    """A value written below what Batch accepts is wrong wherever it is written, also in a group that
    nested ranges override for all its nodes (MNP016 judges every range's literal asks; only a missing
    ask is fine where no node uses the range). A group whose range does not parse is MNP009's."""
    found: list[Verdict] = []
    written: list[tuple[str, float | None, float]] = [
        ("vcpus", spec.vcpus, MIN_VCPUS),
        ("memory_mib", spec.memory_mib, MIN_MEMORY_MIB),
        ("gpus", spec.gpus, 0),
    ]
    for index, (position, group) in enumerate(zip(positions, groups, strict=True)):
        if position is not None and index in well_formed:
            written += [
                (group_field(position, "vcpus"), group.vcpus, MIN_VCPUS),
                (group_field(position, "memory_mib"), group.memory_mib, MIN_MEMORY_MIB),
                (group_field(position, "gpus"), group.gpus, 0),
            ]
    for field, value, minimum in written:
        if value is not None and value < minimum and field not in already:
            already.add(field)
            found.append(Verdict("MNP016", "error", field, f"is {value:g}", f"use at least {minimum:g}"))
    return found


def _needs_verdicts(spec: JobSpec, group: NodeGroupSpec, position: int | None) -> list[Verdict]:
    verdicts: list[Verdict] = []
    settings = node_settings(spec, group)
    where = f"node group {group.target_nodes!r}"

    def field_of(name: str) -> str:
        own = getattr(group, name, None) if position is not None else None
        return group_field(position if own is not None else None, name)

    for name, asked, minimum in below_minimum(vcpus=settings.vcpus, memory_mib=settings.memory_mib):
        if asked is None:
            verdicts.append(
                Verdict(
                    "MNP016",
                    "error",
                    field_of(name),
                    f"is not set for {where} and the toolkit does not know instance type {spec.instance_type} "
                    "(so it cannot default to the whole instance)",
                    f"set {name}",
                )
            )
        else:
            verdicts.append(
                Verdict("MNP016", "error", field_of(name), f"is {asked:g} for {where}", f"use at least {minimum:g}")
            )
    if settings.gpus < 0:
        verdicts.append(Verdict("MNP016", "error", field_of("gpus"), f"is {settings.gpus}", "use 0 or more"))
    facts = spec.facts
    if facts is not None:
        for name, asked, offered in exceeds_instance(
            vcpus=settings.vcpus, memory_mib=settings.memory_mib, gpus=settings.gpus, facts=facts
        ):
            what = {"vcpus": "vCPUs", "memory_mib": "MiB", "gpus": "GPUs"}[name]
            offers = "offers containers at most" if name == "memory_mib" else "has"
            verdicts.append(
                Verdict(
                    "MNP015",
                    "error",
                    field_of(name),
                    f"{where} asks for {asked:g} {what} but {facts.name} {offers} {offered}; the job would wait in "
                    "RUNNABLE for ever",
                    f"ask for at most {offered}, or choose a larger instance type",
                )
            )
    return verdicts


def required_vcpus(spec: JobSpec) -> float | None:
    """The vCPUs a compute environment needs to start ``spec``: ``num_nodes`` x the vCPUs of its instance
    type. None when the facts table does not know the type: its size is unknown (the sum of the nodes'
    asks would only be a lower bound, too small whenever the instance is larger than the ask), so the
    compute environment's ``max_vcpus`` must be given."""
    facts = spec.facts
    if facts is None:
        return None
    return job_vcpus(spec.num_nodes, facts.vcpus, ())


__all__ = [
    "ALL_NODES",
    "JobSpec",
    "NodeGroupSpec",
    "NodeSettings",
    "Verdict",
    "below_minimum",
    "check_job",
    "exceeds_instance",
    "group_field",
    "job_vcpus",
    "node_settings",
    "required_vcpus",
]
