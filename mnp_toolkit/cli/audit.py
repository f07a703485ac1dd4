"""`mnp audit`: the rule pack on what is deployed in an account (:mod:`mnp_toolkit.ops.audit`, docs/audit.md)."""

from __future__ import annotations

import argparse
from typing import Any

from mnp_toolkit.cli.common import add_aws_arguments


def _command(args: argparse.Namespace) -> int:
    # Imported here: boto3 loads only when the command runs (`mnp lint` stays fast).
    from mnp_toolkit.ops.audit import run_audit

    return run_audit(
        region=args.region,
        profile=args.profile,
        output_format=args.format,
        strict=args.strict,
        all_revisions=args.all_revisions,
        verbose=args.verbose,
        rules_uri=args.rules_uri,
    )


def register(subparsers: Any) -> None:
    """Add the `audit` sub-command."""
    from mnp_toolkit.ops.audit import FORMATS

    parser = subparsers.add_parser(
        "audit",
        help="check the Batch resources deployed in an account against the MNP rule pack",
        description="Read the Region's AWS Batch compute environments, job queues and ACTIVE job definitions "
        "(and their launch templates, subnets, route tables, security groups, placement groups, VPC "
        "endpoints) with read-only calls and run the MnpChecks rule pack on them, as `mnp lint` does on "
        "templates. Findings name the live resources (ARN or id). Exit 0: no errors; 1: errors (or "
        "warnings with --strict); 2: an AWS error (one line, naming a missing IAM permission).",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="output format: text (default), json, sarif (SARIF 2.1.0) or github (GitHub Actions annotations)",
    )
    parser.add_argument(
        "--rules-uri",
        metavar="URI",
        help="with --format sarif: the URI of docs/rules.md that rule help links point into",
    )
    parser.add_argument("--strict", action="store_true", help="unacknowledged warnings fail too (exit 1)")
    parser.add_argument(
        "--all-revisions",
        action="store_true",
        help="check every ACTIVE revision of each job definition (default: the latest revision of each name)",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="also show info findings (what a rule could not verify)"
    )
    add_aws_arguments(parser)
    parser.set_defaults(func=_command)
