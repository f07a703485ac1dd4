"""``mnp-node``: the command line of the node runtime (also ``python -m mnp_runtime``).

Every failure is one line on stderr (``mnp-node: error: ...``) and a documented exit code; there is
never a traceback, because these lines end up in CloudWatch Logs where the last line is all anyone reads.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from mnp_runtime import __version__, allreduce
from mnp_runtime.address import resolve_own_address
from mnp_runtime.context import NodeContext, parse_ipv4
from mnp_runtime.errors import EXIT_CONFIG, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, ConfigError, MnpError
from mnp_runtime.protocol import DEFAULT_PORT, HostEntry
from mnp_runtime.rendezvous import RendezvousServer, run_child, write_hostfile

# typing is imported for type checkers only: at run time it would cost every node's start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import NoReturn

PROG = "mnp-node"

EPILOG = """exit codes:
  0  success
  1  internal error (a bug: please report it)
  2  bad environment variable, argument or local setup
  3  timed out: main node: not every node arrived (the missing indexes are named);
     child: the main node could not be reached, or sent no host list, in time
  4  the main node rejected this node (duplicate or out-of-range index, other job, version mismatch)
  5  aborted: the main node gave up, or a node reported it could not use the host list
  6  local I/O: cannot listen on the port, or cannot write the hostfile
  7  protocol error: the peer sent an invalid message
  8  allreduce: the all-reduced vector is not the expected sum
  130  interrupted
"""

#: ``--bind-address advertised``: this node's own address (what the other nodes know it by).
BIND_ADVERTISED = "advertised"


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit with our config-error code."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_CONFIG, f"{PROG}: error: {message} (see {PROG} --help)\n")


def _ipv4(value: str) -> str:
    try:
        return parse_ipv4(value, what="the value")
    except ConfigError:
        raise argparse.ArgumentTypeError(f"expected an IPv4 address such as 10.0.1.23, got {value!r}") from None


def _bind_address(value: str) -> str:
    if value == BIND_ADVERTISED:
        return value
    try:
        return parse_ipv4(value, what="the value")
    except ConfigError:
        raise argparse.ArgumentTypeError(
            f"expected an IPv4 address such as 10.0.1.23 or '{BIND_ADVERTISED}', got {value!r}"
        ) from None


def _int_range(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            number = low - 1
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"expected an integer {low}..{high}, got {value!r}")
        return number

    return parse


def _positive_seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 < number < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {value!r}")
    return number


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed so docs and tests see the same options as the command)."""
    parser = _Parser(
        prog=PROG,
        description="Node runtime for AWS Batch multi-node parallel jobs: rendezvous and node context.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    # An explicit prog stops argparse from building a HelpFormatter (which imports shutil, bz2, lzma)
    # at start-up; every node pays its start-up time, and a 1000-node job pays it 1000 times.
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", prog=PROG)
    sub.required = True

    address_help = (
        "IPv4 address the other nodes reach this node at (default: from the ECS task metadata endpoint v4, "
        "else the host's)"
    )
    rdv = sub.add_parser(
        "rendezvous",
        help="wait until every node is up, then write the same hostfile on every node",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rdv.add_argument("--hostfile", required=True, metavar="PATH", help="where to write the hostfile")
    rdv.add_argument("--port", type=_int_range(1, 65535), default=DEFAULT_PORT, help="TCP port (default: %(default)s)")
    rdv.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=600.0,
        metavar="SECONDS",
        help="give up after this long (default: %(default)g)",
    )
    rdv.add_argument("--advertise-address", type=_ipv4, metavar="IP", help=address_help)
    rdv.add_argument(
        "--bind-address",
        type=_bind_address,
        metavar="IP",
        help="main node: address to listen on (default: all interfaces); child: source address to connect from; "
        f"'{BIND_ADVERTISED}': this node's own address (as advertised), so that nodes sharing a host (local runs) "
        "never share a port",
    )
    rdv.add_argument(
        "--slots",
        type=_int_range(1, 1_000_000),
        default=1,
        metavar="N",
        help="slots this node offers, written as 'slots=N' (default: %(default)s)",
    )
    rdv.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")

    ring = sub.add_parser(
        "allreduce",
        help="after the rendezvous: sum a vector across every node of the hostfile (ring all-reduce over TCP), "
        "check the result, print it on the main node",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ring.add_argument("--hostfile", required=True, metavar="PATH", help="the hostfile `mnp-node rendezvous` wrote")
    ring.add_argument(
        "--port", type=_int_range(1, 65535), default=allreduce.DEFAULT_PORT, help="TCP port (default: %(default)s)"
    )
    ring.add_argument(
        "--length",
        type=_int_range(1, allreduce.MAX_LENGTH),
        default=allreduce.DEFAULT_LENGTH,
        metavar="N",
        help="integers per vector (default: %(default)s; at least the number of nodes)",
    )
    ring.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=allreduce.DEFAULT_TIMEOUT_S,
        metavar="SECONDS",
        help="give up after this long (default: %(default)g)",
    )
    ring.add_argument(
        "--bind-address",
        type=_ipv4,
        metavar="IP",
        help="address to listen on (default: this node's own, from the hostfile)",
    )
    ring.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")

    env = sub.add_parser("env", help="print the parsed node context")
    env.add_argument("--json", action="store_true", help="print JSON instead of shell assignments")
    env.add_argument("--advertise-address", type=_ipv4, metavar="IP", help=address_help)
    return parser


def _check_hostfile_path(path: str) -> None:
    """Fail before any networking if the hostfile cannot be written, rather than after the wait."""
    if os.path.isdir(path):
        raise ConfigError(f"--hostfile {path} is a directory: expected a file path")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ConfigError(f"--hostfile {path}: directory {directory} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ConfigError(f"--hostfile {path}: directory {directory} is not writable")


def _make_log(ctx: NodeContext, enabled: bool) -> Callable[[str], None]:
    if not enabled:
        return lambda _msg: None
    role = "main" if ctx.is_main else "child"
    start = time.monotonic()

    def log(message: str) -> None:
        sys.stderr.write(f"{PROG}[{role} {ctx.node_index}] {time.monotonic() - start:7.2f}s {message}\n")
        sys.stderr.flush()

    return log


def _warn(message: str) -> None:
    """A problem worth a line even without -v (the server says each kind once)."""
    sys.stderr.write(f"{PROG}: warning: {message}\n")
    sys.stderr.flush()


def _rendezvous(args: argparse.Namespace) -> int:
    ctx = NodeContext.from_env()
    _check_hostfile_path(args.hostfile)
    log = _make_log(ctx, args.verbose)
    address, source = resolve_own_address(
        advertise_address=args.advertise_address, main_address=ctx.main_address, environ=os.environ
    )
    log(f"node {ctx.node_index} of {ctx.num_nodes}, address {address} (from {source})")
    bind_address = address if args.bind_address == BIND_ADVERTISED else args.bind_address

    def on_hosts(hosts: list[HostEntry]) -> None:
        write_hostfile(args.hostfile, hosts)
        log(f"wrote {args.hostfile} ({len(hosts)} nodes)")

    if ctx.is_main:
        server = RendezvousServer(
            num_nodes=ctx.num_nodes,
            main_index=ctx.node_index,
            main_address=address,
            main_slots=args.slots,
            job=ctx.parent_job_id,
            bind_address=bind_address or "0.0.0.0",
            port=args.port,
            log=log,
            warn=_warn,
        )
        log(f"listening on {bind_address or '0.0.0.0'}:{server.port}")
        server.run(timeout=args.timeout, on_complete=on_hosts)
    else:
        assert ctx.main_address is not None
        run_child(
            main_address=ctx.main_address,
            port=args.port,
            index=ctx.node_index,
            num_nodes=ctx.num_nodes,
            address=address,
            slots=args.slots,
            job=ctx.parent_job_id,
            timeout=args.timeout,
            bind_address=bind_address,
            on_hosts=on_hosts,
            log=log,
        )
    return EXIT_OK


def _allreduce(args: argparse.Namespace) -> int:
    ctx = NodeContext.from_env()
    addresses = allreduce.read_hostfile(args.hostfile, num_nodes=ctx.num_nodes)
    log = _make_log(ctx, args.verbose)
    if ctx.is_main:
        print(
            f"allreduce: the rendezvous is complete: {ctx.num_nodes} nodes ({allreduce.describe_addresses(addresses)})",
            flush=True,
        )

    def report(result: allreduce.AllReduceResult) -> None:
        shown = allreduce.describe_values(result.values)
        if ctx.is_main:
            print(
                f"allreduce: {ctx.num_nodes} nodes summed their vectors of {args.length} integers over a TCP ring "
                f"({allreduce.describe_ring(ctx.num_nodes)}): {shown}, checked on every node ({result.seconds:.3f} s)",
                flush=True,
            )
        else:
            print(f"allreduce: node {ctx.node_index}: sum {shown} checked ({result.seconds:.3f} s)", flush=True)

    allreduce.run_allreduce(
        addresses=addresses,
        index=ctx.node_index,
        main_index=ctx.main_node_index,
        job=ctx.parent_job_id,
        length=args.length,
        port=args.port,
        timeout=args.timeout,
        bind_address=args.bind_address,
        log=log,
        report=report,
        keep_open=not ctx.is_main,
    )
    if not ctx.is_main:
        # A child ends here with its connections still open: the kernel closes them as the process exits, so
        # the main node (which waits for its left neighbour's connection to close) exits after its children,
        # and Batch, which stops the children when the main node exits, finds them gone.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_OK)
    return EXIT_OK


def _env(args: argparse.Namespace) -> int:
    ctx = NodeContext.from_env()
    values = ctx.as_dict()
    if ctx.is_main:
        # torchrun's --master_addr is the main node's own address on the main node too.
        address, _source = resolve_own_address(
            advertise_address=args.advertise_address, main_address=None, environ=os.environ
        )
        values["main_address"] = address
    if args.json:
        print(json.dumps(values, sort_keys=True))
        return EXIT_OK
    for key, value in values.items():
        text = ("1" if value else "0") if isinstance(value, bool) else "" if value is None else str(value)
        print(f"MNP_{key.upper()}={text}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``mnp-node``; returns the exit code (see the module's EPILOG)."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "rendezvous":
            return _rendezvous(args)
        if args.command == "allreduce":
            return _allreduce(args)
        return _env(args)
    except MnpError as exc:
        sys.stderr.write(f"{PROG}: error: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: error: interrupted\n")
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: still one line, never a traceback in the job log
        sys.stderr.write(f"{PROG}: internal error: {type(exc).__name__}: {exc} (please report this)\n")
        return EXIT_INTERNAL
