"""Rule packs: named sets of rules, keyed by rule ID (modelled on cdk-nag's ``src/packs``).

The ``MnpChecks`` pack holds every rule module in :mod:`mnp_toolkit.rules` (``mnpNNN_*.py``); the catalog
in ``docs/rules.md`` is generated from it (``mnp rules --format markdown``).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache

from mnp_toolkit import rules as rules_package
from mnp_toolkit.rules._base import Rule


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
    found: list[Rule] = []
    for module_info in sorted(pkgutil.iter_modules(rules_package.__path__), key=lambda m: m.name):
        if not module_info.name.startswith("mnp"):
            continue
        module = importlib.import_module(f"{rules_package.__name__}.{module_info.name}")
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
