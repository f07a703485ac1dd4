"""The shared half of the cfn-lint rules: run the ``MnpChecks`` pack once per template, hand out findings.

Kept out of :mod:`mnp_toolkit.lint.cfn_lint` itself because cfn-lint instantiates every
``CloudFormationLintRule`` subclass it finds among a module's attributes, this base included.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from mnp_toolkit.lint.engine import INVALID_ACKNOWLEDGEMENT_ID, lint_template
from mnp_toolkit.lint.findings import Finding
from mnp_toolkit.lint.loader import acknowledge_from_assembly
from mnp_toolkit.lint.locations import existing_prefix
from mnp_toolkit.lint.packs import mnp_pack
from mnp_toolkit.lint.rule import Level
from mnp_toolkit.lint.template import Template

#: MNP level -> the first letter of a cfn-lint rule ID, which is how cfn-lint decides a rule's severity
#: (``CloudFormationLintRule.severity``: E error, W warning, I informational).
LEVEL_LETTER = {Level.ERROR: "E", Level.WARNING: "W", Level.INFO: "I"}
#: cfn-lint's own rules leave the 9xxx numbers free (community rule modules use them for their rules).
COULD_NOT_VERIFY_ID = "I9999"
_CACHE_ATTRIBUTE = "_mnp_findings"


def cfn_lint_id(rule_id: str, level: Level) -> str:
    """``MNP011`` (error) -> ``E9011``; ``MNP109`` (warning) -> ``W9109``."""
    return f"{LEVEL_LETTER[level]}9{int(rule_id.removeprefix('MNP')):03d}"


def pack_findings(cfn: Any) -> list[Finding]:
    """Every finding of the pack on cfn-lint's template, computed once per template for all rule classes,
    with the acknowledgements of its cloud assembly applied (as ``mnp lint`` does)."""
    cached: list[Finding] | None = getattr(cfn, _CACHE_ATTRIBUTE, None)
    if cached is None:
        body = cfn.template if isinstance(cfn.template, Mapping) else {}
        filename = str(cfn.filename or "template")
        pack = mnp_pack()
        cached = lint_template(Template(body, path=filename), pack.rules)
        if cfn.filename:
            cached = acknowledge_from_assembly(cached, Path(filename), known_ids=set(pack))
        setattr(cfn, _CACHE_ATTRIBUTE, cached)
    return cached


class MnpCfnLintRule(CloudFormationLintRule):
    """One MNP rule inside cfn-lint: reports the pack's unacknowledged findings of ``mnp_rule``."""

    mnp_rule: ClassVar[str] = ""
    only_infos: ClassVar[bool] = False

    def match(self, cfn: Any) -> list[RuleMatch]:
        matches: list[RuleMatch] = []
        for finding in pack_findings(cfn):
            if finding.acknowledged is not None:
                continue  # acknowledged with a reason: cfn-lint's own ignores are for its rules
            if self.only_infos != (finding.level is Level.INFO):
                continue
            if not self.only_infos and finding.rule != self.mnp_rule:
                continue
            # cfn-lint places a match at the end of its path: for a missing property, its nearest parent.
            where = list(existing_prefix(cfn.template, finding.pointer)) or ["Resources", finding.resource]
            text = f"{finding.rule} {finding.message} Fix: {finding.fix}"
            matches.append(RuleMatch(where, " ".join(text.split())))
        return matches


def rule_class(rule_id: str, level: Level, info: str, explanation: str, source: str, resource_type: str) -> type:
    return type(
        f"Mnp{rule_id.removeprefix('MNP')}",
        (MnpCfnLintRule,),
        {
            "id": cfn_lint_id(rule_id, level),
            "shortdesc": f"{rule_id}: {info}",
            "description": explanation,
            "source_url": source,
            "tags": ["mnp", "batch", resource_type],
            "mnp_rule": rule_id,
            "__module__": "mnp_toolkit.lint.cfn_lint",
        },
    )


INVALID_ACKNOWLEDGEMENT = (
    INVALID_ACKNOWLEDGEMENT_ID,
    Level.ERROR,
    "An acknowledgement names a rule the pack does not have or gives no real reason.",
    "An mnp:acknowledge entry needs a rule ID of the MnpChecks pack and a reason of at least ten characters; "
    "otherwise it acknowledges nothing.",
    "docs/rule-pack.md",
    "AWS::CloudFormation::Template",
)
