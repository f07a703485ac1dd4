"""The default event bus of the emulated account: Batch job state change events delivered to the deployed rules.

AWS Batch "sends job status change events to EventBridge": "Anytime that an existing (previously
submitted) job changes states, an event is created ... Events aren't created for the initial job
submission", and "the ``detail`` section resembles the JobDetail object that's returned from a
DescribeJobs API operation" (user guide, "AWS Batch events", "Job state change events"). moto 5.2.5 has no
Batch events at all, and its PutEvents cannot deliver to a Lambda target (``NotImplementedError``, HTTP
500). So the emulator does it on moto's own models:

* the node runner reports each state change of an MNP job **and of each node job** ``JOB#N``; each becomes
  a "Batch Job State Change" event (source ``aws.batch``, the job's ARN in ``resources``, the job's
  DescribeJobs entry as ``detail``). Whether node jobs emit events on AWS is not documented (see
  docs/watchdog.md); the emulator assumes they do, with their ``nodeDetails`` and ``jobQueue``;
* after ``MNP_LOCAL_EVENT_DELAY`` seconds (0 by default: at once) the event is matched against the rules
  of the account and Region's **default** bus (AWS service events go to the default bus) with moto's own
  ``EventPattern.matches_event``; only rules whose ``State`` is ``ENABLED`` match (moto's PutEvents also
  delivers to DISABLED rules), and schedule rules never match events;
* each target gets the event as its ``Input``/``InputPath``/``InputTransformer`` make it
  (:mod:`.targets`): a Lambda function target runs the deployed function's code
  (:mod:`.lambdas`, an asynchronous invocation); an SQS queue target gets the payload as a message; any
  other target is skipped with a warning.

Events are delivered in the order they happened, one at a time by one thread; the invocations they
cause run concurrently (each function within its reserved concurrency).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mnp_local.eventbridge.lambdas import Invocation, LambdaExecutor, LambdaInvocationError
from mnp_local.eventbridge.targets import TargetInputError, target_payload
from mnp_local.runner.events import JobStateChange

logger = logging.getLogger(__name__)

BATCH_SOURCE = "aws.batch"
BATCH_DETAIL_TYPE = "Batch Job State Change"
#: "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS" matches like ENABLED (EventBridge API reference, PutRule).
_ENABLED = frozenset({"ENABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"})


def iso_time(time_ms: int) -> str:
    """An event's ``time``: ISO 8601 in UTC to the second, as in the documented examples."""
    return datetime.fromtimestamp(time_ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def batch_event(change: JobStateChange) -> dict[str, Any]:
    """The "Batch Job State Change" event of one state change (the user guide's example shape)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": BATCH_DETAIL_TYPE,
        "source": BATCH_SOURCE,
        "account": change.account,
        "time": iso_time(change.time_ms),
        "region": change.region,
        "resources": [str(change.detail.get("jobArn", ""))],
        "detail": change.detail,
    }


@dataclass(frozen=True)
class Delivery:
    """One target invocation an event or a schedule caused (for the on-demand firing's answer)."""

    rule: str
    target_id: str
    target_arn: str
    invocation: Invocation | None = None
    error: str | None = None


@dataclass(order=True)
class _Pending:
    due: float
    sequence: int
    account: str = field(compare=False)
    region: str = field(compare=False)
    event: dict[str, Any] = field(compare=False)


class EventBus:
    """Queues events, matches them to the rules of their account and Region, and delivers them."""

    def __init__(self, *, executor: LambdaExecutor, delay: float = 0.0) -> None:
        self.executor = executor
        self.delay = delay
        self._queue: list[_Pending] = []
        self._sequence = itertools.count()
        self._wake = threading.Condition()
        self._closed = False
        self._in_flight = 0
        self._thread = threading.Thread(target=self._loop, name="mnp-eventbridge", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------------------ producers

    def on_job_state_change(self, change: JobStateChange) -> None:
        """The runner's state listener: quick (queues the event), never calls back into the runner. Each
        change has a previous state ("Events aren't created for the initial job submission")."""
        self.put(change.account, change.region, batch_event(change))

    def put(self, account: str, region: str, event: dict[str, Any]) -> None:
        with self._wake:
            heapq.heappush(
                self._queue,
                _Pending(time.monotonic() + self.delay, next(self._sequence), account, region, event),
            )
            self._wake.notify()

    def busy(self) -> bool:
        with self._wake:
            return bool(self._queue) or self._in_flight > 0

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._queue.clear()
            self._wake.notify()
        self._thread.join(timeout=5)

    # ------------------------------------------------------------------------------ delivery

    def _loop(self) -> None:
        while True:
            with self._wake:
                while not self._closed and (not self._queue or self._queue[0].due > time.monotonic()):
                    timeout = self._queue[0].due - time.monotonic() if self._queue else None
                    self._wake.wait(timeout)
                if self._closed:
                    return
                pending = heapq.heappop(self._queue)
                self._in_flight += 1
            try:
                for rule in matching_rules(pending.account, pending.region, pending.event):
                    deliver(rule, pending.event, self.executor)
            except Exception:
                logger.exception("delivering event %s failed", pending.event.get("id"))
            finally:
                with self._wake:
                    self._in_flight -= 1


def _default_bus_rules(account: str, region: str) -> list[Any]:
    from moto.events.models import events_backends

    bus = events_backends[account][region].event_buses.get("default")
    return list(bus.rules.values()) if bus is not None else []


def matching_rules(account: str, region: str, event: dict[str, Any]) -> list[Any]:
    """The ENABLED event-pattern rules of the account and Region's default bus that match ``event``."""
    found = []
    for rule in _default_bus_rules(account, region):
        if rule.state not in _ENABLED or rule.scheduled_expression or not rule.event_pattern.get_pattern():
            continue
        if rule.event_pattern.matches_event(event):
            found.append(rule)
    return found


def deliver(
    rule: Any,
    event: dict[str, Any],
    executor: LambdaExecutor,
    *,
    wait: bool = False,
    on_invocation: Callable[[Invocation | None], None] | None = None,
) -> list[Delivery]:
    """Send ``event`` to every target of ``rule``; with ``wait``, run Lambda targets once and return their
    invocations (the on-demand firing), else invoke them asynchronously (retries, dead-letter queue)."""
    deliveries = []
    ingestion_time = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    for target in list(rule.targets):
        arn = str(target.get("Arn", ""))
        target_id = str(target.get("Id", ""))
        try:
            payload = target_payload(
                target, event, rule_arn=rule.arn, rule_name=rule.name, ingestion_time=ingestion_time
            ).encode("utf-8")
        except TargetInputError as error:
            logger.warning("rule %s: %s", rule.name, error)
            deliveries.append(Delivery(rule.name, target_id, arn, error=str(error)))
            continue
        service = arn.split(":")[2] if arn.count(":") >= 5 else ""
        if service == "lambda":
            if wait:
                try:
                    invocation = executor.invoke(arn, payload)
                except LambdaInvocationError as error:
                    deliveries.append(Delivery(rule.name, target_id, arn, error=str(error)))
                    continue
                deliveries.append(Delivery(rule.name, target_id, arn, invocation=invocation))
            else:
                executor.invoke_async(arn, payload, on_done=on_invocation)
                deliveries.append(Delivery(rule.name, target_id, arn))
        elif service == "sqs":
            _deliver_to_sqs(target, payload)
            deliveries.append(Delivery(rule.name, target_id, arn))
        else:
            logger.warning("rule %s: target %s (%s) is not delivered by the emulator", rule.name, target_id, arn)
            deliveries.append(Delivery(rule.name, target_id, arn, error="target type not delivered by the emulator"))
    return deliveries


def _deliver_to_sqs(target: dict[str, Any], payload: bytes) -> None:
    from moto.sqs.models import sqs_backends

    parts = str(target["Arn"]).split(":")
    group = (target.get("SqsParameters") or {}).get("MessageGroupId")
    try:
        sqs_backends[parts[4]][parts[3]].send_message(
            queue_name=parts[5],
            message_body=payload.decode("utf-8"),
            **({"group_id": group, "deduplication_id": str(uuid.uuid4())} if group else {}),
        )
    except Exception as error:
        logger.warning("cannot deliver to %s: %s", target.get("Arn"), error)
