"""Options the ``mnp`` operations commands share (``--region``/``--profile``, ``--interval``)."""

from __future__ import annotations

import argparse

from mnp_toolkit.ops.status import DEFAULT_INTERVAL_SECONDS


def add_aws_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--region`` and ``--profile`` to a sub-command parser."""
    parser.add_argument(
        "--region",
        help="AWS Region (default: AWS_REGION / AWS_DEFAULT_REGION or the profile's region)",
    )
    parser.add_argument("--profile", help="named AWS profile (default: AWS_PROFILE or 'default')")


def positive_seconds(value: str) -> float:
    """argparse type for ``--interval``: a number of seconds >= 1."""
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not seconds >= 1:  # also rejects NaN
        raise argparse.ArgumentTypeError(f"{value!r}: the interval must be at least 1 second")
    return seconds


def add_interval_argument(parser: argparse.ArgumentParser, *, between: str) -> None:
    """Add ``--interval``, the seconds between two polls of a followed job (`status --watch` and
    `submit --wait` poll alike); ``between`` names them in the help, e.g. "polls with --wait"."""
    parser.add_argument(
        "--interval",
        type=positive_seconds,
        default=DEFAULT_INTERVAL_SECONDS,
        help=f"seconds between {between} (default {DEFAULT_INTERVAL_SECONDS:g})",
    )
