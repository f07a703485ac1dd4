"""`mnp submit`: submit a job, optionally overriding its node count, and follow it.

The work is :mod:`mnp_toolkit.ops.submit`; this module is the command line.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mnp_toolkit.cli.common import add_aws_arguments, add_interval_argument, notice
from mnp_toolkit.core.limits import DEFAULT_MAX_NODES, MIN_NODES
from mnp_toolkit.ops.aws import make_client
from mnp_toolkit.ops.submit import run_submit


def _node_count(value: str) -> int:
    """argparse type for ``--nodes``: a whole number of nodes, at least 1. Above the default limit of
    1,000 it is accepted (the limit can be raised) and :func:`_command` warns, as the rule pack does (MNP109)."""
    try:
        nodes = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of nodes") from None
    if nodes < MIN_NODES:
        raise argparse.ArgumentTypeError(f"{nodes}: a multi-node parallel job has at least {MIN_NODES} node")
    return nodes


def _scheduling_priority(value: str) -> int:
    """argparse type for ``--scheduling-priority``: a plain decimal number (its range is checked with the
    other fair-share options, in :func:`mnp_toolkit.ops.submit.check_fair_share_options`)."""
    text = value.strip()
    if not (text.isascii() and text.lstrip("-").isdigit()):
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number (0 to 9999)")
    return int(text)


def _command(args: argparse.Namespace) -> int:
    if args.nodes is not None and args.nodes > DEFAULT_MAX_NODES:
        print(
            f"mnp submit: warning: --nodes {args.nodes} is above the default limit of {DEFAULT_MAX_NODES:,} nodes "
            "per job (MNP109); the job starts only if your account's limit was raised",
            file=sys.stderr,
        )
    client = make_client("batch", region=args.region, profile=args.profile, notify=notice("submit"))
    return run_submit(
        client,
        queue=args.queue,
        definition=args.job_definition,
        nodes=args.nodes,
        name=args.name,
        wait=args.wait,
        interval=args.interval,
        share_identifier=args.share_identifier,
        scheduling_priority=args.scheduling_priority,
        node_overrides=[(target, setting) for target, setting in args.node_override or ()],
    )


def register(subparsers: Any) -> None:
    """Add the `submit` sub-command."""
    parser = subparsers.add_parser(
        "submit",
        help="submit a job (optionally with a node-count override) and follow it",
        description="Submit a job to an AWS Batch queue and print its id. --nodes overrides the node "
        "count of a multi-node parallel job definition (it needs an open-ended node range, `n:`); "
        "--node-override sets a node range's command, environment, instance type or resources, checked on "
        "the definition before submitting. "
        "--wait follows the job until it ends; exit codes: 0 succeeded (or submitted, without "
        "--wait), 1 the job FAILED, 2 usage or AWS error.",
    )
    parser.add_argument("--queue", required=True, help="job queue name or ARN")
    parser.add_argument(
        "--job-definition", required=True, help="job definition: name (latest ACTIVE), name:revision or ARN"
    )
    parser.add_argument("--nodes", type=_node_count, help="number of nodes (overrides the definition's numNodes)")
    parser.add_argument(
        "--node-override",
        nargs=2,
        action="append",
        metavar=("TARGET", "KEY=VALUE"),
        help="override a setting of the node range TARGET (one of the definition's, e.g. 0 or 1:): command='...', "
        "env.NAME=VALUE, instance-type=TYPE, vcpus=N, memory=MiB or gpus=N; repeat for more",
    )
    parser.add_argument("--name", help="job name (default: <definition>-<UTC time>)")
    parser.add_argument(
        "--share-identifier",
        help="the job's share identifier: required on a queue with a fair-share scheduling policy, refused on others",
    )
    parser.add_argument(
        "--scheduling-priority",
        type=_scheduling_priority,
        help="priority within the share identifier, 0 to 9999 (higher runs first); fair-share queues only",
    )
    parser.add_argument("--wait", action="store_true", help="follow the job until it ends")
    add_interval_argument(parser, between="polls with --wait")
    add_aws_arguments(parser)
    parser.set_defaults(func=_command)
