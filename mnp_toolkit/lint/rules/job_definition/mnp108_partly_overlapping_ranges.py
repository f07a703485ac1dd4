"""MNP108 (warning): two node ranges of an MNP job definition overlap without one nesting inside the other.

The API documents nested ranges (the inner one wins) but not partial overlaps. Ranges are compared on the
job's nodes (``0..NumNodes-1``; an open ``n:`` ends at the last node, a closed range reaching past it is
MNP009's). Identical ranges nest (each inside the other), so they are not reported here. Every overlapping
pair is reported. When ``NumNodes`` or a ``TargetNodes`` is not fixed, findings are infos.
"""

from __future__ import annotations

from itertools import combinations

from mnp_toolkit.core.limits import NODE_RANGE_API_URL
from mnp_toolkit.core.target_nodes import relation, shared_nodes
from mnp_toolkit.lint.model.job_definitions import (
    JobDefinitionModel,
    model_with_ranges,
)
from mnp_toolkit.lint.model.resource_types import JOB_DEFINITION
from mnp_toolkit.lint.rule import Compliant, Level, NonCompliant, Problem, Rule, RuleResult, Unverifiable
from mnp_toolkit.lint.template import Resource, Template


def check(resource: Resource, template: Template) -> RuleResult:
    model = model_with_ranges(resource)
    if not isinstance(model, JobDefinitionModel):
        return model
    num_nodes = model.num_nodes
    known_size = isinstance(num_nodes, int) and num_nodes >= 1
    size = num_nodes if known_size and isinstance(num_nodes, int) else None
    problems: list[Problem] = []
    for left, right in combinations(model.parsed_ranges, 2):
        a, b = left.target, right.target
        assert a is not None and b is not None
        if size is not None and (a.start >= size or b.start >= size):
            continue
        if relation(a, b, size) != "partial":
            continue
        shared = shared_nodes(a, b, size)
        problems.append(
            Problem(
                f"MNP job definition {resource.display_name}: {left.label} and {right.label} overlap on "
                f"{shared} without one nesting inside the other: which settings win there is not documented."
            )
        )
    if problems and known_size and not model.has_unknown_ranges:
        return NonCompliant(*problems)
    if problems:
        return Unverifiable(
            "whether ranges nest depends on values the template does not fix (NumNodes or a TargetNodes): "
            + "; ".join(p.message for p in problems)
        )
    if model.has_unknown_ranges:
        return Unverifiable(f"a TargetNodes of job definition {resource.display_name} is not fixed")
    # Without NumNodes open ends count as infinite; clipping to any NumNodes only keeps nested ranges nested,
    # so no partial overlap now means none for any NumNodes.
    return Compliant()


RULE = Rule(
    id="MNP108",
    level=Level.WARNING,
    resource_type=JOB_DEFINITION,
    info="Two node ranges overlap without one nesting inside the other.",
    explanation="The Batch API lets node ranges nest (0:10 with 4:5 inside: the inner range's settings win) "
    "but does not say which settings win for nodes shared by two ranges that only partly overlap (0:5 and "
    "3:8). Such a job may run different containers on those nodes than intended.",
    fix="Make the ranges disjoint, or put one wholly inside the other (aws-cdk-lib MultiNodeContainer "
    "startNode/endNode; the toolkit's NodeGroup target_nodes, which rejects partial overlaps).",
    source=NODE_RANGE_API_URL,
    check=check,
)
