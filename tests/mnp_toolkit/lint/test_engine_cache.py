"""engine.per_template / engine.per_resource: whole-template and per-resource query caches, and the linear
lint they buy (work counted structurally, never timed)."""

from __future__ import annotations

import gc
import sys
import weakref
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

import mnp_toolkit
from mnp_toolkit.lint.cache import per_resource, per_template
from mnp_toolkit.lint.engine import lint_template
from mnp_toolkit.lint.packs import mnp_pack
from mnp_toolkit.lint.template import UNKNOWN, Resource, Template

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


# ---------------------------------------------------------------------- linear lint (structural, not timed)


def _unit(i: int) -> dict[str, Any]:
    """One self-contained MNP environment touching every indexed lookup: subnet -> association -> route
    table -> route, group <- standalone ingress/egress, launch template (by ID and, in an override, by
    name) -> CE, group -> CE, VPC endpoints of the unit's own VPC, queue -> CE, job definition."""
    u = f"U{i:04d}"
    return {
        f"{u}Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
        f"{u}Subnet": {
            "Type": "AWS::EC2::Subnet",
            "Properties": {"VpcId": {"Ref": f"{u}Vpc"}, "AvailabilityZone": {"Fn::Select": [0, {"Fn::GetAZs": ""}]}},
        },
        f"{u}RouteTable": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": f"{u}Vpc"}}},
        f"{u}Assoc": {
            "Type": "AWS::EC2::SubnetRouteTableAssociation",
            "Properties": {"RouteTableId": {"Ref": f"{u}RouteTable"}, "SubnetId": {"Ref": f"{u}Subnet"}},
        },
        f"{u}Route": {
            "Type": "AWS::EC2::Route",
            "Properties": {
                "RouteTableId": {"Ref": f"{u}RouteTable"},
                "DestinationCidrBlock": "10.1.0.0/16",
                "VpcPeeringConnectionId": "pcx-0123456789abcdef0",
            },
        },
        f"{u}Endpoint": {
            "Type": "AWS::EC2::VPCEndpoint",
            "Properties": {
                "VpcId": {"Ref": f"{u}Vpc"},
                "ServiceName": "com.amazonaws.us-east-1.ecr.api",
                "VpcEndpointType": "Interface",
            },
        },
        f"{u}Sg": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "nodes"}},
        f"{u}SgIn": {
            "Type": "AWS::EC2::SecurityGroupIngress",
            "Properties": {
                "GroupId": {"Fn::GetAtt": [f"{u}Sg", "GroupId"]},
                "IpProtocol": "-1",
                "SourceSecurityGroupId": {"Fn::GetAtt": [f"{u}Sg", "GroupId"]},
            },
        },
        f"{u}SgOut": {
            "Type": "AWS::EC2::SecurityGroupEgress",
            "Properties": {"GroupId": {"Ref": f"{u}Sg"}, "IpProtocol": "-1", "CidrIp": "0.0.0.0/0"},
        },
        f"{u}LaunchTemplate": {
            "Type": "AWS::EC2::LaunchTemplate",
            "Properties": {
                "LaunchTemplateName": f"{u}-lt",
                "LaunchTemplateData": {"MetadataOptions": {"HttpTokens": "optional"}},
            },
        },
        f"{u}Ce": {
            "Type": "AWS::Batch::ComputeEnvironment",
            "Properties": {
                "Type": "MANAGED",
                "ComputeResources": {
                    "Type": "EC2",
                    "MinvCpus": 0,
                    "MaxvCpus": 720,  # fits every unit's job definition but unit 0's (MNP004: one finding per CE)
                    "InstanceTypes": ["c5n.18xlarge"],
                    "Subnets": [{"Ref": f"{u}Subnet"}],
                    "SecurityGroupIds": [{"Ref": f"{u}Sg"}],
                    "LaunchTemplate": {
                        "LaunchTemplateId": {"Ref": f"{u}LaunchTemplate"},
                        "Overrides": [{"LaunchTemplateName": f"{u}-lt", "TargetInstanceTypes": ["c5n.18xlarge"]}],
                    },
                },
            },
        },
        f"{u}Queue": {
            "Type": "AWS::Batch::JobQueue",
            "Properties": {
                "Priority": 1,
                "ComputeEnvironmentOrder": [{"ComputeEnvironment": {"Ref": f"{u}Ce"}, "Order": 1}],
            },
            "Metadata": {"mnp:queue": True},
        },
        f"{u}JobDefinition": {
            "Type": "AWS::Batch::JobDefinition",
            "Properties": {
                "Type": "multinode",
                "NodeProperties": {
                    "MainNode": 0,
                    "NumNodes": 20 if i == 0 else 2,
                    "NodeRangeProperties": [
                        {"TargetNodes": "0:", "Container": {"Image": "x", "InstanceType": "c5n.18xlarge"}}
                    ],
                },
            },
        },
    }


def _template(units: int) -> Template:
    resources: dict[str, Any] = {}
    for i in range(units):
        resources.update(_unit(i))
    return Template({"Resources": resources}, path=f"linear-{units}")


_TOOLKIT = str(Path(mnp_toolkit.__file__).parent)


@dataclass
class _Work:
    """What one lint did: lines of toolkit code executed per function (every loop iteration counts),
    resources handed out by ``Template.of_type`` (a rule scanning a whole type for each resource it checks
    shows up here), and the rule IDs found (so a test knows the rules really ran)."""

    lines: Counter[str] = field(default_factory=Counter)
    scanned: int = 0
    rules: set[str] = field(default_factory=set)


def _work(units: int, monkeypatch: pytest.MonkeyPatch) -> _Work:
    work = _Work()
    original_of_type = Template.of_type

    def counting_of_type(self: Template, resource_type: str) -> list[Resource]:
        found = original_of_type(self, resource_type)
        work.scanned += len(found)
        return found

    def trace_toolkit(frame: FrameType, event: str, arg: Any) -> Any:
        if not frame.f_code.co_filename.startswith(_TOOLKIT):
            return None
        where = f"{Path(frame.f_code.co_filename).name}:{frame.f_code.co_name}"

        def count_line(frame: FrameType, event: str, arg: Any) -> Any:
            if event == "line":
                work.lines[where] += 1
            return count_line

        return count_line

    template = _template(units)
    previous = sys.gettrace()  # e.g. coverage's tracer: put back afterwards
    with monkeypatch.context() as patch:
        patch.setattr(Template, "of_type", counting_of_type)
        sys.settrace(trace_toolkit)
        try:
            findings = lint_template(template, mnp_pack().rules)
        finally:
            sys.settrace(previous)
    work.rules = {finding.rule for finding in findings}
    return work


def _super_linear(small: int, middle: int, large: int) -> bool:
    """Counts for N, 2N and 4N units: linear work grows by the same factor (2) from N to 2N as from 2N to
    4N; quadratic work by 4. The slack absorbs constant set-up that first shows at 2N."""
    return large - middle > 2.2 * (middle - small) + 10


def test_lint_work_grows_linearly_with_the_template(monkeypatch: pytest.MonkeyPatch) -> None:
    """Doubling the number of identical units must double the work, not quadruple it -- in every function.

    Counts, not timings. Per function, so a quadratic helper is caught even while the linear rest of the
    lint outweighs it at these sizes (and the failure names it).
    """
    small, middle, large = (_work(units, monkeypatch) for units in (10, 20, 40))
    # The units trip MNP004 (vCPUs: CEs paired with job definitions), MNP013 (no egress: routes and VPC
    # endpoints looked up) and MNP201 (IMDSv1: launch template -> CEs), so those lookups really ran.
    assert {"MNP004", "MNP013", "MNP201"} <= small.rules and small.rules == middle.rules == large.rules
    assert sum(small.lines.values()) > 0 and small.scanned > 0
    grew_too_fast = {
        where: (small.lines[where], middle.lines[where], large.lines[where])
        for where in large.lines
        if _super_linear(small.lines[where], middle.lines[where], large.lines[where])
    }
    assert grew_too_fast == {}
    assert not _super_linear(small.scanned, middle.scanned, large.scanned), (
        small.scanned,
        middle.scanned,
        large.scanned,
    )


def test_each_template_has_its_own_indexes() -> None:
    """Same logical IDs, different wiring: answers about one template never come from the other's cache."""
    from mnp_toolkit.lint.model.launch_templates import compute_environments_using
    from mnp_toolkit.lint.model.network import route_tables_of
    from mnp_toolkit.lint.model.security_groups import security_group_rules

    wired = _template(1)
    body = _unit(0)
    del body["U0000Assoc"], body["U0000SgIn"]
    body["U0000Ce"]["Properties"]["ComputeResources"].pop("LaunchTemplate")
    unwired = Template({"Resources": body}, path="unwired")

    for _ in range(2):  # the second round answers from the caches
        assert [ce.logical_id for ce in compute_environments_using(wired.resources["U0000LaunchTemplate"])] == [
            "U0000Ce"
        ]
        assert compute_environments_using(unwired.resources["U0000LaunchTemplate"]) == []
        tables = route_tables_of(wired.resources["U0000Subnet"])
        assert [table.logical_id for table in tables] == ["U0000RouteTable"]
        assert route_tables_of(unwired.resources["U0000Subnet"]) is UNKNOWN
        sources = [rule.source.logical_id for rule in security_group_rules(wired.resources["U0000Sg"], "ingress")]
        assert sources == ["U0000SgIn"]
        assert security_group_rules(unwired.resources["U0000Sg"], "ingress") == []
