"""EventBridge and Lambda in the emulated AWS, through plain boto3 (and the emulator's documented
``/mnp-local/`` endpoints): Batch job state change events reach the ENABLED rules whose pattern matches,
each Lambda target runs the function's stored code with its environment, the target's input, its log
group, its timeout, retries and dead-letter queue; schedules fire on the scaled clock or on demand.

The functions here are made with CreateFunction from zips built in the test (no CDK): the deployed
watchdog's own runs are in test_watchdog_deployed.py.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import textwrap
import threading
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from mnp_local.eventbridge.targets import transform
from tests.mnp_local.runner.conftest import running_emulator
from tests.mnp_local.runner.emulator import Emulator, shell_node, unique, wait_until

pytestmark = pytest.mark.timeout(300)

REPO_ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]

#: Prints one JSON line: a marker, the payload, what the runtime gave it; then asks Batch about the job.
HANDLER = textwrap.dedent(
    """
    import json, os
    MARKER = {marker!r}

    def handler(event, context):
        answer = {{
            "marker": MARKER,
            "event": event,
            "file": __file__,
            "env": {{k: os.environ.get(k) for k in (
                "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_REGION", "LAMBDA_TASK_ROOT",
                "GREETING", "AWS_ENDPOINT_URL", "TZ")}},
            "remaining_ms": context.get_remaining_time_in_millis(),
            "request_id": context.aws_request_id,
        }}
        detail = event.get("detail") if isinstance(event, dict) else None
        if isinstance(detail, dict) and detail.get("jobId"):
            import boto3
            parent = detail["jobId"].split("#")[0]
            answer["parent_status"] = boto3.client("batch").describe_jobs(jobs=[parent])["jobs"][0]["status"]
        if isinstance(event, dict) and event.get("fail"):
            raise RuntimeError("failing on purpose")
        if isinstance(event, dict) and event.get("sleep"):
            import time
            time.sleep(event["sleep"])
        print(json.dumps(answer, sort_keys=True), flush=True)
        return {{"marker": MARKER}}
    """
)


def code_zip(marker: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", HANDLER.format(marker=marker))
    return buffer.getvalue()


def make_function(emu: Emulator, marker: str, **extra: Any) -> str:
    role = emu.client("iam").create_role(RoleName=unique("fn"), AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    created = emu.client("lambda").create_function(
        FunctionName=unique("fn"),
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": code_zip(marker)},
        Timeout=extra.pop("Timeout", 30),
        **extra,
    )
    return str(created["FunctionArn"])


def function_lines(emu: Emulator, arn: str) -> list[str]:
    config = emu.client("lambda").get_function_configuration(FunctionName=arn)
    group = config["LoggingConfig"]["LogGroup"]
    try:
        events = emu.client("logs").filter_log_events(logGroupName=group)["events"]
    except emu.client("logs").exceptions.ResourceNotFoundException:
        return []
    return [str(event["message"]) for event in sorted(events, key=lambda e: (e["timestamp"], e.get("eventId", "")))]


def answers(emu: Emulator, arn: str, marker: str) -> list[dict[str, Any]]:
    found = []
    for line in function_lines(emu, arn):
        if line.startswith("{") and f'"marker": "{marker}"' in line:
            found.append(json.loads(line))
    return found


def batch_rule(emu: Emulator, arn: str, pattern: dict[str, Any], *, state: str = "ENABLED", **target: Any) -> str:
    events = emu.client("events")
    name = unique("rule")
    events.put_rule(Name=name, EventPattern=json.dumps(pattern), State=state)
    events.put_targets(Rule=name, Targets=[{"Id": "t", "Arn": arn, **target}])
    return name


def post(endpoint: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"{endpoint}{path}", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with running_emulator(MNP_LOCAL_SCHEDULES="off") as emulator:
        yield emulator


@pytest.fixture(scope="module")
def queue(emu: Emulator) -> str:
    return emu.queue(emu.compute_environment())


def two_node_job(emu: Emulator, queue: str, script: str = "true") -> str:
    return emu.submit(queue, emu.definition(("0:", {"command": shell_node(script)}), num_nodes=2))


MAIN_NODE_SUCCEEDED = {
    "source": ["aws.batch"],
    "detail-type": ["Batch Job State Change"],
    "detail": {"status": ["SUCCEEDED"], "nodeDetails": {"isMainNode": [True]}},
}


def test_a_node_job_event_runs_the_stored_code_with_the_functions_environment(emu: Emulator, queue: str) -> None:
    marker = unique("first")
    arn = make_function(
        emu, marker, Environment={"Variables": {"GREETING": "hello"}}, LoggingConfig={"LogGroup": "/own/group"}
    )
    batch_rule(emu, arn, MAIN_NODE_SUCCEEDED)
    job_id = two_node_job(emu, queue)
    (answer,) = wait_until(lambda: answers(emu, arn, marker), what="the function's answer")

    event = answer["event"]
    assert event["detail-type"] == "Batch Job State Change" and event["source"] == "aws.batch"
    assert event["account"] == "123456789012" and event["region"] == "us-east-1"
    assert event["detail"]["jobId"] == f"{job_id}#0"
    assert event["detail"]["status"] == "SUCCEEDED"
    assert event["detail"]["nodeDetails"] == {"nodeIndex": 0, "isMainNode": True}
    assert event["detail"]["jobQueue"].endswith(f":job-queue/{queue}")
    assert event["resources"] == [event["detail"]["jobArn"]]
    assert time.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ")
    # The runtime: the function's own variables, Lambda's reserved ones, the emulator as endpoint.
    env = answer["env"]
    assert env["GREETING"] == "hello"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == arn.rsplit(":", 1)[-1]
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/own/group"
    assert env["AWS_REGION"] == "us-east-1" and env["TZ"] == ":UTC"
    assert env["AWS_ENDPOINT_URL"] == emu.endpoint
    assert 0 < answer["remaining_ms"] <= 30_000
    # The code ran from the unzipped function code, never from this repository.
    assert answer["file"].startswith(env["LAMBDA_TASK_ROOT"])
    assert not answer["file"].startswith(str(REPO_ROOT))
    # Its boto3 calls reached the emulated Batch: the parent exists there.
    assert answer["parent_status"] in ("RUNNING", "SUCCEEDED")
    report = f"REPORT RequestId: {answer['request_id']}\tDuration: "
    lines = wait_until(
        lambda: (got := function_lines(emu, arn)) and any(line.startswith(report) for line in got) and got,
        what="the invocation's REPORT line",
    )
    assert lines.index(f"START RequestId: {answer['request_id']} Version: $LATEST") < lines.index(
        f"END RequestId: {answer['request_id']}"
    )

    # UpdateFunctionCode: the next event runs the new code.
    new_marker = unique("second")
    emu.client("lambda").update_function_code(FunctionName=arn, ZipFile=code_zip(new_marker))
    two_node_job(emu, queue)
    wait_until(lambda: answers(emu, arn, new_marker), what="the new code's answer")
    assert len(answers(emu, arn, marker)) == 1


def test_disabled_rules_are_not_delivered_and_target_input_is_applied(emu: Emulator, queue: str) -> None:
    marker = unique("input")
    arn = make_function(emu, marker)
    disabled = batch_rule(emu, arn, MAIN_NODE_SUCCEEDED, state="DISABLED", Input=json.dumps({"rule": "disabled"}))
    batch_rule(emu, arn, MAIN_NODE_SUCCEEDED, Input=json.dumps({"rule": "fixed", "n": 1}))
    batch_rule(emu, arn, MAIN_NODE_SUCCEEDED, InputPath="$.detail.nodeDetails")
    batch_rule(
        emu,
        arn,
        MAIN_NODE_SUCCEEDED,
        InputTransformer={
            "InputPathsMap": {"status": "$.detail.status", "index": "$.detail.nodeDetails.nodeIndex"},
            "InputTemplate": '{"rule": "transformed", "status": <status>, "index": <index>, '
            '"text": "node <index> is <status>", "name": <aws.events.rule-name>}',
        },
    )
    two_node_job(emu, queue)

    def payloads() -> list[Any]:
        return [answer["event"] for answer in answers(emu, arn, marker)]

    wait_until(lambda: len(payloads()) >= 3, what="three deliveries")
    # A later job's delivery comes after any delivery of the first job's event, in the bus's order.
    two_node_job(emu, queue)
    wait_until(lambda: len(payloads()) >= 6, what="the second job's deliveries")
    got = payloads()
    assert {"rule": "fixed", "n": 1} in got
    assert {"nodeIndex": 0, "isMainNode": True} in got
    transformed = [p for p in got if isinstance(p, dict) and p.get("rule") == "transformed"]
    assert transformed and transformed[0]["status"] == "SUCCEEDED" and transformed[0]["index"] == 0
    assert transformed[0]["text"] == "node 0 is SUCCEEDED" and transformed[0]["name"].startswith("rule-")
    assert {"rule": "disabled"} not in got
    # Enabled again, the rule delivers.
    emu.client("events").enable_rule(Name=disabled)
    two_node_job(emu, queue)
    wait_until(lambda: {"rule": "disabled"} in payloads(), what="the re-enabled rule's delivery")


def test_a_failing_function_is_retried_then_its_event_goes_to_the_dead_letter_queue(emu: Emulator, queue: str) -> None:
    sqs = emu.client("sqs")
    url = sqs.create_queue(QueueName=unique("dlq"))["QueueUrl"]
    dlq = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    marker = unique("fails")
    arn = make_function(emu, marker, DeadLetterConfig={"TargetArn": dlq})
    assert emu.client("lambda").get_function_configuration(FunctionName=arn)["DeadLetterConfig"] == {"TargetArn": dlq}
    batch_rule(emu, arn, MAIN_NODE_SUCCEEDED, Input=json.dumps({"fail": True}))
    two_node_job(emu, queue)

    def dead_letters() -> list[dict[str, Any]]:
        return list(sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"]).get("Messages", []))

    (message,) = wait_until(dead_letters, what="the dead letter")
    assert json.loads(message["Body"]) == {"fail": True}
    assert message["MessageAttributes"]["ErrorMessage"]["StringValue"] == "failing on purpose"
    # The first try and Lambda's two retries (1 and 2 minutes, scaled by the test's time scale), each ended.
    lines = wait_until(
        lambda: (got := function_lines(emu, arn)) and sum(line.startswith("REPORT ") for line in got) == 3 and got,
        what="three invocations",
    )
    assert sum(line.startswith("START RequestId: ") for line in lines) == 3
    assert sum(line == "[ERROR] RuntimeError: failing on purpose" for line in lines) == 3


def test_a_function_is_stopped_at_its_timeout(emu: Emulator) -> None:
    marker = unique("slow")
    arn = make_function(emu, marker, Timeout=1)
    rule = unique("slow")
    events = emu.client("events")
    events.put_rule(Name=rule, ScheduleExpression="rate(1 hour)")
    events.put_targets(Rule=rule, Targets=[{"Id": "t", "Arn": arn, "Input": json.dumps({"sleep": 30})}])
    status, answer = post(emu.endpoint, "/mnp-local/events/fire-rule", {"Name": rule})
    assert status == 200, answer
    (invocation,) = answer["Invocations"]
    assert invocation["Succeeded"] is False and invocation["FunctionError"] == "Sandbox.Timedout"
    assert any(line.endswith("Task timed out after 1.00 seconds") for line in function_lines(emu, arn))


def test_fire_rule_runs_a_schedules_targets_now_and_says_what_is_wrong(emu: Emulator) -> None:
    marker = unique("sweep")
    arn = make_function(emu, marker)
    events = emu.client("events")
    rule = unique("schedule")
    events.put_rule(Name=rule, ScheduleExpression="rate(5 minutes)")
    events.put_targets(
        Rule=rule,
        Targets=[
            {
                "Id": "t",
                "Arn": arn,
                "InputTransformer": {
                    "InputPathsMap": {"time": "$.time"},
                    "InputTemplate": '{"watchdog": "sweep", "scheduled_at": <time>}',
                },
            }
        ],
    )
    status, answer = post(emu.endpoint, "/mnp-local/events/fire-rule", {"Name": rule})
    assert status == 200, answer
    (invocation,) = answer["Invocations"]
    assert invocation["Succeeded"] is True and invocation["Result"] == {"marker": marker}
    (seen,) = answers(emu, arn, marker)
    assert seen["event"]["watchdog"] == "sweep"
    assert time.strptime(seen["event"]["scheduled_at"], "%Y-%m-%dT%H:%M:%SZ")  # a JSON string, as EventBridge
    assert seen["request_id"] == invocation["RequestId"]

    pattern_rule = batch_rule(emu, arn, MAIN_NODE_SUCCEEDED)
    assert post(emu.endpoint, "/mnp-local/events/fire-rule", {"Name": pattern_rule})[0] == 404
    assert post(emu.endpoint, "/mnp-local/events/fire-rule", {"Name": "no-such-rule"}) == (
        404,
        {"Error": "rule no-such-rule does not exist on event bus default of account 123456789012 in us-east-1"},
    )
    assert post(emu.endpoint, "/mnp-local/events/fire-rule", {})[0] == 400


def test_credentials_of_another_account_act_in_that_account(emu: Emulator) -> None:
    status, keys = post(emu.endpoint, "/mnp-local/credentials", {"Account": "111122223333"})
    assert status == 200
    sts = boto3.client(
        "sts",
        endpoint_url=emu.endpoint,
        region_name="us-east-2",
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
    )
    assert sts.get_caller_identity()["Account"] == "111122223333"
    assert post(emu.endpoint, "/mnp-local/credentials", {"Account": "12"})[0] == 400


def test_schedules_fire_on_the_scaled_clock() -> None:
    # rate(1 minute) at a time scale of 0.01: every 0.6 s.
    with running_emulator(MNP_LOCAL_TIME_SCALE="0.01", MNP_LOCAL_SCHEDULES="on") as emulator:
        marker = unique("clock")
        arn = make_function(emulator, marker)
        events = emulator.client("events")
        for name, state in (("on", "ENABLED"), ("off", "DISABLED")):
            events.put_rule(Name=f"clock-{name}", ScheduleExpression="rate(1 minute)", State=state)
            target = {"Id": "t", "Arn": arn, "Input": json.dumps({"rule": name})}
            events.put_targets(Rule=f"clock-{name}", Targets=[target])
        fired = wait_until(
            lambda: (got := answers(emulator, arn, marker)) and len(got) >= 3 and got, what="three firings"
        )
        assert {answer["event"]["rule"] for answer in fired} == {"on"}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ('{"s": <s>}', {"s": "RUNNING"}),
        ('{"s": "<s>"}', {"s": "RUNNING"}),
        ('{"n": <n>, "list": [9, <s>, true]}', {"n": 3, "list": [9, "RUNNING", True]}),
        ('{"missing": <nope>, "text": "x<nope>y"}', {"missing": None, "text": "xy"}),
        ('{"escaped": "say \\"<s>\\""}', {"escaped": 'say "RUNNING"'}),
    ],
)
def test_input_transformer_quotes_values_as_eventbridge_does(template: str, expected: Any) -> None:
    event = {"detail": {"status": "RUNNING", "n": 3}}
    paths = {"s": "$.detail.status", "n": "$.detail.n", "nope": "$.detail.absent"}
    text = transform(template, paths, event, rule_arn="arn", rule_name="r", ingestion_time="t")
    assert json.loads(text) == expected


def test_a_killed_emulator_leaves_no_function_directory_behind(tmp_path: Path) -> None:
    """The unzipped code of a function that is running when the emulator is SIGKILLed is removed by the
    reaper, like a node's working directory."""
    from mnp_local import LocalAws

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    log = tmp_path / "server.log"
    with LocalAws(env={"MNP_LOCAL_SCHEDULES": "off", "TMPDIR": str(scratch)}, log_path=log) as endpoint:
        emu = Emulator(endpoint=endpoint)
        arn = make_function(emu, unique("kill"), Timeout=60)
        rule = unique("kill")
        events = emu.client("events")
        events.put_rule(Name=rule, ScheduleExpression="rate(1 hour)")
        events.put_targets(Rule=rule, Targets=[{"Id": "t", "Arn": arn, "Input": json.dumps({"sleep": 60})}])

        def fire() -> None:
            with contextlib.suppress(OSError):  # the emulator dies under the request
                post(endpoint, "/mnp-local/events/fire-rule", {"Name": rule})

        firing = threading.Thread(target=fire, daemon=True)
        firing.start()

        def unzipped() -> list[Path]:
            return [path for path in scratch.glob("mnp_local_lambda_*") if (path / "task").is_dir()]

        wait_until(lambda: bool(unzipped()), what="the function's code unzipped")
        found = re.search(r"\(pid (\d+)\)", log.read_text())
        assert found is not None
        os.kill(int(found.group(1)), signal.SIGKILL)
        wait_until(lambda: not list(scratch.glob("mnp_local_lambda_*")), what="the reaper to remove the directory")
        firing.join(timeout=130)
