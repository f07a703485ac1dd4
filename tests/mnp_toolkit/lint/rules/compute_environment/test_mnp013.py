"""MNP013: a private subnet of an MNP compute environment needs a NAT route or ECR/S3/Logs endpoints."""

import pytest

from mnp_toolkit.lint.packs import mnp_pack
from tests.helpers.ce_templates import add_all_endpoints, add_endpoint, remove_nat_route, use_subnets
from tests.helpers.templates import errors_or_warnings, findings_for, mnp_environment, props, resources


def test_nat_default_route_is_compliant() -> None:
    assert findings_for("MNP013", mnp_environment()) == []


def test_no_nat_and_no_endpoints_is_an_error_listing_what_is_missing() -> None:
    template = mnp_environment()
    remove_nat_route(template)
    found = errors_or_warnings("MNP013", template)
    assert [(f.rule, f.level.value, f.resource) for f in found] == [("MNP013", "error", "ComputeEnvironment")]
    message = found[0].message
    assert "MnpStack/Vpc/PrivateSubnet1/Subnet" in message
    for missing in ("ecr.api (interface)", "ecr.dkr (interface)", "logs (interface)", "s3 (gateway"):
        assert missing in message


def test_all_endpoints_as_cdk_renders_them_are_compliant() -> None:
    template = mnp_environment()
    remove_nat_route(template)
    add_all_endpoints(template)
    assert findings_for("MNP013", template) == []


@pytest.mark.parametrize("service", ["ecr.api", "ecr.dkr", "logs"])
def test_one_missing_interface_endpoint_is_an_error(service: str) -> None:
    template = mnp_environment()
    remove_nat_route(template)
    add_all_endpoints(template)
    del resources(template)["Endpoint" + service.replace(".", "").title()]
    found = errors_or_warnings("MNP013", template)
    assert len(found) == 1
    assert f"{service} (interface)" in found[0].message and "s3" not in found[0].message.split("endpoints")[1]


def test_s3_endpoint_must_be_a_gateway_on_the_subnets_route_table() -> None:
    template = mnp_environment()
    remove_nat_route(template)
    add_all_endpoints(template, route_table="PrivateRouteTable2")
    found = errors_or_warnings("MNP013", template)
    assert len(found) == 1 and "s3 (gateway" in found[0].message


def test_s3_interface_endpoint_does_not_replace_the_gateway() -> None:
    template = mnp_environment()
    remove_nat_route(template)
    for service in ("ecr.api", "ecr.dkr", "logs", "s3"):
        add_endpoint(template, service)
    found = errors_or_warnings("MNP013", template)
    assert len(found) == 1 and "s3 (gateway" in found[0].message


def test_gateway_endpoint_type_defaults_to_gateway_and_sub_service_names_match() -> None:
    template = mnp_environment()
    remove_nat_route(template)
    for service in ("ecr.api", "ecr.dkr", "logs"):
        add_endpoint(template, service, service_name={"Fn::Sub": "com.amazonaws.${AWS::Region}." + service})
    add_endpoint(template, "s3", endpoint_type=None, route_tables=["PrivateRouteTable1"])
    assert findings_for("MNP013", template) == []


def test_literal_service_names_match() -> None:
    template = mnp_environment()
    remove_nat_route(template)
    for service in ("ecr.api", "ecr.dkr", "logs"):
        add_endpoint(template, service, service_name=f"com.amazonaws.eu-west-1.{service}")
    add_endpoint(template, "s3", endpoint_type="Gateway", route_tables=["PrivateRouteTable1"])
    assert findings_for("MNP013", template) == []


def test_endpoints_in_another_vpc_do_not_count() -> None:
    template = mnp_environment()
    remove_nat_route(template)
    add_all_endpoints(template)
    resources(template)["OtherVpc"] = {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.1.0.0/16"}}
    props(template, "EndpointLogs")["VpcId"] = {"Ref": "OtherVpc"}
    found = errors_or_warnings("MNP013", template)
    assert len(found) == 1 and "logs (interface)" in found[0].message


def test_unresolvable_endpoint_service_gives_no_error() -> None:
    template = mnp_environment()
    remove_nat_route(template)
    add_all_endpoints(template)
    props(template, "EndpointLogs")["ServiceName"] = {"Fn::ImportValue": "LogsService"}
    assert [f.level.value for f in findings_for("MNP013", template)] == ["info"]


def test_reports_every_subnet_without_egress() -> None:
    template = mnp_environment()
    remove_nat_route(template, "PrivateDefaultRoute1")
    remove_nat_route(template, "PrivateDefaultRoute2")
    use_subnets(template, "PrivateSubnet1", "PrivateSubnet2")
    found = errors_or_warnings("MNP013", template)
    assert len(found) == 2
    assert "PrivateSubnet1" in found[0].message and "PrivateSubnet2" in found[1].message


def test_default_route_to_transit_gateway_is_not_an_error() -> None:
    template = mnp_environment()
    route = props(template, "PrivateDefaultRoute1")
    route.pop("NatGatewayId")
    route["TransitGatewayId"] = "tgw-0123"
    assert [f.level.value for f in findings_for("MNP013", template)] == ["info"]


def test_public_subnet_is_left_to_mnp012() -> None:
    template = mnp_environment()
    use_subnets(template, "PublicSubnet1")
    assert findings_for("MNP013", template) == []


def test_subnets_not_in_the_template_give_no_error() -> None:
    template = mnp_environment()
    use_subnets(template, "subnet-0abc")
    assert [f.level.value for f in findings_for("MNP013", template)] == ["info"]


def test_non_default_nat_route_is_not_egress() -> None:
    template = mnp_environment()
    props(template, "PrivateDefaultRoute1")["DestinationCidrBlock"] = "10.9.0.0/16"
    assert len(errors_or_warnings("MNP013", template)) == 1


def test_rule_matches_the_catalog() -> None:
    rule = mnp_pack()["MNP013"]
    assert (rule.level.value, rule.resource_type) == ("error", "AWS::Batch::ComputeEnvironment")
    assert rule.source.startswith("https://docs.aws.amazon.com/")
    assert rule.info and rule.explanation and rule.fix
