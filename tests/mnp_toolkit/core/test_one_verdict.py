"""One verdict: the config, the constructs and the rule pack agree on every generated job.

For each job spec (hypothesis): the core's verdicts (``check_job``) say which rules it breaks. Then
* the config (``parse_config``) rejects it exactly when the core has an error, and warns with the core's
  warnings otherwise;
* the construct (``MnpJobDefinition``) raises exactly when the core has an error, and otherwise its CDK
  warnings name the core's warning rules;
* the rule pack, on the job definition as a template renders it, reports exactly the core's error and
  warning rules (job-definition rules), for rejected and accepted jobs alike; and on what the construct
  synthesized, no error and the same warnings;
* the vCPUs a job needs are the same number for the config, the construct and MNP004.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from mnp_toolkit.config import ConfigError, parse_config
from mnp_toolkit.core import instance_types
from mnp_toolkit.core.job_spec import JobSpec, NodeGroupSpec, check_job, node_settings, required_vcpus
from mnp_toolkit.core.target_nodes import TargetNodesError, parse_target_nodes
from mnp_toolkit.lint.engine import lint_template
from mnp_toolkit.lint.packs import mnp_pack
from mnp_toolkit.lint.rules.compute_environment.mnp004_max_vcpus_below_job_needs import vcpu_need
from mnp_toolkit.lint.template import Template

pytestmark = pytest.mark.synth

JOB_DEFINITION_RULES = {rule.id for rule in mnp_pack().rules if rule.resource_type == "AWS::Batch::JobDefinition"}
#: Known types (with and without GPUs) and one the facts table does not know.
INSTANCE_TYPES = ("c5n.18xlarge", "g5.12xlarge", "m5.large", "zz9.metal")
WELL_FORMED = ["0:", ":1", "1:", "0", "1", "2", "0:1", "1:2", "2:", "0:2", "1:3", "3:", "4", ":"]
MALFORMED = ["a:b", "3:1", " 1:", "-1:", "", "1:2:3"]  # MNP009
#: Mostly well-formed ranges, so that accepted jobs (and their warnings) are common too.
TARGETS = st.sampled_from(WELL_FORMED * 8 + MALFORMED)


@st.composite
def job_specs(draw: st.DrawFn) -> JobSpec:
    instance_type = draw(st.sampled_from(INSTANCE_TYPES))
    facts = instance_types.lookup(instance_type)
    if facts is not None:
        # Around the instance's limits: unset (the whole instance), inside, at and just above them.
        vcpu_values = [None] * 6 + [1, facts.vcpus, facts.vcpus + 8, 0]
        memory_values = [None] * 6 + [4, facts.container_memory_mib, facts.schedulable_memory_mib + 1, 2]
        gpu_values = [0] * 6 + [facts.gpus, facts.gpus + 1]
    else:
        vcpu_values, memory_values, gpu_values = [4, 4, 4, None], [8192, 8192, 8192, None], [0, 1]
    group = st.builds(
        NodeGroupSpec,
        target_nodes=TARGETS,
        vcpus=st.sampled_from([None] * 3 + vcpu_values),
        memory_mib=st.sampled_from([None] * 3 + memory_values),
    )
    groups = draw(
        st.one_of(
            st.just([]),
            st.lists(group, min_size=1, max_size=2),
            st.lists(group, min_size=1, max_size=3),
            st.lists(group, min_size=5, max_size=6),
        )
    )
    if groups and draw(st.booleans()):
        groups.insert(0, NodeGroupSpec(target_nodes="0:"))  # a range over every node, the others nested in it
    return JobSpec(
        instance_type=instance_type,
        num_nodes=draw(st.sampled_from([2, 3, 4, 5, 6] * 4 + [1, 1000, 1001])),
        main_node=draw(st.sampled_from([0] * 10 + [1, 2, 5])),
        node_groups=tuple(groups[:6]),
        vcpus=draw(st.sampled_from(vcpu_values)),
        memory_mib=draw(st.sampled_from(memory_values)),
        gpus=draw(st.sampled_from(gpu_values)),
        retry_attempts=draw(st.sampled_from([1] * 5 + [3, 10, 11])),
    )


def _config(spec: JobSpec) -> dict[str, Any]:
    definition: dict[str, Any] = {
        "name": "job",
        "queue": "q",
        "image": "public.ecr.aws/amazonlinux/amazonlinux:2023",
        "instance_type": spec.instance_type,
        "num_nodes": spec.num_nodes,
        "main_node": spec.main_node,
        "gpus": spec.gpus,
        "retry_attempts": spec.retry_attempts,
    }
    if spec.vcpus is not None:
        definition["vcpus"] = spec.vcpus
    if spec.memory_mib is not None:
        definition["memory_mib"] = spec.memory_mib
    if spec.node_groups:
        definition["node_groups"] = [
            {
                key: value
                for key, value in (
                    ("target_nodes", group.target_nodes),
                    ("vcpus", group.vcpus),
                    ("memory_mib", group.memory_mib),
                )
                if value is not None
            }
            for group in spec.node_groups
        ]
    return {
        "compute_environments": [{"name": "ce", "instance_types": [spec.instance_type], "max_vcpus": 10**7}],
        "job_queues": [{"name": "q", "compute_environments": ["ce"]}],
        "job_definitions": [definition],
    }


def _rendered(target: str, num_nodes: int) -> str:
    """A TargetNodes as MnpJobDefinition renders it (open-ended where it reaches the last node)."""
    try:
        parsed = parse_target_nodes(target)
    except TargetNodesError:
        return target
    last = parsed.last_index(num_nodes)
    return f"{parsed.start}:" if last == num_nodes - 1 else f"{parsed.start}:{last}"


def _template(spec: JobSpec) -> dict[str, Any]:
    """The job definition as a CloudFormation template writes it (whether or not the toolkit accepts it)."""
    ranges = []
    for group in spec.groups:
        asks = node_settings(spec, group)
        requirements = []
        if asks.vcpus is not None:
            requirements.append({"Type": "VCPU", "Value": str(asks.vcpus)})
        if asks.memory_mib is not None:
            requirements.append({"Type": "MEMORY", "Value": str(asks.memory_mib)})
        if asks.gpus:
            requirements.append({"Type": "GPU", "Value": str(asks.gpus)})
        ranges.append(
            {
                "TargetNodes": _rendered(group.target_nodes, spec.num_nodes),
                "Container": {
                    "Image": "img",
                    "InstanceType": spec.instance_type,
                    "ResourceRequirements": requirements,
                },
            }
        )
    return {
        "Resources": {
            "Job": {
                "Type": "AWS::Batch::JobDefinition",
                "Properties": {
                    "Type": "multinode",
                    "RetryStrategy": {"Attempts": spec.retry_attempts},
                    "NodeProperties": {
                        "NumNodes": spec.num_nodes,
                        "MainNode": spec.main_node,
                        "NodeRangeProperties": ranges,
                    },
                },
            }
        }
    }


def _pack_rules(template: dict[str, Any]) -> tuple[set[str], set[str]]:
    findings = lint_template(Template(template), mnp_pack().rules)
    errors = {f.rule for f in findings if f.level.value == "error" and f.rule in JOB_DEFINITION_RULES}
    warnings = {f.rule for f in findings if f.level.value == "warning" and f.rule in JOB_DEFINITION_RULES}
    return errors, warnings


@settings(max_examples=200, deadline=None)
@given(spec=job_specs())
def test_config_constructs_and_pack_agree(spec: JobSpec) -> None:
    import aws_cdk as cdk
    from aws_cdk.assertions import Annotations

    from constructs_lib import MnpJobDefinition, MnpPropsError, NodeGroup

    verdicts = check_job(spec)
    errors = {v.rule for v in verdicts if v.is_error}
    warnings = {v.rule for v in verdicts if not v.is_error}
    event("rejected" if errors else "accepted")
    for rule in sorted(errors | warnings):
        event(rule)

    # The rule pack on the job definition as a template writes it. A job-level ask that every group
    # overrides is written nowhere in a template, so only the config and the construct can judge it.
    unrendered = {
        name
        for name in ("vcpus", "memory_mib")
        if spec.node_groups and all(getattr(g, name) is not None for g in spec.node_groups)
    }
    in_template = {v.rule for v in verdicts if v.is_error and v.field not in unrendered}
    assert _pack_rules(_template(spec)) == (in_template, warnings)

    # The config.
    try:
        config = parse_config(_config(spec))
    except ConfigError as error:
        assert errors, f"the config rejects a job the core accepts: {error}"
    else:
        assert not errors, f"the config accepts a job with errors {errors}"
        (definition,) = config.job_definitions
        assert {re.search(r"\((MNP\d{3})", w).group(1) for w in config.warnings} == warnings  # type: ignore[union-attr]
        assert definition.required_vcpus == required_vcpus(spec)

    # The construct, and the pack on what it synthesizes.
    from tests.helpers.cdk_app import cdk_app

    stack = cdk.Stack(cdk_app(), "Job")
    groups = (
        [NodeGroup(target_nodes=g.target_nodes, vcpus=g.vcpus, memory_mib=g.memory_mib) for g in spec.node_groups]  # type: ignore[arg-type]
        if spec.node_groups
        else None
    )
    try:
        construct = MnpJobDefinition(
            stack,
            "Job",
            image="img",
            instance_type=spec.instance_type,
            num_nodes=spec.num_nodes,
            main_node=spec.main_node,
            node_groups=groups,
            vcpus=spec.vcpus,  # type: ignore[arg-type]
            memory_mib=spec.memory_mib,
            gpus=spec.gpus,
            retry_attempts=spec.retry_attempts,
        )
    except MnpPropsError as error:
        assert errors, f"the construct rejects a job the core accepts: {error}"
        return
    assert not errors, f"the construct accepts a job with errors {errors}"
    assert construct.required_vcpus == required_vcpus(spec)
    synthesized = cdk.assertions.Template.from_stack(stack).to_json()
    assert _pack_rules(synthesized) == (set(), warnings)
    (need,) = [vcpu_need(resource) for resource in Template(synthesized).of_type("AWS::Batch::JobDefinition")]
    assert need.vcpus == required_vcpus(spec)
    annotated = {
        match.group(1)
        for message in Annotations.from_stack(stack).find_warning("*", cdk.assertions.Match.any_value())
        if (match := re.search(r"\((MNP\d{3})\)", str(message.entry.data)))
    }
    assert annotated == warnings
