"""A job queue for AWS Batch multi-node parallel jobs.

Built on aws-cdk-lib's ``JobQueue``, it adds what an MNP queue needs:

* the resource metadata ``{"mnp:queue": true}``, which tells the toolkit's rule pack (and ``mnp lint``)
  that this queue, and so its compute environments, run MNP jobs, and the tag ``mnp:queue=true``, which
  tells ``mnp audit`` the same about the deployed queue (metadata does not reach the account);
* ``jobStateTimeLimitActions`` that cancel a job stuck at the head of the queue in ``RUNNABLE`` for one of
  the two documented *misconfiguration* reasons (``MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE``:
  every compute environment's maxvCpus is below what the job needs;
  ``MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT``: no compute environment has instances that fit the job).
  Neither resolves by itself, and an MNP job at the head of a queue blocks every job behind it. The
  default ``runnable_timeout`` of 30 minutes leaves room for a compute-environment update in flight and
  still frees the queue the same hour. Waiting for capacity (``CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY``)
  is often legitimate for large cluster-placement jobs, so that action is off unless ``capacity_timeout``
  is given;
* checks: one to three compute environments (the Batch limit per queue), all EC2 (MNP jobs cannot run on
  Fargate), one CPU architecture;
* the child-failure watchdog (on by default): MNP jobs keep running when a child node dies, and only the
  main node's exit ends them; the watchdog terminates such jobs so they do not burn the remaining nodes;
* optionally a scheduling policy (``scheduling_policy``, e.g. ``batch.FairshareSchedulingPolicy``): every
  job submitted to a fair-share queue needs a share identifier (SubmitJob ``shareIdentifier``; ``mnp
  submit --share-identifier``). A queue created without a policy cannot get one, and one created with a
  policy cannot lose it (CreateJobQueue ``schedulingPolicyArn``): adding or removing it means a new queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from aws_cdk import Duration, Tags
from aws_cdk import aws_batch as batch
from constructs import Construct

from constructs_lib._validation import MnpPropsError
from constructs_lib.compute_environment import MnpComputeEnvironment
from mnp_toolkit.core.limits import (
    MAX_QUEUE_COMPUTE_ENVIRONMENTS,
    MAX_STATE_TIME_LIMIT_SECONDS,
    MIN_STATE_TIME_LIMIT_SECONDS,
    MNP_QUEUE_TAG,
)

if TYPE_CHECKING:
    from constructs_lib.watchdog import ChildFailureWatchdog, WatchdogOptions

_KIND = "MnpJobQueue"
#: The metadata key the rule pack uses to recognise MNP queues.
MNP_QUEUE_METADATA_KEY = "mnp:queue"
DEFAULT_RUNNABLE_TIMEOUT = Duration.minutes(30)
_MIN_ACTION_SECONDS = MIN_STATE_TIME_LIMIT_SECONDS
_MAX_ACTION_SECONDS = MAX_STATE_TIME_LIMIT_SECONDS


class MnpJobQueue(Construct):
    """An ``AWS::Batch::JobQueue`` marked for MNP jobs, with RUNNABLE time-limit actions and a watchdog.

    Attributes:
        job_queue: the job queue.
        watchdog: the ``ChildFailureWatchdog`` (``None`` when ``watchdog=False``).
        compute_environments: the compute environments, in order.
    """

    job_queue: batch.IJobQueue
    watchdog: ChildFailureWatchdog | None
    compute_environments: tuple[MnpComputeEnvironment, ...]
    scheduling_policy: batch.ISchedulingPolicy | None

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        compute_environments: Sequence[MnpComputeEnvironment],
        priority: int = 1,
        runnable_timeout: Duration = DEFAULT_RUNNABLE_TIMEOUT,
        capacity_timeout: Duration | None = None,
        name: str | None = None,
        watchdog: bool = True,
        watchdog_sweep_interval: Duration | None = None,
        watchdog_options: WatchdogOptions | None = None,
        scheduling_policy: batch.ISchedulingPolicy | None = None,
    ) -> None:
        """Args:
        compute_environments: 1 to 3 MNP compute environments, tried in the order given.
        priority: queue priority (higher runs first when queues share compute environments).
        runnable_timeout: how long a job may sit at the head of the queue in RUNNABLE for a
            misconfiguration reason before Batch cancels it (10 minutes to 24 hours).
        capacity_timeout: if given, also cancel jobs that have waited this long for instance capacity
            (``CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY``; 10 minutes to 24 hours). Default: wait.
        name: physical queue name; default generated.
        watchdog: attach the child-failure watchdog.
        watchdog_sweep_interval: the watchdog's sweep interval; None keeps the watchdog's default.
        watchdog_options: the watchdog's settings (reserved concurrency, dead-letter queue, log
            retention and key, sweep interval); default ``WatchdogOptions()``. ``watchdog_sweep_interval``,
            when given, overrides its ``sweep_interval``.
        scheduling_policy: a scheduling policy for the queue (``batch.FairshareSchedulingPolicy``); default
            none (first in, first out). See the module docs: it cannot be added to or removed from a queue.
        """
        super().__init__(scope, id)
        ces = tuple(compute_environments)
        self._check(id, ces, priority, runnable_timeout, capacity_timeout)
        self.compute_environments = ces

        actions = [
            batch.JobStateTimeLimitAction(
                max_time=runnable_timeout,
                reason=reason,
                action=batch.JobStateTimeLimitActionsAction.CANCEL,
                state=batch.JobStateTimeLimitActionsState.RUNNABLE,
            )
            for reason in (
                batch.JobStateTimeLimitActionsReason.COMPUTE_ENVIRONMENT_MAX_RESOURCE,
                batch.JobStateTimeLimitActionsReason.JOB_RESOURCE_REQUIREMENT,
            )
        ]
        if capacity_timeout is not None:
            actions.append(
                batch.JobStateTimeLimitAction(
                    max_time=capacity_timeout,
                    reason=batch.JobStateTimeLimitActionsReason.INSUFFICIENT_INSTANCE_CAPACITY,
                    action=batch.JobStateTimeLimitActionsAction.CANCEL,
                    state=batch.JobStateTimeLimitActionsState.RUNNABLE,
                )
            )
        queue = batch.JobQueue(
            self,
            "Resource",
            compute_environments=[
                batch.OrderedComputeEnvironment(compute_environment=ce.compute_environment, order=order)
                for order, ce in enumerate(ces, start=1)
            ],
            priority=priority,
            job_queue_name=name,
            job_state_time_limit_actions=actions,
            scheduling_policy=scheduling_policy,
        )
        self.scheduling_policy = scheduling_policy
        cfn = queue.node.default_child
        assert isinstance(cfn, batch.CfnJobQueue)
        cfn.add_metadata(MNP_QUEUE_METADATA_KEY, True)
        # Job queue tags update in place (they are not create-only, unlike a compute environment's).
        Tags.of(queue).add(MNP_QUEUE_TAG, "true")
        self.job_queue = queue
        self.watchdog = self._attach_watchdog(queue, watchdog_sweep_interval, watchdog_options) if watchdog else None

    def _attach_watchdog(
        self, queue: batch.IJobQueue, sweep_interval: Duration | None, options: WatchdogOptions | None
    ) -> ChildFailureWatchdog:
        # Imported here: the watchdog pulls in Lambda, EventBridge and SQS, which queues without it skip.
        from dataclasses import replace

        from constructs_lib.watchdog import ChildFailureWatchdog, WatchdogOptions

        chosen = options or WatchdogOptions()
        if sweep_interval is not None:
            chosen = replace(chosen, sweep_interval=sweep_interval)
        return ChildFailureWatchdog(
            self,
            "Watchdog",
            job_queue=queue,
            sweep_interval=chosen.sweep_interval,
            log_retention=chosen.log_retention,
            reserved_concurrency=chosen.reserved_concurrency,
            dead_letter_queue=chosen.dead_letter_queue,
            log_encryption_key=chosen.log_encryption_key,
        )

    @staticmethod
    def _check(
        id: str,
        ces: Sequence[MnpComputeEnvironment],
        priority: int,
        runnable_timeout: Duration,
        capacity_timeout: Duration | None,
    ) -> None:
        if not ces:
            raise MnpPropsError(_KIND, id, "compute_environments", "is empty", "pass 1 to 3 MnpComputeEnvironment")
        if len(ces) > MAX_QUEUE_COMPUTE_ENVIRONMENTS:
            raise MnpPropsError(
                _KIND,
                id,
                "compute_environments",
                f"has {len(ces)}",
                f"use at most {MAX_QUEUE_COMPUTE_ENVIRONMENTS} per queue (AWS Batch limit)",
            )
        for ce in ces:
            if not isinstance(ce, MnpComputeEnvironment):
                raise MnpPropsError(
                    _KIND,
                    id,
                    "compute_environments",
                    f"contains {type(ce).__name__}, not an MnpComputeEnvironment",
                    "pass MnpComputeEnvironment constructs (managed On-Demand EC2; MNP jobs cannot run "
                    "on Fargate or Spot)",
                )
        if len({ce.node.path for ce in ces}) != len(ces):
            raise MnpPropsError(_KIND, id, "compute_environments", "lists one environment twice", "list each once")
        archs = {ce.architecture: ce.node.id for ce in ces if ce.architecture is not None}
        if len(archs) > 1:
            detail = ", ".join(f"'{name}' is {arch}" for arch, name in sorted(archs.items()))
            raise MnpPropsError(
                _KIND,
                id,
                "compute_environments",
                f"mix CPU architectures ({detail}); a job could land on the wrong one",
                "use one queue per architecture",
            )
        if priority < 0:
            raise MnpPropsError(_KIND, id, "priority", f"is {priority}", "use 0 or more")
        for prop, value in (("runnable_timeout", runnable_timeout), ("capacity_timeout", capacity_timeout)):
            if value is None:
                continue
            seconds = value.to_seconds()
            if not _MIN_ACTION_SECONDS <= seconds <= _MAX_ACTION_SECONDS:
                raise MnpPropsError(
                    _KIND,
                    id,
                    prop,
                    f"is {seconds} seconds",
                    "use 10 minutes to 24 hours (AWS Batch limits for job-state time-limit actions)",
                )
