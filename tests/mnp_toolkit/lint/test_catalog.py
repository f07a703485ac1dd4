"""The rule catalog: the code's rules agree with the spec's tables, and docs/rules.md is current.

``spec/mnp-rules.md`` (the catalog, kept in the repository so every clone checks it) is the public contract
for IDs and levels. These tests fail while rules are missing: that is the point.
"""

from __future__ import annotations

import re
from pathlib import Path

from mnp_toolkit.lint.packs import mnp_pack
from mnp_toolkit.lint.report import catalog_markdown, short_resource

REPO = Path(__file__).resolve().parents[3]
SPEC = REPO / "spec" / "mnp-rules.md"
DOC = REPO / "docs" / "rules.md"
_SECTION_LEVEL = {"Errors": "error", "Warnings": "warning", "Security": "error"}
_ROW = re.compile(r"^\|\s*(MNP\d{3})\s*\|\s*([A-Za-z]+)\s*\|")


def spec_rules() -> dict[str, tuple[str, str]]:
    """Rule ID -> (level, resource) from the spec's Errors / Warnings / Security tables."""
    assert SPEC.is_file(), f"the rule catalog {SPEC} is missing"
    rules: dict[str, tuple[str, str]] = {}
    level: str | None = None
    for line in SPEC.read_text().splitlines():
        if line.startswith("## "):
            level = _SECTION_LEVEL.get(line[3:].split()[0].strip("()"))
            continue
        match = _ROW.match(line)
        if match and level is not None:
            assert match.group(1) not in rules, f"{match.group(1)} appears twice in {SPEC}"
            rules[match.group(1)] = (level, match.group(2))
    assert rules, f"no | MNPnnn | rows found under Errors/Warnings/Security in {SPEC}"
    return rules


def test_spec_parser_reads_all_three_sections() -> None:
    rules = spec_rules()
    assert rules["MNP001"] == ("error", "ComputeEnvironment")
    assert rules["MNP101"][0] == "warning"
    assert rules["MNP201"] == ("error", "LaunchTemplate")


def test_code_ids_and_levels_match_the_spec_exactly() -> None:
    expected = {rule_id: level for rule_id, (level, _) in spec_rules().items()}
    actual = {rule.id: rule.level.value for rule in mnp_pack().rules}
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    wrong = sorted(
        f"{i}: code {actual[i]}, spec {expected[i]}" for i in set(actual) & set(expected) if actual[i] != expected[i]
    )
    assert (missing, extra, wrong) == ([], [], []), f"missing in code: {missing}; not in spec: {extra}; levels: {wrong}"


def test_code_resources_match_the_spec() -> None:
    expected = {rule_id: resource for rule_id, (_, resource) in spec_rules().items()}
    wrong = sorted(
        f"{rule.id}: code {short_resource(rule.resource_type)}, spec {expected[rule.id]}"
        for rule in mnp_pack().rules
        if rule.id in expected and short_resource(rule.resource_type) != expected[rule.id]
    )
    assert wrong == []


def test_docs_rules_md_is_generated_from_the_code() -> None:
    pack = mnp_pack()
    assert DOC.is_file(), "docs/rules.md is missing: run `mnp rules --format markdown > docs/rules.md`"
    assert DOC.read_text() == catalog_markdown(pack.rules, pack_name=pack.name), (
        "docs/rules.md is stale: run `python -m mnp_toolkit rules --format markdown > docs/rules.md`"
    )


def test_every_rule_has_words_for_humans() -> None:
    for rule in mnp_pack().rules:
        assert rule.info.strip() and rule.explanation.strip() and rule.fix.strip(), rule.id
        assert rule.source.strip(), rule.id
