"""MNP110 (warning): a command names $VAR without a shell, so the program gets the literal text."""

from __future__ import annotations

from typing import Any

import pytest

from mnp_toolkit.lint.packs import mnp_pack
from tests.helpers.templates import errors_or_warnings, findings_for, mnp_environment, props


def _container(template: dict[str, Any], position: int = 0) -> dict[str, Any]:
    return props(template, "JobDefinition")["NodeProperties"]["NodeRangeProperties"][position]["Container"]


def _with_command(command: Any) -> dict[str, Any]:
    template = mnp_environment()
    _container(template)["Command"] = command
    return template


@pytest.mark.parametrize(
    "command",
    [
        ["torchrun", "--node_rank=$AWS_BATCH_JOB_NODE_INDEX", "train.py"],
        ["python", "train.py", "--master", "${AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS}"],
        ["/usr/bin/bash", "run.sh", "$RANK"],  # a script file: its arguments are not expanded
        ["sh", "-c", "echo $1", "$X"],  # only the -c script is expanded, not the positional argument
        ["env", "A=1", "python", "$A"],
        ["python", "train.py", "--rank", "$AWS_BATCH_JOB_NODE_INDEX"],
        # A wrapper's own arguments before the shell are not expanded by it.
        ["mpirun", "-np", "$NP", "bash", "-c", "./solver"],
        ["bash", "-o", "pipefail", "run.sh", "$RANK"],  # options, then a script file
        ["tini", "--", "python", "train.py", "--rank=$AWS_BATCH_JOB_NODE_INDEX"],
        ["timeout", "1h", "torchrun", "--node_rank=${AWS_BATCH_JOB_NODE_INDEX}", "train.py"],
        ["torchrun", "--node_rank=$AWS_BATCH_JOB_NODE_INDEX", "train.py", "--filter", "sed"],  # sed after it
        # A program's argument that happens to name a shell or sed is no shell: what follows stays literal.
        ["python", "train.py", "--tool", "perl", "--rank", "$AWS_BATCH_JOB_NODE_INDEX"],
        ["python", "train.py", "--preprocess", "sed", "--rank=$AWS_BATCH_JOB_NODE_INDEX"],
        ["python", "x.py", "bash", "-c", "$X"],
        ["mpirun", "--hostfile", "/tmp/hosts", "python", "x.py", "--tool", "sed", "$X"],
    ],
)
def test_variable_in_an_exec_form_command_is_a_warning(command: list[str]) -> None:
    found = errors_or_warnings("MNP110", _with_command(command))
    assert [(f.rule, f.level.value, f.resource) for f in found] == [("MNP110", "warning", "JobDefinition")]
    assert "literal text" in found[0].message and "node range #0" in found[0].message


@pytest.mark.parametrize(
    "command",
    [
        ["sh", "-c", "torchrun --node_rank=$AWS_BATCH_JOB_NODE_INDEX train.py"],
        ["/bin/bash", "-lc", "exec mpirun -np ${NP} ./solver"],
        ["bash", "-e", "-c", "echo ${AWS_BATCH_JOB_NODE_INDEX}"],
        ["env", "OMP_NUM_THREADS=4", "/bin/sh", "-c", "echo $AWS_BATCH_JOB_NODE_INDEX"],
        ["busybox", "sh", "-c", "echo $X"],
        ["python", "train.py", "--epochs", "Ref::epochs"],  # Batch substitutes Ref:: parameters
        ["echo", "costs $$5"],  # $$ is not a variable
        ["mpirun", "hostname"],
        ["bash", "-o", "pipefail", "-c", "train | tee log-$AWS_BATCH_JOB_NODE_INDEX"],
        ["bash", "-euo", "pipefail", "-c", "echo $X"],
        ["bash", "+O", "extglob", "--norc", "-c", "echo $X"],
        ["bash", "--rcfile", "/etc/rc", "-c", "echo $X"],
        ["sh", "-c", "--", "echo $X"],
        ["mpirun", "-np", "4", "bash", "-c", "./solver --rank $OMPI_COMM_WORLD_RANK"],
        ["tini", "--", "sh", "-c", "exec torchrun --node_rank=$AWS_BATCH_JOB_NODE_INDEX train.py"],
        ["/usr/bin/env", "-u", "HOME", "A=1", "nice", "-n", "5", "timeout", "2h", "sh", "-c", "echo $A"],
        ["awk", "{print $NF}", "/etc/hosts"],
        ["perl", "-e", "print $ENV{AWS_BATCH_JOB_NODE_INDEX}"],
        ["jq", "-n", "$ENV.AWS_BATCH_JOB_NODE_INDEX"],
        ["sed", "-n", "$p", "log"],
        ["busybox", "awk", "{print $NF}"],
        ["mpirun", "-np", "4", "--hostfile", "/tmp/hosts", "bash", "-c", "./solver --rank $OMPI_COMM_WORLD_RANK"],
        ["sh", "-xc", "echo $X"],
    ],
)
def test_shell_scripts_parameters_and_plain_commands_pass(command: list[str]) -> None:
    assert findings_for("MNP110", _with_command(command)) == []


def test_every_range_and_every_variable_is_named() -> None:
    template = _with_command(["worker", "$A", "${B}", "$A"])
    ranges = props(template, "JobDefinition")["NodeProperties"]["NodeRangeProperties"]
    ranges.append({"TargetNodes": "0", "Container": {**_container(template), "Command": ["main", "$C"]}})
    found = errors_or_warnings("MNP110", template)
    assert len(found) == 2
    assert "$A, $B" in found[0].message and "$C" in found[1].message and "node range #1" in found[1].message


def test_ecs_task_and_eks_pod_commands_are_checked() -> None:
    template = mnp_environment()
    ranges = props(template, "JobDefinition")["NodeProperties"]["NodeRangeProperties"]
    ranges[0] = {
        "TargetNodes": "0:",
        "EcsProperties": {"TaskProperties": [{"Containers": [{"Name": "main", "Command": ["run", "$X"]}]}]},
    }
    assert len(errors_or_warnings("MNP110", template)) == 1
    ranges[0] = {
        "TargetNodes": "0:",
        "EksProperties": {"PodProperties": {"Containers": [{"Name": "c", "Command": ["run"], "Args": ["$X"]}]}},
    }
    assert len(errors_or_warnings("MNP110", template)) == 1
    # Kubernetes expands $(VAR) itself.
    ranges[0]["EksProperties"]["PodProperties"]["Containers"][0]["Args"] = ["$(X)"]
    assert findings_for("MNP110", template) == []


def test_unresolved_command_and_container_jobs_are_not_judged() -> None:
    assert findings_for("MNP110", _with_command({"Fn::If": ["C", ["a", "$X"], ["b"]]})) == []
    template = _with_command(["run", "$X"])
    props(template, "JobDefinition")["Type"] = "container"
    assert findings_for("MNP110", template) == []


def test_acknowledging_an_entrypoint_shell_passes() -> None:
    template = _with_command(["$WORK/run"])
    template["Resources"]["JobDefinition"]["Metadata"]["mnp:acknowledge"] = [
        {"id": "MNP110", "reason": "the image's ENTRYPOINT is sh -c and expands it"}
    ]
    (finding,) = findings_for("MNP110", template)
    assert finding.acknowledged and not finding.counts_as_warning


def test_rule_matches_the_catalog() -> None:
    rule = mnp_pack()["MNP110"]
    assert (rule.level.value, rule.resource_type) == ("warning", "AWS::Batch::JobDefinition")
    assert "torchx/issues/759" in rule.source and "API_ContainerProperties" in rule.source
