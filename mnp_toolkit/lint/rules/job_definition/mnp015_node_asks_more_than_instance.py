"""MNP015: a node's container asks for more vCPUs, memory or GPUs than its instance type offers to
containers, so the job waits in RUNNABLE for ever.

Limits come from the toolkit's instance-type facts: vCPUs, GPUs, and for memory
:pyattr:`~mnp_toolkit.core.instance_types.InstanceTypeFacts.schedulable_memory_mib` (what the ECS agent
registers, not the installed size; see :mod:`mnp_toolkit.core.instance_types`). Each node is checked with the
settings of the range that applies to it (the innermost covering range, so a wide range that nested ranges
override completely is not checked); a range's ask is its container's, or the sum over its ECS task's or
EKS pod's containers. A node range runs on the instance type it names, else on the job's one type.

Never an error: an instance type the facts table does not know, a job without an instance type, values the
template does not fix. When ``NumNodes`` or a range's ``TargetNodes`` is not fixed, which settings apply to
which nodes is unknown, so findings are infos.
"""

from __future__ import annotations

from mnp_toolkit.core import instance_types
from mnp_toolkit.core.job_spec import exceeds_instance
from mnp_toolkit.lint.model.job_definitions import (
    JobDefinitionModel,
    NodeAssignment,
    NodeRange,
    describe_assignments,
    is_number,
    number,
)
from mnp_toolkit.lint.model.resource_types import JOB_DEFINITION
from mnp_toolkit.lint.rule import Level, Problem, Rule, RuleResult
from mnp_toolkit.lint.rules.job_definition._per_node import check_ranges_in_effect
from mnp_toolkit.lint.template import UNKNOWN, Resource, Template

MEMORY_MANAGEMENT_URL = "https://docs.aws.amazon.com/batch/latest/userguide/memory-management.html"


def _range_problems(
    resource: Resource, model: JobDefinitionModel, node_range: NodeRange, nodes: list[NodeAssignment] | None
) -> tuple[list[Problem], bool]:
    """Problems of one range and whether something it needs was not fixed."""
    instance_type = model.instance_type_of(node_range)
    if instance_type is UNKNOWN:
        return [], True
    if not isinstance(instance_type, str):
        return [], False  # no instance type: Batch picks one that fits
    facts = instance_types.lookup(instance_type)
    if facts is None:
        return [], False  # newer than the table: unknown, never a violation
    needs = node_range.needs
    where = f"{node_range.label}{f' ({describe_assignments(nodes)})' if nodes else ''}"
    larger = "or choose a larger instance type (MultiNodeJobDefinition instanceType / MnpJobDefinition instance_type)"
    problems: list[Problem] = []
    unsure = False
    # The decision is the core's (one verdict with the config and the constructs); this rule words it.
    exceeded = {
        name
        for name, _, _ in exceeds_instance(
            vcpus=needs.vcpus if is_number(needs.vcpus) else None,
            memory_mib=needs.memory_mib if is_number(needs.memory_mib) else None,
            gpus=needs.gpus if is_number(needs.gpus) else None,
            facts=facts,
        )
    }
    checks = (
        (
            "vcpus",
            "vCPUs",
            needs.vcpus,
            facts.vcpus,
            f"ask for at most {facts.vcpus} vCPUs (VCPU resource requirement; "
            "EcsEc2ContainerDefinition cpu, MnpJobDefinition/NodeGroup vcpus, whose default is the whole instance)",
        ),
        (
            "memory_mib",
            "MiB of memory",
            needs.memory_mib,
            facts.schedulable_memory_mib,
            f"ask for at most {facts.schedulable_memory_mib} MiB; the toolkit's default is "
            f"container_memory_mib = {facts.container_memory_mib} MiB, which also keeps the 5 % buffer the Batch "
            "guide recommends (MnpJobDefinition/NodeGroup memory_mib; EcsEc2ContainerDefinition memory)",
        ),
        (
            "gpus",
            "GPUs",
            needs.gpus,
            facts.gpus,
            f"ask for at most {facts.gpus} GPUs (GPU resource requirement; "
            "EcsEc2ContainerDefinition gpu, MnpJobDefinition/NodeGroup gpus)",
        ),
    )
    for name, what, asked, limit, advice in checks:
        if asked is UNKNOWN:
            unsure = True
        elif name in exceeded:
            offered = (
                f"offers containers at most {limit} MiB ({facts.memory_mib} MiB installed; the ECS agent "
                "registers less)"
                if what.startswith("MiB")
                else f"has {limit}"
            )
            problems.append(
                Problem(
                    f"MNP job definition {resource.display_name}: {where} asks for {number(asked)} {what} per "
                    f"node, but {facts.name} {offered}: the job waits in RUNNABLE for ever.",
                    f"In {node_range.label} of {resource.display_name}, {advice}; {larger}.",
                )
            )
    return problems, unsure


def check(resource: Resource, template: Template) -> RuleResult:
    return check_ranges_in_effect(resource, _range_problems, unsure_about="an instance type or resource requirement")


RULE = Rule(
    id="MNP015",
    level=Level.ERROR,
    resource_type=JOB_DEFINITION,
    info="A node's container asks for more vCPUs, memory or GPUs than its instance type offers to containers: "
    "the job waits in RUNNABLE for ever.",
    explanation="AWS Batch places a node only on an instance whose ECS agent registered enough vCPUs, GPUs "
    "and memory, and the agent registers less memory than the instance has installed (the OS keeps some, "
    "and the Batch AMI reserves 32 MiB for the agent: 'Compute resource memory management'). A node that "
    "asks for more than its instance type offers is never placed: the whole multi-node job waits in "
    "RUNNABLE for ever. Ask for at most what the type offers containers.",
    fix="Lower the node's ask to what its instance type offers containers: the toolkit's MnpJobDefinition "
    "defaults each node to the whole instance (all vCPUs, memory = container_memory_mib of the type); with "
    "aws-cdk-lib set EcsEc2ContainerDefinition cpu/memory/gpu accordingly, or choose a larger instance type.",
    source=MEMORY_MANAGEMENT_URL,
    check=check,
)
