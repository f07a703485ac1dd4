"""A local ECS task metadata endpoint (version 4), so a node can learn its own address as it does on AWS.

On AWS the ECS agent sets ``ECS_CONTAINER_METADATA_URI_V4`` in every container; a GET of it returns the
container's metadata, whose ``Networks[]`` entry of ``NetworkMode`` ``awsvpc`` lists the task's private
address in ``IPv4Addresses``, and ``${ECS_CONTAINER_METADATA_URI_V4}/task`` returns the task's, with the
containers under ``Containers`` (ECS developer guide, "Amazon ECS task metadata endpoint version 4").

This server answers both for each node with that node's address, on 127.0.0.1 (and, with network
namespaces, through a relay on the bridge). Only the fields a node needs to find itself are filled in:
``DockerId``, ``Name``, ``Image``, ``Labels`` (task ARN, cluster), the statuses and ``Networks``; the
``stats`` paths are not served (404).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mnp_local.runner.settings import LOOPBACK


class MetadataServer:
    """Serves ``/v4/<token>`` and ``/v4/<token>/task`` for every registered node."""

    def __init__(self) -> None:
        self._documents: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        self._lock = threading.Lock()
        documents, lock = self._documents, self._lock

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = self.path.strip("/").split("/")
                found = None
                if len(parts) in (2, 3) and parts[0] == "v4" and (len(parts) == 2 or parts[2] == "task"):
                    with lock:
                        found = documents.get(parts[1])
                if found is None:
                    self.send_error(404)
                    return
                body = json.dumps(found[0] if len(parts) == 2 else found[1]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # no line per request on stderr
                pass

        self._server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="mnp-ecs-metadata", daemon=True
        )
        self._thread.start()

    def url(self, token: str, *, host: str = LOOPBACK, port: int | None = None) -> str:
        return f"http://{host}:{port or self.port}/v4/{token}"

    def register(
        self,
        token: str,
        *,
        address: str,
        image: str,
        task_arn: str,
        cluster: str,
        family: str,
        revision: int,
        region: str,
    ) -> None:
        container = {
            "DockerId": token,
            "Name": "default",
            "DockerName": f"ecs-{family}-{revision}-default-{token[:12]}",
            "Image": image,
            "Labels": {
                "com.amazonaws.ecs.cluster": cluster,
                "com.amazonaws.ecs.container-name": "default",
                "com.amazonaws.ecs.task-arn": task_arn,
                "com.amazonaws.ecs.task-definition-family": family,
                "com.amazonaws.ecs.task-definition-version": str(revision),
            },
            "DesiredStatus": "RUNNING",
            "KnownStatus": "RUNNING",
            "Type": "NORMAL",
            "Networks": [{"NetworkMode": "awsvpc", "IPv4Addresses": [address]}],
        }
        task = {
            "Cluster": cluster,
            "TaskARN": task_arn,
            "Family": family,
            "Revision": str(revision),
            "DesiredStatus": "RUNNING",
            "KnownStatus": "RUNNING",
            "AvailabilityZone": f"{region}a",
            "LaunchType": "EC2",
            "Containers": [container],
        }
        with self._lock:
            self._documents[token] = (container, task)

    def unregister(self, token: str) -> None:
        with self._lock:
            self._documents.pop(token, None)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
