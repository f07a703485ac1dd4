"""Stack-wide security settings (:class:`SecurityConfig`: permissions boundary, KMS key; docs/security.md)."""

from __future__ import annotations

from pydantic import Field

from mnp_toolkit.config.model.base import KMS_KEY_ARN_PATTERN, _Model


class SecurityConfig(_Model):
    """Stack-wide security settings (docs/security.md)."""

    permissions_boundary: str | None = Field(
        default=None,
        pattern=r"^(arn:aws[a-z-]*:iam::[0-9]{12}:policy/[A-Za-z0-9+=,.@_/-]{1,512}|[A-Za-z0-9+=,.@_-]{1,128})$",
        description="A managed policy (name, or ARN) set as the permissions boundary of every IAM role the stack "
        "creates, the CDK's own helper roles included. Set it here: `-c` on the cdk command line passes strings only.",
    )
    kms_key: str | None = Field(
        default=None,
        pattern=rf"^(create|{KMS_KEY_ARN_PATTERN[1:-1]})$",
        description="'create' a customer managed key (rotated, retained on delete), or the ARN of yours, for every "
        "log group and the instances' root volumes; default: CloudWatch Logs' and EBS's own keys. Its key policy "
        "must admit CloudWatch Logs and the EC2 Auto Scaling service-linked role (docs/security.md).",
    )
