"""MNP204: no privileged containers, in any job definition (MNP or not)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.helpers.templates import errors_or_warnings, findings_for, mnp_environment, props


def _container(template: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = props(template, "JobDefinition")["NodeProperties"]["NodeRangeProperties"][0][
        "Container"
    ]
    return container


@pytest.mark.parametrize("value", [True, "true", "True"])
def test_privileged_node_container_is_an_error(value: Any) -> None:
    template = mnp_environment()
    _container(template)["Privileged"] = value
    found = errors_or_warnings("MNP204", template)
    assert [(f.rule, f.level.value) for f in found] == [("MNP204", "error")]
    assert 'NodeRangeProperties[0] (TargetNodes "0:").Container' in found[0].message
    assert "MnpStack/JobDefinition/Resource" in found[0].message


def test_not_privileged_passes() -> None:
    template = mnp_environment()
    _container(template)["Privileged"] = False
    assert findings_for("MNP204", template) == []


def test_container_job_definition_is_checked_too() -> None:
    template = mnp_environment()
    template["Resources"]["SingleJob"] = {
        "Type": "AWS::Batch::JobDefinition",
        "Properties": {"Type": "container", "ContainerProperties": {"Image": "x", "Privileged": True}},
    }
    found = errors_or_warnings("MNP204", template)
    assert [(f.resource, "ContainerProperties" in f.message) for f in found] == [("SingleJob", True)]


def test_ecs_and_eks_containers_are_checked_and_every_one_reported() -> None:
    template = mnp_environment()
    ranges = props(template, "JobDefinition")["NodeProperties"]["NodeRangeProperties"]
    ecs = copy.deepcopy(ranges[0])
    del ecs["Container"]
    ecs["TargetNodes"] = "0"
    ecs["EcsProperties"] = {
        "TaskProperties": [{"Containers": [{"Name": "main", "Privileged": True}, {"Name": "side", "Privileged": True}]}]
    }
    ranges.append(ecs)
    template["Resources"]["EksJob"] = {
        "Type": "AWS::Batch::JobDefinition",
        "Properties": {
            "Type": "container",
            "EksProperties": {
                "PodProperties": {"InitContainers": [{"Name": "init", "SecurityContext": {"Privileged": True}}]}
            },
        },
    }
    found = errors_or_warnings("MNP204", template)
    assert len(found) == 3
    assert any("(main)" in f.message for f in found) and any("(side)" in f.message for f in found)
    assert any(f.resource == "EksJob" and "InitContainers[0] (init)" in f.message for f in found)


def test_unresolvable_privileged_is_info_not_error() -> None:
    template = mnp_environment()
    _container(template)["Privileged"] = {"Fn::ImportValue": "Priv"}
    assert [f.level.value for f in findings_for("MNP204", template)] == ["info"]
