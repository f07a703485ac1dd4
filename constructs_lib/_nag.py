"""cdk-nag (v3) acknowledgement helpers shared by the constructs.

cdk-nag 3 is a CDK policy-validation plugin: a finding is acknowledged with the CDK's own
``Validations.of(scope).acknowledge(Acknowledgment(id="AwsSolutions::<rule>[<finding>]", reason=...))``,
one ID per finding (no prefix matching), and stays listed in ``validation-report.json`` as suppressed.
"""

from __future__ import annotations

from aws_cdk import Stack

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
