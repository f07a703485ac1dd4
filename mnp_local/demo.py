"""``make deploy-local``: the real CDK CLI deploys our app into a local emulated AWS, end to end.

Steps: start the emulated AWS (:class:`~mnp_local.server.LocalAws`), ``cdk bootstrap`` of the config's
own account and Region, ``cdk deploy`` of the config, submit the config's sample multi-node parallel job
and follow it as the local node runner runs it (each status change, main node first, each node's output
as it is written, the outcome; then ``mnp status``), optionally a second job in which one child node fails
(``--fault``) and the deployed watchdog ends it, list what was created by reading it back with boto3, then
``cdk destroy`` and stop the emulated AWS. Nothing outlives the command unless ``--keep`` is given, which
holds the emulated AWS open until Ctrl-C and then cleans up the same way.
"""

from __future__ import annotations

import importlib.util
import json
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mnp_local import cdk
from mnp_local.existing_network import adapt_config
from mnp_local.inventory import Inventory, client, format_inventory, read_inventory
from mnp_local.runner.lifecycle import START_FAILED
from mnp_local.server import ACCOUNT_ID, DEFAULT_ACCOUNT, REGION, EmulatedAccount, LocalAws, account_in, aws_environment
from mnp_toolkit.core.limits import MAX_DESCRIBE_JOBS
from mnp_toolkit.ops.logs import StreamCursor, job_streams, read_stream

Printer = Callable[[str], None]

_ENDED = ("SUCCEEDED", "FAILED")
#: Node job states not worth a line each: they move with the parent job until the node is launched, and
#: STARTING lasts a blink locally (RUNNING follows with the node's address).
_NOT_SHOWN_FOR_NODES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING")
#: Emulator notices in a main node's log (image not run, child launch order): said once, not per job.
_NOTICE_PREFIX = "mnp_local: "
_LOG_POLL_SECONDS = 0.2
#: Lines wait this long before they are printed, so that one read late (logs are flushed every 0.1 s and
#: read every 0.2 s, and a loaded machine delays both) still comes out in time order.
_REORDER_SECONDS = 1.0
#: How long the demo waits for the watchdog's decision line after the job ended (a bound, not a target).
_WATCHDOG_LOG_WAIT_SECONDS = 30.0
#: The child node that ``--fault`` makes fail: runs first of every node's command, exits 1 on that node.
FAULT_SCRIPT = (
    'if [ "$AWS_BATCH_JOB_NODE_INDEX" = "{index}" ]; then '
    'echo "mnp_local demo (--fault): node {index} exits 1 on purpose"; exit 1; fi; exec "$@"'
)


def _say(message: str) -> None:
    print(message, flush=True)


def mnp_command(*, project_dir: Path = cdk.REPO_ROOT) -> list[str] | None:
    """How to run ``mnp``: the venv's entry point, else the module; None when ``mnp status`` is not built."""
    entry_point = project_dir / ".venv" / "bin" / "mnp"
    if entry_point.exists():
        return [str(entry_point)]
    if importlib.util.find_spec("mnp_toolkit.ops.status") is not None:
        return [sys.executable, "-m", "mnp_toolkit"]
    return None


def deploy_account(config: Path | None, *, app_dir: Path = cdk.REPO_ROOT) -> tuple[str, str]:
    """The account and Region ``cdk deploy`` targets for ``config`` (the app's default config when None):
    its ``env.account``/``env.region``, else the emulator's default account and us-east-1."""
    from mnp_toolkit.config.load import load_config

    path = config
    if path is None:
        default = json.loads((app_dir / "cdk.json").read_text(encoding="utf-8")).get("context", {}).get("config")
        path = app_dir / default if default else None
    if path is None or not path.is_file():
        return ACCOUNT_ID, REGION
    loaded = load_config(path)
    return loaded.env.account or ACCOUNT_ID, loaded.env.region or REGION


def _sample_job(
    *, endpoint: str, inventory: Inventory, stack: str | None = None, account: EmulatedAccount = DEFAULT_ACCOUNT
) -> tuple[str, str] | None:
    """A multi-node job definition and a job queue of the same stack (``stack``, else the first stack, by
    name, that has both), read from the stack's resources: a definition of one stack may not fit another
    stack's compute environments, and would then wait in RUNNABLE."""
    cloudformation = client("cloudformation", endpoint=endpoint, account=account)
    # By name: the stack's resource is the definition's latest revision, which may be newer than the inventory.
    multinode = {d["name"] for d in inventory.job_definitions if d["type"] == "multinode"}
    queues = {q["arn"]: q["name"] for q in inventory.job_queues}
    names = [stack] if stack is not None else sorted(s["name"] for s in inventory.stacks)
    for name in names:
        physical: set[str] = set()
        for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=name):
            physical.update(str(r.get("PhysicalResourceId", "")) for r in page["StackResourceSummaries"])
        stack_queues = sorted(queues[arn] for arn in physical & queues.keys())
        named = {arn.rsplit("/", 1)[-1].rsplit(":", 1)[0] for arn in physical if ":job-definition/" in arn}
        stack_definitions = sorted(named & multinode)
        if stack_queues and stack_definitions:
            return stack_queues[0], stack_definitions[0]
    return None


def fault_overrides(definition: dict[str, Any], node_index: int) -> dict[str, Any]:
    """``nodeOverrides`` that make node ``node_index`` exit 1 at once and run every other node's command
    unchanged: one override per node range of the definition, each wrapping that range's own command, since
    the node may be in any range (an override's ``targetNodes`` must be one of the definition's ranges)."""
    ranges = (definition.get("nodeProperties") or {}).get("nodeRangeProperties") or []
    script = FAULT_SCRIPT.format(index=node_index)
    return {
        "nodePropertyOverrides": [
            {
                "targetNodes": node_range["targetNodes"],
                "containerOverrides": {
                    "command": [
                        "/bin/sh",
                        "-c",
                        script,
                        "fault",
                        *((node_range.get("container") or {}).get("command") or []),
                    ]
                },
            }
            for node_range in ranges
        ]
    }


def _command(node_range: dict[str, Any]) -> list[str]:
    return list((node_range.get("container") or {}).get("command") or [])


def _node_label(job: dict[str, Any]) -> str:
    details = job.get("nodeDetails") or {}
    return f"node {details.get('nodeIndex')}" + (" (main)" if details.get("isMainNode") else "")


@dataclass
class _LogFollower:
    """Reads each node's log streams as they grow, with ``mnp logs``' own reading (the streams DescribeJobs
    names, GetLogEvents from each stream's forward token: :mod:`mnp_toolkit.ops.logs`)."""

    logs: Any
    cursors: dict[tuple[int, int, str], StreamCursor] = field(default_factory=dict)
    lines: dict[int, list[str]] = field(default_factory=dict)

    def read(
        self, parent: dict[str, Any], nodes_by_id: dict[str, dict[str, Any]], *, to_the_end: bool
    ) -> list[tuple[int, int, str]]:
        """(node index, timestamp, message) of what every node wrote since the last read, emulator notices
        left out. One page per stream while the job runs (the next read goes on, so status polling is never
        held up); ``to_the_end`` reads on until every stream is caught up (the job has ended)."""
        found: list[tuple[int, int, str]] = []
        for spec in job_streams(parent, nodes_by_id).streams:
            cursor = self.cursors.setdefault(spec.key, StreamCursor(spec))
            cursor.spec = spec
            index = spec.node if spec.node is not None else 0
            for timestamp, message in read_stream(self.logs, cursor, limit=1000, max_pages=None if to_the_end else 1):
                if not message.startswith(_NOTICE_PREFIX):
                    found.append((index, timestamp, message))
                    self.lines.setdefault(index, []).append(message)
        return found


def _status_time(job: dict[str, Any], observed: float) -> float:
    """When a status began, as DescribeJobs says (``startedAt``, ``stoppedAt``), else when it was seen."""
    if job["status"] == "RUNNING" and job.get("startedAt"):
        return float(job["startedAt"]) / 1000
    if job["status"] in _ENDED and job.get("stoppedAt"):
        return float(job["stoppedAt"]) / 1000
    return observed


def follow_job(
    batch: Any,
    *,
    job_id: str,
    num_nodes: int,
    say: Printer,
    timeout: float = 600.0,
    logs: _LogFollower | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Print the job's story as DescribeJobs (and, with ``logs``, CloudWatch Logs) tell it, in time order,
    until the job and every node job have ended: the job's status changes; each node's launch and end
    (node jobs move with the job until they are launched); each node's output lines as they are written.

    Times are seconds since the job was created, from the API's own times where it has them
    (``startedAt``, ``stoppedAt``, the log events' timestamps); lines are held back a moment
    (:data:`_REORDER_SECONDS`) so that what is read late (a log line) is still printed in its place."""
    ids = [job_id, *(f"{job_id}#{index}" for index in range(num_nodes))]
    seen: dict[str, str] = {}
    started = time.time()
    origin: float | None = None
    cancelled = False
    last_logs = 0.0
    pending: list[tuple[float, int, int, str]] = []
    order = 0

    def add(when: float, line: str, *, status: bool = True) -> None:
        # At the same millisecond a node's last output comes before its end (it was written first).
        nonlocal order
        order += 1
        pending.append((round(when, 3), 1 if status else 0, order, line))

    def flush(before: float | None) -> None:
        pending.sort()
        while pending and (before is None or pending[0][0] <= before):
            when, _, _, line = pending.pop(0)
            say(f"  +{max(0.0, when - (origin or started)):6.3f}s  {line}")

    while True:
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), MAX_DESCRIBE_JOBS):
            for job in batch.describe_jobs(jobs=ids[start : start + MAX_DESCRIBE_JOBS])["jobs"]:
                found[job["jobId"]] = job
        now = time.time()
        if origin is None and found.get(job_id, {}).get("createdAt"):
            origin = float(found[job_id]["createdAt"]) / 1000
        for job_id_seen in ids:
            job = found.get(job_id_seen)
            if job is None or seen.get(job_id_seen) == job["status"]:
                continue
            seen[job_id_seen] = job["status"]
            is_node = job_id_seen != job_id
            if is_node and job["status"] in _NOT_SHOWN_FOR_NODES:
                continue
            extra = ""
            if job["status"] == "RUNNING" and is_node:
                interfaces = (job.get("container") or {}).get("networkInterfaces") or [{}]
                extra = f" at {interfaces[0].get('privateIpv4Address')}"
            elif job["status"] in _ENDED:
                code = (job.get("container") or {}).get("exitCode")
                reason = job.get("statusReason")
                parent = found.get(job_id) or {}
                if is_node and parent.get("isTerminated") and reason == parent.get("statusReason"):
                    reason = "terminated with the job"  # every node of a terminated job repeats its reason
                extra = f" (exit {code}: {reason})" if code is not None else f" ({reason})"
            add(_status_time(job, now), f"{_node_label(job) if is_node else 'job':<14} {job['status']}{extra}")
        ended = len(found) == len(ids) and all(job["status"] in _ENDED for job in found.values())
        if logs is not None and (ended or now - last_logs >= _LOG_POLL_SECONDS):
            last_logs = now
            if job_id in found:
                for index, timestamp, message in logs.read(found[job_id], found, to_the_end=ended):
                    node = found.get(f"{job_id}#{index}") or {}
                    add(timestamp / 1000, f"{_node_label(node):<14} | {message}", status=False)
        flush(None if ended else now - _REORDER_SECONDS)
        if ended:
            return found[job_id], [found[f"{job_id}#{index}"] for index in range(num_nodes)]
        parent = found.get(job_id) or {}
        reason = str(parent.get("statusReason") or "")
        if parent.get("status") == "RUNNABLE" and reason.startswith("MISCONFIGURATION:") and not cancelled:
            # It would wait for the queue's time-limit action (an hour, say): say why, and end it now.
            flush(None)
            say(f"  the job cannot be placed: {reason}")
            batch.cancel_job(jobId=job_id, reason="mnp_local deploy: the sample job cannot be placed")
            cancelled = True
        if time.time() - started > timeout:
            raise TimeoutError(f"job {job_id} did not end within {timeout:g} s")
        time.sleep(0.05)


def launch_order(nodes: list[dict[str, Any]]) -> str:
    """``node 0 (main) +0 ms, node 3 +12 ms, ...``: the nodes by ``startedAt``."""
    up = sorted((node for node in nodes if node.get("startedAt")), key=lambda node: node["startedAt"])
    if not up:
        return "(no node started)"
    first = up[0]["startedAt"]
    return ", ".join(f"{_node_label(node)} +{node['startedAt'] - first} ms" for node in up)


@dataclass
class JobRun:
    """A job the demo submitted and followed: its final DescribeJobs entries and each node's output."""

    job_id: str
    parent: dict[str, Any]
    nodes: list[dict[str, Any]]
    output: dict[int, list[str]]


@dataclass
class Sample:
    """The config's sample job: where it goes and what it runs."""

    queue: str
    definition: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.definition["jobDefinitionName"])

    @property
    def num_nodes(self) -> int:
        return int(self.definition["nodeProperties"]["numNodes"])

    @property
    def main_node(self) -> int:
        return int(self.definition["nodeProperties"]["mainNode"])


def find_sample(
    *, endpoint: str, inventory: Inventory, stack: str | None = None, account: EmulatedAccount = DEFAULT_ACCOUNT
) -> Sample | None:
    job = _sample_job(endpoint=endpoint, inventory=inventory, stack=stack, account=account)
    if job is None:
        return None
    queue, definition_name = job
    batch = client("batch", endpoint=endpoint, account=account)
    found = batch.describe_job_definitions(jobDefinitionName=definition_name, status="ACTIVE")["jobDefinitions"]
    return Sample(queue=queue, definition=max(found, key=lambda d: int(d["revision"])))


def submit_and_follow(
    *,
    endpoint: str,
    sample: Sample,
    say: Printer,
    account: EmulatedAccount = DEFAULT_ACCOUNT,
    name_suffix: str = "local-demo",
    node_overrides: dict[str, Any] | None = None,
) -> JobRun:
    """Submit ``sample`` (with ``node_overrides``) and print its story until every node has ended."""
    batch = client("batch", endpoint=endpoint, account=account)
    request: dict[str, Any] = {
        "jobName": f"{sample.name}-{name_suffix}",
        "jobQueue": sample.queue,
        "jobDefinition": sample.definition["jobDefinitionArn"],
    }
    if node_overrides is not None:
        request["nodeOverrides"] = node_overrides
    job_id = str(batch.submit_job(**request)["jobId"])
    say(f"submitted job {job_id}: {sample.num_nodes} nodes, main node {sample.main_node}")
    follower = _LogFollower(logs=client("logs", endpoint=endpoint, account=account))
    parent, nodes = follow_job(batch, job_id=job_id, num_nodes=sample.num_nodes, say=say, logs=follower)
    return JobRun(job_id=job_id, parent=parent, nodes=nodes, output=follower.lines)


def run_sample(
    *,
    endpoint: str,
    inventory: Inventory,
    say: Printer = _say,
    stack: str | None = None,
    account: EmulatedAccount = DEFAULT_ACCOUNT,
) -> JobRun | None:
    """The sample job of the deployed stack (``stack``, else the first with a queue and an MNP definition):
    submitted, followed to its end, then ``mnp status`` of it."""
    sample = find_sample(endpoint=endpoint, inventory=inventory, stack=stack, account=account)
    if sample is None:
        say("skipping the sample job: the stack has no job queue or no multi-node job definition")
        return None
    say(f"\n$ aws batch submit-job --job-queue {sample.queue} --job-definition {sample.name}")
    say(
        "  (no image runs locally: each node's command runs as a host process with the Batch environment, "
        "an address of its own and its log in CloudWatch Logs; docs/local-run.md)"
    )
    run = submit_and_follow(endpoint=endpoint, sample=sample, say=say, account=account)
    say(f"nodes came up in this order (startedAt): {launch_order(run.nodes)}")
    say(f"job {run.job_id} {run.parent['status']}")
    command = mnp_command()
    if command is None:
        say("skipping `mnp status`: the mnp operations commands are not installed")
        return run
    status = [*command, "status", run.job_id]
    say(f"$ mnp {shlex.join(status[len(command) :])}")
    shown = subprocess.run(
        status, env=aws_environment(endpoint=endpoint, account=account), capture_output=True, text=True, check=False
    )
    say((shown.stdout + shown.stderr).rstrip())
    return run


def watchdog_decisions(
    *, endpoint: str, job_id: str, account: EmulatedAccount = DEFAULT_ACCOUNT, wait: float = 0.0
) -> list[dict[str, Any]]:
    """The decision lines the deployed watchdog functions logged about ``job_id`` (their CloudWatch Logs),
    waiting up to ``wait`` seconds for a ``terminate`` or ``skip`` one."""
    lambdas = client("lambda", endpoint=endpoint, account=account)
    logs = client("logs", endpoint=endpoint, account=account)
    groups = []
    for function in lambdas.list_functions()["Functions"]:
        if "JOB_QUEUE" in ((function.get("Environment") or {}).get("Variables") or {}):
            config = lambdas.get_function_configuration(FunctionName=function["FunctionName"])
            groups.append(
                (config.get("LoggingConfig") or {}).get("LogGroup") or f"/aws/lambda/{function['FunctionName']}"
            )
    deadline = time.monotonic() + wait
    while True:
        decisions = []
        for group in groups:
            try:
                events = logs.filter_log_events(logGroupName=group)["events"]
            except Exception:
                continue
            for event in events:
                message = str(event["message"])
                if job_id not in message or not message.startswith("{"):
                    continue
                try:
                    record = json.loads(message)
                except ValueError:
                    continue
                if record.get("watchdog") == "decision" and record.get("parent_job_id") == job_id:
                    decisions.append(record)
        if any(d.get("decision") in ("terminate", "skip") for d in decisions) or time.monotonic() >= deadline:
            return decisions
        time.sleep(0.2)


def run_fault(
    *,
    endpoint: str,
    inventory: Inventory,
    say: Printer = _say,
    stack: str | None = None,
    node: int | None = None,
    account: EmulatedAccount = DEFAULT_ACCOUNT,
) -> JobRun | None:
    """The sample job again, one child node failing at once: the deployed watchdog terminates the job."""
    sample = find_sample(endpoint=endpoint, inventory=inventory, stack=stack, account=account)
    if sample is None or sample.num_nodes < 2:
        say("skipping --fault: the sample job has no child node")
        return None
    children = [index for index in range(sample.num_nodes) if index != sample.main_node]
    failing = node if node is not None else children[-1]
    if failing not in children:
        say(f"skipping --fault: node {failing} is not a child node of the sample job (children: {children})")
        return None
    say(
        f"\n--fault: the same job, but child node {failing} exits 1 at once. Batch does nothing about a failed "
        "child; the queue's watchdog (its deployed code, run by the emulated Lambda on the job state change "
        "event) terminates the job."
    )
    say(f"$ aws batch submit-job --job-queue {sample.queue} --job-definition {sample.name} --node-overrides ...")
    run = submit_and_follow(
        endpoint=endpoint,
        sample=sample,
        say=say,
        account=account,
        name_suffix="local-fault",
        node_overrides=fault_overrides(sample.definition, failing),
    )
    failed = run.nodes[failing]
    say(f"job {run.job_id} {run.parent['status']}: {run.parent.get('statusReason')}")
    if failed.get("stoppedAt") and run.parent.get("stoppedAt"):
        seconds = (run.parent["stoppedAt"] - failed["stoppedAt"]) / 1000
        say(f"the job ended {seconds:.1f} s after node {failing} failed")
    for decision in watchdog_decisions(
        endpoint=endpoint, job_id=run.job_id, account=account, wait=_WATCHDOG_LOG_WAIT_SECONDS
    ):
        say(f"  watchdog: {json.dumps(decision, sort_keys=True)}")
    return run


def run(
    *,
    config: Path | None,
    app_dir: Path = cdk.REPO_ROOT,
    keep: bool = False,
    fault: bool = False,
    fault_node: int | None = None,
    say: Printer = _say,
) -> int:
    """Deploy, run the sample job (and the fault), list, audit, destroy; the exit code (0 when every step
    worked, the sample job SUCCEEDED and the audit found no error)."""
    timings: list[tuple[str, float]] = []
    started = time.monotonic()
    account_id, region = deploy_account(config, app_dir=app_dir)
    code = 0
    with (
        tempfile.TemporaryDirectory(prefix="mnp_local_cdk_") as workdir,
        LocalAws(idle_timeout=3600.0 if keep else 900.0) as endpoint,
    ):
        account = account_in(endpoint, account_id=account_id, region=region)
        output_dir = Path(workdir) / "cdk.out"
        say(f"emulated AWS (moto + mnp_local adapters) at {endpoint}, account {account_id}, {region}")
        context: dict[str, str] = {}
        if config is not None:
            deployed_config, made = adapt_config(config, endpoint=endpoint, work_dir=Path(workdir), account=account)
            context["config"] = str(deployed_config.resolve())
            if made is not None:
                say(
                    f"the config brings its own VPC: made one in the emulated account ({made['vpc_id']}, private "
                    f"subnet {made['private_subnet_ids'][0]} routed to a NAT gateway) and deploy a copy naming it"
                )
        try:
            say(f"$ cdk bootstrap aws://{account_id}/{region}")
            bootstrapped = cdk.bootstrap(endpoint=endpoint, work_dir=Path(workdir) / "bootstrap", account=account)
            timings.append(("cdk bootstrap", bootstrapped.seconds))
            shown_config = f" -c config={config}" if config else ""
            say(f"$ cdk deploy --require-approval never --all{shown_config}")
            deployed = cdk.deploy(
                endpoint=endpoint, app_dir=app_dir, output_dir=output_dir, context=context, account=account
            )
            timings.append(("cdk deploy", deployed.seconds))
            inventory = read_inventory(endpoint=endpoint, account=account)
            say("deployed: " + ", ".join(f"{s['name']} {s['status']}" for s in inventory.stacks))
            sample = run_sample(endpoint=endpoint, inventory=inventory, say=say, account=account)
            if sample is not None and sample.parent["status"] != "SUCCEEDED":
                missing = _command_not_on_this_host(sample)
                if missing:
                    # The config's own program lives in its image, which never runs here: not a failure of the
                    # deploy or of the toolkit (the shipped configs' sample job runs mnp-node, which is here).
                    say(
                        f"note: the sample job's command is not on this machine ({missing}): it is in the job's "
                        "image, and no image runs locally (docs/local-run.md). The deploy, the job's lifecycle "
                        "and the audit are what this run checks"
                    )
                else:
                    code = 1
            if fault:
                faulted = run_fault(endpoint=endpoint, inventory=inventory, say=say, node=fault_node, account=account)
                if faulted is not None and faulted.parent["status"] != "FAILED":
                    code = 1
            say("\nWhat the deploy created (read back with boto3):")
            say(format_inventory(read_inventory(endpoint=endpoint, account=account)))
            if audit_deployed(endpoint=endpoint, say=say, account=account) not in (None, 0):
                code = 1
            if keep:
                _hold(endpoint=endpoint, say=say, account=account)
        except cdk.CdkError as error:
            say(f"error: {error}")
            code = 1
        finally:
            try:
                say("$ cdk destroy --force --all")
                destroyed = cdk.destroy(endpoint=endpoint, assembly_dir=output_dir, account=account)
                timings.append(("cdk destroy", destroyed.seconds))
            except cdk.CdkError as error:
                say(f"warning: {error}\n(the emulated AWS stops now anyway; nothing is left behind)")
            timings.append(("end to end", time.monotonic() - started))
            say("Timings: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings))
    say("emulated AWS stopped")
    return code


def _command_not_on_this_host(run: JobRun) -> str | None:
    """The reason when the job failed only because a node's command does not exist on this host."""
    for node in run.nodes:
        reason = str((node.get("container") or {}).get("reason") or "")
        if node.get("statusReason") == START_FAILED and reason.startswith("CannotStartContainerError: "):
            return reason.removeprefix("CannotStartContainerError: ")
    return None


def audit_deployed(*, endpoint: str, say: Printer = _say, account: EmulatedAccount = DEFAULT_ACCOUNT) -> int | None:
    """``mnp audit`` of what the deploy created: the rule pack on the live resources (docs/audit.md); its exit
    code, or None when the ``mnp`` command is not installed."""
    command = mnp_command()
    if command is None:
        say("skipping `mnp audit`: the mnp operations commands are not installed")
        return None
    say("$ mnp audit")
    shown = subprocess.run(
        [*command, "audit"],
        env=aws_environment(endpoint=endpoint, account=account),
        capture_output=True,
        text=True,
        check=False,
    )
    say((shown.stdout + shown.stderr).rstrip())
    return shown.returncode


def _hold(*, endpoint: str, say: Printer, account: EmulatedAccount) -> None:
    env = aws_environment(endpoint=endpoint, base={}, account=account)
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
