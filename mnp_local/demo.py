"""``make deploy-local``: the real CDK CLI deploys our app into a local emulated AWS, end to end.

Steps: start the emulated AWS (:class:`~mnp_local.server.LocalAws`), ``cdk bootstrap``,
``cdk deploy`` of the config, ``mnp submit`` of the sample job and ``mnp status`` of it (when the
``mnp`` operations commands are installed), list what was created by reading it back with boto3,
then ``cdk destroy`` and stop the emulated AWS. Nothing outlives the command unless ``--keep`` is
given, which holds the emulated AWS open until Ctrl-C and then cleans up the same way.
"""

from __future__ import annotations

import importlib.util
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from mnp_local import cdk
from mnp_local.inventory import Inventory, format_inventory, read_inventory
from mnp_local.server import LocalAws, aws_environment

Printer = Callable[[str], None]


def _say(message: str) -> None:
    print(message, flush=True)


def mnp_command(*, project_dir: Path = cdk.REPO_ROOT) -> list[str] | None:
    """How to run ``mnp``: the venv's entry point, else the module; None when ``mnp submit`` is not built."""
    entry_point = project_dir / ".venv" / "bin" / "mnp"
    if entry_point.exists():
        return [str(entry_point)]
    if importlib.util.find_spec("mnp_toolkit.ops.submit") is not None:
        return [sys.executable, "-m", "mnp_toolkit"]
    return None


def _sample_job(inventory: Inventory) -> tuple[str, str] | None:
    queues = sorted(inventory.job_queues, key=lambda queue: queue["name"])
    definitions = sorted((d for d in inventory.job_definitions if d["type"] == "multinode"), key=lambda d: d["name"])
    if not queues or not definitions:
        return None
    return queues[0]["name"], definitions[0]["name"]


def submit_and_show(*, endpoint: str, inventory: Inventory, say: Printer = _say) -> str | None:
    """``mnp submit`` the first multi-node definition to the first queue, then ``mnp status``; the job id."""
    command = mnp_command()
    if command is None:
        say("skipping `mnp submit`/`mnp status`: the mnp operations commands are not installed yet")
        return None
    job = _sample_job(inventory)
    if job is None:
        say("skipping `mnp submit`: the stack has no job queue or no multi-node job definition")
        return None
    queue, definition = job
    env = aws_environment(endpoint=endpoint)
    submit = [*command, "submit", "--queue", queue, "--job-definition", definition]
    say(f"$ mnp {shlex.join(submit[len(command) :])}")
    submitted = subprocess.run(submit, env=env, capture_output=True, text=True, check=False)
    if submitted.stderr.strip():
        say(submitted.stderr.rstrip())
    if submitted.returncode != 0:
        say(f"`mnp submit` failed (exit {submitted.returncode})")
        return None
    job_id = submitted.stdout.strip().splitlines()[-1]
    say(f"submitted job {job_id}")
    status = [*command, "status", job_id]
    say(f"$ mnp {shlex.join(status[len(command) :])}")
    # moto runs the job in a thread without a container; give it a moment to leave SUBMITTED.
    time.sleep(2)
    shown = subprocess.run(status, env=env, capture_output=True, text=True, check=False)
    say((shown.stdout + shown.stderr).rstrip())
    say(
        "note: the emulated Batch runs no containers and creates no node jobs (JOB_ID#N) for a "
        "multi-node job: the job simply succeeds"
    )
    return job_id


def run(
    *,
    config: Path | None,
    app_dir: Path = cdk.REPO_ROOT,
    keep: bool = False,
    say: Printer = _say,
) -> int:
    """Deploy, submit, list, destroy; returns the exit code (0 when every step worked)."""
    context = {"config": str(config.resolve())} if config is not None else {}
    timings: list[tuple[str, float]] = []
    with (
        tempfile.TemporaryDirectory(prefix="mnp_local_cdk_") as workdir,
        LocalAws(idle_timeout=3600.0 if keep else 900.0) as endpoint,
    ):
        output_dir = Path(workdir) / "cdk.out"
        say(f"emulated AWS (moto + mnp_local adapters) at {endpoint}, account 123456789012, us-east-1")
        try:
            say("$ cdk bootstrap aws://123456789012/us-east-1")
            timings.append(
                ("cdk bootstrap", cdk.bootstrap(endpoint=endpoint, work_dir=Path(workdir) / "bootstrap").seconds)
            )
            shown_config = f" -c config={config}" if config else ""
            say(f"$ cdk deploy --require-approval never --all{shown_config}")
            run_deploy = cdk.deploy(endpoint=endpoint, app_dir=app_dir, output_dir=output_dir, context=context)
            timings.append(("cdk deploy", run_deploy.seconds))
            inventory = read_inventory(endpoint=endpoint)
            submit_and_show(endpoint=endpoint, inventory=inventory, say=say)
            say("\nWhat the deploy created (read back with boto3):")
            say(format_inventory(read_inventory(endpoint=endpoint)))
            if keep:
                _hold(endpoint=endpoint, say=say)
        except cdk.CdkError as error:
            say(f"error: {error}")
            return 1
        finally:
            try:
                say("$ cdk destroy --force --all")
                destroyed = cdk.destroy(endpoint=endpoint, assembly_dir=output_dir)
                timings.append(("cdk destroy", destroyed.seconds))
            except cdk.CdkError as error:
                say(f"warning: {error}\n(the emulated AWS stops now anyway; nothing is left behind)")
            say("Timings: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings))
    say("emulated AWS stopped")
    return 0


def _hold(*, endpoint: str, say: Printer) -> None:
    env = aws_environment(endpoint=endpoint, base={})
    say("\nThe emulated AWS stays up until Ctrl-C (or an hour without requests). In another shell:")
    for key in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        say(f"  export {key}={env[key]}")

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # SIGTERM (e.g. from a process manager) cleans up like Ctrl-C does.
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        say("\nstopping: cleaning up")
    finally:
        signal.signal(signal.SIGTERM, previous)
