"""The watchdog never ends a job whose main node has already ended (issue 17's race), as a property.

"If the main node exits, the job is considered finished, and all of the child nodes are stopped" (Batch
user guide, "Job lifecycle for MNP jobs"). Between the main node's exit and the parent's status catching
up, a child reads FAILED under a RUNNING parent: a child failure event (or a sweep) in flight then must not
turn the job's outcome, SUCCEEDED or FAILED, into the watchdog's FAILED.

The test drives the real handler against an in-memory Batch whose state moves on by one step with every
API call the handler makes: a child node has FAILED (the event in flight); the main node ends at step
``main_ends`` (0: before the handler's first call; ``None``: never), with SUCCEEDED or FAILED; Batch then
stops the other children (FAILED) and the parent reads the main node's outcome ``lag`` steps later. Every
interleaving hypothesis draws must satisfy:

* the handler terminates only if its last read of the main node found it STARTING or RUNNING, and the
  main node had not ended at that read (the one window no client can close is the round trip between that
  read and TerminateJob, which the model allows and the docs describe);
* a main node that ended before the handler started is never overruled;
* liveness: when the main node never ends, the failed child does get the job terminated (so a watchdog
  that never terminates fails this test too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.constructs_lib.lambda_src.watchdog.test_index import (
    AT_T0,
    MINUTE,
    QUEUE_ARN,
    T0,
    index,
    node_job,
    parent_job,
    state_change_event,
)

PARENT = "race-job"
STEP_MS = 1_000


@dataclass
class RacingBatch:
    """One MNP job in the middle of the race; each API call is one step of Batch's own progress."""

    num_nodes: int
    failed_child: int
    main_ends: int | None
    outcome: str
    lag: int
    step: int = 0
    main_reads: list[tuple[int, str]] = field(default_factory=list)
    terminated_at: int | None = None

    # -- the state at the current step --------------------------------------------------------------

    def _main_ended(self, step: int) -> bool:
        return self.main_ends is not None and step >= self.main_ends

    def _stopped_ms(self, step: int) -> int:
        return T0 + 5 * MINUTE + step * STEP_MS

    def _parent(self) -> dict[str, Any]:
        ended = self.main_ends is not None and self.step >= self.main_ends + self.lag
        return parent_job(self.outcome if ended else "RUNNING", num_nodes=self.num_nodes, job_id=PARENT)

    def _node(self, index_: int) -> dict[str, Any]:
        if index_ == 0:
            if self._main_ended(self.step):
                assert self.main_ends is not None
                return node_job(0, self.outcome, main=True, stopped=self._stopped_ms(self.main_ends), parent=PARENT)
            return node_job(0, "RUNNING", main=True, parent=PARENT)
        if index_ == self.failed_child:
            return node_job(index_, "FAILED", stopped=self._stopped_ms(-1), reason="exit 1", exit_code=1, parent=PARENT)
        if self._main_ended(self.step):
            assert self.main_ends is not None
            # Batch stopped this child because the main node exited.
            return node_job(index_, "FAILED", stopped=self._stopped_ms(self.main_ends) + 500, parent=PARENT)
        return node_job(index_, "RUNNING", parent=PARENT)

    def _status(self, job: dict[str, Any]) -> str:
        return str(job["status"])

    # -- the API -------------------------------------------------------------------------------------

    def _advance(self) -> None:
        self.step += 1

    def describe_jobs(self, *, jobs: list[str]) -> dict[str, Any]:
        out = []
        for job_id in jobs:
            _, _, node = job_id.partition("#")
            job = self._parent() if not node else self._node(int(node))
            if node == "0":
                self.main_reads.append((self.step, self._status(job)))
            out.append(job)
        self._advance()
        return {"jobs": out}

    def list_jobs(self, **params: Any) -> dict[str, Any]:
        if "jobQueue" in params:
            parent = self._parent()
            summaries = [{"jobId": PARENT, "status": "RUNNING"}] if parent["status"] == "RUNNING" else []
        else:
            summaries = [
                {"jobId": f"{PARENT}#{i}", "status": "FAILED"}
                for i in range(self.num_nodes)
                if self._node(i)["status"] == "FAILED"
            ]
        self._advance()
        return {"jobSummaryList": summaries}

    def terminate_job(self, *, jobId: str, reason: str) -> dict[str, Any]:
        assert jobId == PARENT and reason.startswith(index.REASON_PREFIX)
        self.terminated_at = self.step
        self._advance()
        return {}


races = st.builds(
    RacingBatch,
    num_nodes=st.integers(min_value=2, max_value=6),
    failed_child=st.integers(min_value=1, max_value=5),
    main_ends=st.one_of(st.none(), st.integers(min_value=0, max_value=8)),
    outcome=st.sampled_from(["SUCCEEDED", "FAILED"]),
    lag=st.integers(min_value=0, max_value=5),
).filter(lambda world: world.failed_child < world.num_nodes)


def _run(world: RacingBatch, path: str) -> list[dict[str, Any]]:
    if path == "event":
        event = state_change_event(world._node(world.failed_child))
        return list(index.handle(event, batch=world, job_queue=QUEUE_ARN)["decisions"])
    return list(
        index.handle(index.SWEEP_INPUT, batch=world, job_queue=QUEUE_ARN, clock=lambda: float(AT_T0))["decisions"]
    )


def _check(world: RacingBatch, decisions: list[dict[str, Any]]) -> None:
    if world.terminated_at is not None:
        assert world.main_reads, "terminated without reading the main node"
        read_step, read_status = world.main_reads[-1]
        assert read_status in {"STARTING", "RUNNING"}, f"terminated after reading the main node {read_status}"
        assert not world._main_ended(read_step), "terminated although the main node had ended when last read"
        assert world.main_ends != 0, "overruled a main node that ended before the watchdog started"
        assert [d["decision"] for d in decisions].count("terminate") == 1
    if world.main_ends is None:
        assert world.terminated_at is not None, f"a child failed while the main node runs, yet: {decisions}"


@settings(max_examples=300, deadline=None)
@given(world=races)
def test_event_in_flight_never_overrules_an_ended_main_node(world: RacingBatch) -> None:
    _check(world, _run(world, "event"))


@settings(max_examples=300, deadline=None)
@given(world=races)
def test_sweep_never_overrules_an_ended_main_node(world: RacingBatch) -> None:
    _check(world, _run(world, "sweep"))


def test_main_node_succeeded_a_step_before_the_event_is_handled() -> None:
    """The race in its plainest form: the main node SUCCEEDED, the parent still reads RUNNING for 5 steps,
    and the child's failure event arrives: the job is left to Batch, to end SUCCEEDED."""
    world = RacingBatch(num_nodes=4, failed_child=2, main_ends=0, outcome="SUCCEEDED", lag=5)

    (decision,) = _run(world, "event")

    assert world.terminated_at is None
    assert (decision["code"], decision["main_node_status"]) == ("main_node_ended", "SUCCEEDED")
