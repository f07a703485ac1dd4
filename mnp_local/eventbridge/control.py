"""The emulator's own HTTP API, beside AWS's: ``/mnp-local/...`` (as moto has ``/moto-api/...``).

* ``POST /mnp-local/events/fire-rule`` with ``{"Name": RULE, "EventBusName": "default", "Region": ...,
  "Account": ..., "Wait": true}``: fire a schedule rule's targets now, as its schedule would
  (:func:`mnp_local.eventbridge.schedule.fire_rule`). With ``Wait`` (the default) the answer lists each
  Lambda invocation (request id, whether it succeeded, its error, its log group and stream) once it ran.
* ``POST /mnp-local/credentials`` with ``{"Account": "111122223333"}``: an access key and secret that the
  emulator maps to that account (:mod:`mnp_local.accounts`), for the CDK CLI, boto3 and ``mnp`` to act in
  a config's own ``env.account``.

Region and account default to ``us-east-1`` and ``123456789012``. Errors are ``{"Error": message}`` with
HTTP 400 (bad request) or 404 (no such rule).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

PREFIX = "/mnp-local/"
FIRE_RULE = "/mnp-local/events/fire-rule"
CREDENTIALS = "/mnp-local/credentials"
_MAX_BODY = 64 * 1024
DEFAULT_REGION = "us-east-1"


class ControlApp:
    """WSGI middleware: answers ``/mnp-local/...`` itself, passes everything else to moto."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if not path.startswith(PREFIX):
            return self._app(environ, start_response)
        status, body = self._handle(environ, path)
        payload = json.dumps(body, default=str).encode("utf-8")
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
        return [payload]

    def _handle(self, environ: dict[str, Any], path: str) -> tuple[str, dict[str, Any]]:
        if environ.get("REQUEST_METHOD") != "POST":
            return "405 Method Not Allowed", {"Error": f"{path}: use POST"}
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > _MAX_BODY:
            return "400 Bad Request", {"Error": f"request body larger than {_MAX_BODY} bytes"}
        raw = environ["wsgi.input"].read(length) if length else b""
        try:
            request = json.loads(raw or b"{}")
        except ValueError:
            return "400 Bad Request", {"Error": "the request body is not JSON"}
        if not isinstance(request, dict):
            return "400 Bad Request", {"Error": "the request body must be a JSON object"}
        if path == FIRE_RULE:
            return _fire_rule(request)
        if path == CREDENTIALS:
            return _credentials(request)
        return "404 Not Found", {"Error": f"{path}: unknown; try {FIRE_RULE} or {CREDENTIALS}"}


def _fire_rule(request: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    from mnp_local import eventbridge
    from mnp_local.accounts import DEFAULT_ACCOUNT
    from mnp_local.eventbridge.lambdas import LambdaInvocationError
    from mnp_local.eventbridge.schedule import ScheduleError, fire_rule

    name = request.get("Name")
    if not isinstance(name, str) or not name:
        return "400 Bad Request", {"Error": "Name: the rule's name is required"}
    installed = eventbridge.current()
    if installed is None:
        return "400 Bad Request", {"Error": "EventBridge delivery is not running in this emulator"}
    try:
        deliveries = fire_rule(
            installed.executor,
            account=str(request.get("Account") or DEFAULT_ACCOUNT),
            region=str(request.get("Region") or DEFAULT_REGION),
            name=name,
            bus=str(request.get("EventBusName") or "default"),
            wait=bool(request.get("Wait", True)),
        )
    except ScheduleError as error:
        return "404 Not Found", {"Error": str(error)}
    except LambdaInvocationError as error:
        return "400 Bad Request", {"Error": str(error)}
    answer = []
    for delivery in deliveries:
        entry: dict[str, Any] = {"Rule": delivery.rule, "TargetId": delivery.target_id, "Arn": delivery.target_arn}
        if delivery.error is not None:
            entry["Error"] = delivery.error
        if delivery.invocation is not None:
            invocation = delivery.invocation
            entry.update(
                RequestId=invocation.request_id,
                Succeeded=invocation.ok,
                FunctionError=invocation.error_type,
                ErrorMessage=invocation.error_message,
                Result=invocation.result,
                LogGroupName=invocation.log_group,
                LogStreamName=invocation.log_stream,
            )
        answer.append(entry)
    return "200 OK", {"Invocations": answer}


def _credentials(request: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    from mnp_local.accounts import AccountError, credentials_for

    try:
        key, secret = credentials_for(str(request.get("Account") or ""))
    except AccountError as error:
        return "400 Bad Request", {"Error": f"Account: {error}"}
    return "200 OK", {"AccessKeyId": key, "SecretAccessKey": secret}
