"""Each node's output in the emulated CloudWatch Logs, where Batch's ``awslogs`` driver would put it.

"By default, AWS Batch enables the awslogs log driver to send log information to CloudWatch Logs"; its
``awslogs-group`` option names the group, and "if not specified, then ``/aws/batch/job`` is used"
(user guide, "Use the awslogs log driver"). Batch names a job's stream
``<awslogs-stream-prefix or job definition name>/default/<ECS task id>`` (``default`` is the container's
name in the task Batch runs), which DescribeJobs returns as ``container.logStreamName``; ``awslogs-region``
sends the logs to another Region. So the code that reads a job's logs on AWS (the group from the job
definition, the stream from DescribeJobs) reads them here the same way.

Another log driver (``json-file``, ``splunk``, ...) sends nothing to CloudWatch Logs, on AWS and here:
the node's output then reaches only the runner's output listeners.

Writing: one :class:`NodeLogWriter` per stream (moto's ``LogStream.put_log_events`` is not thread-safe),
events in time order, batched, empty lines dropped (CloudWatch rejects empty messages), lines longer than
an event may be split (256 KiB less the 26 bytes CloudWatch counts per event).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from moto.logs.models import logs_backends

from mnp_toolkit.ops.logs import log_destination

logger = logging.getLogger(__name__)

#: The container name Batch gives a job's container in the ECS task it runs.
BATCH_CONTAINER_NAME = "default"
#: "The maximum event size is 256 KB. Events larger than 256 KB are rejected"; 26 bytes of each count as
#: overhead (CloudWatch Logs API reference, PutLogEvents).
MAX_EVENT_BYTES = 256 * 1024 - 26


@dataclass(frozen=True)
class LogTarget:
    """Where a node's output goes: ``group``/``stream`` in ``region`` (``None``: not to CloudWatch)."""

    driver: str
    region: str
    group: str | None
    stream: str | None


def log_target(container: Mapping[str, Any], *, job_definition_name: str, region: str, task_id: str) -> LogTarget:
    """The CloudWatch Logs group and stream of a node's container (see the module doc). The driver, group
    and Region are read as ``mnp logs`` reads them (:func:`mnp_toolkit.ops.logs.log_destination`, one
    place for Batch's defaults); the stream name is the writer's own."""
    configuration = container.get("logConfiguration")
    driver, group, log_region = log_destination(configuration if isinstance(configuration, Mapping) else None)
    if group is None:
        return LogTarget(driver=driver, region=region, group=None, stream=None)
    options = (configuration or {}).get("options") or {}
    prefix = str(options.get("awslogs-stream-prefix") or job_definition_name)
    return LogTarget(
        driver=driver,
        region=log_region or region,
        group=group,
        stream=f"{prefix}/{BATCH_CONTAINER_NAME}/{task_id}",
    )


def split_message(message: str) -> list[str]:
    """``message`` cut into pieces that fit one log event each (by UTF-8 size)."""
    encoded = message.encode("utf-8")
    if len(encoded) <= MAX_EVENT_BYTES:
        return [message]
    pieces: list[str] = []
    while encoded:
        piece = encoded[:MAX_EVENT_BYTES].decode("utf-8", errors="ignore")
        pieces.append(piece)
        encoded = encoded[len(piece.encode("utf-8")) :]
    return pieces


class NodeLogWriter:
    """Appends events to one stream of the emulated CloudWatch Logs of ``account``."""

    def __init__(self, *, account: str, target: LogTarget) -> None:
        self.account = account
        self.target = target
        self._ready = False

    def _backend(self) -> Any:
        return logs_backends[self.account][self.target.region]

    def put(self, events: list[tuple[int, str]]) -> None:
        """``events`` = ``(timestamp_ms, message)`` pairs; sent in time order, empty messages dropped."""
        if self.target.group is None or self.target.stream is None:
            return
        batch = [
            {"timestamp": timestamp, "message": piece}
            for timestamp, message in sorted(events, key=lambda event: event[0])
            if message
            for piece in split_message(message)
        ]
        backend = self._backend()
        try:
            if not self._ready:
                # Batch's own group is created on first use; a group named in the job definition is the
                # deploy's (CloudFormation creates it), created here too rather than losing the output.
                backend.ensure_log_group(self.target.group)
                backend.ensure_log_stream(self.target.group, self.target.stream)
                self._ready = True
            if batch:
                backend.put_log_events(self.target.group, self.target.stream, batch)
        except Exception as error:  # moto raises its own exception types; a lost line must not kill a node
            self._ready = False
            logger.warning("cannot write to log stream %s of %s: %s", self.target.stream, self.target.group, error)
