"""MNP107 (warning): an MNP job definition requests EFA but its instance type does not support EFA.

"Requests EFA" means, per node range: a container maps a ``/dev/infiniband/*`` host device
(``LinuxParameters.Devices[].HostPath``, in ``Container`` or in an ``EcsProperties`` task's containers;
the Batch EFA guide passes ``/dev/infiniband/uverbs0`` this way), or an EKS pod container asks for the
``vpc.amazonaws.com/efa`` extended resource. Batch has no other EFA switch in a job definition (EFA
interfaces themselves come from the compute environment's launch template).

A node range runs on the instance type it names, else on the job's one type. An instance type the facts
table does not know, or none at all, is never a finding; values the template does not fix give an info.
"""

from __future__ import annotations

from mnp_toolkit.core import instance_types
from mnp_toolkit.lint.model.job_definitions import (
    JobDefinitionModel,
    efa_requests,
    model_with_ranges,
)
from mnp_toolkit.lint.model.resource_types import JOB_DEFINITION
from mnp_toolkit.lint.rule import Compliant, Level, NonCompliant, Problem, Rule, RuleResult, Unverifiable
from mnp_toolkit.lint.template import UNKNOWN, Resource, Template

EFA_DOCS_URL = "https://docs.aws.amazon.com/batch/latest/userguide/efa.html"


def check(resource: Resource, template: Template) -> RuleResult:
    model = model_with_ranges(resource)
    if not isinstance(model, JobDefinitionModel):
        return model
    problems: list[Problem] = []
    unsure = False
    for node_range in model.ranges or ():
        requests, range_unsure = efa_requests(node_range)
        if not requests:
            unsure = unsure or range_unsure
            continue
        instance_type = model.instance_type_of(node_range)
        if instance_type is UNKNOWN:
            unsure = True
            continue
        if not isinstance(instance_type, str):
            continue
        facts = instance_types.lookup(instance_type)
        if facts is None or facts.efa_supported:
            continue
        problems.append(
            Problem(
                f"MNP job definition {resource.display_name}: {node_range.label} requests EFA "
                f"({', '.join(dict.fromkeys(requests))}) but runs on {facts.name}, which does not support EFA: "
                "the device does not exist on the host and the container fails to start.",
                f"Run {resource.display_name} on an EFA-capable instance type (e.g. c5n.18xlarge, p4d.24xlarge: "
                "MultiNodeJobDefinition instanceType / MnpJobDefinition instance_type), or drop the EFA "
                "devices (MnpJobDefinition efa=False).",
            )
        )
    if problems:
        return NonCompliant(*problems)
    if unsure:
        return Unverifiable(
            f"the devices, EFA resources or instance type of job definition {resource.display_name} are not "
            "fixed by the template"
        )
    return Compliant()


RULE = Rule(
    id="MNP107",
    level=Level.WARNING,
    resource_type=JOB_DEFINITION,
    info="The instance type of an MNP job definition is not EFA-capable while a node group maps "
    "/dev/infiniband/* devices or requests EFA.",
    explanation="An Elastic Fabric Adapter exists only on EFA-capable instance types. A node that maps "
    "/dev/infiniband/uverbsN (or, on EKS, asks for vpc.amazonaws.com/efa) on a type without EFA gets no "
    "such device: the container cannot start or the pod is never scheduled, and MPI/NCCL fall back to TCP "
    "at best.",
    fix="Use an EFA-capable instance type (aws-cdk-lib MultiNodeJobDefinition instanceType; the toolkit's "
    "MnpJobDefinition instance_type with efa=True checks it), or remove the /dev/infiniband devices "
    "(LinuxParameters devices; MnpJobDefinition efa=False).",
    source=EFA_DOCS_URL,
    check=check,
)
