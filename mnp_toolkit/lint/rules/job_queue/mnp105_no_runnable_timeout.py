"""MNP105 (warning): an MNP job queue has no ``JobStateTimeLimitActions`` entry for ``RUNNABLE``."""

from __future__ import annotations

from collections.abc import Mapping

from mnp_toolkit.lint.model.naming import render_value
from mnp_toolkit.lint.model.queues import HOW_TO_MARK_QUEUES, is_mnp_queue, mnp_queues
from mnp_toolkit.lint.model.resource_types import JOB_QUEUE
from mnp_toolkit.lint.rule import Compliant, Level, NonCompliant, NotApplicable, Rule, RuleResult, Unverifiable
from mnp_toolkit.lint.template import UNKNOWN, Resource, Template, same_text


def check(resource: Resource, template: Template) -> RuleResult:
    queues = mnp_queues(template)
    if not is_mnp_queue(resource):
        return NotApplicable("not an MNP queue")
    actions = resource.get("JobStateTimeLimitActions")
    if actions is not None and not isinstance(actions, list):
        if actions is UNKNOWN:
            return Unverifiable(f"the JobStateTimeLimitActions of job queue {resource.display_name} are not fixed")
        return Unverifiable(
            f"the JobStateTimeLimitActions of job queue {resource.display_name} is {render_value(actions)}, "
            "not a list of actions (CloudFormation rejects that)"
        )
    if isinstance(actions, list) and any(not isinstance(a, Mapping) for a in actions):
        return Unverifiable(f"an entry of the JobStateTimeLimitActions of {resource.display_name} is not fixed")
    states = [action.get("State") for action in actions or []]
    if any(same_text(state, "RUNNABLE") for state in states):
        return Compliant()
    if any(not isinstance(state, str) for state in states):
        return Unverifiable(f"a State of the JobStateTimeLimitActions of {resource.display_name} is not fixed")
    implicit = f" (taken as an MNP queue because no queue is marked: {HOW_TO_MARK_QUEUES})" if queues.implicit else ""
    return NonCompliant(
        f"Job queue {resource.display_name}{implicit} has no JobStateTimeLimitActions entry for RUNNABLE: an "
        "MNP job that can never be placed (no capacity for all its nodes) waits in RUNNABLE for ever and "
        "blocks the jobs behind it."
    )


RULE = Rule(
    id="MNP105",
    level=Level.WARNING,
    resource_type=JOB_QUEUE,
    info="An MNP job queue has no JobStateTimeLimitActions for RUNNABLE.",
    explanation="A multi-node parallel job starts only when instances for all its nodes can be launched "
    "together (often into one cluster placement group). When capacity never comes -- insufficient "
    "instance capacity, MaxvCpus too small, a missing instance type -- the job sits at the head of the "
    "queue in RUNNABLE for ever. A JobStateTimeLimitActions entry for RUNNABLE cancels it after a time.",
    fix="Add JobStateTimeLimitActions entries {State: RUNNABLE, Action: CANCEL, MaxTimeSeconds: 600 to 86400} "
    "for the reasons 'MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE' and "
    "'MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT', and 'CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY' if a wait for "
    "capacity should end too (aws-cdk-lib JobQueue jobStateTimeLimitActions). The toolkit's MnpJobQueue sets the "
    "two misconfiguration entries by default (runnable_timeout, config runnable_timeout_minutes) and the capacity "
    "entry with capacity_timeout (config capacity_timeout_minutes).",
    source="https://docs.aws.amazon.com/batch/latest/APIReference/API_JobStateTimeLimitAction.html",
    check=check,
)
