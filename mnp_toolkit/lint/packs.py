"""Rule packs: named sets of rules, keyed by rule ID (modelled on cdk-nag's ``src/packs``).

The ``MnpChecks`` pack holds every rule module under :mod:`mnp_toolkit.lint.rules`
(``<resource>/mnpNNN_*.py``); the catalog in ``docs/rules.md`` is generated from it
(``mnp rules --format markdown``).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache

from mnp_toolkit.lint import rules as rules_package
from mnp_toolkit.lint.rule import Rule


@dataclass(frozen=True)
class RulePack(Mapping[str, Rule]):
    name: str
    rules_by_id: Mapping[str, Rule]

    def __getitem__(self, rule_id: str) -> Rule:
        return self.rules_by_id[rule_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self.rules_by_id)

    def __len__(self) -> int:
        return len(self.rules_by_id)

    @property
    def rules(self) -> list[Rule]:
        return list(self.rules_by_id.values())


def _discover_rules() -> list[Rule]:
    """Every ``mnpNNN_*`` module under :mod:`mnp_toolkit.lint.rules` (one sub-package per resource type)."""
    found: list[Rule] = []
    prefix = f"{rules_package.__name__}."
    modules = pkgutil.walk_packages(rules_package.__path__, prefix)
    for module_info in sorted(modules, key=lambda m: m.name.rsplit(".", 1)[-1]):
        if module_info.ispkg or not module_info.name.rsplit(".", 1)[-1].startswith("mnp"):
            continue
        module = importlib.import_module(module_info.name)
        rule = getattr(module, "RULE", None)
        if not isinstance(rule, Rule):
            raise TypeError(f"{module.__name__} must define RULE = Rule(...)")
        found.append(rule)
    return found


@cache
def mnp_pack() -> RulePack:
    """The toolkit's pack: every catalog rule, sorted by ID."""
    rules = sorted(_discover_rules(), key=lambda rule: rule.id)
    by_id: dict[str, Rule] = {}
    for rule in rules:
        if rule.id in by_id:
            raise ValueError(f"duplicate rule ID {rule.id}")
        by_id[rule.id] = rule
    return RulePack(name="MnpChecks", rules_by_id=by_id)
