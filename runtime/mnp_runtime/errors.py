"""Errors of the node runtime, each carrying the process exit code the CLI uses for it.

The exit codes are a public contract (documented in docs/runtime.md): job scripts branch on them, so a
code never changes meaning once released.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_CONFIG = 2
EXIT_TIMEOUT = 3
EXIT_REJECTED = 4
EXIT_ABORTED = 5
EXIT_IO = 6
EXIT_PROTOCOL = 7
EXIT_MISMATCH = 8
EXIT_INTERRUPTED = 130


class MnpError(Exception):
    """Base class: a failure the CLI reports as one line on stderr, exiting with `exit_code`."""

    exit_code = EXIT_INTERNAL


class ConfigError(MnpError):
    """Bad environment, arguments or local setup (a variable, a flag, the hostfile directory)."""

    exit_code = EXIT_CONFIG


class RendezvousTimeout(MnpError):
    """Not every node arrived (main node), or the main node could not be reached (child), in time."""

    exit_code = EXIT_TIMEOUT


class Rejected(MnpError):
    """The main node refused this node's registration (duplicate, out of range, version mismatch)."""

    exit_code = EXIT_REJECTED


class Aborted(MnpError):
    """The rendezvous was given up: the main node aborted it, or a node reported a failure."""

    exit_code = EXIT_ABORTED


class LocalIOError(MnpError):
    """This node could not listen on its port or write its hostfile."""

    exit_code = EXIT_IO


class ProtocolError(MnpError):
    """The peer sent something that is not a valid message of this protocol version."""

    exit_code = EXIT_PROTOCOL


class PeerFailed(Aborted):
    """All-reduce: a neighbour closed its connection before the ring was done (it failed or was stopped)."""


class ResultMismatch(MnpError):
    """All-reduce: the summed vector is not the expected sum."""

    exit_code = EXIT_MISMATCH
