"""``make deploy-local`` end to end (``python -m mnp_local deploy``, what scripts/deploy_local.sh runs), with a
copy of the default config pinned to us-east-2 and ``--fault``: the config's own Region is bootstrapped and
deployed, the story comes out in order (deploy, submit, main node first, the rendezvous, the checked
result, SUCCEEDED; then the failing child and the watchdog's termination), and everything is destroyed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mnp_local import cdk

pytestmark = [pytest.mark.deploy, pytest.mark.timeout(900)]


def _index(lines: list[str], pattern: str, start: int = 0) -> int:
    """The first line at or after ``start`` matching ``pattern`` (a regex); fails naming it."""
    for number in range(start, len(lines)):
        if re.search(pattern, lines[number]):
            return number
    raise AssertionError(f"no line matching {pattern!r} after line {start}:\n" + "\n".join(lines[start:]))


def test_deploy_local_of_a_us_east_2_config_tells_the_story_in_order(tmp_path: Path) -> None:
    data = yaml.safe_load((cdk.REPO_ROOT / "config" / "default.yaml").read_text(encoding="utf-8"))
    data["env"] = {"region": "us-east-2"}
    config = tmp_path / "us-east-2.yaml"
    config.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "CDK_DISABLE_VERSION_CHECK": "1"}
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "CDK_DEFAULT_REGION"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-m", "mnp_local", "deploy", "--config", str(config), "--fault"],
        cwd=cdk.REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=800,
        check=False,
    )
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]

    at = _index(lines, r"account 123456789012, us-east-2$")
    at = _index(lines, r"^\$ cdk bootstrap aws://123456789012/us-east-2$", at)
    at = _index(lines, r"^\$ cdk deploy ", at)
    at = _index(lines, r"^deployed: .*MnpEnvironment CREATE_COMPLETE", at)
    at = _index(lines, r"^submitted job [0-9a-f-]+: 4 nodes, main node 0$", at)
    job_id = lines[at].split()[2].rstrip(":")
    main_up = _index(lines, r"node 0 \(main\)\s+RUNNING at 127\.", at)
    children_up = [_index(lines, rf"node {i}\s+RUNNING at 127\.", at) for i in (1, 2, 3)]
    assert all(line > main_up for line in children_up), lines[at : max(children_up) + 1]
    rendezvous = _index(lines, r"node 0 \(main\)\s+\| allreduce: the rendezvous is complete: 4 nodes", at)
    assert rendezvous > max(children_up)
    result = _index(
        lines, r"node 0 \(main\)\s+\| allreduce: 4 nodes summed .*: \[10, 20, 30, \.\.\., 10240\], checked", rendezvous
    )
    succeeded = _index(lines, r"\s+job\s+SUCCEEDED \(exit 0: Essential container in task exited\)$", result)
    at = _index(lines, rf"^job {job_id} SUCCEEDED$", succeeded)

    # --fault: the last child exits 1 at once, the deployed watchdog terminates the job.
    at = _index(lines, r"^--fault: the same job, but child node 3 exits 1 at once", at)
    at = _index(lines, r"^submitted job ", at)
    fault_id = lines[at].split()[2].rstrip(":")
    failed = _index(lines, r"node 3\s+FAILED \(exit 1: Essential container in task exited\)$", at)
    reason = rf"mnp-watchdog: child node 3 \({fault_id}#3\) FAILED \(exit code 1\): Essential container in task exited"
    _index(lines, rf"\s+job\s+FAILED \(exit \d+: {reason}\)$", failed)
    at = _index(lines, rf"^job {fault_id} FAILED: {reason}$", failed)
    at = _index(lines, r'^  watchdog: .*"decision": "terminate".*"source": "event"', at)

    # What was created is read back in us-east-2, then destroyed.
    at = _index(lines, r"^Subnets \(\d+\)$", at)
    assert re.search(r" us-east-2[a-z] ", lines[at + 1])
    # The rule pack on what is live (mnp audit) finds what was deployed clean.
    at = _index(lines, r"^\$ mnp audit$", at)
    at = _index(lines, r"^mnp audit passed: aws://\d{12}/us-east-2 checked, 0 errors, 0 warnings", at)
    at = _index(lines, r"^\$ cdk destroy --force --all$", at)
    at = _index(lines, r"^Timings: cdk bootstrap [\d.]+ s, cdk deploy [\d.]+ s, cdk destroy [\d.]+ s, end to end", at)
    assert lines[-1] == "emulated AWS stopped"
