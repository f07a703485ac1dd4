"""The `mnp` command: one entry point, one sub-command per module.

Each sub-command module exposes ``register(subparsers) -> None`` which adds its parser and sets
``func`` (a callable taking the parsed ``argparse.Namespace`` and returning the exit code). Modules
must keep heavy imports (boto3, aws-cdk-lib) inside their functions so that `mnp lint` starts fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from mnp_toolkit.errors import UserError

# Order is the order shown in `mnp --help`.
SUBCOMMAND_MODULES: tuple[str, ...] = (
    "mnp_toolkit.cli.lint",
    "mnp_toolkit.cli.submit",
    "mnp_toolkit.cli.status",
    "mnp_toolkit.cli.preflight",
    "mnp_toolkit.cli.audit",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mnp",
        description="AWS Batch multi-node parallel (MNP) toolkit: lint templates, submit and inspect jobs, "
        "check an account before deploying.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in SUBCOMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except UserError as error:
        print(f"mnp {args.command}: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"mnp {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
