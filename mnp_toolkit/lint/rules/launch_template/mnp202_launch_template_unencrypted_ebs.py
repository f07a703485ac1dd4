"""MNP202 (security): a launch template used by a compute environment has an unencrypted EBS block device.

Every ``BlockDeviceMappings`` entry with ``Ebs`` must set ``Encrypted: true``. An entry without
``Encrypted`` is not encrypted by the template (EBS encryption by default is an account setting the
template cannot show) and is reported, except when it restores a ``SnapshotId`` (the volume then
inherits the snapshot's encryption, which the template does not show: info). A launch template with no
``BlockDeviceMappings`` is compliant here: its volumes come from the AMI's mappings, not from the
template.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mnp_toolkit.lint.model.launch_templates import compute_environments_using
from mnp_toolkit.lint.model.resource_types import LAUNCH_TEMPLATE
from mnp_toolkit.lint.rule import Compliant, Level, NonCompliant, NotApplicable, Problem, Rule, RuleResult, Unverifiable
from mnp_toolkit.lint.template import UNKNOWN, Resource, Template, as_bool


def _device(mapping: Mapping[str, Any], position: int) -> str:
    name = mapping.get("DeviceName")
    return f"{name}" if isinstance(name, str) else f"block device #{position}"


def check(resource: Resource, template: Template) -> RuleResult:
    users = compute_environments_using(resource)
    if not users:
        return NotApplicable("not used by a compute environment of the template")
    mappings = resource.get("LaunchTemplateData", "BlockDeviceMappings")
    if mappings is None:
        return Compliant()  # volumes come from the AMI's own mappings
    if not isinstance(mappings, list):
        return Unverifiable(f"the BlockDeviceMappings of launch template {resource.display_name} are not fixed")
    used_by = ", ".join(ce.display_name for ce in users)
    problems: list[Problem] = []
    unknown: list[str] = []
    for position, mapping in enumerate(mappings):
        if not isinstance(mapping, Mapping):
            unknown.append(f"block device #{position} is not fixed")
            continue
        ebs = mapping.get("Ebs")
        if ebs is None:
            continue  # instance store or NoDevice
        if not isinstance(ebs, Mapping):
            unknown.append(f"the Ebs of {_device(mapping, position)} is not fixed")
            continue
        encrypted = as_bool(ebs["Encrypted"]) if ebs.get("Encrypted") is not None else None
        if encrypted is True:
            continue
        if encrypted is UNKNOWN:
            unknown.append(f"Encrypted of {_device(mapping, position)} is not fixed")
            continue
        if encrypted is None and ebs.get("SnapshotId") is not None:
            unknown.append(
                f"{_device(mapping, position)} restores a snapshot and inherits its encryption, which the "
                "template does not show"
            )
            continue
        state = "Encrypted: false" if encrypted is False else "no Encrypted (only an account's EBS encryption "
        state += "" if encrypted is False else "by default would encrypt it)"
        problems.append(
            Problem(
                f"Launch template {resource.display_name} (used by {used_by}) has an EBS volume on "
                f"{_device(mapping, position)} that is not encrypted: {state}."
            )
        )
    if problems:
        return NonCompliant(*problems)
    if unknown:
        return Unverifiable(f"launch template {resource.display_name}: {'; '.join(unknown)}")
    return Compliant()


RULE = Rule(
    id="MNP202",
    level=Level.ERROR,
    resource_type=LAUNCH_TEMPLATE,
    info="A launch template used by a compute environment has an EBS block device that is not encrypted.",
    explanation="Batch instances of MNP jobs hold training data, checkpoints and container layers on their EBS "
    "volumes. Unless the launch template encrypts them, they are encrypted only if the account happens to "
    "have EBS encryption by default on -- which the template cannot guarantee. cdk-nag skips launch "
    "templates used by AWS Batch, so this pack checks them.",
    fix="Set Ebs.Encrypted: true on every block device mapping (aws-cdk-lib ec2.LaunchTemplate "
    "blockDevices=[BlockDevice(deviceName='/dev/xvda', volume=BlockDeviceVolume.ebs(100, encrypted=True))]).",
    source="https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption.html",
    check=check,
)
