"""The emulator's knobs for running multi-node parallel jobs, read from the environment once at start.

=======================================  ==========================================================
``MNP_LOCAL_TIME_SCALE`` (default 1)     multiplies every AWS duration the emulator waits out: a queue's
                                         ``jobStateTimeLimitActions[].maxTimeSeconds``, a job's
                                         ``attemptDurationSeconds`` and the grace between SIGTERM and
                                         SIGKILL when nodes are stopped. ``0.001`` makes the 600 s
                                         minimum of ``maxTimeSeconds`` 0.6 s, so tests need not wait.
``MNP_LOCAL_SEED``                       seeds the order and delays of child-node launches; unset, a
                                         random seed is drawn and written to the job's log, so any run
                                         can be reproduced.
``MNP_LOCAL_CHILD_DELAY_MAX`` (0.02)     the largest random delay, in seconds, between the main node
                                         reaching RUNNING and a child node's launch.
``MNP_LOCAL_NODE_NETWORK`` (loopback)    ``loopback``: each node gets a distinct 127.x.y.z address;
                                         ``netns``: each node runs in a network namespace of its own
                                         on a bridge (root on Linux only).
``MNP_LOCAL_WORK_DIR``                   where node working directories are made (default: a
                                         temporary directory removed when the emulator stops).
``MNP_LOCAL_KEEP_WORK_DIRS`` (0)         ``1`` keeps each node's working directory after its job ends.
``MNP_LOCAL_EVENT_DELAY`` (0)            seconds (not scaled) between a job state change and the
                                         delivery of its EventBridge event: a late delivery, to
                                         reproduce races (EventBridge promises no delivery time).
``MNP_LOCAL_PARENT_LAG`` (0)             seconds (not scaled) between the main node's end and its
                                         parent job's: the moment in which the parent still reads
                                         RUNNING while the stopped children read FAILED.
``MNP_LOCAL_SCHEDULES`` (on)             ``on``: schedule rules (``rate(...)``) fire on the scaled
                                         clock; ``off``: only when fired on demand
                                         (``POST /mnp-local/events/fire-rule``).
=======================================  ==========================================================

A value that cannot be used is an error naming the variable, never a silent default.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mnp_toolkit.core.limits import NODE_STOP_GRACE_SECONDS

NodeNetwork = Literal["loopback", "netns"]

#: The emulator and its helpers (ECS task metadata endpoint) listen here only.
LOOPBACK = "127.0.0.1"

ENV_TIME_SCALE = "MNP_LOCAL_TIME_SCALE"
ENV_SEED = "MNP_LOCAL_SEED"
ENV_CHILD_DELAY_MAX = "MNP_LOCAL_CHILD_DELAY_MAX"
ENV_NODE_NETWORK = "MNP_LOCAL_NODE_NETWORK"
ENV_WORK_DIR = "MNP_LOCAL_WORK_DIR"
ENV_KEEP_WORK_DIRS = "MNP_LOCAL_KEEP_WORK_DIRS"
ENV_EVENT_DELAY = "MNP_LOCAL_EVENT_DELAY"
ENV_PARENT_LAG = "MNP_LOCAL_PARENT_LAG"
ENV_SCHEDULES = "MNP_LOCAL_SCHEDULES"

#: "If the container handles the SIGTERM gracefully and exits within 30 seconds from receiving it, no
#: SIGKILL is sent" (ECS API reference, StopTask; the ECS agent's ``ECS_CONTAINER_STOP_TIMEOUT`` default,
#: which Batch job definitions cannot change).
STOP_GRACE_SECONDS = NODE_STOP_GRACE_SECONDS
#: Default of ``MNP_LOCAL_CHILD_DELAY_MAX``: small enough that a 64-node job starts in a blink, large
#: enough that children really come up in a different order each run.
DEFAULT_CHILD_DELAY_MAX = 0.02


class SettingsError(ValueError):
    """An ``MNP_LOCAL_*`` variable holds a value the emulator cannot use."""


@dataclass(frozen=True)
class RunnerSettings:
    time_scale: float = 1.0
    seed: int | None = None
    child_delay_max: float = DEFAULT_CHILD_DELAY_MAX
    node_network: NodeNetwork = "loopback"
    work_dir: Path | None = None
    keep_work_dirs: bool = False
    event_delay: float = 0.0
    parent_lag: float = 0.0
    schedules: bool = True

    def scaled(self, seconds: float) -> float:
        """``seconds`` of AWS time as seconds of emulator time."""
        return seconds * self.time_scale

    @property
    def stop_grace(self) -> float:
        return self.scaled(STOP_GRACE_SECONDS)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> RunnerSettings:
        env = os.environ if environ is None else environ
        problems: list[str] = []
        time_scale = _positive(env, ENV_TIME_SCALE, 1.0, problems)
        child_delay = _positive(env, ENV_CHILD_DELAY_MAX, DEFAULT_CHILD_DELAY_MAX, problems, allow_zero=True)
        seed: int | None = None
        if env.get(ENV_SEED, "").strip():
            text = env[ENV_SEED].strip()
            if text.isascii() and text.lstrip("-").isdigit():
                seed = int(text)
            else:
                problems.append(f"{ENV_SEED}={env[ENV_SEED]!r} is not an integer: set a whole number or unset it")
        network = env.get(ENV_NODE_NETWORK, "loopback").strip() or "loopback"
        if network not in ("loopback", "netns"):
            problems.append(f"{ENV_NODE_NETWORK}={network!r} is neither 'loopback' nor 'netns'")
            network = "loopback"
        work_dir = Path(env[ENV_WORK_DIR]) if env.get(ENV_WORK_DIR, "").strip() else None
        if work_dir is not None and not work_dir.is_dir():
            problems.append(f"{ENV_WORK_DIR}={work_dir} is not a directory: create it or unset the variable")
        keep = env.get(ENV_KEEP_WORK_DIRS, "0").strip()
        if keep not in ("0", "1", ""):
            problems.append(f"{ENV_KEEP_WORK_DIRS}={keep!r} must be 0 or 1")
        event_delay = _positive(env, ENV_EVENT_DELAY, 0.0, problems, allow_zero=True)
        parent_lag = _positive(env, ENV_PARENT_LAG, 0.0, problems, allow_zero=True)
        schedules = env.get(ENV_SCHEDULES, "on").strip() or "on"
        if schedules not in ("on", "off"):
            problems.append(f"{ENV_SCHEDULES}={schedules!r} must be 'on' or 'off'")
        if problems:
            raise SettingsError("; ".join(problems))
        return cls(
            time_scale=time_scale,
            seed=seed,
            child_delay_max=child_delay,
            node_network=network,  # type: ignore[arg-type]
            work_dir=work_dir,
            keep_work_dirs=keep == "1",
            event_delay=event_delay,
            parent_lag=parent_lag,
            schedules=schedules == "on",
        )


def _positive(
    env: Mapping[str, str], name: str, default: float, problems: list[str], *, allow_zero: bool = False
) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        problems.append(f"{name}={text!r} is not a number")
        return default
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        problems.append(f"{name}={text!r} must be a {'non-negative' if allow_zero else 'positive'} finite number")
        return default
    return value
