"""The constructs' own output passes the toolkit's rule pack (mnp_toolkit) with no finding at all.

This ties the two halves of the toolkit together: a rule that starts flagging what the constructs build is
either a false positive in the rule or a gap in the constructs, and this test names which resource.
"""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Template as CdkTemplate

from constructs_lib import (
    ClusterPlacementGroup,
    MnpComputeEnvironment,
    MnpJobDefinition,
    MnpJobQueue,
    MnpNetwork,
    NodeGroup,
)
from mnp_toolkit.lint.engine import lint_template
from mnp_toolkit.lint.packs import mnp_pack
from mnp_toolkit.lint.template import Template
from tests.helpers.cdk_app import cdk_app


def _environment(app: App, name: str, instance_type: str, *, efa: bool, gpus: int) -> Stack:
    stack = Stack(app, name)
    network = MnpNetwork(stack, "Net")
    group = ClusterPlacementGroup(stack, "Pg")
    jd = MnpJobDefinition(
        stack,
        "Jd",
        image="public.ecr.aws/example/mpi:1",
        instance_type=instance_type,
        num_nodes=4,
        gpus=gpus,
        efa=efa,
        retry_attempts=2,
        node_groups=[NodeGroup(target_nodes="0:"), NodeGroup(target_nodes="0", command=["main"])],
    )
    ce = MnpComputeEnvironment(
        stack,
        "Ce",
        vpc=network.vpc,
        subnets=network.compute_subnets(),
        instance_types=[instance_type],
        placement_group=group.placement_group,
        job_definitions=[jd],
        efa=efa,
    )
    MnpJobQueue(stack, "Queue", compute_environments=[ce])
    return stack


@pytest.fixture(scope="module")
def synth() -> dict[str, Any]:
    app = cdk_app()
    plain = _environment(app, "Plain", "c5n.18xlarge", efa=False, gpus=0)
    efa = _environment(app, "Efa", "p4d.24xlarge", efa=True, gpus=8)
    return {"plain": CdkTemplate.from_stack(plain).to_json(), "efa": CdkTemplate.from_stack(efa).to_json()}


@pytest.mark.parametrize("variant", ["plain", "efa"])
def test_constructs_raise_no_finding(synth: dict[str, Any], variant: str) -> None:
    rules = mnp_pack().rules
    assert rules, "the rule pack is empty"
    findings = lint_template(Template(synth[variant], path=variant), rules)
    assert [(f.rule, f.resource, f.message) for f in findings] == []
