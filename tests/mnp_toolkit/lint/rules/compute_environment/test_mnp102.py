"""MNP102 (warning): a security group of an MNP compute environment must admit all traffic from the CE's groups."""

from typing import Any

from mnp_toolkit.lint.packs import mnp_pack
from tests.helpers.ce_templates import add_security_groups, compute_resources
from tests.helpers.templates import errors_or_warnings, findings_for, mnp_environment, props, resources


def drop_self_ingress(template: dict[str, Any]) -> None:
    del resources(template)["NodeSecurityGroupSelfIngress"]


def test_standalone_self_ingress_is_compliant() -> None:
    assert findings_for("MNP102", mnp_environment()) == []


def test_inline_self_ingress_is_compliant() -> None:
    template = mnp_environment()
    drop_self_ingress(template)
    props(template, "NodeSecurityGroup")["SecurityGroupIngress"] = [
        {"IpProtocol": "-1", "SourceSecurityGroupId": {"Fn::GetAtt": ["NodeSecurityGroup", "GroupId"]}}
    ]
    assert findings_for("MNP102", template) == []


def test_no_self_ingress_is_a_warning() -> None:
    template = mnp_environment()
    drop_self_ingress(template)
    found = errors_or_warnings("MNP102", template)
    assert [(f.rule, f.level.value, f.resource) for f in found] == [("MNP102", "warning", "ComputeEnvironment")]
    assert "MnpStack/ComputeEnvironment/NodeSecurityGroup" in found[0].message


def test_tcp_only_self_ingress_is_a_warning() -> None:
    template = mnp_environment()
    props(template, "NodeSecurityGroupSelfIngress").update(IpProtocol="tcp", FromPort=0, ToPort=65535)
    assert len(errors_or_warnings("MNP102", template)) == 1


def test_ingress_from_another_group_of_the_ce_is_compliant() -> None:
    template = mnp_environment()
    (other,) = add_security_groups(template, 1)
    props(template, "NodeSecurityGroupSelfIngress")["SourceSecurityGroupId"] = {"Fn::GetAtt": [other, "GroupId"]}
    assert findings_for("MNP102", template) == []


def test_ingress_from_a_group_outside_the_ce_is_a_warning() -> None:
    template = mnp_environment()
    resources(template)["BastionSg"] = {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "b"}}
    props(template, "NodeSecurityGroupSelfIngress")["SourceSecurityGroupId"] = {"Ref": "BastionSg"}
    assert len(errors_or_warnings("MNP102", template)) == 1


def test_vpc_cidr_ingress_does_not_count_as_self() -> None:
    template = mnp_environment()
    drop_self_ingress(template)
    props(template, "NodeSecurityGroup")["SecurityGroupIngress"] = [{"IpProtocol": "-1", "CidrIp": "10.0.0.0/16"}]
    assert len(errors_or_warnings("MNP102", template)) == 1


def test_groups_not_in_the_template_give_no_warning() -> None:
    template = mnp_environment()
    compute_resources(template)["SecurityGroupIds"] = ["sg-0123456789abcdef0"]
    assert [f.level.value for f in findings_for("MNP102", template)] == ["info"]


def test_literal_group_id_referencing_itself_is_compliant() -> None:
    template = mnp_environment()
    compute_resources(template)["SecurityGroupIds"].append("sg-shared")
    props(template, "NodeSecurityGroupSelfIngress")["SourceSecurityGroupId"] = "sg-shared"
    assert findings_for("MNP102", template) == []


def test_unresolvable_protocol_is_info() -> None:
    template = mnp_environment()
    props(template, "NodeSecurityGroupSelfIngress")["IpProtocol"] = {"Fn::ImportValue": "Proto"}
    assert [f.level.value for f in findings_for("MNP102", template)] == ["info"]


def test_ce_without_groups_uses_the_vpc_default_group_info() -> None:
    template = mnp_environment()
    del compute_resources(template)["SecurityGroupIds"]
    found = findings_for("MNP102", template)
    assert [f.level.value for f in found] == ["info"] and "default" in found[0].message


def test_groups_from_the_launch_template_do_not_reach_the_task_interfaces() -> None:
    template = mnp_environment()
    del compute_resources(template)["SecurityGroupIds"]
    props(template, "LaunchTemplate")["LaunchTemplateData"]["SecurityGroupIds"] = [
        {"Fn::GetAtt": ["NodeSecurityGroup", "GroupId"]}
    ]
    found = findings_for("MNP102", template)
    assert [f.level.value for f in found] == ["info"]
    assert "VPC's default group" in found[0].message


def test_rule_matches_the_catalog() -> None:
    rule = mnp_pack()["MNP102"]
    assert (rule.level.value, rule.resource_type) == ("warning", "AWS::Batch::ComputeEnvironment")
    assert rule.source.startswith("https://docs.aws.amazon.com/")
    assert rule.info and rule.explanation and rule.fix


def test_conditional_inline_rule_is_info_not_warning() -> None:
    template = mnp_environment()
    drop_self_ingress(template)
    props(template, "NodeSecurityGroup")["SecurityGroupIngress"] = [
        {"Fn::If": ["Mpi", {"IpProtocol": "-1", "SourceSecurityGroupId": "sg-x"}, {"Ref": "AWS::NoValue"}]}
    ]
    assert [f.level.value for f in findings_for("MNP102", template)] == ["info"]
