"""Turn a live account (:class:`~mnp_toolkit.ops.audit.read.LiveAccount`) into the template the rule pack
checks: one CloudFormation-shaped ``Resources`` entry per live resource, so that every rule runs unchanged.

* **Logical IDs are the live resources' ARNs or ids**, so every finding and every message names the
  live resource: compute environments, job queues and job definitions by ARN; security groups, subnets,
  route tables and VPC endpoints by id; placement groups by ARN (their name where EC2 gives no ARN);
  a launch-template *version* as ``lt-0123456789abcdef0:3``; a route as ``rtb-...:0.0.0.0/0``.
* **Properties use CloudFormation's names**: the Batch API's camelCase keys with the first letter
  upper-cased (``computeResources.securityGroupIds`` -> ``ComputeResources.SecurityGroupIds``; the
  CloudFormation resource types mirror the create calls' inputs), and only the members of the create call
  (``CreateComputeEnvironment``, ``CreateJobQueue``, ``RegisterJobDefinition``), so what a describe call adds
  (status, ARNs) stays out, as it is out of a template. EC2 structures already use CloudFormation's
  names (``LaunchTemplateData``); security group rules (``IpPermissions``) become inline
  ``SecurityGroupIngress``/``SecurityGroupEgress`` entries, one per source, as CloudFormation writes them.
* **Cross references are** ``Ref``\\ s to the converted resources (a queue's compute environments, a
  compute environment's subnets, security groups, placement group and launch-template version, a route's
  table...), so the model resolves them as in a template; one the audit did not find (deleted) stays a
  literal value, which the rules treat as a resource outside the template (not verifiable).
* **Route tables**: a subnet without an explicit association uses its VPC's main route table; the live
  account says which one that is, so the subnet gets an association to it. Blackhole routes (a deleted
  target) carry no traffic and are left out. VPC endpoints count only when ``available``.
* **Tags**: ``mnp:queue=true`` on a job queue becomes the ``mnp:queue`` metadata the model reads;
  ``mnp:acknowledge`` (``MNP101=reason;MNP105=reason``) on any resource becomes ``mnp:acknowledge``
  metadata entries, so the engine applies (and checks) acknowledgements exactly as in templates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mnp_toolkit.core.limits import MNP_QUEUE_METADATA_KEY, MNP_QUEUE_TAG
from mnp_toolkit.lint.engine import ACKNOWLEDGE_METADATA_KEY
from mnp_toolkit.lint.model.resource_types import (
    COMPUTE_ENVIRONMENT,
    JOB_DEFINITION,
    JOB_QUEUE,
    LAUNCH_TEMPLATE,
    PLACEMENT_GROUP,
    ROUTE,
    ROUTE_TABLE,
    ROUTE_TABLE_ASSOCIATION,
    SECURITY_GROUP,
    SUBNET,
    VPC_ENDPOINT,
)
from mnp_toolkit.ops.audit.read import LaunchTemplateKey, LiveAccount, launch_template_entries, launch_template_spec

#: The tag that acknowledges findings on a live resource (the same key as the template metadata).
ACKNOWLEDGE_TAG = ACKNOWLEDGE_METADATA_KEY
#: ``mnp:acknowledge`` tag values: entries separated by ``;``, each ``RULE=reason``.
ACKNOWLEDGE_SEPARATOR = ";"

#: Batch structures whose keys are the user's own (parameters, tags, log options, Kubernetes labels and
#: resource names such as ``nvidia.com/gpu``): their keys are kept as they are.
_FREE_FORM_KEYS = frozenset({"parameters", "tags", "options", "labels", "annotations", "limits", "requests"})
#: A one-key mapping with one of these keys is read as an intrinsic function by the template model.
_INTRINSIC_PREFIX = "Fn::"
_INTRINSIC_KEYS = frozenset({"Ref", "Condition"})

#: Routes carry no traffic in this state (their target was deleted).
_BLACKHOLE = "blackhole"
#: A VPC endpoint carries traffic only in this state.
_ENDPOINT_USABLE = "available"
#: Route fields that describe the route's status, not its destination or target.
_ROUTE_STATUS = frozenset({"Origin", "State"})


def _mappings(items: Any) -> list[Mapping[str, Any]]:
    """The mappings of a list from an API response (anything else in it is not a resource)."""
    return [item for item in items if isinstance(item, Mapping)] if isinstance(items, list) else []


def _pick(mapping: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: _neutral_deep(mapping[key]) for key in keys if key in mapping}


def _ref(logical_id: str) -> dict[str, str]:
    return {"Ref": logical_id}


def _neutral(mapping: dict[str, Any]) -> dict[str, Any]:
    """A live one-key mapping that looks like an intrinsic (``{"Ref": ...}`` as a parameter name) would be
    resolved as one: its key gets a leading underscore (the value is the user's, never a reference)."""
    if len(mapping) == 1:
        ((key, value),) = mapping.items()
        if key in _INTRINSIC_KEYS or key.startswith(_INTRINSIC_PREFIX):
            return {f"_{key}": value}
    return mapping


def cloudformation_keys(value: Any, *, free_form: bool = False) -> Any:
    """A Batch API structure with CloudFormation's property names (``minvCpus`` -> ``MinvCpus``), except
    inside free-form maps (:data:`_FREE_FORM_KEYS`), whose keys are data."""
    if isinstance(value, Mapping):
        converted: dict[str, Any] = {}
        for key, item in value.items():
            name = str(key)
            converted[name if free_form else name[:1].upper() + name[1:]] = cloudformation_keys(
                item, free_form=False if free_form else name in _FREE_FORM_KEYS
            )
        return _neutral(converted)
    if isinstance(value, list):
        return [cloudformation_keys(item) for item in value]
    return value


def _neutral_deep(value: Any) -> Any:
    """EC2 structures keep their names; only intrinsic-looking one-key mappings are neutralized."""
    if isinstance(value, Mapping):
        return _neutral({str(key): _neutral_deep(item) for key, item in value.items()})
    if isinstance(value, list):
        return [_neutral_deep(item) for item in value]
    return value


def batch_tags(resource: Mapping[str, Any]) -> dict[str, str]:
    tags = resource.get("tags")
    if not isinstance(tags, Mapping):
        return {}
    return {str(key): str(value) for key, value in tags.items()}


def ec2_tags(resource: Mapping[str, Any]) -> dict[str, str]:
    tags = resource.get("Tags")
    found: dict[str, str] = {}
    for tag in tags if isinstance(tags, list) else ():
        if isinstance(tag, Mapping) and isinstance(tag.get("Key"), str):
            found[tag["Key"]] = str(tag.get("Value", ""))
    return found


def parse_acknowledgements(value: str) -> list[Any]:
    """``MNP101=reason;MNP105=reason`` as ``mnp:acknowledge`` metadata entries. An entry without ``=``
    keeps an empty reason, so the engine reports it (MNP000) like a template entry without one."""
    entries: list[Any] = []
    for part in value.split(ACKNOWLEDGE_SEPARATOR):
        text = part.strip()
        if not text:
            continue
        rule, separator, reason = text.partition("=")
        entries.append({"id": rule.strip(), "reason": reason.strip() if separator else ""})
    return entries or [value]


def _metadata(tags: Mapping[str, str], *, queue: bool = False) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    if queue and MNP_QUEUE_TAG in tags:
        metadata[MNP_QUEUE_METADATA_KEY] = tags[MNP_QUEUE_TAG].strip()
    if ACKNOWLEDGE_TAG in tags:
        metadata[ACKNOWLEDGE_METADATA_KEY] = parse_acknowledgements(tags[ACKNOWLEDGE_TAG])
    return metadata


def _entry(resource_type: str, properties: Mapping[str, Any], metadata: Mapping[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"Type": resource_type, "Properties": dict(properties)}
    if metadata:
        entry["Metadata"] = dict(metadata)
    return entry


def launch_template_logical_id(version: Mapping[str, Any]) -> str:
    return f"{version.get('LaunchTemplateId', '?')}:{version.get('VersionNumber', '?')}"


def route_destination(route: Mapping[str, Any]) -> str:
    for key in ("DestinationCidrBlock", "DestinationIpv6CidrBlock", "DestinationPrefixListId"):
        value = route.get(key)
        if isinstance(value, str):
            return value
    return "?"


class _Builder:
    """Builds the ``Resources`` of one account, remembering which live ids became which logical IDs."""

    def __init__(self, live: LiveAccount) -> None:
        self.live = live
        self.resources: dict[str, dict[str, Any]] = {}
        self.subnets: set[str] = set()
        self.groups: set[str] = set()
        self.placement_groups: dict[str, str] = {}  # name -> logical ID
        self.compute_environments: dict[str, str] = {}  # ARN and name -> logical ID

    def add(
        self, logical_id: str, resource_type: str, properties: Mapping[str, Any], metadata: Mapping[str, Any]
    ) -> None:
        self.resources.setdefault(logical_id, _entry(resource_type, properties, metadata))

    def known_group(self, value: Any) -> Any:
        return _ref(value) if isinstance(value, str) and value in self.groups else value

    def known_subnet(self, value: Any) -> Any:
        return _ref(value) if isinstance(value, str) and value in self.subnets else value

    # ----------------------------------------------------------------------------------------- EC2

    def security_groups(self) -> None:
        self.groups = {
            group["GroupId"] for group in _mappings(self.live.security_groups) if isinstance(group.get("GroupId"), str)
        }
        for group in _mappings(self.live.security_groups):
            group_id = group.get("GroupId")
            if not isinstance(group_id, str):
                continue
            properties = {
                "GroupName": group.get("GroupName"),
                "GroupDescription": group.get("Description"),
                "VpcId": group.get("VpcId"),
                "SecurityGroupIngress": self._rules(group.get("IpPermissions"), "ingress"),
                "SecurityGroupEgress": self._rules(group.get("IpPermissionsEgress"), "egress"),
            }
            self.add(group_id, SECURITY_GROUP, properties, _metadata(ec2_tags(group)))

    def _rules(self, permissions: Any, direction: str) -> list[dict[str, Any]]:
        """EC2 ``IpPermissions`` as CloudFormation's inline rules: one entry per CIDR, prefix list or group."""
        peer = "SourceSecurityGroupId" if direction == "ingress" else "DestinationSecurityGroupId"
        prefix_list = "SourcePrefixListId" if direction == "ingress" else "DestinationPrefixListId"
        rules: list[dict[str, Any]] = []
        for permission in permissions if isinstance(permissions, list) else ():
            if not isinstance(permission, Mapping):
                continue
            base = {key: permission[key] for key in ("IpProtocol", "FromPort", "ToPort") if key in permission}
            sources: list[dict[str, Any]] = []
            for item in permission.get("IpRanges") or ():
                if isinstance(item, Mapping) and "CidrIp" in item:
                    sources.append({"CidrIp": item["CidrIp"]})
            for item in permission.get("Ipv6Ranges") or ():
                if isinstance(item, Mapping) and "CidrIpv6" in item:
                    sources.append({"CidrIpv6": item["CidrIpv6"]})
            for item in permission.get("PrefixListIds") or ():
                if isinstance(item, Mapping) and "PrefixListId" in item:
                    sources.append({prefix_list: item["PrefixListId"]})
            for item in permission.get("UserIdGroupPairs") or ():
                if isinstance(item, Mapping) and "GroupId" in item:
                    sources.append({peer: self.known_group(item["GroupId"])})
            rules.extend({**base, **source} for source in sources)
        return rules

    def subnets_and_routes(self) -> None:
        self.subnets = {
            subnet["SubnetId"] for subnet in _mappings(self.live.subnets) if isinstance(subnet.get("SubnetId"), str)
        }
        for subnet in _mappings(self.live.subnets):
            subnet_id = subnet.get("SubnetId")
            if not isinstance(subnet_id, str):
                continue
            properties = _pick(
                subnet, ("VpcId", "CidrBlock", "AvailabilityZone", "AvailabilityZoneId", "MapPublicIpOnLaunch")
            )
            self.add(subnet_id, SUBNET, properties, _metadata(ec2_tags(subnet)))
        explicit: set[str] = set()
        main_tables: dict[str, str] = {}  # VPC -> its main route table
        for table in _mappings(self.live.route_tables):
            table_id = table.get("RouteTableId")
            if not isinstance(table_id, str):
                continue
            self.add(table_id, ROUTE_TABLE, {"VpcId": table.get("VpcId")}, _metadata(ec2_tags(table)))
            for route in table.get("Routes") or ():
                if not isinstance(route, Mapping) or route.get("State") == _BLACKHOLE:
                    continue
                route_properties: dict[str, Any] = {
                    str(key): _neutral_deep(value) for key, value in route.items() if key not in _ROUTE_STATUS
                }
                route_properties["RouteTableId"] = _ref(table_id)
                self.add(f"{table_id}:{route_destination(route)}", ROUTE, route_properties, {})
            for association in table.get("Associations") or ():
                if not isinstance(association, Mapping):
                    continue
                if association.get("Main") is True and isinstance(table.get("VpcId"), str):
                    main_tables[table["VpcId"]] = table_id
                subnet_id = association.get("SubnetId")
                if isinstance(subnet_id, str) and subnet_id in self.subnets:
                    explicit.add(subnet_id)
                    self.add(
                        str(association.get("RouteTableAssociationId") or f"{subnet_id}:{table_id}"),
                        ROUTE_TABLE_ASSOCIATION,
                        {"SubnetId": _ref(subnet_id), "RouteTableId": _ref(table_id)},
                        {},
                    )
        for subnet in _mappings(self.live.subnets):
            subnet_id, vpc = subnet.get("SubnetId"), subnet.get("VpcId")
            if subnet_id in self.subnets and subnet_id not in explicit and vpc in main_tables:
                # No explicit association: the VPC's main route table applies (VPC user guide, route tables).
                self.add(
                    f"{subnet_id}:main:{main_tables[vpc]}",
                    ROUTE_TABLE_ASSOCIATION,
                    {"SubnetId": _ref(str(subnet_id)), "RouteTableId": _ref(main_tables[vpc])},
                    {},
                )

    def vpc_endpoints(self) -> None:
        tables = {table.get("RouteTableId") for table in _mappings(self.live.route_tables)}
        for endpoint in _mappings(self.live.vpc_endpoints):
            endpoint_id = endpoint.get("VpcEndpointId")
            if not isinstance(endpoint_id, str) or endpoint.get("State", _ENDPOINT_USABLE) != _ENDPOINT_USABLE:
                continue
            properties = _pick(endpoint, ("VpcId", "ServiceName", "VpcEndpointType"))
            properties["RouteTableIds"] = [
                _ref(table) if table in tables else table for table in endpoint.get("RouteTableIds") or ()
            ]
            properties["SubnetIds"] = [self.known_subnet(subnet) for subnet in endpoint.get("SubnetIds") or ()]
            self.add(endpoint_id, VPC_ENDPOINT, properties, _metadata(ec2_tags(endpoint)))

    def placement(self) -> None:
        for group in _mappings(self.live.placement_groups):
            name = group.get("GroupName")
            if not isinstance(name, str):
                continue
            logical_id = str(group.get("GroupArn") or name)
            self.placement_groups[name] = logical_id
            properties = _pick(group, ("Strategy", "SpreadLevel", "PartitionCount"))
            self.add(logical_id, PLACEMENT_GROUP, properties, _metadata(ec2_tags(group)))

    def launch_templates(self) -> dict[tuple[LaunchTemplateKey, str], str]:
        """Each launch-template version in use as a resource; (template, spec) -> its logical ID."""
        found: dict[tuple[LaunchTemplateKey, str], str] = {}
        for key, version in self.live.launch_template_versions.items():
            logical_id = launch_template_logical_id(version)
            found[key] = logical_id
            data = _neutral_deep(version.get("LaunchTemplateData") or {})
            if isinstance(data, dict):
                if isinstance(data.get("SecurityGroupIds"), list):
                    data["SecurityGroupIds"] = [self.known_group(group) for group in data["SecurityGroupIds"]]
                for interface in data.get("NetworkInterfaces") or ():
                    if isinstance(interface, dict) and isinstance(interface.get("Groups"), list):
                        interface["Groups"] = [self.known_group(group) for group in interface["Groups"]]
            properties = {"LaunchTemplateName": version.get("LaunchTemplateName"), "LaunchTemplateData": data}
            self.add(logical_id, LAUNCH_TEMPLATE, properties, {})
        return found

    # --------------------------------------------------------------------------------------- Batch

    def _create_input(self, kind: str, described: Mapping[str, Any]) -> dict[str, Any]:
        members = self.live.create_members.get(kind)
        kept = {key: value for key, value in described.items() if members is None or key in members}
        converted = cloudformation_keys(kept)
        return converted if isinstance(converted, dict) else {}

    def compute_environment(
        self, ce: Mapping[str, Any], launch_templates: dict[tuple[LaunchTemplateKey, str], str]
    ) -> None:
        arn = ce.get("computeEnvironmentArn")
        if not isinstance(arn, str):
            return
        properties = self._create_input("compute_environment", ce)
        resources = properties.get("ComputeResources")
        if isinstance(resources, dict):
            if isinstance(resources.get("Subnets"), list):
                resources["Subnets"] = [self.known_subnet(subnet) for subnet in resources["Subnets"]]
            if isinstance(resources.get("SecurityGroupIds"), list):
                resources["SecurityGroupIds"] = [self.known_group(group) for group in resources["SecurityGroupIds"]]
            name = resources.get("PlacementGroup")
            if isinstance(name, str) and name in self.placement_groups:
                resources["PlacementGroup"] = _ref(self.placement_groups[name])
            spec = resources.get("LaunchTemplate")
            if isinstance(spec, dict):
                self._link_launch_templates(ce, spec, launch_templates)
        self.add(arn, COMPUTE_ENVIRONMENT, properties, _metadata(batch_tags(ce)))

    @staticmethod
    def _link_launch_templates(
        ce: Mapping[str, Any], spec: dict[str, Any], launch_templates: dict[tuple[LaunchTemplateKey, str], str]
    ) -> None:
        """Point ``LaunchTemplate`` (and each override) at the version resource it uses."""
        overrides = spec.get("Overrides")
        converted = [spec, *(overrides if isinstance(overrides, list) else [])]
        converted = [entry for entry in converted if isinstance(entry, dict)]
        # Both lists come from the same launchTemplate/overrides, in the same order.
        for entry, raw in zip(converted, launch_template_entries(ce), strict=False):
            found = launch_template_spec(raw)
            logical_id = launch_templates.get(found) if found is not None else None
            if logical_id is None:
                continue  # the template or version is gone: the literal reference stays (not verifiable)
            entry.pop("LaunchTemplateName", None)
            entry["LaunchTemplateId"] = _ref(logical_id)
            entry["Version"] = logical_id.rsplit(":", 1)[-1]

    def job_queue(self, queue: Mapping[str, Any]) -> None:
        arn = queue.get("jobQueueArn")
        if not isinstance(arn, str):
            return
        properties = self._create_input("job_queue", queue)
        for entry in properties.get("ComputeEnvironmentOrder") or ():
            if isinstance(entry, dict):
                target = entry.get("ComputeEnvironment")
                if isinstance(target, str) and target in self.compute_environments:
                    entry["ComputeEnvironment"] = _ref(self.compute_environments[target])
        self.add(arn, JOB_QUEUE, properties, _metadata(batch_tags(queue), queue=True))

    def job_definition(self, definition: Mapping[str, Any]) -> None:
        arn = definition.get("jobDefinitionArn")
        if isinstance(arn, str):
            properties = self._create_input("job_definition", definition)
            self.add(arn, JOB_DEFINITION, properties, _metadata(batch_tags(definition)))


def build_template(live: LiveAccount) -> dict[str, Any]:
    """The CloudFormation-shaped template of ``live`` (module docstring), ready for
    :class:`mnp_toolkit.lint.template.Template`."""
    builder = _Builder(live)
    builder.security_groups()
    builder.subnets_and_routes()
    builder.vpc_endpoints()
    builder.placement()
    launch_templates = builder.launch_templates()
    for ce in _mappings(live.compute_environments):
        arn, name = ce.get("computeEnvironmentArn"), ce.get("computeEnvironmentName")
        if isinstance(arn, str):
            builder.compute_environments[arn] = arn
            if isinstance(name, str):
                builder.compute_environments[name] = arn
    for ce in _mappings(live.compute_environments):
        builder.compute_environment(ce, launch_templates)
    for queue in _mappings(live.job_queues):
        builder.job_queue(queue)
    for definition in _mappings(live.job_definitions):
        builder.job_definition(definition)
    return {
        "Description": f"mnp audit of account {live.account} in {live.region}",
        "Resources": builder.resources,
    }
