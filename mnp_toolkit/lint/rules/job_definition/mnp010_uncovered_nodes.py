"""MNP010: the node ranges of an MNP job definition leave a node index in ``0..NumNodes-1`` uncovered.

Nested ranges are allowed (the inner one's settings win). Each uncovered span of nodes is reported.
Malformed ranges cover nothing (MNP009 reports them); ranges whose ``TargetNodes`` the template does not
fix might cover a gap, so a gap is then an info, not an error.
"""

from __future__ import annotations

from mnp_toolkit.core.limits import NODE_RANGE_API_URL
from mnp_toolkit.core.target_nodes import describe_nodes, uncovered
from mnp_toolkit.lint.model.job_definitions import job_definition_model, mnp_scope
from mnp_toolkit.lint.model.naming import render_value
from mnp_toolkit.lint.model.resource_types import JOB_DEFINITION
from mnp_toolkit.lint.rule import Compliant, Level, NonCompliant, Problem, Rule, RuleResult, Unverifiable
from mnp_toolkit.lint.template import UNKNOWN, Resource, Template

_FIX = (
    "Cover every node 0..NumNodes-1: add a node group for the missing nodes or widen a range, e.g. make the "
    "last one open ('n:') -- aws-cdk-lib MultiNodeJobDefinition containers (MultiNodeContainer startNode/"
    "endNode); the toolkit's MnpJobDefinition node_groups (NodeGroup target_nodes)."
)


def check(resource: Resource, template: Template) -> RuleResult:
    if (scope := mnp_scope(resource)) is not None:
        return scope
    model = job_definition_model(resource)
    num_nodes = model.num_nodes
    if model.range_entries is UNKNOWN:
        return Unverifiable(f"the node ranges of job definition {resource.display_name} are not fixed")
    targets = [r.target for r in model.parsed_ranges if r.target is not None]
    if num_nodes is UNKNOWN:
        if any(t.start == 0 and t.is_open for t in targets):
            return Compliant()  # '0:' covers every node whatever NumNodes is
        return Unverifiable(f"the NumNodes of job definition {resource.display_name} is not fixed by the template")
    if not isinstance(num_nodes, int) or num_nodes < 1:
        return Compliant()  # MNP008 reports a missing or impossible NumNodes
    gaps = uncovered(targets, num_nodes)
    if not gaps:
        return Compliant()
    shown = ", ".join(render_value(t.text) for t in targets) or "none"
    if model.has_unknown_ranges:
        return Unverifiable(
            f"{', '.join(describe_nodes(a, b) for a, b in gaps)} of job definition {resource.display_name} are "
            "covered by no fixed range; a range whose TargetNodes the template does not fix may cover them"
        )
    return NonCompliant(
        *(
            Problem(
                f"MNP job definition {resource.display_name}: {describe_nodes(first, last)} of 0 to "
                f"{num_nodes - 1} (NumNodes {num_nodes}) {'is' if first == last else 'are'} covered by no "
                f"node range (TargetNodes: {shown})."
            )
            for first, last in gaps
        )
    )


RULE = Rule(
    id="MNP010",
    level=Level.ERROR,
    resource_type=JOB_DEFINITION,
    info="The node groups leave a node index in 0..NumNodes-1 uncovered.",
    explanation="The node ranges of a multi-node parallel job definition must together account for every "
    "node 0..NumNodes-1 (API NodeRangeProperty); a node no range covers has no container to run, and "
    "RegisterJobDefinition rejects the definition. Nested ranges are fine (the inner range's settings "
    "win). Add a range for the missing nodes or widen one, e.g. an open last range 'n:'.",
    fix=_FIX,
    source=NODE_RANGE_API_URL,
    check=check,
)
