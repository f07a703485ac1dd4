"""cdk-nag (v3) and checkov acknowledgement helpers shared by the constructs.

cdk-nag 3 is a CDK policy-validation plugin: a finding is acknowledged with the CDK's own
``Validations.of(scope).acknowledge(Acknowledgment(id="AwsSolutions::<rule>[<finding>]", reason=...))``,
one ID per finding (no prefix matching), and stays listed in ``validation-report.json`` as suppressed.
With the ``PluginName::`` prefix the acknowledged finding stays listed (with its reason) under
``suppressedViolations``; without it cdk-nag drops the finding from the report altogether (tried with
cdk-nag 3.0.2), so the prefixed form is the one used.

checkov reads suppressions from the resource's template metadata, ``Metadata.checkov.skip`` (a list of
``{"id": "CKV_...", "comment": reason}``); checkov reports them as skipped, with the comment.
"""

from __future__ import annotations

from aws_cdk import CfnResource, Stack

NAG_PLUGIN = "AwsSolutions"
NAG_IAM4 = "AwsSolutions-IAM4"
NAG_IAM5 = "AwsSolutions-IAM5"


def nag_finding_value(stack: Stack, value: str) -> str:
    """Render a (token) string the way cdk-nag names it in a finding ID: ``Ref`` becomes ``<Name>``.

    The ID depends on the stack: an environment-agnostic stack gives ``<AWS::Region>``, a stack with an
    explicit ``env`` the literal Region, so the ID is derived, not hard-coded.
    """

    def render(node: object) -> str:
        if isinstance(node, str):
            return node
        if isinstance(node, dict) and len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                return f"<{arg}>"
            if key == "Fn::GetAtt":
                return f"<{'.'.join(arg) if isinstance(arg, list) else arg}>"
            if key == "Fn::Join" and isinstance(arg, list) and len(arg) == 2:
                return str(arg[0]).join(render(part) for part in arg[1])
        return str(node)

    return render(stack.resolve(value))


def checkov_skip(resource: CfnResource, check_id: str, reason: str) -> None:
    """Suppress checkov's ``check_id`` on ``resource`` with a specific ``reason`` (kept with earlier skips)."""
    existing = resource.get_metadata("checkov") or {}
    skips = [skip for skip in existing.get("skip", []) if skip.get("id") != check_id]
    resource.add_metadata("checkov", {**existing, "skip": [*skips, {"id": check_id, "comment": reason}]})
