"""MNP202: EBS volumes of a launch template used by a compute environment must be encrypted."""

from typing import Any

from mnp_toolkit.lint.packs import mnp_pack
from tests.helpers.ce_templates import compute_resources
from tests.helpers.templates import errors_or_warnings, findings_for, mnp_environment, props


def block_devices(template: dict[str, Any]) -> list[dict[str, Any]]:
    return props(template, "LaunchTemplate")["LaunchTemplateData"]["BlockDeviceMappings"]


def test_encrypted_volume_is_compliant() -> None:
    assert findings_for("MNP202", mnp_environment()) == []


def test_encrypted_as_string_is_compliant() -> None:
    template = mnp_environment()
    block_devices(template)[0]["Ebs"]["Encrypted"] = "true"
    assert findings_for("MNP202", template) == []


def test_unencrypted_volume_is_an_error() -> None:
    template = mnp_environment()
    block_devices(template)[0]["Ebs"]["Encrypted"] = False
    found = errors_or_warnings("MNP202", template)
    assert [(f.rule, f.level.value, f.resource) for f in found] == [("MNP202", "error", "LaunchTemplate")]
    assert "/dev/xvda" in found[0].message and "Encrypted: false" in found[0].message


def test_absent_encrypted_is_an_error_mentioning_account_default() -> None:
    template = mnp_environment()
    del block_devices(template)[0]["Ebs"]["Encrypted"]
    found = errors_or_warnings("MNP202", template)
    assert len(found) == 1 and "encryption by default" in found[0].message


def test_reports_every_unencrypted_volume() -> None:
    template = mnp_environment()
    block_devices(template).extend(
        [
            {"DeviceName": "/dev/xvdb", "Ebs": {"VolumeSize": 500}},
            {"DeviceName": "/dev/xvdc", "Ebs": {"VolumeSize": 500, "Encrypted": True}},
            {"DeviceName": "/dev/xvdd", "Ebs": {"VolumeSize": 500, "Encrypted": "false"}},
            {"DeviceName": "/dev/sdb", "VirtualName": "ephemeral0"},
        ]
    )
    found = errors_or_warnings("MNP202", template)
    assert [f.message.split(" on ")[1].split(" ")[0] for f in found] == ["/dev/xvdb", "/dev/xvdd"]


def test_no_block_device_mappings_is_compliant() -> None:
    template = mnp_environment()
    del props(template, "LaunchTemplate")["LaunchTemplateData"]["BlockDeviceMappings"]
    assert findings_for("MNP202", template) == []


def test_unresolvable_encrypted_is_info() -> None:
    template = mnp_environment()
    block_devices(template)[0]["Ebs"]["Encrypted"] = {"Ref": "EncryptVolumes"}
    assert [f.level.value for f in findings_for("MNP202", template)] == ["info"]


def test_snapshot_volume_without_encrypted_is_info() -> None:
    template = mnp_environment()
    block_devices(template)[0]["Ebs"] = {"SnapshotId": "snap-0123", "VolumeSize": 100}
    assert [f.level.value for f in findings_for("MNP202", template)] == ["info"]


def test_launch_template_not_used_by_a_ce_is_not_applicable() -> None:
    template = mnp_environment()
    del compute_resources(template)["LaunchTemplate"]
    block_devices(template)[0]["Ebs"]["Encrypted"] = False
    assert findings_for("MNP202", template) == []


def test_rule_matches_the_catalog() -> None:
    rule = mnp_pack()["MNP202"]
    assert (rule.level.value, rule.resource_type) == ("error", "AWS::EC2::LaunchTemplate")
    assert rule.source.startswith("https://docs.aws.amazon.com/")
    assert rule.info and rule.explanation and rule.fix
