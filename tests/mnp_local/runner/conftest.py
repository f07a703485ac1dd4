"""Fixtures: an emulator (``python -m mnp_local serve`` in a process of its own) per test module."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from mnp_local import LocalAws
from tests.mnp_local.runner.emulator import TIME_SCALE, Emulator


@contextlib.contextmanager
def running_emulator(**env: str) -> Iterator[Emulator]:
    """An emulator with the test time scale and ``env`` (``MNP_LOCAL_*`` settings) for a ``with`` block."""
    settings = {"MNP_LOCAL_TIME_SCALE": str(TIME_SCALE), **env}
    with LocalAws(env=settings, idle_timeout=600) as endpoint:
        yield Emulator(endpoint=endpoint)


@dataclass
class Environment:
    """An emulator with one large compute environment (4,096 vCPUs of c5.large) and its queue."""

    emulator: Emulator
    queue: str
    compute_environment: str


@pytest.fixture(scope="module")
def env() -> Iterator[Environment]:
    with running_emulator(MNP_LOCAL_SEED="1234") as emulator:
        compute_environment = emulator.compute_environment()
        yield Environment(emulator, emulator.queue(compute_environment), compute_environment)
