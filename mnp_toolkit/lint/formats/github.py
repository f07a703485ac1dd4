"""``--format github``: GitHub Actions workflow commands, one annotation per finding.

``::error file=F,line=L,col=C,title=MNP011 Jd::message`` (``::warning`` for warnings, ``::notice`` for
acknowledged findings and, with ``--verbose``, infos), then the summary line as plain log text. GitHub
shows each annotation on the pull request's diff at that line. Values are escaped as the runner's
toolkit escapes them (``%``, CR and LF in the message; also ``:`` and ``,`` in properties), after the
report's own escaping of control characters, so no template string can end the command early or start
another one. Syntax: https://docs.github.com/en/actions/reference/workflow-commands-for-github-actions
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from mnp_toolkit.lint.findings import Finding
from mnp_toolkit.lint.formats.text import printable, sort_key, summary_line
from mnp_toolkit.lint.rule import Level

_COMMAND = {Level.ERROR: "error", Level.WARNING: "warning", Level.INFO: "notice"}


def _data(text: str) -> str:
    return printable(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def relative_path(path: str, *, base: str | None = None) -> str:
    """``path`` relative to ``base`` (the working directory) when it lies inside it, else as given."""
    base = base or os.getcwd()
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute, base)
    except ValueError:  # another drive (Windows)
        return path
    return path if relative.startswith("..") else relative.replace(os.sep, "/")


def annotation(finding: Finding) -> str:
    command = "notice" if finding.acknowledged is not None else _COMMAND[finding.level]
    properties = [f"file={_property(relative_path(finding.template))}"]
    if finding.line is not None:
        properties.append(f"line={finding.line}")
        if finding.column is not None:
            properties.append(f"col={finding.column}")
    where = finding.resource or "template"
    title = f"{finding.rule} {where}" + (" (acknowledged)" if finding.acknowledged is not None else "")
    properties.append(f"title={_property(title)}")
    if finding.acknowledged is not None:
        text = f"{finding.message} Acknowledged: {finding.acknowledged}"
    else:
        text = f"{finding.message} Fix: {finding.fix}"
    return f"::{command} {','.join(properties)}::{_data(text)}"


def render_github(
    findings: Sequence[Finding], *, templates: Sequence[str], strict: bool = False, verbose: bool = False
) -> str:
    shown = sorted(
        (f for f in findings if verbose or f.level is not Level.INFO or f.acknowledged is not None),
        key=lambda f: (f.template, *sort_key(f)),
    )
    lines = [annotation(finding) for finding in shown]
    lines.append(summary_line(findings, templates=len(templates), strict=strict, verbose=verbose))
    return "\n".join(lines)
