"""Options the ``mnp`` operations commands share (``--region``/``--profile``, ``--interval``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from mnp_toolkit.ops.status import DEFAULT_INTERVAL_SECONDS, MAX_INTERVAL_SECONDS, interval_problem


def notice(command: str) -> Callable[[str], None]:
    """Where the AWS plumbing says what it waits for: one stderr line, prefixed like the command's errors."""

    def say(text: str) -> None:
        print(f"mnp {command}: {text}", file=sys.stderr, flush=True)

    return say


def add_aws_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--region`` and ``--profile`` to a sub-command parser."""
    parser.add_argument(
        "--region",
        help="AWS Region (default: AWS_REGION, else AWS_DEFAULT_REGION, else the profile's region)",
    )
    parser.add_argument("--profile", help="named AWS profile (default: AWS_PROFILE or 'default')")


def positive_seconds(value: str) -> float:
    """argparse type for ``--interval``: a number of seconds from 1 to an hour (`inf`, `1e300` and NaN
    are refused here rather than overflowing time.sleep later)."""
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    problem = interval_problem(seconds)
    if problem is not None:
        raise argparse.ArgumentTypeError(f"{value!r}: {problem}")
    return seconds


def add_interval_argument(parser: argparse.ArgumentParser, *, between: str) -> None:
    """Add ``--interval``, the seconds between two polls of a followed job (`status --watch` and
    `submit --wait` poll alike); ``between`` names them in the help, e.g. "polls with --wait"."""
    parser.add_argument(
        "--interval",
        type=positive_seconds,
        default=DEFAULT_INTERVAL_SECONDS,
        help=f"seconds between {between}, 1 to {MAX_INTERVAL_SECONDS:g} (default {DEFAULT_INTERVAL_SECONDS:g})",
    )
