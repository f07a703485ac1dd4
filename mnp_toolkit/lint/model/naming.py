"""How rule messages name values: template resources by display name, literals as themselves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mnp_toolkit.lint.template import UNKNOWN, Resource, ResourceRef


def first_known(values: Sequence[Any]) -> Any:
    return next((value for value in values if value is not UNKNOWN), UNKNOWN)


def describe(value: Any) -> str:
    """How a rule message names a value: a template resource by its display name, a literal as itself."""
    if isinstance(value, Resource):
        return value.display_name
    if value is UNKNOWN:
        return "(a value the template does not fix)"
    if isinstance(value, ResourceRef):
        return value.logical_id if value.attribute is None else f"{value.logical_id}.{value.attribute}"
    return str(value)
