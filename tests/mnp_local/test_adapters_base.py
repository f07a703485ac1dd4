"""mnp_local.adapters._base: the mixins every adapter's CloudFormation model shares.

The end-to-end behaviour of each adapter is tested through the AWS APIs in ``test_adapters.py``; these
tests pin what the mixins must keep true: each adapter is still a model moto registers (moto lists only
*direct* subclasses of ``CloudFormationModel``), and ``Fn::GetAtt`` answers the physical id for the
attributes AWS documents and fails for any other.

Registering the adapters patches moto process-wide (EC2 and Batch responses, the model map), which
would change what the in-process moto of other tests (``tests/mnp_toolkit/ops``) answers. So the
probe runs in a Python process of its own, as the emulated AWS server does, and reports in JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

# (model, CloudFormation type, name property, the Fn::GetAtt attributes AWS documents for the type)
MAP_MODELS: list[tuple[str, str, str, list[str]]] = [
    (
        "ComputeEnvironmentAdapter",
        "AWS::Batch::ComputeEnvironment",
        "ComputeEnvironmentName",
        ["ComputeEnvironmentArn"],
    ),
    ("JobQueueAdapter", "AWS::Batch::JobQueue", "JobQueueName", ["JobQueueArn"]),
    ("JobDefinitionAdapter", "AWS::Batch::JobDefinition", "JobDefinitionName", ["Id", "JobDefinitionArn"]),
    ("PlacementGroupModel", "AWS::EC2::PlacementGroup", "GroupName", ["GroupName"]),
    ("SubnetRouteTableAssociationAdapter", "AWS::EC2::SubnetRouteTableAssociation", "", ["Id"]),
    ("SecurityGroupEgressModel", "AWS::EC2::SecurityGroupEgress", "", ["Id"]),
]
CANDIDATE_ATTRIBUTES = sorted({attr for *_, attrs in MAP_MODELS for attr in attrs} | {"Arn", "NoSuchAttribute"})

_PROBE = """
import json, sys
from moto.cloudformation import parsing
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from mnp_local.adapters import register_all
from mnp_local.adapters._base import AdapterModel, PhysicalIdAttributes
from mnp_local.adapters.placement_group import PlacementGroup, PlacementGroupModel
from mnp_local.adapters.restrict_default_security_group import CUSTOM_TYPE, RestrictDefaultSecurityGroup
from mnp_local.adapters.route_table_association import SubnetRouteTableAssociationAdapter

register_all()
types, candidates = json.loads(sys.argv[1])

def getatt(resource, attribute):
    try:
        return resource.get_cfn_attribute(attribute)
    except UnformattedGetAttTemplateException:
        return "<rejected>"

model_map, names = parsing.get_model_map(), parsing.get_name_type_map()
association = SubnetRouteTableAssociationAdapter(
    association_id="rtbassoc-0abc", route_table_id="rtb-0def", subnet_id="subnet-0123"
)
group = PlacementGroupModel(
    PlacementGroup(group_name="pg-a", strategy="cluster", account_id="123456789012", region_name="us-east-1")
)
custom = parsing.resource_class_from_type(CUSTOM_TYPE)
restrict = RestrictDefaultSecurityGroup(group_id="sg-0123")
print(json.dumps({
    "models": {
        cfn_type: {
            "model": model_map[cfn_type].__name__,
            "name_property": names[cfn_type],
            "attributes": [attr for attr in candidates if model_map[cfn_type].has_cfn_attr(attr)],
        }
        for cfn_type in types
    },
    "mixins_in_model_list": [
        cls.__name__ for cls in parsing.get_model_list() if cls in (AdapterModel, PhysicalIdAttributes)
    ],
    "custom": [custom.__name__, custom.cloudformation_type(), custom.cloudformation_name_type()],
    "restrict": [restrict.physical_resource_id, restrict.is_created()],
    "association": [association.physical_resource_id, association.is_created(), getatt(association, "Id"),
                    getatt(association, "RouteTableId")],
    "group": [group.physical_resource_id, getatt(group, "GroupName"), getatt(group, "GroupId")],
}))
"""


@pytest.fixture(scope="module")
def probe() -> dict[str, Any]:
    types = [cfn_type for _, cfn_type, _, _ in MAP_MODELS]
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps([types, CANDIDATE_ATTRIBUTES])],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


@pytest.mark.parametrize(("model", "cfn_type", "name_property", "attributes"), MAP_MODELS)
def test_adapter_is_the_model_moto_uses_for_its_type(
    probe: dict[str, Any], model: str, cfn_type: str, name_property: str, attributes: list[str]
) -> None:
    assert probe["models"][cfn_type] == {"model": model, "name_property": name_property, "attributes": attributes}


def test_the_mixins_are_not_models_of_their_own(probe: dict[str, Any]) -> None:
    """A mixin in moto's list would be a model without a type (and break the whole map)."""
    assert probe["mixins_in_model_list"] == []


def test_restrict_default_security_group_is_routed_past_moto_custom_resources(probe: dict[str, Any]) -> None:
    assert probe["custom"] == ["RestrictDefaultSecurityGroup", "Custom::VpcRestrictDefaultSG", ""]
    assert probe["restrict"] == ["sg-0123", True]


def test_getatt_answers_the_physical_id_and_rejects_other_attributes(probe: dict[str, Any]) -> None:
    assert probe["association"] == ["rtbassoc-0abc", True, "rtbassoc-0abc", "<rejected>"]
    assert probe["group"] == ["pg-a", "pg-a", "<rejected>"]
