"""mnp_toolkit.lint.model.job_definitions: TargetNodes parsing, node-range coverage, innermost ranges, container asks,
and the JobDefinitionModel's handling of absent versus unresolvable values."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mnp_toolkit.core.target_nodes import (
    TargetNodes,
    TargetNodesError,
    innermost,
    node_spans,
    parse_target_nodes,
    uncovered,
)
from mnp_toolkit.lint.engine import lint_template
from mnp_toolkit.lint.model.job_definitions import (
    KIND_ECS,
    KIND_EKS,
    KIND_UNKNOWN,
    JobDefinitionModel,
    container_needs,
    efa_requests,
    eks_container_needs,
    is_mnp_job_definition,
    is_number,
    mnp_scope,
    number,
)
from mnp_toolkit.lint.packs import mnp_pack
from mnp_toolkit.lint.rule import NotApplicable, Unverifiable
from mnp_toolkit.lint.template import UNKNOWN, Template
from tests.helpers.templates import mnp_environment, props

# ---------------------------------------------------------------------------------- parse_target_nodes


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("0:3", 0, 3),
        (":3", 0, 3),
        ("2:", 2, None),
        ("5", 5, 5),
        ("0", 0, 0),
        ("3:3", 3, 3),
        (":", 0, None),
        ("007:010", 7, 10),
    ],
)
def test_valid_forms_parse(text: str, start: int, end: int | None) -> None:
    parsed = parse_target_nodes(text)
    assert (parsed.start, parsed.end, parsed.text) == (start, end, text)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("3:1", "starts after it ends"),
        ("", "names no node index"),
        ("-1:3", "not of the form"),
        ("0:3:5", "not of the form"),
        ("a:b", "not of the form"),
        (" 0:3", "not of the form"),
        ("0:3\n", "not of the form"),
        ("1.5", "not of the form"),
        ("\u0661:\u0663", "not of the form"),  # Arabic-Indic digits: Python's \d would take them
    ],
)
def test_invalid_forms_are_rejected_with_a_reason(text: str, why: str) -> None:
    with pytest.raises(TargetNodesError, match=why):
        parse_target_nodes(text)


@pytest.mark.parametrize("text", ["9" * 5000, "0:" + "9" * 5000, "9" * 11])
def test_indexes_longer_than_an_integer_are_rejected_without_parsing(text: str) -> None:
    with pytest.raises(TargetNodesError, match="more than 10 digits"):
        parse_target_nodes(text)


def test_ten_digit_index_parses() -> None:
    assert parse_target_nodes("0:2147483647").end == 2147483647


def test_non_string_is_rejected() -> None:
    with pytest.raises(TargetNodesError):
        parse_target_nodes(3)  # type: ignore[arg-type]


_index = st.integers(min_value=0, max_value=10**6)


@st.composite
def _valid_target(draw: st.DrawFn) -> tuple[str, int, int | None]:
    start = draw(_index)
    end = draw(st.integers(min_value=start, max_value=start + 10**6))
    form = draw(st.sampled_from(["n:m", ":m", "n:", "n"]))
    if form == "n:m":
        return f"{start}:{end}", start, end
    if form == ":m":
        return f":{end}", 0, end
    if form == "n:":
        return f"{start}:", start, None
    return str(start), start, start


@settings(deadline=None)  # a loaded 2-core CI box must not turn slowness into failures
@given(_valid_target())
def test_property_generated_valid_forms_parse_back(case: tuple[str, int, int | None]) -> None:
    text, start, end = case
    parsed = parse_target_nodes(text)
    assert (parsed.start, parsed.end) == (start, end)


def _is_valid(text: str) -> bool:
    """An independent oracle for the catalog's forms (plus the bare ':' the API names)."""
    if text == ":":
        return True
    if text.count(":") > 1 or not text or not all(c in "0123456789:" for c in text):
        return False
    if ":" not in text:
        return True
    left, right = text.split(":")
    if not left and not right:
        return False
    return not (left and right and int(left) > int(right))


@settings(deadline=None)
@given(st.text(alphabet="0123456789:- ab\t", max_size=8))
def test_property_parser_agrees_with_an_independent_oracle(text: str) -> None:
    try:
        parse_target_nodes(text)
    except TargetNodesError:
        assert not _is_valid(text), text
    else:
        assert _is_valid(text), text


@settings(deadline=None)
@given(st.integers(min_value=1, max_value=10**6), st.integers(min_value=0, max_value=10**6 - 1))
def test_property_reversed_ranges_are_rejected(gap: int, end: int) -> None:
    with pytest.raises(TargetNodesError, match="starts after it ends"):
        parse_target_nodes(f"{end + gap}:{end}")


@settings(deadline=None)
@given(st.text(min_size=1, max_size=6).filter(lambda s: any(c not in "0123456789:" for c in s)))
def test_property_strings_with_foreign_characters_are_rejected(text: str) -> None:
    with pytest.raises(TargetNodesError):
        parse_target_nodes(text)


# ------------------------------------------------------------------------------------------ coverage


def _target(start: int, end: int | None) -> TargetNodes:
    return TargetNodes(f"{start}:{'' if end is None else end}", start, end)


_small_target = st.builds(
    lambda start, length, is_open: _target(start, None if is_open else start + length),
    st.integers(min_value=0, max_value=25),
    st.integers(min_value=0, max_value=10),
    st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_small_target, max_size=6), st.integers(min_value=0, max_value=30))
def test_property_coverage_agrees_with_brute_force_union(targets: list[TargetNodes], num_nodes: int) -> None:
    brute = {
        index
        for target in targets
        for index in range(target.start, (num_nodes - 1 if target.end is None else target.end) + 1)
        if index < num_nodes
    }
    missing = {index for first, last in uncovered(targets, num_nodes) for index in range(first, last + 1)}
    assert missing == set(range(num_nodes)) - brute
    spans = node_spans(targets, num_nodes)
    # the spans tile 0..num_nodes-1 exactly, and each lists exactly the targets covering its nodes
    assert [i for span in spans for i in range(span.first, span.last + 1)] == list(range(num_nodes))
    for span in spans:
        for index in (span.first, span.last):
            assert span.covering == tuple(p for p, t in enumerate(targets) if t.covers(index))


@st.composite
def _laminar_family(draw: st.DrawFn) -> tuple[list[TargetNodes], int]:
    """Ranges that nest or are disjoint (the only kind whose winner the API documents), shuffled."""
    num_nodes = draw(st.integers(min_value=1, max_value=40))

    def build(first: int, last: int, depth: int) -> list[tuple[int, int]]:
        found = [(first, last)]
        if depth < 3 and draw(st.booleans()):
            inner_first = draw(st.integers(min_value=first, max_value=last))
            inner_last = draw(st.integers(min_value=inner_first, max_value=last))
            found += build(inner_first, inner_last, depth + 1)
            if inner_last < last and draw(st.booleans()):
                found += build(inner_last + 1, last, depth + 1)
        return found

    intervals = build(0, num_nodes - 1, 0)
    targets = [_target(a, None if b == num_nodes - 1 and draw(st.booleans()) else b) for a, b in intervals]
    return draw(st.permutations(targets)), num_nodes


@settings(max_examples=300, deadline=None)
@given(_laminar_family())
def test_property_nested_ranges_resolve_to_the_innermost(case: tuple[list[TargetNodes], int]) -> None:
    targets, num_nodes = case
    for index in range(num_nodes):
        covering = [p for p, t in enumerate(targets) if t.covers(index)]
        chosen = innermost(targets, covering, num_nodes)
        assert chosen is not None
        # the winner lies inside every other range covering the node
        assert all(targets[p].contains(targets[chosen], num_nodes) for p in covering)


def test_innermost_prefers_the_narrow_range_and_the_later_one_on_a_tie() -> None:
    wide, narrow, same = _target(0, None), _target(4, 5), _target(4, 5)
    assert innermost([wide, narrow], [0, 1], 10) == 1
    assert innermost([narrow, wide], [0, 1], 10) == 0
    assert innermost([wide, narrow, same], [0, 1, 2], 10) == 2


def test_node_spans_of_a_huge_num_nodes_are_computed_from_boundaries() -> None:
    spans = node_spans([_target(0, 3), _target(10, None)], 10**9)
    assert [(s.first, s.last, s.covering) for s in spans] == [(0, 3, (0,)), (4, 9, ()), (10, 10**9 - 1, (1,))]


# ---------------------------------------------------------------------------------------- container asks


def test_container_needs_from_resource_requirements_and_legacy_keys() -> None:
    needs = container_needs(
        {"ResourceRequirements": [{"Type": "VCPU", "Value": "4"}, {"Type": "gpu", "Value": "1"}], "Memory": 2048}
    )
    assert (needs.vcpus, needs.memory_mib, needs.gpus) == (4.0, 2048, 1)
    assert container_needs({}) == container_needs({"Image": "x"})
    assert container_needs({}).memory_mib is None


def test_container_needs_with_an_unresolvable_entry_are_unknown_not_absent() -> None:
    needs = container_needs({"ResourceRequirements": [{"Type": "VCPU", "Value": "2"}, UNKNOWN]})
    assert needs.vcpus == 2.0
    assert needs.memory_mib is UNKNOWN
    assert container_needs({"ResourceRequirements": UNKNOWN}).vcpus is UNKNOWN


def test_eks_container_needs_read_requests_then_limits() -> None:
    needs = eks_container_needs(
        {"Resources": {"Limits": {"cpu": "4", "memory": "8Gi", "nvidia.com/gpu": "2"}, "Requests": {"cpu": "2"}}}
    )
    assert (needs.vcpus, needs.memory_mib, needs.gpus) == (2.0, 8192, 2)
    assert eks_container_needs({"Resources": {"Limits": {"memory": "1000000"}}}).memory_mib is UNKNOWN


# ------------------------------------------------------------------------------------------ the model


def _jd(template: dict[str, Any]) -> JobDefinitionModel:
    return JobDefinitionModel(Template(template).resources["JobDefinition"])


def _node_props(template: dict[str, Any]) -> dict[str, Any]:
    node_props: dict[str, Any] = props(template, "JobDefinition")["NodeProperties"]
    return node_props


def test_model_of_the_compliant_environment() -> None:
    model = _jd(mnp_environment())
    assert (model.num_nodes, model.main_node, model.instance_type) == (4, 0, "c5n.18xlarge")
    assert model.ranges is not None and model.ranges[0].target == TargetNodes("0:", 0, None)
    assert model.ranges[0].needs.memory_mib == 180000
    assert [(a.first, a.last, a.node_range is model.ranges[0]) for a in model.assignments() or []] == [(0, 3, True)]


def test_absent_and_unresolvable_num_nodes_differ() -> None:
    template = mnp_environment()
    del _node_props(template)["NumNodes"]
    assert _jd(template).num_nodes is None
    _node_props(template)["NumNodes"] = {"Fn::ImportValue": "Nodes"}
    assert _jd(template).num_nodes is UNKNOWN
    template["Parameters"] = {"Nodes": {"Type": "Number", "Default": "8"}}
    _node_props(template)["NumNodes"] = {"Ref": "Nodes"}
    assert _jd(template).num_nodes is UNKNOWN  # a Default is not the deployed value


def test_unresolvable_range_entry_is_unknown_not_malformed() -> None:
    template = mnp_environment()
    ranges = _node_props(template)["NodeRangeProperties"]
    ranges.append({"Fn::If": ["Big", {"TargetNodes": "1"}, {"Ref": "AWS::NoValue"}]})
    model = _jd(template)
    assert model.ranges is not None
    assert model.ranges[1].target_state == "unknown" and model.ranges[1].kind == KIND_UNKNOWN
    assert model.has_unknown_ranges
    assert model.instance_type is UNKNOWN


def test_missing_target_nodes_is_malformed() -> None:
    template = mnp_environment()
    del _node_props(template)["NodeRangeProperties"][0]["TargetNodes"]
    model = _jd(template)
    assert model.ranges is not None and model.ranges[0].target_state == "malformed"


def test_ecs_properties_needs_add_up_over_the_task_containers() -> None:
    template = mnp_environment()
    entry = _node_props(template)["NodeRangeProperties"][0]
    del entry["Container"]
    entry["InstanceTypes"] = ["c5n.18xlarge"]
    entry["EcsProperties"] = {
        "TaskProperties": [
            {
                "Containers": [
                    {"Name": "main", "ResourceRequirements": [{"Type": "VCPU", "Value": "60"}]},
                    {"Name": "sidecar", "ResourceRequirements": [{"Type": "VCPU", "Value": "4"}]},
                ]
            }
        ]
    }
    model = _jd(template)
    assert model.ranges is not None
    node_range = model.ranges[0]
    assert node_range.kind == KIND_ECS
    assert node_range.needs.vcpus == 64.0 and node_range.needs.memory_mib is None
    assert container_needs(node_range.container).vcpus == 60.0  # the first container, as before
    assert model.instance_type == "c5n.18xlarge"


def test_eks_pod_needs_and_efa_request() -> None:
    template = mnp_environment()
    entry = _node_props(template)["NodeRangeProperties"][0]
    del entry["Container"]
    entry["EksProperties"] = {
        "PodProperties": {
            "Containers": [
                {"Name": "a", "Resources": {"Limits": {"cpu": "8", "memory": "1024Mi", EKS_EFA: "1"}}},
                {"Name": "b", "Resources": {"Requests": {"cpu": "2", "memory": "512Mi"}}},
            ],
            "InitContainers": [{"Name": "init", "Resources": {"Requests": {"cpu": "16", "memory": "64Mi"}}}],
        }
    }
    model = _jd(template)
    assert model.ranges is not None
    node_range = model.ranges[0]
    assert node_range.kind == KIND_EKS
    assert (node_range.needs.vcpus, node_range.needs.memory_mib) == (16.0, 1536)
    assert efa_requests(node_range) == ([f"EKS resource {EKS_EFA}: 1"], False)


EKS_EFA = "vpc.amazonaws.com/efa"


def test_efa_devices_are_found_in_container_linux_parameters() -> None:
    template = mnp_environment()
    container = _node_props(template)["NodeRangeProperties"][0]["Container"]
    container["LinuxParameters"] = {
        "Devices": [{"HostPath": "/dev/fuse"}, {"HostPath": "/dev/infiniband/uverbs0"}, {"HostPath": {"Ref": "X"}}]
    }
    model = _jd(template)
    assert model.ranges is not None
    found, unsure = efa_requests(model.ranges[0])
    assert found == ["device /dev/infiniband/uverbs0"] and unsure


def test_mnp_scope() -> None:
    template = mnp_environment()
    resource = Template(template).resources["JobDefinition"]
    assert mnp_scope(resource) is None and is_mnp_job_definition(resource)
    props(template, "JobDefinition")["Type"] = "MultiNode"
    assert mnp_scope(Template(template).resources["JobDefinition"]) is None
    props(template, "JobDefinition")["Type"] = "container"
    assert isinstance(mnp_scope(Template(template).resources["JobDefinition"]), NotApplicable)
    props(template, "JobDefinition")["Type"] = {"Fn::ImportValue": "Kind"}
    assert isinstance(mnp_scope(Template(template).resources["JobDefinition"]), Unverifiable)


# ------------------------------------------------- the job-definition rules on unresolvable or odd values

JOB_DEFINITION_RULES = [
    *("MNP006", "MNP007", "MNP008", "MNP009", "MNP010", "MNP011", "MNP015", "MNP016", "MNP017", "MNP020"),
    *("MNP103", "MNP104", "MNP107", "MNP108", "MNP204"),
]
UNRESOLVABLE = ({"Fn::ImportValue": "Shared"}, {"Ref": "UndefinedParameter"}, {"Fn::If": ["Cond", 1, 2]})


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _replace(template: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(template)
    target = props(changed, "JobDefinition")
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return changed


def _counted(template: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Errors and warnings of the job-definition rules (infos left out)."""
    rules = [mnp_pack()[rule_id] for rule_id in JOB_DEFINITION_RULES]
    findings = lint_template(Template(template), rules)
    return [(f.rule, f.level.value, f.message) for f in findings if f.level.value != "info"]


_BASE_PATHS = _paths(props(mnp_environment(), "JobDefinition"))


@pytest.mark.parametrize("path", _BASE_PATHS, ids=lambda path: ".".join(map(str, path)))
def test_an_unresolvable_value_anywhere_never_gives_an_error_or_warning(path: tuple[Any, ...]) -> None:
    assert _counted(mnp_environment()) == []
    for value in UNRESOLVABLE:
        assert _counted(_replace(mnp_environment(), path, value)) == [], value


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 2000) | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(_BASE_PATHS), _json | st.sampled_from(UNRESOLVABLE))
def test_property_odd_values_never_crash_a_rule(path: tuple[Any, ...], value: Any) -> None:
    # every rule returns a result (no traceback) whatever a property holds
    findings = _counted(_replace(mnp_environment(), path, value))
    assert all(rule in JOB_DEFINITION_RULES for rule, _, _ in findings)


def test_is_number_is_true_only_for_numbers_the_template_fixes() -> None:
    assert is_number(1) and is_number(0.5) and is_number(0)
    assert not any(is_number(value) for value in (True, UNKNOWN, None, "1", [1]))
    assert (number(72.0), number(0.5), number(4)) == ("72", "0.5", "4")
