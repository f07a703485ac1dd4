"""MNP001: an MNP compute environment is UNMANAGED."""

from __future__ import annotations

from mnp_toolkit.lint.model.compute import mnp_ce_scope
from mnp_toolkit.lint.model.resource_types import COMPUTE_ENVIRONMENT
from mnp_toolkit.lint.rule import Compliant, Level, NonCompliant, Rule, RuleResult, Unverifiable
from mnp_toolkit.lint.template import UNKNOWN, Resource, Template, same_text


def check(resource: Resource, template: Template) -> RuleResult:
    if (scope := mnp_ce_scope(resource)) is not None:
        return scope
    kind = resource.get("Type")
    if kind is UNKNOWN:
        return Unverifiable("the compute environment's Type is not fixed by the template")
    if same_text(kind, "UNMANAGED"):
        return NonCompliant(
            f"Compute environment {resource.display_name} is UNMANAGED; multi-node parallel jobs need a "
            "MANAGED compute environment."
        )
    return Compliant()


RULE = Rule(
    id="MNP001",
    level=Level.ERROR,
    resource_type=COMPUTE_ENVIRONMENT,
    info="An MNP compute environment is UNMANAGED.",
    explanation="AWS Batch runs multi-node parallel jobs only on managed compute environments: Batch must "
    "launch the instances of all nodes together (and into the placement group). A job queued to an "
    "unmanaged environment is never placed.",
    fix="Set Type: MANAGED (aws-cdk-lib: ManagedEc2EcsComputeEnvironment; the toolkit: MnpComputeEnvironment).",
    source="https://docs.aws.amazon.com/batch/latest/userguide/multi-node-parallel-jobs.html",
    check=check,
)
