"""MNP001: an MNP compute environment must be MANAGED."""

from tests.helpers.templates import errors_or_warnings, findings_for, mnp_environment, props


def test_managed_lower_case_is_compliant() -> None:
    template = mnp_environment()
    assert props(template, "ComputeEnvironment")["Type"] == "managed"
    assert findings_for("MNP001", template) == []


def test_unmanaged_mnp_ce_is_an_error() -> None:
    template = mnp_environment()
    props(template, "ComputeEnvironment")["Type"] = "UNMANAGED"
    found = errors_or_warnings("MNP001", template)
    assert [(f.rule, f.level.value, f.resource) for f in found] == [("MNP001", "error", "ComputeEnvironment")]
    assert "MANAGED" in found[0].fix


def test_unmanaged_ce_outside_mnp_queues_is_not_applicable() -> None:
    template = mnp_environment()
    template["Resources"]["OtherCe"] = {"Type": "AWS::Batch::ComputeEnvironment", "Properties": {"Type": "UNMANAGED"}}
    assert findings_for("MNP001", template) == []


def test_type_from_unresolvable_intrinsic_is_info_not_error() -> None:
    template = mnp_environment()
    props(template, "ComputeEnvironment")["Type"] = {"Fn::ImportValue": "SharedCeType"}
    found = findings_for("MNP001", template)
    assert [f.level.value for f in found] == ["info"]
