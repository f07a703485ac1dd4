"""MNP005: an MNP job definition's instance type cannot be launched by any MNP compute environment.

A compute environment launches a type when its ``InstanceTypes`` lists the type, its family (``c5n``) or
a category that covers it (``optimal``, ``default_x86_64``, ``default_arm64``; see
:func:`mnp_toolkit.core.instance_types.covers`). The rule applies only where the template holds MNP compute
environments (job definitions often live in a stack of their own). A compute environment whose
``InstanceTypes`` cannot be resolved, or that the template does not define (an imported ARN in a queue's
order), might launch the type: no error then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mnp_toolkit.core import instance_types
from mnp_toolkit.lint.cache import per_template
from mnp_toolkit.lint.model.compute import compute_type, instance_types_of, is_fargate
from mnp_toolkit.lint.model.job_definitions import JobDefinitionModel, is_mnp_job_definition, job_definition_model
from mnp_toolkit.lint.model.naming import describe
from mnp_toolkit.lint.model.queues import mnp_queues, queue_compute_environments
from mnp_toolkit.lint.model.resource_types import JOB_DEFINITION
from mnp_toolkit.lint.rule import Compliant, Level, NonCompliant, NotApplicable, Problem, Rule, RuleResult, Unverifiable
from mnp_toolkit.lint.template import UNKNOWN, Resource, Template


def _named_instance_types(model: JobDefinitionModel) -> list[str] | Any:
    """The distinct instance types the job definition names (lower case), [] for none, UNKNOWN."""
    single = model.instance_type
    if isinstance(single, str):
        return [single]
    if single is None:
        return []
    names: list[str] = []
    for node_range in model.ranges or []:
        for name in node_range.instance_type_names:
            if not isinstance(name, str):
                return UNKNOWN
            if name.strip().lower() not in names:
                names.append(name.strip().lower())
    return names or UNKNOWN


def _launches(ce: Any, instance_type: str) -> bool | None:
    """Can compute environment ``ce`` launch ``instance_type``? None when the template cannot tell."""
    if not isinstance(ce, Resource):
        return None  # not defined in this template
    if is_fargate(compute_type(ce)):
        return False
    entries = instance_types_of(ce)
    if not isinstance(entries, list):
        return None  # unresolvable, or absent (Batch then picks the types)
    known_type = instance_types.lookup(instance_type) is not None
    undecided = False
    for entry in entries:
        if not isinstance(entry, str):
            undecided = True
            continue
        covered = instance_types.covers(entry, instance_type)
        if covered:
            return True
        if entry in instance_types.CATEGORY_FAMILIES and not known_type:
            # Categories grow with new families; a type newer than our table may already be in one.
            undecided = True
    return None if undecided else False


def _describe_types(ce: Resource) -> str:
    entries = instance_types_of(ce)
    if isinstance(entries, list):
        return "[" + ", ".join(str(entry) for entry in entries) + "]"
    return "no InstanceTypes" if entries is None else "InstanceTypes not fixed"


@dataclass
class _Environments:
    """The distinct compute environments of the template's MNP queues, and (filled as job definitions ask)
    each instance type's verdicts, so that a template of many job definitions and environments does not
    pair every job definition with every environment."""

    environments: list[Any]
    verdicts: dict[str, list[bool | None]] = field(default_factory=dict)
    listing: str | None = None

    def verdicts_for(self, instance_type: str) -> list[bool | None]:
        if instance_type not in self.verdicts:
            self.verdicts[instance_type] = [_launches(ce, instance_type) for ce in self.environments]
        return self.verdicts[instance_type]

    def listed(self) -> str:
        if self.listing is None:
            self.listing = "; ".join(
                f"{describe(ce)}: {_describe_types(ce)}" for ce in self.environments if isinstance(ce, Resource)
            )
        return self.listing


@per_template
def _mnp_environments(template: Template) -> _Environments:
    environments: dict[str, Any] = {}
    for queue in mnp_queues(template).queues:
        for ce in queue_compute_environments(queue):
            environments.setdefault(ce.logical_id if isinstance(ce, Resource) else repr(ce), ce)
    return _Environments(list(environments.values()))


def check(resource: Resource, template: Template) -> RuleResult:
    if not is_mnp_job_definition(resource):
        return NotApplicable("not an MNP job definition")
    known = _mnp_environments(template)
    if not any(isinstance(ce, Resource) for ce in known.environments):
        return NotApplicable("the template holds no MNP compute environment")
    model = job_definition_model(resource)
    named = _named_instance_types(model)
    if named is UNKNOWN:
        return Unverifiable(f"the instance type of job definition {resource.display_name} is not fixed by the template")
    if not named:
        return NotApplicable("the job definition names no instance type (Batch picks one from the environment)")
    problems: list[Problem] = []
    undecided: list[str] = []
    for instance_type in named:
        verdicts = known.verdicts_for(instance_type)
        if any(verdicts):
            continue
        if any(verdict is None for verdict in verdicts):
            undecided.append(instance_type)
            continue
        listed = known.listed()
        problems.append(
            Problem(
                f"MNP job definition {resource.display_name} runs on {instance_type}, which no MNP compute "
                f"environment can launch ({listed}): the job stays RUNNABLE for ever.",
                f"Add {instance_type} or its family {instance_types.family(instance_type)} to InstanceTypes of an "
                "MNP compute environment (aws-cdk-lib ManagedEc2EcsComputeEnvironment instanceTypes / "
                f"instanceClasses), or change the job definition's instance type.",
            )
        )
    if problems:
        return NonCompliant(*problems)
    if undecided:
        return Unverifiable(
            f"whether an MNP compute environment can launch {', '.join(undecided)} (job definition "
            f"{resource.display_name}) depends on values or instance types the template/table does not fix"
        )
    return Compliant()


RULE = Rule(
    id="MNP005",
    level=Level.ERROR,
    resource_type=JOB_DEFINITION,
    info="An MNP job definition's instance type cannot be launched by any MNP compute environment.",
    explanation="Every node of a multi-node parallel job runs on the instance type its job definition names, "
    "and AWS Batch launches only the types a compute environment allows (listed types, listed families, "
    "or the families behind 'optimal'/'default_*'). When no MNP compute environment allows the type, the "
    "job is never placed and waits in RUNNABLE.",
    fix="List the job's instance type (or its family, e.g. c5n) in InstanceTypes of the MNP compute "
    "environment (aws-cdk-lib ManagedEc2EcsComputeEnvironment instanceTypes/instanceClasses), or use a "
    "type the environment allows in the job definition (MultiNodeJobDefinition instanceType).",
    source="https://docs.aws.amazon.com/batch/latest/userguide/multi-node-parallel-jobs.html",
    check=check,
)
