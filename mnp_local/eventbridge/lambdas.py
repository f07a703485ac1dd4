"""Run a deployed Lambda function's own code, as Lambda would for an asynchronous invocation.

moto 5.2.5 without Docker does not run functions: ``Invoke`` echoes the payload (``awslambda_simple``).
The code is in moto's store all the same: ``LambdaFunction.code_bytes`` is the zip the function was
created from (for a CDK asset, the object CloudFormation's ``Code.S3Bucket``/``S3Key`` named in the
emulated S3). :class:`LambdaExecutor` unzips it into a fresh directory and runs the handler in a host
subprocess, with what Lambda's Python runtime gives a function (``docs/local-run.md`` lists it):

* the function's ``Environment.Variables``, plus the reserved variables (``AWS_LAMBDA_FUNCTION_NAME``,
  ``AWS_LAMBDA_LOG_GROUP_NAME``, ``LAMBDA_TASK_ROOT``, ``AWS_REGION``, ``TZ=:UTC``, ...), and credentials
  of the function's account with ``AWS_ENDPOINT_URL`` pointing at the emulator (never the emulator's own
  environment, so a real profile or key cannot leak in);
* the handler (``module.function``) imported from the unzipped code only (``sys.path[0]`` is the code
  directory; nothing of this repository is imported for it), called with the event and a context object
  (``aws_request_id``, ``function_name``, ``memory_limit_in_mb``, ``invoked_function_arn``,
  ``log_group_name``, ``log_stream_name``, ``get_remaining_time_in_millis()``);
* the function's ``Timeout``, **not scaled** by ``MNP_LOCAL_TIME_SCALE``: code reads its remaining time
  (the watchdog's sweep plans its API calls by it), so it must be the configured one;
* its output, line by line, in CloudWatch Logs: the group of ``LoggingConfig.LogGroup`` (kept by the
  ``lambda_function`` adapter) or ``/aws/lambda/<name>``, a stream ``YYYY/MM/DD/[$LATEST]<id>``, framed by
  Lambda's ``START``/``END``/``REPORT`` lines;
* ``ReservedConcurrentExecutions``: at most that many invocations run at once (the others wait, as Lambda
  queues throttled asynchronous invocations); an emulator-wide cap of :data:`MAX_CONCURRENT` keeps a burst
  from swamping a small machine;
* asynchronous retries: a function error or timeout is retried twice, after 1 and 2 minutes (scaled), or
  as the function's ``EventInvokeConfig`` says; then the event goes to the function's dead-letter queue
  (``DeadLetterConfig.TargetArn``, SQS) with Lambda's ``RequestID``/``ErrorCode``/``ErrorMessage``
  attributes. ("If the function returns an error, by default Lambda attempts to run it two more times,
  with a one-minute wait between the first two attempts, and two minutes between the second and third
  attempts. Function errors include errors returned by the function's code and errors returned by the
  function's runtime, such as timeouts": Lambda developer guide, "How Lambda handles errors and retries
  with asynchronous invocation".)

What is not faithful: the host's Python runs the code (a ``python3.14`` function runs on the emulator's
interpreter, with its ``boto3``), with the host's memory and no sandbox; only Python runtimes run (another
runtime is an invocation error naming it).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mnp_local.runner.logs import LogTarget, NodeLogWriter
from mnp_local.runner.processes import Reaper

logger = logging.getLogger(__name__)

#: Invocations that run at once in the whole emulator (each is a Python process importing boto3).
MAX_CONCURRENT = 4
#: "by default Lambda attempts to run it two more times, with a one-minute wait between the first two
#: attempts, and two minutes between the second and third attempts" (Lambda developer guide, "How Lambda
#: handles errors and retries with asynchronous invocation").
ASYNC_RETRY_DELAYS_S = (60.0, 120.0)
#: What a handler may return, at most, into the emulator (Lambda's synchronous response limit: 6 MB).
MAX_RESULT_BYTES = 6 * 1024 * 1024
_PYTHON_RUNTIME = "python"

#: The runtime shim run in the subprocess: reads the event from stdin, imports the handler from the code
#: directory (argv[1]), calls it, writes the outcome as JSON to argv[3]. The shim is the emulator's; the
#: function's code is only what was deployed.
BOOTSTRAP = r"""
import importlib, json, os, sys, time, traceback
task_root, handler, result_path = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, task_root)
deadline = float(os.environ.pop("MNP_LOCAL_LAMBDA_DEADLINE"))

class Context:
    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
    invoked_function_arn = os.environ.pop("MNP_LOCAL_LAMBDA_ARN")
    memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
    aws_request_id = os.environ.pop("MNP_LOCAL_LAMBDA_REQUEST_ID")
    log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
    log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
    identity = None
    client_context = None

    @staticmethod
    def get_remaining_time_in_millis():
        return max(0, int((deadline - time.time()) * 1000))

def outcome(value):
    with open(result_path, "w", encoding="utf-8") as handle:
        json.dump(value, handle, default=str)

try:
    module_name, _, function_name = handler.rpartition(".")
    function = getattr(importlib.import_module(module_name.replace("/", ".")), function_name)
except Exception as error:
    print(f"[ERROR] Runtime.ImportModuleError: Unable to import module '{handler}': {error}", flush=True)
    outcome({"ok": False, "errorType": "Runtime.ImportModuleError", "errorMessage": str(error)})
    sys.exit(1)
event = json.loads(sys.stdin.buffer.read() or b"null")
try:
    result = function(event, Context())
except Exception as error:
    print(f"[ERROR] {type(error).__name__}: {error}", flush=True)
    traceback.print_exc()
    sys.stdout.flush()
    outcome({"ok": False, "errorType": type(error).__name__, "errorMessage": str(error)})
    sys.exit(1)
outcome({"ok": True, "result": result})
"""


@dataclass(frozen=True)
class Invocation:
    """One run of a function's code: how it ended and where its log went."""

    function_arn: str
    request_id: str
    ok: bool
    error_type: str | None
    error_message: str | None
    result: Any
    log_group: str
    log_stream: str
    seconds: float


class LambdaInvocationError(RuntimeError):
    """The function cannot be run at all (not found, not a Python runtime, no code)."""


def _split_function_arn(arn: str) -> tuple[str, str, str]:
    """(account, region, name) of ``arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]``."""
    parts = arn.split(":")
    if len(parts) < 7 or parts[2] != "lambda" or parts[5] != "function":
        raise LambdaInvocationError(f"{arn!r} is not a Lambda function ARN")
    return parts[4], parts[3], parts[6]


def lookup_function(arn: str) -> Any:
    """moto's ``LambdaFunction`` for ``arn`` (the store the API and CloudFormation use without Docker)."""
    from moto.awslambda.exceptions import UnknownFunctionException
    from moto.awslambda.utils import get_backend

    account, region, name = _split_function_arn(arn)
    try:
        return get_backend(account, region).get_function(name)
    except UnknownFunctionException:
        raise LambdaInvocationError(f"function {arn} does not exist") from None


def log_group_of(function: Any) -> str:
    """``LoggingConfig.LogGroup`` (kept by the lambda_function adapter), else Lambda's default group."""
    configured = (getattr(function, "logging_config", None) or {}).get("LogGroup")
    return str(configured or f"/aws/lambda/{function.function_name}")


class LambdaExecutor:
    """Runs functions' code for the emulator (see the module doc); one per emulator process."""

    def __init__(
        self,
        *,
        endpoint: Callable[[], str | None],
        credentials: Callable[[str], tuple[str, str]],
        reaper: Reaper | None,
        time_scale: float = 1.0,
    ) -> None:
        self._endpoint = endpoint
        self._credentials = credentials
        self._reaper = reaper
        self._time_scale = time_scale
        self._lock = threading.Lock()
        self._per_function: dict[tuple[str, int], threading.BoundedSemaphore] = {}
        self._all = threading.BoundedSemaphore(MAX_CONCURRENT)
        self._closed = threading.Event()
        self._running: set[subprocess.Popen[bytes]] = set()
        self._threads: set[threading.Thread] = set()

    # --------------------------------------------------------------------------------- public

    def invoke_async(
        self, arn: str, payload: bytes, *, on_done: Callable[[Invocation | None], None] | None = None
    ) -> threading.Thread:
        """Invoke ``arn`` asynchronously (EventBridge's way): retries and the dead-letter queue as Lambda's.

        ``on_done`` gets the last invocation (None when the function could not be run at all).
        """
        thread = threading.Thread(
            target=self._async, args=(arn, payload, on_done), name=f"mnp-lambda-{arn.rsplit(':', 1)[-1]}", daemon=True
        )
        with self._lock:
            self._threads = {t for t in self._threads if t.is_alive()}
            self._threads.add(thread)
        thread.start()
        return thread

    def invoke(self, arn: str, payload: bytes) -> Invocation:
        """Run ``arn`` once with ``payload`` and wait for it (no retries)."""
        function = lookup_function(arn)
        semaphore = self._semaphore(function)
        with semaphore, self._all:
            if self._closed.is_set():
                raise LambdaInvocationError("the emulated AWS is stopping")
            return self._run(function, payload)

    def busy(self) -> bool:
        with self._lock:
            return any(thread.is_alive() for thread in self._threads)

    def close(self) -> None:
        """Stop: running invocations are killed, waiting ones are dropped."""
        self._closed.set()
        with self._lock:
            running = list(self._running)
        for process in running:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)

    # -------------------------------------------------------------------------------- internals

    def _semaphore(self, function: Any) -> threading.BoundedSemaphore:
        reserved = function.reserved_concurrency
        limit = int(reserved) if isinstance(reserved, int | str) and str(reserved).isdigit() else MAX_CONCURRENT
        if limit == 0:
            # Reserved concurrency "prevents it from scaling beyond that level" (PutFunctionConcurrency): none.
            raise LambdaInvocationError(f"function {function.function_name} has a reserved concurrency of 0")
        with self._lock:
            key = (function.function_arn, limit)
            if key not in self._per_function:
                self._per_function[key] = threading.BoundedSemaphore(limit)
            return self._per_function[key]

    def _async(self, arn: str, payload: bytes, on_done: Callable[[Invocation | None], None] | None) -> None:
        last: Invocation | None = None
        try:
            function = lookup_function(arn)
            retries = _retry_attempts(function)
            for attempt in range(retries + 1):
                if attempt:
                    delay = ASYNC_RETRY_DELAYS_S[min(attempt, len(ASYNC_RETRY_DELAYS_S)) - 1] * self._time_scale
                    if self._closed.wait(delay):
                        return
                last = self.invoke(arn, payload)
                if last.ok:
                    return
            if last is not None:
                self._dead_letter(function, payload, last)
        except LambdaInvocationError as error:
            logger.warning("cannot invoke %s: %s", arn, error)
        except Exception:
            logger.exception("invoking %s failed in the emulator", arn)
        finally:
            if on_done is not None:
                try:
                    on_done(last)
                except Exception:
                    logger.exception("an invocation listener failed")

    def _environment(self, function: Any, *, task_root: Path, group: str, stream: str) -> dict[str, str]:
        account, region = function.account_id, function.region
        key, secret = self._credentials(account)
        runtime = str(function.run_time or "")
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "HOME": str(task_root.parent),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        env.update({str(k): str(v) for k, v in (function.environment_vars or {}).items()})
        env.update(
            {
                # Lambda's reserved variables: a function cannot set these.
                "_HANDLER": str(function.handler),
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}",
                "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
                "AWS_LAMBDA_LOG_GROUP_NAME": group,
                "AWS_LAMBDA_LOG_STREAM_NAME": stream,
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                "AWS_REGION": region,
                "AWS_DEFAULT_REGION": region,
                "AWS_ACCESS_KEY_ID": key,
                "AWS_SECRET_ACCESS_KEY": secret,
                "AWS_SESSION_TOKEN": "mnp-local",
                "LAMBDA_TASK_ROOT": str(task_root),
                "LAMBDA_RUNTIME_DIR": str(task_root),
                # Not Lambda's: the emulator's endpoint and no shared files, so boto3 calls the emulator only.
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_EC2_METADATA_DISABLED": "true",
            }
        )
        endpoint = self._endpoint()
        if endpoint:
            env["AWS_ENDPOINT_URL"] = endpoint
        return env

    @contextlib.contextmanager
    def _registered(self, kind: str, argument: object) -> Iterator[None]:
        """``argument`` is known to the reaper while the block runs: a killed emulator leaves none behind."""
        if self._reaper is not None:
            self._reaper.tell(kind, argument)
        try:
            yield
        finally:
            if self._reaper is not None:
                self._reaper.tell(f"un{kind}", argument)

    def _run(self, function: Any, payload: bytes) -> Invocation:
        runtime = str(function.run_time or "")
        if not runtime.startswith(_PYTHON_RUNTIME):
            raise LambdaInvocationError(
                f"function {function.function_name} has runtime {runtime or '(none)'}: the emulator runs Python "
                "functions only"
            )
        code = getattr(function, "code_bytes", b"") or b""
        if not code:
            raise LambdaInvocationError(f"function {function.function_name} has no code in the emulator")
        request_id = str(uuid.uuid4())
        now = datetime.now(UTC)
        group = log_group_of(function)
        stream = f"{now:%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        writer = NodeLogWriter(
            account=function.account_id,
            target=LogTarget(driver="awslogs", region=function.region, group=group, stream=stream),
        )
        timeout = float(function.timeout or 3)
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="mnp_local_lambda_") as workdir, self._registered("path", workdir):
            task_root = Path(workdir) / "task"
            _unzip(code, task_root)
            result_path = Path(workdir) / "result.json"
            env = self._environment(function, task_root=task_root, group=group, stream=stream)
            env["MNP_LOCAL_LAMBDA_DEADLINE"] = str(time.time() + timeout)
            env["MNP_LOCAL_LAMBDA_ARN"] = function.function_arn
            env["MNP_LOCAL_LAMBDA_REQUEST_ID"] = request_id
            writer.put([(_ms(), f"START RequestId: {request_id} Version: $LATEST")])
            process = subprocess.Popen(
                [sys.executable, "-c", BOOTSTRAP, str(task_root), str(function.handler), str(result_path)],
                cwd=task_root,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
            with self._lock:
                self._running.add(process)
            reader = threading.Thread(target=_copy_output, args=(process, writer), daemon=True)
            reader.start()
            timed_out = False
            with self._registered("group", process.pid):
                try:
                    assert process.stdin is not None
                    with contextlib.suppress(BrokenPipeError):
                        process.stdin.write(payload)
                    process.stdin.close()
                    process.wait(timeout=timeout + 1.0)  # the shim's own start-up is not the function's time
                except subprocess.TimeoutExpired:
                    timed_out = True
                finally:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
                    reader.join(timeout=5)
                    with self._lock:
                        self._running.discard(process)
            seconds = time.monotonic() - started
            outcome = _outcome(result_path, process.returncode, timed_out=timed_out, timeout=timeout)
        duration_ms = seconds * 1000
        lines = []
        if timed_out:
            stamp = f"{now:%Y-%m-%dT%H:%M:%S.%f}"[:-3]
            lines.append(f"{stamp}Z {request_id} Task timed out after {timeout:.2f} seconds")
        lines += [
            f"END RequestId: {request_id}",
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\tBilled Duration: "
            f"{max(1, int(duration_ms + 0.999))} ms\tMemory Size: {function.memory_size} MB",
        ]
        writer.put([(_ms(), line) for line in lines])
        return Invocation(
            function_arn=function.function_arn,
            request_id=request_id,
            ok=bool(outcome.get("ok")),
            error_type=outcome.get("errorType"),
            error_message=outcome.get("errorMessage"),
            result=outcome.get("result"),
            log_group=group,
            log_stream=stream,
            seconds=seconds,
        )

    def _dead_letter(self, function: Any, payload: bytes, last: Invocation) -> None:
        target = (getattr(function, "dead_letter_config", None) or {}).get("TargetArn")
        if not target:
            logger.warning(
                "function %s failed (%s: %s) after its retries; it has no dead-letter queue",
                function.function_name,
                last.error_type,
                last.error_message,
            )
            return
        parts = str(target).split(":")
        if len(parts) != 6 or parts[2] != "sqs":
            logger.warning("dead-letter target %s of %s is not an SQS queue: not delivered", target, function)
            return
        from moto.sqs.models import sqs_backends

        attributes = {
            "RequestID": {"DataType": "String", "StringValue": last.request_id},
            "ErrorCode": {"DataType": "Number", "StringValue": "200"},
            "ErrorMessage": {"DataType": "String", "StringValue": (last.error_message or "")[:1000]},
        }
        try:
            sqs_backends[parts[4]][parts[3]].send_message(
                parts[5], payload.decode("utf-8", errors="replace"), message_attributes=attributes
            )
        except Exception as error:
            logger.warning("cannot send the failed event of %s to %s: %s", function.function_name, target, error)


def _retry_attempts(function: Any) -> int:
    for config in getattr(function, "event_invoke_config", None) or []:
        value = getattr(config, "config", {}).get("MaximumRetryAttempts")
        if isinstance(value, int):
            return value
    return len(ASYNC_RETRY_DELAYS_S)


def _unzip(code: bytes, into: Path) -> None:
    import io

    into.mkdir(parents=True)
    try:
        with zipfile.ZipFile(io.BytesIO(code)) as archive:
            # extractall drops absolute paths and ".." components: nothing lands outside ``into``.
            archive.extractall(into)
    except zipfile.BadZipFile:
        raise LambdaInvocationError("the function's code is not a zip archive") from None


def _copy_output(process: subprocess.Popen[bytes], writer: NodeLogWriter) -> None:
    assert process.stdout is not None
    pending: list[tuple[int, str]] = []
    last = time.monotonic()
    for raw in iter(process.stdout.readline, b""):
        pending.append((_ms(), raw.decode("utf-8", errors="replace").rstrip("\r\n")))
        if time.monotonic() - last > 0.1 or len(pending) >= 200:
            writer.put(pending)
            pending, last = [], time.monotonic()
    if pending:
        writer.put(pending)


def _outcome(path: Path, returncode: int | None, *, timed_out: bool, timeout: float) -> dict[str, Any]:
    if timed_out:
        return {"ok": False, "errorType": "Sandbox.Timedout", "errorMessage": f"Task timed out after {timeout:.2f} s"}
    try:
        if path.stat().st_size > MAX_RESULT_BYTES:
            return {"ok": False, "errorType": "Function.ResponseSizeTooLarge", "errorMessage": "response too large"}
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return {
            "ok": False,
            "errorType": "Runtime.ExitError",
            "errorMessage": f"the runtime exited with code {returncode} before the handler returned",
        }


def _ms() -> int:
    return int(time.time() * 1000)


def encode_payload(value: Any) -> bytes:
    """An event as the JSON bytes Lambda hands to a handler."""
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


__all__ = ["BOOTSTRAP", "Invocation", "LambdaExecutor", "LambdaInvocationError", "encode_payload", "lookup_function"]
