"""Schedule rules: fired on the emulator's scaled clock, or on demand.

moto 5.2.5 stores a rule's ``ScheduleExpression`` and never fires it. Here a rule with ``rate(N unit)``
fires every ``N unit`` times ``MNP_LOCAL_TIME_SCALE`` (the first time one period after the scheduler first
saw it ENABLED), when ``MNP_LOCAL_SCHEDULES`` is ``on`` (the default): with the time scale of 0.01, the
watchdog's ``rate(5 minutes)`` sweep runs every 3 s. ``cron(...)`` expressions are not fired on the
clock (said once per rule); any schedule rule can be fired on demand with :func:`fire_rule`
(``POST /mnp-local/events/fire-rule``), which is how tests run a sweep exactly when they want it.

A firing sends each target the scheduled event the EventBridge user guide shows ("detail-type":
"Scheduled Event", "source": "aws.events", the rule's ARN in ``resources``, an empty ``detail``), through
the target's ``Input``/``InputTransformer`` like any event (:mod:`.targets`).
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from mnp_local.eventbridge.bus import Delivery, deliver
from mnp_local.eventbridge.lambdas import LambdaExecutor

logger = logging.getLogger(__name__)

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_TICK_SECONDS = 0.05


class ScheduleError(ValueError):
    """A rule cannot be fired: not found, or not a schedule rule."""


def rate_seconds(expression: str | None) -> float | None:
    """The period of a ``rate(...)`` expression in seconds; None for anything else (``cron(...)``)."""
    match = _RATE.match((expression or "").strip())
    if match is None:
        return None
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


def scheduled_event(rule: Any) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": rule.account_id,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": rule.region_name,
        "resources": [rule.arn],
        "detail": {},
    }


def find_rule(account: str, region: str, name: str, bus: str = "default") -> Any:
    from moto.events.models import events_backends

    bus_model = events_backends[account][region].event_buses.get(bus)
    rule = bus_model.rules.get(name) if bus_model is not None else None
    if rule is None:
        raise ScheduleError(f"rule {name} does not exist on event bus {bus} of account {account} in {region}")
    return rule


def fire_rule(
    executor: LambdaExecutor, *, account: str, region: str, name: str, bus: str = "default", wait: bool = True
) -> list[Delivery]:
    """Fire schedule rule ``name`` now, as its schedule would; with ``wait``, return after its Lambda
    targets ran (one invocation each, no retries). A DISABLED rule fires too: this is a manual run."""
    rule = find_rule(account, region, name, bus)
    if not rule.scheduled_expression:
        raise ScheduleError(f"rule {name} has no ScheduleExpression: it reacts to events, it is not a schedule")
    return deliver(rule, scheduled_event(rule), executor, wait=wait)


class Scheduler:
    """Fires every ENABLED ``rate(...)`` rule of every account and Region on the scaled clock."""

    def __init__(self, *, executor: LambdaExecutor, time_scale: float) -> None:
        self._executor = executor
        self._time_scale = time_scale
        self._next: dict[str, float] = {}
        self._warned: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="mnp-schedules", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _rules(self) -> list[Any]:
        from moto.events.models import events_backends

        rules: list[Any] = []
        for account in list(events_backends.values()):
            for backend in list(account.values()):
                for bus in list(backend.event_buses.values()):
                    rules.extend(rule for rule in list(bus.rules.values()) if rule.scheduled_expression)
        return rules

    def _loop(self) -> None:
        while not self._stop.wait(_TICK_SECONDS):
            try:
                self._tick()
            except Exception:
                logger.exception("the schedule rules could not be checked")

    def _tick(self) -> None:
        now = time.monotonic()
        seen = set()
        for rule in self._rules():
            key = f"{rule.arn}"
            seen.add(key)
            if rule.state != "ENABLED":
                self._next.pop(key, None)
                continue
            period = rate_seconds(rule.scheduled_expression)
            if period is None:
                if key not in self._warned:
                    logger.warning(
                        "rule %s: %s is not fired on the clock (rate(...) only); fire it on demand",
                        rule.name,
                        rule.scheduled_expression,
                    )
                    self._warned.add(key)
                continue
            scaled = max(period * self._time_scale, _TICK_SECONDS)
            due = self._next.setdefault(key, now + scaled)
            if now >= due:
                self._next[key] = now + scaled
                deliver(rule, scheduled_event(rule), self._executor)
        for gone in set(self._next) - seen:
            del self._next[gone]
