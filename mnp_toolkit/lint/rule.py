"""What a rule is: an ID, a level, words for humans, and a check over one resource of a template.

Modelled on cdk-nag's ``src/rules``: one rule per module, each module exposing ``RULE``. A check
returns :class:`Compliant`, :class:`NotApplicable`, :class:`NonCompliant` (one problem or more, each
becoming a finding) or :class:`Unverifiable` (an ``info`` finding: the rule could not decide and, by
design, does not guess).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from mnp_toolkit.lint.template import Resource, Template


class Level(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Compliant:
    pass


@dataclass(frozen=True)
class NotApplicable:
    reason: str = ""


@dataclass(frozen=True)
class Problem:
    """One violation found by a check: what is wrong, and (optionally) a fix more specific than the rule's
    and where inside the resource's ``Properties`` it is (``("NodeProperties", "NodeRangeProperties", 1)``;
    without it the finding points at the property the rule checks, :mod:`mnp_toolkit.lint.locations`)."""

    message: str
    fix: str | None = None
    path: tuple[str | int, ...] | None = None


@dataclass(frozen=True)
class NonCompliant:
    problems: tuple[Problem, ...]

    def __init__(self, *problems: Problem | str) -> None:
        if not problems:
            raise ValueError("NonCompliant needs at least one problem")
        object.__setattr__(self, "problems", tuple(p if isinstance(p, Problem) else Problem(p) for p in problems))


@dataclass(frozen=True)
class Unverifiable:
    """The rule applies but the template does not fix what it needs (an intrinsic it cannot resolve)."""

    reason: str


RuleResult = Compliant | NotApplicable | NonCompliant | Unverifiable
CheckFunction = Callable[[Resource, Template], RuleResult]


@dataclass(frozen=True)
class Rule:
    """One catalog rule (see spec/mnp-rules.md; the IDs are a public contract)."""

    id: str
    level: Level
    resource_type: str
    info: str
    explanation: str
    fix: str
    source: str
    check: CheckFunction

    def evaluate(self, resource: Resource, template: Template) -> RuleResult:
        if resource.type != self.resource_type:
            return NotApplicable(f"{self.id} applies to {self.resource_type}")
        return self.check(resource, template)
