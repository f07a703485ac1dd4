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

import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, TextIO

from mnp_toolkit.lint.engine import INVALID_ACKNOWLEDGEMENT_ID, MIN_REASON_LENGTH, lint_template
from mnp_toolkit.lint.findings import Finding, Summary
from mnp_toolkit.lint.formats.sarif import default_rules_uri
from mnp_toolkit.lint.packs import mnp_pack
from mnp_toolkit.lint.report import printable, render_github, render_json, render_text, sarif_log
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

#: Output formats: `mnp lint`'s renderers (text, JSON, SARIF 2.1.0, GitHub Actions annotations).
FORMATS: tuple[str, ...] = ("text", "json", "sarif", "github")
#: The SARIF tool name of audit reports (`mnp lint`'s are "mnp lint").
SARIF_TOOL_NAME = "mnp audit"

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
        return printable(f"mnp audit of {self.template_path}: " + ", ".join(parts))


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


def _summary(line: str, result: AuditResult) -> str:
    """The renderers word their summary for templates ("mnp lint passed: 1 template checked, ..."); an
    audit checked one account and Region."""
    return line.replace("mnp lint ", "mnp audit ", 1).replace(
        "1 template checked", f"{result.template_path} checked", 1
    )


#: A GitHub annotation's ``file`` property (its value has ``,`` and ``:`` escaped, so it ends at the comma).
_ANNOTATION_FILE = re.compile(r"^(::[a-z]+ )file=[^,]*,")


def _sarif(result: AuditResult, *, rules_uri: str | None) -> str:
    """`mnp lint`'s SARIF log, located for live resources: no file holds them, so each result's artifact is
    the account and Region (``aws://ACCOUNT/REGION``, an absolute URI) and its logical location the
    resource (ARN or id)."""
    from mnp_toolkit import __version__

    log = sarif_log(
        result.findings, rules=mnp_pack().rules, version=__version__, rules_uri=rules_uri or default_rules_uri()
    )
    for run in log["runs"]:
        run["tool"]["driver"]["name"] = SARIF_TOOL_NAME
        run["tool"]["driver"]["fullName"] = "mnp audit (MnpChecks on a live account: AWS Batch multi-node parallel)"
        run.pop("originalUriBaseIds", None)
        for finding_result in run["results"]:
            resource = finding_result.get("properties", {}).get("resource") or "account"
            finding_result["locations"] = [
                {
                    "physicalLocation": {"artifactLocation": {"uri": result.template_path}},
                    "logicalLocations": [{"name": resource, "fullyQualifiedName": resource, "kind": "resource"}],
                }
            ]
    return json.dumps(log, indent=2)


def render(
    result: AuditResult,
    *,
    output_format: str,
    strict: bool = False,
    verbose: bool = False,
    rules_uri: str | None = None,
) -> str:
    """The report in one of :data:`FORMATS`, through `mnp lint`'s renderers (``rules_uri``: where SARIF rule
    help links point, as `mnp lint --rules-uri`)."""
    templates = [result.template_path]
    if output_format == "json":
        return render_json(result.findings, templates=templates)
    if output_format == "sarif":
        return _sarif(result, rules_uri=rules_uri)
    if output_format == "github":
        lines = render_github(result.findings, templates=templates, strict=strict, verbose=verbose).split("\n")
        # Annotations point at files; a live resource has none (its ARN is in the title).
        annotations = [_ANNOTATION_FILE.sub(r"\1", line) for line in lines[:-1]]
        return "\n".join([*annotations, _summary(lines[-1], result)])
    if output_format != "text":
        raise ValueError(f"unknown format {output_format!r}; use one of {', '.join(FORMATS)}")
    lines = render_text(result.findings, templates=templates, strict=strict, verbose=verbose).split("\n")
    return "\n".join([result.inventory(), "", *lines[:-1], _summary(lines[-1], result)])


def run_audit(
    *,
    region: str | None = None,
    profile: str | None = None,
    session: Any = None,
    output_format: str = "text",
    strict: bool = False,
    all_revisions: bool = False,
    verbose: bool = False,
    rules_uri: str | None = None,
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
    report = render(result, output_format=output_format, strict=strict, verbose=verbose, rules_uri=rules_uri)
    print(report, file=out or sys.stdout)
    return exit_code(result.findings, strict=strict)


def audit_policy() -> dict[str, Any]:
    """The least-privilege IAM policy the audit needs (docs/audit.md shows it; tests run the audit with it)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "MnpAuditReadOnly", "Effect": "Allow", "Action": list(AUDIT_ACTIONS), "Resource": "*"},
        ],
    }
