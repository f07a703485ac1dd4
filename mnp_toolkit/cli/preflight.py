"""`mnp preflight`: check an AWS account before a deploy (see :mod:`mnp_toolkit.ops.preflight`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mnp_toolkit.cli.common import add_aws_arguments, notice
from mnp_toolkit.ops.preflight import DEFAULT_CONFIG_PATH, run_preflight


def _command(args: argparse.Namespace) -> int:
    return run_preflight(
        config_path=Path(args.config),
        region=args.region,
        profile=args.profile,
        output_format=args.format,
        notify=notice("preflight"),
    )


def register(subparsers: Any) -> None:
    """Add the `preflight` sub-command."""
    parser = subparsers.add_parser(
        "preflight",
        help="check the AWS account before a deploy (offerings, quotas, network, EFA)",
        description="Check with boto3 what `cdk synth` cannot know: the instance types are offered in the "
        "AZ, the On-Demand vCPU quota covers the largest job, an existing VPC's subnets are private with "
        "a NAT route, an existing placement group is `cluster`, EFA support. Exit codes: 0 no check "
        "failed, 1 a check failed, 2 usage, config or AWS set-up error.",
    )
    parser.add_argument(
        "--config", default=str(DEFAULT_CONFIG_PATH), help=f"MNP config file (default {DEFAULT_CONFIG_PATH})"
    )
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    add_aws_arguments(parser)
    parser.set_defaults(func=_command)
