"""MNP008: an MNP job definition's ``NumNodes`` is smaller than 1.

Above 1,000 is MNP109, a warning: 1,000 is a default limit that AWS raises on request. A missing
``NumNodes`` (or missing ``NodeProperties``) is an error too: CloudFormation and the Batch API require it
for a multinode job definition. A value the template does not fix is an info, never an error.
"""

from __future__ import annotations

from mnp_toolkit.core.limits import DEFAULT_MAX_NODES, MIN_NODES, MNP_DOCS_URL
from mnp_toolkit.lint.model.job_definitions import mnp_scope, required_integer
from mnp_toolkit.lint.model.resource_types import JOB_DEFINITION
from mnp_toolkit.lint.rule import Compliant, Level, NonCompliant, Rule, RuleResult
from mnp_toolkit.lint.template import Resource, Template

_FIX = (
    "Set NodeProperties.NumNodes to 1 or more (a multi-node job usually has 2 or more): aws-cdk-lib "
    "MultiNodeJobDefinition derives it from the containers' startNode/endNode; the toolkit's MnpJobDefinition "
    "takes num_nodes."
)


def check(resource: Resource, template: Template) -> RuleResult:
    if (scope := mnp_scope(resource)) is not None:
        return scope
    num_nodes = required_integer(resource, "NumNodes", expected="an integer of 1 or more")
    if not isinstance(num_nodes, int):
        return num_nodes
    if num_nodes < MIN_NODES:
        return NonCompliant(
            f"MNP job definition {resource.display_name} has NumNodes {num_nodes}; a job has at least {MIN_NODES} node."
        )
    return Compliant()


RULE = Rule(
    id="MNP008",
    level=Level.ERROR,
    resource_type=JOB_DEFINITION,
    info="NumNodes is smaller than 1 (or missing, or not an integer).",
    explanation="A multi-node parallel job runs on at least one node; RegisterJobDefinition rejects a smaller "
    "or non-integer NumNodes (and CloudFormation requires the property), so the deployment fails. More than "
    f"{DEFAULT_MAX_NODES} nodes is MNP109, a warning: {DEFAULT_MAX_NODES} is a default limit that can be raised.",
    fix=_FIX,
    source=MNP_DOCS_URL,
    check=check,
)
