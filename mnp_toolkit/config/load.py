"""Reading a config file: YAML to :class:`MnpConfig`, every problem one :class:`ConfigError` naming file and field."""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from mnp_toolkit.config.model import (
    ComputeEnvironmentConfig,
    ConfigError,
    Environment,
    ExistingNetwork,
    JobDefinitionConfig,
    JobQueueConfig,
    MnpConfig,
    Network,
    NewNetwork,
    cross_section_problems,
    unknown_key_message,
)
from mnp_toolkit.files import FileRefused, read_regular_file


def _location(loc: Sequence[Any]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part in {"new", "existing"} and text == "network":
            continue  # the discriminated-union tag pydantic inserts
        else:
            text += ("." if text else "") + str(part)
    return text or "(top level)"


#: A problem line of a cross-field check that names its field relative to the model it checks.
_RELATIVE_FIELD = re.compile(r"^[a-z_]+(?:\[\d+\])?(?:\.[a-z_]+(?:\[\d+\])?)*: ")


def format_validation_error(error: ValidationError, *, source: str, also: Sequence[str] = ()) -> str:
    """Every problem of ``error`` on its own line naming its field, then the problems in ``also`` (lines
    found beside it, such as :func:`cross_section_problems` on the entries that did validate)."""
    problems: list[str] = []
    for item in error.errors(include_url=False):
        message = item["msg"].removeprefix("Value error, ")
        where = _location(item["loc"])
        if item["type"] == "extra_forbidden":
            message = unknown_key_message(item["loc"])
        elif item["type"] == "missing":
            message = "required field is missing"
        got = item.get("input")
        quiet = item["type"] in {"missing", "extra_forbidden"} or isinstance(got, dict | list)
        shown = "" if quiet else f" (got {got!r})"
        if not item["loc"]:
            # Top-level cross-field checks name their own field paths; "(top level)" would only add noise.
            problems.extend(message.splitlines())
        elif "\n" in message or _RELATIVE_FIELD.match(message):
            # A model's cross-field checks name fields relative to it: `job_definitions[0]` + `.main_node: ...`
            problems.extend(
                f"{where}.{line}" if _RELATIVE_FIELD.match(line) else f"{where}: {line}"
                for line in message.splitlines()
            )
        else:
            problems.append(f"{where}: {message}{shown}")
    problems += [line for line in also if line not in problems]
    header = f"{source}: {len(problems)} problem{'' if len(problems) == 1 else 's'} in the MNP config:"
    return "\n".join([header, *(f"  - {problem}" for problem in problems)])


def parse_config(data: Any, *, source: str = "<config>") -> MnpConfig:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: the config must be a YAML mapping (key: value), got {type(data).__name__}")
    try:
        return MnpConfig.model_validate(data)
    except ValidationError as error:
        also = _checks_beside(data, error)
        raise ConfigError(format_validation_error(error, source=source, also=also)) from None


#: The list sections whose entries are checked one by one when the whole config fails validation.
_LIST_SECTIONS: tuple[tuple[str, type[BaseModel]], ...] = (
    ("compute_environments", ComputeEnvironmentConfig),
    ("job_queues", JobQueueConfig),
    ("job_definitions", JobDefinitionConfig),
)


def _checks_beside(data: Mapping[str, Any], error: ValidationError) -> list[str]:
    """The cross-section checks (references, sizing, Region and AZs) on what did validate.

    pydantic runs a model's own checks only once all its fields are valid, so a single typo in one job
    definition would hide that a queue names an unknown compute environment. Each section and list entry
    is validated on its own here, and :func:`cross_section_problems` runs on the valid ones (a failed
    entry's name still counts as defined). Nothing is added when those checks already ran (an error at the
    top level) or when a list section itself is missing or not a list."""
    if any(not item["loc"] for item in error.errors(include_url=False)):
        return []
    sections: dict[str, list[Any]] = {}
    unchecked: dict[str, set[str]] = {}
    for key, model in _LIST_SECTIONS:
        raw = data.get(key, [] if key == "job_definitions" else None)
        if not isinstance(raw, list):
            return []
        entries: list[Any] = []
        for item in raw:
            try:
                entries.append(model.model_validate(item))
            except ValidationError:
                entries.append(None)
                name = item.get("name") if isinstance(item, Mapping) else None
                if isinstance(name, str):
                    unchecked.setdefault(key, set()).add(name)
        sections[key] = entries
    env: Environment | None
    network: NewNetwork | ExistingNetwork | None
    try:
        env = Environment.model_validate(data.get("env", {}))
    except ValidationError:
        env = None
    try:
        network = _NETWORK.validate_python(data.get("network", {}))
    except ValidationError:
        network = None
    return cross_section_problems(
        env=env,
        network=network,
        compute_environments=sections["compute_environments"],
        job_queues=sections["job_queues"],
        job_definitions=sections["job_definitions"],
        unchecked_names=unchecked,
    )


_NETWORK: TypeAdapter[NewNetwork | ExistingNetwork] = TypeAdapter(Network)


#: The largest config file read. An MNP config is a few KB (the shipped ones are under 2 KB); 1 MiB
#: leaves room for hundreds of job definitions with long commands, and bounds what YAML parsing costs.
MAX_CONFIG_BYTES = 1024 * 1024
#: How deeply mappings and sequences may nest; the schema itself needs 6 levels. PyYAML composes a node
#: per level recursively, so 5,000 levels of ``[[[...`` would end in a RecursionError.
MAX_NESTING = 64
#: Values in the document once YAML aliases are expanded: nine aliases to a list of nine aliases, nine
#: levels deep, make 387 million values out of a few hundred bytes.
MAX_VALUES = 100_000

# UTF-32 first: its little-endian mark begins with UTF-16's.
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def _position(text: str) -> tuple[int, int]:
    """Line and column (1-based) just after `text`, the part of a file before some position."""
    return text.count("\n") + 1, len(text) - (text.rfind("\n") + 1) + 1


def _read_bytes(path: Path) -> bytes:
    try:
        return read_regular_file(path, limit=MAX_CONFIG_BYTES)
    except FileRefused as refused:
        if refused.kind == "directory":
            raise ConfigError(f"{path}: is a directory, not a config file") from None
        if refused.kind in ("special", "changed"):
            raise ConfigError(f"{path}: not a regular file (a FIFO, socket or device); name the config file") from None
        raise ConfigError(
            f"{path}: the file is larger than {MAX_CONFIG_BYTES // (1024 * 1024)} MiB, and an MNP config is a "
            "few KB: check that the path names the config file"
        ) from None
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the config file ({error.strerror or error})") from None
    except ValueError:  # an embedded NUL byte
        raise ConfigError(f"{path}: not a valid file name") from None


def _decode(data: bytes, path: Path) -> str:
    """The file as text: UTF-8 (a UTF-8 byte-order mark is allowed); anything else is one clear error."""
    for bom, encoding in _WIDE_BOMS:
        if data.startswith(bom):
            raise ConfigError(
                f"{path}: the file is {encoding} text (it starts with a {encoding} byte-order mark): save it as UTF-8"
            )
    nul = data.find(b"\x00")
    if nul >= 0:
        line, column = _position(data[:nul].decode("utf-8", "replace"))
        raise ConfigError(
            f"{path}: NUL byte at line {line}, column {column}: the file is binary, or UTF-16/UTF-32 without a "
            "byte-order mark; save the config as UTF-8 text"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line, column = _position(data[: error.start].decode("utf-8", "replace"))
        raise ConfigError(
            f"{path}: not UTF-8 text: byte 0x{data[error.start]:02x} at line {line}, column {column} is not "
            "valid UTF-8 (Latin-1 or Windows-1252 perhaps); save the file as UTF-8"
        ) from None


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader with nesting bounded while composing, and oversized integers refused.

    PyYAML's scanner and parser are state machines, but its composer recurses once per level, so the
    bound is checked there, before Python's recursion limit is reached.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_NESTING:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"values nest more than {MAX_NESTING} levels deep (an MNP config needs a handful)",
                    self.peek_event().start_mark,
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """A key written twice in one mapping is an error: YAML 1.2 requires keys to be unique and PyYAML
        would silently keep the last value. Keys a merge (``<<``) brings in may be overridden, as YAML says."""
        if isinstance(node, yaml.MappingNode):
            first: dict[Any, yaml.Node] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    earlier = first.setdefault(key, key_node)
                except TypeError:  # an unhashable key: SafeLoader's own error says so below
                    continue
                if earlier is not key_node:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f'duplicate key "{key}" (first at line {earlier.start_mark.line + 1}): YAML keeps only the '
                        "last one, so remove the other",
                        key_node.start_mark,
                    )
        return super().construct_mapping(node, deep)


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    """YAML integers as SafeLoader reads them, but one of thousands of digits is an error with its place:
    Python refuses to convert more than 4,300 digits (ValueError), and no config value comes close."""
    try:
        value: int = yaml.SafeLoader.construct_yaml_int(loader, node)
    except ValueError:
        raise yaml.constructor.ConstructorError(
            None,
            None,
            f"an integer of {len(str(node.value))} characters is far larger than any config value",
            node.start_mark,
        ) from None
    return value


_BoundedLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def _construct_bool(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> bool:
    """Only ``true``/``false`` are booleans. PyYAML follows YAML 1.1, which also reads yes/no/on/off as
    booleans; YAML 1.2 (what editors validating against config/schema.json use) reads them as strings,
    which the schema refuses. One spelling for both, so `flow_logs: off` is not silently false."""
    if str(node.value).lower() not in {"true", "false"}:
        raise yaml.constructor.ConstructorError(
            None,
            None,
            f"{node.value!r} is a boolean only in YAML 1.1 (a string in YAML 1.2): write true or false",
            node.start_mark,
        )
    value: bool = yaml.SafeLoader.construct_yaml_bool(loader, node)
    return value


_BoundedLoader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a document whose aliases expand to more than MAX_VALUES values, or refer to themselves."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise yaml.composer.ComposerError(
                None, None, "an alias refers to a value that contains it (a cycle)", node.start_mark
            )
        total = 1
        if isinstance(node, yaml.SequenceNode | yaml.MappingNode):
            open_nodes.add(key)
            children = node.value if isinstance(node, yaml.SequenceNode) else [n for pair in node.value for n in pair]
            for child in children:
                total += size(child)
                if total > MAX_VALUES:
                    raise yaml.composer.ComposerError(
                        None,
                        None,
                        f"the aliases expand to more than {MAX_VALUES:,} values (an MNP config has a few hundred)",
                        node.start_mark,
                    )
            open_nodes.discard(key)
        sizes[key] = total
        return total

    size(root)


def _parse_yaml(text: str) -> Any:
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _yaml_problem(error: yaml.YAMLError, text: str) -> str:
    """Where and what, on one line, for any PyYAML error."""
    if isinstance(error, yaml.reader.ReaderError):
        line, column = _position(text[: error.position])
        character = error.character if isinstance(error.character, str) else chr(error.character)
        return f" at line {line}, column {column}: character U+{ord(character):04X} is not allowed in YAML"
    mark = getattr(error, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(error, "problem", None) or " ".join(str(error).split())
    return f"{where}: {problem}"


def load_config(path: str | Path) -> MnpConfig:
    """Read and validate a config file; every problem is a :class:`ConfigError` naming file and field.

    Hostile files end in a ConfigError too, in bounded time and memory: the size, the encoding
    (UTF-8 only), the nesting, the alias expansion and integer sizes are checked before validation.
    """
    path = Path(path)
    text = _decode(_read_bytes(path), path)
    try:
        data = _parse_yaml(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: invalid YAML{_yaml_problem(error, text)}") from None
    return parse_config(data, source=str(path))
