"""Fuzz the linter over mutated templates (fixed seed, bounded number of cases, part of the suite).

Each case mutates a compliant MNP environment (values swapped for other types, intrinsics, huge or odd
numbers, deleted or duplicated parts, control characters) and lints it from a file as `mnp lint` does.
Every case must end as a load error (one line naming the file) or as findings, never an exception; and no
message may show the linter's internal values (``ResourceRef(``, ``AzList(``, ``UNKNOWN``) or a Python repr.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import yaml

from mnp_toolkit.lint.engine import lint_template
from mnp_toolkit.lint.loader import TemplateLoadError, load_template_file
from mnp_toolkit.lint.packs import mnp_pack
from tests.helpers.templates import mnp_environment

SEED = 20261201
CASES = 300
LEAKS = (
    "ResourceRef(",
    "AzList(",
    "AvailabilityZone(",
    "UNKNOWN",
    "NO_VALUE",
    "{'",
    "['",
    "<mnp_toolkit",
    "object at 0x",
)

REPLACEMENTS: list[Any] = [
    None,
    True,
    0,
    -1,
    1.5,
    10**40,
    "",
    "x" * 300,
    "\x1b[31mred\n",
    [],
    {},
    [None, {"a": [1]}],
    {"Ref": "AWS::NoValue"},
    {"Ref": "Vpc"},
    {"Ref": "Missing"},
    {"Ref": ["not", "a", "name"]},
    {"Fn::GetAtt": ["JobQueue", "Arn"]},
    {"Fn::GetAtt": "NoDot"},
    {"Fn::GetAZs": {"Ref": "AWS::Region"}},
    {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
    {"Fn::Select": ["x", []]},
    {"Fn::Join": [",", [{"Ref": "Vpc"}, 1]]},
    {"Fn::Sub": "${Vpc}-${AWS::Region}-${Missing.Attr}"},
    {"Fn::Sub": ["${A}", {"A": {"Fn::Sub": "${A}"}}]},
    {"Fn::FindInMap": ["M", "a", "b"]},
    {"Fn::If": ["C", 1, 2]},
    {"Fn::ImportValue": {"Fn::Sub": "${AWS::StackName}-x"}},
    {"Fn::Split": [",", "a,b"]},
    "{{resolve:ssm:/x}}",
    {"Fn::Unknown": 1},
    {1: 2},
]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _mutate(template: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    body = copy.deepcopy(template)
    for _ in range(rng.randint(1, 4)):
        paths = [p for p in _paths(body) if len(p) >= 3]
        path = rng.choice(paths)
        parent: Any = body
        for step in path[:-1]:
            parent = parent[step]
        key = path[-1]
        action = rng.random()
        if action < 0.6:
            parent[key] = copy.deepcopy(rng.choice(REPLACEMENTS))
        elif action < 0.75 and isinstance(parent, dict):
            del parent[key]
        elif action < 0.9 and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
        else:
            parent[key] = [copy.deepcopy(parent[key])] * rng.randint(2, 7)
    if rng.random() < 0.2:
        body["Parameters"] = {"P": {"Type": "Number", "Default": rng.choice([1, "x", None, [1]])}}
        body["Mappings"] = {"M": {"a": {"b": rng.choice([1, "x", [1, 2]])}}}
    return body


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def test_fuzzed_templates_never_crash_and_never_leak(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    rules = mnp_pack().rules
    base = mnp_environment()
    outcomes = {"findings": 0, "load error": 0}
    leaks: dict[str, str] = {}
    for case in range(CASES):
        body = _mutate(base, rng)
        as_yaml = case % 3 == 0
        path = tmp_path / f"case{case}.template.{'yaml' if as_yaml else 'json'}"
        try:
            text = yaml.dump(body, Dumper=_NoAliases) if as_yaml else json.dumps(body)
        except (TypeError, ValueError):
            continue  # not representable in that format (a non-string JSON key): nothing to lint
        path.write_text(text)
        try:
            template = load_template_file(path)
        except TemplateLoadError as error:
            assert str(path) in str(error) and "\n" not in str(error), (case, str(error))
            outcomes["load error"] += 1
            continue
        findings = lint_template(template, rules)  # must not raise
        outcomes["findings"] += 1
        for finding in findings:
            for text in (finding.message, finding.fix):
                if any(leak in text for leak in LEAKS):
                    leaks.setdefault(finding.rule, f"case {case}: {text}")
            assert finding.pointer[:2] in (("Resources", finding.resource), ("Metadata", "mnp:acknowledge")), finding
    assert leaks == {}
    assert outcomes["findings"] > CASES // 2  # the mutations exercise the rules, not only the loader
