"""MNP204: a container of a job definition runs ``Privileged: true``.

A security rule (catalog section "Security"): it applies to EVERY ``AWS::Batch::JobDefinition``, MNP or
not, because a privileged container is root on its host whatever the job type. Checked places:
``ContainerProperties``, ``EcsProperties.TaskProperties[].Containers[]``,
``EksProperties.PodProperties.(Init)Containers[].SecurityContext`` and the same three inside every
``NodeProperties.NodeRangeProperties`` entry. Every privileged container is reported; values the template
does not fix give an info.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mnp_toolkit.core.limits import CONTAINER_PROPERTIES_API_URL
from mnp_toolkit.lint.model.naming import render_value
from mnp_toolkit.lint.model.resource_types import JOB_DEFINITION
from mnp_toolkit.lint.rule import Compliant, Level, NonCompliant, NotApplicable, Problem, Rule, RuleResult, Unverifiable
from mnp_toolkit.lint.template import UNKNOWN, Resource, Template, as_bool


class _Scan:
    def __init__(self) -> None:
        self.privileged: list[str] = []
        self.unsure: list[str] = []

    def flag(self, where: str, value: Any) -> None:
        if value is None:
            return
        verdict = as_bool(value)
        if verdict is True:
            self.privileged.append(where)
        elif verdict is UNKNOWN:
            self.unsure.append(where)

    def items(self, where: str, value: Any) -> list[tuple[str, Mapping[str, Any]]]:
        """Entries of a list of objects (named by ``Name`` where present); unfixed parts are noted."""
        if value is None:
            return []
        if not isinstance(value, list):
            self.unsure.append(where)
            return []
        found = []
        for index, item in enumerate(value):
            if not isinstance(item, Mapping):
                self.unsure.append(f"{where}[{index}]")
                continue
            name = item.get("Name")
            found.append((f"{where}[{index}]" + (f" ({name})" if isinstance(name, str) else ""), item))
        return found

    def container(self, where: str, container: Any) -> None:
        if container is None:
            return
        if not isinstance(container, Mapping):
            self.unsure.append(where)
            return
        self.flag(where, container.get("Privileged"))

    def ecs(self, where: str, ecs: Any) -> None:
        if ecs is None:
            return
        if not isinstance(ecs, Mapping):
            self.unsure.append(where)
            return
        for task_where, task in self.items(f"{where}.TaskProperties", ecs.get("TaskProperties")):
            for container_where, container in self.items(f"{task_where}.Containers", task.get("Containers")):
                self.flag(container_where, container.get("Privileged"))

    def eks(self, where: str, eks: Any) -> None:
        if eks is None:
            return
        pod = eks.get("PodProperties") if isinstance(eks, Mapping) else UNKNOWN
        if pod is None:
            return
        if not isinstance(pod, Mapping):
            self.unsure.append(where)
            return
        for key in ("Containers", "InitContainers"):
            for container_where, container in self.items(f"{where}.PodProperties.{key}", pod.get(key)):
                context = container.get("SecurityContext")
                if context is None:
                    continue
                if not isinstance(context, Mapping):
                    self.unsure.append(container_where)
                    continue
                self.flag(container_where, context.get("Privileged"))

    def job_part(self, where: str, part: Mapping[str, Any], container_key: str) -> None:
        self.container(f"{where}{container_key}", part.get(container_key))
        self.ecs(f"{where}EcsProperties", part.get("EcsProperties"))
        self.eks(f"{where}EksProperties", part.get("EksProperties"))


def check(resource: Resource, template: Template) -> RuleResult:
    if resource.type != JOB_DEFINITION:
        return NotApplicable(f"not an {JOB_DEFINITION}")
    properties = resource.get()
    if not isinstance(properties, Mapping):
        return Unverifiable(f"the Properties of job definition {resource.display_name} are not fixed")
    scan = _Scan()
    scan.job_part("", properties, "ContainerProperties")
    nodes = properties.get("NodeProperties")
    if nodes is not None and not isinstance(nodes, Mapping):
        scan.unsure.append("NodeProperties")
    elif isinstance(nodes, Mapping):
        for range_where, entry in scan.items("NodeProperties.NodeRangeProperties", nodes.get("NodeRangeProperties")):
            target = entry.get("TargetNodes")
            label = f"{range_where} (TargetNodes {render_value(target)})" if isinstance(target, str) else range_where
            scan.job_part(f"{label}.", entry, "Container")
    if scan.privileged:
        return NonCompliant(
            *(
                Problem(
                    f"Job definition {resource.display_name}: the container at {where} runs Privileged: true "
                    "(root on the host instance, with every host device)."
                )
                for where in scan.privileged
            )
        )
    if scan.unsure:
        return Unverifiable(
            f"whether {', '.join(scan.unsure)} of job definition {resource.display_name} runs privileged is not "
            "fixed by the template"
        )
    return Compliant()


RULE = Rule(
    id="MNP204",
    level=Level.ERROR,
    resource_type=JOB_DEFINITION,
    info="A container runs Privileged: true.",
    explanation="A privileged container has root access to its host instance and all of its devices: one "
    "compromised job can read other jobs' data, the instance role's credentials and the host. MNP jobs do "
    "not need it: EFA devices are passed one by one (LinuxParameters devices /dev/infiniband/uverbsN) and "
    "shared memory by sharedMemorySize. This rule applies to every job definition, multinode or not.",
    fix="Remove Privileged (or set it to false) and pass only the devices and capabilities the job needs: "
    "aws-cdk-lib EcsEc2ContainerDefinition privileged=False with linux_parameters (LinuxParameters "
    "add_devices, shared_memory_size); the toolkit's MnpJobDefinition never sets it (efa=True maps the EFA "
    "devices).",
    source=CONTAINER_PROPERTIES_API_URL,
    check=check,
)
