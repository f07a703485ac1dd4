"""`mnp status --watch`: each change of the nodes and the job as one compact line (mnp_toolkit/ops/status.py).

No AWS for the rendering (JobStatus values built here); botocore Stubber with documented DescribeJobs shapes
for the watch loop.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from mnp_toolkit.ops.status import NOT_CREATED, JobStatus, NodeStatus, render_transitions, run_status
from tests.mnp_toolkit.ops.conftest import T0_MS

JOB = "4c0d1f7e-1111-2222-3333-444455556666"
NOW = datetime(2026, 11, 24, 15, 4, 33, tzinfo=UTC)


def _job(status: str, *nodes: tuple[str, int | None, str | None], reason: str | None = None) -> JobStatus:
    """A job of len(nodes) nodes, node 0 main; each node is (status, exit code, reason)."""
    return JobStatus(
        job_id=JOB,
        job_name="train",
        job_queue="q",
        job_definition="d",
        status=status,
        reason=reason,
        num_nodes=len(nodes),
        main_node=0,
        nodes=tuple(
            NodeStatus(index=i, job_id=f"{JOB}#{i}", is_main=i == 0, status=state, exit_code=code, reason=why)
            for i, (state, code, why) in enumerate(nodes)
        ),
    )


def test_nodes_that_move_alike_share_a_line_in_node_order() -> None:
    """No AWS: nodes 1-3 and 5 move STARTING -> RUNNING together, node 4 stays, node 0 (main) was RUNNING."""
    before = _job("RUNNING", *[("RUNNING", None, None)] + [("STARTING", None, None)] * 5)
    after = _job("RUNNING", *[("RUNNING", None, None)] * 4 + [("STARTING", None, None), ("RUNNING", None, None)])

    lines = render_transitions(before, after, now=NOW)

    assert lines == ["15:04:33Z  nodes 1-3, 5  STARTING -> RUNNING"]


def test_nothing_changed_is_no_line() -> None:
    """No AWS: an unchanged poll prints nothing (a long RUNNING phase is quiet)."""
    job = _job("RUNNING", ("RUNNING", None, None), ("RUNNING", None, None))
    assert render_transitions(job, job, now=NOW) == []


def test_ended_nodes_show_exit_code_and_reason_and_differ_by_them() -> None:
    """No AWS: two children fail with different exit codes: one line each; the main node's line says main;
    the job's own change comes last with its reason."""
    before = _job("RUNNING", ("RUNNING", None, None), ("RUNNING", None, None), ("RUNNING", None, None))
    after = _job(
        "FAILED",
        ("FAILED", 1, "Essential container in task exited"),
        ("FAILED", 137, "OutOfMemoryError: Container killed"),
        ("FAILED", 1, "Essential container in task exited"),
        reason="Essential container in task exited",
    )

    lines = render_transitions(before, after, now=NOW)

    assert lines == [
        "15:04:33Z  nodes 0, 2 (main 0)  RUNNING -> FAILED  (exit 1; Essential container in task exited)",
        "15:04:33Z  node 1  RUNNING -> FAILED  (exit 137; OutOfMemoryError: Container killed)",
        "15:04:33Z  job  RUNNING -> FAILED  (Essential container in task exited)",
    ]


def test_a_node_created_and_a_retry_are_transitions_too() -> None:
    """No AWS: a node job that appears is 'not created -> ...'; a new attempt moves a node back to RUNNABLE."""
    before = _job("RUNNING", ("RUNNING", None, None), (NOT_CREATED, None, None))
    after = _job("RUNNABLE", ("RUNNABLE", None, None), ("STARTING", None, None))

    assert render_transitions(before, after, now=NOW) == [
        "15:04:33Z  node 0 (main)  RUNNING -> RUNNABLE",
        "15:04:33Z  node 1  not created -> STARTING",
        "15:04:33Z  job  RUNNING -> RUNNABLE",
    ]


def test_watch_of_a_job_that_already_ended_prints_the_table_once(stubbed: Any, make_job: Any) -> None:
    """Stubber (documented shapes): nothing to follow: one table, no transition line, exit 1 (FAILED)."""
    client, stubber = stubbed("batch")
    stubber.add_response(
        "describe_jobs",
        {"jobs": [make_job(JOB, status="FAILED", started=T0_MS, stopped=T0_MS + 1000, num_nodes=1)]},
        {"jobs": [JOB]},
    )
    stubber.add_response(
        "describe_jobs",
        {"jobs": [make_job(f"{JOB}#0", status="FAILED", started=T0_MS, exit_code=2, node_index=0, is_main=True)]},
        {"jobs": [f"{JOB}#0"]},
    )
    out = io.StringIO()

    code = run_status(client, job_id=JOB, watch=True, interval=5, out=out, sleep=lambda _: None)

    stubber.assert_no_pending_responses()
    assert code == 1
    assert out.getvalue().count("Job         ") == 1
    assert " -> " not in out.getvalue()
