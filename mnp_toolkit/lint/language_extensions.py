"""``Fn::ForEach`` loops in ``Resources`` (the ``AWS::LanguageExtensions`` transform), expanded for the rules.

A template with ``Transform: AWS::LanguageExtensions`` may declare resources as

    "Fn::ForEach::Queues": ["Env", ["a", "b"], {"Queue${Env}": {"Type": "AWS::Batch::JobQueue", ...}}]

which CloudFormation expands before it creates anything: "All instances of ``${Identifier}`` or
``&{Identifier}`` in the OutputKey and OutputValue parameters are replaced with values of the Collection",
and the collection is "an array in this parameter, or it can be a Ref to a CommaDelimitedList" (CloudFormation
Template Reference, ``Fn::ForEach``). ``&{}`` drops the value's non-alphanumeric characters. Loops nest.

A collection that the template fixes (a literal list, a ``Fn::FindInMap`` into a list, a ``Fn::Split`` of
literal text) is expanded to one resource per value, as CloudFormation does. A collection from a parameter
is unknowable (its ``Default`` is not the deployed value): the fragment is kept as **one** resource under
its raw key (``Queue${Env}``), every value that names the identifier resolves to UNKNOWN, and so each rule
sees what every copy shares and nothing it would have to guess. Resources are never dropped: a rule that
concludes from absence (no self-ingress rule for a group) must see the loop's resources too.

This module is plain Python, like :mod:`mnp_toolkit.lint.template`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

FOR_EACH_PREFIX: Final = "Fn::ForEach::"
#: Most resources a template may expand to. CloudFormation takes at most 500 resources per stack (quotas),
#: so no deployable template comes near; the bound keeps a hostile nest of loops finite.
MAX_EXPANDED_RESOURCES: Final = 10_000
#: Most values (mappings, lists, scalars) copied while expanding, about 2 KB each at worst: this bounds the
#: memory that a large resource in a long loop could take.
MAX_EXPANDED_VALUES: Final = 2_000_000
#: "Fn::ForEach" nests at most five levels deep (CloudFormation Template Reference, Fn::ForEach); a deeper
#: nest is expanded no further (kept as written, so its values stay literal text nobody resolves).
MAX_LOOP_DEPTH: Final = 5
#: The key of the value that replaces one naming an identifier of a loop whose collection is unknown: any
#: unknown ``Fn::`` key resolves to UNKNOWN (:meth:`mnp_toolkit.lint.template.Template.resolve`).
UNKNOWN_LOOP_VALUE: Final = "Fn::ForEach::Value"
_NON_ALPHANUMERIC = re.compile(r"[^A-Za-z0-9]")
# Above the loader's nesting limit (128): a hand-built body nested deeper is left as it is.
_MAX_VALUE_DEPTH = 200


class ExpansionTooLarge(ValueError):
    """The loops of a template expand to more than :data:`MAX_EXPANDED_RESOURCES` resources or
    :data:`MAX_EXPANDED_VALUES` values."""


@dataclass(frozen=True)
class ExpandedResource:
    """One resource after expansion: its logical ID, definition, and where it is written in the file
    (``("Resources", "Fn::ForEach::Queues", 2, "Queue${Env}")``)."""

    logical_id: str
    definition: Any
    pointer: tuple[str | int, ...]


def has_loops(resources: Mapping[Any, Any]) -> bool:
    return any(isinstance(key, str) and key.startswith(FOR_EACH_PREFIX) for key in resources)


def expand_resources(resources: Mapping[Any, Any], resolve: Callable[[Any], Any]) -> Iterator[ExpandedResource]:
    """The resources of a ``Resources`` section with its loops expanded; ``resolve`` resolves a collection."""
    budget = _Budget()
    yield from _expand(resources, ("Resources",), {}, resolve, budget, depth=0)


class _Budget:
    def __init__(self) -> None:
        self.resources = MAX_EXPANDED_RESOURCES
        self.values = MAX_EXPANDED_VALUES

    def spend_resource(self) -> None:
        self.resources -= 1
        if self.resources < 0:
            raise ExpansionTooLarge(f"Fn::ForEach expands to more than {MAX_EXPANDED_RESOURCES:,} resources")

    def spend_value(self) -> None:
        self.values -= 1
        if self.values < 0:
            raise ExpansionTooLarge(f"Fn::ForEach expands to more than {MAX_EXPANDED_VALUES:,} values")


# An identifier bound to None belongs to a loop whose collection is unknown.
_Bindings = Mapping[str, "str | None"]


def _expand(
    section: Mapping[Any, Any],
    pointer: tuple[str | int, ...],
    bindings: _Bindings,
    resolve: Callable[[Any], Any],
    budget: _Budget,
    *,
    depth: int,
) -> Iterator[ExpandedResource]:
    for key, value in section.items():
        if not isinstance(key, str):
            continue
        if key.startswith(FOR_EACH_PREFIX) and depth < MAX_LOOP_DEPTH and _is_loop(value):
            identifier, collection, fragment = value
            here = (*pointer, key, 2)
            items = _collection_items(resolve(_substitute(collection, bindings, budget)))
            for item in items if items is not None else [None]:
                yield from _expand(fragment, here, {**bindings, identifier: item}, resolve, budget, depth=depth + 1)
            continue
        budget.spend_resource()
        yield ExpandedResource(_substitute_key(key, bindings), _substitute(value, bindings, budget), (*pointer, key))


def _is_loop(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 3
        and isinstance(value[0], str)
        and bool(value[0])
        and isinstance(value[2], Mapping)
    )


def _collection_items(collection: Any) -> list[str] | None:
    if not isinstance(collection, list):
        return None
    if not all(isinstance(item, str | int | float) and not isinstance(item, bool) for item in collection):
        return None
    return [str(item) for item in collection]


def _placeholders(identifier: str) -> tuple[str, str]:
    return "${" + identifier + "}", "&{" + identifier + "}"


def _substitute_key(key: str, bindings: _Bindings) -> str:
    """A key with every known identifier replaced; an unknown one stays as written (``Queue${Env}``)."""
    for identifier, item in bindings.items():
        if item is None:
            continue
        plain, alphanumeric = _placeholders(identifier)
        key = key.replace(plain, item).replace(alphanumeric, _NON_ALPHANUMERIC.sub("", item))
    return key


def _substitute(value: Any, bindings: _Bindings, budget: _Budget, depth: int = 0) -> Any:
    if not bindings:
        return value
    budget.spend_value()
    if isinstance(value, str):
        return _substitute_text(value, bindings)
    if depth > _MAX_VALUE_DEPTH:
        return value
    if isinstance(value, Mapping):
        if len(value) == 1:
            ((function, argument),) = value.items()
            if function == "Ref" and isinstance(argument, str) and argument in bindings:
                item = bindings[argument]
                return item if item is not None else {UNKNOWN_LOOP_VALUE: argument}
        return {
            (_substitute_key(key, bindings) if isinstance(key, str) else key): _substitute(
                item, bindings, budget, depth + 1
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_substitute(item, bindings, budget, depth + 1) for item in value]
    return value


def _substitute_text(text: str, bindings: _Bindings) -> Any:
    if "{" not in text:
        return text
    for identifier, item in bindings.items():
        plain, alphanumeric = _placeholders(identifier)
        if plain not in text and alphanumeric not in text:
            continue
        if item is None:
            return {UNKNOWN_LOOP_VALUE: text}  # what the text becomes is only known at deploy time
        text = text.replace(plain, item).replace(alphanumeric, _NON_ALPHANUMERIC.sub("", item))
    return text
