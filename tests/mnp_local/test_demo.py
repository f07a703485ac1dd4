"""The deploy demo's job follower: status changes as they happen, and a job that cannot be placed is
said so and cancelled instead of waiting out its queue's time limit."""

from __future__ import annotations

from mnp_local import demo
from tests.mnp_local.runner.conftest import running_emulator


def test_follow_job_reports_and_cancels_a_job_that_cannot_be_placed() -> None:
    with running_emulator() as emu:
        queue = emu.queue(emu.compute_environment(max_vcpus=2, instance_types=["c5.large"]))
        job_id = emu.submit(queue, emu.definition(("0:", {"command": ["/bin/true"]}), num_nodes=2))
        said: list[str] = []
        parent, nodes = demo.follow_job(emu.batch, job_id=job_id, num_nodes=2, say=said.append, timeout=120)
    assert parent["status"] == "FAILED"
    assert parent["statusReason"] == "mnp_local deploy: the sample job cannot be placed"
    assert any("cannot be placed: MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE" in line for line in said)
    assert [node["status"] for node in nodes] == ["FAILED", "FAILED"]


def test_follow_job_prints_each_status_change_until_every_node_ended() -> None:
    with running_emulator() as emu:
        queue = emu.queue(emu.compute_environment())
        job_id = emu.submit(queue, emu.definition(("0:", {"command": ["/bin/true"]}), num_nodes=1))
        said: list[str] = []
        parent, (node,) = demo.follow_job(emu.batch, job_id=job_id, num_nodes=1, say=said.append)
    assert parent["status"] == node["status"] == "SUCCEEDED"
    assert any(
        "job" in line and line.rstrip().endswith("SUCCEEDED (exit 0: Essential container in task exited)")
        for line in said
    )
    assert any("node 0 (main)" in line and "SUCCEEDED" in line for line in said)


def test_a_sample_job_whose_command_is_only_in_its_image_is_told_apart_from_a_failure() -> None:
    """make deploy-local of a config whose program lives in its image: the node cannot start here (no image
    runs locally), which the demo says instead of failing; a command that runs and fails is a failure."""
    with running_emulator() as emu:
        queue = emu.queue(emu.compute_environment())
        runs = {}
        for name, command in {"absent": ["/opt/app/not-here.sh"], "fails": ["/bin/false"]}.items():
            job_id = emu.submit(queue, emu.definition(("0:", {"command": command}), num_nodes=2))
            parent, nodes = demo.follow_job(emu.batch, job_id=job_id, num_nodes=2, say=lambda _: None)
            runs[name] = demo.JobRun(job_id=job_id, parent=parent, nodes=nodes, output={})
    assert runs["absent"].parent["status"] == runs["fails"].parent["status"] == "FAILED"
    assert demo._command_not_on_this_host(runs["absent"]) == (
        'exec: "/opt/app/not-here.sh": executable file not found in $PATH'
    )
    assert demo._command_not_on_this_host(runs["fails"]) is None
