"""What every section of the config shares: the strict base model (:class:`_Model`), :class:`ConfigError`,
the error type of a rule the JSON Schema carries too (:data:`SCHEMA_RULE`), and the field types more than
one section uses (names, lists of distinct entries, log retention, KMS key ARNs)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Annotated, Any, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"


Name = Annotated[
    str,
    Field(pattern=_NAME_PATTERN, description="Letters, digits, '-' and '_', starting with a letter (max 64)."),
]


def _unique(values: list[Any] | None) -> list[Any] | None:
    if values is not None and len(set(values)) != len(values):
        repeated = sorted({str(value) for value in values if values.count(value) > 1})
        raise schema_rule(f"lists {', '.join(repeated)} twice; list each once")
    return values


#: A list whose entries must differ (JSON Schema ``uniqueItems``).
UNIQUE_ITEMS: dict[str, Any] = {"uniqueItems": True}


#: Retention periods CloudWatch Logs accepts (days).
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)


#: The error type of a check that ``config/schema.json`` states too (an enum, a pattern, a bound), so an
#: editor validating against the schema refuses the same value. Checks the schema cannot express (across
#: fields, or MNP semantics) raise plain ``ValueError``; tests/mnp_toolkit/config/test_config_schema.py
#: checks that every error of this type is an error for the schema too.
SCHEMA_RULE = "schema_rule"


def schema_rule(message: str) -> PydanticCustomError:
    """An error for a rule the JSON Schema also carries (see :data:`SCHEMA_RULE`)."""
    return PydanticCustomError(SCHEMA_RULE, message)


def _retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        raise schema_rule(f"CloudWatch Logs accepts only {', '.join(map(str, LOG_RETENTION_DAYS))} days")
    return value


RetentionDays = Annotated[
    int, AfterValidator(_retention), WithJsonSchema({"type": "integer", "enum": list(LOG_RETENTION_DAYS)})
]


class ConfigError(Exception):
    """A config file that cannot be used; ``str()`` is a readable, multi-line explanation."""


KMS_KEY_ARN_PATTERN = r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]{1,128}$"


def _is_integer_field(annotation: Any) -> bool:
    """``int``, ``int | None`` or an ``Annotated`` int: a field JSON Schema types as ``integer``."""
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if annotation is int:
        return True
    others = [arg for arg in get_args(annotation) if arg is not type(None)]
    return len(others) == 1 and len(get_args(annotation)) == 2 and _is_integer_field(others[0])


@cache
def _integer_fields(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(name for name, field in model.model_fields.items() if _is_integer_field(field.annotation))


class _Model(BaseModel):
    """Strict types, as ``config/schema.json`` states them: ``num_nodes: true`` or ``"4"``, ``flow_logs:
    "off"`` and ``watchdog: "n"`` are errors, not 1 node, four nodes or False. Strings are taken as written
    (no stripping: a command argument keeps its blanks; a name with a stray blank is an error)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    @model_validator(mode="before")
    @classmethod
    def _json_integers(cls, data: Any) -> Any:
        # JSON Schema's "integer" is any number with a zero fractional part (4.0 is the integer 4), so an
        # editor accepts `num_nodes: 4.0`; strict pydantic would not. Only such floats become ints here;
        # 4.5, true and "4" stay errors for both.
        if not isinstance(data, Mapping):
            return data
        fields = _integer_fields(cls)
        return {
            key: int(value) if key in fields and type(value) is float and value.is_integer() else value
            for key, value in data.items()
        }
