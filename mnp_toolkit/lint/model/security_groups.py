"""Security groups: of instances, of MNP task interfaces, their rules, and restricted VPC default groups."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mnp_toolkit.lint.cache import per_resource, per_template
from mnp_toolkit.lint.model.launch_templates import launch_template_of
from mnp_toolkit.lint.model.resource_types import (
    COMPUTE_ENVIRONMENT,
    RESTRICT_DEFAULT_SECURITY_GROUP,
    SECURITY_GROUP,
    SECURITY_GROUP_EGRESS,
    SECURITY_GROUP_INGRESS,
)
from mnp_toolkit.lint.template import UNKNOWN, Resource, ResourceRef, Template


@per_resource
def security_groups_of(ce: Resource) -> list[Any] | Any:
    """The security groups of a CE's *instances*: ``SecurityGroupIds``, or where absent its launch
    template's ("If security groups are specified using both securityGroupIds and launchTemplate, the
    values in securityGroupIds are used", API ``ComputeResource``).

    Elements are Resources (groups in the template) or resolved values (ids, UNKNOWN). Returns UNKNOWN
    when the list itself cannot be known and None when the CE names no security group anywhere. The MNP
    task interfaces use :func:`task_security_groups` instead.
    """
    ids = ce.get("ComputeResources", "SecurityGroupIds")
    if ids is None:
        launch_template = launch_template_of(ce)
        if launch_template is UNKNOWN:
            return UNKNOWN
        if not isinstance(launch_template, Resource):
            return None
        ids = launch_template_security_groups(launch_template)
        if ids is None or ids is UNKNOWN:
            return ids
    if not isinstance(ids, list):
        return UNKNOWN
    return [_group_target(ce.template, item) for item in ids]


def launch_template_security_groups(launch_template: Resource) -> list[Any] | Any:
    """The groups a launch template gives an instance (``SecurityGroupIds``, its network interfaces'
    ``Groups``, or ``SecurityGroups``), unresolved into resources; None when it names none."""
    data = launch_template.get("LaunchTemplateData")
    if not isinstance(data, Mapping):
        return UNKNOWN if data is UNKNOWN else None
    ids = data.get("SecurityGroupIds")
    if ids is None:
        interfaces = data.get("NetworkInterfaces")
        if isinstance(interfaces, list):
            ids = []
            for interface in interfaces:
                groups = interface.get("Groups") if isinstance(interface, Mapping) else UNKNOWN
                if isinstance(groups, list):
                    ids.extend(groups)
                elif groups is not None:
                    return UNKNOWN
            ids = list(dict.fromkeys(_hashable(item) for item in ids)) or None
        elif interfaces is not None:
            return UNKNOWN
    if ids is None:
        ids = data.get("SecurityGroups")
    return ids


@per_resource
def task_security_groups(ce: Resource) -> list[Any] | Any:
    """The security groups the MNP task interfaces of a CE get: exactly its ``SecurityGroupIds`` ("The
    elastic network interfaces that are created and attached to an MNP task will use the security groups
    specified in your compute environment. If you don't specify a security group, the default security
    group for the VPC is used", Batch user guide, mnp-ce). A launch template's groups never reach them.

    Resources for template groups, resolved values otherwise; None when the CE sets none (the VPC's
    default group applies), UNKNOWN when the list is not fixed by the template.
    """
    ids = ce.get("ComputeResources", "SecurityGroupIds")
    if ids is None:
        return None
    if not isinstance(ids, list):
        return UNKNOWN
    return [_group_target(ce.template, item) for item in ids]


#: The property of the CDK's ``Custom::VpcRestrictDefaultSG`` that names the default group it restricts.
_RESTRICTED_GROUP_PROPERTY = "DefaultSecurityGroupId"


@dataclass(frozen=True)
class RestrictedDefaultGroups:
    """The VPCs whose default security group the template restricts: template VPCs by logical ID, and
    whether some restriction names a group the template does not link to a VPC."""

    vpcs: frozenset[str]
    some_unlinked: bool

    @property
    def any(self) -> bool:
        return bool(self.vpcs) or self.some_unlinked


@per_template
def restricted_default_groups(template: Template) -> RestrictedDefaultGroups:
    vpcs: set[str] = set()
    unlinked = False
    for resource in template.of_type(RESTRICT_DEFAULT_SECURITY_GROUP):
        value = resource.get(_RESTRICTED_GROUP_PROPERTY)
        if isinstance(value, ResourceRef) and value.attribute == "DefaultSecurityGroup":
            vpcs.add(value.logical_id)
        else:
            unlinked = True
    return RestrictedDefaultGroups(frozenset(vpcs), unlinked)


def _hashable(value: Any) -> Any:
    return value if not isinstance(value, dict | list) else repr(value)


def _group_target(template: Template, value: Any) -> Any:
    if isinstance(value, ResourceRef):
        target = template.resource(value, SECURITY_GROUP)
        if target is not None:
            return target
    return value


def group_key(group: Any) -> Any:
    """A comparable identity for a group entry (logical ID for template groups)."""
    return group.logical_id if isinstance(group, Resource) else _hashable(group)


@dataclass(frozen=True)
class SecurityGroupRule:
    """One ingress or egress rule of a group, from inline rules or standalone rule resources (resolved)."""

    group: Resource
    direction: str  # "ingress" | "egress"
    properties: Mapping[str, Any]
    source: Resource  # the SecurityGroup (inline) or the Ingress/Egress resource


def _standalone_rules_by_group(template: Template, standalone_type: str) -> dict[str, list[Resource]]:
    """Group logical ID -> the standalone ``SecurityGroupIngress``/``Egress`` resources of that group."""
    index: dict[str, list[Resource]] = {}
    for resource in template.of_type(standalone_type):
        target = template.resource(resource.get("GroupId"), SECURITY_GROUP)
        if target is not None:
            index.setdefault(target.logical_id, []).append(resource)
    return index


@per_template
def _standalone_ingress_by_group(template: Template) -> dict[str, list[Resource]]:
    return _standalone_rules_by_group(template, SECURITY_GROUP_INGRESS)


@per_template
def _standalone_egress_by_group(template: Template) -> dict[str, list[Resource]]:
    return _standalone_rules_by_group(template, SECURITY_GROUP_EGRESS)


@per_resource
def _standalone_rule_properties(rule_resource: Resource) -> Any:
    return rule_resource.get() or {}


def security_group_rules(group: Resource, direction: str) -> list[SecurityGroupRule]:
    inline_key = "SecurityGroupIngress" if direction == "ingress" else "SecurityGroupEgress"
    rules: list[SecurityGroupRule] = []
    inline = group.get(inline_key)
    if isinstance(inline, list):
        rules.extend(SecurityGroupRule(group, direction, rule, group) for rule in inline if isinstance(rule, Mapping))
    index = (_standalone_ingress_by_group if direction == "ingress" else _standalone_egress_by_group)(group.template)
    for resource in index.get(group.logical_id, ()):
        rules.append(SecurityGroupRule(group, direction, _standalone_rule_properties(resource), resource))
    return rules


def rule_peer_group(rule: SecurityGroupRule) -> Resource | Any | None:
    """The peer group of a rule (``SourceSecurityGroupId`` / ``DestinationSecurityGroupId``)."""
    key = "SourceSecurityGroupId" if rule.direction == "ingress" else "DestinationSecurityGroupId"
    value = rule.properties.get(key)
    if value is None:
        return None
    return _group_target(rule.group.template, value)


def rule_allows_all_traffic(rule: SecurityGroupRule) -> Any:
    """True when the rule admits every protocol and port (``IpProtocol: -1``, or tcp+udp 0-65535 is not
    enough for EFA/MPI so only -1 counts); UNKNOWN when unresolvable."""
    protocol = rule.properties.get("IpProtocol")
    if protocol is UNKNOWN:
        return UNKNOWN
    return str(protocol).strip().lower() in {"-1", "all"}


@per_template
def _compute_environments_by_security_group(template: Template) -> dict[str, list[Resource]]:
    """Security group logical ID -> every CE whose security groups include it (template order)."""
    index: dict[str, list[Resource]] = {}
    for ce in template.of_type(COMPUTE_ENVIRONMENT):
        groups = security_groups_of(ce)
        if isinstance(groups, list):
            for name in dict.fromkeys(item.logical_id for item in groups if isinstance(item, Resource)):
                index.setdefault(name, []).append(ce)
    return index


def compute_environments_of_security_group(group: Resource) -> list[Resource]:
    """Every CE of the template (MNP or not) whose security groups include ``group``."""
    return list(_compute_environments_by_security_group(group.template).get(group.logical_id, ()))


def has_unresolved_rules(group: Resource, direction: str) -> bool:
    """True when some inline rule of ``group`` (or the inline list itself) is not fixed by the template:
    :func:`security_group_rules` leaves such entries out, so a rule about "no such rule" cannot be sure."""
    inline = group.get("SecurityGroupIngress" if direction == "ingress" else "SecurityGroupEgress")
    if inline is UNKNOWN:
        return True
    return isinstance(inline, list) and any(not isinstance(rule, Mapping) for rule in inline)
