"""MNP103 (warning): an MNP job definition has ``NumNodes`` 1.

A one-node multi-node job pays for MNP's gang scheduling, main-node bookkeeping and awsvpc networking
without using them. ``NumNodes`` the template does not fix is an info.
"""

from __future__ import annotations

from mnp_toolkit.core.limits import MNP_DOCS_URL
from mnp_toolkit.lint.model.job_definitions import job_definition_model, mnp_scope
from mnp_toolkit.lint.model.resource_types import JOB_DEFINITION
from mnp_toolkit.lint.rule import Compliant, Level, NonCompliant, Rule, RuleResult, Unverifiable
from mnp_toolkit.lint.template import UNKNOWN, Resource, Template


def check(resource: Resource, template: Template) -> RuleResult:
    if (scope := mnp_scope(resource)) is not None:
        return scope
    num_nodes = job_definition_model(resource).num_nodes
    if num_nodes is UNKNOWN:
        return Unverifiable(f"the NumNodes of job definition {resource.display_name} is not fixed by the template")
    if num_nodes == 1:
        return NonCompliant(
            f"MNP job definition {resource.display_name} has NumNodes 1: a single-node job is cheaper and "
            "simpler as a container job."
        )
    return Compliant()


RULE = Rule(
    id="MNP103",
    level=Level.WARNING,
    resource_type=JOB_DEFINITION,
    info="NumNodes is 1: a single-node job is cheaper and simpler as a container job.",
    explanation="A multi-node parallel job with one node gets nothing from gang scheduling, yet it pays for "
    "it: MNP jobs need a managed EC2 compute environment without Spot, run in awsvpc mode in private "
    "subnets, and start only when the whole (one-node) cluster can be placed. A 'container' job definition "
    "runs the same work on any compute environment, Spot and Fargate included.",
    fix="Use a single-node container job definition (aws-cdk-lib EcsJobDefinition with an "
    "EcsEc2ContainerDefinition) instead, or raise NumNodes (the toolkit's MnpJobDefinition num_nodes) if the "
    "job really is distributed.",
    source=MNP_DOCS_URL,
    check=check,
)
