"""End-to-end rendezvous: every node a separate `python -m mnp_runtime` process on loopback."""

from __future__ import annotations

import json
import random
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mnp_runtime import errors
from mnp_runtime.cli import EPILOG
from tests.mnp_runtime.nodes import Cluster, node_env, run_cli, wait_for

EXIT_TIMEOUT, EXIT_REJECTED, EXIT_ABORTED, EXIT_IO, EXIT_CONFIG = 3, 4, 5, 6, 2


@pytest.fixture
def cluster_factory(tmp_path: Path) -> Iterator[list[Cluster]]:
    made: list[Cluster] = []
    yield made
    for cluster in made:
        cluster.kill_all()


def make(made: list[Cluster], tmp_path: Path, *, num_nodes: int, main_index: int = 0) -> Cluster:
    cluster = Cluster(tmp_path, num_nodes=num_nodes, main_index=main_index)
    made.append(cluster)
    return cluster


def test_children_start_first_in_random_order_and_all_get_the_same_hostfile(
    cluster_factory: list[Cluster], tmp_path: Path
) -> None:
    cluster = make(cluster_factory, tmp_path, num_nodes=6, main_index=2)
    children = [i for i in range(6) if i != 2]
    random.Random(4).shuffle(children)
    started = [cluster.start(i) for i in children]
    # Every child must have found the main node absent at least once: the retry path is exercised.
    wait_for(
        lambda: all("Connection refused; retrying" in n.stderr for n in started),
        what="every child to try the absent main node",
    )
    main = cluster.start(2)
    codes = {n.index: n.wait() for n in [*started, main]}
    assert codes == dict.fromkeys(range(6), 0), [n.stderr for n in cluster.nodes]
    expected = cluster.expected_hostfile()
    assert expected.splitlines()[2].startswith(cluster.main_address + " ")
    for node in cluster.nodes:
        assert node.hostfile.read_text() == expected
    # Atomic writes leave no temporary files behind.
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_main_node_fails_naming_the_node_that_never_came(cluster_factory: list[Cluster], tmp_path: Path) -> None:
    cluster = make(cluster_factory, tmp_path, num_nodes=5)
    children = [cluster.start(i, timeout=60) for i in (1, 2, 4)]
    # Children already up and retrying, so they register well within the main node's short timeout.
    wait_for(lambda: all("retrying" in c.stderr for c in children), what="the children to start")
    main = cluster.start(0, timeout=4)
    assert main.wait() == EXIT_TIMEOUT
    [line] = main.error_lines()
    assert line == "mnp-node: error: rendezvous timed out after 4 s: 1 of 5 nodes never registered: 3"
    for child in children:
        # The main node tells waiting children to give up instead of letting them hang to their timeout.
        assert child.wait() == EXIT_ABORTED
        [child_line] = child.error_lines()
        assert "aborted" in child_line
        assert "never registered: 3" in child_line
    assert not any(n.hostfile.exists() for n in cluster.nodes)


def test_duplicate_index_is_rejected_and_the_first_process_keeps_it(
    cluster_factory: list[Cluster], tmp_path: Path
) -> None:
    cluster = make(cluster_factory, tmp_path, num_nodes=3)
    main = cluster.start(0)
    first = cluster.start(1)
    wait_for(lambda: "registered node 1 at" in main.stderr, what="the main node to register node 1")
    duplicate = cluster.start(1, address=f"127.{cluster.net}.9.9", name="duplicate", verbose=False)
    assert duplicate.wait() == EXIT_REJECTED
    [line] = duplicate.error_lines()
    assert "rejected node 1" in line
    assert f"already registered by another process (address {cluster.address(1)})" in line
    last = cluster.start(2)
    assert [main.wait(), first.wait(), last.wait()] == [0, 0, 0]
    assert main.hostfile.read_text() == cluster.expected_hostfile()
    assert not duplicate.hostfile.exists()


def test_out_of_range_index_is_rejected_by_the_main_node(cluster_factory: list[Cluster], tmp_path: Path) -> None:
    cluster = make(cluster_factory, tmp_path, num_nodes=2)
    main = cluster.start(0)
    # A node of a larger job (index 5 of 8) reaching this 2-node job's main node.
    stray = cluster.start(1, env_index=5, env_num_nodes=8, name="stray", verbose=False)
    assert stray.wait() == EXIT_REJECTED
    [line] = stray.error_lines()
    assert "node index 5 is out of range for this 2-node job (0..1)" in line
    good = cluster.start(1)
    assert [main.wait(), good.wait()] == [0, 0]


def test_child_that_cannot_reach_the_main_node_fails_within_its_timeout(
    cluster_factory: list[Cluster], tmp_path: Path
) -> None:
    cluster = make(cluster_factory, tmp_path, num_nodes=2)
    child = cluster.start(1, timeout=1, verbose=False)
    assert child.wait() == EXIT_TIMEOUT
    [line] = child.error_lines()
    assert f"no host list from the main node at {cluster.main_address}:{cluster.port} within 1 s" in line
    assert "Connection refused" in line


def test_single_node_job_writes_its_own_hostfile(cluster_factory: list[Cluster], tmp_path: Path) -> None:
    cluster = make(cluster_factory, tmp_path, num_nodes=1)
    main = cluster.start(0)
    assert main.wait() == 0
    assert main.hostfile.read_text() == f"{cluster.main_address} slots=2\n"


def test_port_in_use_is_a_one_line_error(cluster_factory: list[Cluster], tmp_path: Path) -> None:
    cluster = make(cluster_factory, tmp_path, num_nodes=2)
    with socket.socket() as squatter:
        squatter.bind((cluster.main_address, cluster.port))
        squatter.listen()
        main = cluster.start(0, verbose=False)
        assert main.wait() == EXIT_IO
    [line] = main.error_lines()
    assert f"cannot listen on {cluster.main_address}:{cluster.port}" in line


def test_missing_hostfile_directory_fails_before_any_networking(tmp_path: Path) -> None:
    env = node_env(index=0, num_nodes=2)
    result = run_cli(
        ["rendezvous", "--hostfile", str(tmp_path / "nope" / "hosts"), "--advertise-address", "127.0.0.1"], env
    )
    assert result.returncode == EXIT_CONFIG
    assert result.stderr.splitlines() == [
        f"mnp-node: error: --hostfile {tmp_path}/nope/hosts: directory {tmp_path}/nope does not exist"
    ]


@pytest.mark.parametrize(
    ("env_kwargs", "expected"),
    [
        ({"index": None, "num_nodes": 4}, "AWS_BATCH_JOB_NODE_INDEX is not set (expected an integer >= 0)"),
        ({"index": "one", "num_nodes": 4}, "AWS_BATCH_JOB_NODE_INDEX is 'one' (expected an integer >= 0)"),
        ({"index": 1, "num_nodes": "0"}, "AWS_BATCH_JOB_NUM_NODES is 0 (expected an integer >= 1)"),
        ({"index": 1, "num_nodes": 4, "main_address": None}, "AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS is not set"),
        (
            {"index": 1, "num_nodes": 4, "main_address": "10.0.0"},
            "AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS is '10.0.0'",
        ),
        ({"index": 4, "num_nodes": 4}, "AWS_BATCH_JOB_NODE_INDEX is 4 (expected 0..3"),
    ],
)
def test_malformed_environment_is_a_one_line_error_naming_the_variable(
    env_kwargs: dict[str, object], expected: str
) -> None:
    kwargs: dict[str, object] = {"main_address": "10.0.0.1", **env_kwargs}
    result = run_cli(["env"], node_env(**kwargs))  # type: ignore[arg-type]
    assert result.returncode == EXIT_CONFIG
    [line] = result.stderr.splitlines()
    assert line.startswith("mnp-node: error: ")
    assert expected in line
    assert "Traceback" not in result.stderr


def test_env_prints_the_context_for_shell_and_json() -> None:
    env = node_env(index=3, num_nodes=4, main_index=1, main_address="10.0.0.7", extra={"AWS_BATCH_JOB_ID": "abc#3"})
    shell = run_cli(["env"], env)
    assert shell.returncode == 0, shell.stderr
    assert "MNP_NODE_INDEX=3" in shell.stdout.splitlines()
    assert "MNP_NODE_RANK=2" in shell.stdout.splitlines()
    assert "MNP_MAIN_ADDRESS=10.0.0.7" in shell.stdout.splitlines()
    assert "MNP_PARENT_JOB_ID=abc" in shell.stdout.splitlines()
    as_json = json.loads(run_cli(["env", "--json"], env).stdout)
    assert as_json["is_main"] is False
    assert as_json["num_nodes"] == 4


def test_env_on_the_main_node_reports_its_own_address_as_main_address() -> None:
    env = node_env(index=0, num_nodes=2)
    result = run_cli(["env", "--json", "--advertise-address", "10.1.2.3"], env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["main_address"] == "10.1.2.3"


def test_usage_errors_are_one_line() -> None:
    result = run_cli(["rendezvous", "--hostfile", "h", "--port", "70000"], node_env(index=0, num_nodes=1))
    assert result.returncode == EXIT_CONFIG
    assert result.stderr.splitlines() == [
        "mnp-node: error: argument --port: expected an integer 1..65535, got '70000' (see mnp-node --help)"
    ]


class _MetadataHandler(BaseHTTPRequestHandler):
    documents: dict[str, bytes] = {}

    def do_GET(self) -> None:
        body = self.documents.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


def test_node_address_comes_from_the_task_metadata_endpoint(cluster_factory: list[Cluster], tmp_path: Path) -> None:
    cluster = make(cluster_factory, tmp_path, num_nodes=2)
    documented = json.loads((Path(__file__).parent / "data" / "ecs_metadata_v4_container.json").read_text())
    documented["Networks"][0]["IPv4Addresses"] = [cluster.main_address]
    handler = type("Handler", (_MetadataHandler,), {"documents": {"/v4/abc": json.dumps(documented).encode()}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        uri = f"http://127.0.0.1:{server.server_address[1]}/v4/abc"
        main = cluster.start(0, extra_env={"ECS_CONTAINER_METADATA_URI_V4": uri})
        child = cluster.start(1)
        assert [main.wait(), child.wait()] == [0, 0], main.stderr
    finally:
        server.shutdown()
        server.server_close()
    assert f"address {cluster.main_address} (from ECS task metadata)" in main.stderr
    assert main.hostfile.read_text() == cluster.expected_hostfile()


def test_exit_codes_agree_between_code_help_and_docs() -> None:
    in_code = {value for name, value in vars(errors).items() if name.startswith("EXIT_")}
    in_help = {int(m) for m in re.findall(r"^  (\d+)  ", EPILOG, flags=re.MULTILINE)}
    docs = (Path(__file__).resolve().parents[2] / "docs" / "runtime.md").read_text()
    table = docs.split("### Exit codes", 1)[1].split("\n## ", 1)[0]
    in_docs = {int(m) for m in re.findall(r"^\| (\d+) \|", table, flags=re.MULTILINE)}
    assert in_code == in_help == in_docs
    classes: list[type[errors.MnpError]] = [errors.MnpError, *errors.MnpError.__subclasses__()]
    for cls in classes:
        assert cls.exit_code in in_code, cls
