"""The shared shape of rules that judge every node of an MNP job definition through the node range in
effect for it (MNP015, MNP016): a rule supplies only what is wrong with one range."""

from __future__ import annotations

from collections.abc import Callable

from mnp_toolkit.lint.model.job_definitions import (
    JobDefinitionModel,
    NodeAssignment,
    NodeRange,
    model_with_ranges,
)
from mnp_toolkit.lint.rule import Compliant, NonCompliant, Problem, RuleResult, Unverifiable
from mnp_toolkit.lint.template import Resource

#: (resource, model, range, the nodes it governs or None when that is not fixed) -> (problems, unsure)
RangeProblems = Callable[
    [Resource, JobDefinitionModel, NodeRange, list[NodeAssignment] | None], tuple[list[Problem], bool]
]


def check_ranges_in_effect(resource: Resource, range_problems: RangeProblems, *, unsure_about: str) -> RuleResult:
    """Run ``range_problems`` on every range in effect; problems are errors only where the template fixes
    which range governs which node, else infos. ``unsure_about`` names what may be unresolved."""
    model = model_with_ranges(resource)
    if not isinstance(model, JobDefinitionModel):
        return model
    in_effect = model.ranges_in_effect()
    certain = in_effect is not None and not model.has_unknown_ranges
    checked: list[tuple[NodeRange, list[NodeAssignment] | None]] = (
        list(in_effect)
        if certain and in_effect is not None
        else [(r, None) for r in model.ranges or () if r.target_state != "malformed"]
    )
    problems: list[Problem] = []
    unsure = False
    for node_range, nodes in checked:
        found, range_unsure = range_problems(resource, model, node_range, nodes)
        problems.extend(found)
        unsure = unsure or range_unsure
    if problems and certain:
        return NonCompliant(*problems)
    if problems:
        return Unverifiable(
            "which node range applies to which node is not fixed by the template (NumNodes or a TargetNodes), "
            f"and {'; '.join(p.message for p in problems)}"
        )
    if unsure:
        return Unverifiable(f"{unsure_about} of job definition {resource.display_name} is not fixed by the template")
    return Compliant()
