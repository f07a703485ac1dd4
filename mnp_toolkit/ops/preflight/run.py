"""The whole of `mnp preflight`: every check of a plan, each failure contained (:func:`run_checks`), and the
command's body from a config file to the printed table or JSON and the exit code (:func:`run_preflight`)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from mnp_toolkit.errors import UserError
from mnp_toolkit.ops.aws import EXIT_AWS_ERROR, Notify, describe_aws_error
from mnp_toolkit.ops.capacity_reservations import check_capacity_reservations
from mnp_toolkit.ops.preflight.account import check_account, check_region
from mnp_toolkit.ops.preflight.clients import Clients, make_clients, stop_on_setup_error
from mnp_toolkit.ops.preflight.network import check_network, check_placement_groups
from mnp_toolkit.ops.preflight.offerings import check_efa, check_offerings
from mnp_toolkit.ops.preflight.plan import PreflightPlan, plan_from_config
from mnp_toolkit.ops.preflight.quotas import check_quotas
from mnp_toolkit.ops.preflight.results import CheckResult, Result, exit_code, render_table

DEFAULT_CONFIG_PATH = Path("config/default.yaml")


def run_checks(clients: Clients, plan: PreflightPlan) -> list[CheckResult]:
    """Every check of the plan; an unexpected error in one check makes it could-not-check."""
    steps: list[tuple[str, Callable[[], list[CheckResult]]]] = [
        ("account", lambda: check_account(clients, expected=plan.account)),
        ("region", lambda: check_region(clients, expected=plan.region)),
        (
            "instance type offerings",
            lambda: check_offerings(
                clients, availability_zone=plan.availability_zone, instance_types=plan.instance_types
            ),
        ),
        ("EFA support", lambda: check_efa(clients, instance_types=plan.efa_instance_types)),
        ("vCPU quotas", lambda: check_quotas(clients, jobs=plan.jobs)),
        (
            "network",
            lambda: check_network(
                clients, vpc_id=plan.vpc_id, subnet_ids=plan.subnet_ids, availability_zone=plan.availability_zone
            ),
        ),
        ("placement groups", lambda: check_placement_groups(clients, names=plan.placement_groups)),
        (
            "capacity reservations",
            lambda: [
                CheckResult(check=row.check, result=Result(row.outcome), detail=row.detail, fix=row.fix)
                for row in check_capacity_reservations(
                    clients.ec2,
                    plan.capacity_reservations,
                    resource_groups=clients.resource_groups,
                    region=clients.region,
                )
            ],
        ),
    ]
    results: list[CheckResult] = []
    for name, step in steps:
        try:
            results.extend(step())
        except UserError:
            raise
        except Exception as error:  # no traceback reaches the user: the check becomes could-not-check
            stop_on_setup_error(error, action=f"check {name}", service=None, region=clients.region)
            results.append(
                CheckResult.could_not_check(
                    check=name,
                    detail=describe_aws_error(error, action=f"check {name}"),
                    fix="rerun; report a bug if it persists",
                )
            )
    return results


def run_preflight(
    *,
    config_path: Path,
    region: str | None,
    profile: str | None,
    output_format: str = "text",
    out: TextIO | None = None,
    clients_factory: Callable[..., Clients] = make_clients,
    notify: Notify | None = None,
) -> int:
    """The body of `mnp preflight`; returns the exit code. `notify` hears what a slow endpoint is waited for."""
    from mnp_toolkit.config.load import load_config
    from mnp_toolkit.config.model import ConfigError

    try:
        config = load_config(config_path)
    except ConfigError as error:
        raise UserError(str(error), EXIT_AWS_ERROR) from None
    plan = plan_from_config(config)
    config_region = getattr(getattr(config, "env", None), "region", None)
    extra = {"notify": notify} if notify is not None else {}
    clients = clients_factory(region=region or config_region, profile=profile, **extra)
    results = run_checks(clients, plan)
    stream = out if out is not None else sys.stdout
    if output_format == "json":
        document = {"region": clients.region, "checks": [r.to_dict() for r in results], "exitCode": exit_code(results)}
        print(json.dumps(document, indent=2), file=stream)
    else:
        print(render_table(results, region=clients.region), file=stream)
    return exit_code(results)
