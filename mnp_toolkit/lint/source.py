"""Parse a template body (JSON or CloudFormation YAML) safely, and find where a value sits in its text.

``mnp lint`` reads pull requests from anyone, so parsing is bounded (every limit here is checked
before the value reaches the rules):

* **No YAML anchors or aliases.** CloudFormation's YAML has none (the cfn-lint maintainers: "CloudFormation
  yaml doesn't support aliasing", aws-cloudformation/cfn-lint-visual-studio-code#158; the AWS user guide
  is silent), and nine levels of nine aliases expand to gigabytes once a rule walks the value.
* **At most** :data:`MAX_NESTING` **levels of nesting.** CDK output nests about 20 levels; every recursive
  walk of a value (resolution, rules, JSON rendering) then stays far inside Python's 1,000 frames.
* **No duplicate keys** in a mapping (JSON or YAML): CloudFormation rejects the template, and a
  last-wins parser would lint a different template than the one that deploys.
* **Integers of at most** :data:`MAX_INTEGER_DIGITS` **digits**: Python's own limit for converting text to
  ``int`` (``sys.get_int_max_str_digits``), which guards against quadratic conversions.
* JSON's non-standard ``NaN``/``Infinity`` are refused (CloudFormation's parser refuses them too).

Every problem raises :class:`SourceError` with the line and column where the text is wrong.

Positions (:class:`JsonSource`, :class:`YamlSource`) are found only for the values a finding points at,
so a clean template pays nothing for them: YAML keeps the composed nodes' marks (the YAML has to be
composed anyway), JSON keeps its text and walks it with the C scanner of :mod:`json` only along the
requested paths, caching each object's key offsets (a second full parse would cost as much as the lint).
"""

from __future__ import annotations

import bisect
import json
import json.decoder
import json.scanner
import re
from collections.abc import Sequence
from itertools import accumulate
from typing import Any, Protocol

import yaml
from yaml.composer import Composer, ComposerError
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

#: Deepest nesting of mappings and lists accepted (see the module docs).
MAX_NESTING = 128
#: Longest integer literal accepted: Python's default ``sys.get_int_max_str_digits()``.
MAX_INTEGER_DIGITS = 4300

#: A path into a parsed template: mapping keys and list indexes (``("Resources", "Jd", "Properties")``).
Pointer = Sequence[str | int]


class SourceError(Exception):
    """Text that is not an acceptable template body: ``problem`` and, where known, 1-based line/column."""

    def __init__(self, problem: str, line: int | None = None, column: int | None = None) -> None:
        where = f" at line {line}, column {column}" if line is not None and column is not None else ""
        super().__init__(f"{problem}{where}")
        self.problem = problem
        self.line = line
        self.column = column


class Source(Protocol):
    """Where the values of one parsed template sit in its text."""

    def locate(self, pointer: Pointer) -> tuple[int, int, int] | None:
        """``(steps found, line, column)`` of the deepest prefix of ``pointer`` present in the text (1-based
        line and column of a mapping entry's key or of a list item), or None when the text has no root."""
        ...


def _line_column(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


class _Lines:
    """Line and column of offsets in one text, counted from the nearest offset already asked for: findings
    come in template order, so a whole report counts the text's newlines about once (a single-line JSON
    file of megabytes included)."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._known: list[tuple[int, int, int]] = [(0, 1, 0)]  # (offset, line, offset where that line starts)

    def __call__(self, offset: int) -> tuple[int, int]:
        known = self._known
        index = bisect.bisect_right(known, (offset, float("inf"), 0)) - 1
        start, line, line_start = known[index]
        newlines = self._text.count("\n", start, offset)
        if newlines:
            line += newlines
            line_start = self._text.rfind("\n", start, offset) + 1
        known.insert(index + 1, (offset, line, line_start))
        return line, offset - line_start + 1


# ----------------------------------------------------------------------------------------------- JSON


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return result


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_STRICT_DECODER = json.JSONDecoder(object_pairs_hook=_unique_pairs, parse_constant=_refuse_constant)
_SKIPPER: Any = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]  # C: skips a value
_scanstring: Any = json.decoder.scanstring  # type: ignore[attr-defined]
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_COLON = re.compile(r"[ \t\n\r]*:[ \t\n\r]*")
_COMMA = re.compile(r"[ \t\n\r]*,?[ \t\n\r]*")
_LONG_INTEGER = re.compile(rf"(?<![\w.])-?\d{{{MAX_INTEGER_DIGITS + 1},}}")
_KEEP_BRACKETS = bytes(i for i in range(256) if i not in b'"[]{}')
_STRING_TOKEN = re.compile(rb'"[^"]*"')
_BRACKET_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def _previous_char(text: str, offset: int, floor: int) -> str:
    """The last character before ``offset`` that is not JSON whitespace ("" when there is none after ``floor``)."""
    window = 64
    while True:
        begin = max(floor, offset - window)
        stripped = text[begin:offset].rstrip(" \t\n\r")
        if stripped or begin == floor:
            return stripped[-1:]
        window *= 4


def _brackets(data: bytes) -> bytes:
    """The brackets of a JSON fragment that starts outside a string, strings (and escapes) removed."""
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    # Left are quotes and brackets; a string without brackets is now "", and removing adjacent quotes
    # keeps every bracket on its side of the string boundaries (at worst two strings become one).
    quoted = data.translate(None, _KEEP_BRACKETS).replace(b'""', b"")
    return _STRING_TOKEN.sub(b"", quoted) if b'"' in quoted else quoted


def _stays_at_top(text: str, begin: int, end: int) -> bool:
    """True when, from ``begin`` (a key of an object, or just inside its ``{``) to ``end``, the brackets
    never close that object and every one opened is closed again."""
    brackets = _brackets(text[begin:end].encode("utf-8", "surrogatepass"))
    if not brackets:
        return True
    return min(accumulate(map(_BRACKET_STEP.__getitem__, brackets))) >= 0 and (
        brackets.count(b"[") + brackets.count(b"{") == brackets.count(b"]") + brackets.count(b"}")
    )


def json_nesting(text: str) -> int:
    """How deeply the arrays and objects of a *valid* JSON text nest, at C speed (no Python loop per
    character): escapes and then strings are removed, leaving only brackets to count."""
    brackets = _brackets(text.encode("utf-8", "surrogatepass"))
    return max(accumulate(map(_BRACKET_STEP.__getitem__, brackets)), default=0)


def _too_deep_offset(text: str, limit: int) -> int | None:
    """The offset where nesting first exceeds ``limit`` (for the error message only; stops there)."""
    depth = 0
    in_string = escaped = False
    for offset, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return offset
        elif char in "]}":
            depth -= 1
    return None


def parse_json(text: str) -> Any:
    """Parse a JSON template body within the limits of the module docs (raises :class:`SourceError`)."""
    try:
        body = _STRICT_DECODER.decode(text)
    except json.JSONDecodeError as error:
        raise SourceError(f"invalid JSON: {error.msg}", error.lineno, error.colno) from None
    except _DuplicateKey as error:
        offset = _duplicate_key_offset(text, error.key)
        where = _line_column(text, offset) if offset is not None else (None, None)
        raise SourceError(
            f"duplicate key {_quote(error.key)} in one JSON object (CloudFormation rejects duplicate keys)", *where
        ) from None
    except RecursionError:
        raise _too_deep(text) from None
    except ValueError as error:
        match = _LONG_INTEGER.search(text)
        if match is not None:
            raise SourceError(
                f"an integer of {len(match.group().lstrip('-')):,} digits; at most {MAX_INTEGER_DIGITS:,} are accepted",
                *_line_column(text, match.start()),
            ) from None
        raise SourceError(f"invalid JSON: {error}") from None
    if json_nesting(text) > MAX_NESTING:
        raise _too_deep(text)
    return body


def _too_deep(text: str) -> SourceError:
    offset = _too_deep_offset(text, MAX_NESTING)
    where = _line_column(text, offset) if offset is not None else (None, None)
    return SourceError(f"nested more than {MAX_NESTING} levels deep (a real template nests about 20)", *where)


def _quote(key: str, limit: int = 60) -> str:
    text = json.dumps(key)
    return text if len(text) <= limit else text[: limit - 4] + '..."'


class JsonSource:
    """Positions in a JSON text, found lazily along requested paths (see the module docs)."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._lines = _Lines(text)
        # object start offset -> [key -> (key offset, value offset), where to resume scanning or None]
        self._objects: dict[int, list[Any]] = {}
        self._arrays: dict[int, list[int]] = {}

    def _ws(self, offset: int) -> int:
        match = _WHITESPACE.match(self._text, offset)
        return match.end() if match else offset

    def _member(self, start: int, key: str) -> tuple[int, int] | None:
        state = self._objects.get(start)
        if state is None:
            state = self._objects[start] = [{}, self._ws(start + 1), [start]]
        members: dict[str, tuple[int, int]] = state[0]
        found = members.get(key)
        if found is not None or state[1] is None:
            return found
        found = self._find_member(start, key, members, state[2])
        if found is not None:
            return found
        # The slow path (a key written with other escapes, or not there): one C call per token.
        text, scan, skip, colon, comma = self._text, _scanstring, _SKIPPER, _COLON.match, _COMMA.match
        offset = state[1]
        while text[offset] == '"':
            name, after = scan(text, offset + 1)
            value_offset = colon(text, after).end()  # type: ignore[union-attr]
            end = skip(text, value_offset)[1]
            if name not in members:
                members[name] = (offset, value_offset)
            offset = comma(text, end).end()  # type: ignore[union-attr]
            if name == key:
                state[1] = offset
                return members[name]
        state[1] = None
        return None

    def _find_member(
        self, start: int, key: str, members: dict[str, tuple[int, int]], checkpoints: list[int]
    ) -> tuple[int, int] | None:
        """Find the member by searching the text for its key (C speed) instead of skipping every value
        before it, then prove the hit is a key of *this* object: the brackets between the nearest member
        already proven (a checkpoint) and the hit, strings removed, never close the object and balance to
        zero. Findings come in template order, so the proofs together read the object about once."""
        text = self._text
        needle = json.dumps(key, ensure_ascii=False)
        # Search on from the last member proven (the next finding is usually further on), then from the top.
        tries = [(checkpoints[-1] + 1, len(text))] if checkpoints[-1] != start else []
        tries.append((start + 1, len(text)))
        for offset, limit in tries:
            found = self._search(start, key, needle, members, checkpoints, offset, limit)
            if found is not None:
                return found
        return None

    def _search(
        self,
        start: int,
        key: str,
        needle: str,
        members: dict[str, tuple[int, int]],
        checkpoints: list[int],
        offset: int,
        limit: int,
    ) -> tuple[int, int] | None:
        text = self._text
        for _ in range(3):  # then the slow path: the key may be written with other escapes
            hit = text.find(needle, offset, limit)
            if hit < 0:
                return None
            offset = hit + 1
            colon = _COLON.match(text, hit + len(needle))
            if colon is None or _previous_char(text, hit, start) not in ("{", ","):
                continue  # inside a string (an escaped quote before it), or a value, not a key
            index = bisect.bisect_right(checkpoints, hit) - 1
            checkpoint = checkpoints[index]
            begin = start + 1 if checkpoint == start else checkpoint
            if not _stays_at_top(text, begin, hit):
                continue
            checkpoints.insert(index + 1, hit)
            members.setdefault(key, (hit, colon.end()))
            return members[key]
        return None

    def _items(self, start: int) -> list[int]:
        items = self._arrays.get(start)
        if items is None:
            items = []
            text = self._text
            offset = self._ws(start + 1)
            while not text.startswith("]", offset):
                items.append(offset)
                _, offset = _SKIPPER(text, offset)
                offset = self._ws(offset)
                if text.startswith(",", offset):
                    offset = self._ws(offset + 1)
            self._arrays[start] = items
        return items

    def locate(self, pointer: Pointer) -> tuple[int, int, int] | None:
        text = self._text
        offset = self._ws(0)
        if offset >= len(text):
            return None
        position = offset
        found = 0
        for step in pointer:
            if isinstance(step, str) and text.startswith("{", offset):
                member = self._member(offset, step)
                if member is None:
                    break
                position, offset = member
            elif isinstance(step, int) and not isinstance(step, bool) and text.startswith("[", offset):
                items = self._items(offset)
                if not 0 <= step < len(items):
                    break
                position = offset = items[step]
            else:
                break
            found += 1
        return (found, *self._lines(position))


def _duplicate_key_offset(text: str, key: str) -> int | None:
    """The offset of the second occurrence of ``key`` in one object (error path only: walks every object)."""
    source = JsonSource(text)
    stack = [source._ws(0)]
    while stack:
        offset = stack.pop()
        if text.startswith("{", offset):
            seen: set[str] = set()
            position = source._ws(offset + 1)
            while not text.startswith("}", position):
                name, after = _scanstring(text, position + 1)
                if name in seen and name == key:
                    return position
                seen.add(name)
                value = source._ws(source._ws(after) + 1)
                stack.append(value)
                _, position = _SKIPPER(text, value)
                position = source._ws(position)
                if text.startswith(",", position):
                    position = source._ws(position + 1)
        elif text.startswith("[", offset):
            stack.extend(source._items(offset))
    return None


# ----------------------------------------------------------------------------------------------- YAML

#: Short-form tag -> long-form key.
SHORT_FORM_TAGS: dict[str, str] = {
    "Ref": "Ref",
    "Condition": "Condition",
    **{
        name: f"Fn::{name}"
        for name in (
            "Sub",
            "GetAtt",
            "Select",
            "GetAZs",
            "Join",
            "If",
            "ImportValue",
            "FindInMap",
            "Split",
            "Base64",
            "Cidr",
            "Equals",
            "Not",
            "And",
            "Or",
            "Transform",
            "Length",
            "ToJsonString",
        )
    },
}
_LONG_FORM_OF_TAG = {f"!{tag}": key for tag, key in SHORT_FORM_TAGS.items()}


_TOO_DEEP = f"nested more than {MAX_NESTING} levels deep (a real template nests about 20)"


class _BoundedComposer(Composer):
    """PyYAML's composer without anchors and aliases, and with a nesting limit (see the module docs)."""

    _nesting = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(AliasEvent):  # type: ignore[attr-defined]
            event = self.get_event()  # type: ignore[attr-defined]
            raise ComposerError(
                None,
                None,
                f"found the alias *{event.anchor}: CloudFormation templates have no YAML anchors or aliases",
                event.start_mark,
            )
        event = self.peek_event()  # type: ignore[attr-defined]
        if getattr(event, "anchor", None) is not None:
            raise ComposerError(
                None,
                None,
                f"found the anchor &{event.anchor}: CloudFormation templates have no YAML anchors or aliases",
                event.start_mark,
            )
        self._nesting += 1
        try:
            if self._nesting > MAX_NESTING:
                raise ComposerError(None, None, _TOO_DEEP, event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._nesting -= 1


class _CfnConstructor(SafeConstructor):
    """SafeConstructor with CloudFormation's rules: short-form intrinsics, no timestamps, unique keys,
    integers within Python's digit limit."""

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: dict[Any, Node] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node)
                except TypeError:
                    continue  # an unhashable key: SafeConstructor reports it
                if first is not key_node:
                    raise ConstructorError(
                        f"while constructing a mapping (first {_quote(str(key))} at line {first.start_mark.line + 1})",
                        node.start_mark,
                        f"found the duplicate key {_quote(str(key))} (CloudFormation rejects duplicate keys)",
                        key_node.start_mark,
                    )
        return super().construct_mapping(node, deep=deep)  # type: ignore[arg-type]

    def construct_yaml_int(self, node: ScalarNode) -> int:
        digits = sum(char.isdigit() for char in str(node.value))
        if digits > MAX_INTEGER_DIGITS:
            raise ConstructorError(
                None,
                None,
                f"found an integer of {digits:,} digits; at most {MAX_INTEGER_DIGITS:,} are accepted",
                node.start_mark,
            )
        return super().construct_yaml_int(node)


_CfnConstructor.add_constructor("tag:yaml.org,2002:int", _CfnConstructor.construct_yaml_int)  # type: ignore[type-var]


def _short_form_constructor(key: str) -> Any:
    def construct(loader: SafeConstructor, node: Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, ScalarNode):
            value = loader.construct_scalar(node)
            if key == "Fn::GetAtt" and isinstance(value, str):
                # `!GetAtt Resource.Attribute` is the short form of ["Resource", "Attribute"]; attributes
                # may themselves contain dots (Endpoint.Address), so split on the first one only.
                logical_id, _, attribute = value.partition(".")
                value = [logical_id, attribute] if attribute else value
        elif isinstance(node, SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {key: value}

    return construct


for _tag, _key in SHORT_FORM_TAGS.items():
    _CfnConstructor.add_constructor(f"!{_tag}", _short_form_constructor(_key))


class _CfnResolver(Resolver):
    """Timestamps are not converted: CloudFormation reads ``2010-09-09`` as a string, and so must we."""


_CfnResolver.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in Resolver.yaml_implicit_resolvers.items()
}


class CfnYamlLoader(
    yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, _BoundedComposer, _CfnConstructor, _CfnResolver
):
    """The pure-Python loader (used where PyYAML was built without libyaml)."""

    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        _BoundedComposer.__init__(self)
        _CfnConstructor.__init__(self)
        _CfnResolver.__init__(self)


if yaml.__with_libyaml__:
    from yaml.cyaml import CParser  # type: ignore[attr-defined]

    class _FastCfnYamlLoader(_BoundedComposer, CParser, _CfnConstructor, _CfnResolver):
        """libyaml's parser (C) under the bounded composer: events come from C, nodes from Python."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            _BoundedComposer.__init__(self)
            _CfnConstructor.__init__(self)
            _CfnResolver.__init__(self)

    _LOADER: type = _FastCfnYamlLoader
else:  # pragma: no cover - PyYAML wheels ship libyaml
    _LOADER = CfnYamlLoader


def _yaml_error(error: yaml.YAMLError) -> SourceError:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    context = getattr(error, "context", None)
    if context and "duplicate key" in str(problem):
        problem = f"{problem} {context.removeprefix('while constructing a mapping ')}"
    if mark is None:
        return SourceError(f"invalid YAML: {problem}")
    return SourceError(f"invalid YAML: {problem}", mark.line + 1, mark.column + 1)


def parse_yaml_document(text: str) -> tuple[Any, YamlSource]:
    """Parse CloudFormation YAML (short-form intrinsics become their long form) and keep its node marks."""
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        body = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as error:
        raise _yaml_error(error) from None
    except RecursionError:  # a construction path the composer's limit does not cover
        raise SourceError(f"invalid YAML: nested more than {MAX_NESTING} levels deep") from None
    finally:
        loader.dispose()
    return body, YamlSource(node)


def parse_yaml(text: str) -> Any:
    """Parse CloudFormation YAML (short-form intrinsics become their long form); raises :class:`SourceError`."""
    return parse_yaml_document(text)[0]


class YamlSource:
    """Positions in a YAML text: the composed nodes' marks. A short-form tag (``!GetAtt a.b``) stands for
    its long form (``{"Fn::GetAtt": ["a", "b"]}``), so the steps into it stay on the tagged node."""

    def __init__(self, root: Node | None) -> None:
        self._root = root
        self._keys: dict[int, dict[str, tuple[Node, Node]]] = {}

    def _entries(self, node: MappingNode) -> dict[str, tuple[Node, Node]]:
        entries = self._keys.get(id(node))
        if entries is None:
            entries = {}
            for key_node, value_node in node.value:
                if isinstance(key_node, ScalarNode):
                    entries.setdefault(str(key_node.value), (key_node, value_node))
            self._keys[id(node)] = entries
        return entries

    def locate(self, pointer: Pointer) -> tuple[int, int, int] | None:
        node = self._root
        if node is None:
            return None
        mark_node: Node = node
        found = 0
        steps = list(pointer)
        index = 0
        while index < len(steps):
            step = steps[index]
            long_form = _LONG_FORM_OF_TAG.get(node.tag)
            if long_form is not None and step == long_form:
                index += 1
                found += 1
                if isinstance(node, ScalarNode):  # `!GetAtt a.b`: the rest of the path is inside the scalar
                    found += len(steps) - index
                    break
                continue
            if isinstance(node, MappingNode) and isinstance(step, str):
                entry = self._entries(node).get(step)
                if entry is None:
                    break
                mark_node, node = entry
            elif isinstance(node, SequenceNode) and isinstance(step, int) and not isinstance(step, bool):
                if not 0 <= step < len(node.value):
                    break
                mark_node = node = node.value[step]
            else:
                break
            index += 1
            found += 1
        mark = mark_node.start_mark
        return found, mark.line + 1, mark.column + 1
