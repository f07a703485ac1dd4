"""Launch templates of compute environments (direct and in ``Overrides``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mnp_toolkit.lint.cache import per_resource, per_template
from mnp_toolkit.lint.model.resource_types import COMPUTE_ENVIRONMENT, LAUNCH_TEMPLATE
from mnp_toolkit.lint.template import UNKNOWN, Resource, Template


@per_resource
def launch_template_of(ce: Resource) -> Resource | Any | None:
    """The ``AWS::EC2::LaunchTemplate`` a CE's instances start from (``ComputeResources.LaunchTemplate``,
    not its ``Overrides``): Resource, None (no launch template) or UNKNOWN."""
    spec = ce.get("ComputeResources", "LaunchTemplate")
    if spec is None:
        return None
    if not isinstance(spec, Mapping):
        return UNKNOWN
    target = _launch_template_target(ce.template, spec)
    return target if target is not None else UNKNOWN


@per_resource
def launch_templates_of(ce: Resource) -> tuple[list[Resource], bool]:
    """Every template launch template a CE uses (``LaunchTemplate`` and its ``Overrides``), and whether
    some reference could not be resolved (so another launch template may be used too).

    A launch template named by a literal ``LaunchTemplateName`` is matched against the
    ``LaunchTemplateName`` of the template's launch templates.
    """
    found: list[Resource] = []
    unresolved = False
    spec = ce.get("ComputeResources", "LaunchTemplate")
    if spec is None:
        return found, unresolved
    if not isinstance(spec, Mapping):
        return found, True
    overrides = spec.get("Overrides")
    specs: list[Any] = [spec]
    if isinstance(overrides, list):
        specs.extend(overrides)
    elif overrides is not None:
        unresolved = True
    for item in specs:
        if not isinstance(item, Mapping):
            unresolved = True
            continue
        target = _launch_template_target(ce.template, item)
        if target is None:
            unresolved = True
        elif target.logical_id not in {lt.logical_id for lt in found}:
            found.append(target)
    return found, unresolved


def _launch_template_target(template: Template, spec: Mapping[str, Any]) -> Resource | None:
    for key in ("LaunchTemplateId", "LaunchTemplateName"):
        if key not in spec:
            continue
        value = spec[key]
        target = template.resource(value, LAUNCH_TEMPLATE)
        if target is not None:
            return target
        if key == "LaunchTemplateName" and isinstance(value, str):
            return _launch_templates_by_name(template).get(value)
        return None
    return None


@per_template
def _launch_templates_by_name(template: Template) -> dict[str, Resource]:
    """Literal ``LaunchTemplateName`` -> the first launch template of the template with that name."""
    index: dict[str, Resource] = {}
    for candidate in template.of_type(LAUNCH_TEMPLATE):
        name = candidate.get("LaunchTemplateName")
        if isinstance(name, str):
            index.setdefault(name, candidate)
    return index


@per_template
def _compute_environments_by_any_launch_template(template: Template) -> dict[str, list[Resource]]:
    """Launch template logical ID -> every CE using it directly or in an override (template order)."""
    index: dict[str, list[Resource]] = {}
    for ce in template.of_type(COMPUTE_ENVIRONMENT):
        for launch_template in launch_templates_of(ce)[0]:  # distinct per CE
            index.setdefault(launch_template.logical_id, []).append(ce)
    return index


def compute_environments_using(launch_template: Resource) -> list[Resource]:
    """Every CE of the template (MNP or not) that uses ``launch_template`` directly or in an override."""
    index = _compute_environments_by_any_launch_template(launch_template.template)
    return list(index.get(launch_template.logical_id, ()))
