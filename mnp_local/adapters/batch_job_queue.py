"""``AWS::Batch::JobQueue`` for moto's CloudFormation, with attributes, updates and deletes.

moto gaps (moto 5.2.5): moto's model has no ``Fn::GetAtt`` attributes (``JobQueueArn`` fails with an
``AttributeError``), no update handler (an update of the stack drops the queue from moto's resource
map, so later ``Ref``\\ s to it resolve to nothing) and no delete handler (the queue outlives its
stack). It also ignores ``Tags``, ``SchedulingPolicyArn`` and ``JobStateTimeLimitActions``, and moto's
API (CreateJobQueue, UpdateJobQueue, DescribeJobQueues) drops ``jobStateTimeLimitActions`` too.

What AWS does instead: ``Ref`` and ``GetAtt JobQueueArn`` return the ARN; ``Priority``, ``State``,
``ComputeEnvironmentOrder``, ``SchedulingPolicyArn`` and ``JobStateTimeLimitActions`` update in
place; deleting the stack deletes the queue.

This adapter wraps moto's queue for the attributes, updates priority, state and compute-environment
order through moto's ``update_job_queue`` and deletes through ``delete_job_queue``. It keeps the
queue's ``jobStateTimeLimitActions`` on moto's queue object (``job_state_time_limit_actions``), from the
template and from the API, checked as the API reference of ``JobStateTimeLimitAction`` says (``state``
RUNNABLE, ``action`` CANCEL -- "the only action you can use" for queues of ECS compute environments, user
guide "Jobs stuck in RUNNABLE" -- ``maxTimeSeconds`` 600 to 86,400, a ``reason``), and DescribeJobQueues
returns them. The local node runner (:mod:`mnp_local.runner`) applies them to jobs stuck in RUNNABLE.
"""

from __future__ import annotations

import json
from typing import Any

from moto.batch.exceptions import ClientException
from moto.batch.models import JobQueue, batch_backends
from moto.batch.responses import BatchResponse
from moto.batch.utils import lowercase_first_key
from moto.core.common_models import CloudFormationModel

from mnp_local.adapters._base import PhysicalIdAttributes
from mnp_toolkit.core.limits import MAX_STATE_TIME_LIMIT_SECONDS, MIN_STATE_TIME_LIMIT_SECONDS

ATTRIBUTE = "job_state_time_limit_actions"


def time_limit_actions(value: Any, *, where: str = "jobStateTimeLimitActions") -> list[dict[str, Any]]:
    """``value`` (API or lower-cased template shape) as a list of actions; raises ``ClientException`` naming
    every problem."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ClientException(f"{where} must be a list of {{reason, state, maxTimeSeconds, action}} objects")
    problems: list[str] = []
    actions: list[dict[str, Any]] = []
    for position, raw in enumerate(value):
        field = f"{where}[{position}]"
        action = lowercase_first_key(raw) if isinstance(raw, dict) else None
        if action is None:
            problems.append(f"{field} must be an object with reason, state, maxTimeSeconds and action")
            continue
        if not isinstance(action.get("reason"), str) or not action["reason"]:
            problems.append(f"{field}.reason is required (the statusReason code to act on)")
        if action.get("state") != "RUNNABLE":
            problems.append(f"{field}.state is {action.get('state')!r}: the only supported value is RUNNABLE")
        if action.get("action") != "CANCEL":
            problems.append(f"{field}.action is {action.get('action')!r}: the only supported value is CANCEL")
        seconds = action.get("maxTimeSeconds")
        if isinstance(seconds, str) and seconds.isdigit():
            seconds = int(seconds)
        if (
            not isinstance(seconds, int)
            or isinstance(seconds, bool)
            or not MIN_STATE_TIME_LIMIT_SECONDS <= seconds <= MAX_STATE_TIME_LIMIT_SECONDS
        ):
            problems.append(
                f"{field}.maxTimeSeconds is {action.get('maxTimeSeconds')!r}: it must be "
                f"{MIN_STATE_TIME_LIMIT_SECONDS} to {MAX_STATE_TIME_LIMIT_SECONDS} seconds"
            )
        else:
            action["maxTimeSeconds"] = seconds
        actions.append(action)
    if problems:
        raise ClientException("; ".join(problems))
    return actions


_moto_describe = JobQueue.describe
_moto_create = BatchResponse.createjobqueue
_moto_update = BatchResponse.updatejobqueue


def _describe(self: JobQueue) -> dict[str, Any]:
    described = _moto_describe(self)
    described["jobStateTimeLimitActions"] = [dict(action) for action in getattr(self, ATTRIBUTE, [])]
    return described


def _createjobqueue(self: BatchResponse) -> str:
    actions = time_limit_actions(self._get_param("jobStateTimeLimitActions"))
    answer = _moto_create(self)
    queue = self.batch_backend.get_job_queue(json.loads(answer)["jobQueueArn"])
    setattr(queue, ATTRIBUTE, actions)
    return str(answer)


def _updatejobqueue(self: BatchResponse) -> str:
    given = self._get_param("jobStateTimeLimitActions")
    actions = time_limit_actions(given) if given is not None else None
    answer = _moto_update(self)
    if actions is not None:
        setattr(self.batch_backend.get_job_queue(json.loads(answer)["jobQueueArn"]), ATTRIBUTE, actions)
    return str(answer)


def register() -> None:
    """Keep and describe ``jobStateTimeLimitActions`` in moto's Batch API (idempotent)."""
    JobQueue.describe = _describe  # type: ignore[method-assign]
    BatchResponse.createjobqueue = _createjobqueue  # type: ignore[method-assign]
    BatchResponse.updatejobqueue = _updatejobqueue  # type: ignore[method-assign]


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
        actions = time_limit_actions(properties.get("JobStateTimeLimitActions"), where="JobStateTimeLimitActions")
        queue = batch_backends[account_id][region_name].create_job_queue(
            queue_name=resource_name,
            priority=properties["Priority"],
            state=properties.get("State", "ENABLED"),
            compute_env_order=[lowercase_first_key(item) for item in properties["ComputeEnvironmentOrder"]],
            schedule_policy=properties.get("SchedulingPolicyArn"),
            tags=dict(tags) if tags else None,
        )
        setattr(queue, ATTRIBUTE, actions)
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
        actions = time_limit_actions(properties.get("JobStateTimeLimitActions"), where="JobStateTimeLimitActions")
        batch_backends[account_id][region_name].update_job_queue(
            original_resource.queue.arn,
            priority=properties.get("Priority"),
            state=properties.get("State"),
            compute_env_order=[lowercase_first_key(item) for item in properties["ComputeEnvironmentOrder"]],
            schedule_policy=properties.get("SchedulingPolicyArn"),
        )
        setattr(original_resource.queue, ATTRIBUTE, actions)
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        batch_backends[account_id][region_name].delete_job_queue(resource_name)
