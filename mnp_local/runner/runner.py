"""The runner: turns a SubmitJob of a multinode job definition into a parent job, its node jobs and a run.

One :class:`Runner` per emulator process (:func:`mnp_local.runner.install`). SubmitJob reaches
:meth:`Runner.submit` in the request's thread, which checks what AWS checks at submit time (so a bad
request fails with ``ClientException`` and creates nothing), puts the parent and every node job ``JOB#N``
into moto's store, and starts a :class:`~mnp_local.runner.lifecycle.JobRun` thread. Everything the runs
share lives here: settings, the node reaper, loopback addresses or network namespaces, the ECS task
metadata endpoint, the capacity ledger and the listeners.
"""

from __future__ import annotations

import contextlib
import logging
import random
import re
import shutil
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from moto.batch.exceptions import ClientException
from moto.batch.models import batch_backends

from mnp_local.runner.capacity import CapacityLedger
from mnp_local.runner.events import Listeners, OutputListener, StateListener
from mnp_local.runner.jobs import MnpJob, MnpNodeJob, MnpParentJob
from mnp_local.runner.lifecycle import JobRun
from mnp_local.runner.metadata import MetadataServer
from mnp_local.runner.network import LoopbackAddresses, NamespaceNetwork, TcpRelay
from mnp_local.runner.processes import Reaper
from mnp_local.runner.settings import LOOPBACK, RunnerSettings
from mnp_toolkit.core.limits import (
    DEFAULT_MAX_NODES,
    EXIT_CODE_PATTERN,
    JOB_NAME_PATTERN,
    MAX_EVALUATE_ON_EXIT,
    MAX_EXIT_PATTERN_LENGTH,
    MAX_RETRY_ATTEMPTS,
    MIN_RETRY_ATTEMPTS,
    MIN_TIMEOUT_SECONDS,
    RETRY_ACTIONS,
    SHARE_IDENTIFIER_PATTERN,
)
from mnp_toolkit.core.node_groups import NodeGroupsError, apply_node_overrides, node_groups

logger = logging.getLogger(__name__)

_JOB_NAME = re.compile(JOB_NAME_PATTERN)
_SHARE_IDENTIFIER = re.compile(SHARE_IDENTIFIER_PATTERN)
#: The most nodes the emulator runs for one job: Batch's default limit ("You can have up to 1,000 nodes in
#: a single job", user guide, "Node groups"); every node is a real process here.
MAX_LOCAL_NODES = DEFAULT_MAX_NODES


class Runner:
    """Shared state of every MNP job run of this emulator (see the module doc)."""

    def __init__(self, settings: RunnerSettings) -> None:
        self.settings = settings
        self.reaper = Reaper()
        self.ledger = CapacityLedger()
        self.listeners = Listeners()
        self.metadata = MetadataServer()
        self.loopback = LoopbackAddresses()
        #: The emulator's URL (``http://127.0.0.1:PORT``), given to nodes as ``AWS_ENDPOINT_URL``.
        self.endpoint: str | None = None
        self.seed = settings.seed if settings.seed is not None else random.SystemRandom().randrange(2**31)
        self._lock = threading.Lock()
        self._runs: dict[str, JobRun] = {}
        self._sequence = 0
        self._namespaces: NamespaceNetwork | None = None
        self._relays: dict[str, TcpRelay] = {}
        self._work_root: Path | None = None
        self._own_work_root = False
        self._closed = False

    # --------------------------------------------------------------------------------- RunContext

    def work_root(self) -> Path:
        with self._lock:
            if self._work_root is None:
                if self.settings.work_dir is not None:
                    self._work_root = Path(tempfile.mkdtemp(prefix="mnp_local_nodes_", dir=self.settings.work_dir))
                else:
                    self._work_root = Path(tempfile.mkdtemp(prefix="mnp_local_nodes_"))
                self._own_work_root = True
                if not self.settings.keep_work_dirs:
                    self.reaper.tell("path", self._work_root)
            return self._work_root

    def namespaces(self) -> NamespaceNetwork:
        with self._lock:
            if self._namespaces is None:
                self._namespaces = NamespaceNetwork(self.reaper)
            return self._namespaces

    def node_endpoint(self, *, in_namespace: bool) -> tuple[str | None, str]:
        """``AWS_ENDPOINT_URL`` for a node and the host of its metadata URL; a node in a namespace reaches
        both through relays on the bridge's address."""
        if not in_namespace:
            return self.endpoint, LOOPBACK
        gateway = self.namespaces().gateway
        endpoint = None
        if self.endpoint is not None:
            port = urlsplit(self.endpoint).port or 80
            endpoint = f"http://{gateway}:{self._relay('endpoint', gateway, port)}"
        self._relay("metadata", gateway, self.metadata.port)
        return endpoint, gateway

    def _relay(self, name: str, gateway: str, port: int) -> int:
        with self._lock:
            relay = self._relays.get(name)
            if relay is None:
                relay = TcpRelay((gateway, port), (LOOPBACK, port))
                self._relays[name] = relay
            return int(relay.address[1])

    def is_current(self, job: MnpJob) -> bool:
        """Whether ``job`` is still in moto's store (``/moto-api/reset`` replaces the backends)."""
        if self._closed:
            return False
        # Not batch_backends[account][region]: during a reset that takes moto's backend lock, which the
        # reset holds while it waits for this job's run to stop. A reset empties the backend in place.
        jobs = getattr(job.backend, "_jobs", None)
        return jobs is not None and jobs.get(job.job_id) is job

    def finished(self, run: JobRun) -> None:
        with self._lock:
            if self._runs.get(run.parent.job_id) is run:
                del self._runs[run.parent.job_id]

    # ----------------------------------------------------------------------------------- control

    def subscribe(self, *, state: StateListener | None = None, output: OutputListener | None = None) -> Any:
        """Register listeners for job state changes and node output (see :mod:`mnp_local.runner.events`);
        returns a function that removes them."""
        return self.listeners.add(state=state, output=output)

    def busy(self) -> bool:
        """Whether a node process of some job is running (nodes may not call the API for a long time); a job
        that waits (PENDING, or RUNNABLE, perhaps for ever) keeps nothing busy, so an idle emulator stops."""
        with self._lock:
            runs = list(self._runs.values())
        return any(run.has_running_nodes for run in runs)

    def run_of(self, job: MnpJob) -> JobRun | None:
        parent_id = job.parent_id if isinstance(job, MnpNodeJob) else job.job_id
        with self._lock:
            return self._runs.get(parent_id)

    def stop_jobs(self, *, account: str, region: str, timeout: float = 10.0) -> None:
        """Abort every run of one Batch backend (before ``/moto-api/reset`` empties it) and wait for them."""
        with self._lock:
            runs = [run for run in self._runs.values() if (run.account, run.region) == (account, region)]
        for run in runs:
            run.abort()
        for run in runs:
            run.join(timeout)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop every run, its node processes and the helpers (the emulator is stopping)."""
        with self._lock:
            runs = list(self._runs.values())
            self._closed = True
        for run in runs:
            run.abort()
        for run in runs:
            run.join(timeout)
        for relay in self._relays.values():
            relay.close()
        with contextlib.suppress(Exception):
            self.metadata.close()
        if self._namespaces is not None:
            self._namespaces.close()
        if self._own_work_root and self._work_root is not None and not self.settings.keep_work_dirs:
            shutil.rmtree(self._work_root, ignore_errors=True)
        self.reaper.close()

    # ------------------------------------------------------------------------------------ submit

    def submit(self, backend: Any, request: Mapping[str, Any]) -> tuple[str, str, str] | None:
        """SubmitJob of ``request`` (its parameters, as the API names them) in ``backend``'s account and
        Region; None when the job definition is not ``multinode`` (moto then handles the job)."""
        real = batch_backends[backend.account_id][backend.region_name]
        definition = real.get_job_definition(request.get("jobDefinition") or "")
        if definition is None or definition.type != "multinode":
            return None
        if self._closed:
            raise ClientException("the emulated AWS is stopping")
        problems = _request_problems(request)
        queue = real.get_job_queue(request.get("jobQueue") or "")
        if queue is None:
            problems.append(f"Job queue {request.get('jobQueue')} does not exist")
        else:
            problems.extend(_share_problems(queue, request.get("shareIdentifier")))
        problems.extend(_dependency_problems(real, request.get("dependsOn")))
        effective: dict[str, Any] = {}
        groups = []
        try:
            effective = apply_node_overrides(definition.node_properties or {}, request.get("nodeOverrides"))
            groups = node_groups(effective)
        except NodeGroupsError as error:
            problems.extend(error.problems)
        if effective and not problems and effective["numNodes"] > MAX_LOCAL_NODES:
            problems.append(
                f"numNodes {effective['numNodes']} is more than the {MAX_LOCAL_NODES} nodes the emulator runs a "
                "job (Batch's default limit per job); ask for fewer nodes"
            )
        retry = _retry_strategy(request.get("retryStrategy"), definition.retry_strategy, problems)
        timeout = request.get("timeout") or definition.timeout or None
        duration = (timeout or {}).get("attemptDurationSeconds")
        if request.get("timeout") and (
            not isinstance(duration, int) or isinstance(duration, bool) or duration < MIN_TIMEOUT_SECONDS
        ):
            problems.append(
                f"timeout.attemptDurationSeconds is {duration!r}: the minimum value for the timeout is "
                f"{MIN_TIMEOUT_SECONDS} seconds"
            )
        if problems:
            raise ClientException("; ".join(problems))
        assert queue is not None
        with self._lock:
            self._sequence += 1
            sequence = self._sequence
        common = {
            "job_def": definition,
            "job_queue": queue,
            "backend": real,
            "parameters": request.get("parameters"),
            "timeout": request.get("timeout"),
            "depends_on": request.get("dependsOn"),
            "propagate_tags": request.get("propagateTags"),
        }
        parent = MnpParentJob(
            name=request["jobName"],
            node_properties=effective,
            retry_strategy=retry,
            tags=request.get("tags"),
            **common,
        )
        parent.node_jobs = [
            MnpNodeJob(name=request["jobName"], parent=parent, node_index=index, tags=None, **common)
            for index in range(effective["numNodes"])
        ]
        # Node jobs are found by id (DescribeJobs) and by ListJobs(multiNodeJobId), not in the queue's list.
        node_ids = {id(node) for node in parent.node_jobs}
        queue.jobs[:] = [job for job in queue.jobs if id(job) not in node_ids]
        for job in [parent, *parent.node_jobs]:
            real._jobs[job.job_id] = job
        run = JobRun(
            context=self,
            parent=parent,
            groups=groups,
            sequence=sequence,
            seed=self.seed,
            queue_name=queue.name,
            max_attempts=int((retry or {}).get("attempts") or 1),
            attempt_duration=self.settings.scaled(float(duration)) if isinstance(duration, int | float) else None,
        )
        with self._lock:
            self._runs[parent.job_id] = run
        run.start()
        return parent.job_name, parent.job_id, parent.arn


def _request_problems(request: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    name = request.get("jobName")
    if not isinstance(name, str) or not _JOB_NAME.fullmatch(name):
        problems.append(
            f"jobName {name!r} is not valid: up to 128 letters, numbers, hyphens and underscores, starting with "
            "a letter or number"
        )
    if (request.get("arrayProperties") or {}).get("size") is not None:
        problems.append("arrayProperties: a multi-node parallel job cannot be an array job; drop arrayProperties")
    if request.get("containerOverrides"):
        problems.append(
            "containerOverrides do not apply to a multi-node parallel job: use "
            "nodeOverrides.nodePropertyOverrides[].containerOverrides with the targetNodes of a node range"
        )
    return problems


def _share_problems(queue: Any, share_identifier: Any) -> list[str]:
    """SubmitJob ``shareIdentifier``: "If the job queue has a fair-share scheduling policy, then this parameter
    must be specified. If the job queue doesn't have a fair-share scheduling policy, then this parameter must
    not be specified." (API reference; the pattern is the core's, with its source)."""
    if getattr(queue, "schedule_policy", None):
        if share_identifier is None:
            return [
                f"shareIdentifier: job queue {queue.name} has a fair-share scheduling policy, so SubmitJob must "
                "specify a shareIdentifier"
            ]
        if not isinstance(share_identifier, str) or not _SHARE_IDENTIFIER.fullmatch(share_identifier):
            return [
                f"shareIdentifier {share_identifier!r} is not valid: up to 255 letters, numbers, hyphens and "
                "underscores, optionally followed by an asterisk (*)"
            ]
        return []
    if share_identifier is not None:
        return [
            f"shareIdentifier: job queue {queue.name} has no fair-share scheduling policy, so SubmitJob must not "
            "specify a shareIdentifier; drop it or submit to a queue with a scheduling policy"
        ]
    return []


def _dependency_problems(backend: Any, depends_on: Any) -> list[str]:
    """``dependsOn`` jobs that the backend does not know. The API reference does not say what SubmitJob does
    with one (a dependency that can never succeed would hold the job in PENDING for ever); the emulator
    refuses it with ClientException, naming it, as moto's SubmitJob refuses an unknown queue or definition."""
    unknown = [
        str(entry.get("jobId"))
        for entry in depends_on or []
        if isinstance(entry, dict) and entry.get("jobId") and backend.get_job_by_id(str(entry["jobId"])) is None
    ]
    return [f"dependsOn: job {job_id} does not exist" for job_id in unknown]


_EXIT_CODE_PATTERN = re.compile(EXIT_CODE_PATTERN)


def _evaluate_on_exit_problems(strategy: Mapping[str, Any]) -> list[str]:
    """What is wrong with SubmitJob's ``retryStrategy.evaluateOnExit`` (a definition's was checked when it was
    registered). The characters the docs allow in ``onReason``/``onStatusReason`` are not checked: AWS's own
    reasons (``CannotPullContainerError: ...``, ``Host EC2 ...``) are the values those patterns match."""
    rules = strategy.get("evaluateOnExit")
    if rules is None:
        return []
    if not isinstance(rules, list):
        return [f"retryStrategy.evaluateOnExit is {rules!r}: give a list of conditions"]
    problems = []
    if "attempts" not in strategy:
        problems.append("retryStrategy: with evaluateOnExit, attempts must also be specified")
    if len(rules) > MAX_EVALUATE_ON_EXIT:
        problems.append(
            f"retryStrategy.evaluateOnExit has {len(rules)} conditions: specify up to {MAX_EVALUATE_ON_EXIT}"
        )
    for index, rule in enumerate(rules):
        where = f"retryStrategy.evaluateOnExit[{index}]"
        if not isinstance(rule, dict):
            problems.append(f"{where} is {rule!r}: give an object with an action")
            continue
        action = rule.get("action")
        if not isinstance(action, str) or action.upper() not in RETRY_ACTIONS:
            problems.append(f"{where}.action is {action!r}: use RETRY or EXIT")
        for field in ("onExitCode", "onReason", "onStatusReason"):
            pattern = rule.get(field)
            if pattern is None:
                continue
            if not isinstance(pattern, str) or not 1 <= len(pattern) <= MAX_EXIT_PATTERN_LENGTH:
                problems.append(f"{where}.{field} must be a pattern of 1 to {MAX_EXIT_PATTERN_LENGTH} characters")
            elif field == "onExitCode" and not _EXIT_CODE_PATTERN.fullmatch(pattern):
                problems.append(
                    f"{where}.onExitCode {pattern!r} can contain only numbers, optionally ending with an asterisk (*)"
                )
    return problems


def _retry_strategy(submitted: Any, defined: Any, problems: list[str]) -> dict[str, Any] | None:
    """SubmitJob's ``retryStrategy`` "overrides the retry strategy defined in the job definition"."""
    strategy = submitted if submitted else (defined or None)
    if not strategy:
        return None
    if submitted:
        problems.extend(_evaluate_on_exit_problems(submitted))
    attempts = strategy.get("attempts", MIN_RETRY_ATTEMPTS)
    if (
        not isinstance(attempts, int)
        or isinstance(attempts, bool)
        or not MIN_RETRY_ATTEMPTS <= attempts <= MAX_RETRY_ATTEMPTS
    ):
        problems.append(
            f"retryStrategy.attempts is {attempts!r}: specify between {MIN_RETRY_ATTEMPTS} and "
            f"{MAX_RETRY_ATTEMPTS} attempts"
        )
    return dict(strategy)
