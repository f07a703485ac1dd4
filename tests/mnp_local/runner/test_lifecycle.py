"""The MNP job lifecycle of the Batch user guide, one test per documented sentence, through plain boto3.

Sources: user guide "Job lifecycle for MNP jobs", "Environment variables" (MNP) and "AWS Batch job
environment variables"; API reference SubmitJob, DescribeJobs, TerminateJob, CancelJob, RetryStrategy,
EvaluateOnExit, JobTimeout.
"""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest

from tests.mnp_local.runner.conftest import Environment
from tests.mnp_local.runner.emulator import (
    no_node_processes,
    python_node,
    shell_node,
    wait_until,
)

pytestmark = pytest.mark.timeout(300)

REPORT = "import json, os; print(json.dumps({'env': dict(os.environ), 'cwd': os.getcwd(), 'ls': os.listdir('.')}))"
#: A node that waits for its main node's outcome is the test's way of keeping it alive ("sleep" would
#: be a timing assumption); it ends when it is stopped.
FOREVER = shell_node("while :; do sleep 0.05; done")


def _main_waits_for(condition: str) -> str:
    """A main node script that polls DescribeJobs (through AWS_ENDPOINT_URL, as application code may on
    AWS) until ``condition`` holds for the dict ``nodes`` (node index -> status)."""
    return textwrap.dedent(
        f"""
        import json, os, sys, time, boto3
        job = os.environ["AWS_BATCH_JOB_ID"].split("#")[0]
        count = int(os.environ["AWS_BATCH_JOB_NUM_NODES"])
        batch = boto3.client("batch")
        deadline = time.time() + 60
        while time.time() < deadline:
            ids = [f"{{job}}#{{i}}" for i in range(count)]
            found = {{}}
            for start in range(0, count, 100):
                for j in batch.describe_jobs(jobs=ids[start:start + 100])["jobs"]:
                    found[j["nodeDetails"]["nodeIndex"]] = j["status"]
            nodes = found
            if {condition}:
                print("main saw", sorted(nodes.items()))
                sys.exit(int(os.environ.get("MAIN_EXIT", "0")))
            time.sleep(0.02)
        print("main gave up waiting", sorted(nodes.items()))
        sys.exit(99)
        """
    )


def test_env_vars_working_directory_and_exec_form(env: Environment) -> None:
    """Each node: its container environment (with submit-time overrides), the Batch variables, a fresh
    working directory, the command in exec form; AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS on
    children only."""
    emu = env.emulator
    # The main node reports once its children have (it would stop them by exiting first).
    main_report = _main_waits_for("all(nodes.get(i) == 'SUCCEEDED' for i in range(1, count))").replace(
        'print("main saw", sorted(nodes.items()))', REPORT.split("; ", 1)[1]
    )
    environment = [{"name": "FROM_DEFINITION", "value": "d"}]
    definition = emu.definition(
        ("0", {"command": python_node(main_report), "environment": environment}),
        ("1:", {"command": python_node(REPORT), "environment": environment}),
        num_nodes=3,
    )
    job_id = emu.submit(
        env.queue,
        definition,
        nodeOverrides={
            "nodePropertyOverrides": [
                {"targetNodes": target, "containerOverrides": {"environment": [{"name": "FROM_SUBMIT", "value": "s"}]}}
                for target in ("0", "1:")
            ]
        },
    )
    _, nodes = emu.wait_done(job_id, 3)
    main = nodes[0]
    main_address = main["container"]["networkInterfaces"][0]["privateIpv4Address"]
    reports = [emu.json_line(node) for node in nodes]
    for index, report in enumerate(reports):
        variables = report["env"]
        assert variables["AWS_BATCH_JOB_ID"] == f"{job_id}#{index}"
        assert variables["AWS_BATCH_JOB_NODE_INDEX"] == str(index)
        assert variables["AWS_BATCH_JOB_NUM_NODES"] == "3"
        assert variables["AWS_BATCH_JOB_MAIN_NODE_INDEX"] == "0"
        assert variables["AWS_BATCH_JOB_ATTEMPT"] == "1"
        assert variables["AWS_BATCH_JQ_NAME"] == env.queue
        assert variables["AWS_BATCH_CE_NAME"] == env.compute_environment.rsplit("/", 1)[1]
        assert variables["FROM_DEFINITION"] == "d" and variables["FROM_SUBMIT"] == "s"
        # Nothing of the emulator's own environment reaches a node (it would not inside a container).
        assert "MNP_LOCAL_TIME_SCALE" not in variables and "PYTEST_CURRENT_TEST" not in variables
        assert report["ls"] == []
    assert "AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS" not in reports[0]["env"]
    for report in reports[1:]:
        assert report["env"]["AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS"] == main_address
    assert len({report["cwd"] for report in reports}) == 3

    # Exec form: no shell expands anything unless the command starts one.
    literal = emu.definition(("0:", {"command": ["/bin/echo", "$AWS_BATCH_JOB_NODE_INDEX", "*"]}), num_nodes=1)
    literal_job = emu.submit(env.queue, literal)
    _, (only,) = emu.wait_done(literal_job, 1)
    assert emu.own_lines(only) == ["$AWS_BATCH_JOB_NODE_INDEX *"]


def test_each_node_has_its_own_address_which_the_others_reach_it_by(env: Environment) -> None:
    """Distinct private IPv4 addresses in container.networkInterfaces; the children reach the main node at
    AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS; each node's ECS task metadata names its own address."""
    emu = env.emulator
    script = textwrap.dedent(
        """
        import json, os, socket, time, urllib.request
        me = json.load(urllib.request.urlopen(os.environ["ECS_CONTAINER_METADATA_URI_V4"]))
        address = me["Networks"][0]["IPv4Addresses"][0]
        count = int(os.environ["AWS_BATCH_JOB_NUM_NODES"])
        if "AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS" not in os.environ:
            server = socket.create_server((address, 47123))
            heard = []
            while len(heard) < count - 1:
                connection, peer = server.accept()
                heard.append([connection.recv(100).decode(), peer[0]])
                connection.close()
            print(json.dumps({"address": address, "heard": sorted(heard)}))
        else:
            main = os.environ["AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS"]
            while True:
                try:
                    with socket.create_connection((main, 47123), source_address=(address, 0)) as s:
                        s.sendall(os.environ["AWS_BATCH_JOB_NODE_INDEX"].encode())
                    break
                except OSError:
                    time.sleep(0.02)
            print(json.dumps({"address": address}))
        """
    )
    definition = emu.definition(("0:", {"command": python_node(script)}), num_nodes=4)
    job_id = emu.submit(env.queue, definition)
    parent, nodes = emu.wait_done(job_id, 4)
    assert parent["status"] == "SUCCEEDED", parent
    addresses = [node["container"]["networkInterfaces"][0]["privateIpv4Address"] for node in nodes]
    assert len(set(addresses)) == 4 and all(address.startswith("127.") for address in addresses)
    reports = [emu.json_line(node) for node in nodes]
    assert [report["address"] for report in reports] == addresses
    assert reports[0]["heard"] == sorted([[str(index), addresses[index]] for index in (1, 2, 3)])


def test_main_node_is_launched_first_and_children_after_it_is_running(env: Environment) -> None:
    """User guide: "The main node is launched first" / "When the main node reaches the RUNNING status ..., the child
    nodes are launched": no child starts before the main node runs, and none at all when it never runs."""
    emu = env.emulator
    definition = emu.definition(
        ("0", {"command": python_node(_main_waits_for("len(nodes) == 3 and nodes[1] == nodes[2] == 'SUCCEEDED'"))}),
        ("1:", {"command": ["/bin/true"]}),
        num_nodes=3,
    )
    job_id = emu.submit(env.queue, definition)
    parent, nodes = emu.wait_done(job_id, 3)
    assert parent["status"] == "SUCCEEDED"
    main_started = nodes[0]["startedAt"]
    assert parent["startedAt"] == main_started
    assert all(child["startedAt"] >= main_started for child in nodes[1:])

    never = emu.definition(
        ("0", {"command": ["/nonexistent/main-command"]}), ("1:", {"command": ["/bin/true"]}), num_nodes=3
    )
    never_id = emu.submit(env.queue, never)
    parent, nodes = emu.wait_done(never_id, 3)
    assert parent["status"] == "FAILED"
    assert nodes[0]["statusReason"] == "Task failed to start"
    assert nodes[0]["container"]["reason"].startswith("CannotStartContainerError")
    for child in nodes[1:]:
        assert child["status"] == "FAILED"
        assert child["attempts"] == [] and "startedAt" not in child


def test_main_node_decides_the_outcome(env: Environment) -> None:
    """User guide: "The main node is a single subtask that AWS Batch monitors to determine the outcome": the parent
    has the main node's status, statusReason, exit code and times; a child's exit code changes nothing."""
    emu = env.emulator
    failing_main = emu.definition(
        (
            "0",
            {
                "command": python_node(_main_waits_for("nodes.get(1) == 'SUCCEEDED'")),
                "environment": [{"name": "MAIN_EXIT", "value": "3"}],
            },
        ),
        ("1:", {"command": ["/bin/true"]}),
        num_nodes=2,
    )
    job_id = emu.submit(env.queue, failing_main)
    parent, (main, child) = emu.wait_done(job_id, 2)
    assert (parent["status"], main["status"], child["status"]) == ("FAILED", "FAILED", "SUCCEEDED")
    assert parent["container"]["exitCode"] == main["container"]["exitCode"] == 3
    assert parent["statusReason"] == main["statusReason"] == "Essential container in task exited"
    assert (parent["startedAt"], parent["stoppedAt"]) == (main["startedAt"], main["stoppedAt"])

    failing_child = emu.definition(
        ("0", {"command": python_node(_main_waits_for("nodes.get(1) == 'FAILED'"))}),
        ("1:", {"command": shell_node("exit 7")}),
        num_nodes=2,
    )
    job_id = emu.submit(env.queue, failing_child)
    parent, (main, child) = emu.wait_done(job_id, 2)
    assert (parent["status"], main["status"], child["status"]) == ("SUCCEEDED", "SUCCEEDED", "FAILED")
    assert child["container"]["exitCode"] == 7
    assert parent["container"]["exitCode"] == 0


def test_a_child_failure_changes_nothing_else(env: Environment) -> None:
    """User guide: "If a child node dies, AWS Batch doesn't take any action on the other nodes in the job": the main
    node and the other children keep running after one child failed."""
    emu = env.emulator
    definition = emu.definition(
        ("0", {"command": python_node(_main_waits_for("nodes.get(1) == 'FAILED' and nodes.get(2) == 'RUNNING'"))}),
        ("1", {"command": shell_node("exit 1")}),
        ("2", {"command": FOREVER}),
        num_nodes=3,
    )
    job_id = emu.submit(env.queue, definition)
    parent, (main, failed, other) = emu.wait_done(job_id, 3)
    assert parent["status"] == "SUCCEEDED" and main["status"] == "SUCCEEDED"
    assert emu.own_lines(main)[-1].startswith("main saw")
    assert failed["status"] == "FAILED"
    # The other child ran until the main node exited, and was stopped then.
    assert other["statusReason"] == "Main node exited; child nodes are stopped"
    assert other["stoppedAt"] >= main["stoppedAt"]


def test_children_are_stopped_when_the_main_node_exits(env: Environment) -> None:
    """The user guide: "If the main node exits, the job is considered finished, and all of the child nodes
    are stopped": SIGTERM first; a child that ignores it gets SIGKILL after the grace period. "Individual
    nodes exit and move to SUCCEEDED or FAILED based on their exit code": one that exits 0 on SIGTERM
    SUCCEEDS."""
    emu = env.emulator
    polite = shell_node("trap 'echo got TERM; exit 0' TERM; while :; do sleep 0.02; done")
    stubborn = shell_node("trap 'echo ignoring TERM' TERM; while :; do sleep 0.02; done")
    definition = emu.definition(
        ("0", {"command": python_node(_main_waits_for("nodes.get(1) == nodes.get(2) == 'RUNNING'"))}),
        ("1", {"command": polite}),
        ("2", {"command": stubborn}),
        num_nodes=3,
    )
    job_id = emu.submit(env.queue, definition)
    parent, (_, first, second) = emu.wait_done(job_id, 3)
    assert parent["status"] == "SUCCEEDED"
    assert "got TERM" in emu.own_lines(first)
    assert first["container"]["exitCode"] == 0
    assert "ignoring TERM" in emu.own_lines(second)
    assert second["container"]["exitCode"] == 137  # SIGKILL, as Docker reports it
    assert (first["status"], second["status"]) == ("SUCCEEDED", "FAILED")
    for child in (first, second):
        assert child["statusReason"] == "Main node exited; child nodes are stopped"
    wait_until(lambda: no_node_processes(job_id), what="the stopped nodes' processes to be gone")


def test_retries_rerun_every_node_on_a_main_node_failure_only(env: Environment) -> None:
    """RetryStrategy: a failed main node starts a new attempt of every node, with AWS_BATCH_JOB_ATTEMPT
    counting up; a failed child starts none; an EXIT rule of evaluateOnExit stops retrying."""
    emu = env.emulator
    main_script = _main_waits_for("nodes.get(1) == 'RUNNING'").replace(
        'int(os.environ.get("MAIN_EXIT", "0"))', '0 if os.environ["AWS_BATCH_JOB_ATTEMPT"] == "3" else 5'
    )
    child_script = shell_node('echo "attempt $AWS_BATCH_JOB_ATTEMPT"; while :; do sleep 0.02; done')
    definition = emu.definition(
        ("0", {"command": python_node(main_script)}), ("1", {"command": child_script}), num_nodes=2
    )
    job_id = emu.submit(env.queue, definition, retryStrategy={"attempts": 3})
    parent, (main, child) = emu.wait_done(job_id, 2)
    assert parent["status"] == "SUCCEEDED"
    assert len(parent["attempts"]) == len(main["attempts"]) == len(child["attempts"]) == 3
    assert [a["container"]["exitCode"] for a in main["attempts"]] == [5, 5, 0]
    assert [emu.own_lines(child, attempt=n) for n in (1, 2, 3)] == [["attempt 1"], ["attempt 2"], ["attempt 3"]]
    assert len({a["container"]["logStreamName"] for a in child["attempts"]}) == 3

    child_fails = emu.definition(
        ("0", {"command": python_node(_main_waits_for("nodes.get(1) == 'FAILED'"))}),
        ("1", {"command": shell_node("exit 4")}),
        num_nodes=2,
    )
    job_id = emu.submit(env.queue, child_fails, retryStrategy={"attempts": 3})
    parent, nodes = emu.wait_done(job_id, 2)
    assert parent["status"] == "SUCCEEDED"
    assert [len(node["attempts"]) for node in (parent, *nodes)] == [1, 1, 1]

    exit_rule = emu.definition(("0:", {"command": shell_node("exit 2")}), num_nodes=1)
    job_id = emu.submit(
        env.queue,
        exit_rule,
        retryStrategy={"attempts": 5, "evaluateOnExit": [{"onExitCode": "2", "action": "EXIT"}]},
    )
    parent, _ = emu.wait_done(job_id, 1)
    assert parent["status"] == "FAILED" and len(parent["attempts"]) == 1

    retry_rule = emu.definition(
        ("0:", {"command": shell_node('[ "$AWS_BATCH_JOB_ATTEMPT" = 2 ] || exit 9')}),
        num_nodes=1,
        retryStrategy={"attempts": 2, "evaluateOnExit": [{"onExitCode": "9*", "action": "RETRY"}]},
    )
    job_id = emu.submit(env.queue, retry_rule)
    parent, _ = emu.wait_done(job_id, 1)
    assert parent["status"] == "SUCCEEDED" and len(parent["attempts"]) == 2


@pytest.mark.parametrize(
    ("command", "rule", "attempts"),
    [
        # A plain exit has no container reason: "*" matches the absent value (user guide, "Automated job
        # retries": the final entry that "exits for any reason" is {"action": "EXIT", "onReason": "*"}).
        (["/bin/sh", "-c", "exit 1"], {"onReason": "*", "action": "EXIT"}, 1),
        (["/bin/sh", "-c", "exit 1"], {"onStatusReason": "*", "action": "EXIT"}, 1),
        (["/bin/sh", "-c", "exit 1"], {"onExitCode": "*", "action": "EXIT"}, 1),
        # A command that cannot start has no exit code: "*" still matches it.
        (["/nonexistent/command"], {"onExitCode": "*", "action": "EXIT"}, 1),
        # A prefix before the "*" does not match an absent value, so no rule matches: retried.
        (["/bin/sh", "-c", "exit 1"], {"onReason": "AGENT*", "action": "EXIT"}, 3),
        (["/nonexistent/command"], {"onExitCode": "1*", "action": "EXIT"}, 3),
    ],
)
def test_evaluate_on_exit_star_matches_any_value_even_an_absent_one(
    env: Environment, command: list[str], rule: dict[str, str], attempts: int
) -> None:
    """EvaluateOnExit: a pattern "can optionally end with an asterisk (*) so that only the start of the string
    needs to be an exact match"; "*" alone matches whatever the job reports, or does not."""
    emu = env.emulator
    definition = emu.definition(("0:", {"command": command}), num_nodes=2)
    job_id = emu.submit(env.queue, definition, retryStrategy={"attempts": 3, "evaluateOnExit": [rule]})
    parent, nodes = emu.wait_done(job_id, 2)
    assert parent["status"] == "FAILED"
    assert len(parent["attempts"]) == len(nodes[0]["attempts"]) == attempts


def test_attempt_duration_applies_to_the_whole_job_and_is_not_retried(env: Environment) -> None:
    """User guide: "The timeout value specified in the attemptDurationSeconds parameter applies to the whole job";
    "If a job is terminated due to a timeout, it isn't retried"."""
    emu = env.emulator
    definition = emu.definition(("0:", {"command": FOREVER}), num_nodes=3)
    job_id = emu.submit(env.queue, definition, timeout={"attemptDurationSeconds": 60}, retryStrategy={"attempts": 3})
    parent, nodes = emu.wait_done(job_id, 3)
    assert parent["status"] == "FAILED"
    assert parent["statusReason"] == "Job attempt duration exceeded timeout"
    assert len(parent["attempts"]) == 1
    for node in nodes:
        assert node["status"] == "FAILED"
        assert node["statusReason"] == "Job attempt duration exceeded timeout"
    wait_until(lambda: no_node_processes(job_id), what="the timed-out nodes' processes to be gone")


def test_terminate_job_stops_every_node_of_a_running_job(env: Environment) -> None:
    """TerminateJob: "Jobs that are in the STARTING or RUNNING state are terminated, which causes them to
    transition to FAILED"; not retried."""
    emu = env.emulator
    definition = emu.definition(("0:", {"command": FOREVER}), num_nodes=3)
    job_id = emu.submit(env.queue, definition, retryStrategy={"attempts": 3})
    wait_until(lambda: all(node["status"] == "RUNNING" for node in emu.nodes(job_id, 3)), what="every node to run")
    emu.batch.terminate_job(jobId=job_id, reason="stopped by the test")
    parent, nodes = emu.wait_done(job_id, 3)
    assert parent["status"] == "FAILED" and parent["statusReason"] == "stopped by the test"
    assert parent["isTerminated"] is True and len(parent["attempts"]) == 1
    assert all(node["status"] == "FAILED" and node["statusReason"] == "stopped by the test" for node in nodes)
    wait_until(lambda: no_node_processes(job_id), what="the terminated nodes' processes to be gone")
    # A job that has ended is left as it is.
    emu.batch.terminate_job(jobId=job_id, reason="again")
    assert emu.job(job_id)["statusReason"] == "stopped by the test"


def test_cancel_job_leaves_a_started_job_alone(env: Environment) -> None:
    """CancelJob: "Jobs that progressed to the STARTING or RUNNING state aren't canceled. However, the
    API operation still succeeds"."""
    emu = env.emulator
    definition = emu.definition(("0:", {"command": FOREVER}), num_nodes=3)
    job_id = emu.submit(env.queue, definition)
    wait_until(lambda: all(node["status"] == "RUNNING" for node in emu.nodes(job_id, 3)), what="every node to run")
    emu.batch.cancel_job(jobId=job_id, reason="cancel a running job")
    emu.batch.cancel_job(jobId=f"{job_id}#2", reason="cancel a running node")
    # A barrier: once node 1 (terminated after the cancels) has stopped, the runner has seen the cancels.
    emu.batch.terminate_job(jobId=f"{job_id}#1", reason="barrier")
    wait_until(lambda: emu.nodes(job_id, 3)[1]["status"] == "FAILED", what="node 1 to stop")
    assert emu.job(job_id)["status"] == "RUNNING"
    assert [node["status"] for node in emu.nodes(job_id, 3)] == ["RUNNING", "FAILED", "RUNNING"]
    emu.batch.terminate_job(jobId=job_id, reason="clean up")
    parent, _ = emu.wait_done(job_id, 3)
    assert parent["statusReason"] == "clean up" and parent["isCancelled"] is False


def test_terminating_a_child_node_stops_that_node_only(env: Environment) -> None:
    """TerminateJob of a node job JOB#N (the docs are silent): that node is stopped; the others run on."""
    emu = env.emulator
    definition = emu.definition(
        ("0", {"command": python_node(_main_waits_for("nodes.get(1) == 'FAILED' and nodes.get(2) == 'RUNNING'"))}),
        ("1:", {"command": FOREVER}),
        num_nodes=3,
    )
    job_id = emu.submit(env.queue, definition)
    wait_until(lambda: emu.nodes(job_id, 3)[1]["status"] == "RUNNING", what="node 1 to run")
    emu.batch.terminate_job(jobId=f"{job_id}#1", reason="stop node 1")
    parent, (_, stopped, _) = emu.wait_done(job_id, 3)
    assert parent["status"] == "SUCCEEDED"
    assert stopped["statusReason"] == "stop node 1" and stopped["isTerminated"] is True


@pytest.mark.parametrize("call", ["cancel_job", "terminate_job"])
def test_stopping_a_node_job_before_it_starts_is_kept_until_it_takes_effect(
    env: Environment, tmp_path: Path, call: str
) -> None:
    """CancelJob ("Jobs that are in a SUBMITTED, PENDING, or RUNNABLE state are cancelled") and TerminateJob
    ("Jobs that have not progressed to the STARTING state are cancelled") of a node job JOB#N while the job
    is PENDING: when the job runs, that node is cancelled, never started (the docs are silent on a node job:
    that node only); the others run."""
    emu = env.emulator
    release = tmp_path / "release"
    gate = emu.definition(
        ("0:", {"command": shell_node(f'while [ ! -e "{release}" ]; do sleep 0.02; done')}), num_nodes=1
    )
    first = emu.submit(env.queue, gate)
    definition = emu.definition(
        ("0", {"command": python_node(_main_waits_for("nodes.get(1) == 'FAILED'"))}),
        ("1", {"command": FOREVER}),
        num_nodes=2,
    )
    job_id = emu.submit(env.queue, definition, dependsOn=[{"jobId": first}])
    emu.wait_status(job_id, "PENDING")
    getattr(emu.batch, call)(jobId=f"{job_id}#1", reason="not this node")
    release.write_text("")
    parent, (main, stopped) = emu.wait_done(job_id, 2)
    assert parent["status"] == "SUCCEEDED", emu.own_lines(main)
    assert (stopped["status"], stopped["statusReason"], stopped["isCancelled"]) == ("FAILED", "not this node", True)
    assert stopped["attempts"] == []


def test_cancel_job_of_a_running_job_is_not_kept_for_its_next_attempt(env: Environment, tmp_path: Path) -> None:
    """CancelJob of a RUNNING job cancels nothing, then or later: the retry after its main node fails runs."""
    emu = env.emulator
    cancelled = tmp_path / "cancel-sent"
    main = shell_node(
        f'[ "$AWS_BATCH_JOB_ATTEMPT" = 2 ] && exit 0; while [ ! -e "{cancelled}" ]; do sleep 0.02; done; exit 3'
    )
    definition = emu.definition(("0", {"command": main}), ("1", {"command": FOREVER}), num_nodes=2)
    job_id = emu.submit(env.queue, definition, retryStrategy={"attempts": 2})
    emu.wait_status(job_id, "RUNNING")
    emu.batch.cancel_job(jobId=job_id, reason="too late to cancel")
    cancelled.write_text("")  # only now does the first attempt's main node fail
    parent, _ = emu.wait_done(job_id, 2)
    assert (parent["status"], parent["isCancelled"], len(parent["attempts"])) == ("SUCCEEDED", False, 2)


def test_dependencies_hold_a_job_in_pending(env: Environment) -> None:
    """User guide: "Then, the job waits for any job dependencies to finish": PENDING until the dependency SUCCEEDED."""
    emu = env.emulator
    gate = emu.definition(("0:", {"command": python_node(_main_waits_for("False"))}), num_nodes=1)
    first = emu.submit(env.queue, gate, timeout={"attemptDurationSeconds": 300})
    quick = emu.definition(("0:", {"command": ["/bin/true"]}), num_nodes=2)
    second = emu.submit(env.queue, quick, dependsOn=[{"jobId": first}])
    emu.wait_status(first, "RUNNING")
    emu.wait_status(second, "PENDING")
    emu.batch.terminate_job(jobId=first, reason="dependency fails")
    parent, nodes = emu.wait_done(second, 2)
    assert parent["status"] == "FAILED"
    assert parent["statusReason"] == "Dependent Job failed"
    assert all(node["attempts"] == [] for node in nodes)


def test_a_cancelled_pending_job_is_cancelled_once_its_dependencies_have_ended(
    env: Environment, tmp_path: Path
) -> None:
    """API CancelJob: "A PENDING job is canceled after all dependency jobs are completed. Therefore, it may take
    longer than expected to cancel a job in PENDING status."""
    emu = env.emulator
    release = tmp_path / "release"
    gate = emu.definition(
        ("0:", {"command": shell_node(f'while [ ! -e "{release}" ]; do sleep 0.02; done')}), num_nodes=1
    )
    first = emu.submit(env.queue, gate)
    waiting = emu.submit(
        env.queue, emu.definition(("0:", {"command": ["/bin/true"]}), num_nodes=2), dependsOn=[{"jobId": first}]
    )
    emu.wait_status(waiting, "PENDING")
    emu.batch.cancel_job(jobId=waiting, reason="no longer needed")
    emu.wait_status(first, "RUNNING")
    time.sleep(0.5)  # the runner polls dependencies every 50 ms: still PENDING after many polls
    assert emu.batch.describe_jobs(jobs=[waiting])["jobs"][0]["status"] == "PENDING"
    release.write_text("")
    parent, nodes = emu.wait_done(waiting, 2)
    assert (parent["status"], parent["statusReason"], parent["isCancelled"]) == ("FAILED", "no longer needed", True)
    assert all(node["attempts"] == [] for node in nodes)


def test_describe_jobs_answers_for_the_parent_and_every_node(env: Environment) -> None:
    """DescribeJobs: the parent has nodeProperties and no nodeDetails; each JOB#N has nodeDetails."""
    emu = env.emulator
    definition = emu.definition(("0:", {"command": ["/bin/true"]}), num_nodes=2, main_node=1)
    job_id = emu.submit(env.queue, definition)
    parent, nodes = emu.wait_done(job_id, 2)
    assert "nodeDetails" not in parent
    assert parent["nodeProperties"]["numNodes"] == 2 and parent["nodeProperties"]["mainNode"] == 1
    assert [node["nodeDetails"] for node in nodes] == [
        {"nodeIndex": 0, "isMainNode": False},
        {"nodeIndex": 1, "isMainNode": True},
    ]
