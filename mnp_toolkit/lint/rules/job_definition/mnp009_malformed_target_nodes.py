"""MNP009: a ``TargetNodes`` value of an MNP job definition is malformed, or reaches an index >= ``NumNodes``.

Allowed forms (API ``NodeRangeProperty``): ``n:m``, ``:m``, ``n:``, ``n`` with non-negative integers and
n <= m (and a bare ``:``, which the API reference names as an open range). A range "reaches" the highest
index its text names: ``m`` of ``n:m``/``:m``/``n``, and ``n`` of an open ``n:`` (an open range starting at
or after ``NumNodes`` covers no node). Every offending range is reported. Values the template does not fix
are never a violation; ``NumNodes`` problems themselves are MNP008's.
"""

from __future__ import annotations

from mnp_toolkit.core.limits import NODE_RANGE_API_URL
from mnp_toolkit.core.target_nodes import TargetNodesError, parse_target_nodes
from mnp_toolkit.lint.model.job_definitions import (
    JobDefinitionModel,
    model_with_ranges,
)
from mnp_toolkit.lint.model.naming import render_value
from mnp_toolkit.lint.model.resource_types import JOB_DEFINITION
from mnp_toolkit.lint.rule import Compliant, Level, NonCompliant, Problem, Rule, RuleResult, Unverifiable
from mnp_toolkit.lint.template import UNKNOWN, Resource, Template

_FIX = (
    "Write TargetNodes as 'n:m', ':m', 'n:' or 'n' with 0 <= n <= m <= NumNodes-1 (aws-cdk-lib "
    "MultiNodeContainer startNode/endNode; the toolkit's NodeGroup target_nodes), or raise NumNodes."
)


def _why_malformed(raw: object) -> str:
    if raw is None:
        return "has no TargetNodes (required)"
    text = str(raw) if isinstance(raw, int) and not isinstance(raw, bool) else raw
    if isinstance(text, str):
        try:
            parse_target_nodes(text)
        except TargetNodesError as error:
            return f"has a malformed TargetNodes: {error}"
    return f"has a malformed TargetNodes {render_value(raw)}: it must be a string"


def check(resource: Resource, template: Template) -> RuleResult:
    model = model_with_ranges(resource)
    if not isinstance(model, JobDefinitionModel):
        return model
    num_nodes = model.num_nodes
    problems: list[Problem] = []
    unsure: list[str] = []
    for node_range in model.ranges or ():
        state = node_range.target_state
        if state == "unknown":
            unsure.append(f"the TargetNodes of node range #{node_range.position}")
            continue
        if state == "malformed":
            problems.append(
                Problem(
                    f"MNP job definition {resource.display_name}: node range #{node_range.position} "
                    f"{_why_malformed(node_range.raw_target)}."
                )
            )
            continue
        target = node_range.target
        assert target is not None
        if num_nodes is UNKNOWN:
            unsure.append("NumNodes")
            continue
        if not isinstance(num_nodes, int) or num_nodes < 1:
            continue  # MNP008 reports a missing or impossible NumNodes
        reach = target.highest_named_index()
        if reach >= num_nodes:
            what = f"starts at node {reach}" if target.is_open else f"reaches node {reach}"
            problems.append(
                Problem(
                    f"MNP job definition {resource.display_name}: {node_range.label} {what}, but NumNodes is "
                    f"{num_nodes} (nodes 0 to {num_nodes - 1})."
                )
            )
    if problems:
        return NonCompliant(*problems)
    if unsure:
        return Unverifiable(
            f"{', '.join(dict.fromkeys(unsure))} of job definition {resource.display_name} is not fixed by the template"
        )
    return Compliant()


RULE = Rule(
    id="MNP009",
    level=Level.ERROR,
    resource_type=JOB_DEFINITION,
    info="A TargetNodes value is malformed (allowed: n:m, :m, n:, n; integers, n <= m) or reaches an index >= "
    "NumNodes.",
    explanation="Each node range names the node indexes it configures. RegisterJobDefinition rejects a "
    "TargetNodes that is not 'n:m', ':m', 'n:' or 'n' with n <= m, or that names a node index the job does "
    "not have (>= NumNodes), so the deployment fails. Keep every range within 0..NumNodes-1.",
    fix=_FIX,
    source=NODE_RANGE_API_URL,
    check=check,
)
