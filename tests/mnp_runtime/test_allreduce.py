"""``mnp-node allreduce``: the ring algorithm in memory, then real node processes on loopback.

Each node is a separate ``python -S -m mnp_runtime`` process on its own 127.x.y.z address (as the
rendezvous tests run them). The expected sums are computed here from the documented vectors
(``(i + 1) * (k + 1)``), not taken from the implementation.
"""

from __future__ import annotations

import array
import itertools
import json
import socket
import struct
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path

import pytest

from mnp_runtime import allreduce
from tests.mnp_runtime.nodes import Cluster, node_env

pytestmark = pytest.mark.timeout(180)


# --- the algorithm, in memory ----------------------------------------------------------------------


def _simulate(size: int, length: int) -> list[list[int]]:
    """Run ``ring_allreduce`` for every rank in threads, links as in-memory queues."""
    inboxes = [deque[list[int]]() for _ in range(size)]
    ready = [threading.Condition() for _ in range(size)]
    results: list[list[int]] = [[] for _ in range(size)]

    def send_from(rank: int) -> Callable[[array.array[int]], None]:
        def send(chunk: array.array[int]) -> None:
            target = (rank + 1) % size
            with ready[target]:
                inboxes[target].append(list(chunk))
                ready[target].notify()

        return send

    def receive_at(rank: int) -> Callable[[int], array.array[int]]:
        def receive(count: int) -> array.array[int]:
            with ready[rank]:
                ready[rank].wait_for(lambda: bool(inboxes[rank]), timeout=30)
                chunk = inboxes[rank].popleft()
            assert len(chunk) == count
            return array.array("q", chunk)

        return receive

    def run(rank: int) -> None:
        values = array.array("q", [(rank + 1) * (k + 1) for k in range(length)])
        allreduce.ring_allreduce(values, rank=rank, size=size, send=send_from(rank), receive=receive_at(rank))
        results[rank] = list(values)

    threads = [threading.Thread(target=run, args=(rank,)) for rank in range(size)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


@pytest.mark.parametrize(("size", "length"), [(1, 1), (2, 2), (3, 10), (4, 1024), (5, 7), (7, 100)])
def test_ring_allreduce_gives_every_rank_the_element_wise_sum(size: int, length: int) -> None:
    expected = [sum((rank + 1) * (k + 1) for rank in range(size)) for k in range(length)]
    results = _simulate(size, length)
    assert results == [expected] * size


def test_chunks_cover_the_vector_once_and_differ_by_at_most_one() -> None:
    for length, parts in [(10, 3), (7, 7), (1024, 4), (1001, 64)]:
        bounds = allreduce.chunk_bounds(length, parts)
        assert bounds[0][0] == 0 and bounds[-1][1] == length
        assert all(end == start for (_, end), (start, _) in itertools.pairwise(bounds))
        sizes = {end - start for start, end in bounds}
        assert max(sizes) - min(sizes) <= 1


# --- real node processes ---------------------------------------------------------------------------


def _write_hostfile(path: Path, cluster: Cluster) -> Path:
    path.write_text("".join(f"{cluster.address(i)} slots=1\n" for i in range(cluster.num_nodes)), encoding="ascii")
    return path


def _free_port(address: str) -> int:
    with socket.socket() as probe:
        probe.bind((address, 0))
        return int(probe.getsockname()[1])


def _start(
    cluster: Cluster, index: int, hostfile: Path, port: int, *extra: str, job: str = "job-1", timeout: float = 30
) -> subprocess.Popen[str]:
    env = node_env(
        index=index,
        num_nodes=cluster.num_nodes,
        main_index=cluster.main_index,
        main_address=None if index == cluster.main_index else cluster.main_address,
        extra={"AWS_BATCH_JOB_ID": f"{job}#{index}"},
    )
    args = [sys.executable, "-S", "-m", "mnp_runtime", "allreduce", "--hostfile", str(hostfile)]
    args += ["--port", str(port), "--timeout", str(timeout), *extra]
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(procs: list[subprocess.Popen[str]]) -> list[tuple[int, str, str]]:
    results = []
    for proc in procs:
        try:
            out, err = proc.communicate(timeout=90)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        results.append((proc.returncode, out, err))
    return results


@pytest.mark.parametrize(("num_nodes", "main_index"), [(1, 0), (2, 0), (4, 2), (9, 0)])
def test_nodes_all_reduce_over_tcp_and_the_main_node_prints_the_checked_sum(
    tmp_path: Path, num_nodes: int, main_index: int
) -> None:
    cluster = Cluster(tmp_path, num_nodes=num_nodes, main_index=main_index)
    hostfile = _write_hostfile(tmp_path / "hosts", cluster)
    port = _free_port(cluster.main_address)
    results = _finish([_start(cluster, i, hostfile, port, "--length", "100") for i in range(num_nodes)])
    assert [code for code, _, _ in results] == [0] * num_nodes, results
    total = num_nodes * (num_nodes + 1) // 2
    shown = f"[{total}, {2 * total}, {3 * total}, ..., {100 * total}]"
    first, main_out = results[main_index][1].strip().splitlines()
    listed = [cluster.address(i) for i in range(num_nodes)]
    listed = listed if num_nodes <= 4 else [*listed[:3], "...", listed[-1]]
    assert first == f"allreduce: the rendezvous is complete: {num_nodes} nodes ({', '.join(listed)})"
    assert main_out.startswith(f"allreduce: {num_nodes} nodes summed their vectors of 100 integers"), main_out
    assert f": {shown}, checked on every node" in main_out
    for index, (_, out, err) in enumerate(results):
        assert err == ""
        if index != main_index:
            assert out.strip().startswith(f"allreduce: node {index}: sum {shown} checked"), out


def test_rendezvous_then_allreduce_as_the_sample_job_runs_them(tmp_path: Path) -> None:
    """The default config's command: rendezvous on each node's own address, then the ring on its hostfile."""
    cluster = Cluster(tmp_path, num_nodes=3)
    port = _free_port(cluster.main_address)
    procs = []
    for index in range(3):
        workdir = tmp_path / f"node{index}"
        workdir.mkdir()
        env = node_env(
            index=index,
            num_nodes=3,
            main_index=0,
            main_address=None if index == 0 else cluster.main_address,
            extra={"AWS_BATCH_JOB_ID": f"job-2#{index}", "HOME": str(workdir), "PYTHON": sys.executable},
        )
        script = (
            '"$PYTHON" -S -m mnp_runtime rendezvous --hostfile "$HOME/hostfile" --bind-address advertised '
            f"--advertise-address {cluster.address(index)} --port {port} --timeout 30 && "
            f'exec "$PYTHON" -S -m mnp_runtime allreduce --hostfile "$HOME/hostfile" --port {port + 1} --timeout 30'
        )
        procs.append(
            subprocess.Popen(
                ["/bin/sh", "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        )
    results = _finish(procs)
    assert [code for code, _, _ in results] == [0, 0, 0], results
    assert "checked on every node" in results[0][1]
    for index in range(3):
        assert (tmp_path / f"node{index}" / "hostfile").read_text() == cluster.expected_hostfile(slots=1)


def test_bind_address_advertised_listens_on_the_node_address_only(tmp_path: Path) -> None:
    """Two jobs' main nodes on one host, same port, each on its own address: both rendezvous complete."""
    jobs = [Cluster(tmp_path / f"job{j}", num_nodes=2) for j in range(2)]
    for cluster in jobs:
        cluster.tmp_path.mkdir()
    port = _free_port(jobs[0].main_address)
    procs = []
    for j, cluster in enumerate(jobs):
        for index in range(2):
            env = node_env(
                index=index,
                num_nodes=2,
                main_index=0,
                main_address=None if index == 0 else cluster.main_address,
                extra={"AWS_BATCH_JOB_ID": f"job-{j}#{index}"},
            )
            args = [sys.executable, "-S", "-m", "mnp_runtime", "rendezvous"]
            args += ["--hostfile", str(cluster.tmp_path / f"hosts{index}"), "--bind-address", "advertised"]
            args += ["--advertise-address", cluster.address(index), "--port", str(port), "--timeout", "30"]
            procs.append(subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = _finish(procs)
    assert [code for code, _, _ in results] == [0] * 4, results


def test_a_neighbour_that_never_comes_times_out_naming_it(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, num_nodes=3)
    hostfile = _write_hostfile(tmp_path / "hosts", cluster)
    port = _free_port(cluster.main_address)
    results = _finish([_start(cluster, i, hostfile, port, timeout=2) for i in (0, 1)])
    codes = [code for code, _, _ in results]
    assert codes[0] == 3, results
    assert f"node 2 ({cluster.address(2)}) never connected" in results[0][2]
    # Node 1 cannot reach node 2, its right neighbour.
    assert codes[1] == 3 and f"cannot reach the right neighbour at {cluster.address(2)}:{port}" in results[1][2]


def test_a_neighbour_that_dies_mid_ring_fails_the_main_node(tmp_path: Path) -> None:
    """Node 1 is a fake that connects, sends its header and closes: the main node says so and exits 5."""
    cluster = Cluster(tmp_path, num_nodes=2)
    hostfile = _write_hostfile(tmp_path / "hosts", cluster)
    port = _free_port(cluster.main_address)
    main = _start(cluster, 0, hostfile, port)
    with socket.socket() as fake_listener:
        fake_listener.bind((cluster.address(1), port))
        fake_listener.listen(1)
        header = {"type": "allreduce", "protocol": 1, "job": "job-1", "from": 1, "num_nodes": 2, "length": 1024}
        fake = _connect_when_up(cluster.main_address, port)
        fake.sendall((json.dumps(header) + "\n").encode())
        fake.close()
        ((code, _, err),) = _finish([main])
    assert code == 5, err
    assert f"node 1 ({cluster.address(1)}) closed the connection before sending a chunk" in err


def test_a_wrong_sum_is_refused_with_exit_8(tmp_path: Path) -> None:
    """A fake node 1 sends chunks that are off by one: node 0's check fails, naming the element."""
    cluster = Cluster(tmp_path, num_nodes=2)
    hostfile = _write_hostfile(tmp_path / "hosts", cluster)
    port = _free_port(cluster.main_address)
    length = 4
    main = _start(cluster, 0, hostfile, port, "--length", str(length))
    with socket.socket() as fake_listener:
        fake_listener.bind((cluster.address(1), port))
        fake_listener.listen(1)
        header = {"type": "allreduce", "protocol": 1, "job": "job-1", "from": 1, "num_nodes": 2, "length": length}
        fake = _connect_when_up(cluster.main_address, port)
        fake.sendall((json.dumps(header) + "\n").encode())
        # Two steps of two integers each (reduce-scatter, all-gather): the wrong values 100, 100.
        for _ in range(2):
            fake.sendall(struct.pack("!cI", b"C", 16) + struct.pack("!qq", 100, 100))
        ((code, _, err),) = _finish([main])
        fake.close()
    assert code == 8, err
    assert "the all-reduced vector is wrong at element" in err


def test_nodes_with_different_lengths_are_told_so(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, num_nodes=2)
    hostfile = _write_hostfile(tmp_path / "hosts", cluster)
    port = _free_port(cluster.main_address)
    results = _finish(
        [_start(cluster, 0, hostfile, port, "--length", "8"), _start(cluster, 1, hostfile, port, "--length", "9")]
    )
    assert results[0][0] == 7, results
    assert "length 9 (this node: 8)" in results[0][2]


def test_a_stray_connection_is_ignored(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, num_nodes=2)
    hostfile = _write_hostfile(tmp_path / "hosts", cluster)
    port = _free_port(cluster.main_address)
    main = _start(cluster, 0, hostfile, port)
    stray = _connect_when_up(cluster.main_address, port)
    stray.sendall(b"GET / HTTP/1.0\r\n\r\n")
    child = _start(cluster, 1, hostfile, port)
    results = _finish([main, child])
    stray.close()
    assert [code for code, _, _ in results] == [0, 0], results


def test_a_hostfile_of_another_size_is_a_config_error(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, num_nodes=3)
    hostfile = tmp_path / "hosts"
    hostfile.write_text(f"{cluster.address(0)} slots=1\n", encoding="ascii")
    ((code, _, err),) = _finish([_start(cluster, 0, hostfile, 7980)])
    assert code == 2
    assert err.strip() == (
        f"mnp-node: error: --hostfile {hostfile} lists 1 nodes but AWS_BATCH_JOB_NUM_NODES is 3: use the hostfile "
        "this job's rendezvous wrote"
    )


def _connect_when_up(address: str, port: int) -> socket.socket:
    for _ in range(600):
        try:
            return socket.create_connection((address, port), timeout=5)
        except OSError:
            threading.Event().wait(0.05)
    raise AssertionError(f"nothing listened on {address}:{port}")
