"""EC2 placement groups for moto: the CloudFormation model and the EC2 API.

moto gap (moto 5.2.5): moto has neither an ``AWS::EC2::PlacementGroup`` CloudFormation model (a
template with one deploys without it: moto logs "No Moto CloudFormation support" and every
``Fn::GetAtt [Group, GroupName]`` resolves to nothing) nor the EC2 actions ``CreatePlacementGroup``,
``DescribePlacementGroups`` and ``DeletePlacementGroup`` (``NotImplementedError``).

What AWS does instead: CloudFormation creates the group (a generated name when ``GroupName`` is not
given; ``Ref`` and ``GetAtt GroupName`` return the name); every property is replace-only. EC2 returns
the group with ``GroupId`` (``pg-...``), ``GroupArn``, ``State: available`` and its strategy.

This adapter stores groups on moto's EC2 backend of each account and region (so moto's reset clears
them), serves the three EC2 actions through moto's own response class, and registers a
CloudFormation model for the type. It does not place instances: moto launches no real hosts.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.core.responses import ActionResult
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models import ec2_backends
from moto.ec2.responses import EC2Response

from mnp_local.adapters._base import PhysicalIdAttributes

VALID_STRATEGIES = ("cluster", "spread", "partition")
_STORE_ATTRIBUTE = "_mnp_local_placement_groups"


@dataclass
class PlacementGroup:
    """One placement group, shaped like EC2's ``PlacementGroup`` structure."""

    group_name: str
    strategy: str
    account_id: str
    region_name: str
    partition_count: int | None = None
    spread_level: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    group_id: str = field(default_factory=lambda: f"pg-{secrets.token_hex(9)[:17]}")
    state: str = "available"

    @property
    def group_arn(self) -> str:
        return f"arn:aws:ec2:{self.region_name}:{self.account_id}:placement-group/{self.group_name}"

    def describe(self) -> dict[str, Any]:
        """The EC2 API shape (botocore serializes it)."""
        described: dict[str, Any] = {
            "GroupName": self.group_name,
            "GroupId": self.group_id,
            "GroupArn": self.group_arn,
            "State": self.state,
            "Strategy": self.strategy,
            "Tags": [{"Key": key, "Value": value} for key, value in self.tags.items()],
        }
        if self.partition_count is not None:
            described["PartitionCount"] = self.partition_count
        if self.spread_level is not None:
            described["SpreadLevel"] = self.spread_level
        return described


def _store(account_id: str, region_name: str) -> dict[str, PlacementGroup]:
    backend = ec2_backends[account_id][region_name]
    store: dict[str, PlacementGroup] | None = getattr(backend, _STORE_ATTRIBUTE, None)
    if store is None:
        store = {}
        setattr(backend, _STORE_ATTRIBUTE, store)
    return store


def create_placement_group(
    *,
    account_id: str,
    region_name: str,
    group_name: str,
    strategy: str,
    partition_count: int | None = None,
    spread_level: str | None = None,
    tags: dict[str, str] | None = None,
) -> PlacementGroup:
    """Create a group with EC2's validation of the name and strategy."""
    if strategy not in VALID_STRATEGIES:
        raise EC2ClientError(
            "InvalidParameterValue",
            f"Value ({strategy}) for parameter strategy is invalid. Expected one of {list(VALID_STRATEGIES)}.",
        )
    store = _store(account_id, region_name)
    if group_name in store:
        raise EC2ClientError("InvalidPlacementGroup.Duplicate", f"The placement group '{group_name}' already exists.")
    group = PlacementGroup(
        group_name=group_name,
        strategy=strategy,
        account_id=account_id,
        region_name=region_name,
        partition_count=partition_count,
        spread_level=spread_level,
        tags=dict(tags or {}),
    )
    store[group_name] = group
    return group


def delete_placement_group(*, account_id: str, region_name: str, group_name: str) -> None:
    """Delete a group; EC2 answers ``InvalidPlacementGroup.Unknown`` for a name it does not hold."""
    store = _store(account_id, region_name)
    if group_name not in store:
        raise EC2ClientError("InvalidPlacementGroup.Unknown", f"The Placement Group '{group_name}' is unknown.")
    del store[group_name]


def describe_placement_groups(
    *,
    account_id: str,
    region_name: str,
    group_names: list[str] | None = None,
    group_ids: list[str] | None = None,
    filters: dict[str, list[str]] | None = None,
) -> list[PlacementGroup]:
    """Groups by name, id and the filters EC2 documents (group-name, group-arn, strategy, state, tags)."""
    groups = list(_store(account_id, region_name).values())
    for name in group_names or []:
        if not any(group.group_name == name for group in groups):
            raise EC2ClientError("InvalidPlacementGroup.Unknown", f"The Placement Group '{name}' is unknown.")
    if group_names:
        groups = [group for group in groups if group.group_name in group_names]
    if group_ids:
        groups = [group for group in groups if group.group_id in group_ids]
    for name, values in (filters or {}).items():
        groups = [group for group in groups if _matches(group, name, values)]
    return groups


def _matches(group: PlacementGroup, name: str, values: list[str]) -> bool:
    if name.startswith("tag:"):
        return group.tags.get(name[4:]) in values
    attribute = {
        "group-name": group.group_name,
        "group-arn": group.group_arn,
        "strategy": group.strategy,
        "state": group.state,
        "spread-level": group.spread_level,
        "tag-key": None,
    }
    if name == "tag-key":
        return any(key in values for key in group.tags)
    if name not in attribute:
        raise EC2ClientError("InvalidParameterValue", f"The filter '{name}' is invalid")
    return attribute[name] in values


class _PlacementGroupResponses:
    """EC2 query actions; mixed into moto's ``EC2Response`` by :func:`register`."""

    def create_placement_group(self: Any) -> ActionResult:
        tags = self._parse_tag_specification("placement-group").get("placement-group", {})
        self.error_on_dryrun()
        partition_count = self._get_param("PartitionCount")
        group = create_placement_group(
            account_id=self.current_account,
            region_name=self.region,
            group_name=self._get_param("GroupName") or f"pg-name-{secrets.token_hex(6)}",
            strategy=self._get_param("Strategy"),
            partition_count=int(partition_count) if partition_count is not None else None,
            spread_level=self._get_param("SpreadLevel"),
            tags=tags,
        )
        return ActionResult({"PlacementGroup": group.describe()})

    def describe_placement_groups(self: Any) -> ActionResult:
        groups = describe_placement_groups(
            account_id=self.current_account,
            region_name=self.region,
            group_names=self._get_param("GroupNames", []),
            group_ids=self._get_param("GroupIds", []),
            filters=self._filters_from_querystring(),
        )
        return ActionResult({"PlacementGroups": [group.describe() for group in groups]})

    def delete_placement_group(self: Any) -> ActionResult:
        self.error_on_dryrun()
        delete_placement_group(
            account_id=self.current_account, region_name=self.region, group_name=self._get_param("GroupName")
        )
        return ActionResult({})


class PlacementGroupModel(PhysicalIdAttributes, CloudFormationModel):
    """``AWS::EC2::PlacementGroup`` for moto's CloudFormation (every property replaces the group)."""

    CFN_TYPE = "AWS::EC2::PlacementGroup"
    CFN_NAME_PROPERTY = "GroupName"
    CFN_ATTRIBUTES = frozenset({"GroupName"})

    def __init__(self, group: PlacementGroup) -> None:
        self.group = group

    @property
    def physical_resource_id(self) -> str:
        return self.group.group_name

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> PlacementGroupModel:
        properties = cloudformation_json.get("Properties", {})
        partition_count = properties.get("PartitionCount")
        group = create_placement_group(
            account_id=account_id,
            region_name=region_name,
            group_name=resource_name,
            strategy=properties.get("Strategy", "cluster"),
            partition_count=int(partition_count) if partition_count is not None else None,
            spread_level=properties.get("SpreadLevel"),
            tags={tag["Key"]: tag["Value"] for tag in properties.get("Tags", [])},
        )
        return cls(group)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: PlacementGroupModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> PlacementGroupModel:
        # All properties are replace-only in AWS: create the new group, then drop the old one.
        replacement = cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )
        delete_placement_group(
            account_id=account_id, region_name=region_name, group_name=original_resource.group.group_name
        )
        return replacement

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        if resource_name in _store(account_id, region_name):
            delete_placement_group(account_id=account_id, region_name=region_name, group_name=resource_name)


def register() -> None:
    """Add the EC2 actions to moto's EC2 responses (the model registers itself by being defined)."""
    for action in ("create_placement_group", "describe_placement_groups", "delete_placement_group"):
        setattr(EC2Response, action, getattr(_PlacementGroupResponses, action))
