"""Node groups, SubmitJob's nodeOverrides and parameters, CloudWatch Logs and ListJobs, through plain boto3.

Sources: API reference NodeRangeProperty ("the 4:5 range properties override the 0:10 properties"),
NodeOverrides, SubmitJob, ListJobs ("If you don't specify a status, only RUNNING jobs are returned",
``multiNodeJobId``); user guide "Parameter substitution", "Use the awslogs log driver".
"""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.mnp_local.runner.conftest import Environment
from tests.mnp_local.runner.emulator import shell_node, wait_until

pytestmark = pytest.mark.timeout(300)

#: Every node waits for a file its main node creates once all children have printed (no sleeps).
WAIT_FOR_CHILDREN = (
    'if [ -z "$AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS" ]; then '
    'while [ "$(ls "$SHARED" | wc -l)" -lt "$(($AWS_BATCH_JOB_NUM_NODES - 1))" ]; do sleep 0.02; done; '
    'else touch "$SHARED/$AWS_BATCH_JOB_NODE_INDEX"; fi'
)


def test_nested_ranges_num_nodes_override_and_parameters(env: Environment, tmp_path: Path) -> None:
    emu = env.emulator
    shared = str(tmp_path)

    def group(name: str) -> dict[str, object]:
        return {
            "command": [
                *shell_node(f'echo "{name} $1 $AWS_BATCH_JOB_NODE_INDEX $EXTRA"; {WAIT_FOR_CHILDREN}'),
                "sh",
                "Ref::word",
            ],
            "environment": [{"name": "SHARED", "value": shared}, {"name": "EXTRA", "value": "-"}],
        }

    definition = emu.definition(
        ("0:", group("outer")),
        ("2:3", group("inner")),
        num_nodes=4,
        parameters={"word": "default-word"},
    )
    job_id = emu.submit(
        env.queue,
        definition,
        parameters={"word": "submitted-word"},
        nodeOverrides={
            "numNodes": 6,
            "nodePropertyOverrides": [
                {"targetNodes": "2:3", "containerOverrides": {"environment": [{"name": "EXTRA", "value": "x"}]}}
            ],
        },
    )
    parent, nodes = emu.wait_done(job_id, 6)
    assert parent["status"] == "SUCCEEDED"
    assert parent["nodeProperties"]["numNodes"] == 6
    lines = [emu.own_lines(node) for node in nodes]
    expected = [
        f"{'inner' if index in (2, 3) else 'outer'} submitted-word {index} {'x' if index in (2, 3) else '-'}"
        for index in range(6)
    ]
    assert [node_lines[0] for node_lines in lines] == expected
    assert nodes[2]["container"]["command"][-1] == "submitted-word"  # substituted in DescribeJobs too


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"numNodes": 6}, "open upper boundary"),
        ({"numNodes": 0}, "numNodes"),
        ({"nodePropertyOverrides": [{"targetNodes": "0:2"}]}, "not a node range of the job definition"),
        (
            {
                "nodePropertyOverrides": [
                    {
                        "targetNodes": "0:3",
                        "containerOverrides": {"environment": [{"name": "AWS_BATCH_X", "value": "1"}]},
                    }
                ]
            },
            "reserved",
        ),
    ],
)
def test_bad_node_overrides_fail_the_submit_and_create_nothing(
    env: Environment, overrides: dict[str, object], problem: str
) -> None:
    emu = env.emulator
    definition = emu.definition(("0:3", {"command": ["/bin/true"]}), num_nodes=4)
    before = emu.batch.list_jobs(jobQueue=env.queue, filters=[{"name": "JOB_NAME", "values": ["*"]}])
    with pytest.raises(ClientError, match=problem) as raised:
        emu.submit(env.queue, definition, nodeOverrides=overrides)
    assert raised.value.response["Error"]["Code"] == "ClientException"
    after = emu.batch.list_jobs(jobQueue=env.queue, filters=[{"name": "JOB_NAME", "values": ["*"]}])
    assert len(after["jobSummaryList"]) == len(before["jobSummaryList"])


def test_other_bad_submits_are_client_errors(env: Environment) -> None:
    emu = env.emulator
    definition = emu.definition(("0:", {"command": ["/bin/true"]}), num_nodes=2)
    for extra, problem in (
        ({"jobName": "bad name!"}, "jobName"),
        ({"retryStrategy": {"attempts": 11}}, "between 1 and 10 attempts"),
        ({"timeout": {"attemptDurationSeconds": 10}}, "minimum value for the timeout is 60"),
        ({"containerOverrides": {"command": ["x"]}}, "nodeOverrides"),
        ({"nodeOverrides": {"numNodes": 1001}}, "1000 nodes"),
        ({"arrayProperties": {"size": 2}}, "cannot be an array job"),
    ):
        request = {"jobName": "ok-name", "jobQueue": env.queue, "jobDefinition": definition, **extra}
        with pytest.raises(ClientError, match=problem):
            emu.batch.submit_job(**request)


def test_logs_go_to_the_group_and_stream_the_job_definition_names(env: Environment, tmp_path: Path) -> None:
    emu = env.emulator
    emu.client("logs").create_log_group(logGroupName="/mnp/test-logs")
    log_configuration = {
        "logDriver": "awslogs",
        "options": {"awslogs-group": "/mnp/test-logs", "awslogs-stream-prefix": "mnp"},
    }
    definition = emu.definition(
        (
            "0:",
            {"command": shell_node("echo one; echo two >&2; echo; echo three"), "logConfiguration": log_configuration},
        ),
        num_nodes=1,
    )
    job_id = emu.submit(env.queue, definition)
    _, (node,) = emu.wait_done(job_id, 1)
    task_id = node["container"]["taskArn"].rsplit("/", 1)[1]
    assert node["container"]["logStreamName"] == f"mnp/default/{task_id}"
    assert emu.own_lines(node, group="/mnp/test-logs") == ["one", "two", "three"]
    notices = [line for line in emu.log_lines(node, group="/mnp/test-logs") if line.startswith("mnp_local: ")]
    assert len([line for line in notices if "is not run: there is no container engine" in line]) == 1
    assert any("seed 1234" in line for line in notices)  # MNP_LOCAL_SEED of this module's emulator

    # Without a log configuration: Batch's default group, <job definition>/default/<task id>.
    plain = emu.definition(
        (
            "0:",
            {
                "command": shell_node(f"echo hello; {WAIT_FOR_CHILDREN}"),
                "environment": [{"name": "SHARED", "value": str(tmp_path)}],
            },
        ),
        num_nodes=2,
    )
    job_id = emu.submit(env.queue, plain)
    _, nodes = emu.wait_done(job_id, 2)
    for node in nodes:
        assert node["container"]["logStreamName"].startswith(f"{plain}/default/")
    streams = emu.client("logs").describe_log_streams(logGroupName="/aws/batch/job", logStreamNamePrefix=plain)
    assert {s["logStreamName"] for s in streams["logStreams"]} == {n["container"]["logStreamName"] for n in nodes}
    # The image notice is written once per job: in the main node's stream only.
    notice = "is not run: there is no container engine"
    assert [any(notice in line for line in emu.log_lines(node)) for node in nodes] == [True, False]


def test_list_jobs_lists_the_parent_in_its_queue_and_the_nodes_by_multi_node_job_id(env: Environment) -> None:
    emu = env.emulator
    definition = emu.definition(("0:", {"command": shell_node("while :; do sleep 0.05; done")}), num_nodes=3)
    job_id = emu.submit(env.queue, definition)
    wait_until(lambda: all(n["status"] == "RUNNING" for n in emu.nodes(job_id, 3)), what="every node to run")
    running = emu.batch.list_jobs(jobQueue=env.queue)["jobSummaryList"]  # no status: RUNNING only
    assert [job["jobId"] for job in running] == [job_id]
    assert running[0]["nodeProperties"] == {"numNodes": 3}
    nodes = emu.batch.list_jobs(multiNodeJobId=job_id)["jobSummaryList"]
    assert sorted(node["jobId"] for node in nodes) == [f"{job_id}#{i}" for i in range(3)]
    assert {node["jobId"]: node["nodeProperties"] for node in nodes}[f"{job_id}#0"] == {
        "isMainNode": True,
        "numNodes": 3,
        "nodeIndex": 0,
    }
    emu.batch.terminate_job(jobId=job_id, reason="done")
    emu.wait_done(job_id, 3)
    assert emu.batch.list_jobs(jobQueue=env.queue)["jobSummaryList"] == []
    failed = emu.batch.list_jobs(jobQueue=env.queue, jobStatus="FAILED")["jobSummaryList"]
    assert job_id in {job["jobId"] for job in failed}
    assert not any("#" in job["jobId"] for job in failed)  # node jobs are not in the queue's list
    assert len(emu.batch.list_jobs(multiNodeJobId=job_id, jobStatus="FAILED")["jobSummaryList"]) == 3


def test_describe_jobs_takes_at_most_100_ids(env: Environment) -> None:
    with pytest.raises(ClientError, match="at most 100"):
        env.emulator.batch.describe_jobs(jobs=[f"job-{i}" for i in range(101)])


def test_container_jobs_are_still_moto_s(env: Environment) -> None:
    """Only multinode definitions run locally; a container job still simply succeeds in moto."""
    emu = env.emulator
    emu.batch.register_job_definition(
        jobDefinitionName="plain-container",
        type="container",
        containerProperties={"image": "busybox", "vcpus": 1, "memory": 128, "command": ["true"]},
    )
    job_id = emu.batch.submit_job(jobName="plain", jobQueue=env.queue, jobDefinition="plain-container")["jobId"]
    assert emu.job(job_id)["status"] == "SUCCEEDED"
