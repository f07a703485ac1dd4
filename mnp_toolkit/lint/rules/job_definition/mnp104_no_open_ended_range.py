"""MNP104 (warning): no node range of an MNP job definition is open-ended (``n:``), so ``numNodes`` cannot
be overridden at submit time.

``SubmitJob`` node overrides need "at least one node range ... that has an open upper boundary, such as
``:`` or ``n:``". Ranges whose ``TargetNodes`` the template does not fix might be open: an info then.
Malformed ranges are MNP009's and do not count.
"""

from __future__ import annotations

from mnp_toolkit.core.limits import NODE_OVERRIDES_API_URL
from mnp_toolkit.lint.model.job_definitions import (
    JobDefinitionModel,
    model_with_ranges,
)
from mnp_toolkit.lint.model.naming import render_value
from mnp_toolkit.lint.model.resource_types import JOB_DEFINITION
from mnp_toolkit.lint.rule import Compliant, Level, NonCompliant, NotApplicable, Rule, RuleResult, Unverifiable
from mnp_toolkit.lint.template import Resource, Template


def check(resource: Resource, template: Template) -> RuleResult:
    model = model_with_ranges(resource, without_ranges=NotApplicable("no node ranges (MNP010 reports that)"))
    if not isinstance(model, JobDefinitionModel):
        return model
    parsed = model.parsed_ranges
    if any(r.target is not None and r.target.is_open for r in parsed):
        return Compliant()
    if model.has_unknown_ranges:
        return Unverifiable(
            f"a TargetNodes of job definition {resource.display_name} is not fixed; it may be open-ended"
        )
    if not parsed:
        return NotApplicable("no well-formed node range (MNP009 reports that)")
    shown = ", ".join(render_value(r.target.text) for r in parsed if r.target is not None)
    last = max(parsed, key=lambda r: r.target.end if r.target is not None and r.target.end is not None else -1)
    suggestion = f"{last.target.start}:" if last.target is not None else "n:"
    return NonCompliant(
        f"MNP job definition {resource.display_name} has no open-ended node range (TargetNodes {shown}): "
        f"numNodes cannot be overridden at submit time. Make the range reaching the last node open, e.g. "
        f"{render_value(last.target.text if last.target else '?')} -> {render_value(suggestion)}."
    )


RULE = Rule(
    id="MNP104",
    level=Level.WARNING,
    resource_type=JOB_DEFINITION,
    info="No node group is open-ended (n:): numNodes cannot be overridden at submit time.",
    explanation="SubmitJob can change the number of nodes of a multi-node job (nodeOverrides.numNodes) only "
    "when a node range of the job definition has an open upper boundary (':' or 'n:'). With closed ranges "
    "only, every change of cluster size needs a new job definition revision.",
    fix="Render the range that reaches the last node open-ended ('n:' instead of 'n:m'): the toolkit's "
    "MnpJobDefinition does this by default (open_ended=True); aws-cdk-lib MultiNodeJobDefinition always "
    "renders closed ranges (aws-cdk issue 29415), so override TargetNodes on its CfnJobDefinition "
    "(add_property_override('NodeProperties.NodeRangeProperties.<i>.TargetNodes', 'n:')).",
    source=NODE_OVERRIDES_API_URL,
    check=check,
)
