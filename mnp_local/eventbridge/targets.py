"""What a rule's target receives: its ``Input``, ``InputPath`` or ``InputTransformer``, as EventBridge applies them.

moto 5.2.5 applies only ``InputTransformer``, and not as EventBridge does: it pastes a string value into
the template without quotes (``{"scheduled_at": <time>}`` becomes invalid JSON) and needs an
``ingestion-time`` key the events here do not have. The API reference (``Target``) and the user guide
("Amazon EventBridge input transformation") say:

* ``Input``: "Valid JSON text passed to the target"; "the matched event is overridden with this constant";
* ``InputPath``: "The value of the JSONPath that is used for extracting part of the matched event when
  passing it to the target";
* ``InputTransformer``: variables from ``InputPathsMap`` (JSONPath) and the predefined ones
  (``aws.events.rule-arn``, ``aws.events.rule-name``, ``aws.events.event.ingestion-time``,
  ``aws.events.event``, ``aws.events.event.json``) replace ``<name>`` in ``InputTemplate``. In a JSON
  template a placeholder outside quotes gets the value as JSON (``"instance" : <instance>`` gives
  ``"instance" : "i-0123456789"``), inside quotes the raw text ("EventBridge doesn't escape values
  extracted by Input Path"); "If you specify a variable to match a JSON path that doesn't exist in the
  event, that variable isn't created and won't appear in the output" (here: ``null`` outside quotes, empty
  inside);
* none of them: "the entire event is passed to the target in JSON form".

JSONPath is evaluated with ``jsonpath_ng`` (the library moto itself uses for this).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")


class TargetInputError(ValueError):
    """The target's input settings cannot be applied to the event (bad JSON, bad JSONPath)."""


def json_path(event: Any, path: str) -> tuple[bool, Any]:
    """(found, value) of a JSONPath such as ``$.detail.status`` in ``event``."""
    from jsonpath_ng.exceptions import JsonPathParserError
    from jsonpath_ng.ext import parse

    try:
        matches = parse(path).find(event)
    except (JsonPathParserError, ValueError, TypeError, AttributeError) as error:
        raise TargetInputError(f"JSONPath {path!r}: {error}") from None
    if not matches:
        return False, None
    return True, matches[0].value


def _predefined(event: Mapping[str, Any], rule_arn: str, rule_name: str, ingestion_time: str) -> dict[str, Any]:
    without_detail = {key: value for key, value in event.items() if key != "detail"}
    return {
        "aws.events.rule-arn": rule_arn,
        "aws.events.rule-name": rule_name,
        "aws.events.event.ingestion-time": ingestion_time,
        "aws.events.event": without_detail,
        "aws.events.event.json": dict(event),
    }


def transform(
    template: str,
    paths: Mapping[str, str],
    event: Mapping[str, Any],
    *,
    rule_arn: str,
    rule_name: str,
    ingestion_time: str,
) -> str:
    """``InputTemplate`` with its placeholders filled from ``event`` (see the module doc)."""
    values: dict[str, tuple[bool, Any]] = {
        name: (True, value) for name, value in _predefined(event, rule_arn, rule_name, ingestion_time).items()
    }
    for name, path in paths.items():
        values[name] = json_path(event, path)
    is_json = template.lstrip().startswith(("{", "["))
    out: list[str] = []
    in_string = False
    index = 0
    while index < len(template):
        char = template[index]
        if is_json and char == "\\" and in_string:
            out.append(template[index : index + 2])
            index += 2
            continue
        if is_json and char == '"':
            in_string = not in_string
            out.append(char)
            index += 1
            continue
        match = _PLACEHOLDER.match(template, index) if char == "<" else None
        if match is None or match.group(1) not in values:
            out.append(char)
            index += 1
            continue
        found, value = values[match.group(1)]
        if is_json and not in_string:
            out.append(json.dumps(value) if found else "null")
        elif isinstance(value, str):
            out.append(value)
        elif found:
            out.append(json.dumps(value))
        index = match.end()
    return "".join(out)


def target_payload(
    target: Mapping[str, Any], event: Mapping[str, Any], *, rule_arn: str, rule_name: str, ingestion_time: str
) -> str:
    """The text the target receives for ``event`` (a JSON document for a Lambda function)."""
    if target.get("Input") is not None:
        text = str(target["Input"])
        try:
            json.loads(text)
        except ValueError as error:
            raise TargetInputError(f"target {target.get('Id')}: Input is not valid JSON ({error})") from None
        return text
    if target.get("InputPath"):
        found, value = json_path(event, str(target["InputPath"]))
        return json.dumps(value if found else None)
    transformer = target.get("InputTransformer")
    if transformer:
        return transform(
            str(transformer.get("InputTemplate") or ""),
            dict(transformer.get("InputPathsMap") or {}),
            event,
            rule_arn=rule_arn,
            rule_name=rule_name,
            ingestion_time=ingestion_time,
        )
    return json.dumps(event)
