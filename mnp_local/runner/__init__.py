"""The local node runner: multi-node parallel jobs submitted to the emulated Batch really run.

Each node of a ``multinode`` job is a host process (the container's command in exec form, its
environment, a fresh working directory, a private address of its own) and moves through the states the
AWS Batch user guide describes, in moto's own job store, so plain boto3 calls (DescribeJobs, ListJobs,
TerminateJob, CancelJob) and CloudWatch Logs see it as they would on AWS. See docs/local-run.md for what
is faithful and what is not (no image runs: there is no container engine).

:func:`install` (done by ``python -m mnp_local serve``) patches moto and returns the process's
:class:`~mnp_local.runner.runner.Runner`; :func:`shutdown` stops every node. Modules:

* :mod:`.settings` -- ``MNP_LOCAL_*`` environment variables (time scale, seed, node network);
* :mod:`.hooks` -- the moto patches; :mod:`.jobs` -- the parent and node job models;
* :mod:`.runner` -- SubmitJob checks and shared state; :mod:`.lifecycle` -- one job's run;
* :mod:`.capacity` -- placement and RUNNABLE reasons; :mod:`.network` -- addresses and namespaces;
* :mod:`.processes`, :mod:`.reaper` -- node processes and what keeps them from leaking;
* :mod:`.logs` -- CloudWatch Logs streams; :mod:`.metadata` -- the ECS task metadata endpoint;
* :mod:`.events` -- listeners for job state changes and node output.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

# Light modules only at import time: the settings are checked before moto is imported (a bad setting then
# fails in milliseconds), and the reaper runs without the package.
from mnp_local.runner.events import JobStateChange, NodeOutput
from mnp_local.runner.settings import RunnerSettings, SettingsError

if TYPE_CHECKING:
    from mnp_local.runner.runner import Runner

_lock = threading.Lock()
_runner: Runner | None = None


def install(settings: RunnerSettings | None = None) -> Runner:
    """Hook the runner into moto (idempotent); the settings default to the ``MNP_LOCAL_*`` variables."""
    global _runner
    from mnp_local.runner import hooks
    from mnp_local.runner.runner import Runner

    with _lock:
        if _runner is None:
            _runner = Runner(settings or RunnerSettings.from_environment())
        hooks.install(_runner)
        return _runner


def current() -> Runner | None:
    """The installed runner, if any."""
    return _runner


def shutdown() -> None:
    """Stop every job's nodes and the runner's helpers (the emulator is stopping)."""
    global _runner
    with _lock:
        runner, _runner = _runner, None
    if runner is not None:
        runner.shutdown()


__all__ = [
    "JobStateChange",
    "NodeOutput",
    "RunnerSettings",
    "SettingsError",
    "current",
    "install",
    "shutdown",
]
