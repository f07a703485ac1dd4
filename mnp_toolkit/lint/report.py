"""Render lint findings (text for people, JSON for machines) and the rule catalog (markdown, JSON).

The rule catalog in ``docs/rules.md`` is generated from the code with :func:`catalog_markdown`
(``mnp rules --format markdown > docs/rules.md``), so the documentation cannot drift from the rules.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from mnp_toolkit.lint.findings import Finding, Summary
from mnp_toolkit.lint.rule import Level, Rule

_LEVEL_ORDER = {Level.ERROR: 0, Level.WARNING: 1, Level.INFO: 2}


def _sort_key(finding: Finding) -> tuple[int, int, str, str]:
    return (finding.acknowledged is not None, _LEVEL_ORDER[finding.level], finding.rule, finding.resource)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _where(finding: Finding) -> str:
    resource = finding.resource or "(template)"
    return f"{resource} ({finding.path})" if finding.path else resource


def render_text(
    findings: Sequence[Finding], *, templates: Sequence[str], strict: bool = False, verbose: bool = False
) -> str:
    """Findings grouped by template: one block per finding (what, where, fix), then a summary line.

    Info findings (a rule could not verify something) are hidden unless ``verbose``: they are not problems,
    and a quiet default keeps errors visible. Acknowledged findings are always listed, with their reason.
    """
    lines: list[str] = []
    for template in templates:
        shown = sorted(
            (f for f in findings if f.template == template and (verbose or f.level is not Level.INFO)), key=_sort_key
        )
        if not shown:
            continue
        lines.append(template)
        for finding in shown:
            if finding.acknowledged is not None:
                lines.append(f"  ACKNOWLEDGED {finding.rule} {_where(finding)} [{finding.level.value}]")
                lines.append(f"    {finding.message}")
                lines.append(f"    reason: {finding.acknowledged}")
            else:
                lines.append(f"  {finding.level.value.upper()} {finding.rule} {_where(finding)}")
                lines.append(f"    {finding.message}")
                lines.append(f"    fix: {finding.fix}")
        lines.append("")
    lines.append(summary_line(findings, templates=len(templates), strict=strict, verbose=verbose))
    return "\n".join(lines)


def summary_line(findings: Iterable[Finding], *, templates: int, strict: bool = False, verbose: bool = False) -> str:
    summary = Summary.of(findings)
    parts = [_plural(summary.errors, "error"), _plural(summary.warnings, "warning")]
    if summary.acknowledged:
        parts.append(f"{summary.acknowledged} acknowledged")
    if summary.infos:
        parts.append(
            _plural(summary.infos, "info") + ("" if verbose else " hidden (could not verify; --verbose shows them)")
        )
    failed = summary.errors > 0 or (strict and summary.warnings > 0)
    verdict = "FAILED" if failed else "passed"
    strict_note = " (--strict: warnings fail)" if strict and summary.warnings and not summary.errors else ""
    return f"mnp lint {verdict}{strict_note}: {_plural(templates, 'template')} checked, " + ", ".join(parts)


def findings_document(findings: Sequence[Finding], *, templates: Sequence[str]) -> dict[str, Any]:
    """The ``--format json`` document: every finding (infos included) and the counts that decide the exit."""
    summary = Summary.of(findings)
    return {
        "findings": [finding.as_json() for finding in sorted(findings, key=lambda f: (f.template, *_sort_key(f)))],
        "summary": {
            "errors": summary.errors,
            "warnings": summary.warnings,
            "acknowledged": summary.acknowledged,
            "infos": summary.infos,
            "templates": len(templates),
        },
    }


def render_json(findings: Sequence[Finding], *, templates: Sequence[str]) -> str:
    return json.dumps(findings_document(findings, templates=templates), indent=2)


# -------------------------------------------------------------------------------------------- catalog

#: Catalog sections by rule number (the IDs are a public contract; see mnp-rules.md).
CATALOG_SECTIONS: tuple[tuple[str, range, str], ...] = (
    ("Errors", range(1, 100), "Synthesis fails; `mnp lint` exits 1."),
    ("Warnings", range(100, 200), "Reported; synthesis goes on; `mnp lint` exits 0 unless `--strict`."),
    (
        "Security",
        range(200, 300),
        "Errors; our own, because cdk-nag skips launch templates used by Batch. Unlike the rules above, these "
        "apply to every AWS Batch compute environment of a template (and, for MNP204, every job definition), "
        "MNP or not: an IMDSv1 launch template is as open on a container-job compute environment.",
    ),
)

#: What the rules of a section look at: MNP resources only, or every Batch resource.
SECTION_SCOPE = {
    "Errors": "MNP resources (MNP job definitions, MNP queues and their compute environments)",
    "Warnings": "MNP resources (MNP job definitions, MNP queues and their compute environments)",
    "Security": "every AWS Batch compute environment and job definition, MNP or not",
}


def rule_number(rule_id: str) -> int:
    return int(rule_id.removeprefix("MNP"))


def section_of(rule: Rule) -> str:
    number = rule_number(rule.id)
    return next((title for title, numbers, _ in CATALOG_SECTIONS if number in numbers), "Other")


def short_resource(resource_type: str) -> str:
    """``AWS::Batch::ComputeEnvironment`` -> ``ComputeEnvironment`` (as the catalog tables write it)."""
    return resource_type.rsplit("::", 1)[-1]


def rule_as_json(rule: Rule) -> dict[str, str]:
    return {
        "id": rule.id,
        "level": rule.level.value,
        "section": section_of(rule),
        "applies_to": SECTION_SCOPE.get(section_of(rule), ""),
        "resource_type": rule.resource_type,
        "info": rule.info,
        "explanation": rule.explanation,
        "fix": rule.fix,
        "source": rule.source,
    }


def catalog_json(rules: Sequence[Rule]) -> str:
    return json.dumps({"rules": [rule_as_json(rule) for rule in rules]}, indent=2)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def catalog_markdown(rules: Sequence[Rule], *, pack_name: str = "MnpChecks") -> str:
    """The rule catalog as markdown: one table per section, then every rule's explanation and fix."""
    lines = [
        "# MNP rule catalog",
        "",
        "<!-- GENERATED by `mnp rules --format markdown > docs/rules.md` from mnp_toolkit/lint/rules; do not edit. -->",
        "",
        f"The `{pack_name}` pack has {_plural(len(rules), 'rule')}. Acknowledge a finding at synth with",
        f'`Validations.of(construct).acknowledge(Acknowledgment(id="{pack_name}::MNP101", reason=...))` or in a',
        'template with resource metadata `{"mnp:acknowledge": [{"id": "MNP101", "reason": "..."}]}`',
        "(see [rule-pack.md](rule-pack.md)).",
        "",
    ]
    for title, numbers, note in CATALOG_SECTIONS:
        section = [rule for rule in rules if rule_number(rule.id) in numbers]
        if not section:
            continue
        lines += [f"## {title}", "", note, "", "| ID | Level | Resource | Rule |", "|---|---|---|---|"]
        lines += [
            f"| [{rule.id}](#{rule.id.lower()}) | {rule.level.value} | {short_resource(rule.resource_type)} | "
            f"{_cell(rule.info)} |"
            for rule in section
        ]
        lines.append("")
    lines += ["## Rules", ""]
    for rule in rules:
        lines += [
            f"### {rule.id}",
            "",
            f"**{rule.level.value}** on `{rule.resource_type}`: {_cell(rule.info)}",
            "",
            _cell(rule.explanation),
            "",
            f"**Fix:** {_cell(rule.fix)}",
            "",
            f"**Source:** {_cell(rule.source)}",
            "",
        ]
    return "\n".join(lines)
