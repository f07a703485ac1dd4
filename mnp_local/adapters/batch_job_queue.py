"""``AWS::Batch::JobQueue`` for moto's CloudFormation, with attributes, updates and deletes.

moto gaps (moto 5.2.5): moto's model has no ``Fn::GetAtt`` attributes (``JobQueueArn`` fails with an
``AttributeError``), no update handler (an update of the stack drops the queue from moto's resource
map, so later ``Ref``\\ s to it resolve to nothing) and no delete handler (the queue outlives its
stack). It also ignores ``Tags``, ``SchedulingPolicyArn`` and ``JobStateTimeLimitActions``.

What AWS does instead: ``Ref`` and ``GetAtt JobQueueArn`` return the ARN; ``Priority``, ``State``,
``ComputeEnvironmentOrder``, ``SchedulingPolicyArn`` and ``JobStateTimeLimitActions`` update in
place; deleting the stack deletes the queue.

This adapter wraps moto's queue for the attributes, updates priority, state and compute-environment
order through moto's ``update_job_queue`` and deletes through ``delete_job_queue``. moto's API has no
``JobStateTimeLimitActions``: the queue moto describes never shows them, so tests must not read them
back from moto.
"""

from __future__ import annotations

from typing import Any

from moto.batch.models import JobQueue, batch_backends
from moto.batch.utils import lowercase_first_key
from moto.core.common_models import CloudFormationModel

from mnp_local.adapters._base import PhysicalIdAttributes


class JobQueueAdapter(PhysicalIdAttributes, CloudFormationModel):
    """Replaces moto's model for the type (moto's model map keeps the last subclass per type)."""

    CFN_TYPE = "AWS::Batch::JobQueue"
    CFN_NAME_PROPERTY = "JobQueueName"
    CFN_ATTRIBUTES = frozenset({"JobQueueArn"})

    def __init__(self, queue: JobQueue) -> None:
        self.queue = queue

    @property
    def physical_resource_id(self) -> str:
        return self.queue.arn

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> JobQueueAdapter:
        properties = cloudformation_json["Properties"]
        tags = properties.get("Tags")
        queue = batch_backends[account_id][region_name].create_job_queue(
            queue_name=resource_name,
            priority=properties["Priority"],
            state=properties.get("State", "ENABLED"),
            compute_env_order=[lowercase_first_key(item) for item in properties["ComputeEnvironmentOrder"]],
            schedule_policy=properties.get("SchedulingPolicyArn"),
            tags=dict(tags) if tags else None,
        )
        return cls(queue)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: JobQueueAdapter,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> JobQueueAdapter:
        properties = cloudformation_json["Properties"]
        batch_backends[account_id][region_name].update_job_queue(
            original_resource.queue.arn,
            priority=properties.get("Priority"),
            state=properties.get("State"),
            compute_env_order=[lowercase_first_key(item) for item in properties["ComputeEnvironmentOrder"]],
            schedule_policy=properties.get("SchedulingPolicyArn"),
        )
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        batch_backends[account_id][region_name].delete_job_queue(resource_name)
