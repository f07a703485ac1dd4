"""`mnp audit`: the rule pack on what is already deployed in an account (docs/audit.md).

The audit reads the account's Batch compute environments, job queues and ACTIVE job definitions and what
the rules need around them (:mod:`~mnp_toolkit.ops.audit.read`), turns them into the CloudFormation-shaped
template the rule pack checks (:mod:`~mnp_toolkit.ops.audit.model`), and runs the ``MnpChecks`` pack on
it with :func:`mnp_toolkit.lint.engine.lint_template`: there is no second implementation of any rule.
Findings, levels, fixes, reports and exit codes are those of ``mnp lint``; each finding names the live
resource (ARN or id) where a template would name a logical ID.

:func:`run_audit` is the whole command (read, check, print, exit code) for callers such as
``make deploy-local``; :func:`audit` returns the findings.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, TextIO

from mnp_toolkit.lint.engine import INVALID_ACKNOWLEDGEMENT_ID, MIN_REASON_LENGTH, lint_template
from mnp_toolkit.lint.findings import Finding, Summary
from mnp_toolkit.lint.packs import mnp_pack
from mnp_toolkit.lint.report import render_json, render_text
from mnp_toolkit.lint.template import Template
from mnp_toolkit.ops.audit.model import ACKNOWLEDGE_TAG, build_template, launch_template_logical_id
from mnp_toolkit.ops.audit.read import AUDIT_ACTIONS, AuditClients, LiveAccount, make_audit_clients, read_account

__all__ = [
    "AUDIT_ACTIONS",
    "FORMATS",
    "AuditResult",
    "audit",
    "audit_policy",
    "exit_code",
    "run_audit",
]

#: Exit codes, as `mnp lint`'s (mnp_toolkit/cli/lint.py): 0 clean, 1 findings fail, 2 AWS or usage error.
EXIT_OK = 0
EXIT_FINDINGS = 1

#: Output formats. ``text`` and ``json`` are `mnp lint`'s renderers.
FORMATS: tuple[str, ...] = ("text", "json")

_TAG_ACK_FIX = (
    f"Tag the resource {ACKNOWLEDGE_TAG}=MNP101=why this is acceptable here;MNP105=... : known rule IDs, each "
    f"with a reason of at least {MIN_REASON_LENGTH} characters."
)


@dataclass(frozen=True)
class AuditResult:
    """What one audit found: findings on the account's template, and what it was built from."""

    findings: list[Finding]
    template_path: str  # "aws://ACCOUNT/REGION": the findings' template
    live: LiveAccount
    template: dict[str, Any]

    def inventory(self) -> str:
        """One line saying what was read (for the text report)."""
        live = self.live
        revisions = "latest ACTIVE revision of each name" if live.latest_revisions_only else "every ACTIVE revision"
        parts = [
            _count(len(live.compute_environments), "compute environment"),
            _count(len(live.job_queues), "job queue"),
            f"{_count(len(live.job_definitions), 'job definition')} ({revisions})",
            _count(
                len({launch_template_logical_id(v) for v in live.launch_template_versions.values()}),
                "launch-template version",
            ),
            _count(len(live.security_groups), "security group"),
            _count(len(live.subnets), "subnet"),
            _count(len(live.route_tables), "route table"),
            _count(len(live.vpc_endpoints), "VPC endpoint"),
            _count(len(live.placement_groups), "placement group"),
        ]
        return f"mnp audit of {self.template_path}: " + ", ".join(parts)


def _count(number: int, word: str) -> str:
    return f"{number} {word}" if number == 1 else f"{number} {word}s"


def exit_code(findings: Sequence[Finding], *, strict: bool) -> int:
    """`mnp lint`'s rule: 1 with an unacknowledged error (or, with ``strict``, warning), else 0."""
    summary = Summary.of(findings)
    return EXIT_FINDINGS if summary.errors or (strict and summary.warnings) else EXIT_OK


def _tag_wording(finding: Finding) -> Finding:
    """An acknowledgement on a live resource is a tag: say how to write the tag, not the metadata."""
    if finding.rule == INVALID_ACKNOWLEDGEMENT_ID and finding.resource:
        return replace(finding, fix=_TAG_ACK_FIX)
    return finding


def audit(clients: AuditClients, *, all_revisions: bool = False) -> AuditResult:
    """Read the account and run the pack on it (raises :class:`~mnp_toolkit.errors.UserError` on AWS errors)."""
    live = read_account(clients, all_revisions=all_revisions)
    body = build_template(live)
    path = f"aws://{live.account}/{live.region}"
    findings = [_tag_wording(finding) for finding in lint_template(Template(body, path=path), mnp_pack().rules)]
    return AuditResult(findings=findings, template_path=path, live=live, template=body)


def render(result: AuditResult, *, output_format: str, strict: bool = False, verbose: bool = False) -> str:
    """The report in one of :data:`FORMATS`, through `mnp lint`'s renderers."""
    templates = [result.template_path]
    if output_format == "json":
        return render_json(result.findings, templates=templates)
    if output_format != "text":
        raise ValueError(f"unknown format {output_format!r}; use one of {', '.join(FORMATS)}")
    text = render_text(result.findings, templates=templates, strict=strict, verbose=verbose)
    # The renderer words its summary for templates ("mnp lint passed: 1 template checked, ..."); an audit
    # checked one account and Region.
    lines = text.split("\n")
    lines[-1] = (
        lines[-1]
        .replace("mnp lint ", "mnp audit ", 1)
        .replace("1 template checked", f"{result.template_path} checked", 1)
    )
    return "\n".join([result.inventory(), "", *lines])


def run_audit(
    *,
    region: str | None = None,
    profile: str | None = None,
    session: Any = None,
    output_format: str = "text",
    strict: bool = False,
    all_revisions: bool = False,
    verbose: bool = False,
    out: TextIO | None = None,
) -> int:
    """The whole `mnp audit`: read the account, check it, print the report, return the exit code (0 clean,
    1 findings fail, as `mnp lint`). AWS errors raise :class:`~mnp_toolkit.errors.UserError` (exit 2) with
    one line naming what failed, and the IAM action when one is missing.

    ``session`` (a boto3 Session) overrides ``region``/``profile``; ``AWS_ENDPOINT_URL`` is honoured as by
    every client (so it audits the emulated AWS of ``make deploy-local`` too).
    """
    clients = make_audit_clients(session=session, region=region, profile=profile)
    result = audit(clients, all_revisions=all_revisions)
    print(render(result, output_format=output_format, strict=strict, verbose=verbose), file=out or sys.stdout)
    return exit_code(result.findings, strict=strict)


def audit_policy() -> dict[str, Any]:
    """The least-privilege IAM policy the audit needs (docs/audit.md shows it; tests run the audit with it)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "MnpAuditReadOnly", "Effect": "Allow", "Action": list(AUDIT_ACTIONS), "Resource": "*"},
        ],
    }
