"""``AWS::EC2::SecurityGroupEgress`` for moto's CloudFormation.

moto gap (moto 5.2.5): moto has a model for ``AWS::EC2::SecurityGroupIngress`` but none for
``AWS::EC2::SecurityGroupEgress``: the rule is skipped ("No Moto CloudFormation support") and the
group never shows it. Our stacks add an explicit egress rule from the node security group to itself
(EFA needs all traffic to the group itself in both directions).

What AWS does instead: it authorizes the egress rule on the group (physical id: the rule id,
``sgr-...``) and revokes it when the resource is deleted; every property is replace-only.

This adapter authorizes through moto's ``authorize_security_group_egress`` and revokes on delete.
"""

from __future__ import annotations

import contextlib
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.core.exceptions import ServiceException
from moto.ec2.models import ec2_backends

from mnp_local.adapters._base import PhysicalIdAttributes


def _permission(properties: dict[str, Any]) -> dict[str, Any]:
    ip_ranges = []
    if properties.get("CidrIp"):
        ip_ranges.append({"CidrIp": properties["CidrIp"], "Description": properties.get("Description")})
    destination_groups = []
    if properties.get("DestinationSecurityGroupId"):
        destination_groups.append(
            {"GroupId": properties["DestinationSecurityGroupId"], "Description": properties.get("Description")}
        )
    prefix_lists = []
    if properties.get("DestinationPrefixListId"):
        prefix_lists.append({"PrefixListId": properties["DestinationPrefixListId"]})
    if not (ip_ranges or destination_groups or prefix_lists or properties.get("CidrIpv6")):
        raise ValueError(
            "AWS::EC2::SecurityGroupEgress needs one of CidrIp, CidrIpv6, DestinationSecurityGroupId, "
            "DestinationPrefixListId"
        )
    from_port = properties.get("FromPort", -1)
    to_port = properties.get("ToPort", -1)
    return {
        "ip_protocol": str(properties["IpProtocol"]),
        "from_port": from_port,
        "to_port": to_port,
        "ip_ranges": ip_ranges,
        "source_groups": destination_groups,
        "prefix_list_ids": prefix_lists,
    }


class SecurityGroupEgressModel(PhysicalIdAttributes, CloudFormationModel):
    """An egress rule of a security group."""

    CFN_TYPE = "AWS::EC2::SecurityGroupEgress"
    CFN_ATTRIBUTES = frozenset({"Id"})

    def __init__(self, *, rule_id: str, group_id: str) -> None:
        self.rule_id = rule_id
        self.group_id = group_id

    @property
    def physical_resource_id(self) -> str:
        return self.rule_id

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> SecurityGroupEgressModel:
        properties = cloudformation_json["Properties"]
        rules, group = ec2_backends[account_id][region_name].authorize_security_group_egress(
            group_name_or_id=properties["GroupId"], **_permission(properties)
        )
        return cls(rule_id=rules[0].id, group_id=group.id)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: SecurityGroupEgressModel,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> SecurityGroupEgressModel:
        replacement = cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )
        cls._revoke(original_resource.group_id, original_resource.rule_id, account_id, region_name)
        return replacement

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        backend = ec2_backends[account_id][region_name]
        for group in backend.describe_security_groups():
            if any(rule.id == resource_name for rule in group.egress_rules):
                cls._revoke(group.id, resource_name, account_id, region_name)

    @staticmethod
    def _revoke(group_id: str, rule_id: str, account_id: str, region_name: str) -> None:
        # The group or the rule already gone counts as revoked.
        with contextlib.suppress(ServiceException):
            ec2_backends[account_id][region_name].revoke_security_group_egress(
                group_id, "-1", "-1", "-1", [], security_rule_ids=[rule_id]
            )
