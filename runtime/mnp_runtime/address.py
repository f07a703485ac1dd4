"""Finding the IPv4 address this node tells the others to reach it at.

Order, first match wins:

1. ``--advertise-address``, when given: an operator's explicit choice beats any detection (and local
   tests on loopback need it).
2. The ECS task metadata endpoint v4 (``ECS_CONTAINER_METADATA_URI_V4``): Batch MNP containers run in
   the ``awsvpc`` network mode, where each container has its own elastic network interface, and the
   container metadata's ``Networks[].IPv4Addresses`` holds that interface's private address.
3. The host's address: the source address the kernel picks for a route to the main node (children), or
   the address the host name resolves to (main node).

When the metadata endpoint is set but cannot be read, or answers with something that is not the
documented JSON, that is an error, not a silent fall-through to step 3: a wrong address produces a job
whose nodes cannot reach each other, which is far harder to diagnose than a failed start. A well-formed
answer without an ``awsvpc`` address (``host`` or ``bridge`` network mode, where the listed address, if
any, is not reachable from other hosts) falls through to step 3.
"""

from __future__ import annotations

import ipaddress
import json
import socket

from mnp_runtime.errors import ConfigError

# typing is imported for type checkers only: at run time it would cost every node's start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

ENV_METADATA_V4 = "ECS_CONTAINER_METADATA_URI_V4"

# The endpoint is link-local and answers in milliseconds; a hang means it is not there.
METADATA_TIMEOUT_S = 5.0
# The documented responses are a few KiB; anything far larger is not the metadata endpoint.
METADATA_MAX_BYTES = 1024 * 1024

SOURCE_FLAG = "--advertise-address"
SOURCE_METADATA = "ECS task metadata"
SOURCE_HOST = "host"


def _network_addresses(networks: Any, where: str) -> list[str]:
    """IPv4 addresses of the ``awsvpc`` entries of a ``Networks`` list, in order."""
    if not isinstance(networks, list):
        raise ConfigError(f"{where}.Networks is {type(networks).__name__}: expected a list")
    found: list[str] = []
    for i, net in enumerate(networks):
        if not isinstance(net, dict):
            raise ConfigError(f"{where}.Networks[{i}] is {type(net).__name__}: expected an object")
        if str(net.get("NetworkMode", "")).lower() != "awsvpc":
            continue
        addrs = net.get("IPv4Addresses", [])
        if not isinstance(addrs, list):
            raise ConfigError(f"{where}.Networks[{i}].IPv4Addresses is {type(addrs).__name__}: expected a list")
        for j, addr in enumerate(addrs):
            try:
                found.append(str(ipaddress.IPv4Address(str(addr))))
            except ValueError:
                raise ConfigError(
                    f"{where}.Networks[{i}].IPv4Addresses[{j}] is {addr!r}: expected an IPv4 address"
                ) from None
    return found


def parse_metadata_address(document: Any) -> str | None:
    """Return this container's ``awsvpc`` IPv4 address from a task metadata v4 response, or None.

    Accepts both documented shapes: the container response (``${ECS_CONTAINER_METADATA_URI_V4}``, with
    ``Networks`` at the top level) and the task response (``.../task``, with ``Containers[].Networks``;
    all containers of an ``awsvpc`` task share the task's interface, so the first address found is the
    task's). None means the document is well formed but lists no ``awsvpc`` address.

    Raises:
        ConfigError: the document is not of the documented shape.
    """
    if not isinstance(document, dict):
        raise ConfigError(f"task metadata is {type(document).__name__}: expected a JSON object")
    if "Networks" in document:
        found = _network_addresses(document["Networks"], "metadata")
        return found[0] if found else None
    containers = document.get("Containers")
    if containers is None:
        return None
    if not isinstance(containers, list):
        raise ConfigError(f"task metadata Containers is {type(containers).__name__}: expected a list")
    for i, container in enumerate(containers):
        if not isinstance(container, dict):
            raise ConfigError(f"task metadata Containers[{i}] is {type(container).__name__}: expected an object")
        if "Networks" in container:
            found = _network_addresses(container["Networks"], f"task metadata Containers[{i}]")
            if found:
                return found[0]
    return None


def fetch_json(url: str, *, timeout: float = METADATA_TIMEOUT_S) -> Any:
    """GET `url` and parse its JSON body, raising ConfigError that names the URL on any failure."""
    # Imported here: urllib pulls in http.client and email, which every other code path can skip.
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = response.read(METADATA_MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise ConfigError(
            f"task metadata endpoint {url} answered HTTP {exc.code}; pass {SOURCE_FLAG} to skip it"
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ConfigError(
            f"cannot read task metadata endpoint {url}: {reason}; pass {SOURCE_FLAG} to skip it"
        ) from None
    if len(body) > METADATA_MAX_BYTES:
        raise ConfigError(f"task metadata endpoint {url} answered more than {METADATA_MAX_BYTES} bytes")
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ConfigError(f"task metadata endpoint {url} did not answer JSON; pass {SOURCE_FLAG} to skip it") from None


def metadata_address(base_url: str, *, fetch: Callable[[str], Any] = fetch_json) -> str | None:
    """This container's ``awsvpc`` address from the metadata endpoint at `base_url`, or None.

    Reads the container response first and the task response only when the container lists no
    ``awsvpc`` address (the task response is larger and rarely needed).
    """
    base = base_url.rstrip("/")
    address = parse_metadata_address(fetch(base))
    if address is None:
        address = parse_metadata_address(fetch(base + "/task"))
    return address


def _route_source(target: str) -> str | None:
    """The source address the kernel would use to reach `target` (a UDP connect sends no packet)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect((target, 9))
            address = str(probe.getsockname()[0])
    except OSError:
        return None
    return None if address == "0.0.0.0" else address


def host_address(*, main_address: str | None) -> str | None:
    """Best guess at this host's reachable IPv4 address, or None.

    A child asks the kernel which source address routes to the main node, which is by construction an
    address the main node can answer. The main node uses its host name's address unless that is
    loopback (common in containers), then the source address of the default route.
    """
    if main_address is not None:
        return _route_source(main_address)
    try:
        resolved = socket.gethostbyname(socket.gethostname())
    except OSError:
        resolved = ""
    if resolved and not ipaddress.IPv4Address(resolved).is_loopback:
        return resolved
    # 192.0.2.1 is TEST-NET-1 (RFC 5737): only the routing decision is wanted, no traffic is sent.
    return _route_source("192.0.2.1")


def resolve_own_address(
    *,
    advertise_address: str | None,
    main_address: str | None,
    environ: Mapping[str, str],
) -> tuple[str, str]:
    """Return ``(address, source)`` for this node; `source` says which rule of the module doc chose it.

    Raises:
        ConfigError: the metadata endpoint is set but unusable, or no address can be found at all.
    """
    if advertise_address is not None:
        return advertise_address, SOURCE_FLAG
    uri = environ.get(ENV_METADATA_V4, "").strip()
    if uri:
        found = metadata_address(uri)
        if found is not None:
            return found, SOURCE_METADATA
    found = host_address(main_address=main_address)
    if found is None:
        raise ConfigError(f"cannot determine this node's IPv4 address; pass {SOURCE_FLAG}")
    return found, SOURCE_HOST
