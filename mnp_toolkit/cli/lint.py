"""`mnp lint` and `mnp rules`: the rule pack on synthesized templates, and its catalog.

``mnp lint PATH...`` reads template files (JSON, or YAML with short-form intrinsics) and ``cdk.out``
directories and runs the ``MnpChecks`` pack on every template. Exit codes:

* 0: no unacknowledged error (warnings allowed, unless ``--strict``);
* 1: at least one unacknowledged error (or, with ``--strict``, warning);
* 2: an input could not be read or parsed (one line on stderr naming the file; nothing is linted), or
  the report could not be written (the reader of a pipe went away).

Formats: ``text`` (people), ``json``, ``sarif`` (SARIF 2.1.0, for code scanning) and ``github`` (GitHub
Actions annotations on the pull request's diff); see docs/rule-pack.md.

Acknowledgements count as at synth: template metadata (``mnp:acknowledge``) everywhere, and in a
``cdk.out`` also those made with ``Validations.of(scope).acknowledge(...)`` (recorded in the assembly).

It imports neither aws-cdk-lib nor boto3, so it starts in a fraction of a second and runs where the CDK
is not installed (pre-commit, CI).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mnp_toolkit import __version__
from mnp_toolkit.errors import UserError
from mnp_toolkit.lint.engine import lint_template
from mnp_toolkit.lint.findings import Finding, Summary
from mnp_toolkit.lint.formats.text import render_text
from mnp_toolkit.lint.loader import TemplateLoadError, acknowledge_from_assembly, load_templates
from mnp_toolkit.lint.packs import mnp_pack

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_INPUT_ERROR = 2


def register(subparsers: Any) -> None:
    """Add the ``lint`` and ``rules`` sub-commands to the `mnp` parser."""
    lint = subparsers.add_parser(
        "lint",
        help="check CloudFormation templates or a cdk.out against the MNP rule pack",
        description="Run the MnpChecks rule pack on templates (JSON/YAML files) or cdk.out directories. "
        "Exit 0: no errors; 1: errors (or warnings with --strict); 2: an input could not be read.",
    )
    lint.add_argument("paths", nargs="+", metavar="PATH", help="a template file or a cdk.out directory")
    lint.add_argument(
        "--format",
        choices=("text", "json", "sarif", "github"),
        default="text",
        help="output format: text (default), json, sarif (SARIF 2.1.0 for code scanning) or github "
        "(GitHub Actions annotations)",
    )
    lint.add_argument(
        "--rules-uri",
        metavar="URI",
        help="with --format sarif: the URI of docs/rules.md that rule help links point into "
        "(default: this checkout's docs/rules.md as a file: URI, if present)",
    )
    lint.add_argument("--strict", action="store_true", help="unacknowledged warnings fail too (exit 1)")
    lint.add_argument(
        "-v", "--verbose", action="store_true", help="also show info findings (what a rule could not verify)"
    )
    lint.set_defaults(func=run_lint)

    rules = subparsers.add_parser(
        "rules",
        help="print the rule catalog (docs/rules.md is generated from it)",
        description="Print the MnpChecks rule catalog from the code: ID, level, resource, explanation, fix, source.",
    )
    rules.add_argument("--format", choices=("markdown", "json"), default="markdown")
    rules.set_defaults(func=run_rules)


def lint_paths(paths: list[str]) -> tuple[list[Finding], list[str]]:
    """Findings of the pack on every template the paths stand for, and the template names in order.

    Raises :class:`TemplateLoadError` before linting anything when any input is unreadable.
    """
    templates = load_templates(paths)
    pack = mnp_pack()
    findings: list[Finding] = []
    for template in templates:
        # In a cdk.out, `Validations.of(x).acknowledge(...)` applies as it does at synth.
        findings.extend(
            acknowledge_from_assembly(lint_template(template, pack.rules), Path(template.path), known_ids=set(pack))
        )
    return findings, [template.path for template in templates]


def exit_code(findings: list[Finding], *, strict: bool) -> int:
    summary = Summary.of(findings)
    if summary.errors or (strict and summary.warnings):
        return EXIT_FINDINGS
    return EXIT_OK


def run_lint(args: argparse.Namespace) -> int:
    try:
        findings, templates = lint_paths(list(args.paths))
    except TemplateLoadError as error:
        raise UserError(str(error), EXIT_INPUT_ERROR) from None
    # Each format is imported when chosen: the default text report keeps the start-up small.
    if args.format == "json":
        from mnp_toolkit.lint.formats.document import render_json

        report = render_json(findings, templates=templates)
    elif args.format == "sarif":
        from mnp_toolkit.lint.formats.sarif import default_rules_uri, render_sarif

        report = render_sarif(
            findings, rules=mnp_pack().rules, version=__version__, rules_uri=args.rules_uri or default_rules_uri()
        )
    elif args.format == "github":
        from mnp_toolkit.lint.formats.github import render_github

        report = render_github(findings, templates=templates, strict=args.strict, verbose=args.verbose)
    else:
        report = render_text(findings, templates=templates, strict=args.strict, verbose=args.verbose)
    sys.stdout.write(report + "\n")
    return exit_code(findings, strict=args.strict)


def run_rules(args: argparse.Namespace) -> int:
    from mnp_toolkit.lint.formats.catalog import catalog_json, catalog_markdown

    pack = mnp_pack()
    if args.format == "json":
        print(catalog_json(pack.rules))
    else:
        sys.stdout.write(catalog_markdown(pack.rules, pack_name=pack.name))
    return EXIT_OK
