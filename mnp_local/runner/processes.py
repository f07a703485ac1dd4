"""Node processes: a node's container command run as a host process, and what keeps it from leaking.

A container engine runs the command in *exec form*: ``argv[0]`` is looked up on the container's
``PATH`` and executed with the rest as its arguments; no shell is involved unless the command starts one
(``["/bin/sh", "-c", "..."]``). :func:`start_node_process` does the same with ``subprocess.Popen`` on
the list, with the container's environment only (nothing of the emulator's own environment leaks in but
``PATH``, see :mod:`mnp_local.runner.lifecycle`), in the node's fresh working directory.

Each node gets a session (and so a process group) of its own, like the process tree of a container: when
the command exits, or the node is stopped, the whole group goes (``SIGTERM``, then ``SIGKILL`` after the
grace period). Every group is also registered with the :class:`Reaper`, a small process that kills what
is left if the emulator dies without cleaning up (even by ``SIGKILL``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

logger = logging.getLogger(__name__)


class NodeStartError(RuntimeError):
    """The node's command could not be started; ``reason`` is what DescribeJobs shows, as AWS words it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def docker_exit_code(returncode: int) -> int:
    """A container's exit code as Docker reports it: a process killed by signal N exits with 128 + N."""
    return 128 - returncode if returncode < 0 else returncode


class Reaper:
    """Talks to the reaper process (:mod:`mnp_local.runner.reaper`); thread-safe; starts lazily."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None
        self._closed = False

    def _stdin(self) -> IO[str] | None:
        if self._closed:
            # After close() the emulator is shutting down: a new reaper would be one nobody ends.
            return None
        if self._process is None or self._process.poll() is not None:
            try:
                # The file itself in isolated mode, not ``-m``: importing the package would import moto
                # (over a second of start-up); the reaper needs the standard library only.
                self._process = subprocess.Popen(
                    [sys.executable, "-I", str(Path(__file__).with_name("reaper.py"))],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    text=True,
                    start_new_session=True,
                )
            except OSError as error:
                logger.warning("cannot start the node reaper (%s): nodes may outlive a killed emulator", error)
                return None
        return self._process.stdin

    def tell(self, verb: str, argument: object) -> None:
        with self._lock:
            stdin = self._stdin()
            if stdin is None:
                if self._closed and not verb.startswith("un"):
                    logger.warning("the node reaper is closed; %s %s not recorded", verb, argument)
                return
            try:
                stdin.write(f"{verb} {argument}\n")
                stdin.flush()
            except (BrokenPipeError, ValueError, OSError):
                logger.warning("the node reaper is gone; %s %s not recorded", verb, argument)

    def close(self) -> None:
        """End the reaper: it cleans up whatever is still registered, then exits."""
        with self._lock:
            process, self._process = self._process, None
            self._closed = True
        if process is None:
            return
        with contextlib.suppress(OSError, ValueError):
            if process.stdin is not None:
                process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class NodeProcess:
    """One running node command. ``output`` is its stdout and stderr, merged, as the awslogs driver
    sends both to the same stream."""

    def __init__(self, popen: subprocess.Popen[bytes], reaper: Reaper | None) -> None:
        self.popen = popen
        self.pid = popen.pid
        self._reaper = reaper
        self._group_gone = False
        if reaper is not None:
            reaper.tell("group", self.pid)

    @property
    def output(self) -> IO[bytes]:
        assert self.popen.stdout is not None
        return self.popen.stdout

    def poll(self) -> int | None:
        """The exit code (Docker's convention) once the command has exited, else None."""
        returncode = self.popen.poll()
        return None if returncode is None else docker_exit_code(returncode)

    def signal_group(self, signum: int) -> None:
        if self._group_gone:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signum)

    def finish(self) -> None:
        """The command has exited: end whatever it left in its group (a container's processes end with its
        main process), reap it, and deregister the group."""
        self.signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)
        self._group_gone = True
        if self._reaper is not None:
            self._reaper.tell("ungroup", self.pid)


def start_node_process(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    reaper: Reaper | None,
    prefix: Sequence[str] = (),
) -> NodeProcess:
    """Start ``argv`` in exec form (after ``prefix``, e.g. ``ip netns exec NAME``); raises
    :class:`NodeStartError` with the reason ECS gives when a container cannot start."""
    if not argv:
        raise NodeStartError(
            "CannotStartContainerError: the job definition has no command, and the image's own CMD cannot "
            "run without a container engine (mnp_local runs the command as a host process): set command"
        )
    try:
        popen = subprocess.Popen(
            [*prefix, *argv],
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    except FileNotFoundError:
        raise NodeStartError(
            f'CannotStartContainerError: exec: "{argv[0]}": executable file not found in $PATH'
        ) from None
    except PermissionError:
        raise NodeStartError(f'CannotStartContainerError: exec: "{argv[0]}": permission denied') from None
    except OSError as error:
        raise NodeStartError(f'CannotStartContainerError: exec: "{argv[0]}": {error.strerror or error}') from None
    return NodeProcess(popen, reaper)
