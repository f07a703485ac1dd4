"""EventBridge and Lambda in the emulated AWS: Batch events reach the deployed rules, Lambda targets run their code.

moto 5.2.5 creates rules and functions but runs neither: Batch emits no events, PutEvents cannot deliver
to a Lambda target, schedules never fire and, without Docker, ``Invoke`` runs no code. With the node
runner running jobs for real, this package closes the loop the watchdog needs, on moto's own models:

* :mod:`.bus` -- each job state change the runner reports becomes a "Batch Job State Change" event on the
  account's default bus, matched against the ENABLED rules with moto's ``EventPattern``;
* :mod:`.targets` -- a target's ``Input``/``InputPath``/``InputTransformer``, as EventBridge applies them;
* :mod:`.lambdas` -- a Lambda target runs **the deployed function's code** (the zip moto stored) in a host
  subprocess, with the function's environment, timeout, log group and credentials for the emulator;
* :mod:`.schedule` -- ``rate(...)`` rules fire on the scaled clock, or on demand;
* :mod:`.control` -- ``POST /mnp-local/events/fire-rule`` (fire a schedule now) and
  ``POST /mnp-local/credentials`` (keys of another account).

:func:`install` (done by ``python -m mnp_local serve``) wires it to the node runner; docs/local-run.md
describes what is faithful and what is not.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mnp_local.eventbridge.bus import EventBus
    from mnp_local.eventbridge.lambdas import LambdaExecutor
    from mnp_local.eventbridge.schedule import Scheduler

_lock = threading.Lock()
_installed: EventBridge | None = None


class EventBridge:
    """The pieces of one emulator process: the executor, the bus, the scheduler (or None)."""

    def __init__(self, *, executor: LambdaExecutor, bus: EventBus, scheduler: Scheduler | None) -> None:
        self.executor = executor
        self.bus = bus
        self.scheduler = scheduler
        self._unsubscribe: Any = None

    def busy(self) -> bool:
        """Whether events wait for delivery or functions run (not idle)."""
        return self.bus.busy() or self.executor.busy()

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self.scheduler is not None:
            self.scheduler.close()
        self.bus.close()
        self.executor.close()


def install(runner: Any) -> EventBridge:
    """Deliver ``runner``'s job state changes as events; start the executor and the scheduler (idempotent)."""
    global _installed
    from mnp_local.accounts import credentials_for
    from mnp_local.eventbridge.bus import EventBus
    from mnp_local.eventbridge.lambdas import LambdaExecutor
    from mnp_local.eventbridge.schedule import Scheduler

    with _lock:
        if _installed is None:
            settings = runner.settings
            executor = LambdaExecutor(
                endpoint=lambda: runner.endpoint,
                credentials=credentials_for,
                reaper=runner.reaper,
                time_scale=settings.time_scale,
            )
            bus = EventBus(executor=executor, delay=settings.event_delay)
            scheduler = Scheduler(executor=executor, time_scale=settings.time_scale) if settings.schedules else None
            _installed = EventBridge(executor=executor, bus=bus, scheduler=scheduler)
            _installed._unsubscribe = runner.subscribe(state=bus.on_job_state_change)
        return _installed


def current() -> EventBridge | None:
    return _installed


def shutdown() -> None:
    global _installed
    with _lock:
        installed, _installed = _installed, None
    if installed is not None:
        installed.close()
