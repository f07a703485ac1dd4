"""`mnp status JOB_ID`: one AWS Batch job and, for a multi-node parallel (MNP) job, every node.

AWS Batch returns an MNP job as a *parent* whose ``nodeProperties.numNodes`` says how many nodes it
has; each node is a job of its own with the id ``JOB_ID#N`` (``nodeDetails`` holds its index and
whether it is the main node). Node details therefore need DescribeJobs calls for ``JOB_ID#0`` ..
``JOB_ID#(N-1)``, at most 100 ids a call (the API's limit). A node job that DescribeJobs does not
return has not been created yet (child nodes start only once the main node runs).

Exit codes (also used by ``mnp submit --wait``): 0 the job succeeded or has not ended, 1 the job
FAILED, 2 usage or AWS error.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from mnp_toolkit.core.limits import MAX_DESCRIBE_JOBS
from mnp_toolkit.core.target_nodes import compact
from mnp_toolkit.errors import UserError
from mnp_toolkit.ops.aws import (
    EXIT_AWS_ERROR,
    AwsUnexpectedResponse,
    aws_errors,
    client_region,
    one_line,
    shown,
)

#: DescribeJobs accepts at most this many job ids per call.
DESCRIBE_JOBS_BATCH = MAX_DESCRIBE_JOBS

#: Job statuses after which nothing changes any more.
TERMINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED"})

EXIT_OK = 0
EXIT_JOB_FAILED = 1

DEFAULT_INTERVAL_SECONDS = 15.0
#: Seconds between polls of a followed job: at least 1 (the Batch API is shared by the whole account),
#: at most an hour (a longer wait is a cron job's; and time.sleep overflows on `inf` or 1e300).
MIN_INTERVAL_SECONDS = 1.0
MAX_INTERVAL_SECONDS = 3600.0
#: Longer than any job id AWS Batch makes (a UUID, then ``#N`` or ``:N``): what a typo or a paste is not.
MAX_JOB_ID_CHARS = 256


def interval_problem(interval: float) -> str | None:
    """Why `interval` cannot be the seconds between polls, or None when it can (NaN and inf cannot)."""
    if not MIN_INTERVAL_SECONDS <= interval <= MAX_INTERVAL_SECONDS:
        return f"the interval must be {MIN_INTERVAL_SECONDS:g} to {MAX_INTERVAL_SECONDS:g} seconds"
    return None


def check_job_id(job_id: str) -> str:
    """The job id without surrounding whitespace; a UserError when it cannot be one (empty, has spaces or
    control characters inside, absurdly long), before any AWS call and before it is printed anywhere."""
    stripped = job_id.strip()
    if not stripped:
        raise UserError("JOB_ID is empty: pass the id that `mnp submit` printed", EXIT_AWS_ERROR)
    if not stripped.isprintable() or any(char.isspace() for char in stripped):
        raise UserError(
            f"JOB_ID {shown(stripped)} has spaces or control characters inside: pass the id that `mnp submit` "
            "printed (one word, such as 4c0d1f7e-1111-2222-3333-444455556666)",
            EXIT_AWS_ERROR,
        )
    if len(stripped) > MAX_JOB_ID_CHARS:
        raise UserError(
            f"JOB_ID is {len(stripped)} characters long, and an AWS Batch job id is a UUID (36), perhaps with "
            "#N: pass the id that `mnp submit` printed",
            EXIT_AWS_ERROR,
        )
    return stripped


# Shown as a node's status when DescribeJobs did not return the node job.
NOT_CREATED = "NOT_CREATED"


@dataclass(frozen=True, kw_only=True)
class NodeStatus:
    """One node of an MNP job, as DescribeJobs reports the node job ``JOB_ID#index``."""

    index: int
    job_id: str
    is_main: bool
    status: str  # NOT_CREATED when DescribeJobs did not return the node job
    reason: str | None = None
    exit_code: int | None = None
    started_at: datetime | None = None
    stopped_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "jobId": self.job_id,
            "role": "main" if self.is_main else "child",
            "status": self.status,
            "reason": self.reason,
            "exitCode": self.exit_code,
            "startedAt": _iso(self.started_at),
            "stoppedAt": _iso(self.stopped_at),
        }


@dataclass(frozen=True, kw_only=True)
class JobStatus:
    """A job as shown by `mnp status`: the job itself and, for an MNP parent, its nodes."""

    job_id: str
    job_name: str
    job_queue: str
    job_definition: str
    status: str
    reason: str | None = None
    exit_code: int | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    num_nodes: int | None = None  # None: not an MNP parent
    main_node: int | None = None
    node_of: str | None = None  # set when the job itself is a node job (JOB_ID#N)
    node_index: int | None = None
    nodes: tuple[NodeStatus, ...] = field(default_factory=tuple)

    @property
    def is_mnp(self) -> bool:
        return self.num_nodes is not None

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def exit_status(self) -> int:
        """The `mnp` exit code for this job: 1 when it FAILED, else 0."""
        return EXIT_JOB_FAILED if self.status == "FAILED" else EXIT_OK

    def node_counts(self) -> Counter[str]:
        return Counter(node.status for node in self.nodes)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "jobId": self.job_id,
            "jobName": self.job_name,
            "jobQueue": self.job_queue,
            "jobDefinition": self.job_definition,
            "status": self.status,
            "reason": self.reason,
            "exitCode": self.exit_code,
            "createdAt": _iso(self.created_at),
            "startedAt": _iso(self.started_at),
            "stoppedAt": _iso(self.stopped_at),
            "multiNode": self.is_mnp,
        }
        if self.is_mnp:
            data["numNodes"] = self.num_nodes
            data["mainNode"] = self.main_node
            data["nodes"] = [node.to_dict() for node in self.nodes]
        if self.node_of is not None:
            data["nodeOf"] = self.node_of
            data["nodeIndex"] = self.node_index
        return data


# --------------------------------------------------------------------------- reading DescribeJobs


def _epoch_ms(value: Any) -> datetime | None:
    """DescribeJobs timestamps are epoch milliseconds; 0 or absent means "not yet"."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _last_attempt(detail: Mapping[str, Any]) -> Mapping[str, Any]:
    attempts = detail.get("attempts") or []
    return attempts[-1] if attempts else {}


def _exit_code(detail: Mapping[str, Any]) -> int | None:
    """The container's exit code: ``container.exitCode``, else that of the last attempt."""
    code = (detail.get("container") or {}).get("exitCode")
    if code is None:
        code = (_last_attempt(detail).get("container") or {}).get("exitCode")
    return code if isinstance(code, int) else None


def _reason(detail: Mapping[str, Any]) -> str | None:
    """Why the job is where it is: ``statusReason`` plus the container's reason when it adds something
    (e.g. "Essential container in task exited; OutOfMemoryError: Container killed ..."); without
    either, the last attempt's reasons."""
    attempt = _last_attempt(detail)
    reasons: list[str] = []
    for group in (
        (detail.get("statusReason"), (detail.get("container") or {}).get("reason")),
        (attempt.get("statusReason"), (attempt.get("container") or {}).get("reason")),
    ):
        for candidate in group:
            if isinstance(candidate, str) and candidate.strip():
                # A TerminateJob reason is free text: no newline or terminal escape reaches the table.
                text = one_line(" ".join(candidate.split()))
                if text not in reasons:
                    reasons.append(text)
        if reasons:
            break
    return "; ".join(reasons) or None


def iter_node_ids(job_id: str, num_nodes: int) -> Iterable[str]:
    """The node job ids of an MNP job: ``JOB_ID#0`` .. ``JOB_ID#(num_nodes-1)``."""
    return (f"{job_id}#{index}" for index in range(num_nodes))


def describe_jobs_batched(client: Any, job_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """DescribeJobs for any number of ids, 100 a call; returns the details found, by job id.

    Ids that AWS does not know are simply absent from the result (DescribeJobs does not fail on
    them).
    """
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(job_ids), DESCRIBE_JOBS_BATCH):
        chunk = list(job_ids[start : start + DESCRIBE_JOBS_BATCH])
        response = client.describe_jobs(jobs=chunk)
        jobs = response.get("jobs")
        # AWS always answers with a job list, empty for unknown ids: without one, the answer is not
        # AWS's, and "job not found" would be a lie.
        if not isinstance(jobs, list) or not all(isinstance(d, dict) and isinstance(d.get("jobId"), str) for d in jobs):
            raise AwsUnexpectedResponse("the endpoint answered DescribeJobs without a list of jobs with ids")
        for detail in jobs:
            found[detail["jobId"]] = detail
    return found


def _node_status(*, index: int, job_id: str, main_node: int | None, detail: Mapping[str, Any] | None) -> NodeStatus:
    if detail is None:
        return NodeStatus(index=index, job_id=job_id, is_main=index == main_node, status=NOT_CREATED)
    node_details = detail.get("nodeDetails") or {}
    is_main = node_details.get("isMainNode")
    return NodeStatus(
        index=index,
        job_id=job_id,
        is_main=bool(is_main) if is_main is not None else index == main_node,
        status=str(detail.get("status", "UNKNOWN")),
        reason=_reason(detail),
        exit_code=_exit_code(detail),
        started_at=_epoch_ms(detail.get("startedAt")),
        stopped_at=_epoch_ms(detail.get("stoppedAt")),
    )


def job_status_from_details(
    parent: Mapping[str, Any], nodes_by_id: Mapping[str, Mapping[str, Any]] | None = None
) -> JobStatus:
    """Build a :class:`JobStatus` from the parent's DescribeJobs entry and its node jobs' entries."""
    job_id = str(parent["jobId"])
    node_properties = parent.get("nodeProperties") or {}
    node_details = parent.get("nodeDetails") or {}
    base: dict[str, Any] = {
        "job_id": job_id,
        "job_name": one_line(parent.get("jobName", "")),
        "job_queue": one_line(parent.get("jobQueue", "")),
        "job_definition": one_line(parent.get("jobDefinition", "")),
        "status": one_line(parent.get("status", "UNKNOWN")),
        "reason": _reason(parent),
        "exit_code": _exit_code(parent),
        "created_at": _epoch_ms(parent.get("createdAt")),
        "started_at": _epoch_ms(parent.get("startedAt")),
        "stopped_at": _epoch_ms(parent.get("stoppedAt")),
    }
    if node_details or "#" in job_id:
        # A node job shown on its own.
        index = node_details.get("nodeIndex")
        if index is None and job_id.rpartition("#")[2].isdigit():
            index = int(job_id.rpartition("#")[2])
        return JobStatus(**base, node_of=job_id.partition("#")[0], node_index=index)
    num_nodes = node_properties.get("numNodes")
    if not isinstance(num_nodes, int):
        return JobStatus(**base)
    main_node = node_properties.get("mainNode")
    main_node = main_node if isinstance(main_node, int) else None
    nodes_by_id = nodes_by_id or {}
    nodes = tuple(
        _node_status(
            index=index,
            job_id=f"{job_id}#{index}",
            main_node=main_node,
            detail=nodes_by_id.get(f"{job_id}#{index}"),
        )
        for index in range(num_nodes)
    )
    return JobStatus(**base, num_nodes=num_nodes, main_node=main_node, nodes=nodes)


def describe_job_details(client: Any, *, job_id: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The job's DescribeJobs entry and, for an MNP parent, its node jobs' entries by id (batched, 100 a call;
    a node job not created yet is absent). `mnp status` and `mnp logs` read a job this one way.

    Raises :class:`UserError` (exit 2) when the job does not exist or AWS fails.
    """
    job_id = check_job_id(job_id)
    region = client_region(client)
    with aws_errors(action=f"describe job {job_id}", service="batch", region=region):
        found = describe_jobs_batched(client, [job_id])
        parent = found.get(job_id)
        if parent is None:
            raise UserError(
                f"job {job_id} not found in {region}: check the id (a node's id is JOB_ID#N) and "
                "--region; AWS Batch forgets finished jobs after a while",
                EXIT_AWS_ERROR,
            )
        status = job_status_from_details(parent)
        if not status.is_mnp or not status.num_nodes:
            return parent, {}
        return parent, describe_jobs_batched(client, list(iter_node_ids(job_id, status.num_nodes)))


def fetch_job_status(client: Any, *, job_id: str) -> JobStatus:
    """DescribeJobs the job and, for an MNP parent, its ``numNodes`` node jobs (batched).

    Raises :class:`UserError` (exit 2) when the job does not exist or AWS fails.
    """
    parent, nodes_by_id = describe_job_details(client, job_id=job_id)
    return job_status_from_details(parent, nodes_by_id)


# --------------------------------------------------------------------------------------- rendering


def _short_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%SZ") if value else "-"


def _cell(value: object) -> str:
    return "-" if value is None or value == "" else str(value)


def summarize_nodes(status: JobStatus) -> str:
    """ "2 RUNNING, 1 STARTING, 1 not created" (most advanced states first)."""
    order = ["FAILED", "SUCCEEDED", "RUNNING", "STARTING", "RUNNABLE", "PENDING", "SUBMITTED"]
    counts = status.node_counts()
    parts = [f"{counts[name]} {name}" for name in order if counts.get(name)]
    parts += [f"{count} {name}" for name, count in sorted(counts.items()) if name not in order and name != NOT_CREATED]
    if counts.get(NOT_CREATED):
        parts.append(f"{counts[NOT_CREATED]} not created yet")
    return ", ".join(parts) if parts else "no nodes"


def render_progress_line(status: JobStatus, *, now: datetime | None = None) -> str:
    """One line for a progress display: time, job id, status, node counts."""
    stamp = (now or datetime.now(tz=UTC)).strftime("%H:%M:%SZ")
    line = f"{stamp}  {status.job_id}  {status.status}"
    if status.is_mnp:
        line += f"  nodes: {summarize_nodes(status)}"
    if status.finished and status.reason:
        line += f"  ({status.reason})"
    return line


def render_text(status: JobStatus) -> str:
    """The human-readable view: job header and, for an MNP job, a table of nodes."""
    lines: list[str] = []
    kind = "single-node job"
    if status.is_mnp:
        main = f", main node {status.main_node}" if status.main_node is not None else ""
        kind = f"multi-node parallel job, {status.num_nodes} nodes{main}"
    elif status.node_of is not None:
        kind = f"node {_cell(status.node_index)} of multi-node parallel job {status.node_of}"
    lines.append(f"Job         {status.job_id}  ({status.job_name})  {kind}")
    lines.append(f"Status      {status.status}" + (f"  {status.reason}" if status.reason else ""))
    if status.exit_code is not None:
        lines.append(f"Exit code   {status.exit_code}")
    lines.append(f"Queue       {status.job_queue}")
    lines.append(f"Definition  {status.job_definition}")
    lines.append(f"Started     {_short_time(status.started_at)}")
    lines.append(f"Stopped     {_short_time(status.stopped_at)}")
    if status.is_mnp:
        lines.append("")
        header = ("NODE", "ROLE", "STATUS", "EXIT", "STARTED", "STOPPED", "REASON")
        rows = [
            (
                str(node.index),
                "main" if node.is_main else "child",
                "not created" if node.status == NOT_CREATED else node.status,
                _cell(node.exit_code),
                _short_time(node.started_at),
                _short_time(node.stopped_at),
                _cell(node.reason),
            )
            for node in status.nodes
        ]
        widths = [max(len(row[col]) for row in [header, *rows]) for col in range(len(header) - 1)]
        for row in [header, *rows]:
            cells = [value.ljust(widths[col]) for col, value in enumerate(row[:-1])]
            lines.append("  ".join([*cells, row[-1]]).rstrip())
        lines.append("")
        lines.append(f"Nodes       {summarize_nodes(status)}")
        if status.nodes and status.node_counts().get(NOT_CREATED):
            lines.append(
                "            (a node job not created yet starts after the main node runs, or never if "
                "the job ended first)"
            )
    return "\n".join(lines)


def render_json(status: JobStatus, *, compact: bool = False) -> str:
    """The machine-readable view (one JSON object; compact for JSON Lines in --watch)."""
    if compact:
        return json.dumps(status.to_dict(), separators=(",", ":"))
    return json.dumps(status.to_dict(), indent=2)


# ---------------------------------------------------------------------------------------- watching


def watch_job(
    client: Any,
    *,
    job_id: str,
    interval: float,
    on_update: Callable[[JobStatus], None],
    sleep: Callable[[float], None] = time.sleep,
) -> JobStatus:
    """Poll the job every ``interval`` seconds, calling ``on_update`` each time, until it ends."""
    problem = interval_problem(interval)
    if problem is not None:
        raise UserError(f"interval {interval!r}: {problem}", EXIT_AWS_ERROR)
    while True:
        status = fetch_job_status(client, job_id=job_id)
        on_update(status)
        if status.finished:
            return status
        sleep(interval)


def _print(text: str, *, out: TextIO) -> None:
    print(text, file=out, flush=True)


def _state(status: str) -> str:
    return "not created" if status == NOT_CREATED else status


def _ended_detail(exit_code: int | None, reason: str | None) -> str:
    parts = ([f"exit {exit_code}"] if exit_code is not None else []) + ([reason] if reason else [])
    return f"  ({'; '.join(parts)})" if parts else ""


def render_transitions(previous: JobStatus, current: JobStatus, *, now: datetime | None = None) -> list[str]:
    """One line per change from ``previous`` to ``current``: nodes that moved the same way (same states, and
    for an ended node the same exit code and reason) share a line (``nodes 1-3, 7  STARTING -> RUNNING``), in
    node order; then the job's own change. A node that ends shows its exit code and reason."""
    stamp = (now or datetime.now(tz=UTC)).strftime("%H:%M:%SZ")
    before = {node.index: node.status for node in previous.nodes}
    moved: dict[tuple[str, str, str], list[NodeStatus]] = {}
    for node in current.nodes:
        old = before.get(node.index, NOT_CREATED)
        if old == node.status:
            continue
        detail = _ended_detail(node.exit_code, node.reason) if node.status in TERMINAL_STATUSES else ""
        moved.setdefault((old, node.status, detail), []).append(node)
    lines: list[str] = []
    for (old, new, detail), nodes in sorted(moved.items(), key=lambda item: item[1][0].index):
        indexes = [node.index for node in nodes]
        who = f"node {indexes[0]}" if len(indexes) == 1 else f"nodes {compact(indexes)}"
        main = [node.index for node in nodes if node.is_main]
        if main:
            who += " (main)" if len(indexes) == 1 else f" (main {main[0]})"
        lines.append(f"{stamp}  {who}  {_state(old)} -> {_state(new)}{detail}")
    if previous.status != current.status:
        detail = f"  ({current.reason})" if current.finished and current.reason else ""
        lines.append(f"{stamp}  job  {previous.status} -> {current.status}{detail}")
    return lines


def run_status(
    client: Any,
    *,
    job_id: str,
    output_format: str = "text",
    watch: bool = False,
    interval: float = DEFAULT_INTERVAL_SECONDS,
    out: TextIO | None = None,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], datetime] | None = None,
) -> int:
    """The body of `mnp status`; returns the exit code (0 ok / still running, 1 FAILED).

    ``--watch`` in text prints the table once, then one line per change as the nodes and the job move
    through their states (:func:`render_transitions`), then the final table; in JSON, one document a poll.
    """
    stream = out if out is not None else sys.stdout
    if not watch:
        status = fetch_job_status(client, job_id=job_id)
        _print(render_json(status) if output_format == "json" else render_text(status), out=stream)
        return status.exit_status

    seen: list[JobStatus] = []

    def show(status: JobStatus) -> None:
        if output_format == "json":
            _print(render_json(status, compact=True), out=stream)
            return
        if not seen:
            _print(render_text(status), out=stream)
            if not status.finished:
                _print("", out=stream)
        else:
            for line in render_transitions(seen[0], status, now=now() if now else None):
                _print(line, out=stream)
            if status.finished:
                _print("", out=stream)
                _print(render_text(status), out=stream)
        seen[:] = [status]

    final = watch_job(client, job_id=job_id, interval=interval, on_update=show, sleep=sleep)
    return final.exit_status
