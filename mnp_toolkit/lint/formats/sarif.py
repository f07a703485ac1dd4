"""``--format sarif``: one SARIF 2.1.0 log (OASIS standard) for code scanning and other SARIF viewers.

One run; the tool's rules (ID, short and full description, help text = the fix, help URI into
``docs/rules.md``, default level); one result per finding with its ``ruleId``, ``level``
(``error``/``warning``/``note``), message, and physical location: the template's URI relative to the
working directory (``uriBaseId`` ``%SRCROOT%``) with start line and column, plus the resource and
property path as a logical location. Acknowledged findings are results with a ``suppressions`` entry
that carries the reason, as SARIF §3.35 defines them, so viewers show them as suppressed, not gone.

Columns count Unicode code points (``columnKind``), which is what the loader reports. The output is
validated against the official schema (``tests/data/sarif``) by the test suite.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from mnp_toolkit.lint.engine import INVALID_ACKNOWLEDGEMENT_ID
from mnp_toolkit.lint.findings import Finding
from mnp_toolkit.lint.formats.github import relative_path
from mnp_toolkit.lint.formats.text import sort_key
from mnp_toolkit.lint.rule import Level, Rule

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
TOOL_NAME = "mnp lint"
_LEVELS = {Level.ERROR: "error", Level.WARNING: "warning", Level.INFO: "note"}
_SRCROOT = "%SRCROOT%"
#: The rule catalog next to this code in a checkout of the toolkit (absent from a plain pip install).
_RULES_DOC = Path(__file__).resolve().parents[3] / "docs" / "rules.md"


def default_rules_uri() -> str | None:
    """Where ``helpUri`` points by default: this checkout's ``docs/rules.md`` as a ``file:`` URI, if present.

    ``mnp lint --rules-uri https://.../docs/rules.md`` points it at the published catalog instead
    (what code scanning on GitHub should link to)."""
    return _RULES_DOC.as_uri() if _RULES_DOC.is_file() else None


def _artifact_uri(template: str, base: str) -> tuple[str, bool]:
    """(URI, relative to ``base``?) for a template path."""
    relative = relative_path(template, base=base)
    if os.path.isabs(relative) or relative.startswith(".."):  # outside the working directory
        return Path(os.path.abspath(template)).as_uri(), False
    return quote(relative), True


def _rule_descriptor(rule: Rule, rules_uri: str | None) -> dict[str, Any]:
    descriptor: dict[str, Any] = {
        "id": rule.id,
        "name": rule.id,
        "shortDescription": {"text": rule.info},
        "fullDescription": {"text": rule.explanation},
        "help": {"text": f"Fix: {rule.fix} Source: {rule.source}"},
        "defaultConfiguration": {"level": _LEVELS[rule.level]},
        "properties": {"resourceType": rule.resource_type, "source": rule.source},
    }
    if rules_uri:
        descriptor["helpUri"] = f"{rules_uri}#{rule.id.lower()}"
    return descriptor


#: MNP000 is the engine's own finding (an acknowledgement that acknowledges nothing), not a catalog rule.
_ACKNOWLEDGEMENT_DESCRIPTOR: dict[str, Any] = {
    "id": INVALID_ACKNOWLEDGEMENT_ID,
    "name": INVALID_ACKNOWLEDGEMENT_ID,
    "shortDescription": {"text": "An acknowledgement has no real reason or names a rule the pack does not have."},
    "fullDescription": {
        "text": "An acknowledgement (mnp:acknowledge metadata or Validations.of(scope).acknowledge) needs a rule ID "
        "of the pack and a reason of at least ten characters; otherwise it acknowledges nothing."
    },
    "help": {"text": "Fix: name a rule ID from `mnp rules` and give the reason the finding is acceptable."},
    "defaultConfiguration": {"level": "error"},
}


def _result(finding: Finding, rule_index: dict[str, int], base: str) -> dict[str, Any]:
    uri, relative = _artifact_uri(finding.template, base)
    artifact: dict[str, Any] = {"uri": uri}
    if relative:
        artifact["uriBaseId"] = _SRCROOT
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if finding.line is not None:
        region: dict[str, Any] = {"startLine": finding.line}
        if finding.column is not None:
            region["startColumn"] = finding.column
        physical["region"] = region
    location: dict[str, Any] = {"physicalLocation": physical}
    if finding.pointer:
        location["logicalLocations"] = [
            {"name": finding.resource or "template", "fullyQualifiedName": finding.property_path, "kind": "resource"}
        ]
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "level": _LEVELS[finding.level],
        "message": {"text": f"{finding.message} Fix: {finding.fix}"},
        "locations": [location],
    }
    if finding.rule in rule_index:
        result["ruleIndex"] = rule_index[finding.rule]
    properties = {"resource": finding.resource, "constructPath": finding.path}
    result["properties"] = {key: value for key, value in properties.items() if value}
    if finding.acknowledged is not None:
        result["suppressions"] = [{"kind": "inSource", "status": "accepted", "justification": finding.acknowledged}]
    return result


def sarif_log(
    findings: Sequence[Finding],
    *,
    rules: Sequence[Rule],
    version: str,
    rules_uri: str | None = None,
    base: str | None = None,
) -> dict[str, Any]:
    """The SARIF log object; ``version`` is the tool's, ``base`` the directory URIs are relative to (the
    working directory)."""
    base = os.path.abspath(base or os.getcwd())
    descriptors = [_rule_descriptor(rule, rules_uri) for rule in rules]
    if any(finding.rule == INVALID_ACKNOWLEDGEMENT_ID for finding in findings):
        descriptors.append(_ACKNOWLEDGEMENT_DESCRIPTOR)
    rule_index = {descriptor["id"]: index for index, descriptor in enumerate(descriptors)}
    ordered = sorted(findings, key=lambda f: (f.template, *sort_key(f)))
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL_NAME,
                        "fullName": "mnp lint (MnpChecks: AWS Batch multi-node parallel rule pack)",
                        "version": version,
                        "semanticVersion": version,
                        "rules": descriptors,
                    }
                },
                "originalUriBaseIds": {_SRCROOT: {"uri": Path(base).as_uri().rstrip("/") + "/"}},
                "columnKind": "unicodeCodePoints",
                "results": [_result(finding, rule_index, base) for finding in ordered],
            }
        ],
    }


def render_sarif(
    findings: Sequence[Finding],
    *,
    rules: Sequence[Rule],
    version: str,
    rules_uri: str | None = None,
    base: str | None = None,
) -> str:
    return json.dumps(sarif_log(findings, rules=rules, version=version, rules_uri=rules_uri, base=base), indent=2)
