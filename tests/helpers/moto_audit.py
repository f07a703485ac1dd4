"""What moto 5.2.5 lacks for `mnp audit`, filled on moto's own models for the span of a ``with`` block.

Each gap is one context manager that patches one moto class and restores it on exit, so nothing leaks
into other tests of the same process (mnp_local's adapters fill some of the same gaps, but only inside the
emulated AWS's own process: importing them here would register their CloudFormation models in this one).

* :func:`batch_pagination`: moto's Batch ``DescribeComputeEnvironments``, ``DescribeJobQueues`` and
  ``DescribeJobDefinitions`` ignore ``maxResults``/``nextToken`` ("Pagination is not yet implemented") and
  return everything at once. AWS returns at most ``maxResults`` items (1 to 100, default 100) and a
  ``nextToken`` (API reference of each call). The patch pages moto's own answer that way.
* :func:`queue_time_limit_actions`: moto's ``CreateJobQueue``/``UpdateJobQueue`` drop
  ``jobStateTimeLimitActions`` and ``DescribeJobQueues`` never shows them; AWS stores and returns them
  (API reference, JobQueueDetail). The patch keeps them on moto's ``JobQueue``.
* :func:`job_definition_node_properties`: moto's ``DescribeJobDefinitions`` leaves out ``nodeProperties``
  (it stores them); AWS returns them (API reference, JobDefinition).
* :func:`placement_groups`: moto has no ``CreatePlacementGroup``/``DescribePlacementGroups``; the patch
  serves both from groups kept on moto's EC2 backend, in EC2's response shape (``GroupName``,
  ``GroupId``, ``GroupArn``, ``State``, ``Strategy``), with the ``group-name`` filter.
* :func:`iam_action_case`: moto compares a policy's actions with the action case-sensitively and names
  Batch actions in lower case (``batch:describejobqueues``), so a correct policy is denied. IAM action
  names are case-insensitive ("The service prefix and action name are case insensitive", IAM User Guide,
  IAM JSON policy elements: Action); the patch compares them so.
* :func:`batch_denials_as_json`: moto answers an IAM denial of a Batch call with an XML ``ErrorResponse``,
  which botocore cannot parse for Batch's JSON protocol (it sees an error code ``403``); AWS answers JSON
  with the code ``AccessDeniedException``. The patch raises moto's JSON error for Batch.
* :func:`enforce_iam`: from now on moto authenticates and authorizes every request
  (``INITIAL_NO_AUTH_ACTION_COUNT``, moto's IAM docs).
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest

#: AWS's default and maximum page size for the three Batch describe calls.
BATCH_MAX_RESULTS = 100


@contextlib.contextmanager
def _patched() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield monkeypatch


def _paged(original: Callable[[Any], str], key: str) -> Callable[[Any], str]:
    def describe(self: Any) -> str:
        answer = json.loads(original(self))
        items = answer.get(key, [])
        size = int(self._get_param("maxResults") or BATCH_MAX_RESULTS)
        start = int(self._get_param("nextToken") or 0)
        answer[key] = items[start : start + size]
        if start + size < len(items):
            answer["nextToken"] = str(start + size)
        return json.dumps(answer)

    return describe


@contextlib.contextmanager
def batch_pagination() -> Iterator[None]:
    from moto.batch.responses import BatchResponse

    with _patched() as monkeypatch:
        for method, key in (
            ("describecomputeenvironments", "computeEnvironments"),
            ("describejobqueues", "jobQueues"),
            ("describejobdefinitions", "jobDefinitions"),
        ):
            monkeypatch.setattr(BatchResponse, method, _paged(getattr(BatchResponse, method), key))
        yield


_ACTIONS_ATTRIBUTE = "_mnp_test_time_limit_actions"


@contextlib.contextmanager
def queue_time_limit_actions() -> Iterator[None]:
    from moto.batch.models import JobQueue
    from moto.batch.responses import BatchResponse

    create, update, describe = BatchResponse.createjobqueue, BatchResponse.updatejobqueue, JobQueue.describe

    def keep(self: Any, answer: str, name: str) -> str:
        actions = self._get_param("jobStateTimeLimitActions")
        if actions is not None:
            queue = self.batch_backend.get_job_queue(name)
            if queue is not None:
                setattr(queue, _ACTIONS_ATTRIBUTE, actions)
        return answer

    def create_queue(self: Any) -> str:
        return keep(self, create(self), self._get_param("jobQueueName"))

    def update_queue(self: Any) -> str:
        return keep(self, update(self), self._get_param("jobQueue"))

    def describe_queue(self: Any) -> dict[str, Any]:
        described = describe(self)
        described["jobStateTimeLimitActions"] = list(getattr(self, _ACTIONS_ATTRIBUTE, []))
        return described

    with _patched() as monkeypatch:
        monkeypatch.setattr(BatchResponse, "createjobqueue", create_queue)
        monkeypatch.setattr(BatchResponse, "updatejobqueue", update_queue)
        monkeypatch.setattr(JobQueue, "describe", describe_queue)
        yield


@contextlib.contextmanager
def job_definition_node_properties() -> Iterator[None]:
    from moto.batch.models import JobDefinition

    describe = JobDefinition.describe

    def with_node_properties(self: Any) -> dict[str, Any]:
        described = describe(self)
        if self.node_properties is not None:
            described["nodeProperties"] = self.node_properties
        return described

    with _patched() as monkeypatch:
        monkeypatch.setattr(JobDefinition, "describe", with_node_properties)
        yield


_GROUPS_ATTRIBUTE = "_mnp_test_placement_groups"


def _groups(response: Any) -> dict[str, dict[str, Any]]:
    from moto.ec2.models import ec2_backends

    backend = ec2_backends[response.current_account][response.region]
    store: dict[str, dict[str, Any]] | None = getattr(backend, _GROUPS_ATTRIBUTE, None)
    if store is None:
        store = {}
        setattr(backend, _GROUPS_ATTRIBUTE, store)
    return store


@contextlib.contextmanager
def placement_groups() -> Iterator[None]:
    from moto.core.responses import ActionResult
    from moto.ec2.responses import EC2Response

    def create_placement_group(self: Any) -> ActionResult:
        name = self._get_param("GroupName")
        group = {
            "GroupName": name,
            "GroupId": f"pg-{secrets.token_hex(9)[:17]}",
            "GroupArn": f"arn:aws:ec2:{self.region}:{self.current_account}:placement-group/{name}",
            "State": "available",
            "Strategy": self._get_param("Strategy"),
            "Tags": [],
        }
        _groups(self)[name] = group
        return ActionResult({"PlacementGroup": group})

    def describe_placement_groups(self: Any) -> ActionResult:
        groups = list(_groups(self).values())
        for name, values in self._filters_from_querystring().items():
            if name != "group-name":
                raise NotImplementedError(f"filter {name}")
            groups = [group for group in groups if group["GroupName"] in values]
        return ActionResult({"PlacementGroups": groups})

    with _patched() as monkeypatch:
        monkeypatch.setattr(EC2Response, "create_placement_group", create_placement_group, raising=False)
        monkeypatch.setattr(EC2Response, "describe_placement_groups", describe_placement_groups, raising=False)
        yield


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$", re.IGNORECASE)


@contextlib.contextmanager
def iam_action_case() -> Iterator[None]:
    from moto.iam.access_control import IAMPolicyStatement

    original = IAMPolicyStatement._check_element_matches

    def matches(self: Any, element: str, value: str) -> bool:
        if element not in ("Action", "NotAction"):
            return bool(original(self, element, value))
        patterns = self._statement[element]
        patterns = patterns if isinstance(patterns, list) else [patterns]
        return any(_glob(str(pattern)).match(value) for pattern in patterns)

    with _patched() as monkeypatch:
        monkeypatch.setattr(IAMPolicyStatement, "_check_element_matches", matches)
        yield


@contextlib.contextmanager
def batch_denials_as_json() -> Iterator[None]:
    from moto.core.exceptions import JsonRESTError
    from moto.iam.access_control import IAMRequest

    original = IAMRequest._raise_access_denied

    class AccessDeniedException(JsonRESTError):
        code = 403

    def denied(self: Any) -> None:
        if self._service != "batch":
            original(self)
            return
        raise AccessDeniedException(
            "AccessDeniedException", f"User: {self._access_key.arn} is not authorized to perform: {self._action}"
        )

    with _patched() as monkeypatch:
        monkeypatch.setattr(IAMRequest, "_raise_access_denied", denied)
        yield


@contextlib.contextmanager
def enforce_iam() -> Iterator[None]:
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    with _patched() as monkeypatch:
        monkeypatch.setattr(settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
        monkeypatch.setattr(ActionAuthenticatorMixin, "request_count", 0)
        yield


@contextlib.contextmanager
def audit_gaps_filled() -> Iterator[None]:
    """Every gap above except IAM enforcement (which a test turns on once its set-up is done)."""
    with (
        batch_pagination(),
        queue_time_limit_actions(),
        job_definition_node_properties(),
        placement_groups(),
        iam_action_case(),
        batch_denials_as_json(),
    ):
        yield
