"""MNP018: an MNP queue must not mix EC2/Fargate or CPU architectures, nor hold more than three CEs."""

from mnp_toolkit.lint.packs import mnp_pack
from tests.helpers.ce_templates import add_compute_environment
from tests.helpers.templates import errors_or_warnings, findings_for, mnp_environment, props, resources


def test_single_ec2_ce_is_compliant() -> None:
    assert findings_for("MNP018", mnp_environment()) == []


def test_three_ces_pass_four_fail() -> None:
    template = mnp_environment()
    add_compute_environment(template, "SecondCe", instance_types=["c5n"])
    add_compute_environment(template, "ThirdCe", instance_types=["c6in"])
    assert findings_for("MNP018", template) == []
    add_compute_environment(template, "FourthCe", instance_types=["c6i"])
    found = errors_or_warnings("MNP018", template)
    assert [(f.rule, f.level.value, f.resource) for f in found] == [("MNP018", "error", "JobQueue")]
    assert "4 compute environments" in found[0].message and "at most 3" in found[0].message
    assert "MnpStack/FourthCe/Resource" in found[0].message


def test_mixing_ec2_and_fargate_is_an_error() -> None:
    template = mnp_environment()
    add_compute_environment(template, "FargateCe", compute_type="FARGATE_SPOT")
    found = errors_or_warnings("MNP018", template)
    assert len(found) == 1
    assert "mixes EC2" in found[0].message and "MnpStack/FargateCe/Resource" in found[0].message


def test_spot_and_ec2_are_both_ec2() -> None:
    template = mnp_environment()
    add_compute_environment(template, "SpotCe", compute_type="spot")
    assert findings_for("MNP018", template) == []


def test_mixing_architectures_across_ces_is_an_error() -> None:
    template = mnp_environment()
    add_compute_environment(template, "ArmCe", instance_types=["c7g.16xlarge"])
    found = errors_or_warnings("MNP018", template)
    assert len(found) == 1
    assert "CPU architectures" in found[0].message
    assert "MnpStack/ArmCe/Resource: arm64" in found[0].message
    assert "MnpStack/ComputeEnvironment/Resource: x86_64" in found[0].message


def test_arm_family_and_default_arm_category_count_as_arm() -> None:
    template = mnp_environment()
    add_compute_environment(template, "ArmCe", instance_types=["default_arm64"])
    assert len(errors_or_warnings("MNP018", template)) == 1
    props(template, "ComputeEnvironment")["ComputeResources"]["InstanceTypes"] = ["hpc7g"]
    assert findings_for("MNP018", template) == []


def test_unknown_instance_types_are_ignored() -> None:
    template = mnp_environment()
    add_compute_environment(template, "NewCe", instance_types=["z9q.metal"])
    assert findings_for("MNP018", template) == []


def test_mix_inside_one_ce_is_left_to_mnp019() -> None:
    template = mnp_environment()
    props(template, "ComputeEnvironment")["ComputeResources"]["InstanceTypes"] = ["c5n", "c7g"]
    assert findings_for("MNP018", template) == []


def test_reports_every_violation() -> None:
    template = mnp_environment()
    add_compute_environment(template, "ArmCe", instance_types=["c7g"])
    add_compute_environment(template, "FargateCe", compute_type="FARGATE")
    add_compute_environment(template, "FourthCe", instance_types=["c5n"])
    messages = [f.message for f in errors_or_warnings("MNP018", template)]
    assert len(messages) == 3
    assert any("4 compute environments" in m for m in messages)
    assert any("mixes EC2" in m for m in messages)
    assert any("CPU architectures" in m for m in messages)


def test_unresolvable_order_is_info() -> None:
    template = mnp_environment()
    props(template, "JobQueue")["ComputeEnvironmentOrder"] = {"Fn::If": ["Big", [], []]}
    assert [f.level.value for f in findings_for("MNP018", template)] == ["info"]


def test_imported_ce_cannot_be_judged() -> None:
    template = mnp_environment()
    props(template, "JobQueue")["ComputeEnvironmentOrder"].append(
        {"ComputeEnvironment": {"Fn::ImportValue": "OtherCe"}, "Order": 2}
    )
    assert [f.level.value for f in findings_for("MNP018", template)] == ["info"]


def test_implicit_mnp_queue_message_says_how_to_mark_queues() -> None:
    template = mnp_environment()
    del resources(template)["JobQueue"]["Metadata"]["mnp:queue"]
    add_compute_environment(template, "FargateCe", compute_type="FARGATE")
    found = errors_or_warnings("MNP018", template)
    assert len(found) == 1 and "mnp:queue" in found[0].message


def test_non_mnp_queue_is_not_applicable() -> None:
    template = mnp_environment()
    add_compute_environment(template, "FargateCe", compute_type="FARGATE", queue=None)
    resources(template)["OtherQueue"] = {
        "Type": "AWS::Batch::JobQueue",
        "Properties": {
            "ComputeEnvironmentOrder": [
                {"ComputeEnvironment": {"Ref": "ComputeEnvironment"}, "Order": 1},
                {"ComputeEnvironment": {"Ref": "FargateCe"}, "Order": 2},
            ]
        },
    }
    assert findings_for("MNP018", template) == []


def test_rule_matches_the_catalog() -> None:
    rule = mnp_pack()["MNP018"]
    assert (rule.level.value, rule.resource_type) == ("error", "AWS::Batch::JobQueue")
    assert rule.source.startswith("https://docs.aws.amazon.com/")
    assert rule.info and rule.explanation and rule.fix
