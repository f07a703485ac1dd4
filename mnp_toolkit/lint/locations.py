"""Where in a template a finding points: the property each rule checks, as a path from the template root.

A rule's :class:`~mnp_toolkit.lint.rule.Problem` may name the exact place (``Problem(..., path=(...))``,
inside the resource's ``Properties``); otherwise the finding points at the property the rule is about,
from :data:`RULE_PROPERTIES`. Where that property is absent (the problem *is* its absence) the line and
column are those of its nearest enclosing part that exists, the resource itself at the least.

The table lists candidates in order: the first one the resource has is used (MNP204 looks at the node
ranges of a multinode job definition, at ``ContainerProperties`` of a container job); with none present,
the first. ``tests/mnp_toolkit/lint/test_locations.py`` checks that every rule of the pack is listed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Path = tuple[str | int, ...]

_RANGES: Path = ("NodeProperties", "NodeRangeProperties")
_NUM_NODES: Path = ("NodeProperties", "NumNodes")

#: Rule ID -> candidate property paths inside ``Properties`` (``()`` is ``Properties`` itself).
RULE_PROPERTIES: dict[str, tuple[Path, ...]] = {
    "MNP001": (("Type",),),
    "MNP002": (("ComputeResources", "Type"), ("ComputeResources",)),
    "MNP003": (("ComputeResources", "SecurityGroupIds"), ("ComputeResources",)),
    "MNP004": (("ComputeResources", "MaxvCpus"), ("ComputeResources",)),
    "MNP005": (_RANGES,),
    "MNP006": (_RANGES,),
    "MNP007": (_RANGES,),
    "MNP008": (_NUM_NODES,),
    "MNP009": (_RANGES,),
    "MNP010": (_RANGES,),
    "MNP011": (("NodeProperties", "MainNode"),),
    "MNP012": (("ComputeResources", "Subnets"),),
    "MNP013": (("ComputeResources", "Subnets"),),
    "MNP014": (("ComputeResources", "PlacementGroup"), ("ComputeResources", "Subnets")),
    "MNP015": (_RANGES,),
    "MNP016": (_RANGES,),
    "MNP017": (("RetryStrategy", "Attempts"),),
    "MNP018": (("ComputeEnvironmentOrder",),),
    "MNP019": (("ComputeResources", "InstanceTypes"),),
    "MNP020": ((),),
    "MNP101": (("ComputeResources", "PlacementGroup"), ("ComputeResources",)),
    "MNP102": (("ComputeResources", "SecurityGroupIds"), ("ComputeResources",)),
    "MNP103": (_NUM_NODES,),
    "MNP104": (_RANGES,),
    "MNP105": (("JobStateTimeLimitActions",),),
    "MNP106": (("ComputeResources", "MinvCpus"),),
    "MNP107": (_RANGES,),
    "MNP108": (_RANGES,),
    "MNP109": (_NUM_NODES,),
    "MNP110": (_RANGES,),
    "MNP111": (("ComputeResources", "SecurityGroupIds"), ("ComputeResources",)),
    "MNP201": (("LaunchTemplateData", "MetadataOptions", "HttpTokens"),),
    "MNP202": (("LaunchTemplateData", "BlockDeviceMappings"),),
    "MNP203": (("SecurityGroupIngress",), ()),
    "MNP204": (
        _RANGES,
        ("ContainerProperties", "Privileged"),
        ("ContainerProperties",),
        ("EcsProperties",),
        ("EksProperties",),
    ),
}


def existing_prefix(value: Any, path: Sequence[str | int]) -> tuple[str | int, ...]:
    """The longest prefix of ``path`` that is present in ``value`` (mapping keys, list indexes)."""
    found: list[str | int] = []
    for step in path:
        in_list = isinstance(step, int) and isinstance(value, list) and 0 <= step < len(value)
        if not (in_list or (isinstance(step, str) and isinstance(value, Mapping) and step in value)):
            break
        value = value[step]
        found.append(step)
    return tuple(found)


def _has(properties: Mapping[str, Any], path: Sequence[str | int]) -> bool:
    return len(existing_prefix(properties, path)) == len(path)


def property_path(rule_id: str, properties: Mapping[str, Any], explicit: Path | None = None) -> Path:
    """The path inside ``Properties`` a finding of ``rule_id`` points at (see the module docs)."""
    if explicit is not None:
        return explicit
    candidates = RULE_PROPERTIES.get(rule_id, ((),))
    return next((path for path in candidates if _has(properties, path)), candidates[0])


def resource_pointer(resource: Path, path: Path) -> Path:
    """The path from the template root: ``(*resource, "Properties", *path)``, where ``resource`` is where the
    resource is written (``("Resources", logical_id)``, or inside its ``Fn::ForEach`` loop)."""
    return (*resource, "Properties", *path)
