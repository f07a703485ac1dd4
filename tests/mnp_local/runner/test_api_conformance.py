"""API details an outside evaluator checked against the AWS Batch API reference, through plain boto3.

Sources: API reference ListJobs (``maxResults``/``nextToken``: "ListJobs returns up to maxResults results in
a single page and a nextToken response element"; "When --filters is used, Batch returns up to 100
values"), SubmitJob (``propagateTags``: "When specified, this overrides the tag propagation setting in the
job definition"), RetryStrategy (``evaluateOnExit``: "Array of up to 5 objects ... If this parameter is
specified, then the attempts parameter must also be specified") and EvaluateOnExit (``action``: "Valid
Values: RETRY | EXIT", "The values aren't case sensitive"; ``onExitCode``: "It can contain only numbers,
and can end with an asterisk (*)").
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.mnp_local.runner.conftest import Environment, running_emulator
from tests.mnp_local.runner.emulator import shell_node, unique

pytestmark = pytest.mark.timeout(300)


def _pages(emu: Any, **request: Any) -> list[list[str]]:
    """The job ids of every ListJobs page of ``request``, following nextToken by hand."""
    pages: list[list[str]] = []
    token: str | None = None
    while True:
        answer = emu.batch.list_jobs(**request, **({"nextToken": token} if token else {}))
        pages.append([job["jobId"] for job in answer["jobSummaryList"]])
        token = answer.get("nextToken")
        if not token:
            return pages
        assert len(pages) < 50, "nextToken never ended"


def test_list_jobs_pages_the_node_jobs_by_max_results(env: Environment) -> None:
    emu = env.emulator
    definition = emu.definition(("0:", {"command": ["/bin/true"]}), num_nodes=5)
    job_id = emu.submit(env.queue, definition)
    _, nodes = emu.wait_done(job_id, 5)
    ended = {node["jobId"]: node["status"] for node in nodes}
    failed = sorted(job for job, status in ended.items() if status == "FAILED")
    succeeded = sorted(job for job, status in ended.items() if status == "SUCCEEDED")
    for status, expected in (("FAILED", failed), ("SUCCEEDED", succeeded)):
        pages = _pages(emu, multiNodeJobId=job_id, jobStatus=status, maxResults=2)
        assert all(len(page) <= 2 for page in pages)
        assert sorted(job for page in pages for job in page) == expected
        assert len(pages) == max(1, -(-len(expected) // 2))
    # boto3's paginator sees the same jobs.
    paginator = emu.batch.get_paginator("list_jobs")
    listed = [
        job["jobId"]
        for page in paginator.paginate(
            multiNodeJobId=job_id,
            filters=[{"name": "JOB_NAME", "values": [emu.job(job_id)["jobName"]]}],
            PaginationConfig={"PageSize": 2},
        )
        for job in page["jobSummaryList"]
    ]
    assert sorted(listed) == sorted(ended)


def test_list_jobs_with_filters_returns_at_most_100_a_page() -> None:
    """Container jobs (moto's, they end at once) fill a queue cheaply; the page limit is ListJobs' own."""
    with running_emulator() as emu:
        queue = emu.queue(emu.compute_environment())
        emu.batch.register_job_definition(
            jobDefinitionName="plain",
            type="container",
            containerProperties={"image": "busybox", "vcpus": 1, "memory": 128, "command": ["true"]},
        )
        submitted = {
            emu.batch.submit_job(jobName=unique("plain"), jobQueue=queue, jobDefinition="plain")["jobId"]
            for _ in range(103)
        }
        pages = _pages(emu, jobQueue=queue, filters=[{"name": "JOB_NAME", "values": ["plain*"]}])
        assert [len(page) for page in pages] == [100, 3]
        assert {job for page in pages for job in page} == submitted


def test_list_jobs_refuses_a_bad_max_results_or_next_token(env: Environment) -> None:
    emu = env.emulator
    for request, problem in (
        ({"jobQueue": env.queue, "maxResults": 0}, "maxResults"),
        ({"jobQueue": env.queue, "nextToken": "not-a-token"}, "nextToken"),
    ):
        with pytest.raises(ClientError, match=problem) as raised:
            emu.batch.list_jobs(**request)
        assert raised.value.response["Error"]["Code"] == "ClientException"


@pytest.mark.parametrize(
    ("defined", "submitted", "expected"),
    [(False, True, True), (True, False, False), (True, None, True), (False, None, False)],
)
def test_describe_jobs_shows_the_propagate_tags_the_job_runs_with(
    env: Environment, defined: bool, submitted: bool | None, expected: bool
) -> None:
    emu = env.emulator
    definition = emu.definition(("0:", {"command": ["/bin/true"]}), num_nodes=2, propagateTags=defined)
    extra = {} if submitted is None else {"propagateTags": submitted}
    job_id = emu.submit(env.queue, definition, tags={"team": "hpc"}, **extra)
    parent, nodes = emu.wait_done(job_id, 2)
    assert parent["propagateTags"] is expected
    assert parent["tags"] == {"team": "hpc"}
    assert [node["propagateTags"] for node in nodes] == [expected, expected]


@pytest.mark.parametrize(
    ("strategy", "problems"),
    [
        ({"attempts": 2, "evaluateOnExit": [{"onExitCode": "1", "action": "RETRIES"}]}, ["RETRY or EXIT"]),
        ({"evaluateOnExit": [{"onExitCode": "1", "action": "EXIT"}]}, ["attempts must also be specified"]),
        (
            {"attempts": 2, "evaluateOnExit": [{"onExitCode": "1", "action": "EXIT"}] * 6},
            ["up to 5"],
        ),
        ({"attempts": 2, "evaluateOnExit": [{"onExitCode": "1x", "action": "EXIT"}]}, ["onExitCode"]),
        (
            {"attempts": 2, "evaluateOnExit": [{"onReason": "x" * 513, "action": "EXIT"}, {"action": "bogus"}]},
            ["512 characters", r"evaluateOnExit\[1\]"],
        ),
    ],
)
def test_a_bad_evaluate_on_exit_fails_the_submit_and_creates_nothing(
    env: Environment, strategy: dict[str, Any], problems: list[str]
) -> None:
    emu = env.emulator
    definition = emu.definition(("0:", {"command": ["/bin/true"]}), num_nodes=2)
    name = unique("bad-retry")
    with pytest.raises(ClientError) as raised:
        emu.batch.submit_job(jobName=name, jobQueue=env.queue, jobDefinition=definition, retryStrategy=strategy)
    assert raised.value.response["Error"]["Code"] == "ClientException"
    for problem in problems:
        assert re.search(problem, str(raised.value)), problem
    listed = emu.batch.list_jobs(jobQueue=env.queue, filters=[{"name": "JOB_NAME", "values": [name]}])
    assert listed["jobSummaryList"] == []


def test_evaluate_on_exit_actions_are_not_case_sensitive(env: Environment) -> None:
    emu = env.emulator
    definition = emu.definition(("0:", {"command": shell_node("exit 3")}), num_nodes=2)
    retried = emu.submit(
        env.queue, definition, retryStrategy={"attempts": 2, "evaluateOnExit": [{"onExitCode": "3", "action": "retry"}]}
    )
    exited = emu.submit(
        env.queue, definition, retryStrategy={"attempts": 2, "evaluateOnExit": [{"onExitCode": "3*", "action": "Exit"}]}
    )
    assert len(emu.wait_done(retried, 2)[0]["attempts"]) == 2
    assert len(emu.wait_done(exited, 2)[0]["attempts"]) == 1
