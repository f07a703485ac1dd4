"""The lint side takes AWS facts from :mod:`mnp_toolkit.core.limits`: no rule or model module writes a
second copy of one of its URLs or names, and none renames one of its constants (a copy drifts; an alias
hides where the fact comes from)."""

from __future__ import annotations

import ast
from pathlib import Path

from mnp_toolkit.core import limits

LINT = Path(__file__).resolve().parents[3] / "mnp_toolkit" / "lint"
_CORE_TEXT = {value: name for name, value in vars(limits).items() if name.isupper() and isinstance(value, str)}
_CORE_NAMES = {name for name in vars(limits) if name.isupper()}


def _module_constants(path: Path) -> list[tuple[str, ast.expr]]:
    found: list[tuple[str, ast.expr]] = []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            found.append((node.targets[0].id, node.value))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            found.append((node.target.id, node.value))
    return found


def test_no_lint_module_copies_or_renames_a_core_limit() -> None:
    copies: list[str] = []
    for path in sorted(LINT.rglob("*.py")):
        for name, value in _module_constants(path):
            where = f"{path.relative_to(LINT)}: {name}"
            if isinstance(value, ast.Constant) and isinstance(value.value, str) and value.value in _CORE_TEXT:
                copies.append(f"{where} copies core.limits.{_CORE_TEXT[value.value]}")
            elif isinstance(value, ast.Name) and value.id in _CORE_NAMES:
                copies.append(f"{where} renames core.limits.{value.id}")
    assert copies == []
