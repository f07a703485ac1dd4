"""MNP016: a node of an MNP job definition has no memory requirement of at least 4 MiB, or fewer than 1 vCPU.

On EKS (``EksProperties``) the CPU minimum is 0.25 (Batch on EKS takes CPU in quarters), and memory and
CPU come from the pod's requests, else its limits.

"Counting nested ranges": every node index is checked with the settings of the range that applies to it
(the innermost covering range), so a wide range without requirements is fine where nested ranges override
it for all its nodes, and a nested range without them is not. A missing VCPU requirement counts as fewer
than 1 vCPU. A node range's ask is its container's, or the sum over its ECS task's or EKS pod's containers.
When ``NumNodes`` or a ``TargetNodes`` is not fixed, which settings apply is unknown: findings are infos.
"""

from __future__ import annotations

from mnp_toolkit.core.job_spec import below_minimum
from mnp_toolkit.core.limits import CONTAINER_PROPERTIES_API_URL, MIN_EKS_VCPUS, MIN_MEMORY_MIB, MIN_VCPUS
from mnp_toolkit.lint.model.job_definitions import (
    KIND_EKS,
    JobDefinitionModel,
    NodeAssignment,
    NodeRange,
    describe_assignments,
    is_number,
    job_definition_model,
    mnp_scope,
    number,
)
from mnp_toolkit.lint.model.resource_types import JOB_DEFINITION
from mnp_toolkit.lint.rule import Level, NonCompliant, Problem, Rule, RuleResult
from mnp_toolkit.lint.rules.job_definition._per_node import check_ranges_in_effect
from mnp_toolkit.lint.template import UNKNOWN, Resource, Template


def _range_problems(
    resource: Resource, model: JobDefinitionModel, node_range: NodeRange, nodes: list[NodeAssignment] | None
) -> tuple[list[Problem], bool]:
    needs = node_range.needs
    where = f"{node_range.label}{f' ({describe_assignments(nodes)})' if nodes else ''}"
    problems: list[Problem] = []
    unsure = False
    memory, vcpus = needs.memory_mib, needs.vcpus
    minimum = MIN_EKS_VCPUS if node_range.kind == KIND_EKS else MIN_VCPUS
    # The decision is the core's (one verdict with the config and the constructs); this rule words it.
    below = {
        name
        for name, _, _ in below_minimum(
            vcpus=vcpus if is_number(vcpus) else None,
            memory_mib=memory if is_number(memory) else None,
            min_vcpus=minimum,
        )
    }
    if memory is UNKNOWN:
        unsure = True
    elif memory is None:
        problems.append(
            Problem(
                f"MNP job definition {resource.display_name}: {where} has no MEMORY resource requirement; "
                f"every node needs at least {MIN_MEMORY_MIB} MiB.",
                f"Add a MEMORY resource requirement (>= {MIN_MEMORY_MIB} MiB) to {node_range.label}: "
                "MnpJobDefinition/NodeGroup memory_mib (default: the instance's container_memory_mib), or "
                "aws-cdk-lib EcsEc2ContainerDefinition memory.",
            )
        )
    elif "memory_mib" in below:
        problems.append(
            Problem(
                f"MNP job definition {resource.display_name}: {where} asks for {number(memory)} MiB of memory; "
                f"the minimum is {MIN_MEMORY_MIB} MiB.",
                f"Raise the MEMORY requirement of {node_range.label} to at least {MIN_MEMORY_MIB} MiB "
                "(MnpJobDefinition/NodeGroup memory_mib; EcsEc2ContainerDefinition memory).",
            )
        )
    if vcpus is UNKNOWN:
        unsure = True
    elif "vcpus" in below:
        shown = "has no VCPU resource requirement" if vcpus is None else f"asks for {number(vcpus)} vCPUs"
        problems.append(
            Problem(
                f"MNP job definition {resource.display_name}: {where} {shown}; every node needs at least "
                f"{number(minimum)} vCPU.",
                f"Set the VCPU requirement of {node_range.label} to at least {number(minimum)}: MnpJobDefinition/"
                "NodeGroup vcpus (default: all vCPUs of the instance), or aws-cdk-lib "
                "EcsEc2ContainerDefinition cpu (EKS: the container's cpu request).",
            )
        )
    return problems, unsure


def check(resource: Resource, template: Template) -> RuleResult:
    result = check_ranges_in_effect(resource, _range_problems, unsure_about="a memory or VCPU requirement")
    written = _written_below_minimum_outside_effect(resource)
    if not written:
        return result
    return NonCompliant(*(result.problems if isinstance(result, NonCompliant) else ()), *written)


def _written_below_minimum_outside_effect(resource: Resource) -> list[Problem]:
    """A range that applies to no node (nested ranges override it) may leave its asks out, but an ask
    written below the minimum is wrong wherever it is written (as the config and the constructs judge it)."""
    if mnp_scope(resource) is not None:
        return []
    model = job_definition_model(resource)
    in_effect = model.ranges_in_effect()
    if in_effect is None or model.ranges is None:
        return []  # every range was checked as if in effect
    governing = {node_range.position for node_range, _ in in_effect}
    problems: list[Problem] = []
    for node_range in model.ranges:
        # A range whose TargetNodes is not fixed may apply to nodes: check_ranges_in_effect judges it (an info).
        if node_range.position in governing or node_range.target_state != "parsed":
            continue
        needs = node_range.needs
        below = below_minimum(
            vcpus=needs.vcpus if is_number(needs.vcpus) else None,
            memory_mib=needs.memory_mib if is_number(needs.memory_mib) else None,
            min_vcpus=MIN_EKS_VCPUS if node_range.kind == KIND_EKS else MIN_VCPUS,
        )
        for name, asked, least in below:
            if asked is None:
                continue  # a range that applies to no node may leave its asks out
            what = "MiB of memory" if name == "memory_mib" else "vCPUs"
            problems.append(
                Problem(
                    f"MNP job definition {resource.display_name}: {node_range.label} asks for {number(asked)} "
                    f"{what}; the minimum is {number(least)} (the range applies to no node, but Batch takes "
                    "no smaller value).",
                    f"Raise it to at least {number(least)}, or drop the requirement from {node_range.label}.",
                )
            )
    return problems


RULE = Rule(
    id="MNP016",
    level=Level.ERROR,
    resource_type=JOB_DEFINITION,
    info=f"A node group has no memory requirement (at least {MIN_MEMORY_MIB} MiB) or fewer than "
    f"{MIN_VCPUS} vCPU, counting nested ranges.",
    explanation=f"Every container of an EC2 job needs a memory requirement of at least {MIN_MEMORY_MIB} MiB "
    f"and at least {MIN_VCPUS} vCPU (API ContainerProperties resourceRequirements). In a multi-node job "
    "each node takes its settings from the innermost range that covers it, so every node must get both "
    "from that range; otherwise registration fails or the node cannot be placed.",
    fix=f"Give every node group VCPU >= {MIN_VCPUS} and MEMORY >= {MIN_MEMORY_MIB} MiB resource requirements: "
    "the toolkit's MnpJobDefinition sets both per node by default (the whole instance); with aws-cdk-lib set "
    "EcsEc2ContainerDefinition cpu and memory on every MultiNodeContainer.",
    source=CONTAINER_PROPERTIES_API_URL,
    check=check,
)
