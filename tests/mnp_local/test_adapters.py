"""Each mnp_local adapter, through the AWS APIs of a local emulated AWS (no CDK, so fast).

The templates here are written by hand in the shape aws-cdk-lib renders (``Type: managed``, no
``ServiceRole``, ``Fn::GetAtt`` of the attributes the CDK uses). One emulated AWS serves the module.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mnp_local import ACCOUNT_ID, EmulatedAccount, LocalAws
from mnp_local.inventory import client

SERVICE_LINKED_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/aws-service-role/batch.amazonaws.com/AWSServiceRoleForBatch"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with LocalAws() as url:
        yield url


def _mnp_template(*, subnet: str | None = None) -> dict[str, Any]:
    """VPC, private subnet, node security group, cluster placement group, CE, queue, MNP job definition."""
    subnet_ref: Any = subnet if subnet is not None else {"Ref": "Subnet"}
    return {
        "Parameters": {"NumNodes": {"Type": "Number", "Default": 2}},
        "Resources": {
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
            "Subnet": {
                "Type": "AWS::EC2::Subnet",
                "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.0.1.0/24", "AvailabilityZone": "us-east-1a"},
            },
            "RouteTable": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Vpc"}}},
            "Association": {
                "Type": "AWS::EC2::SubnetRouteTableAssociation",
                "Properties": {"RouteTableId": {"Ref": "RouteTable"}, "SubnetId": {"Ref": "Subnet"}},
            },
            "NodeSg": {
                "Type": "AWS::EC2::SecurityGroup",
                "Properties": {"GroupDescription": "nodes", "VpcId": {"Ref": "Vpc"}},
            },
            "SelfEgress": {
                "Type": "AWS::EC2::SecurityGroupEgress",
                "Properties": {
                    "GroupId": {"Fn::GetAtt": ["NodeSg", "GroupId"]},
                    "DestinationSecurityGroupId": {"Fn::GetAtt": ["NodeSg", "GroupId"]},
                    "IpProtocol": "-1",
                    "Description": "node to node",
                },
            },
            "RestrictDefaultSg": {
                "Type": "Custom::VpcRestrictDefaultSG",
                "Properties": {
                    "ServiceToken": f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:not-invoked",
                    "DefaultSecurityGroupId": {"Fn::GetAtt": ["Vpc", "DefaultSecurityGroup"]},
                    "Account": {"Ref": "AWS::AccountId"},
                },
            },
            "InstanceRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "ec2.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    }
                },
            },
            "InstanceProfile": {
                "Type": "AWS::IAM::InstanceProfile",
                "Properties": {"Roles": [{"Ref": "InstanceRole"}]},
            },
            "Group": {"Type": "AWS::EC2::PlacementGroup", "Properties": {"Strategy": "cluster"}},
            "Ce": {
                "Type": "AWS::Batch::ComputeEnvironment",
                "Properties": {
                    "Type": "managed",
                    "State": "ENABLED",
                    "ComputeResources": {
                        "Type": "EC2",
                        "MinvCpus": 0,
                        "MaxvCpus": 288,
                        "InstanceTypes": ["c5n.18xlarge"],
                        "Subnets": [subnet_ref],
                        "SecurityGroupIds": [{"Fn::GetAtt": ["NodeSg", "GroupId"]}],
                        "InstanceRole": {"Fn::GetAtt": ["InstanceProfile", "Arn"]},
                        "PlacementGroup": {"Fn::GetAtt": ["Group", "GroupName"]},
                    },
                },
            },
            "Queue": {
                "Type": "AWS::Batch::JobQueue",
                "Properties": {
                    "Priority": 1,
                    "ComputeEnvironmentOrder": [
                        {"ComputeEnvironment": {"Fn::GetAtt": ["Ce", "ComputeEnvironmentArn"]}, "Order": 1}
                    ],
                },
            },
            "JobDef": {
                "Type": "AWS::Batch::JobDefinition",
                "Properties": {
                    "Type": "multinode",
                    "PlatformCapabilities": ["EC2"],
                    "NodeProperties": {
                        "NumNodes": {"Ref": "NumNodes"},
                        "MainNode": 0,
                        "NodeRangeProperties": [
                            {
                                "TargetNodes": "0:",
                                "Container": {
                                    "Image": "public.ecr.aws/amazonlinux/amazonlinux:2023",
                                    "InstanceType": "c5n.18xlarge",
                                    "ResourceRequirements": [
                                        {"Type": "VCPU", "Value": "64"},
                                        {"Type": "MEMORY", "Value": "163840"},
                                    ],
                                },
                            }
                        ],
                    },
                },
            },
        },
        "Outputs": {
            "QueueArn": {"Value": {"Fn::GetAtt": ["Queue", "JobQueueArn"]}},
            "CeArn": {"Value": {"Fn::GetAtt": ["Ce", "ComputeEnvironmentArn"]}},
            "JobDefArn": {"Value": {"Ref": "JobDef"}},
            "GroupName": {"Value": {"Fn::GetAtt": ["Group", "GroupName"]}},
        },
    }


def _outputs(endpoint: str, stack: str) -> dict[str, str]:
    described = client("cloudformation", endpoint=endpoint).describe_stacks(StackName=stack)["Stacks"][0]
    return {output["OutputKey"]: output["OutputValue"] for output in described.get("Outputs", [])}


def _status(endpoint: str, stack: str) -> str:
    return str(client("cloudformation", endpoint=endpoint).describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"])


def _run_change_set(endpoint: str, stack: str, template: dict[str, Any], *, kind: str, **kwargs: Any) -> None:
    cloudformation = client("cloudformation", endpoint=endpoint)
    created = cloudformation.create_change_set(
        StackName=stack,
        ChangeSetName=f"cs-{kind.lower()}",
        ChangeSetType=kind,
        TemplateBody=json.dumps(template),
        **kwargs,
    )
    cloudformation.execute_change_set(ChangeSetName=created["Id"], StackName=stack)


@pytest.fixture(scope="module")
def mnp_stack(endpoint: str) -> dict[str, str]:
    """The MNP template deployed from S3 by its 127.0.0.1 TemplateURL, as the CDK CLI does."""
    s3 = client("s3", endpoint=endpoint)
    s3.create_bucket(Bucket="templates")
    s3.put_object(Bucket="templates", Key="mnp.json", Body=json.dumps(_mnp_template()).encode())
    client("cloudformation", endpoint=endpoint).create_stack(
        StackName="Mnp", TemplateURL=f"{endpoint}/templates/mnp.json", Capabilities=["CAPABILITY_IAM"]
    )
    return _outputs(endpoint, "Mnp")


def test_template_url_on_the_loopback_endpoint_is_read_path_style(endpoint: str, mnp_stack: dict[str, str]) -> None:
    assert _status(endpoint, "Mnp") == "CREATE_COMPLETE"
    assert set(mnp_stack) == {"QueueArn", "CeArn", "JobDefArn", "GroupName"}


def test_placement_group_is_created_and_readable_through_ec2(endpoint: str, mnp_stack: dict[str, str]) -> None:
    groups = client("ec2", endpoint=endpoint).describe_placement_groups(GroupNames=[mnp_stack["GroupName"]])
    assert [(g["GroupName"], g["Strategy"], g["State"]) for g in groups["PlacementGroups"]] == [
        (mnp_stack["GroupName"], "cluster", "available")
    ]


def test_compute_environment_accepts_lower_case_type_and_no_service_role(
    endpoint: str, mnp_stack: dict[str, str]
) -> None:
    batch = client("batch", endpoint=endpoint)
    (environment,) = batch.describe_compute_environments(computeEnvironments=[mnp_stack["CeArn"]])[
        "computeEnvironments"
    ]
    assert environment["type"] == "MANAGED"
    assert environment["serviceRole"] == SERVICE_LINKED_ROLE
    assert environment["computeResources"]["placementGroup"] == mnp_stack["GroupName"]
    role = client("iam", endpoint=endpoint).get_role(RoleName="AWSServiceRoleForBatch")["Role"]
    assert role["Path"] == "/aws-service-role/batch.amazonaws.com/"


def test_job_queue_getatt_arn_points_at_the_compute_environment(endpoint: str, mnp_stack: dict[str, str]) -> None:
    (queue,) = client("batch", endpoint=endpoint).describe_job_queues(jobQueues=[mnp_stack["QueueArn"]])["jobQueues"]
    assert [item["computeEnvironment"] for item in queue["computeEnvironmentOrder"]] == [mnp_stack["CeArn"]]


def test_multinode_job_definition_is_registered_with_its_node_properties(
    endpoint: str, mnp_stack: dict[str, str]
) -> None:
    batch = client("batch", endpoint=endpoint)
    (definition,) = batch.describe_job_definitions(jobDefinitions=[mnp_stack["JobDefArn"]])["jobDefinitions"]
    assert definition["type"] == "multinode"
    assert definition["nodeProperties"]["numNodes"] == 2
    (node_range,) = definition["nodeProperties"]["nodeRangeProperties"]
    assert node_range["targetNodes"] == "0:"
    assert node_range["container"]["instanceType"] == "c5n.18xlarge"


def test_route_table_association_is_visible_on_the_route_table(endpoint: str, mnp_stack: dict[str, str]) -> None:
    ec2 = client("ec2", endpoint=endpoint)
    environment = client("batch", endpoint=endpoint).describe_compute_environments(
        computeEnvironments=[mnp_stack["CeArn"]]
    )["computeEnvironments"][0]
    (subnet_id,) = environment["computeResources"]["subnets"]
    tables = ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}])
    assert len(tables["RouteTables"]) == 1
    resources = client("cloudformation", endpoint=endpoint).describe_stack_resource(
        StackName="Mnp", LogicalResourceId="Association"
    )["StackResourceDetail"]
    assert resources["PhysicalResourceId"].startswith("rtbassoc-")


def test_security_group_egress_to_itself_is_authorized(endpoint: str, mnp_stack: dict[str, str]) -> None:
    environment = client("batch", endpoint=endpoint).describe_compute_environments(
        computeEnvironments=[mnp_stack["CeArn"]]
    )["computeEnvironments"][0]
    (group_id,) = environment["computeResources"]["securityGroupIds"]
    (group,) = client("ec2", endpoint=endpoint).describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    egress_targets = [pair["GroupId"] for rule in group["IpPermissionsEgress"] for pair in rule["UserIdGroupPairs"]]
    assert egress_targets == [group_id]


def test_restrict_default_security_group_revokes_the_default_rules(endpoint: str, mnp_stack: dict[str, str]) -> None:
    ec2 = client("ec2", endpoint=endpoint)
    environment = client("batch", endpoint=endpoint).describe_compute_environments(
        computeEnvironments=[mnp_stack["CeArn"]]
    )["computeEnvironments"][0]
    vpc_id = ec2.describe_subnets(SubnetIds=environment["computeResources"]["subnets"])["Subnets"][0]["VpcId"]
    (default,) = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"]
    assert default["IpPermissions"] == []
    assert default["IpPermissionsEgress"] == []


def test_placement_group_api_errors_match_ec2(endpoint: str) -> None:
    ec2 = client("ec2", endpoint=endpoint)
    ec2.create_placement_group(GroupName="spread-one", Strategy="spread")
    with pytest.raises(ClientError) as duplicate:
        ec2.create_placement_group(GroupName="spread-one", Strategy="spread")
    assert duplicate.value.response["Error"]["Code"] == "InvalidPlacementGroup.Duplicate"
    spread = ec2.describe_placement_groups(Filters=[{"Name": "strategy", "Values": ["spread"]}])["PlacementGroups"]
    assert [g["GroupName"] for g in spread] == ["spread-one"]
    ec2.delete_placement_group(GroupName="spread-one")
    with pytest.raises(ClientError) as unknown:
        ec2.delete_placement_group(GroupName="spread-one")
    assert unknown.value.response["Error"]["Code"] == "InvalidPlacementGroup.Unknown"
    with pytest.raises(ClientError) as bad_strategy:
        ec2.create_placement_group(GroupName="x", Strategy="tight")
    assert bad_strategy.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_describe_missing_change_set_raises_change_set_not_found(endpoint: str) -> None:
    cloudformation = client("cloudformation", endpoint=endpoint)
    with pytest.raises(cloudformation.exceptions.ChangeSetNotFoundException):
        cloudformation.describe_change_set(ChangeSetName="cdk-deploy-change-set", StackName="Nope")


def test_failed_change_set_fails_the_stack_with_the_resource_error(endpoint: str) -> None:
    _run_change_set(endpoint, "Broken", _mnp_template(subnet="subnet-0000000000000dead"), kind="CREATE")
    assert _status(endpoint, "Broken") == "ROLLBACK_COMPLETE"
    events = client("cloudformation", endpoint=endpoint).describe_stack_events(StackName="Broken")["StackEvents"]
    reasons = [e.get("ResourceStatusReason") or "" for e in events if e["ResourceStatus"] == "CREATE_FAILED"]
    assert any("subnet-0000000000000dead does not exist" in reason for reason in reasons), reasons


def test_update_with_previous_ssm_parameter_value(endpoint: str) -> None:
    client("ssm", endpoint=endpoint).put_parameter(Name="/cdk-bootstrap/test/version", Value="30", Type="String")

    def template(topic: str) -> dict[str, Any]:
        return {
            "Parameters": {
                "BootstrapVersion": {
                    "Type": "AWS::SSM::Parameter::Value<String>",
                    "Default": "/cdk-bootstrap/test/version",
                }
            },
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": topic}}},
        }

    _run_change_set(endpoint, "Ssm", template("first"), kind="CREATE")
    _run_change_set(
        endpoint,
        "Ssm",
        template("second"),
        kind="UPDATE",
        Parameters=[{"ParameterKey": "BootstrapVersion", "UsePreviousValue": True}],
    )
    assert _status(endpoint, "Ssm") == "UPDATE_COMPLETE"


def test_get_azs_of_the_stack_region(endpoint: str) -> None:
    """``Fn::GetAZs ""`` is the stack's own Region (moto answered us-east-1's zones everywhere)."""
    account = EmulatedAccount(region="us-east-2")
    template = {
        "Resources": {
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
            "Subnet": {
                "Type": "AWS::EC2::Subnet",
                "Properties": {
                    "VpcId": {"Ref": "Vpc"},
                    "CidrBlock": "10.0.1.0/24",
                    "AvailabilityZone": {"Fn::Select": [1, {"Fn::GetAZs": ""}]},
                },
            },
        },
        "Outputs": {"Zones": {"Value": {"Fn::Join": [",", {"Fn::GetAZs": {"Ref": "AWS::Region"}}]}}},
    }
    cloudformation = client("cloudformation", endpoint=endpoint, account=account)
    cloudformation.create_stack(StackName="Zones", TemplateBody=json.dumps(template))
    zones = [
        zone["ZoneName"]
        for zone in client("ec2", endpoint=endpoint, account=account).describe_availability_zones()["AvailabilityZones"]
    ]
    assert zones and all(zone.startswith("us-east-2") for zone in zones)
    (stack,) = cloudformation.describe_stacks(StackName="Zones")["Stacks"]
    assert stack["Outputs"][0]["OutputValue"] == ",".join(zones)
    subnets = client("ec2", endpoint=endpoint, account=account).describe_subnets(
        Filters=[{"Name": "cidr-block", "Values": ["10.0.1.0/24"]}]
    )["Subnets"]
    assert [subnet["AvailabilityZone"] for subnet in subnets] == [zones[1]]


def test_lambda_function_keeps_its_log_group_and_dead_letter_queue(endpoint: str) -> None:
    template = {
        "Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
            "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/own/function/logs"}},
            "Dlq": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "function-dlq"}},
            "Function": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "python3.12",
                    "Handler": "index.handler",
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Code": {"ZipFile": "def handler(event, context):\n    return event\n"},
                    "LoggingConfig": {"LogGroup": {"Ref": "Logs"}},
                    "DeadLetterConfig": {"TargetArn": {"Fn::GetAtt": ["Dlq", "Arn"]}},
                },
            },
        },
        "Outputs": {"Function": {"Value": {"Ref": "Function"}}},
    }
    client("cloudformation", endpoint=endpoint).create_stack(
        StackName="Fn", TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"]
    )
    name = _outputs(endpoint, "Fn")["Function"]
    config = client("lambda", endpoint=endpoint).get_function_configuration(FunctionName=name)
    assert config["LoggingConfig"]["LogGroup"] == "/own/function/logs"
    assert config["DeadLetterConfig"]["TargetArn"] == f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:function-dlq"
    client("lambda", endpoint=endpoint).update_function_configuration(
        FunctionName=name, LoggingConfig={"LogFormat": "Text", "LogGroup": "/other/logs"}
    )
    config = client("lambda", endpoint=endpoint).get_function_configuration(FunctionName=name)
    assert config["LoggingConfig"]["LogGroup"] == "/other/logs"


def test_update_registers_a_new_revision_and_delete_cleans_up(endpoint: str, mnp_stack: dict[str, str]) -> None:
    # Runs last in this module: it changes and then deletes the shared stack.
    cloudformation = client("cloudformation", endpoint=endpoint)
    cloudformation.update_stack(
        StackName="Mnp",
        TemplateBody=json.dumps(_mnp_template()),
        Parameters=[{"ParameterKey": "NumNodes", "ParameterValue": "4"}],
        Capabilities=["CAPABILITY_IAM"],
    )
    assert _status(endpoint, "Mnp") == "UPDATE_COMPLETE"
    batch = client("batch", endpoint=endpoint)
    name = mnp_stack["JobDefArn"].split("/")[-1].split(":")[0]
    revisions = {d["revision"]: d for d in batch.describe_job_definitions(jobDefinitionName=name)["jobDefinitions"]}
    assert revisions[1]["status"] == "INACTIVE"
    assert revisions[2]["status"] == "ACTIVE"
    assert revisions[2]["nodeProperties"]["numNodes"] == 4
    assert _outputs(endpoint, "Mnp")["JobDefArn"].endswith(f"{name}:2")

    ec2 = client("ec2", endpoint=endpoint)
    vpc_id = cloudformation.describe_stack_resource(StackName="Mnp", LogicalResourceId="Vpc")["StackResourceDetail"][
        "PhysicalResourceId"
    ]
    cloudformation.delete_stack(StackName="Mnp")
    summaries = cloudformation.list_stacks()["StackSummaries"]
    assert [s["StackStatus"] for s in summaries if s["StackName"] == "Mnp"] == ["DELETE_COMPLETE"]
    assert batch.describe_compute_environments(computeEnvironments=[mnp_stack["CeArn"]])["computeEnvironments"] == []
    assert batch.describe_job_queues(jobQueues=[mnp_stack["QueueArn"]])["jobQueues"] == []
    remaining = batch.describe_job_definitions(jobDefinitionName=name, status="ACTIVE")["jobDefinitions"]
    assert remaining == []
    assert (
        ec2.describe_placement_groups(Filters=[{"Name": "group-name", "Values": [mnp_stack["GroupName"]]}])[
            "PlacementGroups"
        ]
        == []
    )
    assert [v for v in ec2.describe_vpcs()["Vpcs"] if v["VpcId"] == vpc_id] == []


def test_change_set_names_are_scoped_to_their_stack(endpoint: str) -> None:
    cloudformation = client("cloudformation", endpoint=endpoint)
    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
    for stack in ("ScopeA", "ScopeB"):
        cloudformation.create_change_set(
            StackName=stack,
            ChangeSetName="cdk-deploy-change-set",
            ChangeSetType="CREATE",
            TemplateBody=json.dumps(template),
        )
    described = cloudformation.describe_change_set(ChangeSetName="cdk-deploy-change-set", StackName="ScopeB")
    assert described["StackName"] == "ScopeB"
    cloudformation.delete_change_set(ChangeSetName="cdk-deploy-change-set", StackName="ScopeB")
    with pytest.raises(cloudformation.exceptions.ChangeSetNotFoundException):
        cloudformation.describe_change_set(ChangeSetName="cdk-deploy-change-set", StackName="ScopeB")
    remaining = cloudformation.describe_change_set(ChangeSetName="cdk-deploy-change-set", StackName="ScopeA")
    assert remaining["StackName"] == "ScopeA"
    listed = cloudformation.list_change_sets(StackName="ScopeA")["Summaries"]
    assert {summary["StackName"] for summary in listed} == {"ScopeA"}


def _efa_template(*, interface_groups: bool) -> dict[str, Any]:
    """The MNP template with the node security group on launch-template network interfaces only."""
    template = _mnp_template()
    resources = template["Resources"]
    interface: dict[str, Any] = {"DeviceIndex": 0, "NetworkCardIndex": 0, "InterfaceType": "efa"}
    if interface_groups:
        interface["Groups"] = [{"Fn::GetAtt": ["NodeSg", "GroupId"]}]
    resources["NodeTemplate"] = {
        "Type": "AWS::EC2::LaunchTemplate",
        "Properties": {"LaunchTemplateData": {"NetworkInterfaces": [interface]}},
    }
    compute_resources = resources["Ce"]["Properties"]["ComputeResources"]
    del compute_resources["SecurityGroupIds"]
    compute_resources["LaunchTemplate"] = {"LaunchTemplateId": {"Ref": "NodeTemplate"}}
    for name in ("Queue", "JobDef", "RestrictDefaultSg", "SelfEgress"):
        del resources[name]
    template["Outputs"] = {"CeArn": {"Value": {"Fn::GetAtt": ["Ce", "ComputeEnvironmentArn"]}}}
    return template


def test_compute_environment_takes_security_groups_from_its_launch_template(endpoint: str) -> None:
    _run_change_set(endpoint, "Efa", _efa_template(interface_groups=True), kind="CREATE")
    assert _status(endpoint, "Efa") == "CREATE_COMPLETE"
    ce_arn = _outputs(endpoint, "Efa")["CeArn"]
    (environment,) = client("batch", endpoint=endpoint).describe_compute_environments(computeEnvironments=[ce_arn])[
        "computeEnvironments"
    ]
    # As in AWS: the groups stay on the launch template, the compute environment names none.
    assert "securityGroupIds" not in environment["computeResources"]
    assert "launchTemplate" in environment["computeResources"]


def test_compute_environment_without_any_security_group_fails_with_the_fix(endpoint: str) -> None:
    _run_change_set(endpoint, "NoSg", _efa_template(interface_groups=False), kind="CREATE")
    assert _status(endpoint, "NoSg") == "ROLLBACK_COMPLETE"
    events = client("cloudformation", endpoint=endpoint).describe_stack_events(StackName="NoSg")["StackEvents"]
    reasons = " ".join(e.get("ResourceStatusReason") or "" for e in events)
    assert (
        "no security groups: set ComputeResources.SecurityGroupIds or security groups in its launch template" in reasons
    )


@pytest.mark.parametrize(("region", "partition"), [("cn-northwest-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")])
def test_the_batch_service_linked_role_is_of_the_regions_partition(endpoint: str, region: str, partition: str) -> None:
    """A compute environment without ServiceRole in aws-cn or GovCloud uses that partition's role (it failed
    with "Could not find IAM role arn:aws:iam::...")."""
    account = EmulatedAccount(region=region)
    template = {
        "Resources": {
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
            "Subnet": {
                "Type": "AWS::EC2::Subnet",
                "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.0.1.0/24", "AvailabilityZone": f"{region}a"},
            },
            "Sg": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "n", "VpcId": {"Ref": "Vpc"}}},
            "InstanceRole": _mnp_template()["Resources"]["InstanceRole"],
            "InstanceProfile": _mnp_template()["Resources"]["InstanceProfile"],
            "Ce": {
                "Type": "AWS::Batch::ComputeEnvironment",
                "Properties": {
                    "Type": "MANAGED",
                    "ComputeResources": {
                        "Type": "EC2",
                        "MinvCpus": 0,
                        "MaxvCpus": 8,
                        "InstanceTypes": ["c5.large"],
                        "Subnets": [{"Ref": "Subnet"}],
                        "SecurityGroupIds": [{"Fn::GetAtt": ["Sg", "GroupId"]}],
                        "InstanceRole": {"Fn::GetAtt": ["InstanceProfile", "Arn"]},
                    },
                },
            },
        },
        "Outputs": {"CeArn": {"Value": {"Fn::GetAtt": ["Ce", "ComputeEnvironmentArn"]}}},
    }
    cloudformation = client("cloudformation", endpoint=endpoint, account=account)
    cloudformation.create_stack(StackName="Partition", TemplateBody=json.dumps(template))
    (stack,) = cloudformation.describe_stacks(StackName="Partition")["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    ce_arn = stack["Outputs"][0]["OutputValue"]
    (environment,) = client("batch", endpoint=endpoint, account=account).describe_compute_environments(
        computeEnvironments=[ce_arn]
    )["computeEnvironments"]
    assert environment["serviceRole"] == (
        f"arn:{partition}:iam::{ACCOUNT_ID}:role/aws-service-role/batch.amazonaws.com/AWSServiceRoleForBatch"
    )
