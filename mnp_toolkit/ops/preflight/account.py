"""The credentials belong to the config's ``env.account`` (STS GetCallerIdentity), and the Region checked is
the config's ``env.region``."""

from __future__ import annotations

from mnp_toolkit.errors import UserError
from mnp_toolkit.ops.aws import EXIT_AWS_ERROR, describe_aws_error, is_setup_error
from mnp_toolkit.ops.preflight.clients import Clients, unknown_result
from mnp_toolkit.ops.preflight.results import CheckResult


def check_account(clients: Clients, *, expected: str | None) -> list[CheckResult]:
    """The credentials' account is the config's ``env.account``."""
    try:
        account = str(clients.sts.get_caller_identity()["Account"])
    except Exception as error:
        if is_setup_error(error):
            # Nothing else can work either: one line, exit 2, instead of a table of could-not-check.
            raise UserError(
                describe_aws_error(error, action="run preflight", service="sts", region=clients.region),
                EXIT_AWS_ERROR,
            ) from None
        return [unknown_result("account", error, action="call sts:GetCallerIdentity", service="sts")]
    if expected is None or account == expected:
        return [CheckResult.passed(check="account", detail=f"credentials of account {account}")]
    return [
        CheckResult.failed(
            check="account",
            detail=f"credentials are for account {account}, the config's env.account is {expected}",
            fix="use a --profile for the config's account, or correct env.account",
        )
    ]


def check_region(clients: Clients, *, expected: str | None) -> list[CheckResult]:
    """The Region checked is the config's ``env.region`` (a --region elsewhere checks the wrong place)."""
    if expected is None:
        return []
    if expected == clients.region:
        return [CheckResult.passed(check="region", detail=f"{clients.region} (env.region)")]
    return [
        CheckResult.failed(
            check="region",
            detail=f"checking {clients.region}, but the config deploys to env.region {expected}",
            fix="drop --region (or AWS_REGION) or correct env.region",
        )
    ]
