"""Run a rule pack over templates and turn results into findings, applying acknowledgements.

Acknowledgements in a template are metadata, read here (the CDK plugin uses the CDK's own mechanism
too, see :mod:`mnp_toolkit.cdk_plugin`):

* on a resource: ``Metadata: {"mnp:acknowledge": [{"id": "MNP101", "reason": "..."}]}``
* on a whole template: the template's top-level ``Metadata`` with the same key.

A reason shorter than :data:`MIN_REASON_LENGTH` characters does not acknowledge anything and is itself
reported as an error (:data:`INVALID_ACKNOWLEDGEMENT_ID`), as is an acknowledgement naming a rule ID
the pack does not have.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import replace
from typing import Any

from mnp_toolkit.lint.cache import per_resource
from mnp_toolkit.lint.findings import Finding
from mnp_toolkit.lint.locations import property_path, resource_pointer
from mnp_toolkit.lint.model.naming import render_value
from mnp_toolkit.lint.rule import Level, NonCompliant, Rule, Unverifiable
from mnp_toolkit.lint.template import Resource, Template

ACKNOWLEDGE_METADATA_KEY = "mnp:acknowledge"


MIN_REASON_LENGTH = 10


#: Not a catalog rule: the engine's own finding for a malformed acknowledgement.
INVALID_ACKNOWLEDGEMENT_ID = "MNP000"


def _read_acknowledgements(
    metadata: Mapping[str, Any], *, known_ids: set[str], template: Template, resource: Resource | None
) -> tuple[dict[str, str], list[Finding]]:
    raw = metadata.get(ACKNOWLEDGE_METADATA_KEY)
    if raw is None:
        return {}, []
    acknowledged: dict[str, str] = {}
    problems: list[Finding] = []
    where = f"resource {resource.logical_id}" if resource else "the template's Metadata"
    base: tuple[str | int, ...] = resource.pointer if resource else ()
    entries = raw if isinstance(raw, list) else [raw]

    def invalid(message: str, index: int) -> None:
        inside = (index,) if isinstance(raw, list) else ()
        problems.append(
            Finding(
                rule=INVALID_ACKNOWLEDGEMENT_ID,
                level=Level.ERROR,
                template=template.path,
                resource=resource.logical_id if resource else "",
                path=resource.cdk_path if resource else None,
                message=f"Invalid {ACKNOWLEDGE_METADATA_KEY} entry on {where}: {message}",
                fix=f'Use [{{"id": "MNP101", "reason": "why this is acceptable here"}}] with a known rule ID '
                f"and a reason of at least {MIN_REASON_LENGTH} characters.",
                pointer=(*base, "Metadata", ACKNOWLEDGE_METADATA_KEY, *inside),
            )
        )

    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            invalid(f"{render_value(entry)} is not an object with 'id' and 'reason'", index)
            continue
        rule_id = entry.get("id")
        reason = entry.get("reason")
        if not isinstance(rule_id, str) or rule_id.strip().upper() not in known_ids:
            invalid(f"'id' {render_value(rule_id)} is not a rule of this pack", index)
            continue
        if not isinstance(reason, str) or len(reason.strip()) < MIN_REASON_LENGTH:
            invalid(
                f"the reason for {rule_id} must be at least {MIN_REASON_LENGTH} characters, got {render_value(reason)}",
                index,
            )
            continue
        acknowledged[rule_id.strip().upper()] = reason.strip()
    return acknowledged, problems


def lint_template(template: Template, rules: Sequence[Rule], *, known_ids: Set[str] | None = None) -> list[Finding]:
    """Every finding of ``rules`` on ``template`` (acknowledged ones included, marked as such).

    ``known_ids`` are the rule IDs an acknowledgement may name (default: those of ``rules``). A caller that
    runs a subset of a pack passes the whole pack's IDs, so that acknowledging a rule outside the subset is
    not reported as naming an unknown rule (``MNP000``).
    """
    known_ids = {rule.id for rule in rules} if known_ids is None else set(known_ids)
    findings: list[Finding] = []
    stack_acks, problems = _read_acknowledgements(
        template.metadata, known_ids=known_ids, template=template, resource=None
    )
    findings.extend(problems)
    rules_by_type: dict[str, list[Rule]] = {}
    for rule in rules:
        rules_by_type.setdefault(rule.resource_type, []).append(rule)
    for resource in template:
        resource_acks, problems = _read_acknowledgements(
            resource.metadata, known_ids=known_ids, template=template, resource=resource
        )
        findings.extend(problems)
        for rule in rules_by_type.get(resource.type, ()):
            for finding in _evaluate(rule, resource, template):
                reason = resource_acks.get(rule.id) or stack_acks.get(rule.id)
                findings.append(replace(finding, acknowledged=reason) if reason else finding)
    return locate_findings(findings, template)


def locate_findings(findings: list[Finding], template: Template) -> list[Finding]:
    """Fill in the line and column of each finding's pointer, where the template was read from a file.

    Only findings are located (lazily, in :mod:`mnp_toolkit.lint.source`), so a clean template costs
    nothing and a large one costs a walk along the findings' paths, not a second parse.
    """
    source = template.source
    if source is None:
        return findings
    located: list[Finding] = []
    for finding in findings:
        found = source.locate(finding.pointer) if finding.pointer else None
        located.append(finding if found is None else replace(finding, line=found[1], column=found[2]))
    return located


def _evaluate(rule: Rule, resource: Resource, template: Template) -> Iterable[Finding]:
    result = rule.evaluate(resource, template)
    if isinstance(result, NonCompliant):
        for problem in result.problems:
            yield Finding(
                rule=rule.id,
                level=rule.level,
                template=template.path,
                resource=resource.logical_id,
                path=resource.cdk_path,
                message=problem.message,
                fix=problem.fix or rule.fix,
                pointer=resource_pointer(resource.pointer, property_path(rule.id, resource.properties, problem.path)),
            )
    elif isinstance(result, Unverifiable):
        note = unknowable_values_note(resource)
        yield Finding(
            rule=rule.id,
            level=Level.INFO,
            template=template.path,
            resource=resource.logical_id,
            path=resource.cdk_path,
            message=f"Could not verify: {result.reason}" + (f" ({note})" if note else ""),
            fix=rule.fix,
            pointer=resource_pointer(resource.pointer, property_path(rule.id, resource.properties)),
        )


@per_resource
def unknowable_values_note(resource: Resource) -> str:
    """What of a resource only a deployment fixes ("MaxvCpus comes from parameter X, default 1"), for the
    words of an info: a parameter's Default is shown, never used as the value."""
    origins = resource.template.parameter_origins(resource.properties)
    if not origins:
        return ""
    return "only known at deploy time: " + "; ".join(origin.describe() for origin in origins)
