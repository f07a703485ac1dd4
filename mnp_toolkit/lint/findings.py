"""What a lint reports: findings (rule, level, where, message, fix, acknowledgement) and their counts.

*Where* is the template file, the resource's logical ID, its construct path (CDK templates) and
:attr:`Finding.pointer`, the path from the template root to the property the finding is about
(``("Resources", "Jd", "Properties", "NodeProperties", "MainNode")``), with the line and column of that
property in the file (of its nearest existing parent when the problem is the property's absence).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mnp_toolkit.lint.rule import Level


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
    pointer: tuple[str | int, ...] = ()  # from the template root; () when the finding is not in the template
    line: int | None = None  # 1-based, where the file was read and the pointer found (or its nearest parent)
    column: int | None = None

    @property
    def property_path(self) -> str:
        """The pointer as text: ``Resources/Jd/Properties/NodeProperties/MainNode`` ("" when none)."""
        return "/".join(str(step) for step in self.pointer)

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
            "location": {"path": self.property_path or None, "line": self.line, "column": self.column},
        }


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
