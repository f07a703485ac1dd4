"""Reading a config file: YAML to :class:`MnpConfig`, every problem one :class:`ConfigError` naming file and field."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    ValidationError,
)

from mnp_toolkit.config.model import ConfigError, MnpConfig


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


def format_validation_error(error: ValidationError, *, source: str) -> str:
    problems: list[str] = []
    for item in error.errors(include_url=False):
        message = item["msg"].removeprefix("Value error, ")
        where = _location(item["loc"])
        if item["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; see docs/config.md for the allowed keys)"
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
    header = f"{source}: {len(problems)} problem{'' if len(problems) == 1 else 's'} in the MNP config:"
    return "\n".join([header, *(f"  - {problem}" for problem in problems)])


def parse_config(data: Any, *, source: str = "<config>") -> MnpConfig:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: the config must be a YAML mapping (key: value), got {type(data).__name__}")
    try:
        return MnpConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(format_validation_error(error, source=source)) from None


def load_config(path: str | Path) -> MnpConfig:
    """Read and validate a config file; every problem is a :class:`ConfigError` naming file and field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the config file ({error.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{path}: invalid YAML{where}: {problem}") from None
    return parse_config(data, source=str(path))
