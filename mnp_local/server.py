"""The local emulated AWS: moto's server with our adapters and node runner, on 127.0.0.1 only, stopping by itself.

:func:`serve` runs in a process of its own (``python -m mnp_local serve``): moto keeps its state in
module globals, so a separate process gives each user a clean account and lets the CDK CLI (a Node
process) and boto3 talk to the same state over HTTP. The process stops by itself when no request
arrived for ``idle_timeout`` seconds or when the process that started it is gone, so a crashed test
run or script never leaves a server behind. Multi-node parallel jobs submitted to it run for real
(:mod:`mnp_local.runner`, docs/local-run.md); their node processes end with their job, and at the
latest when the server stops, however it stops.

:class:`LocalAws` starts one for a ``with`` block and yields its endpoint URL.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

LOOPBACK = "127.0.0.1"
ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
DEFAULT_IDLE_TIMEOUT = 900.0
_POLL_SECONDS = 0.5


class LocalAwsError(RuntimeError):
    """The local emulated AWS could not start or answer."""


@dataclass(frozen=True)
class EmulatedAccount:
    """An account and Region of the emulated AWS, and the access key the emulator maps to the account
    (:func:`account_in` gets one for an account other than the default)."""

    account_id: str = ACCOUNT_ID
    region: str = REGION
    access_key_id: str = "testing"
    secret_access_key: str = "testing"


DEFAULT_ACCOUNT = EmulatedAccount()


def account_in(endpoint: str, *, account_id: str = ACCOUNT_ID, region: str = REGION) -> EmulatedAccount:
    """``account_id`` in ``region`` with credentials the emulator maps to that account
    (``POST /mnp-local/credentials`` for an account other than the default)."""
    if account_id == ACCOUNT_ID:
        return EmulatedAccount(account_id=account_id, region=region)
    import json
    import urllib.request

    request = urllib.request.Request(
        f"{endpoint}/mnp-local/credentials",
        data=json.dumps({"Account": account_id}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            keys = json.loads(answer.read())
    except OSError as error:
        raise LocalAwsError(f"the emulated AWS gave no credentials for account {account_id}: {error}") from None
    return EmulatedAccount(
        account_id=account_id,
        region=region,
        access_key_id=str(keys["AccessKeyId"]),
        secret_access_key=str(keys["SecretAccessKey"]),
    )


class _ActivityTracker:
    """WSGI middleware noting the time of the last request, for the idle timeout."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self.last_request = time.monotonic()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        self.last_request = time.monotonic()
        return self._app(environ, start_response)


def _start_moto(*, port: int) -> tuple[Any, _ActivityTracker, int]:
    """Start moto's WSGI app in a server thread on the loopback address; return server, tracker, port."""
    from moto.core.config import default_user_config
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    from mnp_local import eventbridge, runner
    from mnp_local.adapters import register_all
    from mnp_local.eventbridge.control import ControlApp

    register_all()
    try:
        installed = runner.install()
    except runner.SettingsError as error:
        raise LocalAwsError(str(error)) from None
    # Batch job state changes reach the deployed EventBridge rules; their Lambda targets run their code.
    eventbridge.install(installed)
    # No Docker here: a multi-node parallel job is run by mnp_local's node runner (its nodes as host
    # processes); other Batch jobs succeed without running a container. moto's own Lambda Invoke echoes its
    # payload; functions that rules target run through mnp_local.eventbridge.
    default_user_config["batch"]["use_docker"] = False
    default_user_config["lambda"]["use_docker"] = False
    tracker = _ActivityTracker(ControlApp(DomainDispatcherApplication(create_backend_app)))

    bind_errors: list[str] = []

    class _TrackedMotoServer(ThreadedMotoServer):
        # ThreadedMotoServer builds its app inside the thread; this wraps that app in the tracker and
        # reports a failed bind instead of leaving start() waiting for ever.
        def _server_entry(self) -> None:
            from moto.moto_server.werkzeug_app import MotoRequestHandler

            try:
                self._server = make_server(
                    self._ip_address, self._port, tracker, True, request_handler=MotoRequestHandler
                )
            except (OSError, SystemExit) as error:  # werkzeug prints the cause and exits on a failed bind
                bind_errors.append(getattr(error, "strerror", None) or "address in use or not available")
                self._server_ready_event.set()
                return
            self._server_ready_event.set()
            self._server.serve_forever()

    server = _TrackedMotoServer(ip_address=LOOPBACK, port=port, verbose=False)
    server.start()
    if bind_errors:
        raise LocalAwsError(
            f"cannot listen on {LOOPBACK}:{port}: {bind_errors[0]}; pick another --port or omit it to take a free one"
        )
    _, bound_port = server.get_host_and_port()
    return server, tracker, int(bound_port)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def serve(
    *,
    port: int = 0,
    port_file: Path | None = None,
    idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
    parent_pid: int | None = None,
    verbose: bool = False,
) -> int:
    """Serve until idle for ``idle_timeout`` seconds (no request, and no multi-node job running), the parent
    process dies, or SIGTERM/SIGINT.

    ``port`` 0 takes a free port from the kernel; the bound port is printed and, if ``port_file`` is
    given, written to it (atomically, so a reader never sees a partial number). ``parent_pid``
    defaults to the process that started this one. ``verbose`` logs every request. Returns the exit
    code (0).
    """
    # The parent as it is now, first thing (a parent that dies during the imports below is seen as gone): when
    # it dies the kernel reparents this process (to PID 1 or a subreaper), so a changed parent means it is
    # gone. A parent that *is* PID 1 (the command of a container) is no sign of that, so only a change counts.
    started_under = os.getppid()
    if idle_timeout is not None and idle_timeout <= 0:
        raise LocalAwsError(f"idle timeout must be positive seconds, got {idle_timeout}")
    from mnp_local import runner

    try:  # before moto is imported: a bad MNP_LOCAL_* setting fails at once
        runner.RunnerSettings.from_environment()
    except runner.SettingsError as error:
        raise LocalAwsError(str(error)) from None
    watched_pid = parent_pid if parent_pid is not None else started_under
    _interpreter_on_path()
    # Warnings (moto's unsupported resource types, a failed change set with its traceback) stay
    # visible; werkzeug's line per request only with --verbose.
    logging.basicConfig(level=logging.WARNING, format="%(name)s %(levelname)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.INFO if verbose else logging.WARNING)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    server, tracker, bound_port = _start_moto(port=port)
    endpoint = f"http://{LOOPBACK}:{bound_port}"
    from mnp_local import eventbridge

    installed = runner.current()
    if installed is not None:
        installed.endpoint = endpoint
    events = eventbridge.current()
    if port_file is not None:
        partial = port_file.with_name(port_file.name + ".partial")
        partial.write_text(f"{bound_port}\n", encoding="utf-8")
        partial.replace(port_file)
    print(f"mnp_local: emulated AWS at {endpoint} (pid {os.getpid()})", flush=True)
    reason = "stopped"
    try:
        while not stop.wait(_POLL_SECONDS):
            if not _process_alive(watched_pid) or os.getppid() != started_under:
                reason = f"parent process {watched_pid} is gone"
                break
            if (installed is not None and installed.busy()) or (events is not None and events.busy()):
                # A job's nodes (or a function) may run for a long time without calling the API: not idle.
                tracker.last_request = time.monotonic()
            if idle_timeout is not None and time.monotonic() - tracker.last_request > idle_timeout:
                reason = f"idle for {idle_timeout:g} s"
                break
    finally:
        # Functions and node processes first: they may still be talking to the server.
        eventbridge.shutdown()
        runner.shutdown()
        server.stop()
        if port_file is not None:
            with contextlib.suppress(FileNotFoundError):
                port_file.unlink()
    print(f"mnp_local: emulated AWS at {endpoint} stopped ({reason})", flush=True)
    return 0


def _interpreter_on_path() -> None:
    """Put this interpreter's ``bin`` directory first on ``PATH``: node commands (which get the emulator's
    ``PATH``) then find the ``mnp-node`` and ``python`` of the environment the emulator runs in."""
    bin_dir = str(Path(sys.executable).parent)
    parts = [part for part in os.environ.get("PATH", "").split(os.pathsep) if part]
    if not parts or parts[0] != bin_dir:
        os.environ["PATH"] = os.pathsep.join([bin_dir, *(part for part in parts if part != bin_dir)])


def aws_environment(
    *, endpoint: str, base: dict[str, str] | None = None, account: EmulatedAccount = DEFAULT_ACCOUNT
) -> dict[str, str]:
    """Environment for the CDK CLI, boto3 and ``mnp`` to use the local endpoint as ``account`` (default:
    123456789012 in us-east-1, dummy credentials).

    Drops profile and session settings that would otherwise send calls to a real account.
    """
    env = dict(os.environ if base is None else base)
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        env.pop(key, None)
    env.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": account.access_key_id,
            "AWS_SECRET_ACCESS_KEY": account.secret_access_key,
            "AWS_DEFAULT_REGION": account.region,
            "AWS_REGION": account.region,
            "CDK_DEFAULT_ACCOUNT": account.account_id,
            "CDK_DEFAULT_REGION": account.region,
            # No shared config/credentials files: a developer's real profile must never be picked up.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
        }
    )
    return env


class LocalAws(contextlib.AbstractContextManager[str]):
    """Start the emulated AWS in a child process for a ``with`` block; yields its endpoint URL.

    >>> with LocalAws() as endpoint:  # doctest: +SKIP
    ...     boto3.client("ec2", endpoint_url=endpoint, region_name="us-east-1")

    The child stops when the block ends, when this process dies, or after ``idle_timeout`` seconds
    without a request.
    """

    def __init__(
        self,
        *,
        idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
        start_timeout: float = 60.0,
        log_path: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        """``env``: extra environment variables for the server process (e.g. ``MNP_LOCAL_TIME_SCALE``)."""
        self._idle_timeout = idle_timeout
        self._start_timeout = start_timeout
        self._log_path = log_path
        self._env = dict(env or {})
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None
        self.endpoint: str | None = None

    def __enter__(self) -> str:
        self._workdir = tempfile.TemporaryDirectory(prefix="mnp_local_")
        port_file = Path(self._workdir.name) / "port"
        log_path = self._log_path or Path(self._workdir.name) / "server.log"
        command = [
            sys.executable,
            "-m",
            "mnp_local",
            "serve",
            "--port-file",
            str(port_file),
            "--parent-pid",
            str(os.getpid()),
        ]
        if self._idle_timeout is not None:
            command += ["--idle-timeout", str(self._idle_timeout)]
        with log_path.open("wb") as log:
            # A session of its own: a Ctrl-C in the terminal reaches this process, which then stops the
            # server in order (after `cdk destroy`), not the server directly.
            self._process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**_child_env(), **self._env},
                start_new_session=True,
            )
        deadline = time.monotonic() + self._start_timeout
        while not port_file.exists():
            if self._process.poll() is not None:
                output = log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
                self._cleanup()
                raise LocalAwsError(f"the emulated AWS exited during start-up:\n{output}")
            if time.monotonic() > deadline:
                self._cleanup()
                raise LocalAwsError(f"the emulated AWS did not start within {self._start_timeout:g} s; see {log_path}")
            time.sleep(0.1)
        self.endpoint = f"http://{LOOPBACK}:{int(port_file.read_text(encoding='utf-8'))}"
        return self.endpoint

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._cleanup()

    def _cleanup(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    # The child imports mnp_local from the same tree as this process, even when not installed.
    package_root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    return env
