"""MNP015: a node asks for more vCPUs, memory or GPUs than its instance type offers to containers."""

from __future__ import annotations

import copy
from typing import Any

from mnp_toolkit.core import instance_types
from mnp_toolkit.core.instance_types import InstanceTypeFacts
from tests.helpers.templates import errors_or_warnings, findings_for, mnp_environment, props


def _facts(name: str) -> InstanceTypeFacts:
    facts = instance_types.lookup(name)
    assert facts is not None, f"the facts table must know {name} for these tests"
    return facts


FACTS = _facts("c5n.18xlarge")


def _requirements(vcpus: Any = "72", memory: Any = "180000", gpus: Any = None) -> list[dict[str, Any]]:
    found = [{"Type": "VCPU", "Value": vcpus}, {"Type": "MEMORY", "Value": memory}]
    if gpus is not None:
        found.append({"Type": "GPU", "Value": gpus})
    return found


def _ranges(template: dict[str, Any]) -> list[dict[str, Any]]:
    ranges: list[dict[str, Any]] = props(template, "JobDefinition")["NodeProperties"]["NodeRangeProperties"]
    return ranges


def _asking(**asks: Any) -> dict[str, Any]:
    template = mnp_environment()
    _ranges(template)[0]["Container"]["ResourceRequirements"] = _requirements(**asks)
    return template


def test_exactly_the_schedulable_memory_passes() -> None:
    assert findings_for("MNP015", _asking(memory=str(FACTS.schedulable_memory_mib))) == []


def test_one_mib_more_than_schedulable_fails_with_limit_and_default() -> None:
    asked = FACTS.schedulable_memory_mib + 1
    found = errors_or_warnings("MNP015", _asking(memory=str(asked)))
    assert [(f.rule, f.level.value) for f in found] == [("MNP015", "error")]
    message, fix = found[0].message, found[0].fix
    assert f"asks for {asked} MiB" in message and f"at most {FACTS.schedulable_memory_mib} MiB" in message
    assert 'TargetNodes "0:"' in message and "nodes 0-3" in message and "MnpStack/JobDefinition/Resource" in message
    assert "RUNNABLE" in message
    assert f"container_memory_mib = {FACTS.container_memory_mib}" in fix


def test_installed_memory_is_more_than_containers_get() -> None:
    # the classic mistake: asking for the instance's installed memory
    assert len(errors_or_warnings("MNP015", _asking(memory=str(FACTS.memory_mib)))) == 1


def test_too_many_vcpus_and_gpus_fail() -> None:
    found = errors_or_warnings("MNP015", _asking(vcpus="73"))
    assert len(found) == 1 and "73 vCPUs" in found[0].message and "has 72" in found[0].message
    found = errors_or_warnings("MNP015", _asking(gpus="1"))
    assert len(found) == 1 and "1 GPUs" in found[0].message and "has 0" in found[0].message


def test_reports_every_violation() -> None:
    template = _asking(vcpus="96", memory=str(FACTS.memory_mib), gpus="8")
    assert len(errors_or_warnings("MNP015", template)) == 3


def test_every_range_in_effect_is_checked_and_named() -> None:
    template = _asking()
    inner = copy.deepcopy(_ranges(template)[0])
    inner["TargetNodes"] = "2"
    inner["Container"]["ResourceRequirements"] = _requirements(memory="999999")
    _ranges(template).append(inner)
    found = errors_or_warnings("MNP015", template)
    assert len(found) == 1 and 'node range #1 (TargetNodes "2") (node 2)' in found[0].message


def test_a_wide_range_overridden_on_every_node_is_not_checked() -> None:
    template = _asking(memory="999999")
    inner = copy.deepcopy(_ranges(template)[0])
    inner["TargetNodes"] = "0:3"
    inner["Container"]["ResourceRequirements"] = _requirements()
    _ranges(template).append(inner)
    assert findings_for("MNP015", template) == []


def test_ecs_task_containers_add_up() -> None:
    template = mnp_environment()
    entry = _ranges(template)[0]
    del entry["Container"]
    entry["InstanceTypes"] = ["c5n.18xlarge"]
    half = {"ResourceRequirements": _requirements(vcpus="36", memory="100000")}
    entry["EcsProperties"] = {"TaskProperties": [{"Containers": [dict(half, Name="a"), dict(half, Name="b")]}]}
    found = errors_or_warnings("MNP015", template)
    assert len(found) == 1 and "200000 MiB" in found[0].message


def test_unknown_instance_type_or_none_is_never_a_violation() -> None:
    template = _asking(memory="99999999")
    _ranges(template)[0]["Container"]["InstanceType"] = "zz9.mega"
    assert findings_for("MNP015", template) == []
    del _ranges(template)[0]["Container"]["InstanceType"]
    assert findings_for("MNP015", template) == []


def test_unresolvable_ask_is_info_not_error() -> None:
    template = _asking(memory={"Fn::ImportValue": "Memory"})
    assert [f.level.value for f in findings_for("MNP015", template)] == ["info"]


def test_unresolvable_num_nodes_makes_a_finding_info() -> None:
    template = _asking(memory="999999")
    props(template, "JobDefinition")["NodeProperties"]["NumNodes"] = {"Fn::ImportValue": "Nodes"}
    assert [f.level.value for f in findings_for("MNP015", template)] == ["info"]
