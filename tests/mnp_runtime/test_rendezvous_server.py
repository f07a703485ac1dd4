"""The rendezvous protocol in-process: a RendezvousServer in a thread, raw sockets as children."""

from __future__ import annotations

import contextlib
import json
import random
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mnp_runtime import rendezvous
from mnp_runtime.errors import Aborted, LocalIOError, MnpError, ProtocolError, RendezvousTimeout
from mnp_runtime.protocol import PROTOCOL_VERSION, HostEntry, encode
from mnp_runtime.rendezvous import RendezvousServer, run_child, write_hostfile

HOST = "127.0.0.1"


class ServerThread:
    """Runs `RendezvousServer.run` in a thread and keeps its result or error."""

    def __init__(self, *, num_nodes: int, timeout: float = 10, main_index: int = 0, job: str | None = None) -> None:
        self.log: list[str] = []
        self.server = RendezvousServer(
            num_nodes=num_nodes,
            main_index=main_index,
            main_address="10.0.0.1",
            main_slots=8,
            job=job,
            bind_address=HOST,
            port=0,
            log=self.log.append,
        )
        self.completed: list[list[HostEntry]] = []
        self.result: list[HostEntry] | None = None
        self.error: MnpError | None = None
        self._thread = threading.Thread(target=self._run, args=(timeout,), daemon=True)
        self._thread.start()

    def _run(self, timeout: float) -> None:
        try:
            self.result = self.server.run(timeout=timeout, on_complete=self.completed.append)
        except MnpError as exc:
            self.error = exc

    def join(self) -> None:
        self._thread.join(timeout=30)
        assert not self._thread.is_alive(), "server did not finish"


class RawChild:
    """A hand-driven child connection speaking the JSON-lines protocol."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection((HOST, port), timeout=10)
        self.buffer = b""

    def send(self, message: dict[str, Any]) -> None:
        self.sock.sendall(encode(message))

    def register(self, index: int, *, session: str = "s1", num_nodes: int = 3, **extra: Any) -> None:
        message = {
            "type": "register",
            "protocol": PROTOCOL_VERSION,
            "index": index,
            "num_nodes": num_nodes,
            "address": f"10.0.0.{index + 1}",
            "slots": 8,
            "session": session,
            "job": None,
        }
        message.update(extra)
        self.send(message)

    def recv(self) -> dict[str, Any] | None:
        """The next message, or None when the server closed the connection."""
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        message: dict[str, Any] = json.loads(line)
        return message

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def children() -> Iterator[list[RawChild]]:
    made: list[RawChild] = []
    yield made
    for child in made:
        child.close()


def connect(made: list[RawChild], server: ServerThread) -> RawChild:
    child = RawChild(server.server.port)
    made.append(child)
    return child


def finish(made: list[RawChild], srv: ServerThread, indexes: list[int], *, num_nodes: int) -> list[HostEntry]:
    """Register well-behaved children `indexes`, confirm the host list, and return the server's result."""
    joined = []
    for index in indexes:
        child = connect(made, srv)
        child.register(index, num_nodes=num_nodes, session=f"good-{index}")
        joined.append(child)
    for child in joined:
        while (reply := child.recv()) is not None and reply["type"] != "hosts":
            assert reply["type"] == "registered"
        child.send({"type": "done", "ok": True, "reason": ""})
    srv.join()
    assert srv.error is None, srv.error
    assert srv.result is not None
    return srv.result


def test_reconnect_with_the_same_session_replaces_the_old_connection(children: list[RawChild]) -> None:
    srv = ServerThread(num_nodes=3)
    first = connect(children, srv)
    first.register(1, session="proc-a")
    assert first.recv() == {"type": "registered", "index": 1, "registered": 2, "expected": 3}
    # The same process again (its first connection looked dead to it): not a duplicate.
    again = connect(children, srv)
    again.register(1, session="proc-a")
    assert again.recv() == {"type": "registered", "index": 1, "registered": 2, "expected": 3}
    assert first.recv() is None  # the server dropped the superseded connection
    other = connect(children, srv)
    other.register(2, session="proc-b")
    other.recv()
    hosts = again.recv()
    assert hosts is not None and hosts["type"] == "hosts"
    assert [h["address"] for h in hosts["hosts"]] == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    assert other.recv() == hosts
    again.send({"type": "done", "ok": True, "reason": ""})
    other.send({"type": "done", "ok": True, "reason": ""})
    srv.join()
    assert srv.error is None
    assert srv.result == [
        HostEntry(index=0, address="10.0.0.1", slots=8),
        HostEntry(index=1, address="10.0.0.2", slots=8),
        HostEntry(index=2, address="10.0.0.3", slots=8),
    ]
    assert srv.completed == [srv.result]


def test_same_index_from_another_session_is_rejected_as_duplicate(children: list[RawChild]) -> None:
    srv = ServerThread(num_nodes=3)
    first = connect(children, srv)
    first.register(1, session="proc-a")
    first.recv()
    second = connect(children, srv)
    second.register(1, session="proc-b", address="10.9.9.9")
    reply = second.recv()
    assert reply == {
        "type": "reject",
        "reason": "node index 1 is already registered by another process (address 10.0.0.2); "
        "each node needs its own AWS_BATCH_JOB_NODE_INDEX",
    }
    assert second.recv() is None
    third = connect(children, srv)
    third.register(2, session="proc-c")
    for child in (first, third):
        while (message := child.recv()) is not None and message["type"] != "hosts":
            pass
        assert message is not None
        assert message["hosts"][1]["address"] == "10.0.0.2"  # the first process kept index 1
        child.send({"type": "done", "ok": True, "reason": ""})
    srv.join()
    assert srv.error is None


def test_disconnect_before_completion_withdraws_the_registration(children: list[RawChild]) -> None:
    srv = ServerThread(num_nodes=3, timeout=1.5)
    child = connect(children, srv)
    child.register(1)
    assert child.recv() == {"type": "registered", "index": 1, "registered": 2, "expected": 3}
    child.close()
    srv.join()
    assert isinstance(srv.error, RendezvousTimeout)
    # Node 1 came and went: it is reported as what happened to it, not as "never registered".
    assert str(srv.error) == (
        "rendezvous timed out after 1.5 s: 2 of 3 nodes missing: 1 never registered: 2; 1 registered, then "
        "disconnected and did not come back (the process ended or lost the network): 1"
    )


def test_reconnect_after_completion_gets_the_host_list_again(children: list[RawChild]) -> None:
    srv = ServerThread(num_nodes=2)
    child = connect(children, srv)
    child.register(1, num_nodes=2, session="proc-a")
    assert child.recv() is not None  # registered
    hosts = child.recv()
    assert hosts is not None and hosts["type"] == "hosts"
    child.close()  # lost before confirming
    retry = connect(children, srv)
    retry.register(1, num_nodes=2, session="proc-a")
    assert retry.recv() == hosts
    impostor = connect(children, srv)
    impostor.register(1, num_nodes=2, session="proc-z")
    reply = impostor.recv()
    assert reply is not None and reply["type"] == "reject"
    retry.send({"type": "done", "ok": True, "reason": ""})
    srv.join()
    assert srv.error is None and srv.result is not None


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"not json\n", "protocol error: not a JSON line"),
        (b"[1, 2]\n", "protocol error: expected a JSON object, got list"),
        (b'{"no": "type"}\n', 'protocol error: message has no string "type"'),
        (b'{"type": "hello"}\n', "protocol error: unexpected message type 'hello'"),
        (b'{"type": "done", "ok": true}\n', "protocol error: done before the host list was sent"),
        (b"x" * 5000, "protocol error: message longer than 4096 bytes"),
        # 4 KiB of brackets: a RecursionError inside the json module, had nesting not been bounded first.
        (b"[" * 4000 + b"\n", "protocol error: message nested 4000 levels deep (at most 32)"),
        (b'{"type":"register","x":' + b"{" * 3000 + b"\n", "protocol error: message nested 3001 levels deep"),
        # A 3,900-digit index: parsed (a 4 KiB line cannot reach int's 4,300-digit limit), then refused.
        (
            b'{"type":"register","protocol":1,"index":' + b"9" * 3900 + b',"num_nodes":2,"address":"10.0.0.9",'
            b'"slots":1,"session":"s","job":null}\n',
            "node index 9999",
        ),
        (bytes(range(256)) * 4 + b"\n", "protocol error: not a JSON line"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "protocol error: not a JSON line"),
    ],
)
def test_malformed_messages_are_rejected_with_a_reason(children: list[RawChild], payload: bytes, reason: str) -> None:
    srv = ServerThread(num_nodes=2)
    child = connect(children, srv)
    child.sock.sendall(payload)
    reply = child.recv()
    assert reply is not None
    assert reply["type"] == "reject"
    assert reply["reason"].startswith(reason)
    assert child.recv() is None
    result = finish(children, srv, [1], num_nodes=2)
    assert [h.address for h in result] == ["10.0.0.1", "10.0.0.2"]


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"protocol": 2}, "protocol version 2 is not supported (the main node speaks 1)"),
        ({"index": True}, "register field index is True: expected an integer >= 0"),
        ({"index": -1}, "register field index is -1: expected an integer >= 0"),
        ({"index": 3}, "node index 3 is out of range for this 3-node job (0..2)"),
        ({"index": 0}, "node index 0 is the main node's index"),
        ({"num_nodes": 4}, "node 1 was started with AWS_BATCH_JOB_NUM_NODES=4 but the main node has 3"),
        ({"slots": 0}, "register field slots is 0: expected an integer >= 1"),
        ({"address": "10.0.0.256"}, "register field address is '10.0.0.256': expected IPv4"),
        ({"session": ""}, "register field session must be a string of 1..64 characters"),
        ({"job": "other-job"}, "node 1 belongs to job other-job, the main node to job my-job"),
    ],
)
def test_invalid_registrations_are_rejected_with_a_reason(
    children: list[RawChild], overrides: dict[str, Any], reason: str
) -> None:
    srv = ServerThread(num_nodes=3, job="my-job")
    child = connect(children, srv)
    fields = {"session": "bad", **overrides}
    child.register(fields.pop("index", 1), **fields)
    reply = child.recv()
    assert reply is not None and reply["type"] == "reject"
    assert reason in reply["reason"]
    # The rejected registration was not counted: nodes 1 and 2 can still join, with their own addresses.
    result = finish(children, srv, [1, 2], num_nodes=3)
    assert [h.address for h in result] == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]


def test_a_node_that_cannot_use_the_host_list_aborts_everyone(children: list[RawChild]) -> None:
    srv = ServerThread(num_nodes=3)
    bad, good = connect(children, srv), connect(children, srv)
    bad.register(1, session="a")
    good.register(2, session="b")
    for child in (bad, good):
        assert child.recv() is not None  # registered
        reply = child.recv()
        assert reply is not None and reply["type"] == "hosts"
    bad.send({"type": "done", "ok": False, "reason": "cannot write hostfile /x: Read-only file system"})
    abort = good.recv()
    assert abort is not None and abort["type"] == "abort"
    assert "node 1 (10.0.0.2) failed after receiving the host list: cannot write hostfile /x" in abort["reason"]
    srv.join()
    assert isinstance(srv.error, Aborted)


def test_idle_connection_is_closed_when_it_never_registers(
    children: list[RawChild], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rendezvous, "REGISTER_TIMEOUT_S", 0.2)
    srv = ServerThread(num_nodes=2)
    idle = connect(children, srv)
    assert idle.recv() is None  # closed by the server, not by us
    assert any("no register message within 0.2 s" in line for line in srv.log), srv.log
    finish(children, srv, [1], num_nodes=2)


def test_run_child_reports_an_on_hosts_failure_to_the_main_node(tmp_path: Path) -> None:
    srv = ServerThread(num_nodes=2)

    def fail(_: list[HostEntry]) -> None:
        raise LocalIOError("cannot write hostfile /ro/hosts: Read-only file system")

    with pytest.raises(LocalIOError):
        run_child(
            main_address=HOST,
            port=srv.server.port,
            index=1,
            num_nodes=2,
            address="10.0.0.2",
            slots=8,
            job=None,
            timeout=10,
            on_hosts=fail,
        )
    srv.join()
    assert isinstance(srv.error, Aborted)
    assert "node 1 (10.0.0.2) failed after receiving the host list: cannot write hostfile /ro/hosts" in str(srv.error)


def test_run_child_gets_the_host_list_and_confirms_it() -> None:
    srv = ServerThread(num_nodes=2, main_index=1)
    got: list[list[HostEntry]] = []
    hosts = run_child(
        main_address=HOST,
        port=srv.server.port,
        index=0,
        num_nodes=2,
        address="10.0.0.9",
        slots=4,
        job=None,
        timeout=10,
        on_hosts=got.append,
    )
    srv.join()
    assert srv.error is None
    assert hosts == [HostEntry(0, "10.0.0.9", 4), HostEntry(1, "10.0.0.1", 8)]
    assert got == [hosts]


def _fake_main(reply: bytes) -> tuple[socket.socket, threading.Thread]:
    """A listener that answers any connection with `reply`, to feed the child bad data."""
    listener = socket.socket()
    listener.bind((HOST, 0))
    listener.listen()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(4096)
            conn.sendall(reply)
            conn.recv(4096)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, thread


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (encode({"type": "hosts", "hosts": [{"index": 0, "address": "10.0.0.1", "slots": 1}]}), "exactly 2 nodes"),
        (
            encode(
                {
                    "type": "hosts",
                    "hosts": [
                        {"index": 0, "address": "10.0.0.1", "slots": 1},
                        {"index": 1, "address": "10.0.0.99", "slots": 1},
                    ],
                }
            ),
            "gives node 1 as 10.0.0.99 slots=1, but it registered 10.0.0.2 slots=1",
        ),
        (b"y" * (4096 + 128 * 2 + 1), "message longer than 4352 bytes"),
        (encode({"type": "surprise"}), "unexpected message type 'surprise'"),
    ],
)
def test_run_child_refuses_a_bad_reply(reply: bytes, message: str) -> None:
    listener, thread = _fake_main(reply)
    try:
        with pytest.raises(ProtocolError, match=message):
            run_child(
                main_address=HOST,
                port=listener.getsockname()[1],
                index=1,
                num_nodes=2,
                address="10.0.0.2",
                slots=1,
                job=None,
                timeout=5,
                on_hosts=lambda hosts: None,
            )
    finally:
        listener.close()
        thread.join(timeout=5)


def test_run_child_times_out_when_nobody_listens() -> None:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    with pytest.raises(RendezvousTimeout, match=rf"no host list from the main node at {HOST}:{port} within 0.3 s"):
        run_child(
            main_address=HOST,
            port=port,
            index=1,
            num_nodes=2,
            address="10.0.0.2",
            slots=1,
            job=None,
            timeout=0.3,
            on_hosts=lambda hosts: None,
        )


def test_write_hostfile_is_atomic_and_in_index_order(tmp_path: Path) -> None:
    path = tmp_path / "hosts"
    path.write_text("stale\n")
    write_hostfile(str(path), [HostEntry(0, "10.0.0.5", 2), HostEntry(1, "10.0.0.4", 8)])
    assert path.read_text() == "10.0.0.5 slots=2\n10.0.0.4 slots=8\n"
    assert [p.name for p in tmp_path.iterdir()] == ["hosts"]


def test_write_hostfile_failure_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "gone" / "hosts"
    with pytest.raises(LocalIOError, match=f"cannot write hostfile {missing}: No such file or directory"):
        write_hostfile(str(missing), [HostEntry(0, "10.0.0.5", 2)])


def test_a_child_restarted_after_the_host_list_was_sent_is_told_the_rendezvous_is_complete(
    children: list[RawChild],
) -> None:
    srv = ServerThread(num_nodes=2)
    first = connect(children, srv)
    first.register(1, num_nodes=2, session="before-restart")
    assert first.recv() is not None  # registered
    hosts = first.recv()
    assert hosts is not None and hosts["type"] == "hosts"
    restarted = connect(children, srv)
    restarted.register(1, num_nodes=2, session="after-restart")
    reply = restarted.recv()
    assert reply == {
        "type": "reject",
        "reason": "the rendezvous is already complete: the host list was sent with node 1 at 10.0.0.2, "
        "registered by an earlier process; a node process started again after that cannot join (submit the "
        "job again)",
    }
    first.send({"type": "done", "ok": True, "reason": ""})
    srv.join()
    assert srv.error is None


def test_a_node_that_left_at_its_own_shorter_deadline_is_named_as_such() -> None:
    srv = ServerThread(num_nodes=3, timeout=4)
    with pytest.raises(RendezvousTimeout, match="no host list from the main node"):
        run_child(
            main_address=HOST,
            port=srv.server.port,
            index=1,
            num_nodes=3,
            address="10.0.0.2",
            slots=8,
            job=None,
            timeout=0.5,
            on_hosts=lambda hosts: None,
        )
    srv.join()
    assert isinstance(srv.error, RendezvousTimeout)
    assert str(srv.error) == (
        "rendezvous timed out after 4 s: 2 of 3 nodes missing: 1 never registered: 2; 1 registered, then gave "
        "up when their own --timeout (0.5 s) ran out before the main node's (4 s): 1 (give every node the same "
        "--timeout)"
    )
    assert any(line == "node 1 left: its own --timeout ran out" for line in srv.log), srv.log


def test_a_node_that_left_and_came_back_counts_as_registered(children: list[RawChild]) -> None:
    srv = ServerThread(num_nodes=3)
    child = connect(children, srv)
    child.register(1, num_nodes=3, session="a")
    assert child.recv() is not None
    child.send({"type": "leaving", "reason": "timeout", "timeout": 1})
    assert child.recv() is None  # the main node dropped it
    result = finish(children, srv, [1, 2], num_nodes=3)
    assert len(result) == 3


def test_leaving_from_a_connection_that_never_registered_is_harmless(children: list[RawChild]) -> None:
    srv = ServerThread(num_nodes=2)
    stray = connect(children, srv)
    stray.send({"type": "leaving", "reason": ["not", "a", "string"], "timeout": "soon"})
    assert stray.recv() is None
    finish(children, srv, [1], num_nodes=2)


def test_an_unexpected_error_in_one_message_rejects_only_that_connection(
    children: list[RawChild], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = rendezvous.parse_register
    calls: list[int] = []

    def flaky(message: dict[str, Any]) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise TypeError("a bug")
        return real(message)

    monkeypatch.setattr(rendezvous, "parse_register", flaky)
    srv = ServerThread(num_nodes=2)
    victim = connect(children, srv)
    victim.register(1, num_nodes=2, session="unlucky")
    reply = victim.recv()
    assert reply == {
        "type": "reject",
        "reason": "internal error handling this message (TypeError); please report it",
    }
    finish(children, srv, [1], num_nodes=2)


def test_the_main_node_survives_random_garbage_from_many_peers(children: list[RawChild]) -> None:
    """Fuzz (fixed seed): 200 peers send random bytes, bracket storms and mutated registrations; every
    one is turned away, and the real nodes still complete the rendezvous."""
    rng = random.Random(1515)
    srv = ServerThread(num_nodes=3, timeout=60)
    good = encode({"type": "register", "protocol": PROTOCOL_VERSION, "index": 1, "num_nodes": 3,
                   "address": "10.0.0.2", "slots": 8, "session": "x", "job": None})  # fmt: skip
    for _ in range(200):
        choice = rng.random()
        if choice < 0.25:
            payload = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000)))
        elif choice < 0.5:
            payload = rng.choice([b"[", b"{", b'{"a":']) * rng.randrange(33, 1500) + b"\n"
        elif choice < 0.75:
            line = bytearray(good)
            for _ in range(rng.randrange(1, 5)):
                at = rng.randrange(len(line))
                line[at : at + rng.randrange(1, 4)] = bytes(rng.randrange(256) for _ in range(rng.randrange(4)))
            payload = bytes(line)
        else:
            payload = b"z" * rng.randrange(4097, 20000)
        peer = connect(children, srv)
        with contextlib.suppress(OSError):  # the main node may have cut an oversized sender off already
            peer.sock.sendall(payload)
        peer.close()
    result = finish(children, srv, [1, 2], num_nodes=3)
    assert [h.address for h in result] == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
