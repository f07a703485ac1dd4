"""The ``--format json`` document: every finding (infos included) and the counts that decide the exit."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from mnp_toolkit.lint.findings import Finding, Summary
from mnp_toolkit.lint.formats.text import sort_key


def findings_document(findings: Sequence[Finding], *, templates: Sequence[str]) -> dict[str, Any]:
    summary = Summary.of(findings)
    return {
        "findings": [finding.as_json() for finding in sorted(findings, key=lambda f: (f.template, *sort_key(f)))],
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
