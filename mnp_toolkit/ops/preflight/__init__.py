"""`mnp preflight`: what `cdk synth` cannot know, checked with boto3 against the account before a deploy.

Checks (each reports pass, fail or could-not-check, with the fix):

* the credentials belong to the config's ``env.account`` (STS GetCallerIdentity);
* the Availability Zone exists, and each instance type is offered there
  (EC2 DescribeInstanceTypeOfferings, location type ``availability-zone``);
* EFA support where the config asks for EFA (DescribeInstanceTypes ``NetworkInfo.EfaSupported``);
* the On-Demand vCPU quota of each instance class (Service Quotas, EC2 "Running On-Demand <class>
  instances") covers the largest job (``num_nodes`` x vCPUs) plus what already runs. vCPUs come from
  DescribeInstanceTypes (the account's truth), else from the toolkit's facts table. What runs is an
  *estimate*: the On-Demand instances DescribeInstances sees now (the quota's CloudWatch usage metric
  is the authority);
* an existing VPC's subnets are in the VPC and the AZ, private, and route ``0.0.0.0/0`` to an
  available NAT gateway;
* an existing placement group has the ``cluster`` strategy;
* a capacity reservation (or group) a compute environment launches into fits its jobs
  (:mod:`mnp_toolkit.ops.capacity_reservations`).

A check that AWS does not answer (no permission, an API the endpoint lacks, a quota Service Quotas
does not return) is *could-not-check*, never pass. Exit codes: 0 no check failed, 1 a check failed,
2 usage, config or AWS set-up error (no credentials, no Region).

The package, one module per part: :mod:`~mnp_toolkit.ops.preflight.plan` (what to check, from a config),
:mod:`~mnp_toolkit.ops.preflight.clients` (the AWS clients; AWS errors as rows),
:mod:`~mnp_toolkit.ops.preflight.account` (account and Region),
:mod:`~mnp_toolkit.ops.preflight.offerings` (offerings and EFA), :mod:`~mnp_toolkit.ops.preflight.quotas`
(vCPU quotas), :mod:`~mnp_toolkit.ops.preflight.network` (subnets and placement groups),
:mod:`~mnp_toolkit.ops.preflight.results` (rows, table, exit code) and :mod:`~mnp_toolkit.ops.preflight.run`
(every check; the command). Import from the package.
"""

from mnp_toolkit.ops.preflight.account import check_account, check_region
from mnp_toolkit.ops.preflight.clients import Clients, make_clients
from mnp_toolkit.ops.preflight.network import check_network, check_placement_groups
from mnp_toolkit.ops.preflight.offerings import check_efa, check_offerings
from mnp_toolkit.ops.preflight.plan import JobNeed, PreflightPlan, plan_from_config
from mnp_toolkit.ops.preflight.quotas import QUOTA_PREFIXES, STANDARD, QuotaClass, check_quotas, quota_class
from mnp_toolkit.ops.preflight.results import EXIT_CHECK_FAILED, CheckResult, Result, exit_code, render_table
from mnp_toolkit.ops.preflight.run import DEFAULT_CONFIG_PATH, run_checks, run_preflight

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "EXIT_CHECK_FAILED",
    "QUOTA_PREFIXES",
    "STANDARD",
    "CheckResult",
    "Clients",
    "JobNeed",
    "PreflightPlan",
    "QuotaClass",
    "Result",
    "check_account",
    "check_efa",
    "check_network",
    "check_offerings",
    "check_placement_groups",
    "check_quotas",
    "check_region",
    "exit_code",
    "make_clients",
    "plan_from_config",
    "quota_class",
    "render_table",
    "run_checks",
    "run_preflight",
]
