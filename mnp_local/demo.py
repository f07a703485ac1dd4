"""``make deploy-local``: the real CDK CLI deploys our app into a local emulated AWS, end to end.

Steps: start the emulated AWS (:class:`~mnp_local.server.LocalAws`), ``cdk bootstrap``,
``cdk deploy`` of the config, submit the config's sample multi-node parallel job and follow it as the
local node runner runs it (nodes coming up, main node first, each node's output from CloudWatch Logs,
the outcome; then ``mnp status`` when the ``mnp`` commands are installed), list what was created by
reading it back with boto3, then ``cdk destroy`` and stop the emulated AWS. Nothing outlives the command
unless ``--keep`` is given, which holds the emulated AWS open until Ctrl-C and then cleans up the same way.
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
from typing import Any

from mnp_local import cdk
from mnp_local.inventory import Inventory, client, format_inventory, read_inventory
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


def _sample_job(*, endpoint: str, inventory: Inventory, stack: str | None = None) -> tuple[str, str] | None:
    """A multi-node job definition and a job queue of the same stack (``stack``, else the first stack, by
    name, that has both), read from the stack's resources: a definition of one stack may not fit another
    stack's compute environments, and would then wait in RUNNABLE."""
    cloudformation = client("cloudformation", endpoint=endpoint)
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


#: Runs a node's own command (exec form, via ``subprocess``); on the main node it then waits until every
#: child node has ended, asking DescribeJobs as application code may on AWS ("your application code can
#: query the AWS Batch API to get the main node and child node information", user guide, "Job lifecycle
#: for MNP jobs"). The sample's command exits at once, and Batch stops the child nodes when the main node
#: exits, so without this the children's output would mostly never appear, here as on AWS.
HOLD_MAIN_NODE = """
import os, subprocess, sys, time
code = subprocess.call(sys.argv[1:])
if os.environ["AWS_BATCH_JOB_NODE_INDEX"] == os.environ["AWS_BATCH_JOB_MAIN_NODE_INDEX"]:
    import boto3
    job = os.environ["AWS_BATCH_JOB_ID"].split("#")[0]
    main = int(os.environ["AWS_BATCH_JOB_MAIN_NODE_INDEX"])
    ids = [f"{job}#{i}" for i in range(int(os.environ["AWS_BATCH_JOB_NUM_NODES"])) if i != main]
    batch, deadline = boto3.client("batch"), time.time() + 120
    while ids and time.time() < deadline:
        found = [j for k in range(0, len(ids), 100) for j in batch.describe_jobs(jobs=ids[k:k + 100])["jobs"]]
        if len(found) == len(ids) and all(j["status"] in ("SUCCEEDED", "FAILED") for j in found):
            break
        time.sleep(0.1)
sys.exit(code)
"""
_ENDED = ("SUCCEEDED", "FAILED")


def hold_main_node_overrides(definition: dict[str, Any]) -> dict[str, Any]:
    """``nodeOverrides`` that run every node range's command through :data:`HOLD_MAIN_NODE`."""
    ranges = (definition.get("nodeProperties") or {}).get("nodeRangeProperties") or []
    return {
        "nodePropertyOverrides": [
            {
                "targetNodes": node_range["targetNodes"],
                "containerOverrides": {
                    "command": [
                        sys.executable,
                        "-c",
                        HOLD_MAIN_NODE,
                        *((node_range.get("container") or {}).get("command") or []),
                    ]
                },
            }
            for node_range in ranges
        ]
    }


def _node_label(node: dict[str, Any]) -> str:
    details = node.get("nodeDetails") or {}
    return f"node {details.get('nodeIndex')}" + (" (main)" if details.get("isMainNode") else "")


def follow_job(
    batch: Any, *, job_id: str, num_nodes: int, say: Printer, timeout: float = 600.0
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Print each status change of the job and its node jobs as seen by DescribeJobs, until all have ended."""
    ids = [job_id, *(f"{job_id}#{index}" for index in range(num_nodes))]
    seen: dict[str, str] = {}
    started = time.monotonic()
    cancelled = False
    while True:
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), 100):
            for job in batch.describe_jobs(jobs=ids[start : start + 100])["jobs"]:
                found[job["jobId"]] = job
        for job_id_seen in ids:
            job = found.get(job_id_seen)
            if job is None or seen.get(job_id_seen) == job["status"]:
                continue
            seen[job_id_seen] = job["status"]
            label = "job" if job_id_seen == job_id else _node_label(job)
            extra = ""
            if job["status"] == "RUNNING" and job_id_seen != job_id:
                interfaces = (job.get("container") or {}).get("networkInterfaces") or [{}]
                extra = f" at {interfaces[0].get('privateIpv4Address')}"
            elif job["status"] in _ENDED:
                code = (job.get("container") or {}).get("exitCode")
                extra = (
                    f" (exit {code}: {job.get('statusReason')})"
                    if code is not None
                    else f" ({job.get('statusReason')})"
                )
            say(f"  +{time.monotonic() - started:6.3f}s  {label:<14} {job['status']}{extra}")
        if len(found) == len(ids) and all(job["status"] in _ENDED for job in found.values()):
            return found[job_id], [found[f"{job_id}#{index}"] for index in range(num_nodes)]
        parent = found.get(job_id) or {}
        reason = str(parent.get("statusReason") or "")
        if parent.get("status") == "RUNNABLE" and reason.startswith("MISCONFIGURATION:") and not cancelled:
            # It would wait for the queue's time-limit action (an hour, say): say why, and end it now.
            say(f"  the job cannot be placed: {reason}")
            batch.cancel_job(jobId=job_id, reason="mnp_local deploy: the sample job cannot be placed")
            cancelled = True
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"job {job_id} did not end within {timeout:g} s")
        time.sleep(0.05)


def _log_group(definition: dict[str, Any], node_index: int) -> str:
    from mnp_toolkit.core.node_groups import node_container, node_groups

    properties = definition.get("nodeProperties") or {}
    container = node_container(properties, node_groups(properties), node_index)
    options = (container.get("logConfiguration") or {}).get("options") or {}
    return str(options.get("awslogs-group") or "/aws/batch/job")


def show_nodes(
    *, logs: Any, definition: dict[str, Any], nodes: list[dict[str, Any]], say: Printer
) -> dict[int, list[str]]:
    """Print the order the nodes came up in (their startedAt) and each node's output; returns the output."""
    up = sorted((node for node in nodes if node.get("startedAt")), key=lambda node: node["startedAt"])
    if up:
        first = up[0]["startedAt"]
        order = ", ".join(f"{_node_label(node)} +{node['startedAt'] - first} ms" for node in up)
        say(f"Nodes came up in this order (startedAt): {order}")
    outputs: dict[int, list[str]] = {}
    group = _log_group(definition, 0)
    say(f"Output of each node (CloudWatch Logs, group {group}):")
    for node in nodes:
        index = (node.get("nodeDetails") or {}).get("nodeIndex", -1)
        stream = (node.get("container") or {}).get("logStreamName")
        lines: list[str] = []
        if stream:
            events = logs.get_log_events(
                logGroupName=_log_group(definition, index), logStreamName=stream, startFromHead=True
            )
            lines = [event["message"] for event in events["events"] if not event["message"].startswith("mnp_local: ")]
        outputs[index] = lines
        say(f"  {_node_label(node)}: " + (" | ".join(lines) if lines else "(no output)"))
    return outputs


def submit_and_show(
    *, endpoint: str, inventory: Inventory, say: Printer = _say, stack: str | None = None
) -> str | None:
    """Submit a multi-node definition to a queue of the same stack (``stack``, else the first that has both),
    follow it to its end and show each node's output, then ``mnp status`` of it; the job id."""
    job = _sample_job(endpoint=endpoint, inventory=inventory, stack=stack)
    if job is None:
        say("skipping the sample job: the stack has no job queue or no multi-node job definition")
        return None
    queue, definition_name = job
    batch = client("batch", endpoint=endpoint)
    found = batch.describe_job_definitions(jobDefinitionName=definition_name, status="ACTIVE")["jobDefinitions"]
    definition = max(found, key=lambda d: int(d["revision"]))
    num_nodes = int(definition["nodeProperties"]["numNodes"])
    say(f"$ aws batch submit-job --job-queue {queue} --job-definition {definition_name} --node-overrides ...")
    say(
        "  (the sample's command exits at once, and Batch stops the child nodes when the main node exits, here as "
        "on AWS: the node overrides run each command through a wrapper that keeps the main node up until its "
        "children have ended, asking DescribeJobs)"
    )
    submitted = batch.submit_job(
        jobName=f"{definition_name}-local-demo",
        jobQueue=queue,
        jobDefinition=definition["jobDefinitionArn"],
        nodeOverrides=hold_main_node_overrides(definition),
    )
    job_id = str(submitted["jobId"])
    say(f"submitted job {job_id}: {num_nodes} nodes, main node {definition['nodeProperties']['mainNode']}")
    parent, nodes = follow_job(batch, job_id=job_id, num_nodes=num_nodes, say=say)
    show_nodes(logs=client("logs", endpoint=endpoint), definition=definition, nodes=nodes, say=say)
    say(f"job {job_id} {parent['status']}")
    command = mnp_command()
    if command is None:
        say("skipping `mnp status`: the mnp operations commands are not installed")
        return job_id
    status = [*command, "status", job_id]
    say(f"$ mnp {shlex.join(status[len(command) :])}")
    shown = subprocess.run(status, env=aws_environment(endpoint=endpoint), capture_output=True, text=True, check=False)
    say((shown.stdout + shown.stderr).rstrip())
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
