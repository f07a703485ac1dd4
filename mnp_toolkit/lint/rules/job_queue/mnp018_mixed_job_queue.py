"""MNP018: an MNP job queue mixes EC2 and Fargate compute environments, mixes CPU architectures, or has
more than three compute environments.

EC2 means ``ComputeResources.Type`` EC2 or SPOT, Fargate FARGATE or FARGATE_SPOT. Architectures come from
the facts table for each environment's ``InstanceTypes`` (unknown types are ignored); a mix *inside* one
environment is MNP019's, so here it takes two environments with different architectures.
"""

from __future__ import annotations

from mnp_toolkit.core.limits import MAX_QUEUE_COMPUTE_ENVIRONMENTS
from mnp_toolkit.lint.model.compute import compute_environment_architectures, compute_type, is_ec2, is_fargate
from mnp_toolkit.lint.model.naming import describe
from mnp_toolkit.lint.model.queues import HOW_TO_MARK_QUEUES, is_mnp_queue, mnp_queues, queue_compute_environments
from mnp_toolkit.lint.model.resource_types import JOB_QUEUE
from mnp_toolkit.lint.rule import Compliant, Level, NonCompliant, NotApplicable, Problem, Rule, RuleResult, Unverifiable
from mnp_toolkit.lint.template import UNKNOWN, Resource, Template


def _architectures(logical_id: str, by_architecture: dict[str, list[str]]) -> str:
    return "/".join(sorted(arch for arch, ids in by_architecture.items() if logical_id in ids))


def check(resource: Resource, template: Template) -> RuleResult:
    queues = mnp_queues(template)
    if not is_mnp_queue(resource):
        return NotApplicable("not an MNP queue")
    implicit = f" (taken as an MNP queue because no queue is marked: {HOW_TO_MARK_QUEUES})" if queues.implicit else ""
    name = resource.display_name
    environments = queue_compute_environments(resource)
    if environments == [UNKNOWN]:
        return Unverifiable(f"the compute environments of job queue {name} are not fixed by the template")
    problems: list[Problem] = []
    unknown: list[str] = []

    if len(environments) > MAX_QUEUE_COMPUTE_ENVIRONMENTS:
        problems.append(
            Problem(
                f"Job queue {name}{implicit} has {len(environments)} compute environments "
                f"({', '.join(describe(ce) for ce in environments)}); a job queue may have at most "
                f"{MAX_QUEUE_COMPUTE_ENVIRONMENTS}.",
                f"Keep at most {MAX_QUEUE_COMPUTE_ENVIRONMENTS} entries in ComputeEnvironmentOrder of {name} "
                "(aws-cdk-lib JobQueue computeEnvironments).",
            )
        )

    defined = [ce for ce in environments if isinstance(ce, Resource)]
    if len(defined) < len(environments):
        unknown.append("some of its compute environments are not defined in the template")
    ec2 = [ce for ce in defined if is_ec2(compute_type(ce))]
    fargate = [ce for ce in defined if is_fargate(compute_type(ce))]
    if ec2 and fargate:
        problems.append(
            Problem(
                f"Job queue {name}{implicit} mixes EC2 compute environments "
                f"({', '.join(ce.display_name for ce in ec2)}) with Fargate ones "
                f"({', '.join(ce.display_name for ce in fargate)}); a job queue's compute environments "
                "must all be EC2 or all Fargate, and MNP jobs need EC2.",
                f"Remove the Fargate compute environments from {name} (aws-cdk-lib JobQueue "
                "computeEnvironments); MNP jobs run on EC2 only.",
            )
        )
    elif any(compute_type(ce) is UNKNOWN for ce in defined):
        unknown.append("the ComputeResources.Type of some compute environments is not fixed")

    by_architecture: dict[str, list[str]] = {}
    for ce in defined:
        architectures = compute_environment_architectures(ce)
        if architectures is UNKNOWN:
            unknown.append(f"the InstanceTypes of {ce.display_name} are not fixed")
            continue
        for architecture in architectures:
            by_architecture.setdefault(architecture, []).append(ce.logical_id)
    x86 = by_architecture.get("x86_64", [])
    arm = by_architecture.get("arm64", [])
    if any(first != second for first in x86 for second in arm):
        listing = "; ".join(
            f"{ce.display_name}: {_architectures(ce.logical_id, by_architecture)}"
            for ce in defined
            if any(ce.logical_id in ids for ids in by_architecture.values())
        )
        problems.append(
            Problem(
                f"Job queue {name}{implicit} mixes CPU architectures across its compute environments "
                f"({listing}); every compute environment of a job queue must use one architecture.",
                f"Put x86_64 and arm64 compute environments in separate job queues instead of {name}.",
            )
        )

    if problems:
        return NonCompliant(*problems)
    if unknown:
        return Unverifiable(f"job queue {name}: {'; '.join(unknown)}")
    return Compliant()


RULE = Rule(
    id="MNP018",
    level=Level.ERROR,
    resource_type=JOB_QUEUE,
    info="An MNP job queue mixes EC2 and Fargate, mixes CPU architectures, or has more than three compute "
    "environments.",
    explanation="AWS Batch rejects a job queue whose compute environments mix EC2 and Fargate, and allows at "
    "most three compute environments per queue; compute environments of one queue must also share a CPU "
    "architecture, or jobs built for one architecture land on the other. MNP jobs in particular run only "
    "on EC2.",
    fix="Give the MNP job queue at most three EC2 compute environments of one CPU architecture (aws-cdk-lib "
    "JobQueue computeEnvironments); put arm64 and x86_64 capacity in separate queues.",
    source="https://docs.aws.amazon.com/batch/latest/APIReference/API_ComputeEnvironmentOrder.html",
    check=check,
)
