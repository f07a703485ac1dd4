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

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar, cast

from mnp_toolkit.rules._base import Level, NonCompliant, Rule, Unverifiable
from mnp_toolkit.template import Resource, Template

ACKNOWLEDGE_METADATA_KEY = "mnp:acknowledge"
MIN_REASON_LENGTH = 10
#: Not a catalog rule: the engine's own finding for a malformed acknowledgement.
INVALID_ACKNOWLEDGEMENT_ID = "MNP000"


_T = TypeVar("_T")
_CACHE_ATTRIBUTE = "_mnp_query_cache"


def _query_cache(template: Template) -> dict[Any, Any]:
    # Kept on the template itself: answers hold Resources, which point back to their template, so a cache
    # outside it (even a WeakKeyDictionary) would keep every linted template alive.
    cache: dict[Any, Any] | None = vars(template).get(_CACHE_ATTRIBUTE)
    if cache is None:
        cache = {}
        setattr(template, _CACHE_ATTRIBUTE, cache)
    return cache


def per_template(function: Callable[[Template], _T]) -> Callable[[Template], _T]:
    """Memoize a whole-template query (which queues are MNP, which CEs use a launch template...).

    The engine runs every rule once per resource, and many rules ask the same whole-template question;
    answered afresh each time, a lint is quadratic in the template's size (bench/bench_lint.py). A
    :class:`Template` is read-only once built, so an answer stays valid for the template's lifetime (the
    cache lives on the template and goes with it). Callers must not mutate what the function returns.
    """

    @functools.wraps(function)
    def cached(template: Template) -> _T:
        cache = _query_cache(template)
        try:
            return cast(_T, cache[cached])
        except KeyError:
            value = cache[cached] = function(template)
            return value

    return cached


def per_resource(function: Callable[[Resource], _T]) -> Callable[[Resource], _T]:
    """Memoize a query about one resource (its launch template, security groups, subnets, vCPU need...).

    Rules ask these for many resources of the template in turn (every CE for every launch template), so an
    uncached helper makes a lint quadratic. Keyed by logical ID within the resource's template; same
    contract as :func:`per_template` (read-only templates, callers do not mutate results).
    """

    @functools.wraps(function)
    def cached(resource: Resource) -> _T:
        answers = _query_cache(resource.template).setdefault(cached, {})
        try:
            return cast(_T, answers[resource.logical_id])
        except KeyError:
            value = answers[resource.logical_id] = function(resource)
            return value

    return cached


@dataclass(frozen=True)
class Finding:
    rule: str
    level: Level
    template: str
    resource: str  # logical ID ("" for template-level findings)
    path: str | None  # construct path (aws:cdk:path) where known
    message: str
    fix: str
    acknowledged: str | None = None  # the reason, when acknowledged

    @property
    def counts_as_error(self) -> bool:
        return self.level is Level.ERROR and self.acknowledged is None

    @property
    def counts_as_warning(self) -> bool:
        return self.level is Level.WARNING and self.acknowledged is None

    def as_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "level": self.level.value,
            "template": self.template,
            "resource": self.resource,
            "path": self.path,
            "message": self.message,
            "fix": self.fix,
            "acknowledged": self.acknowledged,
        }


@dataclass(frozen=True)
class Acknowledgement:
    rule: str
    reason: str


def _read_acknowledgements(
    metadata: Mapping[str, Any], *, known_ids: set[str], template: Template, resource: Resource | None
) -> tuple[dict[str, str], list[Finding]]:
    raw = metadata.get(ACKNOWLEDGE_METADATA_KEY)
    if raw is None:
        return {}, []
    acknowledged: dict[str, str] = {}
    problems: list[Finding] = []
    where = f"resource {resource.logical_id}" if resource else "the template's Metadata"

    def invalid(message: str) -> None:
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
            )
        )

    entries = raw if isinstance(raw, list) else [raw]
    for entry in entries:
        if not isinstance(entry, Mapping):
            invalid(f"{entry!r} is not an object with 'id' and 'reason'")
            continue
        rule_id = entry.get("id")
        reason = entry.get("reason")
        if not isinstance(rule_id, str) or rule_id.strip().upper() not in known_ids:
            invalid(f"'id' {rule_id!r} is not a rule of this pack")
            continue
        if not isinstance(reason, str) or len(reason.strip()) < MIN_REASON_LENGTH:
            invalid(f"the reason for {rule_id} must be at least {MIN_REASON_LENGTH} characters, got {reason!r}")
            continue
        acknowledged[rule_id.strip().upper()] = reason.strip()
    return acknowledged, problems


def lint_template(template: Template, rules: Sequence[Rule]) -> list[Finding]:
    """Every finding of ``rules`` on ``template`` (acknowledged ones included, marked as such)."""
    known_ids = {rule.id for rule in rules}
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
    return findings


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
        )


@per_resource
def unknowable_values_note(resource: Resource) -> str:
    """What of a resource only a deployment fixes ("MaxvCpus comes from parameter X, default 1"), for the
    words of an info: a parameter's Default is shown, never used as the value."""
    origins = resource.template.parameter_origins(resource.properties)
    if not origins:
        return ""
    return "only known at deploy time: " + "; ".join(origin.describe() for origin in origins)


@dataclass(frozen=True)
class Summary:
    errors: int
    warnings: int
    acknowledged: int
    infos: int

    @classmethod
    def of(cls, findings: Iterable[Finding]) -> Summary:
        findings = list(findings)
        return cls(
            errors=sum(f.counts_as_error for f in findings),
            warnings=sum(f.counts_as_warning for f in findings),
            acknowledged=sum(f.acknowledged is not None for f in findings),
            infos=sum(f.level is Level.INFO and f.acknowledged is None for f in findings),
        )
