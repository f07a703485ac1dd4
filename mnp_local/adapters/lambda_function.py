"""``LoggingConfig`` and ``DeadLetterConfig`` of Lambda functions.

moto gap (moto 5.2.5): ``AWS::Lambda::Function`` keeps neither ``LoggingConfig`` nor ``DeadLetterConfig``
(its CloudFormation model copies a fixed list of properties, and ``CreateFunction``/
``UpdateFunctionConfiguration`` drop them too); ``GetFunctionConfiguration`` shows no ``LoggingConfig``.
Our watchdog function names its own log group (``LoggingConfig.LogGroup``, so that its retention and
encryption are the stack's) and a dead-letter queue.

What AWS does instead: the function logs to ``LoggingConfig.LogGroup`` (default ``/aws/lambda/<name>``)
and sends asynchronous events that failed every retry to ``DeadLetterConfig.TargetArn``; both are part
of the function's configuration (Lambda API reference, ``FunctionConfiguration``: ``LoggingConfig``
``{LogFormat, LogGroup, ...}``, ``DeadLetterConfig``).

This adapter keeps both on moto's ``LambdaFunction`` (created through the API or CloudFormation,
updated by UpdateFunctionConfiguration or a stack update) and describes them. The emulator's Lambda
executor (:mod:`mnp_local.eventbridge.lambdas`) writes the function's output to that group and failed
events to that queue.
"""

from __future__ import annotations

from typing import Any

from moto.awslambda.models import LambdaFunction

_KEPT = ("LoggingConfig", "DeadLetterConfig")
_ORIGINAL: dict[str, Any] = {}


def _init(self: LambdaFunction, account_id: str, spec: dict[str, Any], region: str, version: str | int = 1) -> None:
    _ORIGINAL["init"](self, account_id, spec, region, version)
    self.logging_config = dict(spec.get("LoggingConfig") or {})  # type: ignore[attr-defined]
    self.dead_letter_config = dict(spec.get("DeadLetterConfig") or {})  # type: ignore[attr-defined]


def _update_configuration(self: LambdaFunction, config_updates: dict[str, Any]) -> dict[str, Any]:
    if "LoggingConfig" in config_updates:
        self.logging_config = dict(config_updates["LoggingConfig"] or {})  # type: ignore[attr-defined]
    if "DeadLetterConfig" in config_updates:
        self.dead_letter_config = dict(config_updates["DeadLetterConfig"] or {})  # type: ignore[attr-defined]
    return dict(_ORIGINAL["update_configuration"](self, config_updates))


def _get_configuration(self: LambdaFunction, on_create: bool = False) -> dict[str, Any]:
    config = dict(_ORIGINAL["get_configuration"](self, on_create))
    logging_config = getattr(self, "logging_config", None) or {}
    config["LoggingConfig"] = {
        "LogFormat": logging_config.get("LogFormat", "Text"),
        "LogGroup": logging_config.get("LogGroup") or f"/aws/lambda/{self.function_name}",
        **{key: value for key, value in logging_config.items() if key not in ("LogFormat", "LogGroup")},
    }
    dead_letter = getattr(self, "dead_letter_config", None) or {}
    if dead_letter.get("TargetArn"):
        config["DeadLetterConfig"] = {"TargetArn": dead_letter["TargetArn"]}
    return config


def _create_from_cloudformation_json(
    cls: type[LambdaFunction],
    resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> LambdaFunction:
    function = _ORIGINAL["create_from_cloudformation_json"](
        resource_name, cloudformation_json, account_id, region_name, **kwargs
    )
    properties = cloudformation_json.get("Properties") or {}
    _update_configuration(function, {key: properties[key] for key in _KEPT if key in properties})
    return function


def register() -> None:
    """Patch moto's ``LambdaFunction`` (idempotent)."""
    if not _ORIGINAL:
        _ORIGINAL.update(
            init=LambdaFunction.__init__,
            update_configuration=LambdaFunction.update_configuration,
            get_configuration=LambdaFunction.get_configuration,
            create_from_cloudformation_json=LambdaFunction.create_from_cloudformation_json,
        )
    LambdaFunction.__init__ = _init  # type: ignore[method-assign]
    LambdaFunction.update_configuration = _update_configuration  # type: ignore[method-assign]
    LambdaFunction.get_configuration = _get_configuration  # type: ignore[method-assign]
    LambdaFunction.create_from_cloudformation_json = classmethod(_create_from_cloudformation_json)  # type: ignore[assignment,method-assign]
