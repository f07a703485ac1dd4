"""``mnp-node allreduce``: a ring all-reduce of a vector over TCP between the nodes of a hostfile.

A small, real distributed program to prove that the nodes of a multi-node parallel job can talk to each
other after ``mnp-node rendezvous``: the sample job of the repository's default config. Every node reads
the hostfile the rendezvous wrote (one ``ADDRESS slots=N`` line per node, in index order), makes its own
vector, and the nodes sum the vectors element by element with the ring algorithm MPI and NCCL use for
large messages (a reduce-scatter, then an all-gather, ``2 (N - 1)`` steps in which each node sends one
``1/N`` chunk to its right neighbour and receives one from its left). Every node then holds the sum and
checks it; last, a token goes once around the ring from the main node, each node passing it on only
after its own check, so the main node's success means every node holds the checked result (as with the
rendezvous, Batch takes the job's result from the main node).

Node ``i`` contributes ``v_i[k] = (i + 1) * (k + 1)``, so the sum is known in closed form,
``(k + 1) * N (N + 1) / 2``, and each node can check the whole result without trusting anyone.

Wire format, on one TCP connection from each node to its right neighbour: a JSON header line
(``{"type": "allreduce", "protocol": 1, "job", "from", "num_nodes", "length"}``), then frames of one kind
byte and a 4-byte big-endian length, followed by that many bytes: ``C`` a chunk of big-endian 64-bit
integers (its length must be the chunk's), ``D`` the done token (empty). A connection whose first line is
not an all-reduce header (a port scanner, a health check) is closed and the node keeps waiting for its
neighbour; a header of the same job that disagrees (another node count or length, the wrong neighbour)
is an error naming both sides.

Standard library only, Python 3.9+, like the rest of the package.
"""

from __future__ import annotations

import array
import contextlib
import json
import queue
import socket
import struct
import sys
import threading
import time

from mnp_runtime.context import parse_ipv4
from mnp_runtime.errors import (
    ConfigError,
    LocalIOError,
    PeerFailed,
    ProtocolError,
    RendezvousTimeout,
    ResultMismatch,
)

# typing is imported for type checkers only: at run time it would cost every node's start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

PROTOCOL_VERSION = 1
#: The rendezvous uses 7979; the all-reduce listens on the next port (the compute environment's node
#: security group admits all traffic between nodes).
DEFAULT_PORT = 7980
DEFAULT_LENGTH = 1024
#: 4 Mi integers (32 MiB per node) is plenty for a check and keeps a mistyped --length from eating memory.
MAX_LENGTH = 1 << 22
DEFAULT_TIMEOUT_S = 120.0
HEADER_LIMIT = 4096
CONNECT_TIMEOUT_S = 5.0
BACKOFF_START_S = 0.05
BACKOFF_MAX_S = 0.5
#: A connection that has not sent its header within this many seconds is closed (a stray client).
HEADER_TIMEOUT_S = 10.0
KIND_CHUNK = b"C"
KIND_DONE = b"D"
_FRAME = struct.Struct("!cI")
_RESULT_SHOWN = 3


def read_hostfile(path: str, *, num_nodes: int) -> list[str]:
    """The node addresses of a hostfile written by ``mnp-node rendezvous``, in index order."""
    try:
        with open(path, encoding="ascii") as handle:
            text = handle.read(1 << 20)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--hostfile {path}: cannot read it ({exc}); run `mnp-node rendezvous` first") from None
    addresses: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        try:
            addresses.append(parse_ipv4(fields[0], what=f"--hostfile {path} line {number}"))
        except ConfigError as exc:
            raise ConfigError(f"{exc} (expected 'ADDRESS slots=N' lines as `mnp-node rendezvous` writes)") from None
    if len(addresses) != num_nodes:
        raise ConfigError(
            f"--hostfile {path} lists {len(addresses)} nodes but AWS_BATCH_JOB_NUM_NODES is {num_nodes}: "
            "use the hostfile this job's rendezvous wrote"
        )
    return addresses


def node_vector(index: int, length: int) -> array.array[int]:
    """Node ``index``'s contribution: ``(index + 1) * (k + 1)`` for ``k`` in ``0 .. length-1``."""
    return array.array("q", range(index + 1, (index + 1) * length + 1, index + 1))


def expected_sum(num_nodes: int, length: int) -> array.array[int]:
    """The element-wise sum of every node's vector: ``(k + 1) * N (N + 1) / 2``."""
    factor = num_nodes * (num_nodes + 1) // 2
    return array.array("q", range(factor, factor * length + 1, factor))


def chunk_bounds(length: int, parts: int) -> list[tuple[int, int]]:
    """Split ``0 .. length`` into ``parts`` contiguous chunks whose sizes differ by at most one."""
    base, extra = divmod(length, parts)
    bounds = []
    start = 0
    for part in range(parts):
        end = start + base + (1 if part < extra else 0)
        bounds.append((start, end))
        start = end
    return bounds


def ring_allreduce(
    values: array.array[int],
    *,
    rank: int,
    size: int,
    send: Callable[[array.array[int]], None],
    receive: Callable[[int], array.array[int]],
) -> array.array[int]:
    """Sum ``values`` across the ring in place and return it (every rank ends with the same vector).

    ``send(chunk)`` goes to rank ``rank + 1``, ``receive(n)`` returns ``n`` integers from rank ``rank - 1``
    (both modulo ``size``). ``send`` must not wait for the neighbour to receive (a sender thread), or two
    neighbours sending at once could block each other on large chunks.
    """
    bounds = chunk_bounds(len(values), size)
    for step in range(size - 1):  # reduce-scatter: after it, rank r holds the whole sum of chunk r + 1
        out_start, out_end = bounds[(rank - step) % size]
        send(values[out_start:out_end])
        in_start, in_end = bounds[(rank - step - 1) % size]
        incoming = receive(in_end - in_start)
        for offset, value in enumerate(incoming):
            values[in_start + offset] += value
    for step in range(size - 1):  # all-gather: pass the finished chunks around
        out_start, out_end = bounds[(rank - step + 1) % size]
        send(values[out_start:out_end])
        in_start, in_end = bounds[(rank - step) % size]
        values[in_start:in_end] = receive(in_end - in_start)
    return values


def _to_wire(chunk: array.array[int]) -> bytes:
    if sys.byteorder == "little":
        chunk = array.array("q", chunk)
        chunk.byteswap()
    return chunk.tobytes()


def _from_wire(data: bytes) -> array.array[int]:
    chunk = array.array("q")
    chunk.frombytes(data)
    if sys.byteorder == "little":
        chunk.byteswap()
    return chunk


class _Link:
    """The two connections of one node: to its right neighbour (sends, from a thread) and from its left."""

    def __init__(
        self, *, right: socket.socket, left: socket.socket, left_name: str, deadline: float, received: bytes
    ) -> None:
        self._right = right
        self._left = left
        self._left_name = left_name
        self._deadline = deadline
        #: Bytes already read from the left neighbour (what followed its header in the same segment).
        self._buffer = bytearray(received)
        self._outbox: queue.Queue[bytes | None] = queue.Queue()
        self._send_error: list[str] = []
        self._sender = threading.Thread(target=self._send_loop, name="allreduce-send", daemon=True)
        self._sender.start()

    def _send_loop(self) -> None:
        while True:
            data = self._outbox.get()
            if data is None:
                return
            try:
                self._right.settimeout(max(0.01, self._deadline - time.monotonic()))
                self._right.sendall(data)
            except OSError as exc:
                self._send_error.append(str(exc) or type(exc).__name__)
                return

    def send(self, kind: bytes, payload: bytes = b"") -> None:
        if self._send_error:
            raise PeerFailed(f"cannot send to the right neighbour: {self._send_error[0]}")
        self._outbox.put(_FRAME.pack(kind, len(payload)) + payload)

    def _read(self, count: int, what: str) -> bytes:
        while len(self._buffer) < count:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                raise RendezvousTimeout(f"timed out waiting for {what} from {self._left_name}")
            self._left.settimeout(remaining)
            try:
                data = self._left.recv(1 << 16)
            except socket.timeout:
                continue
            except OSError as exc:
                raise PeerFailed(f"{self._left_name} failed while sending {what}: {exc}") from None
            if not data:
                raise PeerFailed(
                    f"{self._left_name} closed the connection before sending {what} (the node failed or was stopped)"
                )
            self._buffer.extend(data)
        taken = bytes(self._buffer[:count])
        del self._buffer[:count]
        return taken

    def receive(self, kind: bytes, count: int, what: str) -> bytes:
        got_kind, size = _FRAME.unpack(self._read(_FRAME.size, what))
        if got_kind != kind or size != count:
            raise ProtocolError(
                f"{self._left_name} sent a {got_kind!r} frame of {size} bytes where {what} ({kind!r}, {count} bytes) "
                "was due: every node must run the same mnp-node allreduce options"
            )
        return self._read(count, what)

    def flush(self) -> None:
        """Wait (until the deadline) until everything queued was sent."""
        self._outbox.put(None)
        self._sender.join(timeout=max(0.0, self._deadline - time.monotonic()))

    def wait_right_closed(self) -> None:
        """Wait (until the deadline) for the right neighbour to close its end of this node's connection to it,
        which it does by exiting (nothing is ever sent back on that connection)."""
        while time.monotonic() < self._deadline:
            self._right.settimeout(max(0.001, self._deadline - time.monotonic()))
            try:
                if not self._right.recv(1 << 16):
                    return
            except (socket.timeout, OSError):
                return

    def close(self, *, sockets: bool = True) -> None:
        """Send what is queued (until the deadline), then close the connections unless ``sockets`` is False."""
        self.flush()
        if not sockets:
            return
        for sock in (self._right, self._left):
            with contextlib.suppress(OSError):
                sock.close()


def _connect_right(address: str, port: int, header: bytes, deadline: float, bind_address: str | None) -> socket.socket:
    backoff = BACKOFF_START_S
    last = "no attempt finished"
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RendezvousTimeout(f"cannot reach the right neighbour at {address}:{port} (last problem: {last})")
        try:
            sock = socket.create_connection(
                (address, port),
                timeout=min(CONNECT_TIMEOUT_S, remaining),
                source_address=(bind_address, 0) if bind_address else None,
            )
        except OSError as exc:
            last = exc.strerror or str(exc) or type(exc).__name__
            time.sleep(min(backoff, max(0.0, deadline - time.monotonic())))
            backoff = min(backoff * 2, BACKOFF_MAX_S)
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        sock.sendall(header)
        return sock


def _read_header(sock: socket.socket, deadline: float) -> tuple[dict[str, object], bytes] | None:
    """The peer's header line and the bytes read after it, or None when it is not an all-reduce peer
    (junk, silence, a closed socket)."""
    data = bytearray()
    stop = min(deadline, time.monotonic() + HEADER_TIMEOUT_S)
    while b"\n" not in data:
        remaining = stop - time.monotonic()
        if remaining <= 0 or len(data) > HEADER_LIMIT:
            return None
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(HEADER_LIMIT)
        except OSError:
            return None
        if not chunk:
            return None
        data.extend(chunk)
    line, _, rest = bytes(data).partition(b"\n")
    try:
        message = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(message, dict) or message.get("type") != "allreduce":
        return None
    return message, rest


def _accept_left(
    server: socket.socket, expected: dict[str, object], left_name: str, deadline: float
) -> tuple[socket.socket, bytes]:
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RendezvousTimeout(f"{left_name} never connected")
        server.settimeout(remaining)
        try:
            sock, _ = server.accept()
        except socket.timeout:
            continue
        found = _read_header(sock, deadline)
        if found is None:
            sock.close()
            continue
        header, rest = found
        if header.get("job") != expected["job"]:
            sock.close()  # another job's node on a reused address and port: not ours to judge
            continue
        wrong = [
            f"{name} {header.get(name)!r} (this node: {expected[name]!r})"
            for name in ("protocol", "from", "num_nodes", "length")
            if header.get(name) != expected[name]
        ]
        if wrong:
            sock.close()
            raise ProtocolError(
                f"{left_name} connected with " + ", ".join(wrong) + ": every node must run the same mnp-node "
                "allreduce options with the same hostfile"
            )
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, rest


def _listen(address: str, port: int) -> socket.socket:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        server.bind((address, port))
        server.listen(8)
    except OSError as exc:
        server.close()
        raise LocalIOError(f"cannot listen on {address}:{port}: {exc.strerror or exc}") from None
    return server


class AllReduceResult:
    """What one node ends with (plain class: dataclasses cost every node's start-up)."""

    __slots__ = ("index", "num_nodes", "seconds", "values")

    def __init__(self, *, index: int, num_nodes: int, values: array.array[int], seconds: float) -> None:
        self.index = index
        self.num_nodes = num_nodes
        self.values = values
        self.seconds = seconds


def run_allreduce(
    *,
    addresses: list[str],
    index: int,
    main_index: int,
    job: str | None,
    length: int = DEFAULT_LENGTH,
    port: int = DEFAULT_PORT,
    timeout: float = DEFAULT_TIMEOUT_S,
    bind_address: str | None = None,
    log: Callable[[str], None] = lambda _message: None,
    report: Callable[[AllReduceResult], None] = lambda _result: None,
    keep_open: bool = False,
) -> AllReduceResult:
    """Run this node's part of the all-reduce; return the checked result.

    ``addresses`` are every node's, in index order (the hostfile); this node listens on its own (or on
    ``bind_address``) and connects to node ``index + 1``. The main node returns only once the done token
    came back around the ring, so its success means every node checked the result.

    ``report`` is called with the result once this node's part is done: on a child right after its check,
    before it passes the token on (so its line is written before the main node can end the job); on the
    main node once the token is back and every child has exited: Batch stops the children when the main
    node exits, and a child still running then would end with SIGTERM. After passing the token on, each
    child waits until its right neighbour has closed their connection (has exited); the node left of the
    main node does not wait. So the children exit one after the other, from the main node's left round to
    its right, and the main node, which waits for its right neighbour, ends last.

    ``keep_open``: on success, leave this node's connections open (the data is sent); the caller then
    ends the process, and the kernel closes them as it exits (``mnp-node allreduce`` on a child), so a
    closed connection means an exited process.

    Raises:
        RendezvousTimeout: a neighbour did not connect or send within ``timeout``.
        PeerFailed: a neighbour closed its connection early (it failed or was stopped).
        ResultMismatch: the sum is wrong.
        ProtocolError: a neighbour sent something invalid or runs other options.
        LocalIOError: this node cannot listen on its port.
    """
    size = len(addresses)
    if not 0 <= index < size or not 0 <= main_index < size:
        raise ConfigError(f"node index {index} or main node {main_index} is outside the hostfile's {size} nodes")
    if not 1 <= length <= MAX_LENGTH:
        raise ConfigError(f"--length {length}: expected 1..{MAX_LENGTH}")
    if length < size:
        raise ConfigError(f"--length {length} is smaller than the {size} nodes: every node needs a chunk")
    started = time.monotonic()
    deadline = started + timeout
    values = node_vector(index, length)
    if size > 1:
        right, left = (index + 1) % size, (index - 1) % size
        left_name = f"node {left} ({addresses[left]})"
        common = {"type": "allreduce", "protocol": PROTOCOL_VERSION, "job": job, "num_nodes": size, "length": length}
        header = (json.dumps({**common, "from": index}, sort_keys=True) + "\n").encode("utf-8")
        server = _listen(bind_address or addresses[index], port)
        try:
            log(f"listening on {bind_address or addresses[index]}:{port}; connecting to node {right}")
            right_sock = _connect_right(addresses[right], port, header, deadline, bind_address)
            try:
                left_sock, received = _accept_left(server, {**common, "from": left}, left_name, deadline)
            except BaseException:
                right_sock.close()
                raise
        finally:
            server.close()
        link = _Link(right=right_sock, left=left_sock, left_name=left_name, deadline=deadline, received=received)
        try:
            ring_allreduce(
                values,
                rank=index,
                size=size,
                send=lambda chunk: link.send(KIND_CHUNK, _to_wire(chunk)),
                receive=lambda count: _from_wire(link.receive(KIND_CHUNK, 8 * count, f"a chunk of {count} integers")),
            )
            _check(values, size, length)
            if index == main_index:
                link.send(KIND_DONE)
                link.receive(KIND_DONE, 0, "the done token (every node checked the result)")
                link.flush()
                # Node index + 1 exits last (see below): once it has, every child has.
                link.wait_right_closed()
                report(_result(index, size, values, started))
            else:
                link.receive(KIND_DONE, 0, "the done token")
                report(_result(index, size, values, started))
                link.send(KIND_DONE)
                link.flush()
                if right != main_index:
                    # Exit only after the right neighbour has: the node left of the main node goes first,
                    # then each node in turn, the one right of the main node last.
                    link.wait_right_closed()
        except BaseException:
            link.close()
            raise
        link.close(sockets=not keep_open)
    else:
        _check(values, size, length)
        report(_result(index, size, values, started))
    return _result(index, size, values, started)


def _result(index: int, size: int, values: array.array[int], started: float) -> AllReduceResult:
    return AllReduceResult(index=index, num_nodes=size, values=values, seconds=time.monotonic() - started)


def _check(values: array.array[int], num_nodes: int, length: int) -> None:
    expected = expected_sum(num_nodes, length)
    if values != expected:
        position = next(k for k in range(length) if values[k] != expected[k])
        raise ResultMismatch(
            f"the all-reduced vector is wrong at element {position}: {values[position]}, expected {expected[position]}"
        )


def describe_values(values: array.array[int]) -> str:
    """``[10, 20, 30, ..., 10240]``: the first few and the last element."""
    if len(values) <= _RESULT_SHOWN + 1:
        return "[" + ", ".join(str(v) for v in values) + "]"
    return "[" + ", ".join(str(v) for v in values[:_RESULT_SHOWN]) + f", ..., {values[-1]}]"


def describe_ring(num_nodes: int) -> str:
    """``0 -> 1 -> 2 -> 0``, or ``0 -> 1 -> ... -> 63 -> 0`` for a long ring."""
    if num_nodes == 1:
        return "one node"
    if num_nodes <= 8:
        return " -> ".join(str(index) for index in [*range(num_nodes), 0])
    return f"0 -> 1 -> ... -> {num_nodes - 1} -> 0"


def describe_addresses(addresses: list[str]) -> str:
    """``10.0.1.17, 10.0.1.42, 10.0.1.9``, or the first three and the last of a long list."""
    if len(addresses) <= 4:
        return ", ".join(addresses)
    return ", ".join(addresses[:3]) + f", ..., {addresses[-1]}"
