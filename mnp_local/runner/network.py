"""Each node's private IPv4 address, the address the other nodes reach it by.

On AWS every MNP node is a container with an elastic network interface of its own (``awsvpc``), and
DescribeJobs shows its address in ``container.networkInterfaces[].privateIpv4Address``. Locally:

* ``loopback`` (default, unprivileged, Linux): each node gets a distinct address in ``127.B.0.0/16``
  (every address of ``127.0.0.0/8`` is a loopback address on Linux, no setup needed). ``B`` is chosen per
  emulator process, so two emulators on one machine rarely share addresses. The nodes share the host's
  network stack: a node that listens on ``0.0.0.0`` takes that port for every node, so servers should
  listen on their own address (the ECS task metadata endpoint tells a node which one it has).
* ``netns`` (root on Linux): each node runs in a network namespace of its own, with a veth pair to a
  bridge and an address in ``10.B.0.0/16``; ``0.0.0.0`` then means the node's own interface, as on AWS.
  The emulator is reached through a relay (:class:`TcpRelay`) on the bridge's address. ``tc netem`` is
  not available on every kernel (it is not on the machine this was built on), so latency or loss
  between nodes would need a user-space relay in front of a node's port; the runner offers none yet.
"""

from __future__ import annotations

import collections
import contextlib
import ipaddress
import logging
import os
import socket
import subprocess
import threading
from dataclasses import dataclass

from mnp_local.runner.processes import Reaper

logger = logging.getLogger(__name__)


class NetworkError(RuntimeError):
    """Node networking cannot be set up (the message says why and what to change)."""


def _second_octet() -> int:
    # 100..199: clear of 127.0.0.1 (the emulator itself) and of the 127.0.x.y that tools commonly use.
    return 100 + os.getpid() % 100


class LoopbackAddresses:
    """Distinct 127.B.x.y addresses for nodes; freed addresses are reused last (least recently used)."""

    def __init__(self, second_octet: int | None = None) -> None:
        octet = _second_octet() if second_octet is None else second_octet
        self.network = ipaddress.IPv4Network(f"127.{octet}.0.0/16")
        self._lock = threading.Lock()
        self._next = 1
        self._free: collections.deque[str] = collections.deque()
        self._in_use: set[str] = set()

    def allocate(self) -> str:
        with self._lock:
            while self._next < self.network.num_addresses - 1:
                candidate = str(self.network[self._next])
                self._next += 1
                if not candidate.endswith((".0", ".255")):
                    self._in_use.add(candidate)
                    return candidate
            if not self._free:
                raise NetworkError(f"every loopback address of {self.network} is in use by a node")
            address = self._free.popleft()
            self._in_use.add(address)
            return address

    def release(self, address: str) -> None:
        with self._lock:
            if address in self._in_use:
                self._in_use.discard(address)
                self._free.append(address)


@dataclass(frozen=True)
class NodeNamespace:
    name: str
    address: str
    host_link: str


class NamespaceNetwork:
    """Network namespaces on one bridge (``MNP_LOCAL_NODE_NETWORK=netns``); every change is registered
    with the reaper so a killed emulator leaves no namespace behind."""

    def __init__(self, reaper: Reaper, *, second_octet: int | None = None) -> None:
        if os.geteuid() != 0:
            raise NetworkError("MNP_LOCAL_NODE_NETWORK=netns needs root (network namespaces); unset it to use loopback")
        octet = _second_octet() if second_octet is None else second_octet
        self.network = ipaddress.IPv4Network(f"10.{octet}.0.0/16")
        self.gateway = str(self.network[1])
        self._tag = f"{os.getpid() % 100000}"
        self.bridge = f"mnpbr{self._tag}"
        self._reaper = reaper
        self._lock = threading.Lock()
        self._next = 2
        self._counter = 0
        self._bridge_up = False

    def _ip(self, *args: str) -> None:
        result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise NetworkError(f"`ip {' '.join(args)}` failed: {result.stderr.strip() or result.returncode}")

    def _ensure_bridge(self) -> None:
        if self._bridge_up:
            return
        with contextlib.suppress(NetworkError):
            self._ip("link", "delete", self.bridge)  # left over from an emulator of the same pid
        self._ip("link", "add", self.bridge, "type", "bridge")
        self._reaper.tell("link", self.bridge)
        self._ip("addr", "add", f"{self.gateway}/{self.network.prefixlen}", "dev", self.bridge)
        self._ip("link", "set", self.bridge, "up")
        self._bridge_up = True

    def create(self) -> NodeNamespace:
        with self._lock:
            self._ensure_bridge()
            if self._next >= self.network.num_addresses - 1:
                raise NetworkError(f"every address of {self.network} is in use by a node")
            address = str(self.network[self._next])
            self._next += 1
            self._counter += 1
            name = f"mnp{self._tag}n{self._counter}"
        host, inner = f"mh{self._tag}n{self._counter}"[:15], f"mi{self._tag}n{self._counter}"[:15]
        self._ip("netns", "add", name)
        self._reaper.tell("netns", name)
        self._ip("link", "add", host, "type", "veth", "peer", "name", inner)
        self._ip("link", "set", inner, "netns", name)
        self._ip("link", "set", host, "master", self.bridge)
        self._ip("link", "set", host, "up")
        self._ip("-n", name, "link", "set", "lo", "up")
        self._ip("-n", name, "addr", "add", f"{address}/{self.network.prefixlen}", "dev", inner)
        self._ip("-n", name, "link", "set", inner, "up")
        self._ip("-n", name, "route", "add", "default", "via", self.gateway)
        return NodeNamespace(name=name, address=address, host_link=host)

    def exec_prefix(self, namespace: NodeNamespace) -> list[str]:
        # `ip netns exec` execs the command itself (no fork), so the node's command keeps its exec form.
        return ["ip", "netns", "exec", namespace.name]

    def delete(self, namespace: NodeNamespace) -> None:
        with contextlib.suppress(NetworkError):
            self._ip("netns", "delete", namespace.name)
        with contextlib.suppress(NetworkError):
            self._ip("link", "delete", namespace.host_link)
        self._reaper.tell("unnetns", namespace.name)

    def close(self) -> None:
        if self._bridge_up:
            with contextlib.suppress(NetworkError):
                self._ip("link", "delete", self.bridge)
            self._reaper.tell("unlink", self.bridge)
            self._bridge_up = False


class TcpRelay:
    """Accepts TCP connections on ``listen`` and relays each to ``target`` (lets nodes in network
    namespaces reach the emulator and the task metadata endpoint, which listen on 127.0.0.1 only)."""

    def __init__(self, listen: tuple[str, int], target: tuple[str, int]) -> None:
        self.target = target
        self._server = socket.create_server(listen, reuse_port=False)
        self.address = self._server.getsockname()[:2]
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, name=f"mnp-relay-{listen[0]}", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=10)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        pumps = [
            threading.Thread(target=self._pump, args=(source, sink), daemon=True)
            for source, sink in ((client, upstream), (upstream, client))
        ]
        for pump in pumps:
            pump.start()
        for pump in pumps:
            pump.join()
        client.close()
        upstream.close()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._server.close()
