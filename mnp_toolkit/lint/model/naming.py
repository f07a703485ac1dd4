"""How rule messages name values: template resources by display name, values as a template author writes them.

A message must never show the linter's own objects (``ResourceRef(logical_id='Sg')``, ``AzList(region='')``,
``UNKNOWN``) or Python's repr of a dict (``{'Ref': 'X'}``): :func:`render_value` writes what the template
says, in CloudFormation's JSON form (``{"Ref": "Sg"}``, ``{"Fn::GetAZs": ""}``), which is valid in a YAML
template too, and cuts it to :data:`MAX_RENDERED` characters so that one huge value cannot bury a report.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from mnp_toolkit.lint.template import (
    NO_VALUE,
    UNKNOWN,
    AvailabilityZone,
    AzList,
    Resource,
    ResourceRef,
)

#: The longest rendering of one value in a message, in characters.
MAX_RENDERED = 80
#: Items and nesting shown before ``...`` (the rest is summarized, never walked).
_MAX_ITEMS = 8
_MAX_DEPTH = 4
#: Integers longer than this are shown by their size (a huge literal is a typo or an attack, not a value).
_MAX_DIGITS = 30


def describe(value: Any) -> str:
    """How a rule message names a value: a template resource by its display name, a name (a string) as
    itself, anything else as :func:`render_value` writes it."""
    if isinstance(value, Resource):
        return value.display_name
    if value is UNKNOWN:
        return "(a value the template does not fix)"
    if isinstance(value, ResourceRef):
        return value.logical_id if value.attribute is None else f"{value.logical_id}.{value.attribute}"
    if isinstance(value, str):
        return _cut(value)
    return render_value(value)


def render_value(value: Any, *, limit: int = MAX_RENDERED) -> str:
    """A (raw or resolved) template value as CloudFormation JSON, cut to ``limit`` characters."""
    return _cut(_render(value, 0), limit)


def _cut(text: str, limit: int = MAX_RENDERED) -> str:
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def _render(value: Any, depth: int) -> str:
    if value is UNKNOWN:
        return "(not fixed by the template)"
    if value is NO_VALUE:
        return '{"Ref": "AWS::NoValue"}'
    if isinstance(value, Resource):
        return json.dumps({"Ref": value.logical_id})
    if isinstance(value, ResourceRef):
        if value.attribute is None:
            return json.dumps({"Ref": value.logical_id})
        return json.dumps({"Fn::GetAtt": [value.logical_id, value.attribute]})
    if isinstance(value, AzList):
        return json.dumps({"Fn::GetAZs": value.region})
    if isinstance(value, AvailabilityZone):
        return json.dumps({"Fn::Select": [value.index, {"Fn::GetAZs": value.region}]})
    if value is None or isinstance(value, bool | str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        digits = len(str(abs(value))) if abs(value) < 10**_MAX_DIGITS else None
        return str(value) if digits is not None else f"(an integer of more than {_MAX_DIGITS} digits)"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else json.dumps(str(value))
    if isinstance(value, Mapping):
        if depth >= _MAX_DEPTH:
            return "{...}"
        items = list(value.items())[: _MAX_ITEMS + 1]
        shown = [f"{json.dumps(str(k), ensure_ascii=False)}: {_render(v, depth + 1)}" for k, v in items[:_MAX_ITEMS]]
        return "{" + ", ".join(shown + (["..."] if len(items) > _MAX_ITEMS else [])) + "}"
    if isinstance(value, list | tuple):
        if depth >= _MAX_DEPTH:
            return "[...]"
        shown = [_render(item, depth + 1) for item in value[:_MAX_ITEMS]]
        return "[" + ", ".join(shown + (["..."] if len(value) > _MAX_ITEMS else [])) + "]"
    return json.dumps(str(value), ensure_ascii=False)
