"""MNP105 (warning): an MNP queue should cancel jobs stuck in RUNNABLE."""

import pytest

from mnp_toolkit.lint.packs import mnp_pack
from tests.helpers.templates import errors_or_warnings, findings_for, mnp_environment, props, resources


@pytest.mark.parametrize("state", ["RUNNABLE", "runnable"])
def test_runnable_action_is_compliant(state: str) -> None:
    template = mnp_environment()
    props(template, "JobQueue")["JobStateTimeLimitActions"][0]["State"] = state
    assert findings_for("MNP105", template) == []


def test_no_actions_is_a_warning() -> None:
    template = mnp_environment()
    del props(template, "JobQueue")["JobStateTimeLimitActions"]
    found = errors_or_warnings("MNP105", template)
    assert [(f.rule, f.level.value, f.resource) for f in found] == [("MNP105", "warning", "JobQueue")]
    assert "MnpStack/JobQueue" in found[0].message and "RUNNABLE" in found[0].message
    assert "mnp:queue" not in found[0].message  # the queue is marked


def test_action_for_another_state_is_a_warning() -> None:
    template = mnp_environment()
    props(template, "JobQueue")["JobStateTimeLimitActions"][0]["State"] = "STARTING"
    assert len(errors_or_warnings("MNP105", template)) == 1


def test_unresolvable_actions_are_info() -> None:
    template = mnp_environment()
    props(template, "JobQueue")["JobStateTimeLimitActions"] = {"Fn::If": ["Cancel", [], []]}
    assert [f.level.value for f in findings_for("MNP105", template)] == ["info"]


def test_unresolvable_state_is_info() -> None:
    template = mnp_environment()
    props(template, "JobQueue")["JobStateTimeLimitActions"][0]["State"] = {"Fn::ImportValue": "State"}
    assert [f.level.value for f in findings_for("MNP105", template)] == ["info"]


def test_implicit_mnp_queue_message_says_how_to_mark_queues() -> None:
    template = mnp_environment()
    del resources(template)["JobQueue"]["Metadata"]["mnp:queue"]
    del props(template, "JobQueue")["JobStateTimeLimitActions"]
    found = errors_or_warnings("MNP105", template)
    assert len(found) == 1 and "mnp:queue" in found[0].message


def test_queue_is_not_mnp_without_marks_or_mnp_job_definitions() -> None:
    template = mnp_environment()
    del resources(template)["JobQueue"]["Metadata"]["mnp:queue"]
    del resources(template)["JobDefinition"]
    del props(template, "JobQueue")["JobStateTimeLimitActions"]
    assert findings_for("MNP105", template) == []


def test_rule_matches_the_catalog() -> None:
    rule = mnp_pack()["MNP105"]
    assert (rule.level.value, rule.resource_type) == ("warning", "AWS::Batch::JobQueue")
    assert rule.source.startswith("https://docs.aws.amazon.com/")
    assert rule.info and rule.explanation and rule.fix


def test_malformed_actions_are_info_not_a_traceback() -> None:
    template = mnp_environment()
    props(template, "JobQueue")["JobStateTimeLimitActions"] = "RUNNABLE"
    found = findings_for("MNP105", template)
    assert [f.level.value for f in found] == ["info"] and "not a list" in found[0].message
