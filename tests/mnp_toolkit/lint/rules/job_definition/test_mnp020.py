"""MNP020: the rendered job definition is at most 24 KiB."""

from __future__ import annotations

import json
from typing import Any

from mnp_toolkit.lint.rules.job_definition.mnp020_job_definition_too_large import (
    MAX_JOB_DEFINITION_BYTES,
    rendered_size,
)
from mnp_toolkit.lint.template import Template
from tests.helpers.templates import errors_or_warnings, findings_for, mnp_environment, props


def _container(template: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = props(template, "JobDefinition")["NodeProperties"]["NodeRangeProperties"][0][
        "Container"
    ]
    return container


def _padded_to(total: int) -> dict[str, Any]:
    """The compliant template with an environment variable that makes it render to ``total`` bytes."""
    template = mnp_environment()
    props(template, "JobDefinition")["JobDefinitionName"] = "mnp-job"
    _container(template)["Environment"] = [{"Name": "PAD", "Value": ""}]
    size = rendered_size(Template(template).resources["JobDefinition"])
    assert size is not None and size[1] == 0
    _container(template)["Environment"][0]["Value"] = "x" * (total - size[0])
    return template


def test_exactly_24_kib_passes() -> None:
    template = _padded_to(MAX_JOB_DEFINITION_BYTES)
    assert rendered_size(Template(template).resources["JobDefinition"]) == (MAX_JOB_DEFINITION_BYTES, 0)
    assert findings_for("MNP020", template) == []


def test_one_byte_more_fails() -> None:
    found = errors_or_warnings("MNP020", _padded_to(MAX_JOB_DEFINITION_BYTES + 1))
    assert [(f.rule, f.level.value) for f in found] == [("MNP020", "error")]
    assert "24,577 bytes" in found[0].message and "MnpStack/JobDefinition/Resource" in found[0].message


def test_size_counts_multibyte_characters_as_utf8() -> None:
    template = _padded_to(MAX_JOB_DEFINITION_BYTES - 2)
    _container(template)["Environment"][0]["Value"] = _container(template)["Environment"][0]["Value"][:-1] + "é"
    # one 'x' (1 byte) became 'é' (2 bytes): still 1 byte under
    assert findings_for("MNP020", template) == []


def test_rendering_is_compact_json_with_api_keys() -> None:
    template = mnp_environment()
    props(template, "JobDefinition")["JobDefinitionName"] = "j"
    props(template, "JobDefinition")["ResourceRetentionPolicy"] = {"SkipDeregisterOnUpdate": True}
    size = rendered_size(Template(template).resources["JobDefinition"])
    assert size is not None
    expected = {k: v for k, v in props(template, "JobDefinition").items() if k != "ResourceRetentionPolicy"}
    assert size == (len(json.dumps(expected, separators=(",", ":"))), 0)


def test_unresolved_values_near_the_limit_are_info() -> None:
    template = _padded_to(MAX_JOB_DEFINITION_BYTES - 100)
    _container(template)["JobRoleArn"] = {"Fn::GetAtt": ["ComputeEnvironment", "Arn"]}
    assert [f.level.value for f in findings_for("MNP020", template)] == ["info"]


def test_unresolved_values_far_below_the_limit_pass() -> None:
    template = mnp_environment()
    _container(template)["JobRoleArn"] = {"Fn::GetAtt": ["ComputeEnvironment", "Arn"]}
    assert findings_for("MNP020", template) == []


def test_over_the_limit_even_without_unresolved_values_is_an_error() -> None:
    template = _padded_to(MAX_JOB_DEFINITION_BYTES + 10)
    _container(template)["JobRoleArn"] = {"Fn::ImportValue": "Role"}
    found = errors_or_warnings("MNP020", template)
    assert len(found) == 1 and "at least" in found[0].message
