"""The text report (for people) and what it shares with the other formats: order, counts, escaping."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from mnp_toolkit.lint.findings import Finding, Summary
from mnp_toolkit.lint.rule import Level

_LEVEL_ORDER = {Level.ERROR: 0, Level.WARNING: 1, Level.INFO: 2}
#: C0 and C1 controls (newline, carriage return, ESC of ANSI sequences ...), DEL, and the invisible
#: format characters that reorder or hide text (bidirectional overrides, zero-width spaces, BOM).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\x1b"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def printable(text: str) -> str:
    """``text`` on one line with every control or invisible format character escaped (``\\n``, ``\\x1b``,
    ``\\u202e``): what a template says can then neither start a new report line nor recolor the terminal."""
    return _UNPRINTABLE.sub(_escape, text)


def sort_key(finding: Finding) -> tuple[int, int, str, str]:
    return (finding.acknowledged is not None, _LEVEL_ORDER[finding.level], finding.rule, finding.resource)


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _where(finding: Finding) -> str:
    resource = finding.resource or "(template)"
    return f"{resource} ({finding.path})" if finding.path else resource


def location_text(finding: Finding) -> str | None:
    """``file:line:column (Resources/Jd/Properties/...)``, or what of it is known; None when nothing is."""
    if finding.line is not None and finding.column is not None:
        place = f"{finding.template}:{finding.line}:{finding.column}"
        return f"{place} ({finding.property_path})" if finding.pointer else place
    return finding.property_path or None


def render_text(
    findings: Sequence[Finding], *, templates: Sequence[str], strict: bool = False, verbose: bool = False
) -> str:
    """Findings grouped by template: one block per finding (what, where, fix), then a summary line.

    Info findings (a rule could not verify something) are hidden unless ``verbose``: they are not problems,
    and a quiet default keeps errors visible. Acknowledged findings are always listed, with their reason.
    Every line is :func:`printable`.
    """
    lines: list[str] = []
    for template in templates:
        shown = sorted(
            (f for f in findings if f.template == template and (verbose or f.level is not Level.INFO)), key=sort_key
        )
        if not shown:
            continue
        lines.append(printable(template))
        for finding in shown:
            if finding.acknowledged is not None:
                lines.append(f"  ACKNOWLEDGED {finding.rule} {printable(_where(finding))} [{finding.level.value}]")
            else:
                lines.append(f"  {finding.level.value.upper()} {finding.rule} {printable(_where(finding))}")
            location = location_text(finding)
            if location is not None:
                lines.append(f"    at {printable(location)}")
            lines.append(f"    {printable(finding.message)}")
            if finding.acknowledged is not None:
                lines.append(f"    reason: {printable(finding.acknowledged)}")
            else:
                lines.append(f"    fix: {printable(finding.fix)}")
        lines.append("")
    lines.append(summary_line(findings, templates=len(templates), strict=strict, verbose=verbose))
    return "\n".join(lines)


def summary_line(findings: Iterable[Finding], *, templates: int, strict: bool = False, verbose: bool = False) -> str:
    summary = Summary.of(findings)
    parts = [plural(summary.errors, "error"), plural(summary.warnings, "warning")]
    if summary.acknowledged:
        parts.append(f"{summary.acknowledged} acknowledged")
    if summary.infos:
        parts.append(
            plural(summary.infos, "info") + ("" if verbose else " hidden (could not verify; --verbose shows them)")
        )
    failed = summary.errors > 0 or (strict and summary.warnings > 0)
    verdict = "FAILED" if failed else "passed"
    strict_note = " (--strict: warnings fail)" if strict and summary.warnings and not summary.errors else ""
    return f"mnp lint {verdict}{strict_note}: {plural(templates, 'template')} checked, " + ", ".join(parts)
