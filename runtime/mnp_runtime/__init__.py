"""Node runtime for AWS Batch multi-node parallel jobs (standard library only, Python 3.9+).

- `NodeContext.from_env()`: the node's index, the job's size, the main node and its address.
- ``mnp-node rendezvous``: wait until every node is up, then write the same hostfile on every node.

See docs/runtime.md for the protocol, the command line and the exit codes.
"""

from mnp_runtime.context import NodeContext
from mnp_runtime.errors import (
    Aborted,
    ConfigError,
    LocalIOError,
    MnpError,
    ProtocolError,
    Rejected,
    RendezvousTimeout,
)
from mnp_runtime.protocol import PROTOCOL_VERSION, HostEntry

__version__ = "0.1.0"

__all__ = [
    "PROTOCOL_VERSION",
    "Aborted",
    "ConfigError",
    "HostEntry",
    "LocalIOError",
    "MnpError",
    "NodeContext",
    "ProtocolError",
    "Rejected",
    "RendezvousTimeout",
    "__version__",
]
