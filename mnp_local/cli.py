"""Command line of the local emulated AWS: ``serve`` (the server) and ``deploy`` (the demo)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mnp_local",
        description="A local emulated AWS (moto with mnp_local's adapters) for deploying our CDK stacks "
        "without an account.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve = commands.add_parser(
        "serve",
        help="run the emulated AWS on 127.0.0.1 until idle, its parent exits, or Ctrl-C",
    )
    serve.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    serve.add_argument("--port-file", type=Path, help="write the bound port to this file once serving")
    serve.add_argument(
        "--idle-timeout",
        type=_positive_seconds,
        default=900.0,
        help="stop after this many seconds without a request (default: 900)",
    )
    serve.add_argument(
        "--parent-pid",
        type=int,
        help="stop when this process exits (default: the process that started the server)",
    )
    serve.add_argument("--verbose", action="store_true", help="log every request")
    runner = serve.add_argument_group(
        "multi-node parallel jobs",
        "how the node runner runs them (each sets the MNP_LOCAL_* variable; docs/local-run.md)",
    )
    runner.add_argument(
        "--time-scale",
        metavar="FACTOR",
        help="multiply the AWS durations the emulator waits out (queue maxTimeSeconds, attemptDurationSeconds, "
        "the 30 s stop grace); e.g. 0.01 (MNP_LOCAL_TIME_SCALE, default 1)",
    )
    runner.add_argument(
        "--seed", metavar="N", help="seed of the child-node launch order and delays (MNP_LOCAL_SEED, default: random)"
    )
    runner.add_argument(
        "--node-network",
        choices=("loopback", "netns"),
        help="a 127.x.y.z address per node, or a network namespace per node (root) (MNP_LOCAL_NODE_NETWORK)",
    )
    deploy = commands.add_parser(
        "deploy",
        help="start the emulated AWS, cdk bootstrap + deploy, mnp submit + status, list, cdk destroy",
    )
    deploy.add_argument(
        "--config", type=Path, help="config file for the app (-c config=...; default: the app's own default)"
    )
    deploy.add_argument(
        "--app-dir", type=Path, default=None, help="directory of the CDK app's cdk.json (default: the repo root)"
    )
    deploy.add_argument("--keep", action="store_true", help="keep the emulated AWS up until Ctrl-C, then clean up")
    deploy.add_argument(
        "--fault",
        nargs="?",
        const=-1,
        type=int,
        metavar="NODE",
        help="after the sample job, run it again with child node NODE (default: the last child) exiting 1 at "
        "once, and show the deployed watchdog terminating the job",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit code."""
    args = build_parser().parse_args(argv)
    from mnp_local.server import LocalAwsError, serve

    try:
        if args.command == "serve":
            if not 0 <= args.port <= 65535:
                raise LocalAwsError(f"--port must be 0..65535, got {args.port}")
            for flag, variable in (
                ("time_scale", "MNP_LOCAL_TIME_SCALE"),
                ("seed", "MNP_LOCAL_SEED"),
                ("node_network", "MNP_LOCAL_NODE_NETWORK"),
            ):
                if getattr(args, flag) is not None:
                    os.environ[variable] = str(getattr(args, flag))
            code = serve(
                port=args.port,
                port_file=args.port_file,
                idle_timeout=args.idle_timeout,
                parent_pid=args.parent_pid,
                verbose=args.verbose,
            )
            # moto may leave non-daemon threads behind (a Batch job, a Lambda invocation) that
            # would keep this process alive after the server stopped: end it here.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        if args.command == "deploy":
            return _deploy(args)
    except LocalAwsError as error:
        print(f"mnp_local: error: {error}", file=sys.stderr)
        return 2
    return 2


def _deploy(args: argparse.Namespace) -> int:
    from mnp_local import cdk, demo

    app_dir = (args.app_dir or cdk.REPO_ROOT).resolve()
    if not (app_dir / "cdk.json").is_file():
        print(f"mnp_local: error: --app-dir {app_dir} has no cdk.json: point it at a CDK app", file=sys.stderr)
        return 2
    if args.config is not None and not args.config.is_file():
        print(
            f"mnp_local: error: --config {args.config} does not exist: pass a file such as config/default.yaml",
            file=sys.stderr,
        )
        return 2
    return demo.run(
        config=args.config,
        app_dir=app_dir,
        keep=args.keep,
        fault=args.fault is not None,
        fault_node=None if args.fault in (None, -1) else args.fault,
    )
