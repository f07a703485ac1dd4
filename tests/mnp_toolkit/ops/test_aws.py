"""Tests for the shared AWS plumbing (mnp_toolkit/ops/aws.py): clients and one-line errors.

Backends: botocore itself (client construction reads no network), botocore's Stubber for service
errors, and a refused connection on 127.0.0.1 for an unreachable endpoint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mnp_toolkit.cli import main as cli_main
from mnp_toolkit.errors import UserError
from mnp_toolkit.ops.aws import (
    CONNECT_TIMEOUT_S,
    DEFAULT_MAX_ATTEMPTS,
    READ_TIMEOUT_S,
    aws_errors,
    describe_aws_error,
    make_client,
)


def _write_config(path: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path.write_text(text)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(path))


def test_client_uses_standard_retries_and_timeouts() -> None:
    """botocore: clients use the standard retry mode, DEFAULT_MAX_ATTEMPTS attempts in all, and bounded
    connect and read timeouts (botocore's default is 60 s each)."""
    client = make_client("batch")

    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": DEFAULT_MAX_ATTEMPTS}
    assert client.meta.config.connect_timeout == CONNECT_TIMEOUT_S
    assert client.meta.config.read_timeout == READ_TIMEOUT_S
    assert CONNECT_TIMEOUT_S < 60 and READ_TIMEOUT_S < 60


def test_aws_max_attempts_from_the_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore: AWS_MAX_ATTEMPTS, when set, is left to botocore instead of our default."""
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")

    assert make_client("batch").meta.config.retries["total_max_attempts"] == 3


def test_bad_aws_max_attempts_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """No AWS: a malformed AWS_MAX_ATTEMPTS is a UserError, not a botocore traceback."""
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "lots")

    with pytest.raises(UserError, match="AWS_MAX_ATTEMPTS='lots' is not a positive integer"):
        make_client("batch")


def test_region_and_profile_are_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore: --profile picks the profile's Region (when no AWS_REGION is set); --region overrides it."""
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    _write_config(
        tmp_path / "config",
        "[profile dev]\nregion = eu-west-1\naws_access_key_id = a\naws_secret_access_key = b\n",
        monkeypatch,
    )

    assert make_client("batch", profile="dev").meta.region_name == "eu-west-1"
    assert make_client("batch", profile="dev", region="ap-southeast-2").meta.region_name == "ap-southeast-2"


def test_endpoint_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore: AWS_ENDPOINT_URL (e.g. a local moto_server) is used for every service client."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5999")

    assert make_client("batch").meta.endpoint_url == "http://127.0.0.1:5999"
    assert make_client("ec2").meta.endpoint_url == "http://127.0.0.1:5999"


def test_unknown_profile_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    """botocore: ProfileNotFound from --profile becomes one line through `mnp status`, exit 2."""
    code = cli_main(["status", "job-1", "--profile", "nope"])

    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert "nope" in err and "--profile" in err


def test_no_region_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore: NoRegionError at client creation says how to set a Region."""
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")

    with pytest.raises(UserError) as caught:
        make_client("batch")

    assert caught.value.exit_code == 2
    assert "no AWS Region configured: pass --region" in str(caught.value)


def test_no_credentials_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore: without any credentials the first call raises NoCredentialsError, mapped to one
    line naming --profile / `aws configure` (instance metadata is disabled in these tests)."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    client = make_client("batch")

    with pytest.raises(UserError) as caught, aws_errors(action="describe job x", service="batch"):
        client.describe_jobs(jobs=["x"])

    assert "could not describe job x: no AWS credentials found: pass --profile" in str(caught.value)


def test_unreachable_endpoint_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused connection on 127.0.0.1 (AWS_ENDPOINT_URL to a closed port, one attempt) raises
    EndpointConnectionError, mapped to a line about network, Region and AWS_ENDPOINT_URL."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    client = make_client("batch")

    with pytest.raises(UserError) as caught, aws_errors(action="describe job x", service="batch"):
        client.describe_jobs(jobs=["x"])

    assert "cannot reach the AWS endpoint" in str(caught.value)
    assert "AWS_ENDPOINT_URL" in str(caught.value)


@pytest.mark.parametrize(
    ("service", "method", "params", "code", "expected"),
    [
        ("batch", "describe_jobs", {"jobs": ["x"]}, "AccessDeniedException", "needs batch:DescribeJobs"),
        (
            "ec2",
            "describe_subnets",
            {},
            "UnauthorizedOperation",
            "needs ec2:DescribeSubnets: add it to the role or user's IAM policy",
        ),
        (
            "service-quotas",
            "get_service_quota",
            {"ServiceCode": "ec2", "QuotaCode": "L-1216C47A"},
            "AccessDeniedException",
            "needs servicequotas:GetServiceQuota",
        ),
        ("batch", "describe_jobs", {"jobs": ["x"]}, "ThrottlingException", "kept throttling the requests"),
        ("batch", "describe_jobs", {"jobs": ["x"]}, "TooManyRequestsException", "raise AWS_MAX_ATTEMPTS"),
        ("ec2", "describe_subnets", {}, "RequestLimitExceeded", "kept throttling the requests"),
        ("batch", "describe_jobs", {"jobs": ["x"]}, "ExpiredTokenException", "AWS rejected the credentials"),
        ("batch", "describe_jobs", {"jobs": ["x"]}, "ClientException", "AWS Batch rejected the request"),
        ("batch", "describe_jobs", {"jobs": ["x"]}, "ServerException", "ServerException: boom"),
    ],
)
def test_service_errors_are_one_line(
    stubbed: Any, service: str, method: str, params: dict[str, Any], code: str, expected: str
) -> None:
    """Stubber: AWS error codes map to one line that says what to do. (Stubbed errors bypass
    botocore's retries; in real use throttling reaches this point only after the adaptive retries.)"""
    client, stubber = stubbed(service)
    stubber.add_client_error(method, code, "boom", 400)

    with pytest.raises(Exception) as raised:
        getattr(client, method)(**params)
    line = describe_aws_error(raised.value, action="do it", service=service, region="us-east-1")

    assert expected in line
    assert line.startswith("could not do it")
    assert "\n" not in line


def test_long_messages_are_clipped(stubbed: Any) -> None:
    """Stubber: an endpoint answering with a whole HTML page still yields one short line."""
    client, stubber = stubbed("batch")
    stubber.add_client_error("describe_jobs", "InternalError", "<html> " + "x " * 2000 + "</html>", 500)

    with pytest.raises(Exception) as raised:
        client.describe_jobs(jobs=["x"])
    line = describe_aws_error(raised.value, action="describe job x")

    assert len(line) < 400
    assert line.endswith("...")
