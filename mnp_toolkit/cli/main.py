"""The `mnp` command: one entry point, one sub-command per module.

Each sub-command module exposes ``register(subparsers) -> None`` which adds its parser and sets
``func`` (a callable taking the parsed ``argparse.Namespace`` and returning the exit code). Modules
must keep heavy imports (boto3, aws-cdk-lib) inside their functions so that `mnp lint` starts fast.

Whatever happens, the command ends with one line on stderr and an exit code, never a traceback:

* a usage error prints one line (``mnp lint: error: ... (mnp lint --help)``) and exits 2;
* a :class:`~mnp_toolkit.errors.UserError` prints its line (control characters escaped) and its code;
* output into a closed pipe (``mnp lint ... | head -1``) prints one line naming stdout and exits 2;
* output that the terminal's encoding cannot show (a non-UTF-8 locale) is escaped, not a crash.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from mnp_toolkit import __version__
from mnp_toolkit.errors import UserError

# Order is the order shown in `mnp --help`.
SUBCOMMAND_MODULES: tuple[str, ...] = (
    "mnp_toolkit.cli.lint",
    "mnp_toolkit.cli.submit",
    "mnp_toolkit.cli.status",
    "mnp_toolkit.cli.logs",
    "mnp_toolkit.cli.preflight",
    "mnp_toolkit.cli.audit",
)


EXIT_USAGE = 2
EXIT_OUTPUT_CLOSED = 2


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (its default prints the whole usage block first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {_one_line(message)} (see {self.prog} --help)\n")


def _one_line(text: str) -> str:
    from mnp_toolkit.lint.formats.text import printable  # stdlib-only module; imported late like the commands

    return printable(" ".join(text.split()))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mnp",
        description="AWS Batch multi-node parallel (MNP) toolkit: lint templates, submit and inspect jobs, "
        "check an account before deploying.",
    )
    parser.add_argument("--version", action="version", version=f"mnp {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)
    for module_name in SUBCOMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def _escape_unencodable_output() -> None:
    """Keep the locale's encoding but escape what it cannot encode (``\\u2265``) instead of crashing."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError):  # a replaced or closed stream
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]


def _stdout_closed(command: str) -> int:
    """The reader of stdout went away: say so once and exit 2 (Python's signal docs' recipe: point stdout
    at /dev/null so the interpreter's final flush does not fail again)."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    with contextlib.suppress(OSError, ValueError):
        print(f"{command}: stdout: the reader closed the pipe before the report was complete", file=sys.stderr)
    return EXIT_OUTPUT_CLOSED


def main(argv: Sequence[str] | None = None) -> int:
    _escape_unencodable_output()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except BrokenPipeError:  # --help or --version into a closed pipe
        return _stdout_closed("mnp")
    command = f"mnp {args.command}"
    try:
        code = int(args.func(args))
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's final flush
        return code
    except BrokenPipeError:
        return _stdout_closed(command)
    except UserError as error:
        print(f"{command}: {_one_line(str(error))}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"{command}: interrupted", file=sys.stderr)
        return 130
    except ModuleNotFoundError as error:
        # A lint-only install (`pip install mnp-batch-toolkit`) has no boto3: name the extra to add.
        extra = _EXTRA_OF_MODULE.get((error.name or "").split(".")[0])
        if extra is None:
            raise
        print(
            f"{command}: needs {error.name}, which this install lacks: pip install 'mnp-batch-toolkit[{extra}]'",
            file=sys.stderr,
        )
        return 2


#: Third-party modules an optional command needs, and the extra that installs them (pyproject.toml).
_EXTRA_OF_MODULE = {"boto3": "aws", "botocore": "aws", "aws_cdk": "cdk", "constructs": "cdk", "jsii": "cdk"}


if __name__ == "__main__":
    sys.exit(main())
