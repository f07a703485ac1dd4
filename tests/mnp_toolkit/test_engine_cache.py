"""engine.per_template / engine.per_resource: whole-template and per-resource query caches."""

from __future__ import annotations

import gc
import weakref

from mnp_toolkit.engine import per_resource, per_template
from mnp_toolkit.template import Resource, Template

BODY = {"Resources": {"A": {"Type": "AWS::Batch::JobQueue"}, "B": {"Type": "AWS::Batch::JobQueue"}}}


def test_per_template_answers_once_per_template() -> None:
    calls: list[str] = []

    @per_template
    def queue_ids(template: Template) -> list[str]:
        calls.append(template.path)
        return sorted(template.resources)

    first, second = Template(BODY, path="one"), Template(BODY, path="two")
    assert queue_ids(first) == queue_ids(first) == ["A", "B"]
    assert queue_ids(second) == ["A", "B"]
    assert calls == ["one", "two"]


def test_per_resource_answers_once_per_resource_of_each_template() -> None:
    calls: list[tuple[str, str]] = []

    @per_resource
    def label(resource: Resource) -> str:
        calls.append((resource.template.path, resource.logical_id))
        return resource.logical_id.lower()

    one, two = Template(BODY, path="one"), Template(BODY, path="two")
    assert [label(r) for r in one] * 2 == ["a", "b", "a", "b"]
    assert label(two.resources["A"]) == "a"
    assert calls == [("one", "A"), ("one", "B"), ("two", "A")]


def test_caches_do_not_keep_templates_alive() -> None:
    """Answers hold Resources, which point back to their template: the cache must not pin it."""

    @per_template
    def queues(template: Template) -> list[Resource]:
        return list(template)

    @per_resource
    def same(resource: Resource) -> Resource:
        return resource

    template = Template(BODY, path="gone")
    assert len(queues(template)) == 2 and same(template.resources["A"]).logical_id == "A"
    alive = weakref.ref(template)
    del template
    gc.collect()
    assert alive() is None
