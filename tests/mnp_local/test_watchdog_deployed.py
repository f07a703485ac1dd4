"""The child-failure watchdog as deployed by ``cdk deploy``, run by the emulated AWS: its own code (the asset
the stack deployed), on Batch job state change events and on its schedule, through plain boto3 only.

One emulated AWS and one deploy of config/default.yaml for the module. The emulator runs with:

* ``MNP_LOCAL_EVENT_DELAY=2``: every event reaches the rules 2 s after the change, so a child's failure
  event is still in flight when a main node that reacts to it has ended;
* ``MNP_LOCAL_PARENT_LAG=12``: the parent job reads RUNNING (its attempt unfinished) for 12 s after its main
  node ended and its children were stopped, the moment in which a watchdog that trusted the parent's
  status alone would terminate a job whose main node already SUCCEEDED or FAILED;
* ``MNP_LOCAL_SCHEDULES=off``: the sweep runs only when a test fires it (``/mnp-local/events/fire-rule``).

The waits bound a loaded machine; nothing asserts how fast anything is.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mnp_local import cdk
from mnp_local.inventory import client
from mnp_local.server import LocalAws
from tests.mnp_local.runner.emulator import wait_until
from tests.mnp_local.test_eventbridge import post

pytestmark = [pytest.mark.deploy, pytest.mark.timeout(900)]

EVENT_DELAY = 2.0
PARENT_LAG = 12.0
WAIT = 120.0
CONFIG = cdk.REPO_ROOT / "config" / "default.yaml"
STACK = "MnpEnvironment"
QUEUE = f"{STACK}-mpi"
DEFINITION = f"{STACK}-mpi-hello"
ESSENTIAL = "Essential container in task exited"

#: Node ``FAIL`` exits 1 at once; every other node runs the definition's own command (the sample job).
FAULT = 'if [ "$AWS_BATCH_JOB_NODE_INDEX" = "{index}" ]; then echo "node {index} fails"; exit 1; fi; exec "$@"'

#: Node 1 fails at once; the main node ends (exit code argv[1]) as soon as DescribeJobs shows that, so
#: the failure's event is still on its way; other children wait until Batch stops them.
RACE = """
import os, sys, time, boto3
index = int(os.environ["AWS_BATCH_JOB_NODE_INDEX"])
job = os.environ["AWS_BATCH_JOB_ID"].split("#")[0]
if index == 1:
    print("node 1 fails", flush=True)
    sys.exit(1)
if index != int(os.environ["AWS_BATCH_JOB_MAIN_NODE_INDEX"]):
    time.sleep(600)
batch, deadline = boto3.client("batch"), time.time() + 120
while time.time() < deadline and batch.describe_jobs(jobs=[job + "#1"])["jobs"][0]["status"] != "FAILED":
    time.sleep(0.02)
print("main node ends with exit code", sys.argv[1], flush=True)
sys.exit(int(sys.argv[1]))
"""


@dataclass
class Deployed:
    endpoint: str
    queue_arn: str
    definition: dict[str, Any]
    function: str
    log_group: str
    event_rule: str
    sweep_rule: str

    def batch(self) -> Any:
        return client("batch", endpoint=self.endpoint)

    def submit(self, name: str, command: list[str], *, num_nodes: int | None = None) -> str:
        (node_range,) = self.definition["nodeProperties"]["nodeRangeProperties"]
        overrides: dict[str, Any] = {
            "nodePropertyOverrides": [
                {"targetNodes": node_range["targetNodes"], "containerOverrides": {"command": command}}
            ]
        }
        if num_nodes is not None:
            overrides["numNodes"] = num_nodes
        submitted = self.batch().submit_job(
            jobName=name, jobQueue=QUEUE, jobDefinition=self.definition["jobDefinitionArn"], nodeOverrides=overrides
        )
        return str(submitted["jobId"])

    def job(self, job_id: str) -> dict[str, Any]:
        return dict(self.batch().describe_jobs(jobs=[job_id])["jobs"][0])

    def wait_status(self, job_id: str, *statuses: str) -> dict[str, Any]:
        return dict(
            wait_until(
                lambda: (job := self.job(job_id))["status"] in statuses and job,
                what=f"{job_id} to be {'/'.join(statuses)}",
                timeout=WAIT,
            )
        )

    def decisions(self, job_id: str) -> list[dict[str, Any]]:
        """The watchdog's decision lines about ``job_id``, from its own log group."""
        logs = client("logs", endpoint=self.endpoint)
        try:
            events = logs.filter_log_events(logGroupName=self.log_group)["events"]
        except logs.exceptions.ResourceNotFoundException:
            return []
        found = []
        for event in events:
            message = str(event["message"])
            if message.startswith("{") and job_id in message:
                record = json.loads(message)
                if record.get("watchdog") == "decision" and record.get("parent_job_id") == job_id:
                    found.append(record)
        return found


def sample_command(deployed: Deployed) -> list[str]:
    (node_range,) = deployed.definition["nodeProperties"]["nodeRangeProperties"]
    return list(node_range["container"]["command"])


def fault_command(deployed: Deployed, index: int) -> list[str]:
    return ["/bin/sh", "-c", FAULT.format(index=index), "fault", *sample_command(deployed)]


@pytest.fixture(scope="module")
def deployed() -> Iterator[Deployed]:
    settings = {
        "MNP_LOCAL_TIME_SCALE": "0.002",
        "MNP_LOCAL_SCHEDULES": "off",
        "MNP_LOCAL_EVENT_DELAY": str(EVENT_DELAY),
        "MNP_LOCAL_PARENT_LAG": str(PARENT_LAG),
    }
    with tempfile.TemporaryDirectory(prefix="mnp_local_watchdog_") as workdir, LocalAws(env=settings) as endpoint:
        cdk.bootstrap(endpoint=endpoint, work_dir=Path(workdir) / "bootstrap")
        cdk.deploy(
            endpoint=endpoint,
            app_dir=cdk.REPO_ROOT,
            output_dir=Path(workdir) / "cdk.out",
            context={"config": str(CONFIG)},
            stacks=[STACK],
        )
        batch = client("batch", endpoint=endpoint)
        (queue,) = batch.describe_job_queues(jobQueues=[QUEUE])["jobQueues"]
        # Room for three 4-node jobs at once (the config's 288 vCPUs fit one).
        for entry in queue["computeEnvironmentOrder"]:
            batch.update_compute_environment(
                computeEnvironment=entry["computeEnvironment"], computeResources={"maxvCpus": 3 * 288}
            )
        definitions = batch.describe_job_definitions(jobDefinitionName=DEFINITION, status="ACTIVE")["jobDefinitions"]
        lambdas = client("lambda", endpoint=endpoint)
        (function,) = [
            f
            for f in lambdas.list_functions()["Functions"]
            if (f.get("Environment") or {}).get("Variables", {}).get("JOB_QUEUE") == queue["jobQueueArn"]
        ]
        config = lambdas.get_function_configuration(FunctionName=function["FunctionName"])
        events = client("events", endpoint=endpoint)
        rules = {}
        for rule in events.list_rules()["Rules"]:
            targets = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
            if any(target["Arn"] == function["FunctionArn"] for target in targets):
                rules["sweep" if rule.get("ScheduleExpression") else "event"] = rule["Name"]
        yield Deployed(
            endpoint=endpoint,
            queue_arn=queue["jobQueueArn"],
            definition=max(definitions, key=lambda d: int(d["revision"])),
            function=function["FunctionArn"],
            log_group=config["LoggingConfig"]["LogGroup"],
            event_rule=rules["event"],
            sweep_rule=rules["sweep"],
        )


def test_the_deployed_function_is_the_stacks_watchdog(deployed: Deployed) -> None:
    config = client("lambda", endpoint=deployed.endpoint).get_function_configuration(FunctionName=deployed.function)
    assert config["Handler"] == "index.handler" and config["Runtime"].startswith("python")
    assert config["Environment"]["Variables"]["JOB_QUEUE"] == deployed.queue_arn
    # The stack's own log group (LoggingConfig), not Lambda's default.
    assert config["LoggingConfig"]["LogGroup"] != f"/aws/lambda/{config['FunctionName']}"
    assert config["DeadLetterConfig"]["TargetArn"].startswith("arn:aws:sqs:")


def test_a_child_failure_event_ends_the_job_through_the_deployed_watchdog(deployed: Deployed) -> None:
    job_id = deployed.submit("event-path", fault_command(deployed, 2))
    parent = deployed.wait_status(job_id, "SUCCEEDED", "FAILED")
    node = deployed.job(f"{job_id}#2")
    assert node["status"] == "FAILED" and node["container"]["exitCode"] == 1
    assert parent["status"] == "FAILED", parent
    assert parent["statusReason"] == f"mnp-watchdog: child node 2 ({job_id}#2) FAILED (exit code 1): {ESSENTIAL}"
    assert parent["isTerminated"] is True
    (decision,) = wait_until(
        lambda: [d for d in deployed.decisions(job_id) if d["decision"] == "terminate"],
        what="the watchdog's terminate decision",
    )
    assert decision["source"] == "event" and decision["node_job_id"] == f"{job_id}#2"


def test_the_sweep_ends_the_job_when_the_event_rule_is_disabled(deployed: Deployed) -> None:
    events = client("events", endpoint=deployed.endpoint)
    events.disable_rule(Name=deployed.event_rule)
    try:
        job_id = deployed.submit("sweep-path", fault_command(deployed, 3))
        deployed.wait_status(f"{job_id}#3", "FAILED")
        # Long enough for the node's event to have been delivered, were the rule's DISABLED state ignored.
        time.sleep(EVENT_DELAY + 3)
        assert deployed.job(job_id)["status"] == "RUNNING"
        assert deployed.decisions(job_id) == []

        status, answer = post(deployed.endpoint, "/mnp-local/events/fire-rule", {"Name": deployed.sweep_rule})
        assert status == 200, answer
        (invocation,) = answer["Invocations"]
        assert invocation["Succeeded"] is True, invocation
        parent = deployed.wait_status(job_id, "SUCCEEDED", "FAILED")
        assert parent["statusReason"] == f"mnp-watchdog: child node 3 ({job_id}#3) FAILED (exit code 1): {ESSENTIAL}"
        (decision,) = [d for d in deployed.decisions(job_id) if d["decision"] == "terminate"]
        assert decision["source"] == "sweep"
        assert [d["decision"] for d in invocation["Result"]["decisions"]][-1] == "sweep_done"
    finally:
        events.enable_rule(Name=deployed.event_rule)


def test_a_job_whose_main_node_ended_is_never_terminated_by_a_late_child_failure(deployed: Deployed) -> None:
    """Two jobs at once: the main node SUCCEEDED (exit 0) in one, FAILED (exit 3) in the other, each while
    node 1's failure event is still in flight and the parent still reads RUNNING."""
    jobs = {
        main_exit: deployed.submit(f"race-{main_exit}", [sys.executable, "-c", RACE, str(main_exit)], num_nodes=3)
        for main_exit in (0, 3)
    }
    mains = {exit_code: deployed.wait_status(f"{job}#0", "SUCCEEDED", "FAILED") for exit_code, job in jobs.items()}
    for main_exit, job_id in jobs.items():
        assert mains[main_exit]["container"]["exitCode"] == main_exit
        # The parent still reads RUNNING (MNP_LOCAL_PARENT_LAG) while node 1's failure event and the stopped
        # node 2's are delivered: both are the watchdog's to judge.
        assert deployed.job(job_id)["status"] == "RUNNING"
    for main_exit, job_id in jobs.items():
        decided = wait_until(
            lambda job_id=job_id: (
                (got := deployed.decisions(job_id)) and {d.get("node_job_id") for d in got} >= {f"{job_id}#1"} and got
            ),
            what="the watchdog's decision on node 1",
        )
        parent = deployed.wait_status(job_id, "SUCCEEDED", "FAILED")
        assert parent["status"] == ("SUCCEEDED" if main_exit == 0 else "FAILED")
        assert parent["statusReason"] == ESSENTIAL and parent["container"]["exitCode"] == main_exit
        assert parent["isTerminated"] is False
        assert [d for d in deployed.decisions(job_id) if d["decision"] != "skip"] == []
        (on_node_1,) = [d for d in decided if d.get("node_job_id") == f"{job_id}#1"]
        assert on_node_1["code"] == "main_node_ended", on_node_1
        assert on_node_1["main_node_status"] == mains[main_exit]["status"]


def test_the_race_catches_a_watchdog_that_trusts_the_parent_status(deployed: Deployed) -> None:
    """The race above can fail: the deployed function's code replaced (UpdateFunctionCode) by a copy whose
    main-node check is gone terminates the job whose main node already SUCCEEDED. Runs last: the module's
    watchdog stays the mutant."""
    import io
    import re
    import zipfile

    source = (cdk.REPO_ROOT / "constructs_lib" / "lambda_src" / "watchdog" / "index.py").read_text(encoding="utf-8")
    mutant, count = re.subn(
        r"(def _main_node_skip\([^)]*\)[^:]*:\n)", r"\1    return None  # mutant: trusts the parent's status\n", source
    )
    assert count == 1, "the watchdog has no _main_node_skip any more: update this test's mutation"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", mutant)
    client("lambda", endpoint=deployed.endpoint).update_function_code(
        FunctionName=deployed.function, ZipFile=buffer.getvalue()
    )
    job_id = deployed.submit("race-mutant", [sys.executable, "-c", RACE, "0"], num_nodes=3)
    assert deployed.wait_status(f"{job_id}#0", "SUCCEEDED", "FAILED")["status"] == "SUCCEEDED"
    parent = deployed.wait_status(job_id, "SUCCEEDED", "FAILED")
    assert parent["status"] == "FAILED" and parent["isTerminated"] is True
    assert parent["statusReason"].startswith("mnp-watchdog: child node ")
