"""The layering the folders promise, checked on the source (every import, lazy ones included).

* ``mnp_toolkit.core``, ``runtime/mnp_runtime`` and the shared ``mnp_toolkit.errors``/``files`` use the
  standard library only;
* the lint side imports neither the CDK nor boto3, and no layer above it;
* ``constructs_lib`` uses only the core of the toolkit; the local runner builds on the core;
* nothing imports ``mnp_toolkit.cli``; there is no import cycle between modules.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ROOTS = {
    "mnp_toolkit": REPO / "mnp_toolkit",
    "constructs_lib": REPO / "constructs_lib",
    "stacks": REPO / "stacks",
    "mnp_local": REPO / "mnp_local",
    "mnp_runtime": REPO / "runtime" / "mnp_runtime",
}
CDK_OR_AWS = ("aws_cdk", "constructs", "jsii", "cdk_nag", "boto3", "botocore", "moto")


def _module_name(path: Path) -> str:
    for root_name, root in ROOTS.items():
        if path.is_relative_to(root):
            parts = path.relative_to(root).with_suffix("").parts
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            return ".".join((root_name, *parts))
    raise AssertionError(path)


def _sources() -> Iterator[tuple[str, Path]]:
    for root in ROOTS.values():
        for path in sorted(root.rglob("*.py")):
            if "lambda_src" in path.parts:
                continue  # Lambda code is deployed on its own, not imported by the toolkit
            yield _module_name(path), path


def _imports(path: Path, module: str) -> set[str]:
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


GRAPH = {name: _imports(path, name) for name, path in _sources()}
MODULES = set(GRAPH)


def _starts(name: str, *prefixes: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def _internal(imports: set[str]) -> set[str]:
    return {name for name in imports if name in MODULES}


def _third_party(imports: set[str]) -> set[str]:
    stdlib = sys.stdlib_module_names
    return {
        name.split(".")[0]
        for name in imports
        if name.split(".")[0] not in stdlib and name.split(".")[0] not in {*ROOTS, "__future__"}
    }


@pytest.mark.parametrize("package", ["mnp_toolkit.core", "mnp_runtime", "mnp_toolkit.files", "mnp_toolkit.errors"])
def test_standard_library_only(package: str) -> None:
    offenders = {
        module: sorted(_third_party(imports) | {i for i in _internal(imports) if not _starts(i, package)})
        for module, imports in GRAPH.items()
        if _starts(module, package)
    }
    assert {module: bad for module, bad in offenders.items() if bad} == {}


def test_lint_imports_neither_the_cdk_nor_boto3_nor_a_layer_above() -> None:
    allowed = ("mnp_toolkit.lint", "mnp_toolkit.core", "mnp_toolkit.errors", "mnp_toolkit.files")
    offenders = {}
    for module, imports in GRAPH.items():
        if not _starts(module, "mnp_toolkit.lint"):
            continue
        bad = sorted(
            {i for i in imports if _starts(i, *CDK_OR_AWS)}
            | {i for i in _internal(imports) if not _starts(i, *allowed)}
        )
        if bad:
            offenders[module] = bad
    assert offenders == {}


def test_constructs_use_only_the_core_of_the_toolkit() -> None:
    offenders = {
        module: sorted(
            i for i in _internal(imports) if _starts(i, "mnp_toolkit") and not _starts(i, "mnp_toolkit.core")
        )
        for module, imports in GRAPH.items()
        if _starts(module, "constructs_lib")
    }
    assert {module: bad for module, bad in offenders.items() if bad} == {}


def test_config_and_ops_do_not_import_the_command_line() -> None:
    importers = sorted(
        module
        for module, imports in GRAPH.items()
        if any(_starts(i, "mnp_toolkit.cli") for i in _internal(imports))
        and not _starts(module, "mnp_toolkit.cli", "mnp_toolkit.__main__")
    )
    assert importers == []


def test_no_import_cycles() -> None:
    edges = {module: {i for i in _internal(imports) if i != module} for module, imports in GRAPH.items()}
    # A package's __init__ re-exporting its own modules is not a cycle of the layers.
    edges = {m: {i for i in targets if not (m != i and i.startswith(m + "."))} for m, targets in edges.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target, stack)
        stack.pop()
        state[node] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [])
    assert cycles == []
