"""A value only a deployment fixes (parameter, import, SSM) is never judged; infos name where it comes from.

Catalog intro (revised 2026-12-01): "A parameter's Default is not the deployed value"; at most an info that
names the default. A false error on a valid template is as serious as a missed violation.
"""

from __future__ import annotations

from typing import Any

import pytest

from mnp_toolkit.lint.template import UNKNOWN, Template
from tests.helpers.ce_templates import compute_resources
from tests.helpers.templates import errors_or_warnings, findings_for, mnp_environment, props


def _num_nodes(template: dict[str, Any], value: Any) -> None:
    props(template, "JobDefinition")["NodeProperties"]["NumNodes"] = value


def test_num_nodes_parameter_defaulting_to_one_is_not_mnp103() -> None:
    template = mnp_environment()
    template["Parameters"] = {"NumNodes": {"Type": "Number", "Default": 1}}
    _num_nodes(template, {"Ref": "NumNodes"})
    assert errors_or_warnings("MNP103", template) == []


def test_parameter_without_default_is_named_as_such() -> None:
    template = mnp_environment()
    template["Parameters"] = {"MaxCpus": {"Type": "Number"}}
    compute_resources(template)["MaxvCpus"] = {"Ref": "MaxCpus"}
    (info,) = findings_for("MNP004", template)
    assert info.level.value == "info" and "parameter MaxCpus, no default" in info.message


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ({"Fn::ImportValue": "SharedNodes"}, "an import (SharedNodes)"),
        ("{{resolve:ssm:/hpc/nodes}}", "SSM parameter {{resolve:ssm:/hpc/nodes}}"),
        ({"Ref": "NodesFromSsm"}, "SSM parameter /hpc/nodes (parameter NodesFromSsm)"),
    ],
)
def test_imports_and_ssm_values_are_infos_naming_their_origin(value: Any, named: str) -> None:
    template = mnp_environment()
    template["Parameters"] = {"NodesFromSsm": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/hpc/nodes"}}
    _num_nodes(template, value)
    found = findings_for("MNP008", template)
    assert [f.level.value for f in found] == ["info"], found
    assert named in found[0].message


def test_sub_of_a_parameter_is_unknown_and_named() -> None:
    template = Template(
        {
            "Parameters": {"Env": {"Type": "String", "Default": "prod"}},
            "Resources": {
                "Q": {"Type": "AWS::Batch::JobQueue", "Properties": {"JobQueueName": {"Fn::Sub": "q-${Env}"}}}
            },
        }
    )
    queue = template.resources["Q"]
    assert queue.get("JobQueueName") is UNKNOWN
    (origin,) = template.parameter_origins(queue.properties)
    assert origin.describe() == 'JobQueueName comes from parameter Env, default "prod"'
