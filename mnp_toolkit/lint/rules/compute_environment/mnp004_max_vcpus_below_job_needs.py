"""MNP004: an MNP compute environment's ``MaxvCpus`` is smaller than the largest MNP job definition needs.

A job definition needs ``NumNodes`` x the vCPUs of its instance type (Batch gives every node an instance
of its own), or, where no instance type is set, the sum of every node's VCPU requirement: each node
counted once, with the settings of the innermost node range covering it
(``JobDefinitionModel.assignments``). CloudFormation does not link job definitions to compute
environments, so every MNP job definition of the template is compared with every MNP compute
environment -- except one whose instance type the environment certainly cannot launch (that mismatch is
MNP005's). Unknown instance types and unresolvable values are never a violation.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Any

from mnp_toolkit.core import instance_types
from mnp_toolkit.core.job_spec import job_vcpus
from mnp_toolkit.lint.cache import per_resource, per_template
from mnp_toolkit.lint.model.compute import instance_types_of, mnp_ce_scope
from mnp_toolkit.lint.model.job_definitions import is_number, job_definition_model, mnp_job_definitions, number
from mnp_toolkit.lint.model.resource_types import COMPUTE_ENVIRONMENT
from mnp_toolkit.lint.rule import Compliant, Level, NonCompliant, NotApplicable, Problem, Rule, RuleResult, Unverifiable
from mnp_toolkit.lint.template import UNKNOWN, Resource, Template, as_int

#: Above this many nodes a job definition is malformed (MNP008 reports it); do not iterate over it.
_MAX_NODES_TO_COUNT = 10_000


@dataclass(frozen=True)
class VcpuNeed:
    """The vCPUs a job definition needs (None when unknown), how that was worked out or why it is unknown."""

    job_definition: Resource
    vcpus: float | None
    how: str
    instance_type: str | None


@per_resource
def vcpu_need(job_definition: Resource) -> VcpuNeed:
    """The vCPUs ``job_definition`` needs to run all its nodes at once."""
    model = job_definition_model(job_definition)
    num_nodes = model.num_nodes
    if not isinstance(num_nodes, int) or not 1 <= num_nodes <= _MAX_NODES_TO_COUNT:
        return VcpuNeed(job_definition, None, "its NumNodes is not fixed or not valid", None)
    instance_type = model.instance_type
    if isinstance(instance_type, str):
        facts = instance_types.lookup(instance_type)
        if facts is None:
            return VcpuNeed(
                job_definition, None, f"its instance type {instance_type} is not in the instance-type table", None
            )
        return VcpuNeed(
            job_definition,
            job_vcpus(num_nodes, facts.vcpus, ()),
            f"{num_nodes} nodes x {facts.vcpus} vCPUs of {facts.name}",
            facts.name,
        )
    if instance_type is UNKNOWN:
        return VcpuNeed(job_definition, None, "its instance type is not fixed by the template", None)
    assignments = model.assignments()
    if assignments is None or model.has_unknown_ranges:
        return VcpuNeed(job_definition, None, "its node ranges are not fixed by the template", None)
    spans: list[tuple[int, float]] = []
    for assignment in assignments:
        if assignment.node_range is None:
            return VcpuNeed(job_definition, None, f"no node range covers {assignment.describe()}", None)
        vcpus = assignment.node_range.needs.vcpus
        if not is_number(vcpus):
            return VcpuNeed(job_definition, None, f"the VCPU requirement of {assignment.describe()} is not fixed", None)
        spans.append((assignment.last - assignment.first + 1, float(vcpus)))
    return VcpuNeed(
        job_definition,
        job_vcpus(num_nodes, None, spans),
        f"the VCPU requirements of its {num_nodes} nodes add up to it",
        None,
    )


def _certainly_cannot_launch(ce: Resource, instance_type: str) -> bool:
    entries = instance_types_of(ce)
    if not isinstance(entries, list) or not entries or not all(isinstance(entry, str) for entry in entries):
        return False
    return all(not instance_types.covers(entry, instance_type) for entry in entries)


@dataclass(frozen=True)
class _Needs:
    """The vCPU needs of a template's MNP job definitions, indexed so that each compute environment finds
    the job definitions it is too small for without comparing itself with every one of them."""

    needs: tuple[VcpuNeed, ...]  # in template order
    #: Job definitions whose need cannot be worked out, as the Unverifiable message names them.
    unknown: tuple[str, ...]
    #: The known needs' vCPUs, sorted, and the position in ``needs`` of each; NaN is never above a MaxvCpus.
    sorted_vcpus: tuple[float, ...]
    positions: tuple[int, ...]

    def above(self, max_vcpus: int) -> list[VcpuNeed]:
        """The needs greater than ``max_vcpus``, in template order."""
        start = bisect.bisect_right(self.sorted_vcpus, max_vcpus)
        return [self.needs[position] for position in sorted(self.positions[start:])]


@per_template
def _mnp_needs(template: Template) -> _Needs:
    needs = tuple(vcpu_need(job_definition) for job_definition in mnp_job_definitions(template))
    unknown = tuple(f"{need.job_definition.display_name} ({need.how})" for need in needs if need.vcpus is None)
    known = sorted(
        (need.vcpus, position)
        for position, need in enumerate(needs)
        if need.vcpus is not None and not math.isnan(need.vcpus)
    )
    return _Needs(needs, unknown, tuple(vcpus for vcpus, _ in known), tuple(position for _, position in known))


def check(resource: Resource, template: Template) -> RuleResult:
    if (scope := mnp_ce_scope(resource, ec2_capacity=True)) is not None:
        return scope
    job_definitions = mnp_job_definitions(template)
    if not job_definitions:
        return NotApplicable("the template holds no MNP job definition")
    raw_max = resource.get("ComputeResources", "MaxvCpus")
    if raw_max is None:
        return NotApplicable("no MaxvCpus (not an EC2 compute environment)")
    max_vcpus: Any = as_int(raw_max)
    if max_vcpus is UNKNOWN:
        return Unverifiable(f"the MaxvCpus of compute environment {resource.display_name} is not fixed by the template")
    problems: list[Problem] = []
    indexed = _mnp_needs(template)
    unknown = indexed.unknown
    for need in indexed.above(max_vcpus):
        job_definition = need.job_definition
        assert need.vcpus is not None  # only known needs are indexed
        if need.instance_type is not None and _certainly_cannot_launch(resource, need.instance_type):
            continue
        problems.append(
            Problem(
                f"Compute environment {resource.display_name} has MaxvCpus {max_vcpus}, but MNP job "
                f"definition {job_definition.display_name} needs {number(need.vcpus)} vCPUs "
                f"({need.how}): the job can never start.",
                f"Raise MaxvCpus of {resource.display_name} to at least {number(need.vcpus)} "
                "(aws-cdk-lib ManagedEc2EcsComputeEnvironment maxvCpus), or reduce NumNodes of "
                f"{job_definition.display_name}.",
            )
        )
    if problems:
        return NonCompliant(*problems)
    if unknown:
        return Unverifiable(
            f"the vCPUs needed by {', '.join(unknown)} cannot be worked out, so MaxvCpus {max_vcpus} of "
            f"{resource.display_name} cannot be checked against them"
        )
    return Compliant()


RULE = Rule(
    id="MNP004",
    level=Level.ERROR,
    resource_type=COMPUTE_ENVIRONMENT,
    info="An MNP compute environment's MaxvCpus is smaller than the largest MNP job definition needs.",
    explanation="AWS Batch starts a multi-node parallel job only when it can launch instances for all of its "
    "nodes at once, each node on an instance of its own; MaxvCpus caps the vCPUs of those instances. A job "
    "that needs more vCPUs than MaxvCpus stays RUNNABLE for ever.",
    fix="Set MaxvCpus to at least NumNodes x the vCPUs of the job's instance type (aws-cdk-lib "
    "ManagedEc2EcsComputeEnvironment maxvCpus; the toolkit's MnpComputeEnvironment derives it), or lower "
    "the job definition's NumNodes.",
    source="https://docs.aws.amazon.com/batch/latest/userguide/multi-node-parallel-jobs.html",
    check=check,
)
