"""`mnp logs JOB_ID`: every node's output from CloudWatch Logs, merged in time order (:mod:`mnp_toolkit.ops.logs`)."""

from __future__ import annotations

import argparse
from typing import Any

from mnp_toolkit.cli.common import add_aws_arguments, add_interval_argument, notice
from mnp_toolkit.ops.aws import make_client, make_session
from mnp_toolkit.ops.logs import run_logs


def _node_index(value: str) -> int:
    """argparse type for ``--node``: a node index, 0 or more (ASCII digits, as JOB_ID#N writes it)."""
    text = value.strip()
    if not (text.isascii() and text.isdigit()):
        raise argparse.ArgumentTypeError(f"{value!r} is not a node index (0, 1, 2, ...)")
    return int(text)


def _command(args: argparse.Namespace) -> int:
    say = notice("logs")
    session = make_session(region=args.region, profile=args.profile)
    batch = make_client("batch", session=session, notify=say)

    def logs_client_for(region: str | None) -> Any:
        # awslogs-region may send a node's output to another Region than the job's.
        if region is None:
            return make_client("logs", session=session, notify=say)
        return make_client("logs", region=region, profile=args.profile, notify=say)

    return run_logs(
        batch,
        logs_client_for=logs_client_for,
        job_id=args.job_id,
        node=args.node,
        follow=args.follow,
        interval=args.interval,
        note=say,
    )


def register(subparsers: Any) -> None:
    """Add the `logs` sub-command."""
    parser = subparsers.add_parser(
        "logs",
        help="show the output of every node of a job (CloudWatch Logs), merged in time order",
        description="Print the CloudWatch Logs output of every node of a job (each line prefixed with its "
        "node index, in time order), from the log group and stream each node's DescribeJobs entry names. "
        "--follow keeps reading while the job runs and ends when every node has ended and its output is "
        "read. Exit codes: 0 the job succeeded or has not ended, 1 it FAILED, 2 usage or AWS error.",
    )
    parser.add_argument("job_id", metavar="JOB_ID", help="the job id that `mnp submit` printed (JOB_ID#N: one node)")
    parser.add_argument("--node", type=_node_index, help="only this node's output (its index, 0 for the first)")
    parser.add_argument("--follow", "-f", action="store_true", help="keep printing new lines until the job ends")
    add_interval_argument(parser, between="polls with --follow at most (quiet polls back off from 1 s to this)")
    add_aws_arguments(parser)
    parser.set_defaults(func=_command)
