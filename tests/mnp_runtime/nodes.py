"""Helpers that run `mnp-node` nodes as separate processes on loopback.

Linux routes all of 127.0.0.0/8 to the loopback interface, so every node gets its own address
(``--advertise-address`` and ``--bind-address``) and the hostfile shows which process is which.
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

RUNTIME_DIR = Path(__file__).resolve().parents[2] / "runtime"

PYCACHE_DIR = os.path.join(tempfile.gettempdir(), f"mnp-runtime-test-pycache-{os.getuid()}")

# Each Cluster takes its own 127.<net>.x.y block, so tests never share an address (and so a port).
_NETS = itertools.count(40 + os.getpid() % 150)


def node_env(
    *,
    index: int | str | None,
    num_nodes: int | str | None,
    main_index: int | str | None = 0,
    main_address: str | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """A clean environment with the Batch MNP variables given (None leaves one unset)."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("AWS_BATCH_") and k != "ECS_CONTAINER_METADATA_URI_V4"
    }
    # The package is importable from source even where it was not pip-installed.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(RUNTIME_DIR), env.get("PYTHONPATH", "")) if p)
    # Like a pip-installed package, run from bytecode: compiling the modules again in each of hundreds
    # of node processes would dominate their start-up. The cache lives outside the work tree.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = PYCACHE_DIR
    for name, value in (
        ("AWS_BATCH_JOB_NODE_INDEX", index),
        ("AWS_BATCH_JOB_NUM_NODES", num_nodes),
        ("AWS_BATCH_JOB_MAIN_NODE_INDEX", main_index),
        ("AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS", main_address),
    ):
        if value is not None:
            env[name] = str(value)
    env.update(extra or {})
    return env


def run_cli(args: list[str], env: dict[str, str], *, python: str = sys.executable) -> subprocess.CompletedProcess[str]:
    """Run ``python -m mnp_runtime ARGS`` to completion."""
    return subprocess.run(
        [python, "-m", "mnp_runtime", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@dataclass
class Node:
    """One running node process; its stderr goes to a file so many nodes never block on pipes."""

    index: int
    address: str
    hostfile: Path
    stderr_path: Path
    proc: subprocess.Popen[bytes]

    def wait(self, timeout: float = 120) -> int:
        return self.proc.wait(timeout=timeout)

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def error_lines(self) -> list[str]:
        """The stderr lines that are not --verbose progress lines."""
        return [line for line in self.stderr.splitlines() if not line.startswith("mnp-node[")]


_WARMED: set[str] = set()


def _warm_bytecode_cache(python: str) -> None:
    """Compile the package once per interpreter before many nodes start at the same time."""
    if python not in _WARMED:
        env = node_env(index=None, num_nodes=None, main_index=None)
        subprocess.run([python, "-S", "-c", "import mnp_runtime.cli"], env=env, check=True, timeout=60)
        _WARMED.add(python)


class Cluster:
    """Launches the nodes of one simulated MNP job on loopback."""

    def __init__(self, tmp_path: Path, *, num_nodes: int, main_index: int = 0, python: str = sys.executable) -> None:
        self.tmp_path = tmp_path
        self.num_nodes = num_nodes
        self.main_index = main_index
        self.python = python
        self.net = next(_NETS) % 250 + 2
        self.port = self._free_port()
        self.nodes: list[Node] = []
        _warm_bytecode_cache(python)

    def address(self, index: int) -> str:
        return f"127.{self.net}.{index // 250}.{index % 250 + 1}"

    @property
    def main_address(self) -> str:
        return self.address(self.main_index)

    def _free_port(self) -> int:
        with socket.socket() as probe:
            probe.bind((self.address(self.main_index), 0))
            return int(probe.getsockname()[1])

    def start(
        self,
        index: int,
        *,
        timeout: float = 60,
        env_index: int | None = None,
        env_num_nodes: int | None = None,
        verbose: bool = True,
        address: str | None = None,
        extra_args: list[str] | None = None,
        extra_env: dict[str, str] | None = None,
        name: str | None = None,
        nofile: int | None = None,
    ) -> Node:
        """Start node `index` (env values overridable to simulate misconfigured nodes); `nofile` sets
        the process's open-files limit (soft and hard), as a job definition's ulimits would."""
        label = name or f"node{index}"
        address = address or self.address(index)
        hostfile = self.tmp_path / f"{label}.hosts"
        stderr_path = self.tmp_path / f"{label}.err"
        is_main = index == self.main_index and env_index is None
        env = node_env(
            index=index if env_index is None else env_index,
            num_nodes=self.num_nodes if env_num_nodes is None else env_num_nodes,
            main_index=self.main_index,
            main_address=None if is_main else self.main_address,
            extra=extra_env,
        )
        # -S (no site-packages) makes start-up cheaper, which counts with hundreds of nodes, and shows
        # that the package needs nothing beyond the standard library.
        args = [
            self.python, "-S", "-m", "mnp_runtime", "rendezvous",
            "--hostfile", str(hostfile),
            "--port", str(self.port),
            "--timeout", str(timeout),
            "--bind-address", address,
        ]  # fmt: skip
        if "--advertise-address" not in (extra_args or []) and not (extra_env or {}).get(
            "ECS_CONTAINER_METADATA_URI_V4"
        ):
            args += ["--advertise-address", address]
        args += ["--slots", "2"]
        if verbose:
            args.append("-v")
        args += extra_args or []
        if nofile is not None:
            args = [self.python, "-S", "-c", _SET_NOFILE_THEN_EXEC, str(nofile), *args]
        with stderr_path.open("wb") as err:
            proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=err)
        node = Node(index, address, hostfile, stderr_path, proc)
        self.nodes.append(node)
        return node

    def expected_hostfile(self, slots: int = 2) -> str:
        return "".join(f"{self.address(i)} slots={slots}\n" for i in range(self.num_nodes))

    def kill_all(self) -> None:
        for node in self.nodes:
            if node.proc.poll() is None:
                node.proc.kill()
                node.proc.wait()


# Sets RLIMIT_NOFILE (soft and hard) and execs the rest of argv: a limit for one node without
# preexec_fn, which is unsafe in a test process that runs threads.
_SET_NOFILE_THEN_EXEC = (
    "import os, resource, sys; n = int(sys.argv[1]); resource.setrlimit(resource.RLIMIT_NOFILE, (n, n)); "
    "os.execv(sys.argv[2], sys.argv[2:])"
)


def wait_for(predicate: Callable[[], bool], *, timeout: float = 60, what: str) -> None:
    """Poll `predicate` until true; fail naming `what` (a liveness bound, not a timing assertion)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")
