"""MNP011: an MNP job definition's ``MainNode`` is not in ``0..NumNodes-1``.

A missing ``MainNode`` is an error too (required by CloudFormation and the API), and so is a value that is
not an integer. A value the template does not fix is an info; ``NumNodes`` problems are MNP008's.
"""

from __future__ import annotations

from mnp_toolkit.core.limits import NODE_PROPERTIES_API_URL
from mnp_toolkit.lint.model.job_definitions import job_definition_model, mnp_scope, required_integer
from mnp_toolkit.lint.model.resource_types import JOB_DEFINITION
from mnp_toolkit.lint.rule import Compliant, Level, NonCompliant, Rule, RuleResult, Unverifiable
from mnp_toolkit.lint.template import UNKNOWN, Resource, Template

_FIX = (
    "Set NodeProperties.MainNode to a node index in 0..NumNodes-1 (usually 0): aws-cdk-lib "
    "MultiNodeJobDefinition mainNode; the toolkit's MnpJobDefinition main_node."
)


def check(resource: Resource, template: Template) -> RuleResult:
    if (scope := mnp_scope(resource)) is not None:
        return scope
    main_node = required_integer(resource, "MainNode", expected="a node index")
    if not isinstance(main_node, int):
        return main_node
    model = job_definition_model(resource)
    if main_node < 0:
        return NonCompliant(f"MNP job definition {resource.display_name} has MainNode {main_node}; it must be >= 0.")
    num_nodes = model.num_nodes
    if num_nodes is UNKNOWN:
        return Unverifiable(f"the NumNodes of job definition {resource.display_name} is not fixed by the template")
    if not isinstance(num_nodes, int) or num_nodes < 1:
        return Compliant()  # MNP008 reports it
    if main_node >= num_nodes:
        return NonCompliant(
            f"MNP job definition {resource.display_name} has MainNode {main_node}, but NumNodes is {num_nodes} "
            f"(nodes 0 to {num_nodes - 1})."
        )
    return Compliant()


RULE = Rule(
    id="MNP011",
    level=Level.ERROR,
    resource_type=JOB_DEFINITION,
    info="MainNode is not in 0..NumNodes-1.",
    explanation="The main node of a multi-node parallel job is the node whose exit decides the job's "
    "outcome and the one Batch starts first; it must be one of the job's nodes (API NodeProperties). A "
    "MainNode outside 0..NumNodes-1 is rejected by RegisterJobDefinition. Use a valid index, usually 0.",
    fix=_FIX,
    source=NODE_PROPERTIES_API_URL,
    check=check,
)
