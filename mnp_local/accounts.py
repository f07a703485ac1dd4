"""Credentials that the emulated AWS maps to a given account.

moto decides the account of a request by its access key: a key it made in an account's IAM belongs to
that account, any other key to the default account ``123456789012`` (``moto.iam.models.get_account_id_from``).
So the default account uses the dummy key ``testing``, and another account (a config's ``env.account``,
a Lambda function deployed there) gets an IAM user ``mnp-local`` with an access key made in that
account's own IAM: the CDK CLI, boto3 and ``mnp`` then act in that account, as on AWS with its
credentials. Runs inside the emulator's process (``POST /mnp-local/credentials`` asks from outside).
"""

from __future__ import annotations

import re
import threading

DEFAULT_ACCOUNT = "123456789012"
DUMMY_KEY = "testing"
USER_NAME = "mnp-local"
_ACCOUNT = re.compile(r"^[0-9]{12}$")
_lock = threading.Lock()
_keys: dict[str, tuple[str, str]] = {}


class AccountError(ValueError):
    """Not a 12-digit account ID."""


def credentials_for(account: str) -> tuple[str, str]:
    """(access key id, secret) that the emulator maps to ``account``; made once per account and process."""
    if not _ACCOUNT.fullmatch(account):
        raise AccountError(f"{account!r} is not a 12-digit AWS account ID")
    if account == DEFAULT_ACCOUNT:
        return DUMMY_KEY, DUMMY_KEY
    from moto.iam.models import iam_backends

    with _lock:
        backend = iam_backends[account]["aws"]
        cached = _keys.get(account)
        # A /moto-api/reset empties IAM: a cached key is used only while the account still has it.
        if cached is None or cached[0] not in backend.access_keys:
            if USER_NAME not in backend.users:
                backend.create_user(region_name="us-east-1", user_name=USER_NAME)
            key = backend.create_access_key(USER_NAME)
            _keys[account] = (key.access_key_id, key.secret_access_key)
        return _keys[account]
