"""The parent and node jobs of a multi-node parallel job, as moto ``Job`` objects the runner moves.

They live in moto's own store (``BatchBackend._jobs``), so every boto3 call (DescribeJobs, ListJobs,
TerminateJob, CancelJob) sees the one state the runner writes. Compared with moto's ``Job``:

* ``status`` is a plain attribute: moto's managed-state transitions (a status that moves when it is
  *read*) never apply; only the runner moves these jobs;
* :meth:`describe` / :meth:`describe_short` answer as AWS's ``JobDetail`` / ``JobSummary`` do for an MNP
  parent (``nodeProperties`` as the job runs them, after ``nodeOverrides``) and for a node job ``JOB#N``
  (``nodeDetails``, the node's ``container`` with its exit code, reason, log stream and
  ``networkInterfaces``, and one ``attempts`` entry per attempt);
* every change goes through :meth:`MnpJob.update` under the job's lock, and :meth:`describe` copies under
  the same lock, so a reader in another request thread never sees half an update.

The classes live in a dotted module on purpose: moto's model metaclass takes the service name from
``cls.__module__.split(".")[1]`` (a class in ``__main__`` fails).
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from moto.batch.models import Job, JobDefinition, JobQueue, datetime2int_milliseconds

#: Statuses after which a job never changes again.
TERMINAL = frozenset({"SUCCEEDED", "FAILED"})
#: Statuses CancelJob acts on ("Jobs that are in a SUBMITTED, PENDING, or RUNNABLE state are cancelled",
#: API reference, CancelJob); TerminateJob cancels these too and terminates STARTING and RUNNING jobs.
BEFORE_STARTING = frozenset({"SUBMITTED", "PENDING", "RUNNABLE"})


class MnpJob(Job):
    """What the parent and the node jobs share: a status only the runner moves, and AWS-shaped answers."""

    def __init__(
        self,
        *,
        name: str,
        job_def: JobDefinition,
        job_queue: JobQueue,
        backend: Any,
        parameters: dict[str, str] | None,
        timeout: dict[str, int] | None,
        depends_on: list[dict[str, str]] | None,
        tags: dict[str, str] | None,
        propagate_tags: bool | None = None,
        provided_job_id: str | None = None,
    ) -> None:
        super().__init__(
            name,
            job_def,
            job_queue,
            backend,
            log_backend=backend.logs_backend,
            container_overrides=None,
            eks_properties_override=None,
            depends_on=depends_on,
            parameters=parameters,
            all_jobs=backend._jobs,
            timeout=timeout,
            array_properties={},
            provided_job_id=provided_job_id,
            tags=tags,
        )
        self.lock = threading.RLock()
        #: SubmitJob's ``propagateTags``: "When specified, this overrides the tag propagation setting in the
        #: job definition" (API reference, SubmitJob); None: the definition's.
        self.propagate_tags = propagate_tags
        self.started_ms: int | None = None
        self.stopped_ms: int | None = None
        self.is_cancelled = False
        self.is_terminated = False
        #: AttemptDetail dicts, oldest first.
        self.attempt_details: list[dict[str, Any]] = []
        #: Set by TerminateJob/CancelJob (and moto's reset): the runner polls it.
        self.stop_request: tuple[str, str] | None = None

    # moto's Job.status is a ManagedState property that can move on read; these jobs move only when the
    # runner moves them.
    @property
    def status(self) -> str:
        return str(self._status)

    @status.setter
    def status(self, value: str) -> None:
        self._status = value

    def update(self, **changes: Any) -> None:
        """Set attributes under the job's lock; ``status`` last, so a reader never sees a terminal status
        without its stop time and reason (moto's own ``_mark_stopped`` keeps the same order)."""
        with self.lock:
            status = changes.pop("status", None)
            for name, value in changes.items():
                setattr(self, name, value)
            if changes.get("stopped_ms") is not None:
                self.job_stopped = True
            if status is not None:
                self.status = status

    @property
    def status_reason(self) -> str | None:
        return self.job_stopped_reason

    @status_reason.setter
    def status_reason(self, value: str | None) -> None:
        self.job_stopped_reason = value

    @property
    def created_ms(self) -> int:
        return datetime2int_milliseconds(self.job_created_at)

    def _times(self, into: dict[str, Any]) -> None:
        into["createdAt"] = self.created_ms
        if self.started_ms is not None:
            into["startedAt"] = self.started_ms
        if self.stopped_ms is not None:
            into["stoppedAt"] = self.stopped_ms

    def _summary(self) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "jobArn": self.arn,
            "jobId": self.job_id,
            "jobName": self.job_name,
            "status": self.status,
            "jobDefinition": self.job_definition.arn,
            "isCancelled": self.is_cancelled,
            "isTerminated": self.is_terminated,
        }
        if self.status_reason is not None:
            summary["statusReason"] = self.status_reason
        self._times(summary)
        return summary

    def _detail(self) -> dict[str, Any]:
        detail = self._summary()
        detail.update(
            {
                "jobQueue": self.job_queue.arn,
                "dependsOn": copy.deepcopy(self.depends_on or []),
                "parameters": dict(self.parameters),
                "tags": self.backend.list_tags_for_resource(self.arn),
                "attempts": copy.deepcopy(self.attempt_details),
                "platformCapabilities": list(self.job_definition.platform_capabilities or []),
                "propagateTags": bool(
                    self.job_definition.propagate_tags if self.propagate_tags is None else self.propagate_tags
                ),
            }
        )
        if self.timeout:
            detail["timeout"] = dict(self.timeout)
        return detail


class MnpParentJob(MnpJob):
    """The job SubmitJob returns: its status, reason, exit code and times are its main node's."""

    def __init__(
        self,
        *,
        node_properties: dict[str, Any],
        retry_strategy: dict[str, Any] | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        #: The nodeProperties the job runs with (the definition's, after nodeOverrides).
        self.node_properties = node_properties
        self.retry_strategy = retry_strategy
        self.node_jobs: list[MnpNodeJob] = []
        self.main_exit_code: int | None = None
        self.main_reason: str | None = None

    @property
    def num_nodes(self) -> int:
        return int(self.node_properties["numNodes"])

    @property
    def main_node(self) -> int:
        return int(self.node_properties["mainNode"])

    def describe_short(self) -> dict[str, Any]:
        with self.lock:
            summary = self._summary()
            summary["nodeProperties"] = {"numNodes": self.num_nodes}
            if self.main_exit_code is not None or self.main_reason is not None:
                summary["container"] = _exit(self.main_exit_code, self.main_reason)
            return summary

    def describe(self) -> dict[str, Any]:
        with self.lock:
            detail = self._detail()
            detail["nodeProperties"] = copy.deepcopy(self.node_properties)
            if self.retry_strategy:
                detail["retryStrategy"] = copy.deepcopy(self.retry_strategy)
            if self.main_exit_code is not None or self.main_reason is not None:
                detail["container"] = _exit(self.main_exit_code, self.main_reason)
            return detail


class MnpNodeJob(MnpJob):
    """Node ``index`` of a parent job: the job ``<parent id>#<index>`` that DescribeJobs answers for."""

    def __init__(self, *, parent: MnpParentJob, node_index: int, **kwargs: Any) -> None:
        super().__init__(provided_job_id=f"{parent.job_id}#{node_index}", **kwargs)
        self.parent_id = parent.job_id
        self.node_index = node_index
        self.is_main = node_index == parent.main_node
        self.num_nodes = parent.num_nodes
        #: ContainerDetail of the current attempt (image, command, environment, exitCode, reason, ...).
        self.container: dict[str, Any] = {}
        #: The ECS task and container instance the current attempt "runs" on (made-up ARNs), its instance
        #: type (None when the compute environment's types are unknown) and cluster name.
        self.task_arn = ""
        self.container_instance_arn = ""
        self.instance_type: str | None = None
        self.cluster = ""

    def describe_short(self) -> dict[str, Any]:
        with self.lock:
            summary = self._summary()
            summary["nodeProperties"] = {
                "isMainNode": self.is_main,
                "numNodes": self.num_nodes,
                "nodeIndex": self.node_index,
            }
            if "exitCode" in self.container or "reason" in self.container:
                summary["container"] = _exit(self.container.get("exitCode"), self.container.get("reason"))
            return summary

    def describe(self) -> dict[str, Any]:
        with self.lock:
            detail = self._detail()
            detail["nodeDetails"] = {"nodeIndex": self.node_index, "isMainNode": self.is_main}
            detail["container"] = copy.deepcopy(self.container)
            return detail


def _exit(exit_code: int | None, reason: str | None) -> dict[str, Any]:
    container: dict[str, Any] = {}
    if exit_code is not None:
        container["exitCode"] = exit_code
    if reason is not None:
        container["reason"] = reason
    return container
