"""Shared AWS plumbing for the `mnp` operations commands (submit, status, preflight, and any later one
such as logs): build clients with :func:`make_session` / :func:`make_client` and wrap calls in
:func:`aws_errors`, and a command inherits all of the following.

* **The Region**: ``--region``, else ``AWS_REGION``, else ``AWS_DEFAULT_REGION``, else the profile's.
  The AWS SDKs and Tools reference guide names ``AWS_REGION`` as the Region variable (and it wins over
  the config file; https://docs.aws.amazon.com/sdkref/latest/guide/feature-region.html), but botocore
  1.44.5, the pinned version, reads only ``AWS_DEFAULT_REGION`` (botocore/configprovider.py), so a
  user who followed the guide would get "no Region". :func:`make_session` therefore reads
  ``AWS_REGION`` itself and leaves ``AWS_DEFAULT_REGION`` and the profile to botocore.
* **Endpoints and credentials** as in the AWS CLI: ``AWS_PROFILE``, ``AWS_ENDPOINT_URL`` and
  ``AWS_ENDPOINT_URL_<SERVICE>`` (for example a local ``moto_server``) are read by botocore itself.
* **Retries**: botocore's ``standard`` retry mode (``retries={"mode": "standard"}``), the mode the
  developers' guide asks for and the one the SDK reference recommends ("adaptive ... appropriate only
  for specialized use-cases", https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html;
  https://docs.aws.amazon.com/boto3/latest/guide/retries.html). Adaptive mode, used before, also
  rate-limits on the client side, which a command making a handful of calls does not need. Throttling
  is retried with back-off, `DEFAULT_MAX_ATTEMPTS` attempts in all unless ``AWS_MAX_ATTEMPTS`` says
  otherwise.
* **Timeouts**: `CONNECT_TIMEOUT_S` to connect and `READ_TIMEOUT_S` for an answer (botocore's default
  is 60 s each, which with 8 attempts let an endpoint that accepts and never answers hold a command for
  485 s in silence). An endpoint that does not answer (timeouts, refused or dropped connections) is
  tried at most `MAX_UNANSWERED_ATTEMPTS` times, and each retry says on stderr what is being waited
  for; then the call fails with :class:`AwsNoAnswer`. So a call gives up within about
  ``MAX_UNANSWERED_ATTEMPTS * READ_TIMEOUT_S`` plus a few seconds of back-off (about 65 s).
* **Answers that are not AWS's**: botocore reads an HTTP 200 whose body is not JSON (a captive portal,
  a proxy's page, a wrong ``AWS_ENDPOINT_URL``) as an empty answer, so DescribeJobs "finds no job",
  and a body of the wrong shape ends in an AttributeError inside botocore's parser. Every client's
  parser is wrapped (:class:`_CheckingParserFactory`) so both are :class:`AwsUnexpectedResponse`.
* **Error mapping**: every botocore exception, and the two above, becomes one line that says what
  went wrong and what to do (:func:`describe_aws_error`), raised as
  :class:`mnp_toolkit.errors.UserError` by :func:`aws_errors`; text that came from the user or from an
  endpoint is printed with control characters escaped (:func:`one_line`), so it cannot break the line.

boto3 is imported inside functions only: `mnp lint` imports this package's siblings through the CLI
and must stay fast.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterator
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

#: Seconds to open a connection: an AWS endpoint connects in milliseconds, so this only bounds a black hole.
CONNECT_TIMEOUT_S = 5.0
#: Seconds to wait for an answer. The calls these commands make (Batch DescribeJobs of 100 ids, EC2
#: describe pages, Service Quotas, STS) answer within a second or two.
READ_TIMEOUT_S = 20.0
#: Attempts at most for one call when the endpoint does not answer (timeout, refused, dropped), however
#: many attempts throttling may take: waiting longer for a silent endpoint helps nobody.
MAX_UNANSWERED_ATTEMPTS = 3

Notify = Callable[[str], None]


class AwsNoAnswer(Exception):
    """The endpoint did not answer a call within the attempts and timeouts of :func:`make_client`."""


class AwsUnexpectedResponse(Exception):
    """The endpoint answered, but not with the AWS response the call expects (HTML, not JSON, wrong shape)."""


def one_line(text: object) -> str:
    """`text` on one line: newlines, ANSI escapes and other control characters are shown escaped
    (``\\n``, ``\\x1b``), so a value from the user or an endpoint cannot forge or split a line."""
    value = str(text)
    if value.isprintable():
        return value
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in value)


def shown(value: str) -> str:
    """A value the user gave, as a message shows it: as is when plain, quoted and escaped otherwise."""
    return value if value and value.isprintable() and value.strip() == value else repr(value)


def _stderr_notice(text: str) -> None:
    print(f"mnp: {text}", file=sys.stderr, flush=True)


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


def session_region(region: str | None = None) -> str | None:
    """The Region to give boto3 explicitly: ``--region``, else ``AWS_REGION`` (which botocore 1.44.5 does
    not read); None leaves ``AWS_DEFAULT_REGION`` and the profile's region to botocore."""
    if region:
        return region
    return os.environ.get("AWS_REGION", "").strip() or None


def make_session(*, region: str | None = None, profile: str | None = None) -> boto3.Session:
    """A boto3 session for ``--region`` / ``--profile`` (None: the standard environment chain, with
    ``AWS_REGION`` honoured), whose clients check that answers are AWS's (see the module docstring)."""
    import boto3
    import botocore.session
    from botocore.exceptions import BotoCoreError

    try:
        core = botocore.session.get_session()
        core.register_component("response_parser_factory", _checking_parser_factory())
        return boto3.Session(botocore_session=core, region_name=session_region(region), profile_name=profile or None)
    except BotoCoreError as error:
        raise UserError(describe_aws_error(error, action="set up the AWS session"), EXIT_AWS_ERROR) from None


def make_client(
    service: str,
    *,
    session: boto3.Session | None = None,
    region: str | None = None,
    profile: str | None = None,
    notify: Notify | None = None,
) -> Any:
    """A botocore client with standard retries, connect/read timeouts, a bound on attempts at a silent
    endpoint and checked answers; AWS errors at creation become a :class:`UserError`.

    The endpoint is left to botocore so that ``AWS_ENDPOINT_URL`` and ``AWS_ENDPOINT_URL_<SERVICE>``
    (e.g. a local ``moto_server``) work exactly as in the AWS CLI. `notify` receives one line each time
    a call is retried because the endpoint did not answer (default: stderr, prefixed ``mnp:``).
    """
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    if session is None:
        session = make_session(region=region, profile=profile)
    retries: dict[str, Any] = {"mode": "standard"}
    attempts = _max_attempts()
    if attempts is not None:
        retries["total_max_attempts"] = attempts
    config = Config(
        retries=retries,
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        user_agent_extra="mnp-toolkit",
    )
    try:
        client = session.client(service, config=config)
    except BotoCoreError as error:
        raise UserError(
            describe_aws_error(error, action=f"create the {service} client", service=service), EXIT_AWS_ERROR
        ) from None
    max_attempts = int((client.meta.config.retries or {}).get("total_max_attempts") or 3)
    client.meta.events.register(
        "needs-retry", _UnansweredBudget(service, max_attempts, notify or _stderr_notice), unique_id="mnp-unanswered"
    )
    return client


class _UnansweredBudget:
    """A ``needs-retry`` handler: says what is being waited for when a call is retried because the
    endpoint did not answer, and ends the call after `MAX_UNANSWERED_ATTEMPTS` such attempts.

    botocore's own retry handler (standard mode) still decides whether and when to retry; this one only
    speaks, or stops a retry of a silent endpoint by raising :class:`AwsNoAnswer`, which botocore
    passes to the caller.
    """

    def __init__(self, service: str, max_attempts: int, notify: Notify) -> None:
        self._service = service
        self._last_attempt = max(1, min(max_attempts, MAX_UNANSWERED_ATTEMPTS))
        self._notify = notify

    def __call__(self, *, attempts: int, caught_exception: BaseException | None, operation: Any, **_: Any) -> None:
        from botocore.exceptions import (
            ConnectionClosedError,
            ConnectTimeoutError,
            EndpointConnectionError,
            ReadTimeoutError,
        )

        if not isinstance(
            caught_exception, ReadTimeoutError | ConnectTimeoutError | EndpointConnectionError | ConnectionClosedError
        ):
            return
        endpoint = one_line(getattr(caught_exception, "kwargs", {}).get("endpoint_url") or "the endpoint")
        call = f"{self._service} {getattr(operation, 'name', '?')}"
        if isinstance(caught_exception, ReadTimeoutError):
            what = f"no answer from {endpoint} ({call}) within {READ_TIMEOUT_S:g} s"
        elif isinstance(caught_exception, ConnectTimeoutError):
            what = f"could not connect to {endpoint} ({call}) within {CONNECT_TIMEOUT_S:g} s"
        elif isinstance(caught_exception, EndpointConnectionError):
            what = f"cannot reach the AWS endpoint {endpoint} ({call})"
        else:
            what = f"the connection to {endpoint} ({call}) closed without an answer"
        if attempts >= self._last_attempt:
            raise AwsNoAnswer(f"{what} ({attempts} attempt{'s' if attempts != 1 else ''})") from None
        self._notify(f"{what}; trying again (attempt {attempts + 1} of at most {self._last_attempt})")


# The first element of an XML document, after an optional declaration and comments.
_XML_ROOT = re.compile(
    rb"\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*<(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)", re.DOTALL
)
# Exceptions botocore's parsers raise on a body of the wrong shape (not their own ResponseParserError).
_SHAPE_ERRORS = (AttributeError, TypeError, ValueError, KeyError, IndexError, RecursionError)


def _checking_parser_factory() -> Any:
    """A botocore ResponseParserFactory whose parsers first check that a 2xx body is an AWS response."""
    from botocore.parsers import ResponseParserError, ResponseParserFactory

    class _CheckingParser:
        def __init__(self, inner: Any, protocol: str) -> None:
            self._inner = inner
            self._protocol = protocol

        def __getattr__(self, name: str) -> Any:
            return getattr(self._inner, name)

        def parse(self, response: dict[str, Any], shape: Any) -> Any:
            status = int(response.get("status_code") or 0)
            if 200 <= status < 300 and shape is not None:
                self._check(response, shape, status)
            try:
                return self._inner.parse(response, shape)
            except (ResponseParserError, *_SHAPE_ERRORS) as error:
                raise AwsUnexpectedResponse(
                    f"{_answer(response, status)}, which is not a valid {getattr(shape, 'name', 'AWS response')} "
                    f"({type(error).__name__}: {_clip(one_line(error))})"
                ) from None

        def _check(self, response: dict[str, Any], shape: Any, status: int) -> None:
            body = response.get("body")
            if not isinstance(body, bytes):
                return  # a streaming body: nothing to check before it is read
            if self._protocol in ("json", "rest-json"):
                if not _has_body_members(shape):
                    return
                try:
                    document = json.loads(body) if body.strip() else None
                except (ValueError, RecursionError):
                    document = None
                if not isinstance(document, dict):
                    raise AwsUnexpectedResponse(f"{_answer(response, status)}, not the JSON object of an AWS answer")
            elif self._protocol in ("query", "ec2"):
                root = _XML_ROOT.match(body)
                if root is None or not root.group(1).endswith(b"Response"):
                    raise AwsUnexpectedResponse(f"{_answer(response, status)}, not the XML of an AWS answer")

    class _CheckingParserFactory(ResponseParserFactory):
        def create_parser(self, protocol_name: str) -> Any:
            return _CheckingParser(super().create_parser(protocol_name), protocol_name)

    return _CheckingParserFactory()


def _has_body_members(shape: Any) -> bool:
    """True when the output shape has a member carried in the body (not only in headers)."""
    members = getattr(shape, "members", None) or {}
    return any(not member.serialization.get("location") for member in members.values())


def _answer(response: dict[str, Any], status: int) -> str:
    """ "the endpoint answered HTTP 200 (text/html) '<html>...'": what came back, short and on one line."""
    headers = response.get("headers") or {}
    content_type = headers.get("content-type") or headers.get("Content-Type") or "no content type"
    body = response.get("body")
    snippet = body[:60].decode("utf-8", "replace") if isinstance(body, bytes) else ""
    shown_body = f" {one_line(snippet)!r}" if snippet.strip() else " with an empty body"
    return f"the endpoint answered HTTP {status} ({one_line(content_type)}){shown_body}"


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
    botocore service name, used to name the IAM permission that is missing. Control characters, from
    the user's input or an endpoint's message, are escaped: the result is always one line.
    """
    return one_line(_describe(error, action=action, service=service, region=region))


def _describe(error: BaseException, *, action: str | None, service: str | None, region: str | None) -> str:
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
    if isinstance(error, AwsNoAnswer):
        return (
            f"{what}: {error}: check the network, --region, and AWS_ENDPOINT_URL if it is set (a proxy in "
            "HTTPS_PROXY must let the call through)"
        )
    if isinstance(error, AwsUnexpectedResponse):
        return (
            f"{what}: {error}: something other than AWS answered; check AWS_ENDPOINT_URL (and "
            "AWS_ENDPOINT_URL_<SERVICE>), HTTPS_PROXY and --region"
        )
    if isinstance(error, NoRegionError):
        return (
            f"{what}: no AWS Region configured: pass --region, set AWS_REGION (or AWS_DEFAULT_REGION), or set "
            "a region in the profile"
        )
    if isinstance(error, EndpointConnectionError | ConnectTimeoutError):
        return (
            f"{what}: cannot reach the AWS endpoint ({error}): check the network, --region, and "
            "AWS_ENDPOINT_URL if it is set"
        )
    if isinstance(error, ReadTimeoutError):
        return f"{what}: AWS did not answer in time ({error}): check the network and try again"
    if isinstance(error, ConnectionClosedError):
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
    """True when no call can succeed: no or rejected credentials, no Region, an endpoint that cannot be
    reached, does not answer, or is not AWS.

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
        AwsNoAnswer,
        AwsUnexpectedResponse,
    )
    return isinstance(error, setup) or error_code(error) in _BAD_CREDENTIAL_CODES


def is_access_denied(error: BaseException) -> bool:
    """True when AWS answered that the caller lacks a permission."""
    return error_code(error) in _ACCESS_DENIED_CODES


def aws_exception_types() -> tuple[type[BaseException], ...]:
    """The exceptions an AWS call raises (botocore's base classes), for ``except`` clauses; a
    function so that boto3 is imported only when a command talks to AWS."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError, AwsNoAnswer, AwsUnexpectedResponse)


@contextmanager
def aws_errors(*, action: str, service: str | None = None, region: str | None = None) -> Iterator[None]:
    """Turn any botocore exception raised in the block into a one-line :class:`UserError` (exit 2)."""
    try:
        yield
    except aws_exception_types() as error:
        raise UserError(
            describe_aws_error(error, action=action, service=service, region=region), EXIT_AWS_ERROR
        ) from None
