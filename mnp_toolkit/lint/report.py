"""Render lint findings and the rule catalog: the formats live in :mod:`mnp_toolkit.lint.formats`.

This module keeps the names other code imports (``render_text``, ``render_json``, ``catalog_markdown`` ...).
"""

from __future__ import annotations

from mnp_toolkit.lint.formats.catalog import (
    CATALOG_SECTIONS,
    SECTION_SCOPE,
    catalog_json,
    catalog_markdown,
    rule_as_json,
    rule_number,
    section_of,
    short_resource,
)
from mnp_toolkit.lint.formats.document import findings_document, render_json
from mnp_toolkit.lint.formats.github import render_github
from mnp_toolkit.lint.formats.sarif import render_sarif, sarif_log
from mnp_toolkit.lint.formats.text import printable, render_text, summary_line

__all__ = [
    "CATALOG_SECTIONS",
    "SECTION_SCOPE",
    "catalog_json",
    "catalog_markdown",
    "findings_document",
    "printable",
    "render_github",
    "render_json",
    "render_sarif",
    "render_text",
    "rule_as_json",
    "rule_number",
    "sarif_log",
    "section_of",
    "short_resource",
    "summary_line",
]
