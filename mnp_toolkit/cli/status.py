"""`mnp status JOB_ID`: the job and every node of a multi-node parallel job (:mod:`mnp_toolkit.ops.status`)."""

from __future__ import annotations

import argparse
from typing import Any

from mnp_toolkit.cli.common import add_aws_arguments, add_interval_argument, notice
from mnp_toolkit.ops.aws import make_client
from mnp_toolkit.ops.status import run_status


def _command(args: argparse.Namespace) -> int:
    client = make_client("batch", region=args.region, profile=args.profile, notify=notice("status"))
    return run_status(
        client,
        job_id=args.job_id,
        output_format=args.format,
        watch=args.watch,
        interval=args.interval,
    )


def register(subparsers: Any) -> None:
    """Add the `status` sub-command."""
    parser = subparsers.add_parser(
        "status",
        help="show an AWS Batch job and every node of a multi-node parallel job",
        description="Show a job (and, for a multi-node parallel job, each node JOB_ID#N: role, status, "
        "reason, exit code, start and stop times). Exit codes: 0 succeeded or not ended, 1 the job "
        "FAILED, 2 usage or AWS error.",
    )
    parser.add_argument("job_id", metavar="JOB_ID", help="the job id that `mnp submit` printed")
    parser.add_argument(
        "--watch", action="store_true", help="follow the job until it ends, one line per change of a node or the job"
    )
    add_interval_argument(parser, between="refreshes with --watch")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    add_aws_arguments(parser)
    parser.set_defaults(func=_command)
