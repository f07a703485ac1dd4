"""mnp_toolkit.lint.report: text/JSON rendering of findings and the markdown/JSON rule catalog."""

from __future__ import annotations

import json

from mnp_toolkit.lint.findings import Finding
from mnp_toolkit.lint.packs import mnp_pack
from mnp_toolkit.lint.report import (
    catalog_json,
    catalog_markdown,
    render_json,
    render_text,
    section_of,
    short_resource,
    summary_line,
)
from mnp_toolkit.lint.rule import Level


def finding(rule: str, level: Level, *, template: str = "a.json", ack: str | None = None, res: str = "Ce") -> Finding:
    return Finding(
        rule=rule,
        level=level,
        template=template,
        resource=res,
        path=f"Stack/{res}/Resource" if res else None,
        message=f"{rule} message",
        fix=f"{rule} fix",
        acknowledged=ack,
    )


def test_text_orders_errors_warnings_then_acknowledged() -> None:
    findings = [
        finding("MNP101", Level.WARNING),
        finding("MNP106", Level.WARNING, ack="cost accepted for benchmarks"),
        finding("MNP003", Level.ERROR),
    ]
    lines = render_text(findings, templates=["a.json"]).splitlines()
    heads = [line.strip() for line in lines if line.startswith("  ") and not line.startswith("    ")]
    assert heads == [
        "ERROR MNP003 Ce (Stack/Ce/Resource)",
        "WARNING MNP101 Ce (Stack/Ce/Resource)",
        "ACKNOWLEDGED MNP106 Ce (Stack/Ce/Resource) [warning]",
    ]
    assert "    reason: cost accepted for benchmarks" in lines
    assert lines[-1] == "mnp lint FAILED: 1 template checked, 1 error, 1 warning, 1 acknowledged"


def test_template_level_finding_has_no_resource() -> None:
    text = render_text([finding("MNP000", Level.ERROR, res="")], templates=["a.json"])
    assert "  ERROR MNP000 (template)" in text


def test_summary_line_strict_and_infos() -> None:
    findings = [finding("MNP101", Level.WARNING), finding("MNP001", Level.INFO)]
    assert summary_line(findings, templates=2).startswith("mnp lint passed: 2 templates checked, 0 errors, 1 warning")
    assert "1 info hidden" in summary_line(findings, templates=2)
    assert summary_line(findings, templates=2, strict=True).startswith("mnp lint FAILED (--strict: warnings fail)")
    assert "hidden" not in summary_line(findings, templates=2, verbose=True)


def test_json_counts_match_findings() -> None:
    findings = [finding("MNP003", Level.ERROR, template="b.json"), finding("MNP101", Level.WARNING, ack="reason here")]
    document = json.loads(render_json(findings, templates=["a.json", "b.json"]))
    assert document["summary"] == {"errors": 1, "warnings": 0, "acknowledged": 1, "infos": 0, "templates": 2}
    assert [f["template"] for f in document["findings"]] == ["a.json", "b.json"]


def test_catalog_markdown_has_every_rule_in_its_section() -> None:
    rules = mnp_pack().rules
    text = catalog_markdown(rules)
    for rule in rules:
        assert f"### {rule.id}" in text
        assert (
            f"| [{rule.id}](#{rule.id.lower()}) | {rule.level.value} | {short_resource(rule.resource_type)} |" in text
        )
    assert section_of(mnp_pack()["MNP001"]) == "Errors"


def test_catalog_json_round_trips() -> None:
    rules = mnp_pack().rules
    document = json.loads(catalog_json(rules))
    assert [(r["id"], r["level"]) for r in document["rules"]] == [(r.id, r.level.value) for r in rules]
