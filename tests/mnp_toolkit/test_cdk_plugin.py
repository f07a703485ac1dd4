"""mnp_toolkit.cdk_plugin: the pack as a CDK policy-validation plugin.

Synth tests build small plain aws-cdk-lib L2 apps (no toolkit constructs), one synth per scenario:

* the acknowledgement pitfall (verified-facts.md): two UNMANAGED compute environments in an MNP queue,
  MNP001 acknowledged on ONE -> synthesis still fails (``python app.py`` with ``synth_or_exit``, and the
  real ``cdk synth``), no traceback;
* both acknowledged -> synthesis passes, warnings shown, both listed as acknowledged;
* the full pack next to cdk-nag 3 in one ``add_plugins`` on a plain L2 managed-EC2 app, with a
  template-metadata acknowledgement.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

import aws_cdk
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from mnp_toolkit.cdk_plugin import PLUGIN_NAME, MnpChecks, add_mnp_checks
from mnp_toolkit.lint.loader import CdkAcknowledgement, cdk_acknowledgements, closest_acknowledgement
from tests.helpers.templates import mnp_environment, props, resources

REPO = Path(__file__).resolve().parents[2]
CDK_CLI = REPO / "node_modules" / ".bin" / "cdk"
REASON_A = "CeA is a test fixture for the pitfall"
REASON_B = "CeB is acknowledged as well"

# ------------------------------------------------------------------------------------- no synth


@dataclass
class FakeContext:
    """What MnpChecks.validate reads from IPolicyValidationContext."""

    template_paths: list[str]


def context(*template_paths: str) -> aws_cdk.IPolicyValidationContext:
    return cast(aws_cdk.IPolicyValidationContext, FakeContext(list(template_paths)))


def write_template(directory: Path, body: dict[str, Any], name: str = "S.template.json") -> str:
    path = directory / name
    path.write_text(json.dumps(body))
    return str(path)


def violations(report: aws_cdk.PolicyValidationPluginReport) -> list[tuple[str, str, str]]:
    return sorted(
        (v.rule_name, v.severity or "", v.violating_resources[0].resource_logical_id or "") for v in report.violations
    )


def test_every_violation_has_an_explicit_severity(tmp_path: Path) -> None:
    """Without a severity the CDK treats a violation as non-failing once anything is acknowledged."""
    template = mnp_environment()
    props(template, "ComputeEnvironment")["ComputeResources"]["MinvCpus"] = 72
    props(template, "ComputeEnvironment")["ComputeResources"]["SecurityGroupIds"] = [f"sg-{i}" for i in range(6)]
    report = MnpChecks().validate(context(write_template(tmp_path, template)))
    assert report.success is False
    found = violations(report)
    assert ("MNP003", "error", "ComputeEnvironment") in found
    assert ("MNP106", "warning", "ComputeEnvironment") in found
    assert all(severity in {"error", "warning"} for _, severity, _ in found)
    assert all(v.description.startswith(f"{v.rule_name}: ") and v.fix for v in report.violations)


def test_warnings_only_is_success(tmp_path: Path) -> None:
    template = mnp_environment()
    props(template, "ComputeEnvironment")["ComputeResources"]["MinvCpus"] = 72
    report = MnpChecks().validate(context(write_template(tmp_path, template)))
    assert report.success is True
    assert violations(report) == [("MNP106", "warning", "ComputeEnvironment")]


def test_template_metadata_acknowledgement_is_an_info_violation(tmp_path: Path) -> None:
    template = mnp_environment()
    props(template, "ComputeEnvironment")["Type"] = "UNMANAGED"
    resources(template)["ComputeEnvironment"]["Metadata"]["mnp:acknowledge"] = [
        {"id": "MNP001", "reason": "legacy unmanaged fleet, replaced in Q3"}
    ]
    plugin = MnpChecks()
    report = plugin.validate(context(write_template(tmp_path, template)))
    assert report.success is True
    [violation] = report.violations
    assert violation.severity == "info"
    assert violation.description.startswith("ACKNOWLEDGED MNP001 (error; mnp:acknowledge reason: legacy unmanaged")
    [acknowledged] = plugin.last_run.acknowledged()
    assert acknowledged.acknowledged_by == "template"


def test_info_findings_only_on_request(tmp_path: Path) -> None:
    template = mnp_environment()
    props(template, "ComputeEnvironment")["Type"] = {"Fn::ImportValue": "SharedCeType"}
    path = write_template(tmp_path, template)
    assert MnpChecks(only=["MNP001"]).validate(context(path)).violations == []
    report = MnpChecks(only=["MNP001"], include_info=True).validate(context(path))
    assert violations(report) == [("MNP001", "info", "ComputeEnvironment")]


def test_unreadable_template_is_a_plugin_failure(tmp_path: Path) -> None:
    path = tmp_path / "S.template.json"
    path.write_text("{")
    report = MnpChecks().validate(context(str(path)))
    assert report.success is False and report.violations == []
    assert "invalid JSON" in (report.metadata or {})["error"]


def test_only_rejects_unknown_rule_ids() -> None:
    with pytest.raises(ValueError, match="MNP999 not in the pack"):
        MnpChecks(only=["MNP001", "MNP999"])
    assert MnpChecks(only=["MNP001"]).rule_ids == ["MNP001"]


def test_an_empty_stack_passes(tmp_path: Path) -> None:
    """A CDK stack with no resources synthesizes to a template without ``Resources``: nothing to report."""
    empty_stack = {
        "Parameters": {
            "BootstrapVersion": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/cdk-bootstrap/v"}
        },
        "Rules": {"CheckBootstrapVersion": {"Assertions": []}},
    }
    plugin = MnpChecks()
    report = plugin.validate(context(write_template(tmp_path, empty_stack)))
    assert plugin.last_run.error is None
    assert report.success is True and report.violations == []


def test_only_still_accepts_acknowledgements_of_other_rules(tmp_path: Path) -> None:
    """``only`` selects the rules to run; an acknowledgement of a pack rule outside it is still valid."""
    template = mnp_environment()
    props(template, "ComputeEnvironment")["ComputeResources"]["MinvCpus"] = 72
    resources(template)["ComputeEnvironment"]["Metadata"]["mnp:acknowledge"] = [
        {"id": "MNP106", "reason": "warm pool for the nightly benchmark"}
    ]
    path = write_template(tmp_path, template)
    report = MnpChecks(only=["MNP001"]).validate(context(path))
    assert report.success is True and report.violations == []
    # An acknowledgement of a rule the pack does not have is still an error.
    resources(template)["ComputeEnvironment"]["Metadata"]["mnp:acknowledge"] = [
        {"id": "MNP777", "reason": "warm pool for the nightly benchmark"}
    ]
    report = MnpChecks(only=["MNP001"]).validate(context(write_template(tmp_path, template)))
    assert violations(report) == [("MNP000", "error", "ComputeEnvironment")]


def _assembly_with_acknowledgements(tmp_path: Path, acks: dict[str, dict[str, str]]) -> str:
    """A cloud assembly as aws-cdk-lib 2.275 writes it: manifest + additionalMetadataFile."""
    template = mnp_environment()
    props(template, "ComputeEnvironment")["Type"] = "UNMANAGED"
    path = write_template(tmp_path, template)
    (tmp_path / "S.metadata.json").write_text(
        json.dumps({f"/{p}": [{"type": "aws:cdk:acknowledged-rules", "data": d}] for p, d in acks.items()})
    )
    (tmp_path / "manifest.json").write_text(
        json.dumps(
            {
                "artifacts": {
                    "S": {
                        "type": "aws:cloudformation:stack",
                        "properties": {"templateFile": "S.template.json"},
                        "additionalMetadataFile": "S.metadata.json",
                    }
                }
            }
        )
    )
    return path


def test_acknowledgement_without_real_reason_is_an_error(tmp_path: Path) -> None:
    path = _assembly_with_acknowledgements(
        tmp_path,
        {"MnpStack/ComputeEnvironment": {"MnpChecks::MNP001": "ok"}, "MnpStack": {"MnpChecks::MNP777": "no such rule"}},
    )
    plugin = MnpChecks()
    report = plugin.validate(context(path))
    assert report.success is False
    problems = [v.description for v in report.violations if v.rule_name == "MNP000"]
    assert len(problems) == 2
    assert any("'MNP777', which the MnpChecks pack does not have" in problem for problem in problems)
    assert any("reason 'ok'; a reason must be at least 10 characters" in problem for problem in problems)
    # The too-short acknowledgement does not acknowledge anything.
    assert [i.finding.rule for i in plugin.last_run.findings if i.acknowledged_by] == []


def test_acknowledgement_on_an_ancestor_covers_the_resource(tmp_path: Path) -> None:
    path = _assembly_with_acknowledgements(tmp_path, {"MnpStack": {"MnpChecks::MNP001": "whole stack is a lab"}})
    plugin = MnpChecks()
    report = plugin.validate(context(path))
    # Still reported as an error: the CDK, not the plugin, moves it to the suppressed list.
    assert report.success is False
    [item] = plugin.last_run.acknowledged()
    assert item.acknowledged_by == "cdk" and "whole stack is a lab" in (item.finding.acknowledged or "")


def test_closest_acknowledgement_walks_up_the_construct_path() -> None:
    acks = [CdkAcknowledgement("MNP001", "r" * 10, "S/Ce"), CdkAcknowledgement("MNP101", "r" * 10, "S")]
    assert closest_acknowledgement("MNP001", "S/Ce/Resource", acks) == acks[0]
    assert closest_acknowledgement("MNP001", "S/Ce2/Resource", acks) is None  # a sibling, not a prefix
    assert closest_acknowledgement("MNP101", "S/Ce/Resource", acks) == acks[1]
    assert closest_acknowledgement("MNP001", None, acks) is None


def test_acknowledgements_of_other_plugins_are_ignored() -> None:
    metadata: dict[str, list[dict[str, Any]]] = {
        "/S/Ce": [{"type": "aws:cdk:acknowledged-rules", "data": {"AwsSolutions::IAM4": "x" * 12}}]
    }
    assert cdk_acknowledgements(metadata) == []


# ----------------------------------------------------------------------------------------- synth

APP_PY = textwrap.dedent(
    """
    import sys
    import aws_cdk as cdk
    from aws_cdk import aws_batch as batch
    from mnp_toolkit.cdk_plugin import add_mnp_checks, synth_or_exit

    app = cdk.App(outdir=sys.argv[1]) if len(sys.argv) > 1 else cdk.App()
    stack = cdk.Stack(app, "PitfallStack")
    ce_a = batch.UnmanagedComputeEnvironment(stack, "CeA")
    ce_b = batch.UnmanagedComputeEnvironment(stack, "CeB")
    queue = batch.JobQueue(
        stack,
        "Queue",
        compute_environments=[
            batch.OrderedComputeEnvironment(compute_environment=ce_a, order=1),
            batch.OrderedComputeEnvironment(compute_environment=ce_b, order=2),
        ],
    )
    queue.node.default_child.add_metadata("mnp:queue", True)
    cdk.Validations.of(ce_a).acknowledge(cdk.Acknowledgment(id="MnpChecks::MNP001", reason="REASON_A"))
    add_mnp_checks(app)
    synth_or_exit(app)
    print("SYNTH PASSED")
    """
).replace("REASON_A", REASON_A)


def _app_env() -> dict[str, str]:
    """The environment of a user's shell: no pytest variables (the CDK switches to in-memory mode on them)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION"] = "1"
    return env


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pitfall_app")
    (directory / "app.py").write_text(APP_PY)
    return directory


@pytest.mark.synth
def test_pitfall_one_of_two_acknowledged_still_fails_python_app(app_dir: Path) -> None:
    out = app_dir / "out-python"
    result = subprocess.run(
        [sys.executable, "app.py", str(out)], cwd=app_dir, env=_app_env(), capture_output=True, text=True, check=False
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "SYNTH PASSED" not in result.stdout
    assert "Traceback" not in result.stderr
    # The report: rule ID, construct path, what is wrong, the fix, for the unacknowledged CE.
    assert "ERROR MNP001: Compute environment" in result.stderr
    assert "PitfallStack/CeB/Resource" in result.stderr
    assert "Suggested fix: Set Type: MANAGED" in result.stderr
    assert f"mnp: acknowledged MNP001 (error) on PitfallStack/CeA/Resource: {REASON_A}" in result.stderr
    assert "mnp: synthesis stopped by policy validation" in result.stderr
    report = json.loads((out / "validation-report.json").read_text())
    [mnp] = [r for r in report["pluginReports"] if r["pluginName"] == PLUGIN_NAME]
    assert mnp["conclusion"] == "failure"
    errors = [v for v in mnp["violations"] if v["severity"] == "error"]
    assert [v["violatingConstructs"][0]["constructPath"] for v in errors] == ["PitfallStack/CeB/Resource"]
    # The report points at the property, and at its line and column in the synthesized template.
    [violating] = errors[0]["violatingConstructs"]
    assert violating["cloudFormationResource"]["propertyPaths"] == ["Properties.Type"]
    name, line, column = errors[0]["ruleMetadata"]["templateLocation"].rsplit(":", 2)
    assert name == violating["cloudFormationResource"]["templatePath"]
    template_lines = (out / name).read_text().splitlines()
    assert template_lines[int(line) - 1][int(column) - 1 :].lower().startswith('"type": "unmanaged"')
    [suppressed] = mnp["suppressedViolations"]
    assert (suppressed["ruleName"], suppressed["acknowledgedAt"], suppressed["reason"]) == (
        "MNP001",
        "PitfallStack/CeA",
        REASON_A,
    )
    # `mnp lint` on the same cdk.out agrees with synth: CeB fails, CeA is acknowledged.
    lint = subprocess.run(
        [sys.executable, "-m", "mnp_toolkit", "lint", str(out), "--format", "json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 1, lint.stderr
    mnp001 = sorted(
        ((f["path"], f["acknowledged"]) for f in json.loads(lint.stdout)["findings"] if f["rule"] == "MNP001"),
        key=lambda item: item[0],
    )
    assert mnp001 == [
        ("PitfallStack/CeA/Resource", f"{REASON_A} (Validations.acknowledge on PitfallStack/CeA)"),
        ("PitfallStack/CeB/Resource", None),
    ]


@pytest.mark.synth
@pytest.mark.skipif(not CDK_CLI.exists(), reason="the CDK CLI is not installed (npm ci installs node_modules/.bin/cdk)")
def test_pitfall_fails_real_cdk_synth_without_traceback(app_dir: Path) -> None:
    result = subprocess.run(
        [str(CDK_CLI), "synth", "--app", f"{sys.executable} app.py", "-o", "cdk.out", "--quiet"],
        cwd=app_dir,
        env=_app_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "ERROR MNP001" in output and "PitfallStack/CeB/Resource" in output
    assert "Traceback" not in output and "jsii.errors" not in output and "JavaScriptError" not in output


def _two_unmanaged(stack: Construct) -> tuple[batch.UnmanagedComputeEnvironment, batch.UnmanagedComputeEnvironment]:
    """Two UNMANAGED CEs in one queue marked MNP: two MNP001 violations (in a stack or a nested stack)."""
    ce_a = batch.UnmanagedComputeEnvironment(stack, "CeA")
    ce_b = batch.UnmanagedComputeEnvironment(stack, "CeB")
    queue = batch.JobQueue(
        stack,
        "Queue",
        compute_environments=[
            batch.OrderedComputeEnvironment(compute_environment=ce_a, order=1),
            batch.OrderedComputeEnvironment(compute_environment=ce_b, order=2),
        ],
    )
    queue.node.default_child.add_metadata("mnp:queue", True)  # type: ignore[union-attr]
    return ce_a, ce_b


@dataclass
class SynthResult:
    outdir: Path
    error: str | None
    plugin: MnpChecks

    def report(self, plugin_name: str = PLUGIN_NAME) -> dict[str, Any]:
        document = json.loads((self.outdir / "validation-report.json").read_text())
        return next(r for r in document["pluginReports"] if r["pluginName"] == plugin_name)

    def plugin_names(self) -> list[str]:
        document = json.loads((self.outdir / "validation-report.json").read_text())
        return [r["pluginName"] for r in document["pluginReports"]]


def _synth(app: aws_cdk.App, outdir: Path, plugin: MnpChecks) -> SynthResult:
    try:
        app.synth()
    except RuntimeError as error:
        return SynthResult(outdir, str(error), plugin)
    return SynthResult(outdir, None, plugin)


@pytest.fixture(scope="module")
def both_acknowledged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynthResult]:
    outdir = tmp_path_factory.mktemp("both")
    app = aws_cdk.App(outdir=str(outdir))
    ce_a, ce_b = _two_unmanaged(aws_cdk.Stack(app, "BothStack"))
    aws_cdk.Validations.of(ce_a).acknowledge(aws_cdk.Acknowledgment(id="MnpChecks::MNP001", reason=REASON_A))
    aws_cdk.Validations.of(ce_b).acknowledge(aws_cdk.Acknowledgment(id="MnpChecks::MNP001", reason=REASON_B))
    plugin = add_mnp_checks(app)
    yield _synth(app, outdir, plugin)


@pytest.mark.synth
def test_both_acknowledged_passes_and_lists_them(both_acknowledged: SynthResult) -> None:
    assert both_acknowledged.error is None
    report = both_acknowledged.report()
    assert report["conclusion"] == "success"
    suppressed = sorted((v["ruleName"], v["acknowledgedAt"], v["reason"]) for v in report["suppressedViolations"])
    assert suppressed == [("MNP001", "BothStack/CeA", REASON_A), ("MNP001", "BothStack/CeB", REASON_B)]
    ours = sorted(
        (i.finding.rule, i.finding.path, i.acknowledged_by) for i in both_acknowledged.plugin.last_run.acknowledged()
    )
    assert ours == [("MNP001", "BothStack/CeA/Resource", "cdk"), ("MNP001", "BothStack/CeB/Resource", "cdk")]


@pytest.mark.synth
def test_warnings_are_shown_and_do_not_fail_synth(both_acknowledged: SynthResult) -> None:
    report = both_acknowledged.report()
    severities = {v["severity"] for v in report["violations"]}
    assert severities == {"warning"}, report["violations"]
    assert any(v["ruleName"] == "MNP105" for v in report["violations"])  # L2 JobQueue: no RUNNABLE timeout


@pytest.fixture(scope="module")
def plain_l2_with_cdk_nag(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynthResult]:
    """A plain aws-cdk-lib MNP-ish stack (no toolkit constructs), MnpChecks and cdk-nag side by side."""
    cdk_nag = pytest.importorskip("cdk_nag")
    outdir = tmp_path_factory.mktemp("plain")
    app = aws_cdk.App(outdir=str(outdir))
    stack = aws_cdk.Stack(app, "PlainStack")
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2)
    common: dict[str, Any] = {
        "vpc": vpc,
        "instance_types": [ec2.InstanceType("c5n.18xlarge")],
        "use_optimal_instance_classes": False,
    }
    ce_costly = batch.ManagedEc2EcsComputeEnvironment(stack, "CeCostly", minv_cpus=72, **common)
    ce_quiet = batch.ManagedEc2EcsComputeEnvironment(stack, "CeQuiet", **common)
    ce_quiet.node.default_child.add_metadata(  # type: ignore[union-attr]
        "mnp:acknowledge", [{"id": "MNP101", "reason": "spread across racks on purpose"}]
    )
    queue = batch.JobQueue(
        stack,
        "Queue",
        compute_environments=[
            batch.OrderedComputeEnvironment(compute_environment=ce_costly, order=1),
            batch.OrderedComputeEnvironment(compute_environment=ce_quiet, order=2),
        ],
    )
    queue.node.default_child.add_metadata("mnp:queue", True)  # type: ignore[union-attr]
    plugin = MnpChecks()
    aws_cdk.Validations.of(app).add_plugins(cdk_nag.AwsSolutionsChecks(app), plugin)
    yield _synth(app, outdir, plugin)


@pytest.mark.synth
def test_pack_runs_on_plain_l2_app_next_to_cdk_nag(plain_l2_with_cdk_nag: SynthResult) -> None:
    result = plain_l2_with_cdk_nag
    assert sorted(result.plugin_names()) == ["AwsSolutions", PLUGIN_NAME]
    report = result.report()
    assert report["conclusion"] == "success", report["violations"]  # warnings only from our pack
    found = {(v["ruleName"], v["severity"], v["violatingConstructs"][0]["constructPath"]) for v in report["violations"]}
    assert ("MNP106", "warning", "PlainStack/CeCostly/Resource") in found  # minv_cpus=72
    assert ("MNP106", "warning", "PlainStack/CeQuiet/Resource") not in found
    assert ("MNP101", "warning", "PlainStack/CeCostly/Resource") in found  # no placement group
    assert ("MNP101", "info", "PlainStack/CeQuiet/Resource") in found  # acknowledged in template metadata
    assert result.report("AwsSolutions")["conclusion"] == "failure"
    # cdk-nag's own findings on plain L2 Batch (verified-facts.md) fail the synth, not ours.
    assert result.error is not None and "ValidationFailed" in result.error


@pytest.mark.skipif(shutil.which("node") is None, reason="jsii needs node")
def test_plugin_is_a_jsii_policy_validation_plugin() -> None:
    plugin = MnpChecks()
    assert plugin.name == "MnpChecks" and plugin.version
    app = aws_cdk.App()
    aws_cdk.Validations.of(app).add_plugins(plugin)  # jsii rejects objects that do not implement the interface


def test_nested_stack_templates_are_checked(tmp_path: Path) -> None:
    """aws_cdk.NestedStack templates are assets the CDK does not hand to plugins; the plugin follows them."""
    nested = mnp_environment()
    props(nested, "ComputeEnvironment")["Type"] = "UNMANAGED"
    write_template(tmp_path, nested, "ParentBatchNested1234.nested.template.json")
    parent = {
        "Resources": {
            "BatchNested": {
                "Type": "AWS::CloudFormation::Stack",
                "Properties": {"TemplateURL": "https://example.com/t.json"},
                "Metadata": {"aws:asset:path": "ParentBatchNested1234.nested.template.json"},
            }
        }
    }
    report = MnpChecks().validate(context(write_template(tmp_path, parent, "Parent.template.json")))
    assert report.success is False
    [error] = [v for v in report.violations if v.severity == "error"]
    assert error.rule_name == "MNP001"
    assert error.violating_resources[0].construct_path == "MnpStack/ComputeEnvironment/Resource"


@pytest.mark.synth
def test_nested_stack_synth_one_acknowledged_still_fails(tmp_path: Path) -> None:
    """A real aws_cdk.NestedStack (found through the asset manifest under `python app.py`)."""
    app = aws_cdk.App(outdir=str(tmp_path))
    ce_a, _ = _two_unmanaged(aws_cdk.NestedStack(aws_cdk.Stack(app, "Parent"), "Batch"))
    aws_cdk.Validations.of(ce_a).acknowledge(aws_cdk.Acknowledgment(id="MnpChecks::MNP001", reason=REASON_A))
    result = _synth(app, tmp_path, add_mnp_checks(app, only=["MNP001"]))
    assert result.error is not None and "ValidationFailed" in result.error
    report = result.report()
    assert report["conclusion"] == "failure"
    assert [v["violatingConstructs"][0]["constructPath"] for v in report["violations"]] == ["Parent/Batch/CeB/Resource"]
    assert [v["acknowledgedAt"] for v in report["suppressedViolations"]] == ["Parent/Batch/CeA"]
