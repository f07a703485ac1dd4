"""MNP006: the node groups of one MNP job definition name different instance types, or one node group lists
more than one.

An instance type is named by ``Container.InstanceType`` or by the node range's ``InstanceTypes`` list
(limited by the API to one element). Names are compared as CloudFormation compares them (case-insensitive).
A job definition that names no instance type at all is fine here (Batch picks one from the compute
environment). Names the template does not fix are never a violation: at most an info.
"""

from __future__ import annotations

from collections.abc import Mapping

from mnp_toolkit.core.limits import NODE_RANGE_API_URL
from mnp_toolkit.lint.model.job_definitions import (
    JobDefinitionModel,
    model_with_ranges,
)
from mnp_toolkit.lint.model.resource_types import JOB_DEFINITION
from mnp_toolkit.lint.rule import Compliant, Level, NonCompliant, Problem, Rule, RuleResult, Unverifiable
from mnp_toolkit.lint.template import Resource, Template

_FIX = (
    "Give every node group the same single instance type: aws-cdk-lib MultiNodeJobDefinition instanceType "
    "(one type for the whole job), or the toolkit's MnpJobDefinition instance_type; in a raw template set "
    "Container.InstanceType (or a one-element InstanceTypes) to the same value in every NodeRangeProperties entry."
)


def check(resource: Resource, template: Template) -> RuleResult:
    model = model_with_ranges(resource)
    if not isinstance(model, JobDefinitionModel):
        return model
    problems: list[Problem] = []
    unsure = False
    ranges_by_type: dict[str, list[str]] = {}
    for node_range in model.ranges or ():
        names = node_range.instance_type_names
        unsure = unsure or any(not isinstance(name, str) for name in names)
        known = [name.strip().lower() for name in names if isinstance(name, str)]
        listed = node_range.entry.get("InstanceTypes") if isinstance(node_range.entry, Mapping) else None
        if isinstance(listed, list) and len(listed) > 1:
            shown = ", ".join(str(item) if isinstance(item, str) else "<not fixed>" for item in listed)
            problems.append(
                Problem(
                    f"MNP job definition {resource.display_name}: {node_range.label} lists {len(listed)} "
                    f"instance types in InstanceTypes ({shown}); the API allows one, and an MNP job runs on "
                    "a single instance type."
                )
            )
        elif len(set(known)) > 1:
            problems.append(
                Problem(
                    f"MNP job definition {resource.display_name}: {node_range.label} names more than one "
                    f"instance type ({', '.join(dict.fromkeys(known))}: Container.InstanceType and "
                    "InstanceTypes disagree); an MNP job runs on a single instance type."
                )
            )
        for name in dict.fromkeys(known):
            ranges_by_type.setdefault(name, []).append(node_range.label)
    if len(ranges_by_type) > 1:
        shown = "; ".join(f"{name} in {', '.join(labels)}" for name, labels in ranges_by_type.items())
        problems.append(
            Problem(
                f"MNP job definition {resource.display_name}: its node groups name different instance types "
                f"({shown}); every node of an MNP job must run on the same instance type."
            )
        )
    if problems:
        return NonCompliant(*problems)
    if unsure:
        return Unverifiable(f"an instance type of job definition {resource.display_name} is not fixed by the template")
    return Compliant()


RULE = Rule(
    id="MNP006",
    level=Level.ERROR,
    resource_type=JOB_DEFINITION,
    info="Node groups of one job definition name different instance types, or a node group lists more than one.",
    explanation="AWS Batch runs every node of a multi-node parallel job on one instance type, and "
    "NodeRangeProperty.instanceTypes is limited to one element. A job definition whose node groups name "
    "different types (or a group that lists several) is rejected or can never be placed. Set one type for "
    "the whole job.",
    fix=_FIX,
    source=NODE_RANGE_API_URL,
    check=check,
)
