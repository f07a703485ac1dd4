"""Tests for `mnp logs` (mnp_toolkit/ops/logs.py).

Each test's docstring names its backend: none for the pure parts (which streams DescribeJobs names, escaping,
colour), botocore Stubber with the documented DescribeJobs and GetLogEvents shapes (validated by botocore
against the service models) for reading, paging and following. The same command against the emulated AWS,
through the real CLI, is in test_logs_emulator.py.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from botocore.stub import ANY

from mnp_toolkit.cli import main as cli_main
from mnp_toolkit.errors import UserError
from mnp_toolkit.ops.logs import (
    DEFAULT_LOG_GROUP,
    Printer,
    StreamCursor,
    escape_message,
    job_streams,
    log_destination,
    read_stream,
    run_logs,
    split_node_id,
    use_colour,
)
from tests.mnp_toolkit.ops.conftest import REGION, T0_MS

JOB = "4c0d1f7e-1111-2222-3333-444455556666"
#: The command's clock in the tests that read without --follow: they read events up to a minute after it
#: (GetLogEvents endTime, so a node that keeps writing cannot keep the read going).
NOW_S = 1_795_532_500.0
END = 1_795_532_500_000 + 60_000
ARN = f"arn:aws:batch:{REGION}:123456789012"


def _parent(status: str, *, num_nodes: int, ranges: list[tuple[str, dict[str, Any]]] | None = None) -> dict[str, Any]:
    """A multinode parent's DescribeJobs entry (API JobDetail: nodeProperties as the job runs them)."""
    ranges = ranges or [("0:", {"image": "busybox"})]
    return {
        "jobArn": f"{ARN}:job/{JOB}",
        "jobName": "train",
        "jobId": JOB,
        "jobQueue": f"{ARN}:job-queue/q",
        "status": status,
        "createdAt": T0_MS,
        "startedAt": T0_MS,
        "jobDefinition": f"{ARN}:job-definition/train:1",
        "nodeProperties": {
            "numNodes": num_nodes,
            "mainNode": 0,
            "nodeRangeProperties": [{"targetNodes": target, "container": c} for target, c in ranges],
        },
    }


def _node(
    index: int,
    status: str,
    *,
    stream: str | None = None,
    attempts: list[str] | None = None,
    log_configuration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A node job's DescribeJobs entry: ``container.logStreamName`` once it runs, ``attempts[]`` with each
    attempt's own stream (API ContainerDetail, AttemptDetail)."""
    container: dict[str, Any] = {"image": "busybox"}
    if stream is not None:
        container["logStreamName"] = stream
    if log_configuration is not None:
        container["logConfiguration"] = log_configuration
    detail: dict[str, Any] = {
        "jobArn": f"{ARN}:job/{JOB}#{index}",
        "jobName": "train",
        "jobId": f"{JOB}#{index}",
        "jobQueue": f"{ARN}:job-queue/q",
        "status": status,
        "createdAt": T0_MS,
        "jobDefinition": f"{ARN}:job-definition/train:1",
        "nodeDetails": {"nodeIndex": index, "isMainNode": index == 0},
        "container": container,
    }
    if attempts:
        detail["attempts"] = [
            {"container": {"logStreamName": name, "exitCode": 1}, "startedAt": T0_MS, "stoppedAt": T0_MS + 1}
            for name in attempts
        ]
    return detail


def _by_id(*nodes: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {node["jobId"]: node for node in nodes}


def _events(*pairs: tuple[int, str]) -> list[dict[str, Any]]:
    return [
        {"timestamp": T0_MS + offset, "message": message, "ingestionTime": T0_MS + offset} for offset, message in pairs
    ]


# ------------------------------------------------------------------------------ which streams (no AWS)


def test_streams_come_from_describe_jobs_with_each_node_s_group() -> None:
    """No AWS: node 0 names its group in its own container; node 1 has none there, so the group of the range
    that applies to it (the nested 1:2, not the outer 0:) is used; node 2's range names another Region; node 3
    is not running yet (no stream name)."""
    inner = {"logDriver": "awslogs", "options": {"awslogs-group": "/mnp/inner", "awslogs-region": "eu-west-1"}}
    parent = _parent(
        "RUNNING",
        num_nodes=4,
        ranges=[("0:", {"image": "a"}), ("1:2", {"image": "b", "logConfiguration": inner})],
    )
    own = {"logDriver": "awslogs", "options": {"awslogs-group": "/mnp/main"}}
    nodes = _by_id(
        _node(0, "RUNNING", stream="s0", log_configuration=own),
        _node(1, "RUNNING", stream="s1"),
        _node(2, "SUCCEEDED", stream="s2"),
        _node(3, "RUNNABLE"),
    )

    view = job_streams(parent, nodes)

    assert [(s.node, s.group, s.stream, s.region, s.ended) for s in view.streams] == [
        (0, "/mnp/main", "s0", None, False),
        (1, "/mnp/inner", "s1", "eu-west-1", False),
        (2, "/mnp/inner", "s2", "eu-west-1", True),
    ]
    assert view.not_started == (3,)
    assert not view.ended


def test_every_attempt_has_its_stream_and_the_default_group() -> None:
    """No AWS: a node on its second attempt: the first attempt's stream (over) and the running one's, labelled
    with the attempt; without a log configuration the group is Batch's default."""
    parent = _parent("RUNNING", num_nodes=1)
    view = job_streams(parent, _by_id(_node(0, "RUNNING", stream="second", attempts=["first"])))

    assert [(s.attempt, s.stream, s.group, s.ended, s.label) for s in view.streams] == [
        (1, "first", DEFAULT_LOG_GROUP, True, "0"),
        (2, "second", DEFAULT_LOG_GROUP, False, "0 (attempt 2)"),
    ]


def test_a_node_of_another_log_driver_and_nodes_that_never_ran() -> None:
    """No AWS: a splunk node writes nothing to CloudWatch Logs; once the job has ended, nodes without a stream
    (one never created, one that failed before running) never ran; the job has ended with every node."""
    splunk = {"logDriver": "splunk", "options": {}}
    parent = _parent(
        "FAILED", num_nodes=4, ranges=[("0:", {"image": "a"}), ("1", {"image": "b", "logConfiguration": splunk})]
    )
    nodes = _by_id(_node(0, "FAILED", stream="s0"), _node(1, "FAILED", stream="s1"), _node(2, "FAILED"))

    view = job_streams(parent, nodes)

    assert [s.node for s in view.streams] == [0]
    assert view.other_drivers == ((1, "splunk"),)
    assert view.never_ran == (2, 3)
    assert view.ended
    assert view.exit_status == 1


@pytest.mark.parametrize(
    ("node", "expected"),
    [(4, "has nodes 0 to 3, not node 4"), (9, "pass --node 0 to 3")],
)
def test_a_node_the_job_does_not_have_is_refused(node: int, expected: str) -> None:
    """No AWS: --node beyond the job's nodes is a usage error naming the job's nodes."""
    with pytest.raises(UserError) as caught:
        job_streams(_parent("RUNNING", num_nodes=4), {}, node=node)
    assert expected in str(caught.value)
    assert caught.value.exit_code == 2


def test_node_selects_one_node() -> None:
    """No AWS: --node 1 reads node 1's stream only, and only its state decides whether it has ended."""
    parent = _parent("RUNNING", num_nodes=3)
    view = job_streams(parent, _by_id(_node(0, "RUNNING", stream="s0"), _node(1, "SUCCEEDED", stream="s1")), node=1)
    assert [s.stream for s in view.streams] == ["s1"]
    assert not view.ended  # the job itself still runs


def test_a_container_job_has_no_node_and_no_prefix() -> None:
    """No AWS: a single-node job's one stream has no node label; --node is refused for it."""
    detail = _node(0, "SUCCEEDED", stream="only")
    detail.pop("nodeDetails")
    detail["jobId"] = JOB
    view = job_streams(detail, {})
    assert [(s.node, s.label, s.stream) for s in view.streams] == [(None, "", "only")]
    with pytest.raises(UserError, match="not a multi-node parallel job"):
        job_streams(detail, {}, node=0)


@pytest.mark.parametrize(
    ("configuration", "expected"),
    [
        (None, ("awslogs", DEFAULT_LOG_GROUP, None)),
        ({"logDriver": "awslogs"}, ("awslogs", DEFAULT_LOG_GROUP, None)),
        (
            {"logDriver": "awslogs", "options": {"awslogs-group": "/g", "awslogs-region": "us-west-2"}},
            ("awslogs", "/g", "us-west-2"),
        ),
        ({"logDriver": "json-file", "options": {"awslogs-group": "/g"}}, ("json-file", None, None)),
    ],
)
def test_log_destination(configuration: dict[str, Any] | None, expected: tuple[str, str | None, str | None]) -> None:
    """No AWS: awslogs-group defaults to /aws/batch/job (user guide, "Use the awslogs log driver")."""
    assert log_destination(configuration) == expected


@pytest.mark.parametrize(
    ("job_id", "expected"),
    [(f"{JOB}#3", (JOB, 3)), (JOB, (JOB, None)), (f"{JOB}#x", (f"{JOB}#x", None)), (f"{JOB}:2", (f"{JOB}:2", None))],
)
def test_a_node_job_id_names_its_parent_and_node(job_id: str, expected: tuple[str, int | None]) -> None:
    """No AWS: JOB#N is node N of JOB (an array child JOB:N is a job of its own)."""
    assert split_node_id(job_id) == expected


# ------------------------------------------------------------------------------ printing (no AWS)


@pytest.mark.parametrize(
    ("message", "lines"),
    [
        ("plain", ["plain"]),
        ("\x1b[31mred\x1b[0m", ["\\x1b[31mred\\x1b[0m"]),
        ("progress 10%\rprogress 20%\r\n", ["progress 10%\\rprogress 20%"]),
        ("a\tb", ["a\tb"]),
        ("Traceback:\n  line 1\n", ["Traceback:", "  line 1"]),
        ("bell\x07 nul\x00 del\x7f", ["bell\\x07 nul\\x00 del\\x7f"]),
    ],
)
def test_log_text_is_escaped(message: str, lines: list[str]) -> None:
    """No AWS: terminal escapes and other control characters are shown escaped, tabs kept, one event with
    newlines becomes several lines (each gets the node's prefix)."""
    assert escape_message(message) == lines


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("stream", "environ", "expected"),
    [
        (_Tty(), {}, True),
        (_Tty(), {"NO_COLOR": "1"}, False),
        (_Tty(), {"NO_COLOR": ""}, True),  # no-color.org: set *and not empty*
        (_Tty(), {"TERM": "dumb"}, False),
        (io.StringIO(), {}, False),
    ],
)
def test_colour_only_on_a_terminal_without_no_color(
    stream: io.StringIO, environ: dict[str, str], expected: bool
) -> None:
    """No AWS: the prefix is coloured only for a terminal, and never with NO_COLOR."""
    assert use_colour(stream, environ) is expected


def test_prefixes_are_aligned_and_coloured_per_node() -> None:
    """No AWS: labels right-aligned to the widest node index; colour codes around the label only."""
    plain = Printer(io.StringIO(), width=2, colour=False)
    coloured = Printer(io.StringIO(), width=2, colour=True)
    assert plain.prefix("3", 3) == " 3 | "
    assert plain.prefix("", None) == ""
    assert coloured.prefix("3", 3) == "\x1b[35m 3\x1b[0m | "
    assert coloured.prefix("3", 3) != coloured.prefix("4", 4)


# ------------------------------------------------------------------------------ reading (Stubber)


def _expect_page(
    stubber: Any,
    group: str,
    stream: str,
    token: str | None,
    events: list[dict[str, Any]],
    next_token: str,
    *,
    end_time: Any = None,
) -> None:
    params: dict[str, Any] = {"logGroupName": group, "logStreamName": stream, "startFromHead": True, "limit": ANY}
    if token is not None:
        params["nextToken"] = token
    if end_time is not None:
        params["endTime"] = end_time
    stubber.add_response(
        "get_log_events", {"events": events, "nextForwardToken": next_token, "nextBackwardToken": "b/0"}, params
    )


def test_a_stream_is_read_until_the_token_comes_back(stubbed: Any) -> None:
    """Stubber (documented GetLogEvents shape): an empty page with a new token is not the end ("partially full
    or empty pages don't necessarily mean that pagination is finished"); the end is the token passed in coming
    back. startFromHead is sent with every forward token (the API requires it)."""
    from mnp_toolkit.ops.logs import StreamSpec

    client, stubber = stubbed("logs")
    _expect_page(stubber, "/g", "s", None, _events((0, "one"), (1, "two")), "f/1")
    _expect_page(stubber, "/g", "s", "f/1", [], "f/2")
    _expect_page(stubber, "/g", "s", "f/2", _events((2, "three")), "f/3")
    _expect_page(stubber, "/g", "s", "f/3", [], "f/3")
    cursor = StreamCursor(StreamSpec(node=0, attempt=1, group="/g", stream="s", region=None, ended=True))

    messages = [message for _, message in read_stream(client, cursor, limit=100, max_pages=None)]

    stubber.assert_no_pending_responses()
    assert messages == ["one", "two", "three"]
    assert cursor.token == "f/3"
    assert not cursor.missing


def test_a_stream_that_does_not_exist_yet_is_no_output(stubbed: Any) -> None:
    """Stubber: ResourceNotFoundException (the stream, or Batch's group, is created when a node runs) is no
    events and no error; the cursor says the stream is missing."""
    from mnp_toolkit.ops.logs import StreamSpec

    client, stubber = stubbed("logs")
    stubber.add_client_error(
        "get_log_events", "ResourceNotFoundException", "The specified log stream does not exist.", 400
    )
    cursor = StreamCursor(StreamSpec(node=1, attempt=1, group="/g", stream="s", region=None, ended=False))

    assert list(read_stream(client, cursor, limit=100, max_pages=None)) == []
    assert cursor.missing


def test_access_denied_on_get_log_events_names_the_permission(stubbed: Any) -> None:
    """Stubber: AccessDeniedException becomes one line naming logs:GetLogEvents."""
    from mnp_toolkit.ops.logs import StreamSpec

    client, stubber = stubbed("logs")
    stubber.add_client_error("get_log_events", "AccessDeniedException", "not authorized", 400)
    cursor = StreamCursor(StreamSpec(node=1, attempt=1, group="/g", stream="s", region=None, ended=False))

    with pytest.raises(UserError) as caught:
        list(read_stream(client, cursor, limit=100, max_pages=None))
    assert "logs:GetLogEvents" in str(caught.value)
    assert "\n" not in str(caught.value)


def _expect_describe(stubber: Any, parent: dict[str, Any], nodes: list[dict[str, Any]]) -> None:
    stubber.add_response("describe_jobs", {"jobs": [parent]}, {"jobs": [JOB]})
    num_nodes = parent["nodeProperties"]["numNodes"]
    stubber.add_response("describe_jobs", {"jobs": nodes}, {"jobs": [f"{JOB}#{i}" for i in range(num_nodes)]})


def test_every_node_s_lines_merged_in_time_order(stubbed: Any) -> None:
    """Stubber (documented shapes): three nodes' streams merged by timestamp, equal timestamps lower node
    first; node 2 has not started (a note on stderr, no error); exit 0 while the job runs."""
    batch, batch_stub = stubbed("batch")
    logs, logs_stub = stubbed("logs")
    _expect_describe(
        batch_stub,
        _parent("RUNNING", num_nodes=3),
        [_node(0, "RUNNING", stream="s0"), _node(1, "RUNNING", stream="s1"), _node(2, "RUNNABLE")],
    )
    _expect_page(
        logs_stub, DEFAULT_LOG_GROUP, "s0", None, _events((0, "main up"), (5, "main result")), "f/a", end_time=END
    )
    _expect_page(
        logs_stub, DEFAULT_LOG_GROUP, "s1", None, _events((0, "child up"), (3, "child done")), "f/b", end_time=END
    )
    # Read lazily, a page when the merge needs it: s1 runs out first, so its next page is asked for first.
    _expect_page(logs_stub, DEFAULT_LOG_GROUP, "s1", "f/b", [], "f/b", end_time=END)
    _expect_page(logs_stub, DEFAULT_LOG_GROUP, "s0", "f/a", [], "f/a", end_time=END)
    out, notes = io.StringIO(), []

    code = run_logs(
        batch, logs_client_for=lambda region: logs, job_id=JOB, out=out, note=notes.append, clock=lambda: NOW_S
    )

    logs_stub.assert_no_pending_responses()
    assert code == 0
    assert out.getvalue().splitlines() == ["0 | main up", "1 | child up", "1 | child done", "0 | main result"]
    assert notes == ["no output yet from node 2: not running yet (a node's log stream is named once it runs)"]


def test_a_group_in_another_region_is_read_there(stubbed: Any) -> None:
    """Stubber: awslogs-region asks for a CloudWatch Logs client of that Region (logs_client_for)."""
    batch, batch_stub = stubbed("batch")
    logs, logs_stub = stubbed("logs")
    elsewhere = {"logDriver": "awslogs", "options": {"awslogs-group": "/far", "awslogs-region": "eu-west-1"}}
    _expect_describe(
        batch_stub, _parent("SUCCEEDED", num_nodes=1), [_node(0, "SUCCEEDED", stream="s0", log_configuration=elsewhere)]
    )
    _expect_page(logs_stub, "/far", "s0", None, _events((0, "hello")), "f/a", end_time=END)
    _expect_page(logs_stub, "/far", "s0", "f/a", [], "f/a", end_time=END)
    asked: list[str | None] = []

    def client_for(region: str | None) -> Any:
        asked.append(region)
        return logs

    out = io.StringIO()
    run_logs(batch, logs_client_for=client_for, job_id=f"{JOB}#0", out=out, note=lambda _: None, clock=lambda: NOW_S)

    assert asked == ["eu-west-1"]
    assert out.getvalue() == "0 | hello\n"


def test_follow_reads_on_backs_off_and_ends_when_the_job_and_streams_are_done(stubbed: Any) -> None:
    """Stubber (documented shapes), sleep injected: poll 1 finds node 0 running (node 1 not yet), poll 2 both,
    poll 3 nothing new (the wait doubles), poll 4 the job has ended and the last lines arrive, poll 5 reads
    nothing after the end: done. Each stream is read on from its last token (no line twice); the Stubber
    fails the test on any call not listed."""
    batch, batch_stub = stubbed("batch")
    logs, logs_stub = stubbed("logs")
    g = DEFAULT_LOG_GROUP
    # poll 1
    _expect_describe(
        batch_stub, _parent("RUNNING", num_nodes=2), [_node(0, "RUNNING", stream="s0"), _node(1, "RUNNABLE")]
    )
    _expect_page(logs_stub, g, "s0", None, _events((0, "a")), "f/0")
    _expect_page(logs_stub, g, "s0", "f/0", [], "f/0")
    # poll 2
    _expect_describe(
        batch_stub,
        _parent("RUNNING", num_nodes=2),
        [_node(0, "RUNNING", stream="s0"), _node(1, "RUNNING", stream="s1")],
    )
    _expect_page(logs_stub, g, "s0", "f/0", [], "f/0")
    _expect_page(logs_stub, g, "s1", None, _events((1, "b")), "f/1")
    _expect_page(logs_stub, g, "s1", "f/1", [], "f/1")
    # poll 3: quiet
    _expect_describe(
        batch_stub,
        _parent("RUNNING", num_nodes=2),
        [_node(0, "RUNNING", stream="s0"), _node(1, "RUNNING", stream="s1")],
    )
    _expect_page(logs_stub, g, "s0", "f/0", [], "f/0")
    _expect_page(logs_stub, g, "s1", "f/1", [], "f/1")
    # poll 4: ended; the last lines arrive
    _expect_describe(
        batch_stub,
        _parent("SUCCEEDED", num_nodes=2),
        [_node(0, "SUCCEEDED", stream="s0"), _node(1, "SUCCEEDED", stream="s1")],
    )
    _expect_page(logs_stub, g, "s0", "f/0", _events((9, "c")), "f/2")
    _expect_page(logs_stub, g, "s0", "f/2", [], "f/2")
    _expect_page(logs_stub, g, "s1", "f/1", _events((8, "d")), "f/3")
    _expect_page(logs_stub, g, "s1", "f/3", [], "f/3")
    # poll 5: drained
    _expect_describe(
        batch_stub,
        _parent("SUCCEEDED", num_nodes=2),
        [_node(0, "SUCCEEDED", stream="s0"), _node(1, "SUCCEEDED", stream="s1")],
    )
    _expect_page(logs_stub, g, "s0", "f/2", [], "f/2")
    _expect_page(logs_stub, g, "s1", "f/3", [], "f/3")
    sleeps: list[float] = []
    out = io.StringIO()

    code = run_logs(
        batch,
        logs_client_for=lambda _: logs,
        job_id=JOB,
        follow=True,
        interval=30,
        out=out,
        note=lambda _: None,
        sleep=sleeps.append,
    )

    batch_stub.assert_no_pending_responses()
    logs_stub.assert_no_pending_responses()
    assert code == 0
    assert out.getvalue().splitlines() == ["0 | a", "1 | b", "1 | d", "0 | c"]
    # The wait is 1 s while lines come; the quiet poll 3 doubles only the wait after it, and poll 4 had lines.
    assert sleeps == [1.0, 1.0, 1.0, 1.0]


def test_follow_waits_longer_while_nothing_happens(stubbed: Any) -> None:
    """Stubber, sleep injected: a job RUNNABLE for four polls: the wait doubles up to --interval (1, 2, 4, 5)."""
    batch, batch_stub = stubbed("batch")
    logs, _ = stubbed("logs")
    for _ in range(5):
        _expect_describe(batch_stub, _parent("RUNNABLE", num_nodes=1), [_node(0, "RUNNABLE")])
    _expect_describe(batch_stub, _parent("FAILED", num_nodes=1), [_node(0, "FAILED")])
    sleeps: list[float] = []

    code = run_logs(
        batch, logs_client_for=lambda _: logs, job_id=JOB, follow=True, interval=5, out=io.StringIO(),
        note=lambda _: None, sleep=sleeps.append,
    )  # fmt: skip

    batch_stub.assert_no_pending_responses()
    assert sleeps == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert code == 1  # as `mnp status`: the job FAILED


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["logs", JOB, "--node", "-1"], "is not a node index"),
        (["logs", JOB, "--node", "x"], "is not a node index"),
        (["logs", f"{JOB}#1", "--node", "2"], "is node 1, but --node is 2"),
        (["logs", "has space"], "has spaces or control characters"),
        (["logs", JOB, "--follow", "--interval", "inf"], "--interval"),
    ],
)
def test_usage_errors_exit_2_without_calling_aws(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No AWS: the endpoint is a closed port, so any call would fail with another message."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    try:
        code = cli_main(argv)
    except SystemExit as exit_info:  # argparse's own usage errors
        code = exit_info.code
    assert code == 2
    err = capsys.readouterr().err
    assert expected in err
    assert err.count("\n") == 1


def test_an_endpoint_that_never_ends_a_stream_is_bounded(stubbed: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stubber: empty pages, each with a new token, for ever: the read gives up after MAX_EMPTY_PAGES (3 here)
    with one line, instead of looping."""
    from mnp_toolkit.ops import logs as logs_mod
    from mnp_toolkit.ops.logs import StreamSpec

    monkeypatch.setattr(logs_mod, "MAX_EMPTY_PAGES", 3)
    client, stubber = stubbed("logs")
    for number in range(3):
        _expect_page(stubber, "/g", "s", None if number == 0 else f"f/{number}", [], f"f/{number + 1}")
    cursor = StreamCursor(StreamSpec(node=0, attempt=1, group="/g", stream="s", region=None, ended=True))

    with pytest.raises(UserError) as caught:
        list(read_stream(client, cursor, limit=100, max_pages=None))

    stubber.assert_no_pending_responses()
    assert "3 empty pages in a row" in str(caught.value)


def test_follow_reads_a_flood_in_slices_without_sleeping(stubbed: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stubber, sleep injected: a stream with more pages than one poll reads (FOLLOW_PAGES_PER_POLL, 1 here) is
    read on in the next poll at once (no sleep), from its last token."""
    from mnp_toolkit.ops import logs as logs_mod

    monkeypatch.setattr(logs_mod, "FOLLOW_PAGES_PER_POLL", 1)
    batch, batch_stub = stubbed("batch")
    logs, logs_stub = stubbed("logs")
    g = DEFAULT_LOG_GROUP
    ended = (_parent("SUCCEEDED", num_nodes=1), [_node(0, "SUCCEEDED", stream="s0")])
    _expect_describe(batch_stub, *ended)
    _expect_page(logs_stub, g, "s0", None, _events((0, "1")), "f/1")
    _expect_describe(batch_stub, *ended)
    _expect_page(logs_stub, g, "s0", "f/1", _events((1, "2")), "f/2")
    _expect_describe(batch_stub, *ended)
    _expect_page(logs_stub, g, "s0", "f/2", [], "f/2")
    sleeps: list[float] = []
    out = io.StringIO()

    run_logs(
        batch,
        logs_client_for=lambda _: logs,
        job_id=JOB,
        follow=True,
        out=out,
        note=lambda _: None,
        sleep=sleeps.append,
    )

    logs_stub.assert_no_pending_responses()
    assert out.getvalue().splitlines() == ["0 | 1", "0 | 2"]
    assert sleeps == []  # each poll had more to read, and the last found the end after the job's end


def test_an_answer_without_events_is_one_line(stubbed: Any) -> None:
    """Stubber: a GetLogEvents answer whose events are not a list (not AWS's) is one line, exit 2."""
    from mnp_toolkit.ops.logs import StreamSpec

    client, _ = stubbed("logs")
    cursor = StreamCursor(StreamSpec(node=0, attempt=1, group="/g", stream="s", region=None, ended=True))

    class _Odd:
        meta = client.meta

        def get_log_events(self, **_: Any) -> dict[str, Any]:
            return {"events": "nope", "nextForwardToken": "f/1"}

    with pytest.raises(UserError) as caught:
        list(read_stream(_Odd(), cursor, limit=100, max_pages=None))
    assert "without a list of events" in str(caught.value)
