"""Shared AWS plumbing for the `mnp` operations commands (submit, status, preflight).

Three concerns live here so that every command behaves the same way:

* **client creation** honouring ``--region`` / ``--profile`` and the standard environment
  (``AWS_PROFILE``, ``AWS_REGION``, ``AWS_ENDPOINT_URL`` and the service-specific
  ``AWS_ENDPOINT_URL_<SERVICE>``, which botocore reads itself), with adaptive client-side retries so
  that throttling (``ThrottlingException``, ``TooManyRequestsException``) is absorbed before it
  reaches the user;
* **error mapping**: every botocore exception becomes one line that says what went wrong and what to
  do (:func:`describe_aws_error`), raised as :class:`mnp_toolkit.errors.UserError` by :func:`aws_errors`;

boto3 is imported inside functions only: `mnp lint` imports this package's siblings through the CLI
and must stay fast.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from mnp_toolkit.errors import UserError

if TYPE_CHECKING:
    import boto3
    from botocore.exceptions import ClientError

#: Exit code for usage errors and AWS errors (argparse also uses 2).
EXIT_AWS_ERROR = 2

#: Attempts (first call included) when neither ``AWS_MAX_ATTEMPTS`` nor the profile says otherwise.
DEFAULT_MAX_ATTEMPTS = 8

_ACCESS_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnauthorizedException",
        "AuthorizationError",
    }
)
_BAD_CREDENTIAL_CODES = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "AuthFailure",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "RequestExpired",
        "InvalidAccessKeyId",
    }
)
_THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "ProvisionedThroughputExceededException",
    }
)
# The IAM service prefix differs from the botocore service name for these.
_IAM_PREFIX = {"service-quotas": "servicequotas"}


def _max_attempts() -> int | None:
    """Attempts to configure, or None to let botocore read ``AWS_MAX_ATTEMPTS`` / the profile."""
    if os.environ.get("AWS_MAX_ATTEMPTS"):
        raw = os.environ["AWS_MAX_ATTEMPTS"]
        if not raw.isdigit() or int(raw) < 1:
            raise UserError(
                f"AWS_MAX_ATTEMPTS={raw!r} is not a positive integer: set it to e.g. 8 or unset it",
                EXIT_AWS_ERROR,
            )
        return None
    return DEFAULT_MAX_ATTEMPTS


def make_session(*, region: str | None = None, profile: str | None = None) -> boto3.Session:
    """A boto3 session for ``--region`` / ``--profile`` (None: the standard environment chain)."""
    import boto3
    from botocore.exceptions import BotoCoreError

    try:
        return boto3.Session(region_name=region or None, profile_name=profile or None)
    except BotoCoreError as error:
        raise UserError(describe_aws_error(error, action="set up the AWS session"), EXIT_AWS_ERROR) from None


def make_client(
    service: str,
    *,
    session: boto3.Session | None = None,
    region: str | None = None,
    profile: str | None = None,
) -> Any:
    """A botocore client with adaptive retries; AWS errors at creation become a :class:`UserError`.

    The endpoint is left to botocore so that ``AWS_ENDPOINT_URL`` and ``AWS_ENDPOINT_URL_<SERVICE>``
    (e.g. a local ``moto_server``) work exactly as in the AWS CLI.
    """
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    if session is None:
        session = make_session(region=region, profile=profile)
    retries: dict[str, Any] = {"mode": "adaptive"}
    attempts = _max_attempts()
    if attempts is not None:
        retries["total_max_attempts"] = attempts
    config = Config(retries=retries, user_agent_extra="mnp-toolkit")
    try:
        return session.client(service, config=config)
    except BotoCoreError as error:
        raise UserError(
            describe_aws_error(error, action=f"create the {service} client", service=service), EXIT_AWS_ERROR
        ) from None


def client_region(client: Any) -> str:
    """The Region a client talks to (for messages)."""
    return str(getattr(client.meta, "region_name", None) or "?")


_MAX_MESSAGE = 300


def _clip(text: str) -> str:
    """One line, and not a whole HTML error page when an endpoint answers with one."""
    text = " ".join(text.split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."


def _iam_action(service: str | None, operation: str | None) -> str | None:
    if not service or not operation:
        return None
    return f"{_IAM_PREFIX.get(service, service)}:{operation}"


def describe_aws_error(
    error: BaseException,
    *,
    action: str | None = None,
    service: str | None = None,
    region: str | None = None,
) -> str:
    """One line saying what failed and what to do, for any botocore/boto3 exception.

    ``action`` is a short description of what we tried ("describe job abc"); ``service`` is the
    botocore service name, used to name the IAM permission that is missing.
    """
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        CredentialRetrievalError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        ParamValidationError,
        PartialCredentialsError,
        ProfileNotFound,
        ReadTimeoutError,
        TokenRetrievalError,
    )

    what = f"could not {action}" if action else "AWS call failed"
    where = f" in {region}" if region else ""
    if isinstance(error, NoCredentialsError):
        return (
            f"{what}: no AWS credentials found: pass --profile, set AWS_PROFILE, or configure "
            "credentials (`aws configure`, `aws sso login`, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
        )
    if isinstance(error, PartialCredentialsError | CredentialRetrievalError | TokenRetrievalError):
        return (
            f"{what}: the AWS credentials could not be loaded ({error}): fix the profile, or run "
            "`aws sso login` if it is an SSO profile"
        )
    if isinstance(error, ProfileNotFound):
        return f"{what}: {error}: pass an existing --profile or AWS_PROFILE (see `aws configure list-profiles`)"
    if isinstance(error, NoRegionError):
        return f"{what}: no AWS Region configured: pass --region, set AWS_REGION, or set a region in the profile"
    if isinstance(error, EndpointConnectionError | ConnectTimeoutError):
        return (
            f"{what}: cannot reach the AWS endpoint ({error}): check the network, --region, and "
            "AWS_ENDPOINT_URL if it is set"
        )
    if isinstance(error, ReadTimeoutError | ConnectionClosedError):
        return f"{what}: the connection to AWS broke ({error}): check the network and try again"
    if isinstance(error, ParamValidationError):
        return f"{what}: invalid request parameters: {_clip(str(error))}"
    if isinstance(error, ClientError):
        code = _error_field(error, "Code", default="Unknown")
        message = _clip(_error_field(error, "Message"))
        operation = getattr(error, "operation_name", None)
        permission = _iam_action(service, operation)
        if code in _ACCESS_DENIED_CODES:
            needs = f" needs {permission}" if permission else " needs a permission it lacks"
            return (
                f"{what}: access denied{where} ({code}): the caller{needs}: add it to the role or "
                "user's IAM policy, or use a --profile that has it"
            )
        if code in _BAD_CREDENTIAL_CODES:
            return (
                f"{what}: AWS rejected the credentials ({code}: {message}): refresh them "
                "(`aws sso login`, new keys) or pass another --profile"
            )
        if code in _THROTTLING_CODES:
            return (
                f"{what}: AWS kept throttling the requests{where} ({code}) after retrying: wait a "
                "minute and run again, or raise AWS_MAX_ATTEMPTS"
            )
        if code == "ClientException":
            return f"{what}: AWS Batch rejected the request{where}: {message}"
        if code.startswith("NoSuch") or code.endswith("NotFound") or code.endswith("NotFoundException"):
            return f"{what}{where}: {code}: {message}"
        return f"{what}{where}: {code}: {message or 'no message'}"
    from botocore.exceptions import BotoCoreError

    if isinstance(error, BotoCoreError):
        return f"{what}: {_clip(str(error))}"
    return f"{what}: {type(error).__name__}: {_clip(str(error))}"


def _error_field(error: ClientError, key: str, *, default: str = "") -> str:
    """A field of the ``Error`` structure AWS answered ("Code", "Message"), ``default`` when absent."""
    return str(error.response.get("Error", {}).get(key, default))


def error_code(error: BaseException) -> str | None:
    """The AWS error code of a ``ClientError`` (None for other exceptions)."""
    from botocore.exceptions import ClientError

    if isinstance(error, ClientError):
        return _error_field(error, "Code") or None
    return None


def error_message(error: BaseException) -> str:
    """The AWS error message of a ``ClientError`` ("" for other exceptions)."""
    from botocore.exceptions import ClientError

    return _error_field(error, "Message") if isinstance(error, ClientError) else ""


def is_setup_error(error: BaseException) -> bool:
    """True when no call can succeed: no or rejected credentials, no Region, unreachable endpoint.

    Commands that run many checks stop at such an error instead of reporting every check as failed.
    """
    from botocore.exceptions import (
        ConnectTimeoutError,
        CredentialRetrievalError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
        ProfileNotFound,
        TokenRetrievalError,
    )

    setup = (
        NoCredentialsError,
        PartialCredentialsError,
        CredentialRetrievalError,
        TokenRetrievalError,
        ProfileNotFound,
        NoRegionError,
        EndpointConnectionError,
        ConnectTimeoutError,
    )
    return isinstance(error, setup) or error_code(error) in _BAD_CREDENTIAL_CODES


def is_access_denied(error: BaseException) -> bool:
    """True when AWS answered that the caller lacks a permission."""
    return error_code(error) in _ACCESS_DENIED_CODES


def aws_exception_types() -> tuple[type[BaseException], ...]:
    """The exceptions an AWS call raises (botocore's base classes), for ``except`` clauses; a
    function so that boto3 is imported only when a command talks to AWS."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)


@contextmanager
def aws_errors(*, action: str, service: str | None = None, region: str | None = None) -> Iterator[None]:
    """Turn any botocore exception raised in the block into a one-line :class:`UserError` (exit 2)."""
    try:
        yield
    except aws_exception_types() as error:
        raise UserError(
            describe_aws_error(error, action=action, service=service, region=region), EXIT_AWS_ERROR
        ) from None
