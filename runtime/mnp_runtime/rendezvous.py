"""The rendezvous: the main node gathers every node's address and hands the same host list to all.

The main node listens on TCP and counts itself as registered. Each child connects (retrying with
backoff while the main node is not listening yet), sends ``register`` and waits on the same connection.
When all ``num_nodes`` are registered, the main node writes its own hostfile, sends the ``hosts`` list
to every child, and waits until each child reports ``done`` (it wrote its hostfile). Only then does the
main node return success, so the main node's exit status, which decides the job's, means "every node
has the host list".

Reconnects and duplicates: a registration belongs to a live connection and a per-process ``session``
token. If a child's connection drops before the rendezvous completes, its registration is withdrawn and
the child registers again when it reconnects. If two live connections claim one index, the newer one
wins when it carries the same session (the same process, reconnecting after a half-open connection),
and is rejected as a duplicate when it carries a different one (a second process). Once complete, the
host list is frozen: a reconnect with the registered session gets the list again, anything else is
rejected.

Every socket operation is bounded: the main node's loop is non-blocking under one overall deadline,
an idle connection that does not register within `REGISTER_TIMEOUT_S` is closed, and the child's
connect, send and receive calls all carry timeouts derived from its deadline.

The main node survives whatever its port receives: any bytes from a peer end in a ``reject`` for that
connection (lines and nesting are bounded before parsing), and when the open-files limit runs out it
closes connections that have not registered, oldest first, or, with none left to close, pauses
accepting with a growing back-off instead of spinning, and says once which limit to raise.
"""

from __future__ import annotations

import contextlib
import errno
import os
import random
import selectors
import socket
import time

from mnp_runtime.errors import (
    Aborted,
    ConfigError,
    LocalIOError,
    MnpError,
    ProtocolError,
    Rejected,
    RendezvousTimeout,
)
from mnp_runtime.protocol import (
    MAX_REQUEST_BYTES,
    PROTOCOL_VERSION,
    HostEntry,
    LineBuffer,
    decode,
    encode,
    format_indexes,
    max_reply_bytes,
    parse_hosts,
    parse_register,
    printable,
    truncate_reason,
)

# typing is imported for type checkers only: at run time it would cost every node's start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    Log = Callable[[str], None]

# A connection that has not sent a register line by then is not one of our nodes (or is stuck).
REGISTER_TIMEOUT_S = 30.0
# How long the main node keeps trying to deliver reject/abort lines before closing anyway.
FLUSH_TIMEOUT_S = 2.0
CONNECT_TIMEOUT_S = 5.0
SEND_TIMEOUT_S = 10.0
BACKOFF_START_S = 0.05
BACKOFF_MAX_S = 0.5
PROGRESS_EVERY_S = 30.0
RECV_BYTES = 65536
# accept() failing for want of file descriptors: pause accepting this long, doubling up to the maximum.
ACCEPT_PAUSE_START_S = 0.1
ACCEPT_PAUSE_MAX_S = 2.0
# accept() errors that mean "no descriptor (or buffer) for a new socket now", not "that peer is gone".
_OUT_OF_DESCRIPTORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


def _no_log(_: str) -> None:
    return None


def _keepalive(sock: socket.socket) -> None:
    """Turn on TCP keepalive so a peer that vanished without a FIN is noticed while waiting."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, value in (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3)):
        option = getattr(socket, name, None)
        if option is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, option, value)


def _fd_limits() -> tuple[int, int] | None:
    """The (soft, hard) open-files limits, or None where the resource module does not exist."""
    try:
        import resource
    except ImportError:
        return None
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def _raise_fd_limit(needed: int) -> None:
    """Raise the soft open-files limit so the main node can hold a connection per node."""
    try:
        import resource
    except ImportError:  # not Unix; nothing to adjust
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        if target < needed:
            raise ConfigError(
                f"the main node needs {needed} open files for this job but the hard limit is {hard}; "
                "raise the nofile ulimit in the job definition"
            )
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def write_hostfile(path: str, hosts: list[HostEntry]) -> None:
    """Write ``ADDRESS slots=N`` lines in index order, atomically (temp file in the same directory, rename).

    A reader (``mpirun --hostfile``) sees either no file or the complete one, never a partial list.
    """
    directory = os.path.dirname(os.path.abspath(path))
    text = "".join(f"{h.address} slots={h.slots}\n" for h in hosts)
    # Same directory as the target so the rename is atomic; O_EXCL and a random name make it ours alone.
    tmp_path = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    created = False
    try:
        fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        created = True
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_path, path)
    except OSError as exc:
        if created and os.path.exists(tmp_path):
            os.unlink(tmp_path)
        raise LocalIOError(f"cannot write hostfile {path}: {exc.strerror or exc}") from None


# ---------------------------------------------------------------------------------------------------
# Main node


class _Conn:
    """One accepted connection on the main node."""

    __slots__ = ("buffer", "closed", "closing", "closing_since", "index", "opened", "out", "peer", "sock")

    def __init__(self, sock: socket.socket, peer: str, opened: float, buffer: LineBuffer) -> None:
        self.sock = sock
        self.peer = peer
        self.opened = opened
        self.buffer = buffer
        self.out = bytearray()
        self.index: int | None = None
        self.closing = False
        self.closing_since = 0.0
        self.closed = False


class _Node:
    """A registered node; `conn` is None for the main node itself and for a child between connections."""

    __slots__ = ("address", "conn", "index", "session", "slots")

    def __init__(self, index: int, address: str, slots: int, session: str, conn: _Conn | None) -> None:
        self.index = index
        self.address = address
        self.slots = slots
        self.session = session
        self.conn = conn


class RendezvousServer:
    """The main node's side. Create it (which binds the port), then call `run`.

    Args:
        num_nodes: nodes in the job, the main node included.
        main_index: the main node's index; it registers itself with `main_address` and `main_slots`.
        job: the parent job id, or None; when both sides know it, a child of another job is rejected.
        bind_address: address to listen on (``0.0.0.0`` for all interfaces).
        port: TCP port; 0 picks a free one (read it back from `port`).
        log: progress lines (``-v``).
        warn: problems worth a line even without ``-v`` (the open-files limit running out); each
            kind is said once.
    """

    def __init__(
        self,
        *,
        num_nodes: int,
        main_index: int,
        main_address: str,
        main_slots: int,
        job: str | None,
        bind_address: str,
        port: int,
        log: Log = _no_log,
        warn: Log = _no_log,
    ) -> None:
        self._n = num_nodes
        self._main_index = main_index
        self._job = job
        self._log = log
        self._warn = warn
        self._warned: set[str] = set()
        # Nodes that registered and then went away before completion: index -> why ("timeout" with the
        # child's own --timeout, or "disconnected"). A missing node is then reported as what happened
        # to it, not as "never registered".
        self._left: dict[int, tuple[str, float | None]] = {}
        self._fd_needed = num_nodes + 64
        self._accept_paused_until: float | None = None
        self._accept_pause = ACCEPT_PAUSE_START_S
        self._nodes: dict[int, _Node] = {main_index: _Node(main_index, main_address, main_slots, "main", None)}
        self._acked: set[int] = set()
        self._hosts_line: bytes | None = None
        self._hosts: list[HostEntry] = []
        _raise_fd_limit(self._fd_needed)
        self._sel = selectors.DefaultSelector()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._listener.bind((bind_address, port))
            # Children may all connect within milliseconds of each other; a short backlog would make
            # the kernel drop SYNs and cost each dropped child a retransmit timeout (1 s or more).
            self._listener.listen(max(128, min(num_nodes + 16, 65535)))
        except OSError as exc:
            self._listener.close()
            self._sel.close()
            raise LocalIOError(
                f"cannot listen on {bind_address}:{port}: {exc.strerror or exc}; "
                "choose another --port or --bind-address"
            ) from None
        self._listener.setblocking(False)
        self._sel.register(self._listener, selectors.EVENT_READ, None)

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        return int(self._listener.getsockname()[1])

    # -- connection plumbing ------------------------------------------------------------------------

    def _warn_once(self, kind: str, message: str) -> None:
        if kind not in self._warned:
            self._warned.add(kind)
            self._warn(message)
            self._log(message)

    def _accept(self, now: float) -> None:
        while True:
            try:
                sock, peer = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno not in _OUT_OF_DESCRIPTORS:
                    # ECONNABORTED and the like: that one peer is gone; the others are still queued.
                    self._log(f"accept failed: {exc.strerror or exc}")
                    return
                if self._evict_unregistered(exc):
                    continue  # a descriptor is free again: take the next queued connection
                self._pause_accepting(now, exc)
                return
            self._accept_pause = ACCEPT_PAUSE_START_S
            try:
                sock.setblocking(False)
                _keepalive(sock)
                conn = _Conn(sock, f"{peer[0]}:{peer[1]}", now, LineBuffer(limit=MAX_REQUEST_BYTES))
                self._sel.register(sock, selectors.EVENT_READ, conn)
            except OSError as exc:  # the peer reset before we could set it up: nothing to keep
                self._log(f"dropping {peer[0]}:{peer[1]}: {exc.strerror or exc}")
                sock.close()

    def _limit_advice(self, exc: OSError) -> str:
        if exc.errno == errno.ENFILE:
            return "the host's open-files table is full (ENFILE): raise fs.file-max on the container instance"
        limits = _fd_limits()
        now = f" (now soft {limits[0]}, hard {limits[1]})" if limits else ""
        return (
            f"{exc.strerror or exc}: raise the nofile ulimit{now} in the job definition "
            f"(containerProperties.ulimits) to well above the {self._fd_needed} this job needs"
        )

    def _evict_unregistered(self, exc: OSError) -> bool:
        """Out of descriptors: close the oldest connection that has not registered; False if none.

        A connection that has not registered is not one of our nodes yet (a node sends register as soon
        as it connects), so a flood of idle or junk connections cannot lock real nodes out; a node whose
        connection was closed this way reconnects.
        """
        idle = [c for c in self._open_conns() if c.index is None and not c.closing]
        if not idle:
            return False
        oldest = min(idle, key=lambda c: c.opened)
        self._warn_once(
            "descriptors",
            f"out of file descriptors for new connections; closing connections that have not registered, "
            f"oldest first ({self._limit_advice(exc)})",
        )
        self._log(f"closing {oldest.peer} to make room: it has not registered")
        self._close(oldest)
        return True

    def _pause_accepting(self, now: float, exc: OSError) -> None:
        """Stop watching the listener for a while: it stays readable, and retrying at once would spin."""
        self._warn_once(
            "descriptors",
            f"out of file descriptors for new connections; pausing accept, up to {ACCEPT_PAUSE_MAX_S:g} s at "
            f"a time, until some close ({self._limit_advice(exc)})",
        )
        with contextlib.suppress(KeyError, ValueError):
            self._sel.unregister(self._listener)
        self._accept_paused_until = now + self._accept_pause
        self._log(f"accept paused for {self._accept_pause:g} s")
        self._accept_pause = min(self._accept_pause * 2, ACCEPT_PAUSE_MAX_S)

    def _resume_accepting(self, now: float) -> None:
        if self._accept_paused_until is not None and now >= self._accept_paused_until:
            self._accept_paused_until = None
            self._sel.register(self._listener, selectors.EVENT_READ, None)

    def _close(self, conn: _Conn) -> None:
        if conn.closed:
            return
        conn.closed = True
        with contextlib.suppress(KeyError, ValueError):
            self._sel.unregister(conn.sock)
        conn.sock.close()
        node = self._nodes.get(conn.index) if conn.index is not None else None
        if node is not None and node.conn is conn:
            node.conn = None
            if self._hosts_line is None:
                # Before completion a registration lives only as long as its connection: the child
                # reconnects and registers again, and a node that died is reported as missing (as a
                # node that registered and left, not as one that never came).
                del self._nodes[node.index]
                self._left.setdefault(node.index, ("disconnected", None))
                self._log(f"node {node.index} disconnected before the rendezvous completed")

    def _queue(self, conn: _Conn, line: bytes, *, then_close: bool = False) -> None:
        if conn.closed:
            return
        conn.out.extend(line)
        if then_close and not conn.closing:
            conn.closing = True
            conn.closing_since = time.monotonic()
        self._flush(conn)

    def _flush(self, conn: _Conn) -> None:
        while conn.out:
            try:
                sent = conn.sock.send(conn.out)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self._close(conn)
                return
            del conn.out[:sent]
        if conn.out:
            self._sel.modify(conn.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, conn)
        elif conn.closing:
            self._close(conn)
        else:
            self._sel.modify(conn.sock, selectors.EVENT_READ, conn)

    def _reject(self, conn: _Conn, reason: str) -> None:
        self._log(f"rejected {conn.peer}: {reason}")
        self._queue(conn, encode({"type": "reject", "reason": reason}), then_close=True)

    def _read(self, conn: _Conn) -> None:
        try:
            chunk = conn.sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close(conn)
            return
        if not chunk:
            self._close(conn)
            return
        if conn.closing:
            return  # already rejected: ignore whatever else it says
        try:
            for line in conn.buffer.feed(chunk):
                self._handle(conn, decode(line))
                if conn.closing or conn.closed:
                    return
        except ProtocolError as exc:
            self._reject(conn, f"protocol error: {exc}")
        except MnpError:
            raise  # Aborted: a node reported a failure, which ends the rendezvous on purpose
        except Exception as exc:
            # A bug met by one peer's message must not end the whole job: refuse that connection only.
            self._reject(conn, f"internal error handling this message ({type(exc).__name__}); please report it")

    # -- messages ------------------------------------------------------------------------------------

    def _handle(self, conn: _Conn, message: dict[str, object]) -> None:
        kind = message["type"]
        if kind == "register":
            self._handle_register(conn, message)
        elif kind == "done":
            self._handle_done(conn, message)
        elif kind == "leaving":
            self._handle_leaving(conn, message)
        else:
            raise ProtocolError(f"unexpected message type {kind!r}")

    def _handle_register(self, conn: _Conn, message: dict[str, object]) -> None:
        if conn.index is not None:
            raise ProtocolError("register sent twice on one connection")
        reg = parse_register(message)
        n = self._n
        if reg.index >= n:
            self._reject(conn, f"node index {reg.index} is out of range for this {n}-node job (0..{n - 1})")
            return
        if reg.num_nodes != n:
            self._reject(
                conn,
                f"node {reg.index} was started with AWS_BATCH_JOB_NUM_NODES={reg.num_nodes} but the main "
                f"node has {n}; all nodes must belong to the same job",
            )
            return
        if reg.index == self._main_index:
            self._reject(conn, f"node index {reg.index} is the main node's index")
            return
        if self._job is not None and reg.job is not None and reg.job != self._job:
            self._reject(
                conn, f"node {reg.index} belongs to job {printable(reg.job)}, the main node to job {self._job}"
            )
            return
        existing = self._nodes.get(reg.index)
        if existing is not None and existing.session != reg.session and self._hosts_line is not None:
            self._reject(
                conn,
                f"the rendezvous is already complete: the host list was sent with node {reg.index} at "
                f"{existing.address}, registered by an earlier process; a node process started again "
                "after that cannot join (submit the job again)",
            )
            return
        if existing is not None and existing.session != reg.session:
            self._reject(
                conn,
                f"node index {reg.index} is already registered by another process (address "
                f"{existing.address}); each node needs its own AWS_BATCH_JOB_NODE_INDEX",
            )
            return
        if existing is not None:
            # Same process, new connection: the old one is half-open or about to be; keep the newest.
            old = existing.conn
            existing.conn = conn
            if old is not None and old is not conn:
                old.index = None
                self._close(old)
            if self._hosts_line is None:
                existing.address, existing.slots = reg.address, reg.slots
            self._log(f"node {reg.index} reconnected from {conn.peer}")
        elif self._hosts_line is not None:
            self._reject(conn, "the rendezvous is already complete")
            return
        else:
            self._nodes[reg.index] = _Node(reg.index, reg.address, reg.slots, reg.session, conn)
            self._left.pop(reg.index, None)
            self._log(f"registered node {reg.index} at {reg.address} ({len(self._nodes)}/{n})")
        conn.index = reg.index
        if self._hosts_line is not None:
            self._queue(conn, self._hosts_line)
        else:
            self._queue(
                conn,
                encode({"type": "registered", "index": reg.index, "registered": len(self._nodes), "expected": n}),
            )

    def _handle_leaving(self, conn: _Conn, message: dict[str, object]) -> None:
        """A child gives up (its own deadline ran out): remember why, then drop it like a disconnect."""
        index = conn.index
        if index is not None and self._hosts_line is None:
            seconds = message.get("timeout")
            timeout: float | None = None
            if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and 0 < seconds < 1e9:
                timeout = float(seconds)
            why = "timeout" if message.get("reason") == "timeout" else "disconnected"
            self._left[index] = (why, timeout)
            self._log(f"node {index} left: " + ("its own --timeout ran out" if why == "timeout" else "no reason"))
        self._close(conn)

    def _handle_done(self, conn: _Conn, message: dict[str, object]) -> None:
        if conn.index is None or self._hosts_line is None:
            raise ProtocolError("done before the host list was sent")
        if message.get("ok") is True:
            self._acked.add(conn.index)
            return
        node = self._nodes[conn.index]
        reason = truncate_reason(message.get("reason", "no reason given"))
        raise Aborted(f"node {conn.index} ({node.address}) failed after receiving the host list: {reason}")

    # -- phases --------------------------------------------------------------------------------------

    def _complete(self, on_complete: Callable[[list[HostEntry]], None]) -> None:
        # Connections that have not registered are of no use now (a node connecting this instant will
        # reconnect); closing them frees descriptors for the hostfile, should a flood have used them up.
        for conn in self._open_conns():
            if conn.index is None and not conn.closing:
                self._close(conn)
        self._hosts = [
            HostEntry(index=i, address=self._nodes[i].address, slots=self._nodes[i].slots) for i in range(self._n)
        ]
        on_complete(self._hosts)
        self._hosts_line = encode({"type": "hosts", "hosts": [h.to_json() for h in self._hosts]})
        self._acked.add(self._main_index)
        self._log(f"all {self._n} nodes registered; sending the host list")
        for node in self._nodes.values():
            if node.conn is not None:
                self._queue(node.conn, self._hosts_line)

    def _open_conns(self) -> list[_Conn]:
        return [key.data for key in self._sel.get_map().values() if key.data is not None]

    def _abort_all(self, reason: str) -> None:
        """Tell every connected child the rendezvous failed, so it exits now rather than at its timeout."""
        line = encode({"type": "abort", "reason": reason})
        for conn in self._open_conns():
            if not conn.closing:
                self._queue(conn, line, then_close=True)
        end = time.monotonic() + FLUSH_TIMEOUT_S
        while self._open_conns() and time.monotonic() < end:
            for key, mask in self._sel.select(timeout=max(0.0, end - time.monotonic())):
                conn = key.data
                if conn is None:
                    continue
                if mask & selectors.EVENT_WRITE:
                    self._flush(conn)
                elif mask & selectors.EVENT_READ:
                    try:
                        if not conn.sock.recv(RECV_BYTES):
                            self._close(conn)
                    except (BlockingIOError, InterruptedError):
                        pass
                    except OSError:
                        self._close(conn)

    def _missing(self) -> list[int]:
        return [i for i in range(self._n) if i not in self._nodes]

    def _timeout_error(self, timeout: float) -> RendezvousTimeout:
        if self._hosts_line is None:
            missing = self._missing()
            never = [i for i in missing if i not in self._left]
            gave_up = [i for i in missing if self._left.get(i, ("",))[0] == "timeout"]
            dropped = [i for i in missing if self._left.get(i, ("",))[0] == "disconnected"]
            head = f"rendezvous timed out after {timeout:g} s: "
            if not gave_up and not dropped:
                return RendezvousTimeout(
                    f"{head}{len(missing)} of {self._n} nodes never registered: {format_indexes(missing)}"
                )
            parts = []
            if never:
                parts.append(f"{len(never)} never registered: {format_indexes(never)}")
            if gave_up:
                theirs = sorted({t for i in gave_up for t in [self._left[i][1]] if t is not None})
                own = f" ({', '.join(f'{t:g}' for t in theirs)} s)" if theirs else ""
                parts.append(
                    f"{len(gave_up)} registered, then gave up when their own --timeout{own} ran out before the "
                    f"main node's ({timeout:g} s): {format_indexes(gave_up)} (give every node the same --timeout)"
                )
            if dropped:
                parts.append(
                    f"{len(dropped)} registered, then disconnected and did not come back (the process ended "
                    f"or lost the network): {format_indexes(dropped)}"
                )
            return RendezvousTimeout(f"{head}{len(missing)} of {self._n} nodes missing: {'; '.join(parts)}")
        unconfirmed = [i for i in range(self._n) if i not in self._acked]
        return RendezvousTimeout(
            f"rendezvous timed out after {timeout:g} s: the host list was sent but {len(unconfirmed)} of "
            f"{self._n} nodes never confirmed it: {format_indexes(unconfirmed)}"
        )

    def run(self, *, timeout: float, on_complete: Callable[[list[HostEntry]], None]) -> list[HostEntry]:
        """Serve until every node has confirmed the host list, or fail.

        `on_complete` is called once with the final host list before it is sent (the main node writes
        its own hostfile there); if it raises, the children are told to abort.

        Raises:
            RendezvousTimeout: not all nodes registered, or confirmed, within `timeout` seconds.
            Aborted: a child reported it could not use the host list.
        """
        start = time.monotonic()
        deadline = start + timeout
        next_progress = start + PROGRESS_EVERY_S
        next_reap = start
        try:
            while True:
                if self._hosts_line is None and len(self._nodes) == self._n:
                    self._complete(on_complete)
                if self._hosts_line is not None and len(self._acked) == self._n:
                    self._log(f"all {self._n} nodes confirmed the host list")
                    return self._hosts
                now = time.monotonic()
                if now >= deadline:
                    error = self._timeout_error(timeout)
                    self._abort_all(f"the main node gave up: {error}")
                    raise error
                if now >= next_progress:
                    waiting = self._missing() if self._hosts_line is None else sorted(set(range(self._n)) - self._acked)
                    self._log(f"still waiting for {len(waiting)} nodes: {format_indexes(waiting)}")
                    next_progress = now + PROGRESS_EVERY_S
                self._resume_accepting(now)
                wait = min(deadline - now, 1.0)
                if self._accept_paused_until is not None:
                    wait = min(wait, max(0.0, self._accept_paused_until - now))
                for key, mask in self._sel.select(timeout=wait):
                    conn = key.data
                    if conn is None:
                        self._accept(now)
                        continue
                    if mask & selectors.EVENT_READ and not conn.closed:
                        self._read(conn)
                    if mask & selectors.EVENT_WRITE and not conn.closed:
                        self._flush(conn)
                now = time.monotonic()
                if now >= next_reap:
                    self._reap(now)
                    next_reap = now + 0.5
        except Aborted as exc:
            self._abort_all(str(exc))
            raise
        except MnpError as exc:
            self._abort_all(f"the main node failed: {exc}")
            raise
        finally:
            self.close()

    def _reap(self, now: float) -> None:
        for conn in self._open_conns():
            if conn.index is None and not conn.closing and now - conn.opened > REGISTER_TIMEOUT_S:
                self._log(f"closing {conn.peer}: no register message within {REGISTER_TIMEOUT_S:g} s")
                self._close(conn)
            elif conn.closing and now - conn.closing_since > FLUSH_TIMEOUT_S:
                self._close(conn)

    def close(self) -> None:
        """Close the listener and every connection (idempotent)."""
        if self._listener.fileno() < 0:
            return
        for conn in self._open_conns():
            self._close(conn)
        with contextlib.suppress(KeyError, ValueError):
            self._sel.unregister(self._listener)
        self._listener.close()
        self._sel.close()


# ---------------------------------------------------------------------------------------------------
# Child node


class _ConnectionLost(Exception):
    """The connection to the main node broke before the rendezvous finished: reconnect."""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def run_child(
    *,
    main_address: str,
    port: int,
    index: int,
    num_nodes: int,
    address: str,
    slots: int,
    job: str | None,
    timeout: float,
    bind_address: str | None = None,
    on_hosts: Callable[[list[HostEntry]], None],
    log: Log = _no_log,
) -> list[HostEntry]:
    """Register with the main node and wait for the host list; call `on_hosts` with it; return it.

    Retries with jittered exponential backoff (capped at `BACKOFF_MAX_S`) while the main node is not
    reachable, and reconnects with the same session after a dropped connection, until `timeout`.

    Raises:
        RendezvousTimeout: no host list within `timeout` seconds.
        Rejected: the main node refused this registration (no retry: the same message would be refused).
        Aborted: the main node gave up on the rendezvous.
        ProtocolError: the main node sent something invalid.
    """
    # Unique per process; os.urandom avoids importing secrets (and hashlib) on every node's start-up.
    session = os.urandom(8).hex()
    register = encode(
        {
            "type": "register",
            "protocol": PROTOCOL_VERSION,
            "index": index,
            "num_nodes": num_nodes,
            "address": address,
            "slots": slots,
            "session": session,
            "job": job,
        }
    )
    target = f"{main_address}:{port}"
    deadline = time.monotonic() + timeout
    backoff = BACKOFF_START_S
    last_error = "no connection attempt finished"
    logged_error = ""
    written: list[bool] = [False]
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RendezvousTimeout(
                f"no host list from the main node at {target} within {timeout:g} s (last problem: {last_error})"
            )
        try:
            sock = socket.create_connection(
                (main_address, port),
                timeout=min(CONNECT_TIMEOUT_S, remaining),
                source_address=(bind_address, 0) if bind_address else None,
            )
        except OSError as exc:
            last_error = f"connecting to {target}: {_describe(exc)}"
        else:
            try:
                _keepalive(sock)
                hosts = _child_session(
                    sock, register, deadline, num_nodes, index, address, slots, on_hosts, written, log
                )
                return hosts
            except _ConnectionLost as exc:
                last_error = str(exc)
                backoff = BACKOFF_START_S
            except socket.timeout:
                last_error = f"waiting for the host list from {target}: timed out"
                if deadline - time.monotonic() <= 0:
                    # Tell the main node why this registered node goes away, so it does not report it
                    # as one that never came. Best effort: one non-blocking send.
                    _send_leaving(sock, timeout)
            finally:
                sock.close()
        if last_error != logged_error:
            log(f"{last_error}; retrying")
            logged_error = last_error
        remaining = deadline - time.monotonic()
        time.sleep(max(0.0, min(random.uniform(backoff / 2, backoff), remaining)))
        backoff = min(backoff * 2, BACKOFF_MAX_S)


def _child_session(
    sock: socket.socket,
    register: bytes,
    deadline: float,
    num_nodes: int,
    index: int,
    address: str,
    slots: int,
    on_hosts: Callable[[list[HostEntry]], None],
    written: list[bool],
    log: Log,
) -> list[HostEntry]:
    """One connection's worth of the child protocol; `written` remembers on_hosts across reconnects."""
    sock.settimeout(max(0.001, min(SEND_TIMEOUT_S, deadline - time.monotonic())))
    try:
        sock.sendall(register)
    except socket.timeout:
        raise
    except OSError as exc:
        raise _ConnectionLost(f"sending to the main node: {_describe(exc)}") from None
    buffer = LineBuffer(limit=max_reply_bytes(num_nodes))
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout()
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(RECV_BYTES)
        except socket.timeout:
            raise
        except OSError as exc:
            raise _ConnectionLost(f"waiting for the host list: {_describe(exc)}") from None
        if not chunk:
            raise _ConnectionLost("the main node closed the connection")
        for line in buffer.feed(chunk):
            message = decode(line)
            kind = message["type"]
            if kind == "registered":
                log(f"registered as node {index} ({message.get('registered')}/{message.get('expected')})")
            elif kind == "reject":
                raise Rejected(f"the main node rejected node {index}: {truncate_reason(message.get('reason'))}")
            elif kind == "abort":
                raise Aborted(f"the main node aborted the rendezvous: {truncate_reason(message.get('reason'))}")
            elif kind == "hosts":
                hosts = parse_hosts(message, num_nodes=num_nodes)
                mine = hosts[index]
                if (mine.address, mine.slots) != (address, slots):
                    raise ProtocolError(
                        f"the host list gives node {index} as {mine.address} slots={mine.slots}, "
                        f"but it registered {address} slots={slots}"
                    )
                if not written[0]:
                    try:
                        on_hosts(hosts)
                    except MnpError as exc:
                        _send_done(sock, ok=False, reason=str(exc))
                        raise
                    written[0] = True
                _send_done(sock, ok=True, reason="")
                return hosts
            else:
                raise ProtocolError(f"unexpected message type {kind!r} from the main node")


def _send_leaving(sock: socket.socket, timeout: float) -> None:
    with contextlib.suppress(OSError):
        sock.setblocking(False)
        sock.send(encode({"type": "leaving", "reason": "timeout", "timeout": timeout}))


def _send_done(sock: socket.socket, *, ok: bool, reason: str) -> None:
    sock.settimeout(SEND_TIMEOUT_S)
    try:
        sock.sendall(encode({"type": "done", "ok": ok, "reason": reason}))
    except OSError as exc:
        if ok:
            raise _ConnectionLost(f"confirming the host list: {_describe(exc)}") from None
        # Failure path: this node exits non-zero anyway; the main node then times out naming it.
