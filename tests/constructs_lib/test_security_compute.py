"""MnpComputeEnvironment hardening (issue 16): IMDS hop limit 1, restricted egress, a KMS key for the root
volume, the verified EFA driver install in the user data (aws_cdk.assertions)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template

from constructs_lib import MnpComputeEnvironment, MnpPropsError
from constructs_lib.compute_environment import EFA_DRIVER_INSTALL_COMMANDS, EFA_INSTALLER_GPG_FINGERPRINT

MakeCe = Callable[..., MnpComputeEnvironment]


def _launch_template_data(stack: Stack, ce: MnpComputeEnvironment) -> dict[str, Any]:
    logical_id = stack.get_logical_id(ce.launch_template.node.default_child)  # type: ignore[arg-type]
    return dict(Template.from_stack(stack).to_json()["Resources"][logical_id]["Properties"]["LaunchTemplateData"])


def _user_data(stack: Stack, ce: MnpComputeEnvironment) -> str:
    """The rendered user data with its tokens shown as JSON (the script text itself is literal)."""
    return json.dumps(_launch_template_data(stack, ce)["UserData"])


def test_imds_hop_limit_is_one_by_default_and_configurable(make_ce: MakeCe, stack: Stack) -> None:
    default, two = make_ce(), make_ce(imds_hop_limit=2)

    assert _launch_template_data(stack, default)["MetadataOptions"] == {
        "HttpEndpoint": "enabled",
        "HttpPutResponseHopLimit": 1,
        "HttpTokens": "required",
    }
    assert _launch_template_data(stack, two)["MetadataOptions"]["HttpPutResponseHopLimit"] == 2
    assert default.props.imds_hop_limit == 1


def _node_group_rules(stack: Stack, ce: MnpComputeEnvironment) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    template = Template.from_stack(stack).to_json()["Resources"]
    group_id = stack.get_logical_id(ce.security_group.node.default_child)  # type: ignore[arg-type]
    inline = template[group_id]["Properties"].get("SecurityGroupEgress", [])
    separate = [
        r["Properties"]
        for r in template.values()
        if r["Type"] == "AWS::EC2::SecurityGroupEgress"
        and r["Properties"]["GroupId"] == {"Fn::GetAtt": [group_id, "GroupId"]}
    ]
    return inline, separate


def test_restricted_egress_allows_https_out_and_everything_within_the_group(make_ce: MakeCe, stack: Stack) -> None:
    ce = make_ce(restricted_egress=True)
    group_id = stack.get_logical_id(ce.security_group.node.default_child)  # type: ignore[arg-type]

    inline, separate = _node_group_rules(stack, ce)

    assert inline == [
        {
            "CidrIp": "0.0.0.0/0",
            "Description": "HTTPS: image pulls, logs, AWS APIs",
            "FromPort": 443,
            "IpProtocol": "tcp",
            "ToPort": 443,
        }
    ]
    assert [(r["IpProtocol"], r["DestinationSecurityGroupId"]) for r in separate] == [
        ("-1", {"Fn::GetAtt": [group_id, "GroupId"]})
    ]


def test_default_egress_is_all_outbound(make_ce: MakeCe, stack: Stack) -> None:
    inline, _ = _node_group_rules(stack, make_ce())
    assert inline == [
        {"CidrIp": "0.0.0.0/0", "Description": "Allow all outbound traffic by default", "IpProtocol": "-1"}
    ]


def test_root_volume_takes_a_customer_managed_key(make_ce: MakeCe, stack: Stack) -> None:
    key = kms.Key(stack, "Key")
    ce = make_ce(root_volume_kms_key=key)

    (mapping,) = _launch_template_data(stack, ce)["BlockDeviceMappings"]

    assert mapping["Ebs"]["Encrypted"] is True
    assert mapping["Ebs"]["KmsKeyId"] == {"Fn::GetAtt": [stack.get_logical_id(key.node.default_child), "Arn"]}  # type: ignore[arg-type]


def test_efa_user_data_installs_the_pinned_verified_driver(make_ce: MakeCe, stack: Stack) -> None:
    ce = make_ce(efa=True)

    user_data = _user_data(stack, ce)

    for command in EFA_DRIVER_INSTALL_COMMANDS:
        assert json.dumps(command)[1:-1] in user_data
    assert EFA_INSTALLER_GPG_FINGERPRINT in user_data and "aws-efa-installer-latest" not in user_data


def test_efa_user_data_checks_a_given_sha256(make_ce: MakeCe, stack: Stack) -> None:
    ce = make_ce(efa=True, efa_installer_sha256="ab" * 32)

    assert f"{'ab' * 32}  $efa_dir/" in _user_data(stack, ce)


@pytest.mark.parametrize("value", ["ab" * 31, "AB" * 32, "not-a-sha"])
def test_efa_installer_sha256_must_be_64_lower_case_hex_digits(make_ce: MakeCe, value: str) -> None:
    with pytest.raises(MnpPropsError) as caught:
        make_ce(efa=True, efa_installer_sha256=value)
    assert caught.value.prop == "efa_installer_sha256"
