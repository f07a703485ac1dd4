"""CloudFormation change sets as the CDK CLI expects them: not-found errors and failed executions.

moto gaps (moto 5.2.5):

- Change set names are global in moto: ``DescribeChangeSet``, ``DeleteChangeSet``,
  ``ExecuteChangeSet`` and ``ListChangeSets`` ignore ``StackName`` and take the first change set of
  that name of any stack. The CDK CLI names every change set ``cdk-deploy-change-set``, so with two
  stacks deployed, updating one of them deletes or waits on the other stack's change set (the CLI
  then polls for ever). AWS scopes a change set name to its stack.
- A stack created or updated through a change set keeps the outputs of its previous template (none
  for a new stack): moto stores the new template but never rebuilds the stack's output map, so
  ``DescribeStacks`` shows no ``Outputs`` after ``cdk deploy``.
- ``DescribeChangeSet`` for a change set that does not exist (any more) answers ``ValidationError``
  "Stack with id <change set> does not exist". AWS answers ``ChangeSetNotFound``
  (``ChangeSetNotFoundException``). The CDK CLI deletes its previous ``cdk-deploy-change-set`` before
  an update and waits for exactly that exception, so every second ``cdk deploy`` of a stack fails.
- ``ExecuteChangeSet`` applies the change set synchronously and, when a resource fails, answers the
  request with the resource's raw error (often a JSON body on a query API), leaving the stack
  ``*_IN_PROGRESS``. The CDK CLI then reports "XML parse error" and nothing about the resource. AWS
  accepts the execution, then fails the stack (``CREATE_FAILED``/``ROLLBACK_COMPLETE`` or
  ``UPDATE_ROLLBACK_COMPLETE``) with the resource's reason in the stack events.

This adapter looks change sets up by ARN, or by name within the request's stack; raises
``ChangeSetNotFound`` for a missing change set; rebuilds the stack's outputs from the executed
template; and, when applying a change set
fails, records the error as the stack's ``*_FAILED`` event with the resource error as the reason and
sets the stack to ``ROLLBACK_COMPLETE`` (create) or ``UPDATE_ROLLBACK_COMPLETE`` (update), so the CLI
shows the reason and exits non-zero. moto does not roll resources back: what was created before the
failure stays in the emulated account (a real stack would delete it).
"""

from __future__ import annotations

import logging
from typing import Any

from moto.cloudformation.exceptions import CloudFormationError
from moto.cloudformation.models import CloudFormationBackend
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult, EmptyResult

logger = logging.getLogger(__name__)

_moto_describe_change_set = CloudFormationBackend.describe_change_set
_moto_delete_change_set = CloudFormationBackend.delete_change_set
_moto_execute_change_set = CloudFormationBackend.execute_change_set
_moto_list_change_sets = CloudFormationBackend.list_change_sets


class ChangeSetNotFound(CloudFormationError):
    """AWS's ``ChangeSetNotFoundException`` (query error code ``ChangeSetNotFound``, HTTP 404)."""

    code = "ChangeSetNotFound"

    def __init__(self, name: str) -> None:
        super().__init__(f"ChangeSet [{name}] does not exist")


def find_change_set(backend: CloudFormationBackend, change_set_name: str, stack_name: str | None) -> Any:
    """The change set with this ARN, or with this name in the stack (name or id); None if none."""
    if change_set_name in backend.change_sets:
        return backend.change_sets[change_set_name]
    for change_set in backend.change_sets.values():
        if change_set.change_set_name == change_set_name and (
            not stack_name or stack_name in (change_set.stack_name, change_set.stack_id)
        ):
            return change_set
    return None


def _resolved_arn(backend: CloudFormationBackend, change_set_name: str, stack_name: str | None) -> str:
    change_set = find_change_set(backend, change_set_name, stack_name)
    if change_set is None:
        raise ChangeSetNotFound(change_set_name)
    return str(change_set.change_set_id)


def _describe_change_set(self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None) -> Any:
    return _moto_describe_change_set(self, _resolved_arn(self, change_set_name, stack_name))


def _delete_change_set(self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None) -> None:
    _moto_delete_change_set(self, _resolved_arn(self, change_set_name, stack_name))


def _list_change_sets(self: CloudFormationBackend, stack_name: str | None = None) -> Any:
    return [
        change_set
        for change_set in _moto_list_change_sets(self)
        if not stack_name or stack_name in (change_set.stack_name, change_set.stack_id)
    ]


def _execute_change_set(self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None) -> None:
    arn = _resolved_arn(self, change_set_name, stack_name)
    change_set = self.change_sets[arn]
    try:
        _moto_execute_change_set(self, arn, stack_name)
        stack = self.stacks[change_set.stack_id]
        stack._parse_template()
        stack.output_map = stack._create_output_map()
    except Exception as error:  # any resource error: report it the way CloudFormation does
        stack = self.stacks[change_set.stack_id]
        operation = change_set.change_set_type  # CREATE or UPDATE
        reason = f"{type(error).__name__}: {getattr(error, 'message', None) or error}"
        logger.warning("change set %s of stack %s failed: %s", change_set_name, stack.name, reason, exc_info=True)
        stack._add_stack_event(f"{operation}_FAILED", resource_status_reason=reason)
        final = "ROLLBACK_COMPLETE" if operation == "CREATE" else "UPDATE_ROLLBACK_COMPLETE"
        stack._add_stack_event(final, resource_status_reason=reason)
        stack.status = final
        change_set.execution_status = "EXECUTE_FAILED"


class _StackScopedResponses:
    """moto's response methods, passing the request's ``StackName`` on to the backend."""

    def describe_change_set(self: Any) -> ActionResult:
        return ActionResult(
            self.cloudformation_backend.describe_change_set(
                change_set_name=self._get_param("ChangeSetName"), stack_name=self._get_param("StackName")
            )
        )

    def delete_change_set(self: Any) -> EmptyResult:
        self.cloudformation_backend.delete_change_set(
            change_set_name=self._get_param("ChangeSetName"), stack_name=self._get_param("StackName")
        )
        return EmptyResult()

    def list_change_sets(self: Any) -> ActionResult:
        summaries = self.cloudformation_backend.list_change_sets(stack_name=self._get_param("StackName"))
        return ActionResult({"Summaries": summaries})


def register() -> None:
    """Patch moto's CloudFormation backend and responses (idempotent)."""
    CloudFormationBackend.describe_change_set = _describe_change_set  # type: ignore[method-assign]
    CloudFormationBackend.delete_change_set = _delete_change_set  # type: ignore[method-assign]
    CloudFormationBackend.execute_change_set = _execute_change_set  # type: ignore[method-assign]
    CloudFormationBackend.list_change_sets = _list_change_sets  # type: ignore[method-assign]
    for action in ("describe_change_set", "delete_change_set", "list_change_sets"):
        setattr(CloudFormationResponse, action, getattr(_StackScopedResponses, action))
