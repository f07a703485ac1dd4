"""The rendezvous under attack and under faults, with real node processes on loopback.

- garbage peers, a flood of idle connections and oversized lines arrive while a real rendezvous runs,
  on a main node whose open-files limit is too small for the flood: it must still complete;
- a main node with no descriptor left backs off (no busy loop) and says once which limit to raise;
- a child that registered and then hit its own, shorter --timeout is named as such by the main node;
- a child started again after the host list was sent is told the rendezvous was already complete.
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mnp_runtime.rendezvous import run_child
from tests.mnp_runtime.nodes import Cluster, node_env, wait_for
from tests.mnp_runtime.test_rendezvous_server import RawChild

EXIT_TIMEOUT, EXIT_REJECTED = 3, 4


@pytest.fixture
def cluster_factory() -> Iterator[list[Cluster]]:
    made: list[Cluster] = []
    yield made
    for cluster in made:
        cluster.kill_all()


def _garbage(rng: random.Random) -> list[bytes]:
    """What a port scanner, a health check, a confused client or an attacker might send."""
    register = (
        b'{"type":"register","protocol":1,"index":1,"num_nodes":6,"address":"10.0.0.9","slots":1,'
        b'"session":"evil","job":null}'
    )
    return [
        b"[" * 4000 + b"\n",  # a RecursionError for the json module
        b'{"type":"register","x":' + b"{" * 4000,  # deep and oversized, no newline
        b"A" * 200_000,  # oversized, no newline
        b"B" * 5000 + b"\n",  # oversized line
        bytes(rng.randrange(256) for _ in range(8192)),
        b"GET / HTTP/1.1\r\nHost: main\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(64),  # the start of a TLS ClientHello
        b"\x00" * 3000 + b"\n",
        b'{"type":"register","protocol":1,"index":' + b"9" * 3900 + b"}\n",
        b'{"type":"done","ok":true}\n',
        b'{"type":"leaving","reason":"timeout"}\n',
        b'{"type":"register","job":"\\u001b[2J\\ud800"}\n',
        register.replace(b'"index":1', b'"index":1.0') + b"\n",
        register.replace(b'"num_nodes":6', b'"num_nodes":7') + b"\n",
        b"\n" * 4000,
    ]


def _send_quietly(address: str, port: int, payload: bytes) -> None:
    with contextlib.suppress(OSError), socket.create_connection((address, port), timeout=5) as sock:
        sock.sendall(payload)
        sock.settimeout(2)
        with contextlib.suppress(OSError):
            sock.recv(65536)


def test_rendezvous_completes_amid_garbage_peers_an_idle_flood_and_oversized_lines(
    cluster_factory: list[Cluster], tmp_path: Path
) -> None:
    cluster = Cluster(tmp_path, num_nodes=6, main_index=0)
    cluster_factory.append(cluster)
    run_hostile_rendezvous(cluster)


def run_hostile_rendezvous(cluster: Cluster) -> None:
    """Garbage, an idle flood and oversized lines during a real 6-node rendezvous (also run on 3.9)."""
    # 6 nodes need 70 descriptors (num_nodes + 64); 100 leaves far too few for a flood of 300.
    main = cluster.start(0, timeout=120, nofile=100)
    wait_for(lambda: "listening on" in main.stderr, what="the main node to listen")
    rng = random.Random(15)
    flood: list[socket.socket] = []
    stop = threading.Event()
    first_round_sent = threading.Event()

    def send_garbage() -> None:
        for _round in range(3):
            for payload in _garbage(rng):
                if stop.is_set():
                    return
                _send_quietly(cluster.main_address, cluster.port, payload)
            first_round_sent.set()

    sender = threading.Thread(target=send_garbage)
    try:
        for _ in range(300):  # idle connections, held open: far more than the main node has descriptors
            with contextlib.suppress(OSError):
                flood.append(socket.create_connection((cluster.main_address, cluster.port), timeout=5))
        sender.start()
        first_round_sent.wait(timeout=120)
        # The children arrive while the flood is held open and the garbage keeps coming.
        children = [cluster.start(index, timeout=120) for index in (3, 1, 5, 2, 4)]
        codes = [node.wait() for node in [main, *children]]
    finally:
        stop.set()
        if sender.is_alive():
            sender.join(timeout=60)
        for sock in flood:
            sock.close()
    assert codes == [0] * 6, [n.stderr[-3000:] for n in cluster.nodes]
    for node in cluster.nodes:
        assert node.hostfile.read_text() == cluster.expected_hostfile()
    assert "internal error" not in main.stderr
    # The garbage reached the parser (and was refused there), and the flood was shed to make room.
    assert "protocol error: message nested 4000 levels deep" in main.stderr
    assert "to make room: it has not registered" in main.stderr
    assert "Traceback" not in main.stderr
    warnings = [line for line in main.stderr.splitlines() if line.startswith("mnp-node: warning:")]
    assert len(warnings) <= 1, warnings
    for line in warnings:
        assert "raise the nofile ulimit" in line and "(now soft 100, hard 100)" in line


def test_with_no_descriptor_left_the_main_node_backs_off_and_warns_once(tmp_path: Path) -> None:
    release = tmp_path / "release"
    stderr_path = tmp_path / "main.err"
    script = Path(__file__).with_name("exhausted_main.py")
    env = node_env(index=None, num_nodes=None, main_index=None)
    with stderr_path.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, str(script), "80", str(release)], env=env, stdout=subprocess.PIPE, stderr=err, text=True
        )
    result: list[object] = []
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())

        def child() -> None:
            try:
                result.append(
                    run_child(
                        main_address="127.0.0.1",
                        port=port,
                        index=1,
                        num_nodes=2,
                        address="10.0.0.2",
                        slots=1,
                        job=None,
                        timeout=120,
                        on_hosts=lambda hosts: None,
                    )
                )
            except Exception as exc:  # reported by the assertion below
                result.append(exc)

        thread = threading.Thread(target=child)
        thread.start()
        wait_for(lambda: "warning:" in stderr_path.read_text(), what="the out-of-descriptors warning")
        # Let it fail for a while longer: a busy loop would log thousands of lines meanwhile.
        wait_for(lambda: stderr_path.read_text().count("accept paused") >= 4, what="a few paused accepts")
        release.touch()
        thread.join(timeout=120)
        output, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    lines = stderr_path.read_text().splitlines()
    assert proc.returncode == 0, lines[-20:]
    assert output.strip() == "10.0.0.1 10.0.0.2"
    assert len(result) == 1 and isinstance(result[0], list), result
    warnings = [line for line in lines if line.startswith("warning:")]
    assert len(warnings) == 1, warnings
    assert "pausing accept, up to 2 s at a time" in warnings[0]
    assert "Too many open files: raise the nofile ulimit (now soft 80, hard 80)" in warnings[0]
    assert "to well above the 66 this job needs" in warnings[0]
    # Each pause is at least 0.1 s and doubles to 2 s: a handful of lines, not the millions of a spin.
    assert 4 <= sum("accept paused" in line for line in lines) < 200


def test_main_node_names_a_child_that_gave_up_at_its_own_shorter_timeout(
    cluster_factory: list[Cluster], tmp_path: Path
) -> None:
    cluster = Cluster(tmp_path, num_nodes=3)
    cluster_factory.append(cluster)
    main = cluster.start(0, timeout=8)
    impatient = cluster.start(1, timeout=1.5)
    assert impatient.wait() == EXIT_TIMEOUT
    assert main.wait() == EXIT_TIMEOUT
    [line] = main.error_lines()
    assert line == (
        "mnp-node: error: rendezvous timed out after 8 s: 2 of 3 nodes missing: 1 never registered: 2; "
        "1 registered, then gave up when their own --timeout (1.5 s) ran out before the main node's (8 s): 1 "
        "(give every node the same --timeout)"
    )


def test_a_child_started_again_after_the_host_list_was_sent_is_told_it_is_complete(
    cluster_factory: list[Cluster], tmp_path: Path
) -> None:
    cluster = Cluster(tmp_path, num_nodes=2)
    cluster_factory.append(cluster)
    main = cluster.start(0)
    wait_for(lambda: "listening on" in main.stderr, what="the main node to listen")
    # The first process of node 1: registers, receives the host list, and has not confirmed it yet.
    first = RawChild.__new__(RawChild)
    first.sock = socket.create_connection((cluster.main_address, cluster.port), timeout=30)
    first.buffer = b""
    try:
        first.register(1, num_nodes=2, session="first-process", address=cluster.address(1), slots=2)
        assert first.recv() is not None  # registered
        hosts = first.recv()
        assert hosts is not None and hosts["type"] == "hosts"
        restarted = cluster.start(1, name="restarted", verbose=False)
        assert restarted.wait() == EXIT_REJECTED
        [line] = restarted.error_lines()
        assert line == (
            "mnp-node: error: the main node rejected node 1: the rendezvous is already complete: the host list "
            f"was sent with node 1 at {cluster.address(1)}, registered by an earlier process; a node process "
            "started again after that cannot join (submit the job again)"
        )
        first.send({"type": "done", "ok": True, "reason": ""})
        assert main.wait() == 0
    finally:
        first.close()
    assert not (tmp_path / "restarted.hosts").exists()
    assert os.path.exists(main.hostfile)
