"""A local emulated AWS (moto plus small adapters) that the real CDK CLI can deploy our stacks into.

``python -m mnp_local serve`` runs the server; :class:`LocalAws` starts one for tests;
``python -m mnp_local deploy`` bootstraps, deploys, submits the sample job and lists what was made.
See docs/local-deploy.md.
"""

from mnp_local.server import (
    ACCOUNT_ID,
    REGION,
    EmulatedAccount,
    LocalAws,
    LocalAwsError,
    account_in,
    aws_environment,
)

__all__ = ["ACCOUNT_ID", "REGION", "EmulatedAccount", "LocalAws", "LocalAwsError", "account_in", "aws_environment"]
