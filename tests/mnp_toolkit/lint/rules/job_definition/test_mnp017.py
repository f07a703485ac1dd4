"""MNP017: RetryStrategy.Attempts between 1 and 10."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.templates import errors_or_warnings, findings_for, mnp_environment, props


def _with_attempts(attempts: Any) -> dict[str, Any]:
    template = mnp_environment()
    props(template, "JobDefinition")["RetryStrategy"] = {"Attempts": attempts}
    return template


@pytest.mark.parametrize("attempts", [1, 10, "3"])
def test_valid_attempts_pass(attempts: Any) -> None:
    assert findings_for("MNP017", _with_attempts(attempts)) == []


@pytest.mark.parametrize(("attempts", "shown"), [(0, "Attempts 0"), (11, "Attempts 11"), ("many", '"many"')])
def test_invalid_attempts_fail(attempts: Any, shown: str) -> None:
    found = errors_or_warnings("MNP017", _with_attempts(attempts))
    assert [(f.rule, f.level.value) for f in found] == [("MNP017", "error")]
    assert shown in found[0].message and "MnpStack/JobDefinition/Resource" in found[0].message


def test_absent_retry_strategy_or_attempts_is_fine() -> None:
    template = mnp_environment()
    del props(template, "JobDefinition")["RetryStrategy"]
    assert findings_for("MNP017", template) == []
    props(template, "JobDefinition")["RetryStrategy"] = {"EvaluateOnExit": [{"Action": "EXIT", "OnReason": "*"}]}
    assert findings_for("MNP017", template) == []


def test_unresolvable_attempts_is_info_not_error() -> None:
    assert [f.level.value for f in findings_for("MNP017", _with_attempts({"Ref": "Attempts"}))] == ["info"]


def test_container_job_definitions_are_out_of_scope() -> None:
    template = _with_attempts(11)
    props(template, "JobDefinition")["Type"] = "container"
    assert findings_for("MNP017", template) == []
