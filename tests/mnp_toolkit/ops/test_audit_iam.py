"""`mnp audit` with exactly the least-privilege policy of docs/audit.md, enforced by moto's IAM.

Backend: moto (``mock_aws``), which authenticates and authorizes every request signed with the keys of
an IAM user it created once ``INITIAL_NO_AUTH_ACTION_COUNT`` requests have passed (moto docs, IAM);
:func:`tests.helpers.moto_audit.enforce_iam` starts that after the set-up, and
:func:`~tests.helpers.moto_audit.iam_action_case` makes moto compare action names case-insensitively, as
IAM does. The policy is read from docs/audit.md, so the page is what is tested.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from mnp_toolkit.cli import main as cli_main
from mnp_toolkit.errors import UserError
from mnp_toolkit.ops.audit import AUDIT_ACTIONS, audit, audit_policy
from mnp_toolkit.ops.audit.read import make_audit_clients
from tests.helpers.moto_audit import audit_gaps_filled, enforce_iam
from tests.helpers.moto_batch import MOTO_BATCH_CONFIG
from tests.mnp_toolkit.ops import audit_accounts as accounts
from tests.mnp_toolkit.ops.audit_accounts import REGION
from tests.mnp_toolkit.ops.test_audit import CallCounter

DOC = Path(__file__).resolve().parents[3] / "docs" / "audit.md"


def documented_policy() -> dict[str, object]:
    """The JSON block under "Least-privilege IAM policy" in docs/audit.md."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Least-privilege IAM policy", 1)[1]
    match = re.search(r"```json\n(.*?)\n```", section, re.DOTALL)
    assert match is not None, "docs/audit.md has no JSON policy under 'Least-privilege IAM policy'"
    policy: dict[str, object] = json.loads(match.group(1))
    return policy


@dataclass(frozen=True)
class Keys:
    access_key: str
    secret_key: str

    def session(self) -> boto3.Session:
        return boto3.Session(
            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key, region_name=REGION
        )


@dataclass
class Users:
    auditor: Keys  # exactly the documented policy
    without: dict[str, Keys]  # action -> the documented policy minus that action


def _user(iam: object, name: str, policy: dict[str, object]) -> Keys:
    iam.create_user(UserName=name)  # type: ignore[attr-defined]
    iam.put_user_policy(UserName=name, PolicyName="audit", PolicyDocument=json.dumps(policy))  # type: ignore[attr-defined]
    key = iam.create_access_key(UserName=name)["AccessKey"]  # type: ignore[attr-defined]
    return Keys(key["AccessKeyId"], key["SecretAccessKey"])


@pytest.fixture(scope="module")
def users(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Users]:
    """moto with the compliant environment plus one of each resource the audit reads (a VPC endpoint
    too), and IAM users; IAM is enforced from the moment the fixture yields."""
    from moto import mock_aws

    from tests.mnp_toolkit.ops.conftest import _isolate

    with pytest.MonkeyPatch.context() as monkeypatch, mock_aws(config=MOTO_BATCH_CONFIG), audit_gaps_filled():
        _isolate(monkeypatch, tmp_path_factory.mktemp("aws"))
        account = accounts.build_compliant()
        ec2, _, iam = accounts.clients()
        ec2.create_vpc_endpoint(VpcId=account.vpc, ServiceName=f"com.amazonaws.{REGION}.s3", VpcEndpointType="Gateway")
        policy = documented_policy()
        statement = policy["Statement"][0]  # type: ignore[index]
        created = Users(auditor=_user(iam, "auditor", policy), without={})
        for action in statement["Action"]:
            reduced = {**statement, "Action": [other for other in statement["Action"] if other != action]}
            created.without[action] = _user(iam, f"no-{action.replace(':', '-')}", {**policy, "Statement": [reduced]})
        with enforce_iam():
            yield created


def test_the_documented_policy_is_the_one_the_audit_declares() -> None:
    assert documented_policy() == audit_policy()
    assert all(action.split(":", 1)[1].startswith("Describe") for action in AUDIT_ACTIONS)  # read-only


def test_the_audit_works_with_exactly_the_documented_policy(users: Users) -> None:
    session = users.auditor.session()
    counter = CallCounter(session)
    result = audit(make_audit_clients(session=session))
    assert result.findings == []
    assert len(result.live.placement_groups) == len(result.live.vpc_endpoints) == 1
    # Every action the audit called is in the policy (GetCallerIdentity needs none).
    assert counter.actions == {*AUDIT_ACTIONS, "sts:GetCallerIdentity"}


def test_an_unknown_caller_is_rejected_in_one_line(users: Users) -> None:
    with pytest.raises(UserError) as raised:
        audit(make_audit_clients(session=Keys("AKIAUNKNOWN000000000", "x").session()))
    assert "AWS rejected the credentials" in str(raised.value) and "\n" not in str(raised.value)


@pytest.mark.parametrize("action", AUDIT_ACTIONS)
def test_each_action_is_needed_and_its_absence_named_in_one_line(
    users: Users, action: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = users.without[action]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", keys.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", keys.secret_key)
    assert cli_main(["audit", "--region", REGION]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("mnp audit: could not ")
    assert f"the caller needs {action}:" in line, line
