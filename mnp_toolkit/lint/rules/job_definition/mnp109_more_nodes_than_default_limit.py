"""MNP109 (warning): an MNP job definition's ``NumNodes`` is above 1,000, the default limit of nodes per job.

The limit is the default number of instances in an Amazon ECS cluster and can be raised on request, so
this is a warning to acknowledge once the account's limit was raised, never an error. A ``NumNodes`` the
template does not fix is MNP008's info, not repeated here.
"""

from __future__ import annotations

from mnp_toolkit.core.limits import DEFAULT_MAX_NODES, NODE_GROUPS_DOCS_URL
from mnp_toolkit.lint.model.job_definitions import job_definition_model, mnp_scope
from mnp_toolkit.lint.model.resource_types import JOB_DEFINITION
from mnp_toolkit.lint.rule import Compliant, Level, NonCompliant, NotApplicable, Rule, RuleResult
from mnp_toolkit.lint.template import Resource, Template


def check(resource: Resource, template: Template) -> RuleResult:
    if (scope := mnp_scope(resource)) is not None:
        return scope
    num_nodes = job_definition_model(resource).num_nodes
    if not isinstance(num_nodes, int):
        return NotApplicable("NumNodes is absent or not fixed (MNP008 reports that)")
    if num_nodes > DEFAULT_MAX_NODES:
        return NonCompliant(
            f"MNP job definition {resource.display_name} has NumNodes {num_nodes}, above the default limit of "
            f"{DEFAULT_MAX_NODES} nodes per job: the job stays RUNNABLE unless the account's limit was raised."
        )
    return Compliant()


RULE = Rule(
    id="MNP109",
    level=Level.WARNING,
    resource_type=JOB_DEFINITION,
    info=f"NumNodes is above {DEFAULT_MAX_NODES:,}, the default limit of nodes per job.",
    explanation=f"AWS Batch runs up to {DEFAULT_MAX_NODES:,} nodes in a single multi-node parallel job: that is the "
    "default limit for instances in an Amazon ECS cluster, which can be raised on request. Above it, a job "
    "cannot start unless the limit was raised for the account.",
    fix=f"Use at most {DEFAULT_MAX_NODES:,} nodes, or request a higher limit and acknowledge MNP109 on the job "
    "definition with the reason (for example the support case).",
    source=NODE_GROUPS_DOCS_URL,
    check=check,
)
