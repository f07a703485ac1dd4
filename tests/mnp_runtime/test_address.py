"""This node's address: the ECS task metadata v4 parser (against the documented response shapes,
served by a local HTTP server) and the order of the address sources."""

from __future__ import annotations

import copy
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mnp_runtime.address import (
    ENV_METADATA_V4,
    SOURCE_FLAG,
    SOURCE_HOST,
    SOURCE_METADATA,
    host_address,
    metadata_address,
    parse_metadata_address,
    resolve_own_address,
)
from mnp_runtime.errors import ConfigError

DATA = Path(__file__).parent / "data"
CONTAINER_DOC: dict[str, Any] = json.loads((DATA / "ecs_metadata_v4_container.json").read_text())
TASK_DOC: dict[str, Any] = json.loads((DATA / "ecs_metadata_v4_task.json").read_text())


class MetadataServer:
    """A local stand-in for the ECS agent: serves path -> (status, body)."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes]] = {}
        self.requests: list[str] = []
        routes, requests = self.routes, self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                requests.append(self.path)
                status, body = routes.get(self.path, (404, b"not found"))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.uri = f"http://127.0.0.1:{self.httpd.server_address[1]}/v4/0123456789abcdef-3338283512"

    def serve(self, path: str, document: Any, status: int = 200) -> None:
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        self.routes[path] = (status, body)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def metadata() -> Iterator[MetadataServer]:
    server = MetadataServer()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _clear_routes(metadata: MetadataServer) -> None:
    metadata.routes.clear()
    metadata.requests.clear()


def test_documented_container_response() -> None:
    assert parse_metadata_address(CONTAINER_DOC) == "10.0.0.61"


def test_documented_task_response() -> None:
    assert parse_metadata_address(TASK_DOC) == "10.0.0.108"


def test_bridge_or_host_mode_has_no_usable_address() -> None:
    bridge = copy.deepcopy(CONTAINER_DOC)
    bridge["Networks"] = [{"NetworkMode": "bridge", "IPv4Addresses": ["172.17.0.2"]}]
    assert parse_metadata_address(bridge) is None
    host = copy.deepcopy(CONTAINER_DOC)
    host["Networks"] = [{"NetworkMode": "host"}]
    assert parse_metadata_address(host) is None
    assert parse_metadata_address({"DockerId": "x"}) is None


def test_first_awsvpc_address_wins() -> None:
    doc = {"Networks": [{"NetworkMode": "bridge", "IPv4Addresses": ["172.17.0.2"]},
                        {"NetworkMode": "AWSVPC", "IPv4Addresses": ["10.0.0.7", "10.0.0.8"]}]}  # fmt: skip
    assert parse_metadata_address(doc) == "10.0.0.7"


@pytest.mark.parametrize(
    ("document", "error"),
    [
        ([], "task metadata is list: expected a JSON object"),
        ({"Networks": {}}, "metadata.Networks is dict: expected a list"),
        ({"Networks": ["x"]}, r"metadata.Networks\[0\] is str: expected an object"),
        ({"Networks": [{"NetworkMode": "awsvpc", "IPv4Addresses": "10.0.0.1"}]}, "IPv4Addresses is str"),
        ({"Networks": [{"NetworkMode": "awsvpc", "IPv4Addresses": ["fe80::1"]}]}, r"IPv4Addresses\[0\] is 'fe80::1'"),
        ({"Containers": {}}, "Containers is dict: expected a list"),
        ({"Containers": [3]}, r"Containers\[0\] is int: expected an object"),
    ],
)
def test_malformed_documents_are_errors(document: Any, error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        parse_metadata_address(document)


def test_fetch_reads_the_container_endpoint(metadata: MetadataServer) -> None:
    metadata.serve("/v4/0123456789abcdef-3338283512", CONTAINER_DOC)
    assert metadata_address(metadata.uri) == "10.0.0.61"
    assert metadata.requests == ["/v4/0123456789abcdef-3338283512"]


def test_fetch_falls_back_to_the_task_endpoint(metadata: MetadataServer) -> None:
    container = {k: v for k, v in CONTAINER_DOC.items() if k != "Networks"}
    metadata.serve("/v4/0123456789abcdef-3338283512", container)
    metadata.serve("/v4/0123456789abcdef-3338283512/task", TASK_DOC)
    assert metadata_address(metadata.uri) == "10.0.0.108"
    assert metadata.requests == ["/v4/0123456789abcdef-3338283512", "/v4/0123456789abcdef-3338283512/task"]


def test_http_error_names_the_endpoint(metadata: MetadataServer) -> None:
    metadata.serve("/v4/0123456789abcdef-3338283512", b"boom", status=500)
    with pytest.raises(ConfigError, match=f"task metadata endpoint {metadata.uri} answered HTTP 500; pass --advertise"):
        metadata_address(metadata.uri)


def test_non_json_answer_is_an_error(metadata: MetadataServer) -> None:
    metadata.serve("/v4/0123456789abcdef-3338283512", b"<html>")
    with pytest.raises(ConfigError, match="did not answer JSON"):
        metadata_address(metadata.uri)


def test_unreachable_endpoint_is_an_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConfigError, match=rf"cannot read task metadata endpoint http://127.0.0.1:{port}/v4/x"):
        metadata_address(f"http://127.0.0.1:{port}/v4/x")


def test_advertise_address_wins_over_metadata(metadata: MetadataServer) -> None:
    metadata.serve("/v4/0123456789abcdef-3338283512", CONTAINER_DOC)
    env = {ENV_METADATA_V4: metadata.uri}
    assert resolve_own_address(advertise_address="10.9.9.9", main_address=None, environ=env) == (
        "10.9.9.9",
        SOURCE_FLAG,
    )
    assert metadata.requests == []
    assert resolve_own_address(advertise_address=None, main_address=None, environ=env) == ("10.0.0.61", SOURCE_METADATA)


def test_metadata_without_awsvpc_falls_back_to_the_host_address(metadata: MetadataServer) -> None:
    bridge = {"Networks": [{"NetworkMode": "bridge", "IPv4Addresses": ["172.17.0.2"]}]}
    metadata.serve("/v4/0123456789abcdef-3338283512", bridge)
    metadata.serve("/v4/0123456789abcdef-3338283512/task", {"Containers": [bridge]})
    address, source = resolve_own_address(
        advertise_address=None, main_address="127.0.0.1", environ={ENV_METADATA_V4: metadata.uri}
    )
    assert (address, source) == ("127.0.0.1", SOURCE_HOST)


def test_child_host_address_is_the_route_source_towards_the_main_node() -> None:
    # On loopback the kernel picks 127.0.0.1 as the source towards any 127/8 address.
    assert host_address(main_address="127.0.0.1") == "127.0.0.1"


def test_no_address_at_all_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import mnp_runtime.address as address_module

    monkeypatch.setattr(address_module, "host_address", lambda *, main_address: None)
    with pytest.raises(ConfigError, match="cannot determine this node's IPv4 address; pass --advertise-address"):
        resolve_own_address(advertise_address=None, main_address=None, environ={})
