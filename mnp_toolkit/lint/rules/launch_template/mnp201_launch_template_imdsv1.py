"""MNP201 (security): a launch template used by a compute environment does not require IMDSv2.

"Used by a compute environment" means any compute environment of the template (MNP or not) names it in
``ComputeResources.LaunchTemplate`` or one of its ``Overrides``. IMDSv2 is required when
``LaunchTemplateData.MetadataOptions.HttpTokens`` is ``required``. An account-wide IMDS default (EC2
``ModifyInstanceMetadataDefaults``) or an AMI registered with ``ImdsSupport: v2.0`` may require IMDSv2 too,
but the template cannot show that, so the template must say it (or the finding is acknowledged with
that reason).
"""

from __future__ import annotations

from mnp_toolkit.lint.model.launch_templates import compute_environments_using
from mnp_toolkit.lint.model.naming import render_value
from mnp_toolkit.lint.model.resource_types import LAUNCH_TEMPLATE
from mnp_toolkit.lint.rule import Compliant, Level, NonCompliant, NotApplicable, Rule, RuleResult, Unverifiable
from mnp_toolkit.lint.template import UNKNOWN, Resource, Template, same_text


def check(resource: Resource, template: Template) -> RuleResult:
    users = compute_environments_using(resource)
    if not users:
        return NotApplicable("not used by a compute environment of the template")
    tokens = resource.get("LaunchTemplateData", "MetadataOptions", "HttpTokens")
    if tokens is UNKNOWN:
        return Unverifiable(
            f"MetadataOptions.HttpTokens of launch template {resource.display_name} is not fixed by the template"
        )
    if same_text(tokens, "required"):
        return Compliant()
    shown = (
        "is not set (EC2 then allows IMDSv1 unless an account default says otherwise)"
        if tokens is None
        else (f"is {render_value(tokens)}")
    )
    return NonCompliant(
        f"Launch template {resource.display_name}, used by compute environment "
        f"{', '.join(ce.display_name for ce in users)}, does not require IMDSv2: MetadataOptions.HttpTokens "
        f"{shown}. (An AMI registered with ImdsSupport: v2.0 enforces IMDSv2 too, but the template does not "
        "show which AMI the instances get: say it here, or acknowledge MNP201 naming that AMI.)"
    )


RULE = Rule(
    id="MNP201",
    level=Level.ERROR,
    resource_type=LAUNCH_TEMPLATE,
    info="A launch template used by a compute environment does not require IMDSv2.",
    explanation="With IMDSv1 any process on a Batch instance -- including a job's container or an SSRF bug in "
    "it -- can read the instance role's credentials from the metadata service with a plain GET. IMDSv2 "
    "requires a session token and a hop limit. cdk-nag skips launch templates used by AWS Batch, so this "
    "pack checks them.",
    fix="Set LaunchTemplateData.MetadataOptions.HttpTokens: required (aws-cdk-lib ec2.LaunchTemplate "
    "requireImdsv2=True, or httpTokens=LaunchTemplateHttpTokens.REQUIRED); with httpPutResponseHopLimit 1, "
    "as the toolkit's compute environment sets, a container in bridge networking cannot reach the metadata "
    "service either (host networking still can: docs/security.md).",
    source="https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html",
    check=check,
)
