"""Child-failure watchdog for AWS Batch multi-node parallel (MNP) jobs (Lambda handler).

"If a child node dies, AWS Batch doesn't take any action on the other nodes in the job" (Batch user
guide, "Job lifecycle for MNP jobs"): the main node may wait for ever for a peer that is gone, and
every other node keeps billing. This function terminates the parent job, with a reason naming the
failed node, as soon as a child node (any node but the main node) is FAILED.

It is invoked two ways, and both end in the same decision (:func:`_decide`):

* by an EventBridge rule on "Batch Job State Change" events of FAILED node jobs (``JOB_ID#N``) of the
  watched queue. AWS does not document that node jobs emit these events, so this path is a fast path
  only;
* by a schedule with the input ``{"watchdog": "sweep"}``: it lists the queue's RUNNING jobs, describes
  each MNP parent, lists the parent's FAILED nodes (``ListJobs`` with ``multiNodeJobId``), describes
  those node jobs ``JOB_ID#N`` (documented: "If you need child node details, you must describe each
  child node individually ... using the #N notation") and terminates a parent with a FAILED child.

Nothing is terminated on the event's word alone: the parent and the node are described again, and the
parent is left alone when it has already ended, is not RUNNING (between two attempts of a retried job,
or the children have not been launched yet), when the failed node is the main node (Batch ends the job
itself), when the node is not FAILED now (a later attempt restarted it), or when the node stopped
before the parent's last finished attempt did (the failure belongs to an earlier attempt). Last, right
before TerminateJob, the main node ``JOB_ID#<mainNode>`` is described: "If the main node exits, the job
is considered finished, and all of the child nodes are stopped" (Batch user guide, "Job lifecycle for
MNP jobs"), so for a moment the parent can still read RUNNING while a child that Batch stopped reads
FAILED. The parent is terminated only while its main node is STARTING or RUNNING; a main node that has
ended, or whose status cannot be read, means the job is Batch's to finish, and nothing is terminated.

Under load the sweep stays inside its time: it lists only the FAILED nodes of each RUNNING MNP job
(``ListJobs multiNodeJobId=... jobStatus=FAILED``: one call for a healthy job of any size), checks the
clock before every job, and stops cleanly (one ``sweep_stopped`` line, no error) before the Lambda's
deadline or the next scheduled sweep, whichever comes first, so two sweeps never overlap. Each sweep
starts at a different job (the order rotates with the scheduled minute), so a queue too large for one
sweep is still covered over several. The Batch client has connect and read timeouts and adaptive retries
(botocore), so one slow call cannot eat the whole invocation.

Every decision is logged as one JSON line on stdout (``"watchdog": "decision"``). Runs on the Lambda
Python runtime: standard library and boto3 only, no imports from the rest of the project.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

#: Environment variable holding the ARN of the watched job queue (compared in full: a queue of the same
#: name in another account or Region is another queue).
JOB_QUEUE_ENV = "JOB_QUEUE"
#: Environment variable holding the sweep interval in seconds: a sweep stops before the next one starts.
SWEEP_INTERVAL_ENV = "SWEEP_INTERVAL_SECONDS"
#: The input the schedule target sends (plus ``"scheduled_at"``, the schedule event's ``time``, when the
#: rule's input transformer adds it); anything else is treated as an EventBridge event.
SWEEP_INPUT: dict[str, str] = {"watchdog": "sweep"}
SWEEP_TIME_KEY = "scheduled_at"
#: botocore client settings (``botocore.config.Config``): a slow or unreachable endpoint costs at most
#: ``CONNECT_TIMEOUT_S + READ_TIMEOUT_S`` per attempt, and adaptive retries back off (client-side rate
#: limiting) when Batch throttles.
CONNECT_TIMEOUT_S = 3
READ_TIMEOUT_S = 10
#: botocore's ``total_max_attempts``: the first attempt included.
MAX_ATTEMPTS = 3
#: What one API call may take in the worst case with the settings above (every attempt timing out, plus
#: botocore's backoff between attempts): a sweep starts no call with less time than this left.
CALL_BUDGET_S = MAX_ATTEMPTS * (CONNECT_TIMEOUT_S + READ_TIMEOUT_S) + 5
#: TerminateJob's ``reason`` "has a limit of 1024 characters" (Batch API reference, TerminateJob).
MAX_REASON_LENGTH = 1024
#: DescribeJobs takes "a list of up to 100 job IDs" (Batch API reference, DescribeJobs).
DESCRIBE_BATCH = 100
REASON_PREFIX = "mnp-watchdog"
ENDED = frozenset({"SUCCEEDED", "FAILED"})
#: Main-node states in which the job's current attempt is still going, so a FAILED child failed on its own.
MAIN_NODE_ACTIVE = frozenset({"STARTING", "RUNNING"})


class WatchdogInputError(ValueError):
    """An invocation the watchdog cannot act on; the message names the field, the problem and the fix."""


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Lambda entry point: route a scheduled sweep or a Batch Job State Change event.

    Bad input (a malformed event, a missing or non-ARN ``JOB_QUEUE``) is logged as one ``rejected``
    decision and returned, not raised: retrying the same input could never succeed, and a traceback
    would hide the one line that says what to fix.
    """
    remaining_ms = context.get_remaining_time_in_millis() if hasattr(context, "get_remaining_time_in_millis") else None
    interval = os.environ.get(SWEEP_INTERVAL_ENV, "")
    return handle(
        event,
        batch=batch_client(),
        job_queue=os.environ.get(JOB_QUEUE_ENV, ""),
        deadline=time.time() + remaining_ms / 1000 if isinstance(remaining_ms, (int, float)) else None,
        sweep_interval_s=int(interval) if interval.isdigit() else None,
    )


def batch_client() -> Any:
    """The Batch client: connect/read timeouts and adaptive retries (see the constants above)."""
    import boto3  # Lambda runtime ships boto3; imported here so the module imports without it
    from botocore.config import Config

    config = Config(
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        retries={"mode": "adaptive", "total_max_attempts": MAX_ATTEMPTS},
    )
    return boto3.client("batch", config=config)


def handle(
    event: Any,
    *,
    batch: Any,
    job_queue: str,
    deadline: float | None = None,
    sweep_interval_s: int | None = None,
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """Handle one invocation with an injected Batch client (the seam the tests use).

    ``deadline`` is when the invocation must have returned (epoch seconds; the Lambda's own deadline),
    ``sweep_interval_s`` the schedule's interval and ``clock`` the wall clock (injected by tests, which
    must not depend on real time). Returns ``{"decisions": [...]}``, the same records that were logged.
    """
    decisions: list[dict[str, Any]] = []
    try:
        if not job_queue:
            raise WatchdogInputError(
                f"environment variable {JOB_QUEUE_ENV}: not set. Fix: set it to the ARN of the job queue "
                "to watch (the ChildFailureWatchdog construct does this)"
            )
        if not _is_queue_arn(job_queue):
            raise WatchdogInputError(
                f"environment variable {JOB_QUEUE_ENV}: {job_queue!r} is not a job queue ARN "
                "(arn:<partition>:batch:<region>:<account>:job-queue/<name>); a name could match a queue of "
                "another account or Region. Fix: set it to the queue's ARN"
            )
        if isinstance(event, Mapping) and event.get("watchdog") == SWEEP_INPUT["watchdog"]:
            window = _sweep_window(event, deadline, sweep_interval_s, clock)
            decisions.extend(_sweep(batch, job_queue, window, clock))
        else:
            decisions.append(_on_event(batch, job_queue, event))
    except WatchdogInputError as err:
        decisions.append(_log({"decision": "rejected", "code": "bad_input", "message": str(err)}))
    except Exception as err:
        # An AWS API error (throttling, access denied) or a bug: log it as one line, then fail the
        # invocation so that Lambda's Errors metric and its retries see it; the next sweep re-derives state.
        code = "aws_api_error" if type(err).__module__.startswith("botocore") else "unexpected_error"
        _log({"decision": "error", "code": code, "message": f"{type(err).__name__}: {err}"})
        raise
    return {"decisions": decisions}


# --- event path ------------------------------------------------------------------------------------


def _on_event(batch: Any, job_queue: str, event: Any) -> dict[str, Any]:
    node = _parse_event(event)
    if node["status"] != "FAILED":
        return _log({"decision": "skip", "code": "node_not_failed", "source": "event", **_ids(node)})
    if node["is_main"] is True:
        return _log({"decision": "skip", "code": "main_node_left_to_batch", "source": "event", **_ids(node)})
    described = {job["jobId"]: job for job in _describe(batch, [node["parent_id"], node["job_id"]])}
    parent = described.get(node["parent_id"])
    if parent is None:
        return _log({"decision": "skip", "code": "parent_not_found", "source": "event", **_ids(node)})
    current = described.get(node["job_id"])
    return _decide(batch, job_queue, parent, [current] if current else [], source="event", event_node=node)


def _parse_event(event: Any) -> dict[str, Any]:
    """Pull the node job out of a "Batch Job State Change" event, or explain what is wrong with it."""
    if not isinstance(event, Mapping):
        raise WatchdogInputError(
            f"event: expected a JSON object, got {type(event).__name__}. Fix: invoke with a Batch Job State "
            f"Change event or with {json.dumps(SWEEP_INPUT)}"
        )
    if event.get("detail-type") != "Batch Job State Change" or event.get("source") != "aws.batch":
        raise WatchdogInputError(
            f"event: detail-type {event.get('detail-type')!r} from source {event.get('source')!r} is not a "
            f"'Batch Job State Change' event from 'aws.batch'. Fix: route only those events here, or invoke "
            f"with {json.dumps(SWEEP_INPUT)} for a sweep"
        )
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise WatchdogInputError("event.detail: missing or not an object. Fix: send the event unchanged")
    job_id, status = detail.get("jobId"), detail.get("status")
    if not isinstance(job_id, str) or not job_id:
        raise WatchdogInputError("event.detail.jobId: missing or not a string. Fix: send the event unchanged")
    if not isinstance(status, str) or not status:
        raise WatchdogInputError("event.detail.status: missing or not a string. Fix: send the event unchanged")
    parent_id, sep, index_text = job_id.partition("#")
    if not sep:
        raise WatchdogInputError(
            f"event.detail.jobId: {job_id!r} is not a node job (JOB_ID#N). Fix: filter the rule to node jobs "
            "(detail.nodeDetails.isMainNode: [false])"
        )
    if not index_text.isdigit() or not parent_id:
        raise WatchdogInputError(
            f"event.detail.jobId: {job_id!r} does not end in '#<node index>'. Fix: send the event unchanged"
        )
    node_details = detail.get("nodeDetails")
    is_main = node_details.get("isMainNode") if isinstance(node_details, Mapping) else None
    return {
        "job_id": job_id,
        "parent_id": parent_id,
        "index": int(index_text),
        "status": status,
        "is_main": is_main if isinstance(is_main, bool) else None,
    }


# --- sweep path ------------------------------------------------------------------------------------


class _SweepWindow:
    """When a sweep must stop starting calls, and where in the queue it starts."""

    def __init__(self, *, stop_at: float | None, scheduled_at: float | None) -> None:
        self.stop_at = stop_at
        self.scheduled_at = scheduled_at


def _sweep_window(
    event: Mapping[str, Any], deadline: float | None, interval_s: int | None, clock: Callable[[], float]
) -> _SweepWindow:
    """The sweep stops ``CALL_BUDGET_S`` before the Lambda's deadline and before the next scheduled sweep."""
    unknown = set(event) - {"watchdog", SWEEP_TIME_KEY}
    if unknown:
        raise WatchdogInputError(
            f"sweep input: unknown key(s) {sorted(unknown)}. Fix: invoke with {json.dumps(SWEEP_INPUT)}"
        )
    scheduled_at: float | None = None
    raw = event.get(SWEEP_TIME_KEY)
    if raw is not None:
        try:
            scheduled_at = datetime.fromisoformat(str(raw)).timestamp()
        except ValueError:
            raise WatchdogInputError(
                f"sweep input: {SWEEP_TIME_KEY} {raw!r} is not an ISO 8601 time. Fix: let the schedule's "
                "input transformer fill it from the event's time, or leave it out"
            ) from None
    limits = []
    if deadline is not None:
        limits.append(deadline - CALL_BUDGET_S)
    if interval_s is not None:
        start = scheduled_at if scheduled_at is not None else clock()
        limits.append(start + interval_s - CALL_BUDGET_S)
    return _SweepWindow(stop_at=min(limits) if limits else None, scheduled_at=scheduled_at)


class _OutOfTime(Exception):
    """Raised instead of starting an API call once the sweep's time is up."""


class _TimedBatch:
    """The Batch client as a sweep sees it: no call starts at or after ``stop_at``.

    Every call that does start has ``CALL_BUDGET_S`` left, its worst case, so the invocation returns
    before Lambda's deadline and before the next sweep. Stopping between two calls is always safe: the
    watchdog acts only through its last call (TerminateJob), and everything else is re-read next time.
    """

    def __init__(self, batch: Any, stop_at: float | None, clock: Callable[[], float]) -> None:
        self._batch, self._stop_at, self._clock = batch, stop_at, clock

    def _start(self) -> None:
        if self._stop_at is not None and self._clock() >= self._stop_at:
            raise _OutOfTime

    def list_jobs(self, **params: Any) -> Any:
        self._start()
        return self._batch.list_jobs(**params)

    def describe_jobs(self, **params: Any) -> Any:
        self._start()
        return self._batch.describe_jobs(**params)

    def terminate_job(self, **params: Any) -> Any:
        self._start()
        return self._batch.terminate_job(**params)


def _sweep(batch: Any, job_queue: str, window: _SweepWindow, clock: Callable[[], float]) -> list[dict[str, Any]]:
    """Check every RUNNING MNP job of the queue; terminate those with a FAILED child node.

    Stops (one ``sweep_stopped`` line, no error) at ``window.stop_at``, so the invocation ends before
    Lambda's deadline and before the next sweep begins.
    """
    if window.stop_at is not None and clock() >= window.stop_at:
        # A late start (Lambda's retry of a failed sweep, say): the next scheduled sweep covers the queue.
        return [_log({"decision": "sweep_stopped", "source": "sweep", "code": "window_passed", "checked_jobs": 0})]
    timed = _TimedBatch(batch, window.stop_at, clock)
    decisions: list[dict[str, Any]] = []
    parents: list[dict[str, Any]] = []
    checked = 0
    try:
        running = [
            s["jobId"] for s in _list_jobs(timed, jobQueue=job_queue, jobStatus="RUNNING") if "#" not in s["jobId"]
        ]
        parents = [
            p for p in _describe(timed, running) if isinstance((p.get("nodeProperties") or {}).get("numNodes"), int)
        ]
        if parents:
            # Start at a different job each sweep, so that a queue too large for one sweep is covered over several.
            turn = int((window.scheduled_at if window.scheduled_at is not None else clock()) // 60) % len(parents)
            parents = parents[turn:] + parents[:turn]
        for parent in parents:
            # Only a parent that could be terminated gets its nodes read, and only its FAILED ones: one
            # ListJobs call for a healthy job of any size (describing all nodes cost ten calls per 1,000).
            nodes = [] if _parent_skip(parent, job_queue) else _describe(timed, _failed_node_ids(timed, parent))
            decisions.append(_decide(timed, job_queue, parent, nodes, source="sweep", event_node=None))
            checked += 1
    except _OutOfTime:
        decisions.append(
            _log(
                {
                    "decision": "sweep_stopped",
                    "source": "sweep",
                    "code": "out_of_time",
                    "checked_jobs": checked,
                    "unchecked_jobs": len(parents) - checked,
                }
            )
        )
        return decisions
    decisions.append(_log({"decision": "sweep_done", "source": "sweep", "running_jobs": len(running)}))
    return decisions


def _list_jobs(batch: Any, **params: Any) -> Iterator[dict[str, Any]]:
    """Every job summary ListJobs returns for ``params``, page by page (one guarded call per page)."""
    token: str | None = None
    while True:
        page = batch.list_jobs(**params, **({"nextToken": token} if token else {}))
        yield from page.get("jobSummaryList", [])
        token = page.get("nextToken")
        if not token:
            return


def _failed_node_ids(batch: Any, parent: Mapping[str, Any]) -> list[str]:
    """The node jobs of ``parent`` that ListJobs reports FAILED ("A multi-node parallel job ID to return a
    list of nodes for that job", filtered "by job status with the jobStatus parameter"; Batch API
    reference, ListJobs). The status is checked again here, in case a listing returns other states."""
    summaries = _list_jobs(batch, multiNodeJobId=parent["jobId"], jobStatus="FAILED")
    return [s["jobId"] for s in summaries if s.get("status") == "FAILED"]


# --- the one decision ------------------------------------------------------------------------------


def _parent_skip(parent: Mapping[str, Any], job_queue: str) -> dict[str, Any] | None:
    """Why ``parent`` must not be terminated whatever its nodes say, or ``None``."""
    if parent.get("jobQueue") != job_queue:
        return {"code": "other_queue", "job_queue": parent.get("jobQueue")}
    status = parent.get("status")
    if status in ENDED:
        return {"code": "parent_already_ended", "parent_status": status}
    if status != "RUNNING":
        # Children are launched only once the main node runs; a parent that is not RUNNING is between
        # two attempts (a retry) or has not launched its children: a FAILED node belongs to the past.
        return {"code": "parent_not_running", "parent_status": status}
    return None


def _node_skip(node: Mapping[str, Any], parent: Mapping[str, Any]) -> str | None:
    """Why a (freshly described) node's state does not justify terminating ``parent``, or ``None``."""
    if node.get("status") != "FAILED":
        return "node_not_failed"
    index = _node_index(node)
    if index is None or index == (parent.get("nodeProperties") or {}).get("mainNode"):
        return "main_node_left_to_batch"
    if (node.get("nodeDetails") or {}).get("isMainNode") is True:
        return "main_node_left_to_batch"
    stopped = node.get("stoppedAt")
    if isinstance(stopped, int):
        # A retried MNP job reuses its node jobs ("each new attempt ... updates its associated child
        # nodes' corresponding attempt"): a node that stopped before the parent's current attempt began
        # failed in an earlier attempt, which Batch has already dealt with.
        finished = [a.get("stoppedAt") for a in parent.get("attempts") or []]
        previous_stop = max((t for t in finished if isinstance(t, int)), default=None)
        if previous_stop is not None and stopped <= previous_stop:
            return "failure_from_earlier_attempt"
        started = parent.get("startedAt")
        if isinstance(started, int) and stopped < started:
            return "failure_from_earlier_attempt"
    return None


def _decide(
    batch: Any,
    job_queue: str,
    parent: Mapping[str, Any],
    nodes: Sequence[Mapping[str, Any]],
    *,
    source: str,
    event_node: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Terminate ``parent`` if one of ``nodes`` is a child that FAILED in the parent's current attempt.

    Both paths end here, so the main-node check below protects the event and the sweep alike.
    """
    base: dict[str, Any] = {"source": source, "parent_job_id": parent["jobId"]}
    if event_node is not None:
        base.update(_ids(event_node))
    parent_skip = _parent_skip(parent, job_queue)
    if parent_skip is not None:
        return _log({**base, "decision": "skip", **parent_skip})
    if event_node is not None and not nodes:
        return _log({**base, "decision": "skip", "code": "node_not_found"})
    failed: list[tuple[int, Mapping[str, Any]]] = []
    skipped: list[dict[str, Any]] = []
    for node in nodes:
        code = _node_skip(node, parent)
        if code is None:
            failed.append((_node_index(node) or 0, node))
        elif code != "node_not_failed" or event_node is not None:
            skipped.append({"node_job_id": node.get("jobId"), "code": code, "node_status": node.get("status")})
    if not failed:
        code = skipped[0]["code"] if event_node is not None and skipped else "no_failed_child"
        return _log({**base, "decision": "skip", "code": code, "nodes_skipped": skipped})
    failed.sort(key=lambda pair: pair[0])
    index, node = failed[0]
    # Checked last, as one extra DescribeJobs call made only when a terminate is otherwise due.
    main_skip = _main_node_skip(batch, parent)
    if main_skip is not None:
        return _log(
            {
                **base,
                "decision": "skip",
                **main_skip,
                "node_index": index,
                "node_job_id": node.get("jobId"),
                "failed_nodes": len(failed),
            }
        )
    reason = _reason(index, node, others=len(failed) - 1)
    batch.terminate_job(jobId=parent["jobId"], reason=reason)
    return _log(
        {
            **base,
            "decision": "terminate",
            "code": "child_failed",
            "node_index": index,
            "node_job_id": node.get("jobId"),
            "reason": reason,
        }
    )


def _main_node_skip(batch: Any, parent: Mapping[str, Any]) -> dict[str, Any] | None:
    """Why ``parent`` must not be terminated given its main node's state **now**, or ``None``.

    When the main node exits, Batch stops the child nodes and finishes the job from the main node's
    result. A stopped child can read FAILED while the parent still reads RUNNING; terminating then could
    turn a job whose main node SUCCEEDED into a FAILED one. The parent's own status lags, so the main
    node job ``JOB_ID#<mainNode>`` is described afresh. No documented ``statusReason`` text identifies a
    child that Batch stopped because the main node exited (none found in the Batch user guide or API
    reference), so the decision rests on the main node's status, never on matching a reason string.

    A status that cannot be read (no ``mainNode``, the node job not returned, no ``status``) is
    ``main_node_unknown``: the watchdog never terminates on a guess, and the next sweep looks again.
    An AWS API error is not swallowed here: it propagates to :func:`handle`, which logs and re-raises it.
    """
    main_index = (parent.get("nodeProperties") or {}).get("mainNode")
    if not isinstance(main_index, int) or isinstance(main_index, bool):
        return {"code": "main_node_unknown", "main_node_job_id": None, "main_node_status": None}
    main_id = f"{parent['jobId']}#{main_index}"
    found = [job for job in _describe(batch, [main_id]) if job.get("jobId") == main_id]
    status = found[0].get("status") if found else None
    if not isinstance(status, str) or not status:
        return {"code": "main_node_unknown", "main_node_job_id": main_id, "main_node_status": None}
    if status in ENDED:
        return {"code": "main_node_ended", "main_node_job_id": main_id, "main_node_status": status}
    if status not in MAIN_NODE_ACTIVE:
        # SUBMITTED/PENDING/RUNNABLE: the main node is waiting for a new attempt; its children are not
        # launched until it runs, so a FAILED child belongs to an attempt that is over.
        return {"code": "main_node_not_running", "main_node_job_id": main_id, "main_node_status": status}
    return None


# --- helpers ---------------------------------------------------------------------------------------


def _reason(index: int, node: Mapping[str, Any], *, others: int) -> str:
    node_reason = node.get("statusReason") or "no status reason"
    exit_code = (node.get("container") or {}).get("exitCode")
    more = f" (+{others} more failed node{'s' if others > 1 else ''})" if others else ""
    code = f" (exit code {exit_code})" if exit_code is not None else ""
    text = f"{REASON_PREFIX}: child node {index} ({node.get('jobId')}) FAILED{code}{more}: {node_reason}"
    return text if len(text) <= MAX_REASON_LENGTH else text[: MAX_REASON_LENGTH - 3] + "..."


def _node_index(node: Mapping[str, Any]) -> int | None:
    index = (node.get("nodeDetails") or {}).get("nodeIndex")
    if isinstance(index, int):
        return index
    _, sep, text = str(node.get("jobId", "")).partition("#")
    return int(text) if sep and text.isdigit() else None


def _describe(batch: Any, job_ids: Iterable[str]) -> list[dict[str, Any]]:
    ids = list(dict.fromkeys(job_ids))
    jobs: list[dict[str, Any]] = []
    for start in range(0, len(ids), DESCRIBE_BATCH):
        jobs.extend(batch.describe_jobs(jobs=ids[start : start + DESCRIBE_BATCH]).get("jobs", []))
    return jobs


def _is_queue_arn(value: str) -> bool:
    parts = value.split(":", 5)
    return len(parts) == 6 and parts[0] == "arn" and parts[2] == "batch" and parts[5].startswith("job-queue/")


def _ids(node: Mapping[str, Any]) -> dict[str, Any]:
    return {"parent_job_id": node["parent_id"], "node_job_id": node["job_id"], "node_index": node["index"]}


def _log(record: dict[str, Any]) -> dict[str, Any]:
    print(json.dumps({"watchdog": "decision", **record}, default=str, sort_keys=True), file=sys.stdout, flush=True)
    return record
