"""A read-only model of a synthesized CloudFormation template, with the resolution rules need.

Rules never look at raw intrinsic functions: they ask :class:`Template` to *resolve* a value. Resolution
follows only what the template itself fixes (``Ref``/``Fn::GetAtt`` to its own resources, ``Fn::Select``
over lists and ``Fn::GetAZs``, ``Fn::Join``/``Fn::Sub`` of known parts, ``Fn::FindInMap``) and returns
:data:`UNKNOWN` for everything else: parameters (a ``Default`` is not the deployed value), pseudo
parameters, imports, SSM dynamic references, conditions. A rule that meets :data:`UNKNOWN` does not
guess: it reports nothing, or at most an info, which names the parameter and its default
(:meth:`Template.parameter_origins`).

This module is plain Python (no aws-cdk-lib) so that ``mnp lint`` starts fast.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from mnp_toolkit.lint.language_extensions import expand_resources, has_loops

if TYPE_CHECKING:
    from mnp_toolkit.lint.source import Source


class _Unknown:
    """A value the template does not fix (a pseudo parameter, an import, a condition...)."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        return False


UNKNOWN: Final = _Unknown()


class _NoValue:
    """``Ref: AWS::NoValue``: the property is treated as absent."""

    def __repr__(self) -> str:
        return "NO_VALUE"


NO_VALUE: Final = _NoValue()


@dataclass(frozen=True)
class ResourceRef:
    """A ``Ref`` (attribute ``None``) or ``Fn::GetAtt`` to a resource of the same template."""

    logical_id: str
    attribute: str | None = None


@dataclass(frozen=True)
class AzList:
    """The value of ``Fn::GetAZs`` for a region expression (usually the stack's own region)."""

    region: str


@dataclass(frozen=True)
class AvailabilityZone:
    """An AZ known only by position: ``Fn::Select [index, Fn::GetAZs region]``.

    Two such values are the same AZ exactly when region and index are equal; that is all a template
    without an account can know, and all that single-AZ checks need.
    """

    region: str
    index: int

    def __str__(self) -> str:
        return f"AZ #{self.index} of {self.region or 'the stack region'}"


_PSEUDO_PARAMETERS = frozenset(
    {
        "AWS::AccountId",
        "AWS::NotificationARNs",
        "AWS::Partition",
        "AWS::Region",
        "AWS::StackId",
        "AWS::StackName",
        "AWS::URLSuffix",
    }
)
_SUB_VARIABLE = re.compile(r"\$\{(?!!)([^}]+)\}")
_DYNAMIC_REFERENCE = "{{resolve:"
#: How deep :meth:`Template.parameter_origins` looks into a value, and how many origins it names.
_MAX_ORIGIN_DEPTH = 64
_MAX_ORIGINS = 8
#: How many nested resolution steps one :meth:`Template.resolve` may take. The loader refuses documents
#: nested deeper than :data:`mnp_toolkit.lint.loader.MAX_NESTING` (128), so only a reference cycle
#: (``Fn::FindInMap`` into a mapping value that leads back to itself) or a hand-built dict reaches it.
#: Each step costs about three interpreter frames: 160 steps stay well inside Python's 1,000.
MAX_RESOLUTION_DEPTH: Final = 160


@dataclass(frozen=True)
class ValueOrigin:
    """A part of a property that only a deployment fixes: a parameter, an import or an SSM reference."""

    path: str  # where inside the property (``ComputeResources.MaxvCpus``), "" for the value itself
    kind: str  # "parameter" | "import" | "ssm"
    name: str
    default: Any = None  # the parameter's Default, when it has one (``has_default`` tells None apart)
    has_default: bool = False

    def describe(self) -> str:
        where = f"{self.path} " if self.path else ""
        if self.kind == "parameter":
            default = f", default {_short(self.default)}" if self.has_default else ", no default"
            return f"{where}comes from parameter {self.name}{default}"
        if self.kind == "import":
            return f"{where}comes from an import ({self.name})"
        return f"{where}comes from SSM parameter {self.name}"


def _short(value: Any, limit: int = 60) -> str:
    import json

    try:
        text = json.dumps(value, default=str)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _collect_origins(template: Template, value: Any, path: str, found: list[ValueOrigin], *, depth: int) -> None:
    if depth > _MAX_ORIGIN_DEPTH or len(found) >= _MAX_ORIGINS:
        return
    if isinstance(value, str):
        if _DYNAMIC_REFERENCE in value:
            found.append(ValueOrigin(path, "ssm", value.strip()[:80]))
        return
    if isinstance(value, Mapping):
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref" and isinstance(argument, str):
                _add_name(template, argument, path, found)
                return
            if key == "Fn::ImportValue":
                shown = argument if isinstance(argument, str) else _short(argument)
                found.append(ValueOrigin(path, "import", str(shown)))
                return
            if key == "Fn::Sub":
                text = argument[0] if isinstance(argument, list) and argument else argument
                variables = argument[1] if isinstance(argument, list) and len(argument) == 2 else {}
                if isinstance(text, str):
                    for match in _SUB_VARIABLE.finditer(text):
                        name = match.group(1).strip()
                        if isinstance(variables, Mapping) and name in variables:
                            _collect_origins(template, variables[name], path, found, depth=depth + 1)
                        elif "." not in name:
                            _add_name(template, name, path, found)
                return
        for key, item in value.items():
            child = path if str(key).startswith("Fn::") else (f"{path}.{key}" if path else str(key))
            _collect_origins(template, item, child, found, depth=depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _collect_origins(template, item, f"{path}[{index}]" if path else f"[{index}]", found, depth=depth + 1)


def _add_name(template: Template, name: str, path: str, found: list[ValueOrigin]) -> None:
    parameter = template.parameters.get(name)
    if isinstance(parameter, Mapping):
        parameter_type = str(parameter.get("Type", ""))
        if parameter_type.startswith("AWS::SSM::Parameter"):
            shown = parameter.get("Default", name)
            found.append(ValueOrigin(path, "ssm", f"{shown} (parameter {name})"))
        else:
            found.append(
                ValueOrigin(
                    path, "parameter", name, default=parameter.get("Default"), has_default="Default" in parameter
                )
            )


def is_intrinsic_key(key: Any) -> bool:
    """``Ref``, ``Condition`` or ``Fn::...``: the key of a one-key mapping that is an intrinsic function."""
    return isinstance(key, str) and (key in {"Ref", "Condition"} or key.startswith("Fn::"))


def is_literal(value: Any, *, depth: int = 0) -> bool:
    """True when ``value`` holds no intrinsic function (a one-key ``Ref``/``Fn::``/``Condition`` mapping)."""
    if depth > 64:
        return False
    if isinstance(value, Mapping):
        if len(value) == 1 and is_intrinsic_key(next(iter(value))):
            return False
        return all(is_literal(item, depth=depth + 1) for item in value.values())
    if isinstance(value, list):
        return all(is_literal(item, depth=depth + 1) for item in value)
    return True


def is_known(value: Any) -> bool:
    """True when ``value`` holds no :data:`UNKNOWN` anywhere inside it."""
    if value is UNKNOWN:
        return False
    if isinstance(value, dict):
        return all(is_known(item) for item in value.values())
    if isinstance(value, list):
        return all(is_known(item) for item in value)
    return True


def as_int(value: Any) -> int | _Unknown:
    """A resolved value as an integer (CloudFormation passes numbers as strings too)."""
    if isinstance(value, bool):
        return UNKNOWN
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            try:
                number = float(value.strip())
            except ValueError:
                return UNKNOWN
            return int(number) if number.is_integer() else UNKNOWN
    return UNKNOWN


def as_float(value: Any) -> float | _Unknown:
    if isinstance(value, bool):
        return UNKNOWN
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return UNKNOWN
    return UNKNOWN


def as_bool(value: Any) -> bool | _Unknown:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    return UNKNOWN


def same_text(left: Any, right: str) -> bool:
    """Compare as CloudFormation compares enum values: ``managed`` equals ``MANAGED``."""
    return isinstance(left, str) and left.strip().lower() == right.lower()


@dataclass(frozen=True)
class Resource:
    """One resource of a template. ``properties`` and ``metadata`` are the raw (unresolved) dicts."""

    logical_id: str
    type: str
    properties: Mapping[str, Any]
    metadata: Mapping[str, Any]
    template: Template = field(repr=False, compare=False)
    #: Where the resource is written in the template: ``("Resources", logical_id)``, or the place in its
    #: ``Fn::ForEach`` loop (:mod:`mnp_toolkit.lint.language_extensions`); findings point below it.
    written_at: tuple[str | int, ...] = field(default=(), repr=False, compare=False)

    @property
    def pointer(self) -> tuple[str | int, ...]:
        return self.written_at or ("Resources", self.logical_id)

    @property
    def cdk_path(self) -> str | None:
        path = self.metadata.get("aws:cdk:path")
        return path if isinstance(path, str) else None

    @property
    def display_name(self) -> str:
        """The construct path where the template came from CDK, else the logical ID."""
        return self.cdk_path or self.logical_id

    def raw(self, *path: str | int) -> Any:
        """The raw value at ``path`` inside ``Properties`` (``None`` when absent), unresolved."""
        value: Any = self.properties
        for key in path:
            if isinstance(key, int):
                if not isinstance(value, list) or key >= len(value):
                    return None
                value = value[key]
            else:
                if not isinstance(value, Mapping) or key not in value:
                    return None
                value = value[key]
        return value

    def get(self, *path: str | int) -> Any:
        """The *resolved* value at ``path`` inside ``Properties``: ``None`` when absent, or UNKNOWN.

        Resolution happens step by step, so a path through an intrinsic (``Fn::If``) is UNKNOWN while
        a path through plain dicts inside ``Fn::Join`` parts resolves.
        """
        value: Any = self.properties
        for key in path:
            value = self.template.resolve(value, deep=False)
            if value is UNKNOWN:
                return UNKNOWN
            if value is None or value is NO_VALUE:
                return None
            if isinstance(key, int):
                if not isinstance(value, list):
                    return UNKNOWN
                items = [item for item in value if self.template.resolve(item, deep=False) is not NO_VALUE]
                if key >= len(items):
                    return None
                value = items[key]
            else:
                if not isinstance(value, Mapping):
                    return UNKNOWN
                if key not in value:
                    return None
                value = value[key]
        resolved = self.template.resolve(value)
        return None if resolved is NO_VALUE else resolved


class Template:
    """A CloudFormation template (the parsed JSON/YAML dict) and where it came from."""

    def __init__(self, body: Mapping[str, Any], *, path: str = "<template>", source: Source | None = None) -> None:
        if not isinstance(body, Mapping):
            raise TypeError(f"{path}: a template must be a mapping, got {type(body).__name__}")
        self.body = body
        self.path = path
        #: Where the body's values sit in the file it was read from (None for a template built from a dict):
        #: the engine asks it for the line and column of each finding, and only of findings.
        self.source = source
        raw_resources = body.get("Resources") or {}
        self.parameters: Mapping[str, Any] = body.get("Parameters") or {}
        self.mappings: Mapping[str, Any] = body.get("Mappings") or {}
        self.metadata: Mapping[str, Any] = body.get("Metadata") or {}
        self.resources: dict[str, Resource] = {}
        self._resolution_depth = 0  # see resolve(): the guard against cycles and runaway nesting
        # Rules ask "every resource of type T" once per resource they check; an index keeps that O(|T|)
        # instead of a scan of the whole template (the template is read-only once built).
        self._by_type: dict[str, list[Resource]] = {}
        if not isinstance(raw_resources, Mapping):
            raw_resources = {}
        if has_loops(raw_resources):
            # AWS::LanguageExtensions: CloudFormation expands Fn::ForEach before it deploys, so rules see
            # the expanded resources (an unknown collection: one copy whose loop values are UNKNOWN).
            for expanded in expand_resources(raw_resources, self.resolve):
                self._add(expanded.logical_id, expanded.definition, expanded.pointer)
        else:
            for logical_id, definition in raw_resources.items():
                self._add(logical_id, definition, ())
        for resource in self.resources.values():
            self._by_type.setdefault(resource.type, []).append(resource)

    def _add(self, logical_id: Any, definition: Any, written_at: tuple[str | int, ...]) -> None:
        if not isinstance(definition, Mapping):
            return
        properties = definition.get("Properties")
        metadata = definition.get("Metadata")
        resource = Resource(
            logical_id=str(logical_id),
            type=str(definition.get("Type", "")),
            properties=properties if isinstance(properties, Mapping) else {},
            metadata=metadata if isinstance(metadata, Mapping) else {},
            template=self,
            written_at=written_at,
        )
        self.resources[resource.logical_id] = resource

    # ------------------------------------------------------------------ lookup

    def of_type(self, resource_type: str) -> list[Resource]:
        """The resources of one type, in template order (a new list: callers may change it)."""
        return list(self._by_type.get(resource_type, ()))

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.resources.values())

    def resource(self, reference: Any, resource_type: str | None = None) -> Resource | None:
        """The resource a (raw or resolved) value points to with ``Ref``/``Fn::GetAtt``, if any."""
        resolved = reference if isinstance(reference, ResourceRef) else self.resolve(reference)
        if not isinstance(resolved, ResourceRef):
            return None
        target = self.resources.get(resolved.logical_id)
        if target is None or (resource_type is not None and target.type != resource_type):
            return None
        return target

    # -------------------------------------------------------------- resolution

    def resolve(self, value: Any, *, deep: bool = True) -> Any:
        """Resolve intrinsic functions that the template itself fixes; UNKNOWN for the rest.

        With ``deep`` (the default) dicts and lists are resolved all the way down, dropping
        ``AWS::NoValue`` entries; without it only the outermost intrinsic is resolved.

        Every step that recurses (an intrinsic's arguments, a container's items) counts towards
        :data:`MAX_RESOLUTION_DEPTH`: a cycle (a ``Fn::FindInMap`` whose mapping value points back at
        itself) or a value nested deeper than any template resolves to UNKNOWN instead of exhausting the
        interpreter's stack. Scalars, the common case, return before the count.
        """
        if isinstance(value, str):
            # {{resolve:ssm:...}}: CloudFormation substitutes it at deploy time
            return UNKNOWN if _DYNAMIC_REFERENCE in value else value
        if isinstance(value, dict) or (not isinstance(value, list) and isinstance(value, Mapping)):
            if len(value) != 1 and not deep:
                return value
        elif not isinstance(value, list) or not deep:
            return value  # a scalar (the common case: no counting below) or a list left unresolved
        depth = self._resolution_depth
        if depth >= MAX_RESOLUTION_DEPTH:
            return UNKNOWN
        self._resolution_depth = depth + 1
        try:  # one function, not a helper per container: resolve() is the hottest code of a lint
            if isinstance(value, Mapping):
                if len(value) == 1:
                    ((key, argument),) = value.items()
                    if key == "Ref":
                        return self._resolve_ref(argument)
                    if key == "Fn::GetAtt":
                        return self._resolve_get_att(argument)
                    if key == "Fn::GetAZs":
                        region = self.resolve(argument)
                        return AzList(region if isinstance(region, str) else "")
                    if key == "Fn::Select":
                        return self._resolve_select(argument)
                    if key == "Fn::Join":
                        return self._resolve_join(argument)
                    if key == "Fn::Sub":
                        return self._resolve_sub(argument)
                    if key == "Fn::FindInMap":
                        return self._resolve_find_in_map(argument)
                    if key == "Fn::Split":
                        return self._resolve_split(argument)
                    if isinstance(key, str) and (key.startswith("Fn::") or key == "Condition"):
                        return UNKNOWN
                    if not deep:
                        return value
                resolved = {k: self.resolve(v) for k, v in value.items()}
                return {k: v for k, v in resolved.items() if v is not NO_VALUE}
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        finally:
            self._resolution_depth = depth

    def _resolve_ref(self, name: Any) -> Any:
        if not isinstance(name, str):
            return UNKNOWN
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.resources:
            return ResourceRef(name)
        # Pseudo parameters and parameters (with or without a Default) are only known at deploy time: a
        # Default is what the stack gets when nobody passes a value, not what it was deployed with.
        return UNKNOWN

    def parameter_origins(self, value: Any, *, path: str = "") -> list[ValueOrigin]:
        """Where the parts of a raw value come from that the template cannot know before deploy:
        parameters (with their ``Default``), imports and SSM dynamic references, each with the path
        inside ``value`` (``ComputeResources.MaxvCpus``). Used to word "could not verify" findings."""
        found: list[ValueOrigin] = []
        _collect_origins(self, value, path, found, depth=0)
        return found

    def _resolve_get_att(self, argument: Any) -> Any:
        if isinstance(argument, str) and "." in argument:
            logical_id, attribute = argument.split(".", 1)
        elif isinstance(argument, list) and len(argument) == 2 and isinstance(argument[0], str):
            logical_id = argument[0]
            attribute_value = self.resolve(argument[1])
            if not isinstance(attribute_value, str):
                return UNKNOWN
            attribute = attribute_value
        else:
            return UNKNOWN
        if logical_id not in self.resources:
            return UNKNOWN
        return ResourceRef(logical_id, attribute)

    def _resolve_select(self, argument: Any) -> Any:
        if not isinstance(argument, list) or len(argument) != 2:
            return UNKNOWN
        index = as_int(self.resolve(argument[0]))
        if index is UNKNOWN:
            return UNKNOWN
        assert isinstance(index, int)
        source = self.resolve(argument[1], deep=False)
        if isinstance(source, AzList):
            return AvailabilityZone(source.region, index)
        if isinstance(source, list):
            if 0 <= index < len(source):
                return self.resolve(source[index])
            return UNKNOWN
        return UNKNOWN

    def _resolve_join(self, argument: Any) -> Any:
        if not isinstance(argument, list) or len(argument) != 2:
            return UNKNOWN
        separator = self.resolve(argument[0])
        parts = self.resolve(argument[1])
        if not isinstance(separator, str) or not isinstance(parts, list):
            return UNKNOWN
        if not all(isinstance(part, str | int | float) and not isinstance(part, bool) for part in parts):
            return UNKNOWN
        return separator.join(str(part) for part in parts)

    def _resolve_split(self, argument: Any) -> Any:
        if not isinstance(argument, list) or len(argument) != 2:
            return UNKNOWN
        separator = self.resolve(argument[0])
        text = self.resolve(argument[1])
        if not isinstance(separator, str) or not isinstance(text, str) or not separator:
            return UNKNOWN
        return text.split(separator)

    def _resolve_sub(self, argument: Any) -> Any:
        variables: Mapping[str, Any] = {}
        if isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], Mapping):
            text, variables = argument[0], argument[1]
        else:
            text = argument
        if not isinstance(text, str):
            return UNKNOWN
        unknown = False

        def substitute(match: re.Match[str]) -> str:
            nonlocal unknown
            name = match.group(1).strip()
            if name in variables:
                value = self.resolve(variables[name])
            elif "." in name:
                value = UNKNOWN  # attribute values are only known after deploy
            else:
                value = self._resolve_ref(name)
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                return str(value)
            unknown = True
            return ""

        result = _SUB_VARIABLE.sub(substitute, text)
        return UNKNOWN if unknown else result.replace("${!", "${")

    def _resolve_find_in_map(self, argument: Any) -> Any:
        if not isinstance(argument, list) or len(argument) < 3:
            return UNKNOWN
        keys = [self.resolve(item) for item in argument[:3]]
        if not all(isinstance(key, str) for key in keys):
            return UNKNOWN
        value: Any = self.mappings
        for key in keys:
            if not isinstance(value, Mapping) or key not in value:
                return UNKNOWN
            value = value[key]
        # "You can't include parameters, pseudo parameters, or intrinsic functions in the Mappings section"
        # (CloudFormation user guide, Mappings): a value is literal, so it is not resolved again (a mapping
        # that points at itself would branch without end).
        return value if is_literal(value) else UNKNOWN
