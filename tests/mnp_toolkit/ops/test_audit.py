"""`mnp audit` against moto: resources made with plain boto3, audited through the AWS APIs.

Backend: moto (``mock_aws``) with the gaps of moto 5.2.5 filled on its own models for each test
(:mod:`tests.helpers.moto_audit`: Batch describe pagination, queue ``jobStateTimeLimitActions``, job
definitions' ``nodeProperties``, placement groups). Expected findings are written from the AWS facts each
problem breaks (rule catalog), never taken from the audit's own output.
"""

from __future__ import annotations

import io
import json
import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from mnp_toolkit.cli import main as cli_main
from mnp_toolkit.cli.lint import exit_code as lint_exit_code
from mnp_toolkit.lint.findings import Finding
from mnp_toolkit.lint.rule import Level
from mnp_toolkit.ops.audit import audit, exit_code, run_audit
from mnp_toolkit.ops.audit.read import BATCH_PAGE_SIZE, make_audit_clients
from tests.helpers.moto_audit import audit_gaps_filled
from tests.helpers.moto_batch import MOTO_BATCH_CONFIG
from tests.mnp_toolkit.ops import audit_accounts as accounts
from tests.mnp_toolkit.ops.audit_accounts import REGION, Account

SARIF_SCHEMA = Path(__file__).resolve().parents[2] / "data" / "sarif" / "sarif-schema-2.1.0.json"


@pytest.fixture
def moto() -> Iterator[None]:
    from moto import mock_aws

    with mock_aws(config=MOTO_BATCH_CONFIG), audit_gaps_filled():
        yield


@pytest.fixture
def compliant(moto: None) -> Account:
    return accounts.build_compliant()


class CallCounter:
    """Every API call the audit's clients make (botocore ``before-call``: one per call, retries aside)."""

    def __init__(self, session: Any) -> None:
        self.calls: Counter[str] = Counter()  # by operation name
        self.actions: set[str] = set()  # "service:Operation", the IAM action of each call
        session.events.register("before-call", self._count)

    def _count(self, model: Any, **kwargs: Any) -> None:
        self.calls[model.name] += 1
        self.actions.add(f"{model.service_model.service_name}:{model.name}")

    @property
    def total(self) -> int:
        return sum(self.calls.values())


def _audit_findings(**options: Any) -> list[Finding]:
    return audit(make_audit_clients(region=REGION), **options).findings


def _shown(findings: list[Finding]) -> set[tuple[str, str, str]]:
    """(rule, level, live resource) of every finding that is not an info."""
    return {(f.rule, f.level.value, f.resource) for f in findings if f.level is not Level.INFO}


def test_a_compliant_environment_audits_clean(compliant: Account) -> None:
    findings = _audit_findings()
    assert findings == []
    out = io.StringIO()
    assert run_audit(region=REGION, out=out) == 0
    assert (
        out.getvalue().rstrip().endswith("mnp audit passed: aws://123456789012/us-east-1 checked, 0 errors, 0 warnings")
    )


def test_known_problems_give_exactly_the_expected_findings(compliant: Account) -> None:
    spot = accounts.add_spot_compute_environment(compliant)
    six_groups = accounts.add_six_security_groups(compliant)
    imdsv1 = accounts.add_imdsv1_launch_template_version(compliant)
    public = accounts.add_public_subnet_compute_environment(compliant)
    bad_main = accounts.add_main_node_out_of_range(compliant)

    findings = _audit_findings()

    assert _shown(findings) == {
        ("MNP002", "error", spot),  # Spot capacity in an MNP queue
        ("MNP003", "error", six_groups),  # more than five security groups
        ("MNP201", "error", imdsv1),  # the launch-template version allows IMDSv1
        ("MNP012", "error", public),  # a subnet routed 0.0.0.0/0 to the internet gateway
        ("MNP011", "error", bad_main),  # main node 5 of nodes 0..3
    }
    assert [f for f in findings if f.level is Level.INFO] == []
    by_rule = {f.rule: f for f in findings}
    # Messages name the live resources, never a logical ID of a template.
    assert compliant.public_subnet in by_rule["MNP012"].message
    assert spot in by_rule["MNP002"].message
    assert (
        imdsv1 in by_rule["MNP201"].message and compliant.compute_environments["imdsv1-ce"] in by_rule["MNP201"].message
    )
    assert all(f.template == "aws://123456789012/us-east-1" and f.path is None for f in findings)
    assert exit_code(findings, strict=False) == 1


def test_a_problem_outside_mnp_queues_is_not_reported(compliant: Account) -> None:
    """Spot is wrong only for MNP jobs: a Spot environment in an untagged queue is not an MNP one once some
    queue is tagged (as in templates: marked queues are the MNP queues)."""
    _, batch, _ = accounts.clients()
    arn = accounts.create_compute_environment(compliant, "spot-other", type="SPOT")
    compliant.compute_environments["spot-other"] = arn
    batch.create_job_queue(
        jobQueueName="containers",
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": arn}],
    )
    assert _audit_findings() == []


def test_without_tags_every_queue_is_an_mnp_queue_when_a_multinode_definition_exists(moto: None) -> None:
    account = accounts.build_compliant()
    _, batch, _ = accounts.clients()
    batch.untag_resource(resourceArn=account.queues["mnp-q"], tagKeys=["mnp:queue"])
    spot = accounts.create_compute_environment(account, "spot-ce", type="SPOT")
    account.compute_environments["spot-ce"] = spot
    batch.create_job_queue(
        jobQueueName="untagged",
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": spot}],
        jobStateTimeLimitActions=accounts.TIME_LIMITS,
    )
    findings = _audit_findings()
    assert _shown(findings) == {("MNP002", "error", spot)}
    assert "taken as an MNP queue" not in findings[0].message  # MNP002 is a compute-environment finding

    # With no multinode job definition left, no queue is an MNP queue: nothing MNP-only is reported.
    batch.deregister_job_definition(jobDefinition=account.job_definitions["mpi"])
    assert _audit_findings() == []


def test_security_rules_apply_to_every_compute_environment(compliant: Account) -> None:
    """MNP2xx rules apply to every compute environment, MNP or not (catalog, Security section)."""
    imdsv1 = accounts.add_imdsv1_launch_template_version(compliant)
    _, batch, _ = accounts.clients()
    batch.tag_resource(resourceArn=compliant.queues["imdsv1-q"], tags={"mnp:queue": "false"})
    assert _shown(_audit_findings()) == {("MNP201", "error", imdsv1)}


def test_acknowledgement_tags_acknowledge_as_template_metadata_does(compliant: Account) -> None:
    spot = accounts.add_spot_compute_environment(compliant)
    _, batch, _ = accounts.clients()
    batch.tag_resource(
        resourceArn=spot,
        tags={"mnp:acknowledge": "MNP002=spot capacity is accepted for this test queue;MNP101=no placement needed"},
    )
    findings = _audit_findings()
    (finding,) = findings
    assert (finding.rule, finding.resource) == ("MNP002", spot)
    assert finding.acknowledged == "spot capacity is accepted for this test queue"
    assert exit_code(findings, strict=True) == 0


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("MNP002=short", "the reason for MNP002 must be at least 10 characters"),
        ("MNP002", "the reason for MNP002 must be at least 10 characters"),
        ("MNP999=a reason that is long enough", "MNP999"),
    ],
)
def test_a_malformed_acknowledgement_tag_is_an_error_and_acknowledges_nothing(
    compliant: Account, value: str, problem: str
) -> None:
    spot = accounts.add_spot_compute_environment(compliant)
    _, batch, _ = accounts.clients()
    batch.tag_resource(resourceArn=spot, tags={"mnp:acknowledge": value})
    findings = _audit_findings()
    assert _shown(findings) == {("MNP000", "error", spot), ("MNP002", "error", spot)}
    invalid = next(f for f in findings if f.rule == "MNP000")
    assert problem in invalid.message and spot in invalid.message
    assert "is not a rule of this pack" in invalid.message or "must be at least 10 characters" in invalid.message
    assert invalid.fix.startswith("Tag the resource mnp:acknowledge=MNP101=")
    assert next(f for f in findings if f.rule == "MNP002").acknowledged is None


def test_ec2_resources_take_acknowledgement_tags_too(compliant: Account) -> None:
    imdsv1 = accounts.add_imdsv1_launch_template_version(compliant)
    public = accounts.add_public_subnet_compute_environment(compliant)
    ec2, _, _ = accounts.clients()
    ec2.create_tags(
        Resources=[compliant.public_subnet],
        Tags=[{"Key": "mnp:acknowledge", "Value": "MNP012=this subnet is acknowledged by its tag"}],
    )
    findings = _audit_findings()
    # The acknowledgement is on the subnet, the finding on the compute environment: it does not apply
    # (as in templates, an acknowledgement covers findings on its own resource).
    assert _shown(findings) == {("MNP201", "error", imdsv1), ("MNP012", "error", public)}


def test_latest_revision_of_each_name_or_all_revisions(compliant: Account) -> None:
    _, batch, _ = accounts.clients()
    old = accounts.register_job_definition(batch, "train", main_node=5)  # revision 1: broken
    new = accounts.register_job_definition(batch, "train")  # revision 2: fixed
    assert old.endswith(":1") and new.endswith(":2")
    assert _audit_findings() == []
    assert _shown(_audit_findings(all_revisions=True)) == {("MNP011", "error", old)}


def test_json_report_and_exit_codes_through_the_cli(compliant: Account, capsys: pytest.CaptureFixture[str]) -> None:
    spot = accounts.add_spot_compute_environment(compliant)
    assert cli_main(["audit", "--region", REGION, "--format", "json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert [(f["rule"], f["resource"], f["level"]) for f in document["findings"]] == [("MNP002", spot, "error")]
    assert document["summary"]["errors"] == 1

    _, batch, _ = accounts.clients()
    batch.tag_resource(resourceArn=spot, tags={"mnp:acknowledge": "MNP002=accepted for the scratch queue"})
    # An unacknowledged warning: exit 0, and 1 with --strict (as `mnp lint`).
    no_placement = accounts.create_compute_environment(compliant, "no-pg", placementGroup=None)
    batch.update_job_queue(
        jobQueue=compliant.queues["mnp-q"],
        computeEnvironmentOrder=[
            {"order": 1, "computeEnvironment": compliant.compute_environments["mnp-ce"]},
            {"order": 2, "computeEnvironment": no_placement},
        ],
    )
    assert cli_main(["audit", "--region", REGION]) == 0
    text = capsys.readouterr().out
    assert f"WARNING MNP101 {no_placement}" in text and f"ACKNOWLEDGED MNP002 {spot}" in text
    assert text.rstrip().endswith(
        "mnp audit passed: aws://123456789012/us-east-1 checked, 0 errors, 1 warning, 1 acknowledged"
    )
    assert cli_main(["audit", "--region", REGION, "--strict"]) == 1
    assert "mnp audit FAILED (--strict: warnings fail)" in capsys.readouterr().out


def test_exit_codes_are_those_of_mnp_lint() -> None:
    def finding(level: Level, acknowledged: str | None = None) -> Finding:
        return Finding("MNP101", level, "t", "r", None, "m", "f", acknowledged)

    cases = [
        [],
        [finding(Level.INFO)],
        [finding(Level.WARNING)],
        [finding(Level.WARNING, "reason")],
        [finding(Level.ERROR)],
        [finding(Level.ERROR, "reason"), finding(Level.WARNING)],
    ]
    for findings in cases:
        for strict in (False, True):
            assert exit_code(findings, strict=strict) == lint_exit_code(findings, strict=strict), (findings, strict)


def test_five_hundred_job_definitions_are_read_in_pages(compliant: Account) -> None:
    _, batch, _ = accounts.clients()
    for number in range(499):  # and "mpi": 500
        accounts.register_job_definition(batch, f"job-{number:03d}")
    session = boto3.Session(region_name=REGION)
    counter = CallCounter(session)
    result = audit(make_audit_clients(session=session))
    assert len(result.live.job_definitions) == 500
    assert result.findings == []
    assert counter.calls["DescribeJobDefinitions"] == 500 // BATCH_PAGE_SIZE


def _build_environments(account: Account, count: int) -> None:
    """``count`` more compute environments, each with its own launch template, subnet and queue."""
    ec2, _, _ = accounts.clients()
    table = ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": [account.private_subnet]}])
    private_table = table["RouteTables"][0]["RouteTableId"]
    for number in range(count):
        subnet = ec2.create_subnet(
            VpcId=account.vpc, CidrBlock=f"10.0.{64 + number}.0/24", AvailabilityZone=f"{REGION}a"
        )
        subnet_id = subnet["Subnet"]["SubnetId"]
        ec2.associate_route_table(RouteTableId=private_table, SubnetId=subnet_id)
        template = ec2.create_launch_template(
            LaunchTemplateName=f"lt-{number}",
            LaunchTemplateData={"MetadataOptions": {"HttpTokens": "required"}},
        )["LaunchTemplate"]["LaunchTemplateId"]
        name = f"ce-{number}"
        account.compute_environments[name] = accounts.create_compute_environment(
            account, name, subnets=[subnet_id], launchTemplate={"launchTemplateId": template}
        )
        accounts.create_queue(account, f"q-{number}", [name])


@pytest.mark.parametrize("environments", [5, 20])
def test_calls_grow_linearly_with_the_resources(moto: None, environments: int) -> None:
    """Per call: Batch describes one per page of 100; one DescribeLaunchTemplateVersions per launch
    template; each EC2 describe one per 100 ids (all ids here fit one call); STS once."""
    account = accounts.build_compliant()
    _build_environments(account, environments)
    _, batch, _ = accounts.clients()
    for number in range(3 * environments):
        accounts.register_job_definition(batch, f"job-{number}")
    session = boto3.Session(region_name=REGION)
    counter = CallCounter(session)
    result = audit(make_audit_clients(session=session))
    assert result.findings == []
    count = environments + 1  # and the compliant environment's
    pages = math.ceil(count / BATCH_PAGE_SIZE)
    assert dict(counter.calls) == {
        "GetCallerIdentity": 1,
        "DescribeComputeEnvironments": pages,
        "DescribeJobQueues": pages,
        "DescribeJobDefinitions": math.ceil((3 * environments + 1) / BATCH_PAGE_SIZE),
        "DescribeLaunchTemplateVersions": count,  # one per launch template
        "DescribeSecurityGroups": 1,
        "DescribeSubnets": 1,
        "DescribeRouteTables": 1,
        "DescribeVpcEndpoints": 1,
        "DescribePlacementGroups": 1,
    }


@pytest.mark.parametrize(("version", "expected_version"), [("$Latest", 2), ("$Default", 1), (None, 1)])
def test_latest_and_default_launch_template_versions_are_resolved(
    compliant: Account, version: str | None, expected_version: int
) -> None:
    """``$Latest``/``$Default`` (and no version: ``$Default``, Batch API) are checked as the launch
    template's latest/default version; version 2 allows IMDSv1, version 1 (the default) does not."""
    ec2, _, _ = accounts.clients()
    ec2.create_launch_template_version(
        LaunchTemplateId=compliant.launch_template, LaunchTemplateData={"MetadataOptions": {"HttpTokens": "optional"}}
    )
    spec = {"launchTemplateId": compliant.launch_template, **({"version": version} if version else {})}
    name = "versioned"
    compliant.compute_environments[name] = accounts.create_compute_environment(compliant, name, launchTemplate=spec)
    accounts.create_queue(compliant, "versioned-q", [name])
    findings = _audit_findings()
    if expected_version == 2:
        assert _shown(findings) == {("MNP201", "error", f"{compliant.launch_template}:2")}
    else:
        assert findings == []


def test_a_launch_template_referenced_by_name(compliant: Account) -> None:
    name = "by-name"
    compliant.compute_environments[name] = accounts.create_compute_environment(
        compliant, name, launchTemplate={"launchTemplateName": "mnp-nodes", "version": "1"}
    )
    accounts.create_queue(compliant, "by-name-q", [name])
    result = audit(make_audit_clients(region=REGION))
    assert result.findings == []
    spec = result.template["Resources"][compliant.compute_environments[name]]["Properties"]["ComputeResources"]
    assert spec["LaunchTemplate"] == {"LaunchTemplateId": {"Ref": f"{compliant.launch_template}:1"}, "Version": "1"}


def test_a_deleted_launch_template_does_not_stop_the_audit(compliant: Account) -> None:
    ec2, _, _ = accounts.clients()
    ec2.delete_launch_template(LaunchTemplateId=compliant.launch_template)
    findings = _audit_findings()
    assert exit_code(findings, strict=True) == 0
    assert all(f.level is Level.INFO for f in findings)


def test_sarif_report_is_valid_and_locates_live_resources(
    compliant: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    spot = accounts.add_spot_compute_environment(compliant)
    _, batch, _ = accounts.clients()
    batch.tag_resource(resourceArn=compliant.queues["mnp-q"], tags={"mnp:acknowledge": "MNP999=no such rule here"})
    assert cli_main(["audit", "--region", REGION, "--format", "sarif"]) == 1
    log = json.loads(capsys.readouterr().out)
    if SARIF_SCHEMA.is_file():  # the official schema `mnp lint`'s SARIF tests use
        import jsonschema

        jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).validate(log)  # raises on any violation
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    assert run["tool"]["driver"]["name"] == "mnp audit"
    located = {
        (result["ruleId"], result["level"], result["locations"][0]["logicalLocations"][0]["name"])
        for result in run["results"]
    }
    assert located == {("MNP002", "error", spot), ("MNP000", "error", compliant.queues["mnp-q"])}
    assert {result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for result in run["results"]} == {
        "aws://123456789012/us-east-1"
    }


def test_github_annotations_name_the_live_resource_and_no_file(
    compliant: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    spot = accounts.add_spot_compute_environment(compliant)
    assert cli_main(["audit", "--region", REGION, "--format", "github"]) == 1
    *annotations, summary = capsys.readouterr().out.rstrip("\n").split("\n")
    (annotation,) = annotations
    escaped = spot.replace(":", "%3A")
    assert annotation.startswith(
        f"::error title=MNP002 {escaped}::Compute environment {spot} has ComputeResources.Type SPOT"
    )
    assert "file=" not in annotation
    assert summary == "mnp audit FAILED: aws://123456789012/us-east-1 checked, 1 error, 0 warnings"


def test_throttled_calls_are_retried(compliant: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS answers ``ThrottlingException`` when a caller is too fast; botocore's retries (through
    ``make_client``) absorb it: the audit completes, and the call was sent again."""
    from moto.batch.responses import BatchResponse
    from moto.core.exceptions import JsonRESTError

    original = BatchResponse.describejobqueues
    throttled = {"left": 2}

    def describe(self: Any) -> str:
        if throttled["left"]:
            throttled["left"] -= 1
            raise JsonRESTError("ThrottlingException", "Rate exceeded")
        return str(original(self))

    monkeypatch.setattr(BatchResponse, "describejobqueues", describe)
    session = boto3.Session(region_name=REGION)
    sent: Counter[str] = Counter()
    session.events.register("before-send.batch.DescribeJobQueues", lambda **_: sent.update(["DescribeJobQueues"]))
    counter = CallCounter(session)
    assert audit(make_audit_clients(session=session)).findings == []
    assert counter.calls["DescribeJobQueues"] == 1 and sent["DescribeJobQueues"] == 3


def test_throttling_that_does_not_stop_ends_in_one_line(compliant: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.batch.responses import BatchResponse
    from moto.core.exceptions import JsonRESTError

    from mnp_toolkit.errors import UserError

    def describe(self: Any) -> str:
        raise JsonRESTError("ThrottlingException", "Rate exceeded")

    monkeypatch.setattr(BatchResponse, "describejobdefinitions", describe)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")  # the user's own retry budget is honoured
    with pytest.raises(UserError) as raised:
        audit(make_audit_clients(region=REGION))
    message = str(raised.value)
    assert message.startswith("could not describe the ACTIVE job definitions: AWS kept throttling the requests")
    assert "\n" not in message and raised.value.exit_code == 2
