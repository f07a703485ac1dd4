"""How `mnp audit` turns API responses into the template the rule pack checks (mnp_toolkit/ops/audit/model.py).

Backend: none. The inputs are API responses written by hand in the shapes of the AWS Batch and EC2 API
references (ComputeEnvironmentDetail, JobQueueDetail, JobDefinition, RouteTable, VpcEndpoint,
SecurityGroup), so that what moto does not model (main route tables, blackhole routes, endpoint states,
unmanaged environments) is covered too. Findings come from the real rule pack.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from mnp_toolkit.lint.engine import lint_template
from mnp_toolkit.lint.findings import Finding
from mnp_toolkit.lint.packs import mnp_pack
from mnp_toolkit.lint.rule import Level
from mnp_toolkit.lint.template import Template
from mnp_toolkit.ops.audit.model import build_template, cloudformation_keys, parse_acknowledgements
from mnp_toolkit.ops.audit.read import LiveAccount, _create_members, latest_revisions

ACCOUNT = "111122223333"
REGION = "eu-west-1"
CE_ARN = f"arn:aws:batch:{REGION}:{ACCOUNT}:compute-environment/ce"
QUEUE_ARN = f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/q"
JD_ARN = f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/mpi:3"
VPC, SUBNET, GROUP = "vpc-0aaa", "subnet-0aaa", "sg-0aaa"
MAIN_TABLE, TABLE = "rtb-0main", "rtb-0aaa"
PG_ARN = f"arn:aws:ec2:{REGION}:{ACCOUNT}:placement-group/mnp"


@pytest.fixture(scope="module")
def members() -> dict[str, frozenset[str]]:
    return _create_members(boto3.client("batch", region_name=REGION))


def _account(members: dict[str, frozenset[str]], **changes: Any) -> LiveAccount:
    """A compliant account in the API's shapes; ``changes`` replace whole lists."""
    live = LiveAccount(account=ACCOUNT, region=REGION, create_members=members)
    live.compute_environments = [
        {
            "computeEnvironmentName": "ce",
            "computeEnvironmentArn": CE_ARN,
            "ecsClusterArn": "arn:aws:ecs:eu-west-1:111122223333:cluster/x",
            "type": "MANAGED",
            "state": "ENABLED",
            "status": "VALID",
            "computeResources": {
                "type": "EC2",
                "minvCpus": 0,
                "maxvCpus": 288,
                "instanceTypes": ["c5n.18xlarge"],
                "subnets": [SUBNET],
                "securityGroupIds": [GROUP],
                "placementGroup": "mnp",
                "instanceRole": "ecsInstanceRole",
            },
        }
    ]
    live.job_queues = [
        {
            "jobQueueName": "q",
            "jobQueueArn": QUEUE_ARN,
            "state": "ENABLED",
            "status": "VALID",
            "priority": 1,
            "computeEnvironmentOrder": [{"order": 1, "computeEnvironment": CE_ARN}],
            "jobStateTimeLimitActions": [
                {"reason": "r", "state": "RUNNABLE", "maxTimeSeconds": 600, "action": "CANCEL"}
            ],
            "tags": {"mnp:queue": "true"},
        }
    ]
    live.job_definitions = [
        {
            "jobDefinitionName": "mpi",
            "jobDefinitionArn": JD_ARN,
            "revision": 3,
            "status": "ACTIVE",
            "type": "multinode",
            "parameters": {"inputFile": "s3://bucket/in"},
            "nodeProperties": {
                "numNodes": 4,
                "mainNode": 0,
                "nodeRangeProperties": [
                    {
                        "targetNodes": "0:",
                        "container": {
                            "image": "img",
                            "command": ["mpirun", "./solver"],
                            "instanceType": "c5n.18xlarge",
                            "resourceRequirements": [
                                {"type": "VCPU", "value": "8"},
                                {"type": "MEMORY", "value": "16384"},
                            ],
                        },
                    }
                ],
            },
        }
    ]
    live.security_groups = [
        {
            "GroupId": GROUP,
            "GroupName": "nodes",
            "Description": "nodes",
            "VpcId": VPC,
            "IpPermissions": [{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": GROUP, "UserId": ACCOUNT}]}],
            "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
        }
    ]
    live.subnets = [{"SubnetId": SUBNET, "VpcId": VPC, "AvailabilityZone": "eu-west-1a", "CidrBlock": "10.0.0.0/20"}]
    live.route_tables = [
        {
            "RouteTableId": MAIN_TABLE,
            "VpcId": VPC,
            "Associations": [{"Main": True, "RouteTableId": MAIN_TABLE, "RouteTableAssociationId": "rtbassoc-main"}],
            "Routes": [
                {"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local", "State": "active"},
                {"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-0aaa", "State": "active"},
            ],
        }
    ]
    live.placement_groups = [{"GroupName": "mnp", "GroupArn": PG_ARN, "Strategy": "cluster", "State": "available"}]
    for key, value in changes.items():
        setattr(live, key, value)
    return live


def _lint(live: LiveAccount) -> list[Finding]:
    return lint_template(Template(build_template(live), path=f"aws://{ACCOUNT}/{REGION}"), mnp_pack().rules)


def _rules(findings: list[Finding]) -> set[tuple[str, str]]:
    return {(f.rule, f.resource) for f in findings}


def test_the_compliant_account_has_no_findings(members: dict[str, frozenset[str]]) -> None:
    assert _lint(_account(members)) == []


def test_properties_take_cloudformation_names_and_only_create_inputs(members: dict[str, frozenset[str]]) -> None:
    body = build_template(_account(members))
    ce = body["Resources"][CE_ARN]
    assert ce["Type"] == "AWS::Batch::ComputeEnvironment"
    assert ce["Properties"]["ComputeResources"]["MinvCpus"] == 0
    assert ce["Properties"]["ComputeResources"]["Subnets"] == [{"Ref": SUBNET}]
    assert ce["Properties"]["ComputeResources"]["PlacementGroup"] == {"Ref": PG_ARN}
    # What only a describe call returns is not a property.
    assert "Status" not in ce["Properties"] and "EcsClusterArn" not in ce["Properties"]
    queue = body["Resources"][QUEUE_ARN]
    assert queue["Properties"]["ComputeEnvironmentOrder"] == [{"Order": 1, "ComputeEnvironment": {"Ref": CE_ARN}}]
    assert queue["Metadata"] == {"mnp:queue": "true"}
    definition = body["Resources"][JD_ARN]["Properties"]
    assert definition["NodeProperties"]["NodeRangeProperties"][0]["Container"]["InstanceType"] == "c5n.18xlarge"
    assert definition["Parameters"] == {"inputFile": "s3://bucket/in"}  # the user's keys stay as they are
    assert "Revision" not in definition and "Status" not in definition


def test_free_form_maps_keep_their_keys_and_never_read_as_intrinsics() -> None:
    converted = cloudformation_keys(
        {
            "podProperties": {
                "containers": [{"resources": {"limits": {"nvidia.com/gpu": "1", "cpu": "4"}}}],
                "metadata": {"labels": {"team": "hpc"}},
            },
            "parameters": {"Ref": "not a reference"},
            "tags": {"Fn::GetAtt": "x"},
        }
    )
    assert converted == {
        "PodProperties": {
            "Containers": [{"Resources": {"Limits": {"nvidia.com/gpu": "1", "cpu": "4"}}}],
            "Metadata": {"Labels": {"team": "hpc"}},
        },
        "Parameters": {"_Ref": "not a reference"},
        "Tags": {"_Fn::GetAtt": "x"},
    }


def test_a_subnet_without_an_association_uses_its_vpcs_main_route_table(members: dict[str, frozenset[str]]) -> None:
    public_main = [
        {
            "RouteTableId": MAIN_TABLE,
            "VpcId": VPC,
            "Associations": [{"Main": True, "RouteTableId": MAIN_TABLE}],
            "Routes": [{"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-0aaa", "State": "active"}],
        }
    ]
    findings = _lint(_account(members, route_tables=public_main))
    assert _rules(findings) == {("MNP012", CE_ARN)}
    assert f"route table {MAIN_TABLE} sends 0.0.0.0/0 to an internet gateway" in findings[0].message


def test_an_explicit_association_wins_over_the_main_route_table(members: dict[str, frozenset[str]]) -> None:
    tables = [
        {
            "RouteTableId": MAIN_TABLE,
            "VpcId": VPC,
            "Associations": [{"Main": True, "RouteTableId": MAIN_TABLE}],
            "Routes": [{"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-0aaa", "State": "active"}],
        },
        {
            "RouteTableId": TABLE,
            "VpcId": VPC,
            "Associations": [{"Main": False, "SubnetId": SUBNET, "RouteTableAssociationId": "rtbassoc-1"}],
            "Routes": [{"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-0aaa", "State": "active"}],
        },
    ]
    assert _lint(_account(members, route_tables=tables)) == []


def _isolated(route_state: str) -> list[dict[str, Any]]:
    return [
        {
            "RouteTableId": MAIN_TABLE,
            "VpcId": VPC,
            "Associations": [{"Main": True}],
            "Routes": [{"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-0gone", "State": route_state}],
        }
    ]


def _endpoints(state: str) -> list[dict[str, Any]]:
    interfaces = [
        {
            "VpcEndpointId": f"vpce-{service.replace('.', '')}",
            "VpcId": VPC,
            "ServiceName": f"com.amazonaws.{REGION}.{service}",
            "VpcEndpointType": "Interface",
            "State": "available",
            "SubnetIds": [SUBNET],
        }
        for service in ("ecr.api", "ecr.dkr", "logs")
    ]
    s3 = {
        "VpcEndpointId": "vpce-s3",
        "VpcId": VPC,
        "ServiceName": f"com.amazonaws.{REGION}.s3",
        "VpcEndpointType": "Gateway",
        "State": state,
        "RouteTableIds": [MAIN_TABLE],
    }
    return [*interfaces, s3]


def test_a_blackhole_route_carries_no_traffic(members: dict[str, frozenset[str]]) -> None:
    assert _lint(_account(members, route_tables=_isolated("active"))) == []
    findings = _lint(_account(members, route_tables=_isolated("blackhole")))
    assert _rules(findings) == {("MNP013", CE_ARN)}
    assert f"Private subnet {SUBNET}" in findings[0].message


@pytest.mark.parametrize(("state", "expected"), [("available", set()), ("pending", {("MNP013", CE_ARN)})])
def test_vpc_endpoints_count_when_available(members: dict[str, frozenset[str]], state: str, expected: set[Any]) -> None:
    live = _account(members, route_tables=_isolated("blackhole"), vpc_endpoints=_endpoints(state))
    assert _rules(_lint(live)) == expected


def test_security_group_rules_become_one_inline_rule_per_source(members: dict[str, frozenset[str]]) -> None:
    group = {
        "GroupId": GROUP,
        "VpcId": VPC,
        "IpPermissions": [
            {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": GROUP}]},
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "10.0.0.0/8"}, {"CidrIp": "0.0.0.0/0"}],
                "Ipv6Ranges": [{"CidrIpv6": "::/0"}],
            },
        ],
    }
    live = _account(members, security_groups=[group])
    rules = build_template(live)["Resources"][GROUP]["Properties"]["SecurityGroupIngress"]
    assert rules == [
        {"IpProtocol": "-1", "SourceSecurityGroupId": {"Ref": GROUP}},
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "10.0.0.0/8"},
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"},
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIpv6": "::/0"},
    ]
    findings = _lint(live)
    assert {(f.rule, f.resource) for f in findings} == {("MNP203", GROUP)}
    assert len(findings) == 2  # one per open source: 0.0.0.0/0 and ::/0


def test_an_unmanaged_compute_environment_in_an_mnp_queue(members: dict[str, frozenset[str]]) -> None:
    unmanaged = [{"computeEnvironmentName": "ce", "computeEnvironmentArn": CE_ARN, "type": "UNMANAGED"}]
    assert _rules(_lint(_account(members, compute_environments=unmanaged))) == {
        ("MNP001", CE_ARN),
        ("MNP005", JD_ARN),  # and no MNP compute environment can launch the job's c5n.18xlarge
    }


def test_a_queue_whose_compute_environment_is_gone_is_not_verifiable(members: dict[str, frozenset[str]]) -> None:
    findings = _lint(_account(members, compute_environments=[]))
    assert {f.level for f in findings} == {Level.INFO}
    assert ("MNP018", QUEUE_ARN) in _rules(findings)


def test_acknowledgement_tag_values() -> None:
    assert parse_acknowledgements("MNP101=no placement group here; MNP105 = the queue has its own timeout ;") == [
        {"id": "MNP101", "reason": "no placement group here"},
        {"id": "MNP105", "reason": "the queue has its own timeout"},
    ]
    assert parse_acknowledgements("MNP101") == [{"id": "MNP101", "reason": ""}]
    assert parse_acknowledgements(" ; ") == [" ; "]  # nothing usable: the engine reports the raw value


def test_latest_revision_of_each_name() -> None:
    definitions = [
        {"jobDefinitionName": "a", "revision": 1},
        {"jobDefinitionName": "a", "revision": 3},
        {"jobDefinitionName": "b", "revision": 2},
        {"jobDefinitionName": "a", "revision": 2},
    ]
    assert latest_revisions(definitions) == [
        {"jobDefinitionName": "a", "revision": 3},
        {"jobDefinitionName": "b", "revision": 2},
    ]


@pytest.mark.parametrize(
    "changes",
    [
        {"compute_environments": [{"computeEnvironmentArn": CE_ARN, "computeResources": "not a mapping", "tags": []}]},
        {"job_queues": [{"jobQueueArn": QUEUE_ARN, "computeEnvironmentOrder": None, "tags": {"mnp:queue": 1}}]},
        {"job_definitions": [{"jobDefinitionArn": JD_ARN, "type": "multinode", "nodeProperties": [1, {"a": None}]}]},
        {"security_groups": [{"GroupId": GROUP, "IpPermissions": [None, {"IpRanges": "x"}], "Tags": "x"}]},
        {"route_tables": [{"RouteTableId": TABLE, "Routes": [None, {}], "Associations": "x"}]},
        {"subnets": [{"SubnetId": None}, "x"]},
    ],
)
def test_malformed_responses_never_raise(members: dict[str, frozenset[str]], changes: dict[str, Any]) -> None:
    """Whatever an endpoint answers, the conversion finishes; the rules then judge what they can."""
    live = _account(members, **changes)
    findings = _lint(live)
    assert all(isinstance(f, Finding) for f in findings)
