"""MNP007: an MNP job definition has more than five node groups (``NodeRangeProperties`` entries).

Entries the template does not fix (an ``Fn::If`` that may give ``AWS::NoValue``) are not counted as
certain: when only they push the count over five the rule reports an info, not an error.
"""

from __future__ import annotations

from mnp_toolkit.core.limits import MAX_NODE_RANGES, MNP_DOCS_URL
from mnp_toolkit.lint.model.job_definitions import job_definition_model, mnp_scope
from mnp_toolkit.lint.model.naming import render_value
from mnp_toolkit.lint.model.resource_types import JOB_DEFINITION
from mnp_toolkit.lint.rule import Compliant, Level, NonCompliant, Rule, RuleResult, Unverifiable
from mnp_toolkit.lint.template import UNKNOWN, Resource, Template


def _target_nodes(entry: object) -> str:
    """How the message names one entry's TargetNodes, as the template writes it."""
    if entry is UNKNOWN or (isinstance(entry, dict) and entry.get("TargetNodes") is UNKNOWN):
        return "(fixed only at deploy time)"
    if not isinstance(entry, dict):
        return "(not a node range)"
    target = entry.get("TargetNodes")
    return "(none)" if target is None else render_value(target)


def check(resource: Resource, template: Template) -> RuleResult:
    if (scope := mnp_scope(resource)) is not None:
        return scope
    entries = job_definition_model(resource).range_entries
    if entries is UNKNOWN:
        return Unverifiable(f"the NodeRangeProperties of job definition {resource.display_name} are not fixed")
    if not isinstance(entries, list):
        return Compliant()
    certain = sum(1 for entry in entries if entry is not UNKNOWN)
    if certain > MAX_NODE_RANGES:
        labels = ", ".join(_target_nodes(entry) for entry in entries)
        return NonCompliant(
            f"MNP job definition {resource.display_name} has {certain} node groups (NodeRangeProperties "
            f"TargetNodes {labels}); AWS Batch allows at most {MAX_NODE_RANGES}."
        )
    if len(entries) > MAX_NODE_RANGES:
        return Unverifiable(
            f"job definition {resource.display_name} has {len(entries)} NodeRangeProperties entries, "
            f"{len(entries) - certain} of them not fixed by the template (they may resolve to AWS::NoValue)"
        )
    return Compliant()


RULE = Rule(
    id="MNP007",
    level=Level.ERROR,
    resource_type=JOB_DEFINITION,
    info="More than five node groups (NodeRangeProperties entries).",
    explanation="AWS Batch accepts at most five node ranges in a multi-node parallel job definition; "
    "RegisterJobDefinition (and so the CloudFormation deployment) fails with more. Merge groups that share "
    "settings, or nest a few special ranges inside one wide range.",
    fix="Use at most five node groups: aws-cdk-lib MultiNodeJobDefinition containers (one MultiNodeContainer "
    "per group), or the toolkit's MnpJobDefinition node_groups; merge groups with equal settings and nest "
    "special nodes (e.g. '0') inside a wide range ('0:').",
    source=MNP_DOCS_URL,
    check=check,
)
