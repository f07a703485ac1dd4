"""MnpNetwork: private compute subnets with NAT egress, flow logs, endpoints, one-AZ subnet selection."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Stack, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Match, Template

from constructs_lib import MnpNetwork, MnpPropsError
from tests.constructs_lib.conftest import AZS, fresh_stack, imported_network, resources_of
from tests.helpers.cdk_app import cdk_app


@pytest.fixture(scope="module")
def synth() -> dict[str, Any]:
    app = cdk_app()
    default_stack = Stack(app, "Default")
    default = MnpNetwork(default_stack, "Net")
    full_stack = Stack(app, "Full")
    # An env-agnostic stack sees two AZs (Fn::GetAZs), so per-AZ NAT means two gateways.
    MnpNetwork(full_stack, "Net", nat_gateways_per_az=True, interface_endpoints=True)
    bare_stack = Stack(app, "Bare")
    MnpNetwork(bare_stack, "Net", flow_logs=False, s3_gateway_endpoint=False)
    return {
        "default": Template.from_stack(default_stack),
        "full": Template.from_stack(full_stack),
        "bare": Template.from_stack(bare_stack),
        "network": default,
    }


def test_compute_subnets_are_private_and_nothing_maps_public_ips(synth: dict[str, Any]) -> None:
    template: Template = synth["default"]
    subnets = resources_of(template.to_json(), "AWS::EC2::Subnet")
    assert len(subnets) == 4  # 2 AZs x (NAT-only public + private compute)
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is False for s in subnets)
    compute = [s for s in subnets if {"Key": "aws-cdk:subnet-type", "Value": "Private"} in s["Properties"]["Tags"]]
    assert len(compute) == 2


def test_private_subnets_route_to_one_nat_gateway_by_default(synth: dict[str, Any]) -> None:
    template: Template = synth["default"]
    template.resource_count_is("AWS::EC2::NatGateway", 1)
    template.resource_properties_count_is(
        "AWS::EC2::Route",
        {"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": Match.any_value()},
        2,
    )


def test_nat_gateway_per_az(synth: dict[str, Any]) -> None:
    template: Template = synth["full"]
    template.resource_count_is("AWS::EC2::NatGateway", 2)
    routes = [
        r["Properties"]["NatGatewayId"]
        for r in resources_of(template.to_json(), "AWS::EC2::Route")
        if "NatGatewayId" in r["Properties"]
    ]
    assert len(routes) == 2 and routes[0] != routes[1]  # each private subnet uses its own AZ's NAT


def test_flow_log_to_cloudwatch_with_retention(synth: dict[str, Any]) -> None:
    template: Template = synth["default"]
    template.has_resource_properties(
        "AWS::EC2::FlowLog",
        {"LogDestinationType": "cloud-watch-logs", "TrafficType": "ALL", "ResourceType": "VPC"},
    )
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 30})
    synth["bare"].resource_count_is("AWS::EC2::FlowLog", 0)


def test_s3_gateway_endpoint(synth: dict[str, Any]) -> None:
    synth["default"].has_resource_properties(
        "AWS::EC2::VPCEndpoint",
        {
            "VpcEndpointType": "Gateway",
            "ServiceName": {"Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, ".s3"]]},
        },
    )
    synth["bare"].resource_count_is("AWS::EC2::VPCEndpoint", 0)


def test_interface_endpoints_only_when_asked(synth: dict[str, Any]) -> None:
    synth["default"].resource_properties_count_is("AWS::EC2::VPCEndpoint", {"VpcEndpointType": "Interface"}, 0)
    full: Template = synth["full"]
    for suffix in (".ecr.api", ".ecr.dkr", ".logs"):
        full.has_resource_properties(
            "AWS::EC2::VPCEndpoint",
            {
                "VpcEndpointType": "Interface",
                "PrivateDnsEnabled": True,
                "ServiceName": {"Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, suffix]]},
            },
        )


def test_compute_subnets_pick_one_az_token_by_default(synth: dict[str, Any]) -> None:
    network: MnpNetwork = synth["network"]
    azs = network.availability_zones
    assert len(azs) == 2
    assert all(Token.is_unresolved(az) for az in azs)  # no account: Fn::Select of Fn::GetAZs
    first = network.compute_subnets()
    assert first.subnets is not None and len(first.subnets) == 1
    assert first.subnets[0].availability_zone == azs[0]
    second = network.compute_subnets(availability_zone=azs[1])
    assert second.subnets is not None and [s.availability_zone for s in second.subnets] == [azs[1]]


def test_from_existing_uses_plain_ids() -> None:
    stack = fresh_stack()
    network = imported_network(stack)
    assert network.availability_zones == list(AZS)
    chosen = network.compute_subnets(availability_zone="us-east-1b")
    assert chosen.subnets is not None
    assert [s.subnet_id for s in chosen.subnets] == ["subnet-bbbb2222"]
    assert network.vpc.vpc_id == "vpc-12345678"
    assert network.flow_log_group is None


def test_from_vpc_wraps_any_ivpc() -> None:
    stack = fresh_stack()
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "Imported",
        vpc_id="vpc-1",
        availability_zones=["eu-west-1a"],
        private_subnet_ids=["subnet-1"],
    )
    network = MnpNetwork.from_vpc(stack, "Net", vpc=vpc)
    assert network.vpc is vpc
    chosen = network.compute_subnets()
    assert chosen.subnets is not None and [s.subnet_id for s in chosen.subnets] == ["subnet-1"]


@pytest.mark.parametrize(
    ("kwargs", "prop"),
    [
        ({"max_azs": 0}, "max_azs"),
        ({"availability_zones": []}, "availability_zones"),
        ({"private_subnet_cidr_mask": 30}, "private_subnet_cidr_mask"),
        ({"public_subnet_cidr_mask": 8}, "public_subnet_cidr_mask"),
    ],
)
def test_new_network_rejects_bad_props(kwargs: dict[str, Any], prop: str) -> None:
    with pytest.raises(MnpPropsError, match=rf"MnpNetwork 'Net': {prop}: .*Fix: "):
        MnpNetwork(fresh_stack(), "Net", **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"availability_zones": [], "private_subnet_ids": ["subnet-1"]}, "availability_zones: is empty"),
        ({"availability_zones": ["a"], "private_subnet_ids": []}, "private_subnet_ids: is empty"),
        (
            {"availability_zones": ["a", "b"], "private_subnet_ids": ["s1", "s2", "s3"]},
            "private_subnet_ids: has 3 subnets for 2 AZs",
        ),
        (
            {
                "availability_zones": ["a"],
                "private_subnet_ids": ["s1"],
                "private_subnet_route_table_ids": ["r1", "r2"],
            },
            "private_subnet_route_table_ids: has 2 entries for 1 subnets",
        ),
    ],
)
def test_from_existing_rejects_inconsistent_ids(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(MnpPropsError, match=match):
        MnpNetwork.from_existing(fresh_stack(), "Net", vpc_id="vpc-1", **kwargs)


def test_from_vpc_without_private_subnets_is_rejected() -> None:
    stack = fresh_stack()
    vpc = ec2.Vpc.from_vpc_attributes(
        stack, "Imported", vpc_id="vpc-1", availability_zones=["a"], public_subnet_ids=["subnet-pub"]
    )
    with pytest.raises(MnpPropsError, match="subnets: is empty and the VPC has no private subnets"):
        MnpNetwork.from_vpc(stack, "Net", vpc=vpc)


def test_compute_subnets_rejects_an_az_without_subnets() -> None:
    network = imported_network(fresh_stack())
    with pytest.raises(MnpPropsError, match=r"availability_zone: 'us-west-2a' holds no compute subnet"):
        network.compute_subnets(availability_zone="us-west-2a")


def test_explicit_availability_zones() -> None:
    network = MnpNetwork(fresh_stack(), "Net", availability_zones=["us-east-1a", "us-east-1c"])
    assert network.availability_zones == ["us-east-1a", "us-east-1c"]
    chosen = network.compute_subnets(availability_zone="us-east-1c")
    assert chosen.subnets is not None
    assert [s.availability_zone for s in chosen.subnets] == ["us-east-1c"]


# --- hardening: endpoint policies, flow-log trust (issue 16, items 5 and 6) --------------------------------


def _endpoint(template: Template, service_suffix: str) -> dict[str, Any]:
    found = [
        r["Properties"]
        for r in resources_of(template.to_json(), "AWS::EC2::VPCEndpoint")
        if r["Properties"]["ServiceName"]["Fn::Join"][1][-1] == service_suffix
    ]
    assert len(found) == 1, f"expected one {service_suffix} endpoint"
    return found[0]


def _allowed_accounts(statement: dict[str, Any]) -> list[Any]:
    return list(statement["Condition"]["StringEquals"]["aws:ResourceAccount"])


def test_s3_gateway_endpoint_admits_only_this_accounts_resources_and_the_aws_owned_objects(
    synth: dict[str, Any],
) -> None:
    statements = _endpoint(synth["default"], ".s3")["PolicyDocument"]["Statement"]
    own, aws_owned = statements
    assert (own["Action"], own["Resource"], own["Principal"]) == ("s3:*", "*", {"AWS": "*"})
    assert _allowed_accounts(own) == [{"Ref": "AWS::AccountId"}]
    assert aws_owned["Action"] == "s3:GetObject" and "Condition" not in aws_owned
    buckets = sorted(part["Fn::Join"][1][2] for part in aws_owned["Resource"])
    # ECR's layer bucket (Amazon ECR user guide, interface VPC endpoints) and the AL2023/AL2 repositories.
    assert buckets == [":s3:::al2023-repos-", ":s3:::amazonlinux-2-repos-", ":s3:::amazonlinux.", ":s3:::prod-"]


@pytest.mark.parametrize(("suffix", "prefix"), [(".ecr.api", "ecr"), (".ecr.dkr", "ecr"), (".logs", "logs")])
def test_interface_endpoints_admit_only_this_accounts_resources(
    synth: dict[str, Any], suffix: str, prefix: str
) -> None:
    statements = _endpoint(synth["full"], suffix)["PolicyDocument"]["Statement"]
    own = statements[0]
    assert own["Action"] == f"{prefix}:*"
    assert _allowed_accounts(own) == [{"Ref": "AWS::AccountId"}]
    extra = [s["Action"] for s in statements[1:]]
    # GetAuthorizationToken names no resource, so aws:ResourceAccount is absent for it: its own statement.
    assert extra == (["ecr:GetAuthorizationToken"] if prefix == "ecr" else [])


def test_endpoint_accounts_extend_the_policies_and_restrict_endpoints_false_removes_them() -> None:
    stack = fresh_stack()
    MnpNetwork(stack, "Shared", endpoint_accounts=["763104351884"], interface_endpoints=True)
    open_stack = fresh_stack("Open")
    MnpNetwork(open_stack, "Open", restrict_endpoints=False)

    own = _endpoint(Template.from_stack(stack), ".ecr.dkr")["PolicyDocument"]["Statement"][0]
    assert _allowed_accounts(own) == [{"Ref": "AWS::AccountId"}, "763104351884"]
    assert "PolicyDocument" not in _endpoint(Template.from_stack(open_stack), ".s3")


def test_endpoint_accounts_must_be_account_ids() -> None:
    with pytest.raises(MnpPropsError, match="endpoint_accounts"):
        MnpNetwork(fresh_stack(), "Net", endpoint_accounts=["12345"])


def test_flow_log_role_trusts_the_service_only_for_this_accounts_flow_logs(synth: dict[str, Any]) -> None:
    template: Template = synth["default"]
    (flow_log,) = resources_of(template.to_json(), "AWS::EC2::FlowLog")
    role_id = flow_log["Properties"]["DeliverLogsPermissionArn"]["Fn::GetAtt"][0]
    (statement,) = template.to_json()["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    source_arn = statement["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Join"][1]
    assert source_arn[-1] == ":vpc-flow-log/*" and {"Ref": "AWS::Region"} in source_arn


def test_flow_log_group_takes_a_kms_key() -> None:
    from aws_cdk import aws_kms as kms

    stack = fresh_stack()
    key = kms.Key(stack, "Key")
    MnpNetwork(stack, "Net", flow_log_encryption_key=key)

    Template.from_stack(stack).has_resource_properties(
        "AWS::Logs::LogGroup", {"KmsKeyId": {"Fn::GetAtt": [stack.get_logical_id(key.node.default_child), "Arn"]}}
    )
