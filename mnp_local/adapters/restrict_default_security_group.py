"""``Custom::VpcRestrictDefaultSG``: the CDK's built-in custom resource, done without a Lambda.

moto gap (moto 5.2.5): moto runs every ``Custom::*`` resource by invoking its Lambda handler, which
needs Docker. Without Docker the invocation fails ("error running docker"), the resource never
completes and its work is not done, while the stack still reports ``CREATE_COMPLETE``.
aws-cdk-lib adds this resource to every ``ec2.Vpc`` (feature flag
``@aws-cdk/aws-ec2:restrictDefaultSecurityGroup``, set in our cdk.json).

What AWS does instead: CloudFormation invokes the CDK's handler, which revokes the default security
group's two default rules (all ingress from the group itself, all egress to ``0.0.0.0/0``) on create,
and authorizes them again on delete (on update: again on the old group, revoked on the new one).

This adapter does exactly that with moto's EC2 backend, for this one custom type only; any other
``Custom::*`` type is still left to moto (and so needs Docker). It hooks moto's
``resource_class_from_type``, which answers moto's generic custom model for every ``Custom::`` type
before looking at the model map.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.cloudformation import parsing
from moto.core.common_models import CloudFormationModel
from moto.ec2.models import ec2_backends

from mnp_local.adapters._base import AdapterModel, already_done

CUSTOM_TYPE = "Custom::VpcRestrictDefaultSG"

_moto_resource_class_from_type: Callable[[str], Any] = parsing.resource_class_from_type


def _default_rules(backend: Any, group_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    ingress = {
        "group_name_or_id": group_id,
        "ip_protocol": "-1",
        "from_port": None,
        "to_port": None,
        "ip_ranges": [],
        "source_groups": [{"GroupId": group_id, "UserId": backend.account_id}],
    }
    egress = {
        "group_name_or_id": group_id,
        "ip_protocol": "-1",
        "from_port": None,
        "to_port": None,
        "ip_ranges": [{"CidrIp": "0.0.0.0/0"}],
    }
    return ingress, egress


def revoke_default_rules(*, account_id: str, region_name: str, group_id: str) -> None:
    """What the CDK handler does on create: drop the default group's default rules."""
    backend = ec2_backends[account_id][region_name]
    ingress, egress = _default_rules(backend, group_id)
    for revoke, rule in (
        (backend.revoke_security_group_ingress, ingress),
        (backend.revoke_security_group_egress, egress),
    ):
        with already_done({"InvalidPermission.NotFound"}):
            revoke(**rule)


def grant_default_rules(*, account_id: str, region_name: str, group_id: str) -> None:
    """What the CDK handler does on delete: put the default rules back."""
    backend = ec2_backends[account_id][region_name]
    ingress, egress = _default_rules(backend, group_id)
    for authorize, rule in (
        (backend.authorize_security_group_ingress, ingress),
        (backend.authorize_security_group_egress, egress),
    ):
        with already_done({"InvalidPermission.Duplicate", "InvalidGroup.NotFound"}):
            authorize(**rule)


class RestrictDefaultSecurityGroup(AdapterModel, CloudFormationModel):
    """The custom resource; its physical id is the default security group's id, as the handler's."""

    CFN_TYPE = CUSTOM_TYPE

    def __init__(self, *, group_id: str) -> None:
        self.group_id = group_id

    @property
    def physical_resource_id(self) -> str:
        return self.group_id

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> RestrictDefaultSecurityGroup:
        group_id = cloudformation_json["Properties"]["DefaultSecurityGroupId"]
        revoke_default_rules(account_id=account_id, region_name=region_name, group_id=group_id)
        return cls(group_id=group_id)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: RestrictDefaultSecurityGroup,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> RestrictDefaultSecurityGroup:
        group_id = cloudformation_json["Properties"]["DefaultSecurityGroupId"]
        if group_id != original_resource.group_id:
            grant_default_rules(account_id=account_id, region_name=region_name, group_id=original_resource.group_id)
            revoke_default_rules(account_id=account_id, region_name=region_name, group_id=group_id)
        return cls(group_id=group_id)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        grant_default_rules(account_id=account_id, region_name=region_name, group_id=resource_name)


def _resource_class_from_type(resource_type: str) -> Any:
    if resource_type == CUSTOM_TYPE:
        return RestrictDefaultSecurityGroup
    return _moto_resource_class_from_type(resource_type)


def register() -> None:
    """Route ``Custom::VpcRestrictDefaultSG`` to this model (idempotent)."""
    parsing.resource_class_from_type = _resource_class_from_type
