"""`mnp logs JOB_ID`: the output of every node of a job, read from CloudWatch Logs and merged in time order.

**Where a node's output is.** "By default, AWS Batch enables the awslogs log driver to send log information
to CloudWatch Logs"; the job definition's ``awslogs-group`` option names the group, "if not specified, then
/aws/batch/job is used", and ``awslogs-region`` may send it to another Region (user guide, "Use the awslogs
log driver", https://docs.aws.amazon.com/batch/latest/userguide/using_awslogs.html). Each node job's
DescribeJobs entry names its stream: ``container.logStreamName`` ("Each container attempt receives a log
stream name when they reach the RUNNING status", API ``ContainerDetail``), and each ended attempt's
``attempts[].container.logStreamName``. The group and Region come from the node's
``container.logConfiguration``, else from the container of the node range that applies to the node in the
parent's ``nodeProperties`` (:mod:`mnp_toolkit.core.node_groups`: the innermost range), else the default.
Nothing is guessed from names, so the same code reads AWS and the emulated AWS of ``mnp_local`` alike.

**Reading a stream.** GetLogEvents with ``startFromHead`` (required when paging forward), following
``nextForwardToken`` until the token passed in comes back: "If you have reached the end of the stream, it
returns the same token you passed in", and "partially full or empty pages don't necessarily mean that
pagination is finished" (API reference, GetLogEvents). The last token is kept, so a followed stream is read
on from where it was, with nothing printed twice. Without ``--follow`` the read ends at ``endTime`` (the
command's start, plus :data:`END_TIME_MARGIN_MS`), so a node that keeps writing cannot keep it going. A
stream (or Batch's group) that does not exist yet, for a node that has not started, is no output, not an
error.

**Merging.** Lines of all streams are merged by their event timestamps (equal timestamps: lower node first;
one stream keeps its own order), each prefixed with its node index (``3 | ...``; ``3 (attempt 2) | ...`` for
a later attempt's stream); the prefix is coloured only when the output is a terminal and ``NO_COLOR`` is not
set (https://no-color.org). Log text is escaped as the other commands escape endpoint text (``\\x1b``,
``\\r``; a multi-line event becomes several prefixed lines, tabs stay), so a node cannot move the cursor,
recolour the terminal or forge another node's line. Without ``--follow`` the streams are read lazily, one
page each at a time, so a large log is not held in memory.

**Following.** ``--follow`` polls while the job runs: DescribeJobs (for new nodes, attempts and states), then
every stream not yet done, at most :data:`FOLLOW_PAGES_PER_POLL` pages each a poll. Lines are merged in time
order within each poll (a line that reaches CloudWatch Logs late is printed when it arrives). Quiet polls
back off: the wait starts at 1 s and doubles up to ``--interval``; new lines bring it back to 1 s. A stream
is done once its attempt or node has ended and a read after that found nothing new; the command ends when
the job and every node have ended and every stream is done (drained). GetLogEvents has an account-wide rate
quota, so ended streams are not read again and throttling is retried by the clients' standard retries.

Exit codes as ``mnp status``: 0 the job succeeded or has not ended, 1 it FAILED, 2 usage or AWS error.
"""

from __future__ import annotations

import heapq
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from mnp_toolkit.core.node_groups import NodeGroupsError, node_container, node_groups
from mnp_toolkit.core.target_nodes import compact
from mnp_toolkit.errors import UserError
from mnp_toolkit.ops.aws import (
    EXIT_AWS_ERROR,
    AwsUnexpectedResponse,
    aws_exception_types,
    client_region,
    describe_aws_error,
    error_code,
    one_line,
)
from mnp_toolkit.ops.status import (
    DEFAULT_INTERVAL_SECONDS,
    MIN_INTERVAL_SECONDS,
    TERMINAL_STATUSES,
    check_job_id,
    describe_job_details,
    interval_problem,
    job_status_from_details,
)

#: Batch's log group when the job definition names none (user guide, "Use the awslogs log driver").
DEFAULT_LOG_GROUP = "/aws/batch/job"
AWSLOGS = "awslogs"
#: Pages read from one stream in one poll of ``--follow``; the rest is read in the next poll, at once.
FOLLOW_PAGES_PER_POLL = 10
#: Empty pages in a row (each with a new token) after which a stream's read gives up: AWS may answer empty
#: pages before more events, but an endpoint that never stops doing so must not hold the command for ever.
MAX_EMPTY_PAGES = 1000
#: About this many events are buffered across all streams while merging (each stream reads pages of
#: ``max(100, EVENT_BUDGET // streams)`` events, GetLogEvents' ``limit``, at most its maximum of 10,000).
EVENT_BUDGET = 100_000
MAX_PAGE_EVENTS = 10_000
#: Without --follow, events up to this long after the command started are read (a node's clock may run ahead).
END_TIME_MARGIN_MS = 60_000

_COLOURS = (36, 33, 32, 35, 34, 96, 93, 92, 95, 94)
_RESET = "\x1b[0m"

Note = Callable[[str], None]
LogsClientFor = Callable[[str | None], Any]


@dataclass(frozen=True)
class StreamSpec:
    """One log stream of a job: a node's attempt (``node`` None: a job that is not multi-node)."""

    node: int | None
    attempt: int
    group: str
    stream: str
    region: str | None  # None: the Region of the Batch client
    ended: bool  # the attempt (or the node) had ended when DescribeJobs was read

    @property
    def key(self) -> tuple[int, int, str]:
        return (-1 if self.node is None else self.node, self.attempt, self.stream)

    @property
    def label(self) -> str:
        base = "" if self.node is None else str(self.node)
        if self.attempt > 1:
            return f"{base} (attempt {self.attempt})".strip()
        return base


@dataclass(frozen=True)
class JobStreams:
    """What DescribeJobs says about a job's output: its streams and the nodes that have none."""

    streams: tuple[StreamSpec, ...]
    multi_node: bool
    num_nodes: int
    ended: bool  # the job and every selected node have ended
    exit_status: int
    not_started: tuple[int, ...] = ()  # nodes without a stream yet (not running yet, or never ran)
    never_ran: tuple[int, ...] = ()  # nodes that ended without a stream
    other_drivers: tuple[tuple[int | None, str], ...] = ()  # (node, log driver) not writing to CloudWatch


def split_node_id(job_id: str) -> tuple[str, int | None]:
    """``JOB#N`` -> (``JOB``, N); any other id -> (id, None). A node job's id is its parent's plus ``#N``."""
    parent, hash_sign, index = job_id.rpartition("#")
    if hash_sign and parent and index.isascii() and index.isdigit():
        return parent, int(index)
    return job_id, None


def _log_configuration(container: Any) -> Mapping[str, Any] | None:
    if not isinstance(container, Mapping):
        return None
    configuration = container.get("logConfiguration")
    return configuration if isinstance(configuration, Mapping) else None


def log_destination(configuration: Mapping[str, Any] | None) -> tuple[str, str | None, str | None]:
    """(log driver, log group, Region or None) of a container's ``logConfiguration`` (None: Batch's default,
    awslogs to ``/aws/batch/job`` in the job's Region). The group is None for another driver."""
    if configuration is None:
        return AWSLOGS, DEFAULT_LOG_GROUP, None
    driver = str(configuration.get("logDriver") or AWSLOGS)
    if driver != AWSLOGS:
        return driver, None, None
    options = configuration.get("options")
    options = options if isinstance(options, Mapping) else {}
    group = options.get("awslogs-group")
    region = options.get("awslogs-region")
    return (
        driver,
        group if isinstance(group, str) and group else DEFAULT_LOG_GROUP,
        region if isinstance(region, str) and region else None,
    )


def _range_containers(parent: Mapping[str, Any]) -> Callable[[int], Mapping[str, Any] | None]:
    """The container of the node range that applies to each node, from the parent's ``nodeProperties``
    (None when they are missing or do not describe the nodes)."""
    properties = parent.get("nodeProperties")
    try:
        groups = node_groups(properties) if isinstance(properties, Mapping) else None
    except NodeGroupsError:
        groups = None

    def container_of(index: int) -> Mapping[str, Any] | None:
        if groups is None or not isinstance(properties, Mapping):
            return None
        try:
            return node_container(properties, groups, index)
        except (IndexError, KeyError, TypeError):
            return None

    return container_of


def _stream_name(container: Any) -> str | None:
    name = container.get("logStreamName") if isinstance(container, Mapping) else None
    return name if isinstance(name, str) and name else None


def _detail_streams(
    detail: Mapping[str, Any], node: int | None, fallback: Mapping[str, Any] | None
) -> tuple[list[StreamSpec], str | None]:
    """The streams of one job entry (every attempt's, then the running one's) and its log driver when that
    is not awslogs."""
    container = detail.get("container")
    configuration = _log_configuration(container) or _log_configuration(fallback)
    driver, group, region = log_destination(configuration)
    if group is None:
        return [], driver
    ended = str(detail.get("status", "")) in TERMINAL_STATUSES
    streams: list[StreamSpec] = []
    attempts = detail.get("attempts")
    attempts = attempts if isinstance(attempts, list) else []
    current = _stream_name(container)
    for number, attempt in enumerate(attempts, start=1):
        name = _stream_name(attempt.get("container") if isinstance(attempt, Mapping) else None)
        if name is not None and all(spec.stream != name for spec in streams):
            # An earlier attempt is over; the last one may be the running one (the emulator lists it while it
            # runs, and the API does not say), so it is over when the entry has ended or runs another stream.
            over = ended or number < len(attempts) or (current is not None and current != name)
            streams.append(StreamSpec(node=node, attempt=number, group=group, stream=name, region=region, ended=over))
    if current is not None and all(spec.stream != current for spec in streams):
        number = len(attempts) + 1
        streams.append(StreamSpec(node=node, attempt=number, group=group, stream=current, region=region, ended=ended))
    return streams, None


def job_streams(
    parent: Mapping[str, Any], nodes_by_id: Mapping[str, Mapping[str, Any]], *, node: int | None = None
) -> JobStreams:
    """The log streams DescribeJobs names for a job (``parent``) and its node jobs, for every node or only
    ``node``. Raises :class:`UserError` when ``node`` is not a node of the job."""
    status = job_status_from_details(parent, nodes_by_id)
    if not status.is_mnp:
        if node is not None:
            raise UserError(
                f"job {status.job_id} is not a multi-node parallel job, so it has no node {node}: drop --node",
                EXIT_AWS_ERROR,
            )
        own, driver = _detail_streams(parent, None, None)
        return JobStreams(
            streams=tuple(own),
            multi_node=False,
            num_nodes=1,
            ended=status.finished,
            exit_status=status.exit_status,
            other_drivers=((None, driver),) if driver else (),
        )
    num_nodes = status.num_nodes or 0
    if node is not None and not 0 <= node < num_nodes:
        raise UserError(
            f"job {status.job_id} has nodes 0 to {num_nodes - 1}, not node {node}: pass --node 0 to "
            f"{num_nodes - 1}, or no --node for all",
            EXIT_AWS_ERROR,
        )
    range_container = _range_containers(parent)
    selected = [node] if node is not None else list(range(num_nodes))
    streams: list[StreamSpec] = []
    not_started: list[int] = []
    never_ran: list[int] = []
    drivers: list[tuple[int | None, str]] = []
    ended = status.finished
    for index in selected:
        detail = nodes_by_id.get(f"{status.job_id}#{index}")
        node_ended = detail is not None and str(detail.get("status", "")) in TERMINAL_STATUSES
        if detail is None:
            # Not created: it never runs once the job has ended.
            (never_ran if status.finished else not_started).append(index)
            continue
        ended = ended and node_ended
        found, driver = _detail_streams(detail, index, range_container(index))
        if driver is not None:
            drivers.append((index, driver))
        elif not found:
            (never_ran if node_ended else not_started).append(index)
        streams.extend(found)
    return JobStreams(
        streams=tuple(sorted(streams, key=lambda spec: spec.key)),
        multi_node=True,
        num_nodes=num_nodes,
        ended=ended,
        exit_status=status.exit_status,
        not_started=tuple(not_started),
        never_ran=tuple(never_ran),
        other_drivers=tuple(drivers),
    )


# ------------------------------------------------------------------------------------------ reading


@dataclass
class StreamCursor:
    """Where the reading of one stream is: the last forward token, and what the last read found."""

    spec: StreamSpec
    token: str | None = None
    missing: bool = False
    done: bool = False
    more: bool = False  # the last read stopped at the page limit, not at the end


@dataclass(frozen=True, order=True)
class LogLine:
    """One event of one stream, ready to print: ``order`` (the stream's place, by node and attempt) breaks
    timestamp ties, so equal timestamps print lower nodes first."""

    timestamp: int
    order: int
    node: int | None = field(compare=False)
    label: str = field(compare=False)
    message: str = field(compare=False)


def _page_events(response: Any) -> tuple[list[tuple[int, str]], str | None]:
    """(timestamp, message) pairs and the forward token of a GetLogEvents answer, checked."""
    events = response.get("events") if isinstance(response, Mapping) else None
    if not isinstance(events, list):
        raise AwsUnexpectedResponse("the endpoint answered GetLogEvents without a list of events")
    pairs: list[tuple[int, str]] = []
    for event in events:
        stamp = event.get("timestamp") if isinstance(event, Mapping) else None
        if not isinstance(stamp, int) or isinstance(stamp, bool):
            raise AwsUnexpectedResponse("the endpoint answered GetLogEvents with an event without a timestamp")
        message = event.get("message")
        pairs.append((stamp, message if isinstance(message, str) else ""))
    token = response.get("nextForwardToken")
    return pairs, token if isinstance(token, str) and token else None


def read_stream(
    client: Any, cursor: StreamCursor, *, limit: int, max_pages: int | None, end_time_ms: int | None = None
) -> Iterator[tuple[int, str]]:
    """The events of ``cursor``'s stream after its token, page by page, until the token repeats (the end)
    or ``max_pages`` pages were read (``cursor.more``); the cursor advances as pages are read. A stream that
    does not exist is no events (``cursor.missing``). Raises :class:`UserError` for other AWS errors.

    ``end_time_ms``: GetLogEvents' ``endTime``, for a read that must end although the node keeps writing
    ("If you set startFromHead to true and you don't include endTime in your request, you can end up in a
    situation where the pagination doesn't terminate", API reference)."""
    spec = cursor.spec
    cursor.more = False
    pages = empty = 0
    while True:
        request: dict[str, Any] = {
            "logGroupName": spec.group,
            "logStreamName": spec.stream,
            "startFromHead": True,
            "limit": limit,
        }
        if cursor.token is not None:
            request["nextToken"] = cursor.token
        if end_time_ms is not None:
            request["endTime"] = end_time_ms
        try:
            events, token = _page_events(client.get_log_events(**request))
        except aws_exception_types() as error:
            if error_code(error) == "ResourceNotFoundException":
                cursor.missing = True
                return
            what = f"read log stream {spec.stream} of log group {spec.group}"
            raise UserError(
                describe_aws_error(error, action=what, service="logs", region=spec.region or client_region(client)),
                EXIT_AWS_ERROR,
            ) from None
        cursor.missing = False
        pages += 1
        empty = 0 if events else empty + 1
        yield from events
        if token is None or token == cursor.token:
            return  # the same token back: the end of the stream (for now)
        cursor.token = token
        if empty >= MAX_EMPTY_PAGES:
            raise UserError(
                f"could not read log stream {one_line(spec.stream)}: the endpoint answered GetLogEvents with "
                f"{MAX_EMPTY_PAGES} empty pages in a row, each with a new token: try again later",
                EXIT_AWS_ERROR,
            )
        if max_pages is not None and pages >= max_pages:
            cursor.more = True
            return


def escape_message(message: str) -> list[str]:
    """The lines of one log event, each safe to print: control characters shown escaped (``\\x1b``, ``\\r``)
    by :func:`~mnp_toolkit.ops.aws.one_line`, tabs kept, a final newline dropped."""
    text = message[:-1] if message.endswith("\n") else message
    lines = text.split("\n")
    return ["\t".join(one_line(part) for part in line.removesuffix("\r").split("\t")) for line in lines]


def use_colour(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """Colour only for a terminal, without ``NO_COLOR`` (set and not empty, https://no-color.org) or a
    ``TERM=dumb``."""
    environ = os.environ if environ is None else environ
    if environ.get("NO_COLOR") or environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Printer:
    """Prefixes and prints lines: ``<label> | <text>``, labels right-aligned to ``width``."""

    def __init__(self, out: TextIO, *, width: int, colour: bool) -> None:
        self._out = out
        self._width = width
        self._colour = colour

    def prefix(self, label: str, node: int | None) -> str:
        if not label:
            return ""
        text = label.rjust(self._width)
        if self._colour and node is not None:
            text = f"\x1b[{_COLOURS[node % len(_COLOURS)]}m{text}{_RESET}"
        return f"{text} | "

    def print(self, lines: Iterable[LogLine]) -> int:
        count = 0
        for line in lines:
            prefix = self.prefix(line.label, line.node)
            for text in escape_message(line.message):
                self._out.write(f"{prefix}{text}\n")
            count += 1
        self._out.flush()
        return count


def _lines(
    client: Any, cursor: StreamCursor, order: int, *, limit: int, max_pages: int | None, end_time_ms: int | None = None
) -> Iterator[LogLine]:
    label, node = cursor.spec.label, cursor.spec.node
    for stamp, message in read_stream(client, cursor, limit=limit, max_pages=max_pages, end_time_ms=end_time_ms):
        yield LogLine(stamp, order, node, label, message)


# ----------------------------------------------------------------------------------------- the command


def _stderr_note(text: str) -> None:
    print(f"mnp logs: {text}", file=sys.stderr, flush=True)


def _nodes_text(nodes: Iterable[int]) -> str:
    indexes = sorted(nodes)
    return f"node {indexes[0]}" if len(indexes) == 1 else f"nodes {compact(indexes)}"


class _Reader:
    """The job's streams as they appear, each read on from where it was."""

    def __init__(self, logs_client_for: LogsClientFor, default_region: str) -> None:
        self._client_for = logs_client_for
        self._clients: dict[str | None, Any] = {}
        self._default_region = default_region
        self.cursors: dict[tuple[int, int, str], StreamCursor] = {}

    def client(self, region: str | None) -> Any:
        key = None if region in (None, self._default_region) else region
        if key not in self._clients:
            self._clients[key] = self._client_for(key)
        return self._clients[key]

    def update(self, view: JobStreams) -> None:
        for spec in view.streams:
            cursor = self.cursors.get(spec.key)
            if cursor is None:
                self.cursors[spec.key] = StreamCursor(spec)
            elif cursor.spec != spec:
                cursor.spec = spec  # the attempt or node has ended since

    def ordered(self) -> list[StreamCursor]:
        return [self.cursors[key] for key in sorted(self.cursors)]

    def page_limit(self) -> int:
        return max(100, min(MAX_PAGE_EVENTS, EVENT_BUDGET // max(1, len(self.cursors))))


def _label_width(view: JobStreams) -> int:
    return len(str(max(view.num_nodes - 1, 0))) if view.multi_node else 0


def _notes(view: JobStreams, reader: _Reader, note: Note, *, follow: bool) -> None:
    for node, driver in view.other_drivers:
        who = "the job" if node is None else f"node {node}"
        note(
            f"{who} logs with the {one_line(driver)} log driver, which does not write to CloudWatch Logs: "
            "nothing to show"
        )
    missing = [cursor for cursor in reader.ordered() if cursor.missing]
    waiting = sorted({c.spec.node for c in missing if not c.spec.ended and c.spec.node is not None})
    if waiting and not follow:
        note(f"no output yet from {_nodes_text(waiting)}: the log stream DescribeJobs names does not exist yet")
    for cursor in missing:
        spec = cursor.spec
        if not spec.ended:
            continue
        who = "the job" if spec.node is None else f"node {spec.node}"
        region = spec.region or "the job's Region"
        note(
            f"no log stream {one_line(spec.stream)} in log group {one_line(spec.group)} ({one_line(region)}) for "
            f"{who}: it may have expired under the group's retention, or not reached CloudWatch Logs"
        )
    if view.never_ran:
        note(f"no output from {_nodes_text(view.never_ran)}: never ran (the job ended first, or they failed to start)")
    if view.not_started and not follow:
        note(
            f"no output yet from {_nodes_text(view.not_started)}: not running yet (a node's log stream is named "
            "once it runs)"
        )


def run_logs(
    batch_client: Any,
    *,
    logs_client_for: LogsClientFor,
    job_id: str,
    node: int | None = None,
    follow: bool = False,
    interval: float = DEFAULT_INTERVAL_SECONDS,
    out: TextIO | None = None,
    note: Note | None = None,
    colour: bool | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> int:
    """The body of `mnp logs`; returns the exit code (as `mnp status`: 1 when the job FAILED, else 0).

    ``logs_client_for(region)`` gives a CloudWatch Logs client for a Region (None: the Batch client's).
    """
    stream = out if out is not None else sys.stdout
    note = note or _stderr_note
    problem = interval_problem(interval)
    if problem is not None:
        raise UserError(f"interval {interval!r}: {problem}", EXIT_AWS_ERROR)
    parent_id, id_node = split_node_id(check_job_id(job_id))
    if id_node is not None and node is not None and node != id_node:
        raise UserError(f"JOB_ID {job_id} is node {id_node}, but --node is {node}: give one of them", EXIT_AWS_ERROR)
    node = id_node if node is None else node
    if node is not None and node < 0:
        raise UserError(f"--node {node}: a node index is 0 or more", EXIT_AWS_ERROR)
    reader = _Reader(logs_client_for, client_region(batch_client))
    parent, nodes_by_id = describe_job_details(batch_client, job_id=parent_id)
    view = job_streams(parent, nodes_by_id, node=node)
    printer = Printer(stream, width=_label_width(view), colour=use_colour(stream) if colour is None else colour)
    reader.update(view)
    if not follow:
        # What was written until now (and a margin for a node's clock ahead of this one's), so a node that
        # keeps writing cannot keep the read going; --follow is for more.
        end = int(clock() * 1000) + END_TIME_MARGIN_MS
        cursors = reader.ordered()
        limit = reader.page_limit()
        merged = heapq.merge(
            *(
                _lines(reader.client(cursor.spec.region), cursor, order, limit=limit, max_pages=None, end_time_ms=end)
                for order, cursor in enumerate(cursors)
            )
        )
        printer.print(merged)
        _notes(view, reader, note, follow=False)
        return view.exit_status

    wait = MIN_INTERVAL_SECONDS
    while True:
        ended = view.ended
        cursors = [cursor for cursor in reader.ordered() if not cursor.done]
        limit = reader.page_limit()
        batches: list[list[LogLine]] = []
        for order, cursor in enumerate(cursors):
            client = reader.client(cursor.spec.region)
            batches.append(list(_lines(client, cursor, order, limit=limit, max_pages=FOLLOW_PAGES_PER_POLL)))
        printed = printer.print(heapq.merge(*batches))
        for cursor, batch in zip(cursors, batches, strict=True):
            # Done once a read after its end (as DescribeJobs said before the read) found nothing new.
            cursor.done = cursor.spec.ended and not batch and not cursor.more
        if ended and all(cursor.done for cursor in reader.cursors.values()):
            _notes(view, reader, note, follow=True)
            return view.exit_status
        more = any(cursor.more for cursor in cursors)
        if printed or more:
            wait = MIN_INTERVAL_SECONDS
        if not more:  # a stream with more to read is read on at once
            sleep(wait)
        if not printed and not more:
            wait = min(wait * 2, interval)
        parent, nodes_by_id = describe_job_details(batch_client, job_id=parent_id)
        view = job_streams(parent, nodes_by_id, node=node)
        reader.update(view)


__all__ = [
    "DEFAULT_LOG_GROUP",
    "JobStreams",
    "LogLine",
    "StreamCursor",
    "StreamSpec",
    "escape_message",
    "job_streams",
    "log_destination",
    "read_stream",
    "run_logs",
    "split_node_id",
    "use_colour",
]
