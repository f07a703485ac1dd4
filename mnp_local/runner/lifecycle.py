"""One multi-node parallel job, from SUBMITTED to SUCCEEDED or FAILED, as the Batch user guide describes it.

"Job lifecycle for MNP jobs" (user guide), sentence by sentence, and what this module does:

* "When you submit a multi-node parallel job, the job enters the SUBMITTED status. Then, the job waits
  for any job dependencies to finish. The job also moves to the RUNNABLE status." -- SUBMITTED, PENDING
  only while ``dependsOn`` jobs have not SUCCEEDED (a FAILED dependency fails the job; without outstanding
  dependencies the job goes straight to RUNNABLE, user guide, "Job states"), RUNNABLE; every node job
  moves with the parent until it is launched.
* "Last, AWS Batch provisions the instance capacity that's required to run your job" -- the job waits in
  RUNNABLE until its queue's compute environments can place it (:mod:`mnp_local.runner.capacity`), and
  the queue's ``jobStateTimeLimitActions`` cancel it after their ``maxTimeSeconds`` (scaled by
  ``MNP_LOCAL_TIME_SCALE``) with "Canceled by JobStateTimeLimit action due to reason: <reason>"
  (user guide, "Jobs stuck in RUNNABLE").
* "The main node is launched first and it moves to the STARTING status." "When the main node reaches
  the RUNNING status after the node's container is running, the child nodes are launched and they also
  move to the STARTING status. The child nodes come up in random order." -- children launch only after
  the main node is RUNNING, in random order with random small delays, from a seed written to the job's
  log (``MNP_LOCAL_SEED`` reproduces it).
* "The timeout value specified in the attemptDurationSeconds parameter applies to the whole job and not
  to the nodes." -- measured from the attempt's ``startedAt``; when it passes, every node is stopped and
  the job FAILS with "Job attempt duration exceeded timeout" (the reason AWS reports); "If a job is
  terminated due to a timeout, it isn't retried" (API reference, SubmitJob ``timeout``).
* "Individual nodes exit and move to SUCCEEDED or FAILED based on their exit code." "If the main node
  exits, the job is considered finished, and all of the child nodes are stopped." "If a child node dies,
  AWS Batch doesn't take any action on the other nodes in the job." -- the parent takes the main node's
  status, ``statusReason``, exit code and times; children still running get SIGTERM and, after the grace
  period (ECS's 30 s, scaled), SIGKILL; a child that was never launched is FAILED without an attempt. A
  child's exit changes nothing else.
* Retries (``retryStrategy.attempts``, ``evaluateOnExit``; API ``RetryStrategy``/``EvaluateOnExit``): a
  main-node failure starts a new attempt of every node (``attempts`` grows, ``AWS_BATCH_JOB_ATTEMPT``
  counts up) unless the attempts are used up or an ``EXIT`` rule matches; "If none of the EvaluateOnExit
  conditions in a RetryStrategy match, then the job is retried." TerminateJob, CancelJob and timeouts
  are never retried.
* TerminateJob: "Jobs that are in the STARTING or RUNNING state are terminated, which causes them to
  transition to FAILED. Jobs that have not progressed to the STARTING state are cancelled." CancelJob:
  "Jobs that are in a SUBMITTED, PENDING, or RUNNABLE state are cancelled and the job status is updated to
  FAILED." "Jobs that progressed to the STARTING or RUNNING state aren't canceled." (API reference). A
  TerminateJob of a node job ``JOB#N`` (the docs are silent) stops that node only; of the main node, it
  ends the job as the main node's exit does.

Where the docs are silent the choice is said where it is made. Nothing here writes to moto's state once
the job has left the backend (``/moto-api/reset``): it kills its processes and stops.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import random
import shutil
import signal
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from mnp_local.accounts import credentials_for
from mnp_local.runner.capacity import CapacityLedger, Plan, evaluate, stuck_reason
from mnp_local.runner.events import JobStateChange, Listeners, NodeOutput
from mnp_local.runner.jobs import TERMINAL, MnpJob, MnpNodeJob, MnpParentJob
from mnp_local.runner.logs import LogTarget, NodeLogWriter, log_target
from mnp_local.runner.metadata import MetadataServer
from mnp_local.runner.network import LoopbackAddresses, NamespaceNetwork, NetworkError, NodeNamespace
from mnp_local.runner.processes import NodeProcess, NodeStartError, Reaper, start_node_process
from mnp_local.runner.settings import RunnerSettings
from mnp_toolkit.core.node_groups import (
    NodeGroup,
    batch_environment,
    container_environment,
    node_container,
    substitute_parameters,
)

logger = logging.getLogger(__name__)

#: "Essential container in task exited": the reason ECS (and so Batch) gives a task whose container
#: exited by itself; AWS shows it as the job's ``statusReason``.
ESSENTIAL_EXITED = "Essential container in task exited"
#: The reason Batch reports when ``attemptDurationSeconds`` passed (as AWS shows it; not quoted in the docs).
TIMEOUT_REASON = "Job attempt duration exceeded timeout"
#: The statusReason of a task whose container could not start (its ``container.reason`` says why).
START_FAILED = "Task failed to start"
#: The docs are silent on what a child node stopped because the main node exited shows; this says why.
STOPPED_BY_MAIN = "Main node exited; child nodes are stopped"
NEVER_LAUNCHED = "Main node exited before this node was launched"
DEPENDENCY_FAILED = "Dependent Job failed"
IMAGE_NOTICE = (
    "mnp_local: the image {image} is not run: there is no container engine, so each node's command runs as a "
    "host process in exec form, with the container's environment, in a fresh working directory "
    "(docs/local-run.md)"
)
SEED_NOTICE = (
    "mnp_local: attempt {attempt}: child nodes launch in the order {order}, with delays drawn from seed {seed} "
    "(job {sequence} of this emulator; set MNP_LOCAL_SEED={seed} and submit in the same order to reproduce them)"
)
_POLL_MIN = 0.002
_POLL_MAX = 0.05
_READ_FLUSH_SECONDS = 0.1


class RunContext(Protocol):
    """What a job run needs from the runner (see :class:`mnp_local.runner.runner.Runner`)."""

    settings: RunnerSettings
    reaper: Reaper
    ledger: CapacityLedger
    listeners: Listeners
    metadata: MetadataServer
    loopback: LoopbackAddresses

    def namespaces(self) -> NamespaceNetwork: ...
    def node_endpoint(self, *, in_namespace: bool) -> tuple[str | None, str]: ...
    def work_root(self) -> Path: ...
    def is_current(self, job: MnpJob) -> bool: ...
    def finished(self, run: JobRun) -> None: ...


class _Aborted(Exception):
    """The job left moto's state (reset) or the emulator is stopping: kill everything, write nothing."""


@dataclass(frozen=True)
class AttemptEnd:
    """How an attempt ended: ``kind`` is ``main`` (the main node exited or could not start), ``timeout``,
    ``terminated`` or ``cancelled``."""

    kind: str
    exit_code: int | None
    reason: str | None
    container_reason: str | None = None


@dataclass
class NodeRun:
    """A node job during one attempt."""

    job: MnpNodeJob
    index: int
    container: dict[str, Any] = field(default_factory=dict)
    address: str | None = None
    namespace: NodeNamespace | None = None
    process: NodeProcess | None = None
    reader: threading.Thread | None = None
    workdir: Path | None = None
    task_id: str = ""
    target: LogTarget | None = None
    writer: NodeLogWriter | None = None
    launch_at: float = 0.0
    phase: str = "waiting"  # waiting | running | done
    stop_reason: str | None = None
    terminated: bool = False
    #: Stopped by a timeout or TerminateJob: FAILED whatever its exit code (stopped because the main node
    #: exited, a node ends by its exit code).
    fail_on_stop: bool = False
    stop_sent_at: float | None = None


def _now_ms() -> int:
    return int(time.time() * 1000)


def _pattern_matches(pattern: str | None, value: str | None) -> bool:
    """``EvaluateOnExit`` glob: exact, or a prefix when it ends with ``*``; no pattern matches anything.

    API reference, EvaluateOnExit: a pattern "can optionally end with an asterisk (*) so that only the start
    of the string needs to be an exact match". A value the job does not have (no ``container.reason`` after a
    plain exit, no exit code when the container never started) is matched as the empty string: so ``*``
    matches it, as the user guide's catch-all needs ("add a final entry that exits for any reason ...
    ``{"action": "EXIT", "onReason": "*"}``", user guide, "Automated job retries"; CloudFormation's
    RetryStrategy example: "The final rule matches all other job failures and exits"), while a pattern with
    characters before the ``*`` (``AGENT*``) or without one does not. The docs say nothing more of absent
    values; this is the reading that makes their example work.
    """
    if pattern is None:
        return True
    text = "" if value is None else value
    return text.startswith(pattern[:-1]) if pattern.endswith("*") else text == pattern


def retry_allowed(retry_strategy: dict[str, Any] | None, end: AttemptEnd) -> bool:
    """Whether ``evaluateOnExit`` lets a failed main node's attempt be retried (first matching rule wins)."""
    for rule in (retry_strategy or {}).get("evaluateOnExit") or []:
        code = None if end.exit_code is None else str(end.exit_code)
        if (
            _pattern_matches(rule.get("onExitCode"), code)
            and _pattern_matches(rule.get("onStatusReason"), end.reason)
            and _pattern_matches(rule.get("onReason"), end.container_reason)
        ):
            return str(rule.get("action", "")).upper() == "RETRY"
    return True


class JobRun(threading.Thread):
    """Runs one MNP job in a thread of its own (see the module doc)."""

    def __init__(
        self,
        *,
        context: RunContext,
        parent: MnpParentJob,
        groups: list[NodeGroup],
        sequence: int,
        seed: int,
        queue_name: str,
        max_attempts: int,
        attempt_duration: float | None,
    ) -> None:
        super().__init__(name=f"mnp-job-{parent.job_id}", daemon=True)
        self.context = context
        self.parent = parent
        self.groups = groups
        self.sequence = sequence
        self.seed = seed
        self.rng = random.Random(f"{seed}/{sequence}")
        self.queue_name = queue_name
        self.max_attempts = max_attempts
        self.attempt_duration = attempt_duration
        self.account = parent.backend.account_id
        self.region = parent.backend.region_name
        self.wake = threading.Event()
        self._aborting = threading.Event()
        self._nodes: list[NodeRun] = []
        self._plan: Plan | None = None
        self._job_dir: Path | None = None
        self.attempt = 0
        self._notice_written = False
        self._launch_order = ""
        #: The stop request of each node job that has taken effect (by identity), so a new attempt drops it.
        self._stops_done: dict[str, tuple[str, str]] = {}

    # ------------------------------------------------------------------------------------- control

    @property
    def has_running_nodes(self) -> bool:
        """Whether a node process of this job's current attempt is running."""
        return any(node.phase == "running" for node in list(self._nodes))

    def abort(self) -> None:
        """Kill every node now and stop without writing (reset, emulator shutdown)."""
        self._aborting.set()
        self.wake.set()

    def _check(self) -> None:
        if self._aborting.is_set() or not self.context.is_current(self.parent):
            raise _Aborted

    def _set(self, job: MnpJob, status: str | None = None, *, unless_stopped: bool = False, **fields: Any) -> bool:
        """Update ``job`` and tell the listeners of a status change. ``unless_stopped``: only if no
        TerminateJob/CancelJob request is pending, checked under the job's lock, which the CancelJob hook also
        takes: a cancel accepted while the job was RUNNABLE is then always seen before it is STARTING, never
        lost in between. Returns whether the job was updated."""
        self._check()
        with job.lock:
            if unless_stopped and job.stop_request is not None:
                return False
            previous = job.status
            job.update(status=status, **fields)
        if status is not None and status != previous:
            self.context.listeners.state(
                JobStateChange(
                    account=self.account,
                    region=self.region,
                    job_id=job.job_id,
                    parent_job_id=self.parent.job_id,
                    node_index=job.node_index if isinstance(job, MnpNodeJob) else None,
                    previous=previous,
                    status=status,
                    status_reason=job.status_reason,
                    time_ms=_now_ms(),
                    detail=job.describe(),
                )
            )
        return True

    def _wait(self, seconds: float) -> None:
        self.wake.wait(max(0.0, seconds))
        self.wake.clear()
        self._check()

    @property
    def _all_jobs(self) -> list[MnpJob]:
        return [self.parent, *self.parent.node_jobs]

    # ------------------------------------------------------------------------------------ the job

    def run(self) -> None:
        try:
            self._run()
        except _Aborted:
            pass
        except NetworkError as error:
            logger.warning("job %s: %s", self.parent.job_id, error)
            with contextlib.suppress(_Aborted):
                self._fail_everything(f"mnp_local: {error}")
        except Exception:
            logger.exception("the local runner failed on job %s", self.parent.job_id)
            with contextlib.suppress(_Aborted):
                self._fail_everything("mnp_local: the local runner failed (see the emulator's output)")
        finally:
            self._kill_all()
            self._cleanup()
            self.context.finished(self)

    def _run(self) -> None:
        if not self._dependencies_met():
            return
        while True:
            self.attempt += 1
            end = self._attempt()
            if end is None:
                return
            if self._will_retry(end):
                continue
            self._finish_job(end)
            return

    def _will_retry(self, end: AttemptEnd) -> bool:
        """A failed main node gets the job another attempt while attempts are left and no EXIT rule matches."""
        return (
            end.kind == "main"
            and end.exit_code != 0
            and self.attempt < self.max_attempts
            and retry_allowed(self.parent.retry_strategy, end)
        )

    def _dependencies_met(self) -> bool:
        """SUBMITTED -> PENDING while ``dependsOn`` jobs are outstanding; False when the job ended here.

        "The scheduler evaluates the job to determine if it has any outstanding dependencies on the
        successful completion of any other jobs. If there are dependencies, the job is moved to PENDING. If
        there are no dependencies, the job is moved to RUNNABLE." (user guide, "Job states"): a job without
        outstanding dependencies never reads PENDING."""
        dependencies = [str(d["jobId"]) for d in self.parent.depends_on or [] if d.get("jobId")]
        pending = False
        while dependencies:
            statuses = []
            for job_id in dependencies:
                job = self.parent.backend._jobs.get(job_id)
                statuses.append(job.status if job is not None else None)
            # "A PENDING job is canceled after all dependency jobs are completed" (API CancelJob); TerminateJob
            # acts at once.
            stop, reason = self.parent.stop_request or (None, "")
            if stop == "cancel" and all(status in TERMINAL for status in statuses):
                self._end_before_start(reason, cancelled=True)
                return False
            if stop != "cancel" and all(status == "SUCCEEDED" for status in statuses):
                break
            if not pending:
                self._set_all("PENDING")
                pending = True
            if stop == "terminate":
                self._end_before_start(reason, cancelled=True)
                return False
            if stop is None and "FAILED" in statuses:
                self._end_before_start(DEPENDENCY_FAILED, cancelled=False)
                return False
            self._wait(0.05)
        return True

    def _set_all(self, status: str, **fields: Any) -> None:
        for job in self._all_jobs:
            self._set(job, status, **fields)

    def _stop_request_before_start(self) -> bool:
        request = self.parent.stop_request
        if request is None:
            return False
        self._end_before_start(request[1], cancelled=True)
        return True

    def _end_before_start(self, reason: str, *, cancelled: bool) -> None:
        """Cancel (or fail on a dependency) before any node started: every job FAILED with ``reason``."""
        now = _now_ms()
        for job in [*self.parent.node_jobs, self.parent]:
            if job.status not in TERMINAL:
                self._set(job, "FAILED", status_reason=reason, stopped_ms=now, is_cancelled=cancelled)

    def _fail_everything(self, reason: str) -> None:
        now = _now_ms()
        for job in [*self.parent.node_jobs, self.parent]:
            if job.status not in TERMINAL:
                self._set(job, "FAILED", status_reason=reason, stopped_ms=now)

    # -------------------------------------------------------------------------------- one attempt

    def _attempt(self) -> AttemptEnd | None:
        """Run attempt ``self.attempt``; None when the job already ended (cancelled while RUNNABLE)."""
        self._set_all("RUNNABLE", status_reason=None, started_ms=None, stopped_ms=None)
        for node in self.parent.node_jobs:
            # A new attempt is a new task per node: a node stopped on its own in the last one runs again. A
            # stop request that has not taken effect yet (made while the job was SUBMITTED, PENDING or
            # RUNNABLE, or while the last attempt ended) stays until it does.
            with node.lock:
                done = node.stop_request is not None and self._stops_done.get(node.job_id) is node.stop_request
                node.update(
                    container={}, is_terminated=False, is_cancelled=False, **({"stop_request": None} if done else {})
                )
        plan = self._wait_for_placement()
        if plan is None:
            return None
        self._plan = plan
        try:
            return self._run_nodes(plan)
        finally:
            self._kill_running()
            self._release_attempt()
            self.context.ledger.release(plan)
            self._plan = None

    def _wait_for_placement(self) -> Plan | None:
        last_check = reason_since = time.monotonic()
        verdict = evaluate(self.parent.job_queue, self.parent.node_properties, self.groups)
        while True:
            if self._stop_request_before_start():
                return None
            if time.monotonic() - last_check > 0.5:  # a compute environment may have been updated
                verdict = evaluate(self.parent.job_queue, self.parent.node_properties, self.groups)
                last_check = time.monotonic()
            queue = self.parent.job_queue
            if str(queue.state).upper() == "ENABLED":
                for plan in verdict.plans:
                    if str(plan.compute_environment.state).upper() == "ENABLED" and self.context.ledger.try_acquire(
                        plan
                    ):
                        if self.parent.status_reason is not None:
                            self._set_all("RUNNABLE", status_reason=None)
                        return plan
            if verdict.stuck is not None:
                reason = stuck_reason(verdict.stuck)
                if self.parent.status_reason != reason:
                    self._set_all("RUNNABLE", status_reason=reason)
                    # The action's time counts from when the job got this reason, not from RUNNABLE.
                    reason_since = time.monotonic()
                action = self._time_limit_action(verdict.stuck, time.monotonic() - reason_since)
                if action is not None:
                    self._end_before_start(
                        f"Canceled by JobStateTimeLimit action due to reason: {action['reason']}", cancelled=True
                    )
                    return None
            self._wait(0.02)

    def _time_limit_action(self, code: str, waited: float) -> dict[str, Any] | None:
        """The queue's ``jobStateTimeLimitActions`` entry that cancels the job now, read as the queue is now:
        an UpdateJobQueue applies to the jobs already waiting ("When a job has been in a RUNNABLE state with
        the defined statusReason, AWS Batch performs the action specified after maxTimeSeconds have elapsed",
        user guide, "Jobs stuck in a RUNNABLE status")."""
        actions = list(getattr(self.parent.job_queue, "job_state_time_limit_actions", None) or [])
        for action in actions:
            if (
                str(action.get("state", "")).upper() == "RUNNABLE"
                and str(action.get("action", "")).upper() == "CANCEL"
                and action.get("reason") == code
                and waited >= self.context.settings.scaled(float(action.get("maxTimeSeconds", 0)))
            ):
                return action
        return None

    def _run_nodes(self, plan: Plan) -> AttemptEnd | None:
        node_runs = [NodeRun(job=job, index=job.node_index) for job in self.parent.node_jobs]
        self._nodes = node_runs
        main = node_runs[self.parent.main_node]
        for node in node_runs:
            self._prepare(node, plan)
        # The children's launch delays (after the main node is RUNNING), drawn before anything starts so
        # the main node's log can say in which order they will come up.
        children = [node for node in node_runs if node is not main]
        delay_max = self.context.settings.child_delay_max
        delays = {child.index: self.rng.uniform(0.0, delay_max) for child in children}
        children.sort(key=lambda node: delays[node.index])
        self._launch_order = ", ".join(str(child.index) for child in children) or "(no children)"
        if not self._set(self.parent, "STARTING", unless_stopped=True):
            # TerminateJob or CancelJob while the job was still RUNNABLE: "Jobs that have not progressed to the
            # STARTING state are cancelled" (API reference, TerminateJob; CancelJob likewise).
            request = self.parent.stop_request
            assert request is not None
            self._end_before_start(request[1], cancelled=True)
            return None
        if not self._launch(main):
            kind = "terminated" if main.terminated else "main"
            end = AttemptEnd(kind, None, main.job.status_reason, container_reason=main.job.container.get("reason"))
            self._record_parent_attempt(main, end)
            if not self._will_retry(end):
                self._finish_job(end)
                others = [node for node in node_runs if node is not main]
                self._stop_nodes(others, STOPPED_BY_MAIN, terminated=False, fail=False)
            return end
        self._set(self.parent, "RUNNING", started_ms=main.job.started_ms)
        self._record_parent_attempt(main, None)
        attempt_started = time.monotonic()
        for child in children:
            child.launch_at = attempt_started + delays[child.index]
        poll = _POLL_MIN
        while True:
            self._check()
            busy = False
            now = time.monotonic()
            for child in children:
                if child.phase == "waiting" and child.launch_at <= now:
                    self._launch(child)
                    busy = True
            for node in node_runs:
                if node.phase == "running" and node.job.stop_request is not None and node.stop_sent_at is None:
                    self._stops_done[node.job.job_id] = node.job.stop_request
                    node.terminated = node.fail_on_stop = True
                    node.stop_reason = node.job.stop_request[1]
                    self._signal(node, signal.SIGTERM)
                if node.phase == "running" and self._reap(node):
                    busy = True
            if main.phase == "done":
                return self._main_ended(main)
            request = self.parent.stop_request
            if request is not None and request[0] == "terminate":
                return self._stop_attempt("terminated", request[1])
            if self.attempt_duration is not None and time.monotonic() - attempt_started >= self.attempt_duration:
                return self._stop_attempt("timeout", TIMEOUT_REASON)
            self._escalate()
            poll = _POLL_MIN if busy else min(poll * 2, _POLL_MAX)
            next_launch = min((c.launch_at for c in children if c.phase == "waiting"), default=None)
            wait = poll if next_launch is None else min(poll, max(0.0, next_launch - time.monotonic()))
            self._wait(wait)

    # ----------------------------------------------------------------------------- node handling

    def _prepare(self, node: NodeRun, plan: Plan) -> None:
        """Everything a node needs before launch: its container, address, log stream and directory."""
        node.container = node_container(self.parent.node_properties, self.groups, node.index)
        node.task_id = uuid.uuid4().hex
        network = self.context.settings.node_network
        if network == "netns":
            node.namespace = self.context.namespaces().create()
            node.address = node.namespace.address
        else:
            node.address = self.context.loopback.allocate()
        node.target = log_target(
            node.container,
            job_definition_name=self.parent.job_definition.name,
            region=self.region,
            task_id=node.task_id,
        )
        node.writer = NodeLogWriter(account=self.account, target=node.target)
        group_position = next(i for i, group in enumerate(self.groups) if group.covers(node.index))
        choice = plan.choices[group_position]
        cluster = f"AWSBatch-{plan.name}-mnp-local"
        node.job.update(
            task_arn=f"arn:aws:ecs:{self.region}:{self.account}:task/{cluster}/{node.task_id}",
            container_instance_arn=f"arn:aws:ecs:{self.region}:{self.account}:container-instance/{cluster}/"
            f"{uuid.uuid4().hex}",
            instance_type=choice.instance_type,
            cluster=cluster,
        )

    def _container_detail(self, node: NodeRun) -> dict[str, Any]:
        container = node.container
        detail: dict[str, Any] = {
            key: container[key]
            for key in (
                "image",
                "vcpus",
                "memory",
                "jobRoleArn",
                "executionRoleArn",
                "volumes",
                "mountPoints",
                "readonlyRootFilesystem",
                "ulimits",
                "privileged",
                "user",
                "resourceRequirements",
                "linuxParameters",
                "logConfiguration",
                "secrets",
            )
            if key in container
        }
        detail["command"] = substitute_parameters(list(container.get("command") or []), self.parent.parameters)
        detail["environment"] = [{"name": k, "value": v} for k, v in container_environment(container).items()]
        detail["taskArn"] = node.job.task_arn
        detail["containerInstanceArn"] = node.job.container_instance_arn
        if node.job.instance_type:
            detail["instanceType"] = node.job.instance_type
        # ECS names an awsvpc task's network interface attachment; any unique id serves locally.
        detail["networkInterfaces"] = [
            {"attachmentId": str(uuid.uuid5(uuid.NAMESPACE_OID, node.task_id)), "privateIpv4Address": node.address}
        ]
        return detail

    def _environment(self, node: NodeRun) -> dict[str, str]:
        main = self._nodes[self.parent.main_node]
        endpoint, metadata_host = self.context.node_endpoint(in_namespace=node.namespace is not None)
        # Keys the emulator maps to the job's account: a node's API calls act in its own account.
        key, secret = credentials_for(self.account)
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
            "HOME": str(node.workdir),
            "HOSTNAME": f"ip-{str(node.address).replace('.', '-')}",
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ACCESS_KEY_ID": key,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "ECS_CONTAINER_METADATA_URI_V4": self.context.metadata.url(node.task_id, host=metadata_host),
        }
        for name in ("LANG", "LC_ALL", "TZ"):
            if name in os.environ:
                env[name] = os.environ[name]
        if endpoint is not None:
            env["AWS_ENDPOINT_URL"] = endpoint
        env.update(container_environment(node.container))
        env.update(
            batch_environment(
                job_id=node.job.job_id,
                node_index=node.index,
                num_nodes=self.parent.num_nodes,
                main_node=self.parent.main_node,
                attempt=self.attempt,
                queue_name=self.queue_name,
                compute_environment_name=self._plan.name if self._plan else "",
                main_node_address=main.address,
            )
        )
        return env

    def _launch(self, node: NodeRun) -> bool:
        """STARTING, start the command, RUNNING; False (and the node FAILED) when it cannot start."""
        detail = self._container_detail(node)
        if not self._set(node.job, "STARTING", unless_stopped=True, container=detail):
            # Cancelled or terminated before launch (the docs are silent on a node job: that node only).
            request = node.job.stop_request
            assert request is not None
            self._stops_done[node.job.job_id] = request
            node.phase = "done"
            node.terminated = True
            self._set(node.job, "FAILED", status_reason=request[1], stopped_ms=_now_ms(), is_cancelled=True)
            return False
        node.workdir = self.context.work_root() / self.parent.job_id / f"node-{node.index}-attempt-{self.attempt}"
        node.workdir.mkdir(parents=True, exist_ok=True)
        assert node.address is not None and node.writer is not None and node.target is not None
        self.context.metadata.register(
            node.task_id,
            address=node.address,
            image=str(node.container.get("image", "")),
            task_arn=detail["taskArn"],
            cluster=node.job.cluster,
            family=self.parent.job_definition.name,
            revision=int(self.parent.job_definition.revision),
            region=self.region,
        )
        notices: list[tuple[int, str]] = []
        if node.index == self.parent.main_node:
            now = _now_ms()
            if not self._notice_written:
                notices.append((now, IMAGE_NOTICE.format(image=node.container.get("image", "(none)"))))
                self._notice_written = True
            notices.append(
                (
                    now,
                    SEED_NOTICE.format(
                        attempt=self.attempt, order=self._launch_order, seed=self.seed, sequence=self.sequence
                    ),
                )
            )
        # The awslogs driver creates the stream when the container starts, output or not.
        node.writer.put(notices)
        prefix = self.context.namespaces().exec_prefix(node.namespace) if node.namespace else []
        try:
            node.process = start_node_process(
                detail["command"],
                env=self._environment(node),
                cwd=node.workdir,
                reaper=self.context.reaper,
                prefix=prefix,
            )
        except NodeStartError as error:
            node.phase = "done"
            now = _now_ms()
            detail = {**detail, "reason": error.reason}
            with node.job.lock:
                node.job.attempt_details.append(
                    {
                        "container": {
                            "containerInstanceArn": detail["containerInstanceArn"],
                            "taskArn": detail["taskArn"],
                            "networkInterfaces": detail["networkInterfaces"],
                            "reason": error.reason,
                        },
                        "stoppedAt": now,
                        "statusReason": START_FAILED,
                    }
                )
            self._set(node.job, "FAILED", status_reason=START_FAILED, stopped_ms=now, container=detail)
            return False
        started = _now_ms()
        detail = {**detail, "logStreamName": node.target.stream} if node.target.stream else detail
        attempt_detail = {
            "container": {
                "containerInstanceArn": detail["containerInstanceArn"],
                "taskArn": detail["taskArn"],
                "networkInterfaces": detail["networkInterfaces"],
                **({"logStreamName": node.target.stream} if node.target.stream else {}),
            },
            "startedAt": started,
        }
        with node.job.lock:
            node.job.attempt_details.append(attempt_detail)
        node.phase = "running"
        self._set(node.job, "RUNNING", started_ms=started, container=detail)
        node.reader = threading.Thread(
            target=self._read_output, args=(node,), name=f"mnp-out-{node.job.job_id}", daemon=True
        )
        node.reader.start()
        return True

    def _read_output(self, node: NodeRun) -> None:
        """Copy the node's output to its log stream (and output listeners), line by line, batched."""
        assert node.process is not None and node.writer is not None and node.target is not None
        pending: list[tuple[int, str]] = []
        last_flush = time.monotonic()
        listeners = self.context.listeners
        try:
            for raw in iter(node.process.output.readline, b""):
                timestamp = _now_ms()
                message = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                pending.append((timestamp, message))
                if listeners.wants_output:
                    listeners.output(
                        NodeOutput(
                            account=self.account,
                            region=self.region,
                            job_id=node.job.job_id,
                            node_index=node.index,
                            attempt=self.attempt,
                            timestamp_ms=timestamp,
                            message=message,
                            log_group=node.target.group,
                            log_stream=node.target.stream,
                        )
                    )
                if time.monotonic() - last_flush >= _READ_FLUSH_SECONDS or len(pending) >= 500:
                    self._flush(node, pending)
                    pending = []
                    last_flush = time.monotonic()
        except (OSError, ValueError):
            pass
        finally:
            if pending:
                self._flush(node, pending)
            self.wake.set()

    def _flush(self, node: NodeRun, events: list[tuple[int, str]]) -> None:
        if self._aborting.is_set() or not self.context.is_current(self.parent) or node.writer is None:
            return
        node.writer.put(events)

    def _reap(self, node: NodeRun) -> bool:
        """If the node's command exited: its job SUCCEEDED or FAILED by exit code; True when it did."""
        assert node.process is not None
        code = node.process.poll()
        if code is None:
            return False
        node.process.finish()
        if node.reader is not None:
            node.reader.join(timeout=5)
        node.phase = "done"
        now = _now_ms()
        reason = node.stop_reason if node.stop_reason is not None else ESSENTIAL_EXITED
        # "Individual nodes exit and move to SUCCEEDED or FAILED based on their exit code."
        status = "SUCCEEDED" if code == 0 and not node.fail_on_stop else "FAILED"
        with node.job.lock:
            container = {**node.job.container, "exitCode": code}
            if node.job.attempt_details:
                last = node.job.attempt_details[-1]
                last["container"]["exitCode"] = code
                last["stoppedAt"] = now
                last["statusReason"] = reason
        self._set(
            node.job,
            status,
            status_reason=reason,
            stopped_ms=now,
            container=container,
            is_terminated=node.terminated or node.job.is_terminated,
        )
        self.context.metadata.unregister(node.task_id)
        return True

    def _signal(self, node: NodeRun, signum: int) -> None:
        if node.process is not None and node.phase == "running":
            node.process.signal_group(signum)
            if node.stop_sent_at is None:
                node.stop_sent_at = time.monotonic()

    def _escalate(self) -> None:
        """SIGKILL the nodes whose SIGTERM grace period has passed."""
        grace = self.context.settings.stop_grace
        now = time.monotonic()
        for node in self._nodes:
            if node.phase == "running" and node.stop_sent_at is not None and now - node.stop_sent_at >= grace:
                node.process.signal_group(signal.SIGKILL)  # type: ignore[union-attr]

    def _stop_nodes(
        self, nodes: list[NodeRun], reason: str, *, terminated: bool, fail: bool, retrying: bool = False
    ) -> None:
        """SIGTERM ``nodes``, SIGKILL those still running after the grace period, and record how each ended
        (``fail``: FAILED whatever the exit code); a node never launched is FAILED, unless the job is
        ``retrying`` (it waits for the next attempt)."""
        for node in nodes:
            if node.phase == "running":
                node.stop_reason = node.stop_reason or reason
                node.terminated = node.terminated or terminated
                node.fail_on_stop = node.fail_on_stop or fail
                self._signal(node, signal.SIGTERM)
        while any(node.phase == "running" for node in nodes):
            for node in nodes:
                if node.phase == "running":
                    self._reap(node)
            self._escalate()
            if any(node.phase == "running" for node in nodes):
                self._wait(0.005)
        now = _now_ms()
        for node in nodes:
            if node.phase == "waiting" and not retrying:
                node.phase = "done"
                self._set(
                    node.job,
                    "FAILED",
                    status_reason=reason if fail else NEVER_LAUNCHED,
                    stopped_ms=now,
                    is_terminated=terminated,
                )

    def _main_ended(self, main: NodeRun) -> AttemptEnd:
        exit_code = main.job.container.get("exitCode")
        end = AttemptEnd("main", exit_code, main.job.status_reason, container_reason=main.job.container.get("reason"))
        if main.terminated:
            end = AttemptEnd("terminated", exit_code, main.job.status_reason)
        others = [node for node in self._nodes if node is not main]
        retrying = self._will_retry(end)
        lag = self.context.settings.parent_lag
        if retrying or lag <= 0:
            self._record_parent_attempt(main, end)
            if not retrying:
                # "If the main node exits, the job is considered finished": the parent ends now, its
                # children are stopped after.
                self._finish_job(end)
            self._stop_nodes(others, STOPPED_BY_MAIN, terminated=False, fail=False, retrying=retrying)
            return end
        main_ended_at = time.monotonic()
        self._stop_nodes(others, STOPPED_BY_MAIN, terminated=False, fail=False)
        end = self._lagging_parent(end, main_ended_at + lag)
        self._record_parent_attempt(main, end)
        self._finish_job(end)
        return end

    def _lagging_parent(self, end: AttemptEnd, until: float) -> AttemptEnd:
        """``MNP_LOCAL_PARENT_LAG``: the parent (status, attempt) still reads RUNNING a while after its main
        node ended and its children were stopped: the window in which a watchdog that trusted the parent's
        status alone would act on a child that Batch stopped. A TerminateJob of the parent in that window
        ends the job as terminated, FAILED with its reason, as it would on a RUNNING job."""
        while time.monotonic() < until:
            request = self.parent.stop_request
            if request is not None and request[0] == "terminate":
                return AttemptEnd("terminated", end.exit_code, request[1])
            self._wait(min(0.01, max(0.0, until - time.monotonic())))
        return end

    def _stop_attempt(self, kind: str, reason: str) -> AttemptEnd:
        """Timeout or TerminateJob: every node is stopped with ``reason``; the job FAILS with it."""
        self._stop_nodes(self._nodes, reason, terminated=kind == "terminated", fail=True)
        main = self._nodes[self.parent.main_node]
        end = AttemptEnd(kind, main.job.container.get("exitCode"), reason)
        self._record_parent_attempt(main, end)
        return end

    def _record_parent_attempt(self, main: NodeRun, end: AttemptEnd | None) -> None:
        """The parent's attempt ``n`` is its main node's attempt ``n`` (added when the main node runs or fails
        to start, completed with the attempt's reason when the attempt ends)."""
        with main.job.lock:
            if not main.job.attempt_details:
                return
            entry = copy.deepcopy(main.job.attempt_details[-1])
        if end is not None:
            entry.setdefault("stoppedAt", main.job.stopped_ms or _now_ms())
            if end.reason is not None:
                entry["statusReason"] = end.reason
        with self.parent.lock:
            details = self.parent.attempt_details
            if len(details) < self.attempt:
                details.append(entry)
            else:
                details[-1] = entry

    def _finish_job(self, end: AttemptEnd) -> None:
        """The parent takes its main node's outcome (the job's timeout, terminate or cancel reason)."""
        if self.parent.status in TERMINAL:
            return
        main = self.parent.node_jobs[self.parent.main_node]
        succeeded = end.kind == "main" and end.exit_code == 0
        self._set(
            self.parent,
            "SUCCEEDED" if succeeded else "FAILED",
            status_reason=end.reason,
            stopped_ms=main.stopped_ms or _now_ms(),
            started_ms=main.started_ms,
            main_exit_code=end.exit_code,
            main_reason=end.container_reason,
            is_terminated=end.kind == "terminated",
        )

    # ----------------------------------------------------------------------------------- cleanup

    def _kill_running(self) -> None:
        for node in self._nodes:
            if node.process is not None and node.phase == "running":
                node.process.signal_group(signal.SIGKILL)

    def _kill_all(self) -> None:
        for node in self._nodes:
            if node.process is not None:
                node.process.signal_group(signal.SIGKILL)
                node.process.finish()

    def _release_attempt(self) -> None:
        for node in self._nodes:
            if node.process is not None and node.phase != "done":
                node.process.finish()
            if node.reader is not None:
                node.reader.join(timeout=5)
            self.context.metadata.unregister(node.task_id)
            if node.namespace is not None:
                self.context.namespaces().delete(node.namespace)
                node.namespace = None
            elif node.address is not None:
                self.context.loopback.release(node.address)
            node.address = None

    def _cleanup(self) -> None:
        try:
            self._release_attempt()
        except NetworkError as error:
            logger.warning("cannot remove a node network namespace: %s", error)
        if not self.context.settings.keep_work_dirs:
            shutil.rmtree(self.context.work_root() / self.parent.job_id, ignore_errors=True)
