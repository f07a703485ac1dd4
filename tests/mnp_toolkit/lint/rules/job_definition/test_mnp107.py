"""MNP107 (warning): EFA requested on an instance type without EFA."""

from __future__ import annotations

import copy
from typing import Any

from mnp_toolkit.core import instance_types
from tests.helpers.templates import errors_or_warnings, findings_for, mnp_environment, props

EFA_DEVICE = {"HostPath": "/dev/infiniband/uverbs0", "ContainerPath": "/dev/infiniband/uverbs0"}


def _ranges(template: dict[str, Any]) -> list[dict[str, Any]]:
    ranges: list[dict[str, Any]] = props(template, "JobDefinition")["NodeProperties"]["NodeRangeProperties"]
    return ranges


def _efa_on(instance_type: Any) -> dict[str, Any]:
    template = mnp_environment()
    container = _ranges(template)[0]["Container"]
    container["InstanceType"] = instance_type
    container["LinuxParameters"] = {"Devices": [copy.deepcopy(EFA_DEVICE)]}
    return template


def test_facts_used_by_these_tests() -> None:
    efa, plain = instance_types.lookup("c5n.18xlarge"), instance_types.lookup("c5.18xlarge")
    assert efa is not None and efa.efa_supported
    assert plain is not None and not plain.efa_supported


def test_efa_devices_on_an_efa_type_pass() -> None:
    assert findings_for("MNP107", _efa_on("c5n.18xlarge")) == []


def test_efa_devices_on_a_type_without_efa_warn() -> None:
    found = errors_or_warnings("MNP107", _efa_on("c5.18xlarge"))
    assert [(f.rule, f.level.value) for f in found] == [("MNP107", "warning")]
    assert "/dev/infiniband/uverbs0" in found[0].message and "c5.18xlarge" in found[0].message
    assert "MnpStack/JobDefinition/Resource" in found[0].message


def test_no_efa_request_on_a_type_without_efa_passes() -> None:
    template = _efa_on("c5.18xlarge")
    _ranges(template)[0]["Container"]["LinuxParameters"]["Devices"][0]["HostPath"] = "/dev/fuse"
    assert findings_for("MNP107", template) == []


def test_eks_efa_resource_counts_as_a_request() -> None:
    template = mnp_environment()
    entry = _ranges(template)[0]
    del entry["Container"]
    entry["InstanceTypes"] = ["c5.18xlarge"]
    entry["EksProperties"] = {
        "PodProperties": {"Containers": [{"Name": "c", "Resources": {"Limits": {"vpc.amazonaws.com/efa": "1"}}}]}
    }
    found = errors_or_warnings("MNP107", template)
    assert len(found) == 1 and "vpc.amazonaws.com/efa" in found[0].message


def test_ecs_task_container_devices_count() -> None:
    template = mnp_environment()
    entry = _ranges(template)[0]
    del entry["Container"]
    entry["InstanceTypes"] = ["c5.18xlarge"]
    entry["EcsProperties"] = {
        "TaskProperties": [{"Containers": [{"Name": "c", "LinuxParameters": {"Devices": [EFA_DEVICE]}}]}]
    }
    assert len(errors_or_warnings("MNP107", template)) == 1


def test_reports_every_range() -> None:
    template = _efa_on("c5.18xlarge")
    second = copy.deepcopy(_ranges(template)[0])
    second["TargetNodes"] = "0"
    _ranges(template).append(second)
    assert len(errors_or_warnings("MNP107", template)) == 2


def test_unknown_instance_type_is_never_a_finding() -> None:
    assert findings_for("MNP107", _efa_on("zz9.mega")) == []


def test_unresolvable_instance_type_is_info() -> None:
    assert [f.level.value for f in findings_for("MNP107", _efa_on({"Fn::ImportValue": "Type"}))] == ["info"]
