"""The AWS clients preflight uses (:class:`Clients`, built by :func:`make_clients`), and how an AWS error
becomes a could-not-check row or, for a set-up error (no credentials, no Region, no answer), one line and
exit 2."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mnp_toolkit.errors import UserError
from mnp_toolkit.ops.aws import (
    EXIT_AWS_ERROR,
    Notify,
    client_region,
    describe_aws_error,
    is_setup_error,
    make_client,
    make_session,
)
from mnp_toolkit.ops.preflight.results import CheckResult


@dataclass
class Clients:
    """The AWS clients preflight uses (tests pass moto clients or stubbed ones)."""

    ec2: Any
    service_quotas: Any
    sts: Any
    region: str
    resource_groups: Any = None  # for capacity reservation groups
    # Filled lazily: vCPUs and EFA support per instance type from DescribeInstanceTypes.
    type_info: dict[str, Mapping[str, Any] | None] = field(default_factory=dict)


def stop_on_setup_error(error: BaseException, *, action: str, service: str | None, region: str) -> None:
    """No credentials, no Region, or an endpoint that cannot be reached, does not answer or is not AWS:
    no other check can work either, and each would wait as long again. One line, exit 2."""
    if is_setup_error(error):
        raise UserError(describe_aws_error(error, action=action, service=service, region=region), EXIT_AWS_ERROR)


def unknown_result(check: str, error: BaseException, *, action: str, service: str, fix: str = "") -> CheckResult:
    stop_on_setup_error(error, action=action, service=service, region="")
    detail = describe_aws_error(error, action=action, service=service)
    if isinstance(error, NotImplementedError):
        detail = f"could not {action}: the endpoint does not implement it ({error})"
    return CheckResult.could_not_check(check=check, detail=detail, fix=fix or "grant the permission and rerun")


def make_clients(*, region: str | None, profile: str | None, notify: Notify | None = None) -> Clients:
    session = make_session(region=region, profile=profile)
    ec2 = make_client("ec2", session=session, notify=notify)
    return Clients(
        ec2=ec2,
        service_quotas=make_client("service-quotas", session=session, notify=notify),
        sts=make_client("sts", session=session, notify=notify),
        region=client_region(ec2),
        resource_groups=make_client("resource-groups", session=session, notify=notify),
    )
