"""``AWS::EC2::SubnetRouteTableAssociation`` that really associates the subnet with the route table.

moto gap (moto 5.2.5): moto's model only records the pair in a private dict
(``create_subnet_association``); it never calls ``associate_route_table``, so ``DescribeRouteTables``
shows no association for the subnet (the ``association.subnet-id`` filter finds nothing), its
physical id is the route table's id, and deleting the stack leaves the record behind.

What AWS does instead: the subnet is associated with the route table (the subnet then uses its
routes, e.g. the private subnets' default route to the NAT gateway), the physical id is the
association id (``rtbassoc-...``), and every property is replace-only.

This adapter associates through moto's ``associate_route_table`` and disassociates on delete.
"""

from __future__ import annotations

import contextlib
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.ec2.exceptions import InvalidAssociationIdError
from moto.ec2.models import ec2_backends

from mnp_local.adapters._base import PhysicalIdAttributes


class SubnetRouteTableAssociationAdapter(PhysicalIdAttributes, CloudFormationModel):
    """Replaces moto's model for the type (moto's model map keeps the last subclass per type)."""

    CFN_TYPE = "AWS::EC2::SubnetRouteTableAssociation"
    CFN_ATTRIBUTES = frozenset({"Id"})

    def __init__(self, *, association_id: str, route_table_id: str, subnet_id: str) -> None:
        self.association_id = association_id
        self.route_table_id = route_table_id
        self.subnet_id = subnet_id

    @property
    def physical_resource_id(self) -> str:
        return self.association_id

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> SubnetRouteTableAssociationAdapter:
        properties = cloudformation_json["Properties"]
        route_table_id = properties["RouteTableId"]
        subnet_id = properties["SubnetId"]
        association_id = ec2_backends[account_id][region_name].associate_route_table(
            route_table_id, subnet_id=subnet_id
        )
        return cls(association_id=association_id, route_table_id=route_table_id, subnet_id=subnet_id)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: SubnetRouteTableAssociationAdapter,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> SubnetRouteTableAssociationAdapter:
        cls.delete_from_cloudformation_json(
            original_resource.association_id, cloudformation_json, account_id, region_name
        )
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        # Already gone (e.g. with its route table) counts as deleted.
        with contextlib.suppress(InvalidAssociationIdError):
            ec2_backends[account_id][region_name].disassociate_route_table(resource_name)
