"""Every intrinsic resolution is bounded: a reference cycle or a runaway chain is "not fixed", not a crash."""

from __future__ import annotations

from typing import Any

from mnp_toolkit.lint.engine import lint_template
from mnp_toolkit.lint.packs import mnp_pack
from mnp_toolkit.lint.template import MAX_RESOLUTION_DEPTH, UNKNOWN, Template
from tests.helpers.templates import mnp_environment, props


def test_find_in_map_cycle_resolves_to_unknown() -> None:
    """A hand-built template whose mapping value points at itself (the loader refuses such a file; the model
    must not trust that every Template came through it)."""
    cycle = {"Fn::FindInMap": ["M", "a", "b"]}
    template = Template({"Mappings": {"M": {"a": {"b": cycle}}}, "Resources": {}})
    assert template.resolve(cycle) is UNKNOWN
    assert template.resolve({"Fn::Join": ["", [cycle, "x"]]}) is UNKNOWN
    assert template.resolve({"Fn::Sub": ["${X}", {"X": cycle}]}) is UNKNOWN


def test_a_cycle_in_a_rule_input_gives_findings_not_a_traceback() -> None:
    body = mnp_environment()
    body["Mappings"] = {"M": {"a": {"b": {"Fn::FindInMap": ["M", "a", "b"]}}}}
    props(body, "ComputeEnvironment")["ComputeResources"]["MaxvCpus"] = {"Fn::FindInMap": ["M", "a", "b"]}
    findings = lint_template(Template(body), mnp_pack().rules)
    assert [f.level.value for f in findings if f.rule == "MNP004"] == ["info"]  # could not verify: not fixed


def test_deep_chains_stop_at_the_limit_and_shallow_ones_resolve() -> None:
    def chain(depth: int) -> Any:
        value: Any = "leaf"
        for _ in range(depth):
            value = {"Fn::Select": [0, [value]]}
        return value

    template = Template({"Resources": {}})
    assert template.resolve(chain(MAX_RESOLUTION_DEPTH // 2)) == "leaf"
    assert template.resolve(chain(MAX_RESOLUTION_DEPTH * 3)) is UNKNOWN  # no RecursionError either
    assert template.resolve(chain(10)) == "leaf"  # the counter is back at zero after an overflow


def test_find_in_map_values_are_literal_so_a_branching_list_is_not_expanded() -> None:
    """A value listing itself three times would branch 3^depth ways if each FindInMap were resolved again."""
    branching = {"Fn::FindInMap": ["M", "a", "b"]}
    template = Template({"Mappings": {"M": {"a": {"b": [branching] * 3, "c": ["x", "y"]}}}, "Resources": {}})
    assert template.resolve(branching) is UNKNOWN
    assert template.resolve({"Fn::Select": [0, branching]}) is UNKNOWN
    assert template.resolve({"Fn::FindInMap": ["M", "a", "c"]}) == ["x", "y"]  # literal values still resolve
