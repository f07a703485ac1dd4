"""Tests for `mnp preflight` (the package mnp_toolkit/ops/preflight/).

Backends, named in each docstring: moto answers STS, Availability Zones, instance-type offerings,
DescribeInstanceTypes (EFA, vCPUs), DescribeInstances, VPCs, subnets, route tables and NAT gateways.
moto does not answer the EC2 quotas of Service Quotas (NoSuchResource / not implemented) nor
DescribePlacementGroups (not implemented): those checks must then say could-not-check, and their
pass/fail logic is tested with botocore's Stubber and the documented Service Quotas response shape.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from mnp_toolkit.cli import main as cli_main
from mnp_toolkit.errors import UserError
from mnp_toolkit.ops.preflight import (
    STANDARD,
    Clients,
    JobNeed,
    PreflightPlan,
    Result,
    check_placement_groups,
    check_quotas,
    quota_class,
    run_checks,
)
from tests.mnp_toolkit.ops.conftest import REGION


class Network:
    """What the `account` fixture built in moto."""

    vpc_id: str
    private_subnet: str  # us-east-1a, 0.0.0.0/0 -> available NAT gateway
    public_subnet: str  # us-east-1a, 0.0.0.0/0 -> internet gateway
    other_az_subnet: str  # us-east-1b, private with NAT route
    isolated_subnet: str  # us-east-1a, no default route at all


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    """moto: a VPC with private (NAT), public (IGW), other-AZ and isolated subnets."""
    from moto import mock_aws

    from tests.mnp_toolkit.ops.conftest import _isolate

    with pytest.MonkeyPatch.context() as monkeypatch, mock_aws():
        _isolate(monkeypatch, tmp_path_factory.mktemp("aws"))
        ec2 = boto3.client("ec2", region_name=REGION)
        net = Network()
        net.vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=net.vpc_id)

        def subnet(cidr: str, zone: str) -> str:
            return str(ec2.create_subnet(VpcId=net.vpc_id, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"]["SubnetId"])

        def route_table(subnet_id: str, **target: str) -> None:
            table = ec2.create_route_table(VpcId=net.vpc_id)["RouteTable"]["RouteTableId"]
            ec2.associate_route_table(RouteTableId=table, SubnetId=subnet_id)
            if target:
                ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", **target)

        net.public_subnet = subnet("10.0.0.0/24", "us-east-1a")
        route_table(net.public_subnet, GatewayId=igw)
        allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
        nat = ec2.create_nat_gateway(SubnetId=net.public_subnet, AllocationId=allocation)["NatGateway"]["NatGatewayId"]
        net.private_subnet = subnet("10.0.1.0/24", "us-east-1a")
        route_table(net.private_subnet, NatGatewayId=nat)
        net.other_az_subnet = subnet("10.0.2.0/24", "us-east-1b")
        route_table(net.other_az_subnet, NatGatewayId=nat)
        net.isolated_subnet = subnet("10.0.3.0/24", "us-east-1a")
        route_table(net.isolated_subnet)
        yield net


def _moto_clients() -> Clients:
    return Clients(
        ec2=boto3.client("ec2", region_name=REGION),
        service_quotas=boto3.client("service-quotas", region_name=REGION),
        sts=boto3.client("sts", region_name=REGION),
        region=REGION,
    )


def _write_config(path: Path, *, network: dict[str, Any], account: str = "123456789012", efa: bool = True) -> Path:
    config = {
        "env": {"account": account, "region": REGION},
        "network": network,
        "compute_environments": [{"name": "hpc", "instance_types": ["c5n.18xlarge"], "efa": efa}],
        "job_queues": [{"name": "mnp", "compute_environments": ["hpc"]}],
        "job_definitions": [
            {
                "name": "train",
                "queue": "mnp",
                "image": "public.ecr.aws/docker/library/busybox:latest",
                "instance_type": "c5n.18xlarge",
                "num_nodes": 4,
                "efa": efa,
            }
        ],
    }
    path.write_text(yaml.safe_dump(config))
    return path


def _rows(output: str) -> dict[str, str]:
    """CHECK -> RESULT from the JSON output."""
    return {row["check"]: row["result"] for row in json.loads(output)["checks"]}


# ------------------------------------------------------------------------------------------ moto


def test_existing_network_all_good_except_unknowable_quota(
    account: Network, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """moto: account, AZ, offering, EFA, VPC and a private NAT-routed subnet pass; the vCPU quota is
    could-not-check because moto's Service Quotas has no EC2 quotas -- and could-not-check is not a
    failure, so the exit code is 0."""
    config = _write_config(
        tmp_path / "mnp.yaml",
        network={
            "mode": "existing",
            "vpc_id": account.vpc_id,
            "availability_zone": "us-east-1a",
            "private_subnet_ids": [account.private_subnet],
        },
    )

    code = cli_main(["preflight", "--config", str(config), "--format", "json"])

    rows = _rows(capsys.readouterr().out)
    assert code == 0
    assert rows == {
        "account": "pass",
        "region": "pass",
        "availability zone us-east-1a": "pass",
        "offered: c5n.18xlarge in us-east-1a": "pass",
        "EFA: c5n.18xlarge": "pass",
        "vCPU quota: L-1216C47A": "could-not-check",
        f"VPC {account.vpc_id}": "pass",
        f"subnet {account.private_subnet}": "pass",
    }


def test_bad_subnets_fail_with_fixes(account: Network, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """moto: a public (IGW) subnet, a subnet of another AZ and one without a default route fail,
    each with its fix; the table is printed and the exit code is 1."""
    config = _write_config(
        tmp_path / "mnp.yaml",
        network={
            "mode": "existing",
            "vpc_id": account.vpc_id,
            "availability_zone": "us-east-1a",
            "private_subnet_ids": [account.public_subnet, account.other_az_subnet, account.isolated_subnet],
        },
    )

    code = cli_main(["preflight", "--config", str(config)])

    out = capsys.readouterr().out
    lines = out.splitlines()

    def row(subnet: str) -> str:
        return next(line for line in lines if line.startswith(f"subnet {subnet}"))

    assert code == 1
    assert "  fail  " in row(account.public_subnet) and "internet gateway" in row(account.public_subnet)
    assert "is in us-east-1b, not us-east-1a" in row(account.other_az_subnet)
    assert "has no default route" in row(account.isolated_subnet)
    assert "fix: use private subnets routed to a NAT gateway" in out
    assert "fix: route 0.0.0.0/0 to a NAT gateway" in out
    assert "could-not-check is not a pass" in out


def test_unknown_vpc_and_wrong_account_fail(
    account: Network, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """moto: a VPC id that does not exist and credentials of another account both fail."""
    config = _write_config(
        tmp_path / "mnp.yaml",
        account="210987654321",
        network={
            "mode": "existing",
            "vpc_id": "vpc-0123456789abcdef0",
            "availability_zone": "us-east-1a",
            "private_subnet_ids": [account.private_subnet],
        },
    )

    code = cli_main(["preflight", "--config", str(config), "--format", "json"])

    rows = _rows(capsys.readouterr().out)
    assert code == 1
    assert rows["account"] == "fail"
    assert rows["VPC vpc-0123456789abcdef0"] == "fail"


def test_region_other_than_env_region_fails(
    account: Network, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """moto: --region eu-west-1 for a config deploying to us-east-1 checks the wrong place: fail."""
    config = _write_config(tmp_path / "mnp.yaml", network={"mode": "new"})

    code = cli_main(["preflight", "--config", str(config), "--region", "eu-west-1", "--format", "json"])

    rows = _rows(capsys.readouterr().out)
    assert code == 1
    assert rows["region"] == "fail"


def test_efa_on_a_type_without_efa_fails(account: Network) -> None:
    """moto: DescribeInstanceTypes says c5.large has no EFA (NetworkInfo.EfaSupported false)."""
    results = run_checks(_moto_clients(), PreflightPlan(efa_instance_types=("c5.large",)))

    efa = next(r for r in results if r.check == "EFA: c5.large")
    assert efa.result is Result.FAIL
    assert "does not support EFA" in efa.detail


def test_type_not_offered_in_the_az_fails(account: Network) -> None:
    """moto: p4d.24xlarge is not offered in us-east-1f in moto's offering data; an AZ the Region
    lacks fails on its own."""
    clients = _moto_clients()

    offered = run_checks(clients, PreflightPlan(availability_zone="us-east-1f", instance_types=("p4d.24xlarge",)))
    missing_az = run_checks(clients, PreflightPlan(availability_zone="us-east-1z", instance_types=("p4d.24xlarge",)))

    assert next(r for r in offered if r.check == "offered: p4d.24xlarge in us-east-1f").result is Result.FAIL
    assert [r.result for r in missing_az if r.check.startswith("availability zone")] == [Result.FAIL]
    assert "not an Availability Zone of us-east-1" in missing_az[-1].detail


def test_unpinned_az_reports_where_types_are_offered(account: Network) -> None:
    """moto: with no AZ in the config (a new VPC picks it at deploy), a type offered in only some
    AZs is could-not-check with the AZs to pin; a family works like a type; a type offered nowhere
    fails. (moto's data: us-east-1e offers none of these; hpc7a is not offered in us-east-1.)"""
    results = run_checks(_moto_clients(), PreflightPlan(instance_types=("c5n", "hpc7a.96xlarge")))

    by_check = {r.check: r for r in results}
    assert by_check["offered: c5n"].result is Result.UNKNOWN
    assert "us-east-1a" in by_check["offered: c5n"].fix
    assert by_check["offered: hpc7a.96xlarge"].result is Result.FAIL


def test_placement_group_check_is_could_not_check_on_moto(account: Network) -> None:
    """moto: DescribePlacementGroups is not implemented, so the check says could-not-check (not pass)."""
    [result] = check_placement_groups(_moto_clients(), names=["mnp-cluster"])

    assert result.result is Result.UNKNOWN
    assert "does not implement" in result.detail


# --------------------------------------------------------------------------------------- Stubber


def _quota(value: float) -> dict[str, Any]:
    """GetServiceQuota / GetAWSDefaultServiceQuota response (Service Quotas API reference)."""
    return {
        "Quota": {
            "ServiceCode": "ec2",
            "ServiceName": "Amazon Elastic Compute Cloud (Amazon EC2)",
            "QuotaArn": f"arn:aws:servicequotas:{REGION}:123456789012:ec2/L-1216C47A",
            "QuotaCode": "L-1216C47A",
            "QuotaName": STANDARD.name,
            "Value": value,
            "Unit": "None",
            "Adjustable": True,
            "GlobalQuota": False,
        }
    }


JOBS = (JobNeed(name="train", instance_type="c5n.18xlarge", num_nodes=4),)  # 4 x 72 = 288 vCPUs


@pytest.mark.parametrize(("quota", "expected"), [(300.0, Result.PASS), (290.0, Result.FAIL), (200.0, Result.FAIL)])
def test_quota_covers_the_job_plus_what_runs(account: Network, stubbed: Any, quota: float, expected: Result) -> None:
    """moto (two running c5.large = 4 vCPUs, vCPUs from DescribeInstanceTypes) + Stubber (the quota
    value): 288 + 4 = 292 fits in 300, not in 290 (fix: stop instances or raise) nor in 200."""
    ec2 = boto3.client("ec2", region_name=REGION)
    reservation = ec2.run_instances(ImageId="ami-12c6146b", MinCount=2, MaxCount=2, InstanceType="c5.large")
    quotas, stubber = stubbed("service-quotas")
    stubber.add_response("get_service_quota", _quota(quota), {"ServiceCode": "ec2", "QuotaCode": "L-1216C47A"})
    clients = _moto_clients()
    clients.service_quotas = quotas
    try:
        [result] = check_quotas(clients, jobs=JOBS)
    finally:
        ec2.terminate_instances(InstanceIds=[i["InstanceId"] for i in reservation["Instances"]])

    assert result.result is expected
    assert "4 x 72 = 288 vCPUs (72 from DescribeInstanceTypes)" in result.detail
    assert "~4 vCPUs already running (estimate" in result.detail
    if expected is Result.FAIL:
        assert "to at least 292 vCPUs" in result.fix
        assert ("or stop instances" in result.fix) == (quota >= 288)


def test_default_quota_is_used_when_none_was_applied(account: Network, stubbed: Any) -> None:
    """Stubber: GetServiceQuota answers NoSuchResourceException, GetAWSDefaultServiceQuota gives 640."""
    quotas, stubber = stubbed("service-quotas")
    stubber.add_client_error("get_service_quota", "NoSuchResourceException", "no applied quota", 400)
    stubber.add_response("get_aws_default_service_quota", _quota(640.0))
    clients = _moto_clients()
    clients.service_quotas = quotas

    [result] = check_quotas(clients, jobs=JOBS)

    assert result.result is Result.PASS
    assert result.detail.startswith("quota 640 vCPUs")


def test_quota_access_denied_is_could_not_check(account: Network, stubbed: Any) -> None:
    """Stubber: AccessDeniedException from Service Quotas is could-not-check naming the permission."""
    quotas, stubber = stubbed("service-quotas")
    stubber.add_client_error("get_service_quota", "AccessDeniedException", "not authorized", 403)
    clients = _moto_clients()
    clients.service_quotas = quotas

    [result] = check_quotas(clients, jobs=JOBS)

    assert result.result is Result.UNKNOWN
    assert "servicequotas:GetServiceQuota" in result.detail


def test_cluster_placement_group_passes_and_spread_fails(stubbed: Any) -> None:
    """Stubber (DescribePlacementGroups shape from the EC2 API reference): a `cluster` group passes,
    a `spread` group fails, an unknown group fails."""
    ec2, stubber = stubbed("ec2")
    for name, strategy in (("pg-cluster", "cluster"), ("pg-spread", "spread")):
        stubber.add_response(
            "describe_placement_groups",
            {"PlacementGroups": [{"GroupName": name, "State": "available", "Strategy": strategy, "GroupId": "pg-1"}]},
            {"GroupNames": [name]},
        )
    stubber.add_client_error("describe_placement_groups", "InvalidPlacementGroup.Unknown", "unknown", 400)
    clients = Clients(ec2=ec2, service_quotas=None, sts=None, region=REGION)

    results = check_placement_groups(clients, names=["pg-cluster", "pg-spread", "pg-missing"])

    assert [r.result for r in results] == [Result.PASS, Result.FAIL, Result.FAIL]


# ------------------------------------------------------------------------------------------ no AWS


@pytest.mark.parametrize(
    ("instance_type", "code"),
    [
        ("c5n.18xlarge", "L-1216C47A"),
        ("hpc7a.96xlarge", "L-F7808C92"),
        ("h1.16xlarge", "L-1216C47A"),
        ("dl1.24xlarge", "L-6E869C2A"),
        ("d3.8xlarge", "L-1216C47A"),
        ("p4d.24xlarge", "L-417A185B"),
        ("g5.48xlarge", "L-DB2E81BA"),
        ("vt1.24xlarge", "L-DB2E81BA"),
        ("trn1.32xlarge", "L-2C3B7624"),
        ("t3.micro", "L-1216C47A"),
        ("inf2.48xlarge", "L-1945791B"),
        ("f2.12xlarge", "L-74FC7D96"),
        ("x2idn.32xlarge", "L-7295265B"),
        ("u-6tb1.metal", "L-43DA4232"),
        ("im4gn.16xlarge", "L-1216C47A"),
        ("mac2.metal", None),
        ("q9.large", None),
    ],
)
def test_quota_class(instance_type: str, code: str | None) -> None:
    """No AWS: instance families map to their On-Demand vCPU quota; unknown families to None."""
    found = quota_class(instance_type)

    assert (found.code if found else None) == code


def test_missing_config_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No AWS: a config path that does not exist is a one-line error, exit 2."""
    code = cli_main(["preflight", "--config", str(tmp_path / "nope.yaml")])

    err = capsys.readouterr().err
    assert code == 2
    assert "config file not found" in err


def test_no_credentials_stops_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """botocore, no moto: without credentials STS fails before any request; preflight stops with one
    line (exit 2) instead of a table of could-not-check."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    config = _write_config(tmp_path / "mnp.yaml", network={"mode": "new"})

    code = cli_main(["preflight", "--config", str(config)])

    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert "no AWS credentials found" in captured.err


def test_unexpected_error_in_a_check_is_could_not_check() -> None:
    """No AWS: a check that raises something unexpected becomes could-not-check, not a traceback."""

    class Broken:
        def get_caller_identity(self) -> dict[str, str]:
            return {"Account": "123456789012"}

        def __getattr__(self, name: str) -> Any:
            raise RuntimeError(f"boom in {name}")

    clients = Clients(ec2=Broken(), service_quotas=Broken(), sts=Broken(), region=REGION)

    results = run_checks(clients, PreflightPlan(availability_zone="us-east-1a", instance_types=("c5.large",)))

    assert [r.result for r in results] == [Result.PASS, Result.UNKNOWN]
    assert "boom" in results[1].detail


def test_plan_from_config_reads_existing_placement_group() -> None:
    """No AWS: an existing placement group named in the config is what preflight checks."""
    from mnp_toolkit.config.load import parse_config
    from mnp_toolkit.ops.preflight import plan_from_config

    config = parse_config(
        {
            "network": {"mode": "new", "availability_zones": ["us-east-1b"]},
            "compute_environments": [
                {
                    "name": "hpc",
                    "instance_types": ["c5n"],
                    "max_vcpus": 288,
                    "existing_placement_group_name": "shared-cluster",
                }
            ],
            "job_queues": [{"name": "hpc", "compute_environments": ["hpc"]}],
        }
    )

    plan = plan_from_config(config)

    assert plan.placement_groups == ("shared-cluster",)
    assert plan.availability_zone == "us-east-1b"
    assert plan.instance_types == ("c5n",)


def test_cli_error_for_bad_config_is_raised_not_printed_as_traceback(tmp_path: Path) -> None:
    """No AWS: an invalid config raises UserError (exit 2) carrying the config's readable message."""
    from mnp_toolkit.ops.preflight import run_preflight

    bad = tmp_path / "bad.yaml"
    bad.write_text("compute_environments: []\n")

    with pytest.raises(UserError) as caught:
        run_preflight(config_path=bad, region=None, profile=None)

    assert caught.value.exit_code == 2
    assert "compute_environments" in str(caught.value)


EXAMPLE_CONFIGS = sorted((Path(__file__).resolve().parents[3] / "config").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLE_CONFIGS, ids=[p.name for p in EXAMPLE_CONFIGS])
def test_example_configs_run_end_to_end(account: Network, path: Path) -> None:
    """moto: every shipped example config loads, becomes a plan naming its job definitions' instance
    types, and runs every check without an exception escaping (results are whatever moto answers)."""
    from mnp_toolkit.config.load import load_config
    from mnp_toolkit.ops.preflight import plan_from_config, render_table

    config = load_config(path)
    plan = plan_from_config(config)

    results = run_checks(_moto_clients(), plan)

    assert {jd.instance_type for jd in config.job_definitions} <= set(plan.instance_types)
    assert results and all(isinstance(r.result, Result) for r in results)
    # run_checks turns an exception escaping a check into a "report a bug" row: there must be none.
    assert [r for r in results if "report a bug" in r.fix] == []
    assert "Preflight in us-east-1" in render_table(results, region=REGION)
