"""Where the runner hooks into moto 5.2.5's Batch (class-level patches, installed before serving).

* ``BatchResponse.submitjob``: a job whose definition is ``multinode`` goes to the runner, with the
  request's ``nodeOverrides``, ``retryStrategy`` and ``timeout`` (moto's handler drops the first two);
  every other job is moto's (a container job still simply succeeds).
* ``BatchBackend.describe_jobs``: iterates over a snapshot of moto's job store (another request thread
  inserting node jobs made moto's loop fail with "dictionary changed size during iteration") and takes
  at most 100 ids, as the API does ("A list of up to 100 job IDs").
* ``BatchResponse.listjobs``: ``multiNodeJobId`` lists the node jobs of an MNP job; without ``jobStatus``
  (and without ``filters``) only RUNNING jobs are listed, as the API reference says ("If you don't specify a
  status, only RUNNING jobs are returned"); moto returned every job. Pages follow ``maxResults`` and
  ``nextToken`` (up to 1000 jobs a page, 100 with ``filters``, as the API reference says); moto paged nothing.
* ``BatchBackend.cancel_job`` / ``terminate_job``: for the runner's jobs, the API reference's semantics
  (see :mod:`mnp_local.runner.lifecycle`); moto only set a flag and, for CancelJob, ignored started jobs.
* ``BatchBackend.reset`` (``/moto-api/reset``): the runner first kills every node process of the backend.

moto's own ``Job`` model and store stay the only state: the runner's jobs are moto ``Job`` subclasses in
``BatchBackend._jobs`` (:mod:`mnp_local.runner.jobs`).
"""

from __future__ import annotations

import json
from typing import Any

from moto.batch.exceptions import ClientException
from moto.batch.models import BatchBackend
from moto.batch.responses import BatchResponse

from mnp_local.runner.jobs import BEFORE_STARTING, TERMINAL, MnpJob, MnpParentJob
from mnp_toolkit.core import limits

#: DescribeJobs ``jobs``: "A list of up to 100 job IDs"; TerminateJob/CancelJob ``reason``: "This parameter
#: has as limit of 1024 characters" (API reference; the values live in mnp_toolkit.core.limits).
MAX_DESCRIBE_JOBS = limits.MAX_DESCRIBE_JOBS
MAX_REASON_LENGTH = limits.MAX_STOP_REASON_LENGTH

_ORIGINAL: dict[str, Any] = {}
#: The installed runner (``runner``).
_STATE: dict[str, Any] = {}


def install(runner: Any) -> None:
    """Patch moto (idempotent); ``runner`` is the :class:`~mnp_local.runner.runner.Runner` to use."""
    if not _ORIGINAL:
        _ORIGINAL.update(
            submitjob=BatchResponse.submitjob,
            listjobs=BatchResponse.listjobs,
            describe_jobs=BatchBackend.describe_jobs,
            cancel_job=BatchBackend.cancel_job,
            terminate_job=BatchBackend.terminate_job,
            reset=BatchBackend.reset,
        )
    _STATE["runner"] = runner
    BatchResponse.submitjob = _submitjob  # type: ignore[method-assign]
    BatchResponse.listjobs = _listjobs  # type: ignore[method-assign]
    BatchBackend.describe_jobs = _describe_jobs  # type: ignore[method-assign]
    BatchBackend.cancel_job = _cancel_job  # type: ignore[method-assign]
    BatchBackend.terminate_job = _terminate_job  # type: ignore[method-assign]
    BatchBackend.reset = _reset  # type: ignore[method-assign]


def _submitjob(self: BatchResponse) -> str:
    request = {
        name: self._get_param(name)
        for name in (
            "jobName",
            "jobQueue",
            "jobDefinition",
            "parameters",
            "timeout",
            "tags",
            "dependsOn",
            "nodeOverrides",
            "retryStrategy",
            "propagateTags",
            "containerOverrides",
            "arrayProperties",
            "shareIdentifier",
            "schedulingPriorityOverride",
        )
    }
    submitted = _STATE["runner"].submit(self.batch_backend, request)
    if submitted is None:
        return str(_ORIGINAL["submitjob"](self))
    name, job_id, arn = submitted
    return json.dumps({"jobId": job_id, "jobName": name, "jobArn": arn})


def _describe_jobs(self: BatchBackend, jobs: list[str] | None) -> list[dict[str, Any]]:
    wanted = set(jobs or [])
    if len(jobs or []) > MAX_DESCRIBE_JOBS:
        raise ClientException(f"jobs: at most {MAX_DESCRIBE_JOBS} job IDs per DescribeJobs call, got {len(jobs or [])}")
    found = []
    for key, job in list(self._jobs.items()):
        if wanted and key not in wanted and job.arn not in wanted:
            continue
        found.append(job.describe())
    return found


def _listjobs(self: BatchResponse) -> str:
    node_job_of = self._get_param("multiNodeJobId")
    job_status = self._get_param("jobStatus")
    filters = self._get_param("filters")
    if job_status is None and filters is None:
        job_status = "RUNNING"
    jobs: list[Any]
    if node_job_of:
        parent = self.batch_backend.get_job_by_id(node_job_of)
        nodes = list(parent.node_jobs) if isinstance(parent, MnpParentJob) else []
        jobs = [node for node in nodes if filters is not None or node.status == job_status]
        if filters is not None:
            jobs = [node for node in jobs if all(_matches(node, entry) for entry in filters)]
    else:
        jobs = self.batch_backend.list_jobs(
            job_queue_name=self._get_param("jobQueue"),
            array_job_id=self._get_param("arrayJobId"),
            job_status=job_status,
            filters=filters,
        )
    start, size = _page(self._get_param("maxResults"), self._get_param("nextToken"), filtered=filters is not None)
    answer: dict[str, Any] = {"jobSummaryList": [job.describe_short() for job in jobs[start : start + size]]}
    if start + size < len(jobs):
        answer["nextToken"] = _token(start + size)
    return json.dumps(answer)


#: ListJobs ``maxResults``: "When this parameter is used, ListJobs returns up to maxResults results in a single
#: page and a nextToken response element, if applicable ... The minimum value is 1. When --job-status is used,
#: Batch returns up to 1000 values. When --filters is used, Batch returns up to 100 values. If neither
#: parameter is used, then ListJobs returns up to 1000 results" (API reference, ListJobs). moto 5.2.5 pages
#: nothing: every job came back in one answer, so code that never follows nextToken worked here and missed
#: jobs on AWS.
LIST_JOBS_PAGE = 1000
LIST_JOBS_FILTERED_PAGE = 100
_TOKEN_PREFIX = "mnp-local-offset:"


def _page(max_results: Any, next_token: Any, *, filtered: bool) -> tuple[int, int]:
    """The first index and size of the ListJobs page that ``maxResults``/``nextToken`` ask for."""
    limit = LIST_JOBS_FILTERED_PAGE if filtered else LIST_JOBS_PAGE
    if max_results is not None and (
        not isinstance(max_results, int) or isinstance(max_results, bool) or max_results < 1
    ):
        raise ClientException(f"maxResults is {max_results!r}: the minimum value is 1")
    start = 0
    if next_token is not None:
        offset = str(next_token).removeprefix(_TOKEN_PREFIX)
        if not str(next_token).startswith(_TOKEN_PREFIX) or not (offset.isascii() and offset.isdigit()):
            raise ClientException(f"nextToken {next_token!r} is not a token a ListJobs answer returned")
        start = int(offset)
    return start, min(limit, max_results or limit)


def _token(offset: int) -> str:
    # An offset into the listing as it is when the next page is asked for: jobs added in between may shift
    # it (AWS's tokens are opaque; the docs say nothing of a listing that changes between pages).
    return f"{_TOKEN_PREFIX}{offset}"


def _matches(job: MnpJob, entry: dict[str, Any]) -> bool:
    """moto's ``JOB_NAME`` filter (exact, or a prefix with a trailing ``*``); other filters are not modeled."""
    if entry.get("name") != "JOB_NAME":
        return True
    for value in entry.get("values") or []:
        if value.endswith("*") and job.job_name.lower().startswith(value[:-1].lower()):
            return True
        if job.job_name.lower() == value.lower():
            return True
    return False


def _check_request(job_id: str, reason: str) -> None:
    if job_id == "":
        raise ClientException("'jobId' is a required field (cannot be an empty string)")
    if reason == "":
        raise ClientException("'reason' is a required field (cannot be an empty string)")
    if len(reason) > MAX_REASON_LENGTH:
        raise ClientException(f"'reason' has a limit of {MAX_REASON_LENGTH} characters, got {len(reason)}")


def _wake(job: MnpJob) -> None:
    run = _STATE["runner"].run_of(job)
    if run is not None:
        run.wake.set()


def _cancel_job(self: BatchBackend, job_id: str, reason: str) -> None:
    job = self.get_job_by_id(job_id)
    if not isinstance(job, MnpJob):
        _ORIGINAL["cancel_job"](self, job_id, reason)
        return
    _check_request(job_id, reason)
    # "Jobs that are in a SUBMITTED, PENDING, or RUNNABLE state are cancelled"; "Jobs that progressed to the
    # STARTING or RUNNING state aren't canceled. However, the API operation still succeeds, even if no job is
    # canceled." (API reference, CancelJob). Decided under the job's lock, which the run also holds when it
    # moves the job to STARTING, so a cancel accepted here always takes effect before the job starts, and a
    # cancel of a started job is never kept for a later attempt.
    with job.lock:
        if job.status not in BEFORE_STARTING or job.stop_request is not None:
            return
        job.update(stop_request=("cancel", reason))
    _wake(job)


def _terminate_job(self: BatchBackend, job_id: str, reason: str) -> None:
    job = self.get_job_by_id(job_id)
    if not isinstance(job, MnpJob):
        _ORIGINAL["terminate_job"](self, job_id, reason)
        return
    _check_request(job_id, reason)
    # "Jobs that are in the STARTING or RUNNING state are terminated ... Jobs that have not progressed to the
    # STARTING state are cancelled": the run decides which by where the job is when it acts. A node job
    # (the docs are silent) is stopped on its own.
    with job.lock:
        if job.status in TERMINAL or (job.stop_request is not None and job.stop_request[0] == "terminate"):
            return
        job.update(stop_request=("terminate", reason))
    _wake(job)


def _reset(self: BatchBackend) -> None:
    runner = _STATE.get("runner")
    if runner is not None:
        runner.stop_jobs(account=self.account_id, region=self.region_name)
    _ORIGINAL["reset"](self)
