"""``AWS::Batch::JobDefinition`` for moto's CloudFormation, including multi-node definitions.

moto gaps (moto 5.2.5):

- moto's model registers every definition as ``type: container`` whatever ``Type`` says, so a
  multi-node definition (``NodeProperties`` and no ``ContainerProperties``) fails with
  "containerProperties or eksProperties must be provided".
- It reads ``Properties["RetryStrategy"]`` (``KeyError`` when absent; it is optional in AWS) and
  ``timeout`` in lower case (the template's ``Timeout`` is dropped); it drops
  ``PlatformCapabilities`` and ``PropagateTags``.
- It has no update or delete handler: a changed definition is dropped from moto's resource map
  instead of getting a new revision, and a deleted stack leaves the definition ACTIVE.
- Its API (``DescribeJobDefinitions``) leaves ``nodeProperties`` out of every definition, even one
  registered through the API: a multi-node definition cannot be read back.

What AWS does instead: CloudFormation registers the definition with the type it is given; a change
to any property registers a new revision of the same name (``Ref`` then returns the new revision's
ARN) and deregisters the previous one unless ``ResourceRetentionPolicy.SkipDeregisterOnUpdate`` is
true; deleting the stack deregisters it.

This adapter does that with moto's ``register_job_definition`` and ``deregister_job_definition``,
and adds ``nodeProperties`` (as stored at registration) to moto's description of a definition.
moto still does not model what a multi-node job then does (no ``JOB#N`` node jobs are created).
"""

from __future__ import annotations

from typing import Any

from moto.batch.models import JobDefinition, batch_backends
from moto.batch.utils import lowercase_first_key
from moto.core.common_models import CloudFormationModel

from mnp_local.adapters._base import PhysicalIdAttributes


def _register(*, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> JobDefinition:
    def lowered(key: str) -> Any:
        value = properties.get(key)
        return lowercase_first_key(value) if isinstance(value, dict) else None

    tags = properties.get("Tags")
    return batch_backends[account_id][region_name].register_job_definition(
        def_name=name,
        parameters=dict(properties.get("Parameters") or {}),
        _type=str(properties.get("Type", "container")).lower(),
        tags=dict(tags) if tags else {},
        retry_strategy=lowered("RetryStrategy") or {},
        container_properties=lowered("ContainerProperties"),
        node_properties=lowered("NodeProperties"),
        eks_properties=lowered("EksProperties"),
        timeout=lowered("Timeout") or {},
        platform_capabilities=list(properties.get("PlatformCapabilities") or []),
        propagate_tags=bool(properties.get("PropagateTags", False)),
    )


_moto_describe = JobDefinition.describe


def _describe_with_node_properties(self: JobDefinition) -> dict[str, Any]:
    described = _moto_describe(self)
    if self.node_properties is not None:
        described["nodeProperties"] = self.node_properties
    return described


def register() -> None:
    """Make moto's ``DescribeJobDefinitions`` include ``nodeProperties`` (idempotent)."""
    JobDefinition.describe = _describe_with_node_properties  # type: ignore[method-assign]


class JobDefinitionAdapter(PhysicalIdAttributes, CloudFormationModel):
    """Replaces moto's model for the type (moto's model map keeps the last subclass per type)."""

    CFN_TYPE = "AWS::Batch::JobDefinition"
    CFN_NAME_PROPERTY = "JobDefinitionName"
    CFN_ATTRIBUTES = frozenset({"JobDefinitionArn", "Id"})

    def __init__(self, definition: JobDefinition) -> None:
        self.definition = definition

    @property
    def physical_resource_id(self) -> str:
        return self.definition.arn

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> JobDefinitionAdapter:
        return cls(
            _register(
                name=resource_name,
                properties=cloudformation_json["Properties"],
                account_id=account_id,
                region_name=region_name,
            )
        )

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: JobDefinitionAdapter,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> JobDefinitionAdapter:
        properties = cloudformation_json["Properties"]
        # A generated name stays the same across revisions; moto would hand us a fresh random one.
        name = properties.get("JobDefinitionName") or original_resource.definition.name
        revision = _register(name=name, properties=properties, account_id=account_id, region_name=region_name)
        retention = properties.get("ResourceRetentionPolicy") or {}
        if not retention.get("SkipDeregisterOnUpdate", False):
            batch_backends[account_id][region_name].deregister_job_definition(original_resource.definition.arn)
        return cls(revision)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        batch_backends[account_id][region_name].deregister_job_definition(resource_name)
