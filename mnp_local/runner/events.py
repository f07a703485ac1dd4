"""What the runner tells the rest of the emulator: job state changes and node output, as they happen.

A listener registered with :meth:`mnp_local.runner.runner.Runner.subscribe` is called synchronously from
the thread that runs the job, once per change, in the order the changes happen, so it must be quick and
must not call back into the runner (a slow listener slows the job down; an exception it raises is
logged and does not stop the job). This is where the delivery of Batch "Job State Change" events to
EventBridge, or a live ``mnp logs``, can hook in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobStateChange:
    """A job (an MNP parent or one of its node jobs ``JOB#N``) moved from ``previous`` to ``status``.

    ``detail`` is the job's DescribeJobs entry right after the change (the ``detail`` of a Batch "Job State
    Change" event is that shape); ``time_ms`` is when it happened (epoch milliseconds).
    """

    account: str
    region: str
    job_id: str
    parent_job_id: str
    node_index: int | None  # None for the parent
    previous: str
    status: str
    status_reason: str | None
    time_ms: int
    detail: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class NodeOutput:
    """One line a node wrote (stdout and stderr merged), with the time it was read and where it was logged."""

    account: str
    region: str
    job_id: str  # the node job, JOB#N
    node_index: int
    attempt: int
    timestamp_ms: int
    message: str
    log_group: str | None
    log_stream: str | None


StateListener = Callable[[JobStateChange], None]
OutputListener = Callable[[NodeOutput], None]


class Listeners:
    """The registered listeners; :meth:`state` and :meth:`output` call each one, logging its failures."""

    def __init__(self) -> None:
        self._state: list[StateListener] = []
        self._output: list[OutputListener] = []

    def add(self, *, state: StateListener | None = None, output: OutputListener | None = None) -> Callable[[], None]:
        if state is not None:
            self._state = [*self._state, state]
        if output is not None:
            self._output = [*self._output, output]

        def remove() -> None:
            self._state = [s for s in self._state if s is not state]
            self._output = [o for o in self._output if o is not output]

        return remove

    @property
    def wants_output(self) -> bool:
        return bool(self._output)

    def state(self, change: JobStateChange) -> None:
        for listener in self._state:
            try:
                listener(change)
            except Exception:
                logger.exception("a job state listener failed on %s -> %s", change.job_id, change.status)

    def output(self, line: NodeOutput) -> None:
        for listener in self._output:
            try:
                listener(line)
            except Exception:
                logger.exception("a node output listener failed on %s", line.job_id)
