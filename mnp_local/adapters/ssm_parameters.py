"""``UsePreviousValue`` for SSM-typed stack parameters (the CDK's ``BootstrapVersion``).

moto gap (moto 5.2.5): for a parameter sent with ``UsePreviousValue: true`` moto reuses the
parameter's *resolved* value. For a parameter of type ``AWS::SSM::Parameter::Value<...>`` that is
the value read from Parameter Store (e.g. ``30``), which moto then looks up again as a parameter
*name* and fails (``AttributeError: 'NoneType' object has no attribute 'value'``). Every CDK stack has
such a parameter (``BootstrapVersion``, default ``/cdk-bootstrap/hnb659fds/version``) and the CDK
CLI updates stacks with ``UsePreviousValue``, so every second ``cdk deploy`` of a stack fails.

What AWS does instead: the previous value of an SSM-typed parameter is the parameter name it was
given (or its default), which CloudFormation resolves again on the update.

This adapter makes moto's ``Stack.stack_parameters`` (used only for ``UsePreviousValue`` and
moto's "no updates" check) return, for SSM-typed parameters, the value given at the last
create/update or else the template default; other parameters keep moto's resolved value.
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation.models import Stack

SSM_TYPE_PREFIX = "AWS::SSM::Parameter::"


def _stack_parameters(self: Stack) -> dict[str, Any]:
    resource_map = self.resource_map
    parameters = dict(resource_map.resolved_parameters)
    slots = resource_map._template.get("Parameters", {})
    for key, slot in slots.items():
        if key in parameters and str(slot.get("Type", "")).startswith(SSM_TYPE_PREFIX):
            parameters[key] = resource_map.input_parameters.get(key, slot.get("Default"))
    return parameters


def register() -> None:
    """Patch moto's ``Stack.stack_parameters`` (idempotent)."""
    Stack.stack_parameters = property(_stack_parameters)  # type: ignore[assignment,method-assign]
