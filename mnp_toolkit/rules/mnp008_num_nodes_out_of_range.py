"""MNP008: an MNP job definition's ``NumNodes`` is not between 1 and 1000.

A missing ``NumNodes`` (or missing ``NodeProperties``) is an error too: CloudFormation and the Batch API
require it for a multinode job definition. A value the template does not fix is an info, never an error.
"""

from __future__ import annotations

from mnp_toolkit.job_definitions import (
    JOB_DEFINITION,
    MAX_NODES,
    MNP_DOCS_URL,
    is_plain_json,
    job_definition_model,
    mnp_scope,
)
from mnp_toolkit.rules._base import Compliant, Level, NonCompliant, Rule, RuleResult, Unverifiable
from mnp_toolkit.template import UNKNOWN, Resource, Template

_FIX = (
    f"Set NodeProperties.NumNodes to 1..{MAX_NODES}: aws-cdk-lib MultiNodeJobDefinition derives it from the "
    f"containers' startNode/endNode; the toolkit's MnpJobDefinition takes num_nodes (1..{MAX_NODES})."
)


def check(resource: Resource, template: Template) -> RuleResult:
    if (scope := mnp_scope(resource)) is not None:
        return scope
    model = job_definition_model(resource)
    if model.node_properties is None:
        return NonCompliant(
            f"MNP job definition {resource.display_name} has no NodeProperties, so no NumNodes; a multinode "
            "job definition requires them."
        )
    num_nodes = model.num_nodes
    if num_nodes is None:
        return NonCompliant(
            f"MNP job definition {resource.display_name} has no NodeProperties.NumNodes; it is required "
            f"(1 to {MAX_NODES})."
        )
    if num_nodes is UNKNOWN:
        raw = model.raw_scalar("NumNodes")
        if is_plain_json(raw):
            return NonCompliant(
                f"MNP job definition {resource.display_name} has NumNodes {raw!r}, which is not an integer "
                f"(1 to {MAX_NODES})."
            )
        return Unverifiable(f"the NumNodes of job definition {resource.display_name} is not fixed by the template")
    if not 1 <= num_nodes <= MAX_NODES:
        return NonCompliant(
            f"MNP job definition {resource.display_name} has NumNodes {num_nodes}; AWS Batch allows 1 to "
            f"{MAX_NODES} nodes."
        )
    return Compliant()


RULE = Rule(
    id="MNP008",
    level=Level.ERROR,
    resource_type=JOB_DEFINITION,
    info=f"NumNodes is not between 1 and {MAX_NODES}.",
    explanation=f"A multi-node parallel job runs on 1 to {MAX_NODES} nodes; RegisterJobDefinition rejects "
    "any other NumNodes (and CloudFormation requires the property), so the deployment fails. Set NumNodes "
    f"within 1..{MAX_NODES}.",
    fix=_FIX,
    source=MNP_DOCS_URL,
    check=check,
)
