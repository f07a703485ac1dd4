"""Read what `mnp audit` checks from a live account, with boto3: plain API responses, nothing interpreted.

What is read, in this order (each step needs only what the previous ones found):

1. every compute environment, job queue and ACTIVE job definition of the Region (Batch ``Describe*``,
   paginated: at most 100 a page, the API's maximum);
2. the launch-template versions the compute environments use, overrides included
   (``DescribeLaunchTemplateVersions``: one call per launch template, every version it is used with);
3. the security groups of the compute environments and of those launch-template versions
   (``DescribeSecurityGroups``), their subnets (``DescribeSubnets``), every route table and VPC endpoint of
   those subnets' VPCs (``DescribeRouteTables``, ``DescribeVpcEndpoints``) and their placement groups
   (``DescribePlacementGroups``). EC2 ids and names are passed as filter values, 100 a call, so a
   resource deleted under a compute environment is simply not found instead of failing the whole call.

Every list call goes through botocore's paginators, and every call through clients from
:func:`mnp_toolkit.ops.aws.make_client` (botocore's standard retry mode with connect/read timeouts, so
throttling is retried, not reported). The number of calls grows linearly with the number of resources.

The caller needs only the read-only actions in :data:`AUDIT_ACTIONS` (docs/audit.md has the policy); a
missing one ends the audit with one line naming it (:func:`mnp_toolkit.ops.aws.describe_aws_error`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from mnp_toolkit.errors import UserError
from mnp_toolkit.ops.aws import EXIT_AWS_ERROR, aws_exception_types, describe_aws_error, error_code

#: Every IAM action the audit calls: read-only, and each one needed (tests/mnp_toolkit/ops/test_audit_iam.py).
#: ``sts:GetCallerIdentity`` (the account id for the report) needs no permission ("No permissions are
#: required to perform this operation", STS API reference, GetCallerIdentity).
AUDIT_ACTIONS: tuple[str, ...] = (
    "batch:DescribeComputeEnvironments",
    "batch:DescribeJobDefinitions",
    "batch:DescribeJobQueues",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:DescribePlacementGroups",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcEndpoints",
)

#: Batch ``Describe*`` return at most 100 items a page ("This value can be between 1 and 100", API
#: reference, DescribeComputeEnvironments / DescribeJobQueues / DescribeJobDefinitions ``maxResults``).
BATCH_PAGE_SIZE = 100
#: Ids or names per EC2 filter. EC2 does not document a maximum number of filter values for these calls;
#: 100 keeps each request small, as DescribeJobs' documented batch of 100 ids does.
EC2_FILTER_BATCH = 100

#: The Batch create calls whose input members are a resource's CloudFormation properties (camelCase), so
#: that what the describe calls add (ARNs, status, ECS cluster...) stays out of the model.
CREATE_OPERATIONS = {
    "compute_environment": "CreateComputeEnvironment",
    "job_queue": "CreateJobQueue",
    "job_definition": "RegisterJobDefinition",
}

#: Launch-template errors that mean "it is gone" (the compute environment references a deleted template or
#: version): the template is left out, which the rules then report as not verifiable.
_LAUNCH_TEMPLATE_MISSING = frozenset(
    {
        "InvalidLaunchTemplateId.NotFound",
        "InvalidLaunchTemplateId.Malformed",
        "InvalidLaunchTemplateName.NotFoundException",
        "InvalidLaunchTemplateId.VersionNotFound",
        "InvalidLaunchTemplateName.MalformedException",
    }
)

#: ``LaunchTemplateSpecification.version``: "Default: $Default" (Batch API reference).
DEFAULT_VERSION = "$Default"
LATEST_VERSION = "$Latest"


@dataclass(frozen=True)
class LaunchTemplateKey:
    """A launch template as a compute environment names it: by id or by name (exactly one is set)."""

    template_id: str | None
    name: str | None

    def describe(self) -> str:
        return self.template_id or self.name or "?"


@dataclass
class LiveAccount:
    """The API responses the audit checks, as returned (lists of the API's own structures)."""

    account: str
    region: str
    compute_environments: list[dict[str, Any]] = field(default_factory=list)
    job_queues: list[dict[str, Any]] = field(default_factory=list)
    job_definitions: list[dict[str, Any]] = field(default_factory=list)
    #: (launch template, version as the CE writes it: "3", "$Latest", "$Default") -> the version found
    launch_template_versions: dict[tuple[LaunchTemplateKey, str], dict[str, Any]] = field(default_factory=dict)
    security_groups: list[dict[str, Any]] = field(default_factory=list)
    subnets: list[dict[str, Any]] = field(default_factory=list)
    route_tables: list[dict[str, Any]] = field(default_factory=list)
    vpc_endpoints: list[dict[str, Any]] = field(default_factory=list)
    placement_groups: list[dict[str, Any]] = field(default_factory=list)
    #: CREATE_OPERATIONS key -> the camelCase input members of that create call (botocore's service model)
    create_members: dict[str, frozenset[str]] = field(default_factory=dict)
    #: True when only the latest ACTIVE revision of each job definition name was kept
    latest_revisions_only: bool = True


@dataclass(frozen=True)
class AuditClients:
    """The clients the audit reads with (Batch, EC2, STS), made by :func:`make_audit_clients`."""

    batch: Any
    ec2: Any
    sts: Any

    @property
    def region(self) -> str:
        return str(getattr(self.batch.meta, "region_name", None) or "?")


def make_audit_clients(*, session: Any = None, region: str | None = None, profile: str | None = None) -> AuditClients:
    """Batch, EC2 and STS clients of one session (``--region``/``--profile``, ``AWS_ENDPOINT_URL``...)."""
    from mnp_toolkit.ops.aws import make_client, make_session

    if session is None:
        session = make_session(region=region, profile=profile)
    return AuditClients(
        batch=make_client("batch", session=session),
        ec2=make_client("ec2", session=session),
        sts=make_client("sts", session=session),
    )


def _call(what: str, service: str, region: str, function: Callable[[], Any]) -> Any:
    """Run an AWS call; any AWS error becomes one line naming what failed (and the missing IAM action)."""
    try:
        return function()
    except aws_exception_types() as error:
        raise UserError(
            describe_aws_error(error, action=what, service=service, region=region), EXIT_AWS_ERROR
        ) from None


def _pages(client: Any, operation: str, key: str, **parameters: Any) -> Iterator[dict[str, Any]]:
    """Every item under ``key`` of every page of a paginated call (the caller handles AWS errors)."""
    paginator = client.get_paginator(operation)
    for page in paginator.paginate(**parameters):
        for item in page.get(key) or ():
            if isinstance(item, dict):
                yield item


def _chunks(values: Iterable[str], size: int) -> Iterator[list[str]]:
    ordered = sorted(set(values))
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


def _create_members(batch: Any) -> dict[str, frozenset[str]]:
    model = batch.meta.service_model
    return {
        kind: frozenset(model.operation_model(operation).input_shape.members)
        for kind, operation in CREATE_OPERATIONS.items()
    }


def launch_template_entries(compute_environment: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """``computeResources.launchTemplate`` and each of its ``overrides`` (the mappings only, in order)."""
    resources = compute_environment.get("computeResources")
    spec = resources.get("launchTemplate") if isinstance(resources, Mapping) else None
    if not isinstance(spec, Mapping):
        return []
    overrides = spec.get("overrides")
    return [item for item in [spec, *(overrides if isinstance(overrides, list) else [])] if isinstance(item, Mapping)]


def launch_template_spec(entry: Mapping[str, Any]) -> tuple[LaunchTemplateKey, str] | None:
    """The launch template an entry names (by id, else by name) and its version as written; a missing
    version is ``$Default`` (Batch API, LaunchTemplateSpecification). None when it names no template."""
    template_id, name = entry.get("launchTemplateId"), entry.get("launchTemplateName")
    if isinstance(template_id, str) and template_id:
        key = LaunchTemplateKey(template_id, None)
    elif isinstance(name, str) and name:
        key = LaunchTemplateKey(None, name)
    else:
        return None
    version = entry.get("version")
    if isinstance(version, int) and not isinstance(version, bool):
        version = str(version)
    return key, version.strip() if isinstance(version, str) and version.strip() else DEFAULT_VERSION


def launch_template_specs(compute_environment: Mapping[str, Any]) -> list[tuple[LaunchTemplateKey, str]]:
    """Every launch template (and version) a compute environment uses, overrides included."""
    specs = (launch_template_spec(entry) for entry in launch_template_entries(compute_environment))
    return [spec for spec in specs if spec is not None]


def _pick_versions(versions: list[dict[str, Any]], wanted: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Which described version each wanted spec stands for: a number, ``$Default`` (the version marked
    ``DefaultVersion``) or ``$Latest`` (the highest number: the response holds it, and no version above)."""
    by_number = {version.get("VersionNumber"): version for version in versions}
    picked: dict[str, dict[str, Any]] = {}
    for spec in wanted:
        if spec == DEFAULT_VERSION:
            match = next((version for version in versions if version.get("DefaultVersion") is True), None)
        elif spec == LATEST_VERSION:
            numbered = [version for version in versions if isinstance(version.get("VersionNumber"), int)]
            match = max(numbered, key=lambda version: version["VersionNumber"], default=None)
        else:
            match = by_number.get(int(spec)) if spec.isdigit() else None
        if match is not None:
            picked[spec] = match
    return picked


def _launch_template_versions(
    ec2: Any, region: str, key: LaunchTemplateKey, specs: list[str]
) -> dict[str, dict[str, Any]]:
    """The versions of one launch template, by spec; {} for a template that is gone. A missing version
    fails the whole call, so the specs are then asked one by one (each at most once)."""
    target = {"LaunchTemplateId": key.template_id} if key.template_id else {"LaunchTemplateName": key.name}
    what = f"describe the versions of launch template {key.describe()}"

    def ask(versions: list[str]) -> list[dict[str, Any]] | None:
        try:
            return list(
                _pages(ec2, "describe_launch_template_versions", "LaunchTemplateVersions", **target, Versions=versions)
            )
        except aws_exception_types() as error:
            if error_code(error) in _LAUNCH_TEMPLATE_MISSING:
                return None
            raise UserError(
                describe_aws_error(error, action=what, service="ec2", region=region), EXIT_AWS_ERROR
            ) from None

    found = ask(specs)
    if found is not None:
        return _pick_versions(found, specs)
    if len(specs) == 1:
        return {}
    picked: dict[str, dict[str, Any]] = {}
    for spec in specs:
        one = ask([spec])
        if one is not None:
            picked.update(_pick_versions(one, [spec]))
    return picked


def _security_group_ids(live: LiveAccount) -> set[str]:
    ids: set[str] = set()
    for ce in live.compute_environments:
        resources = ce.get("computeResources")
        listed = resources.get("securityGroupIds") if isinstance(resources, Mapping) else None
        ids.update(item for item in listed or () if isinstance(item, str))
    for version in live.launch_template_versions.values():
        data = version.get("LaunchTemplateData")
        if not isinstance(data, Mapping):
            continue
        ids.update(item for item in data.get("SecurityGroupIds") or () if isinstance(item, str))
        for interface in data.get("NetworkInterfaces") or ():
            if isinstance(interface, Mapping):
                ids.update(item for item in interface.get("Groups") or () if isinstance(item, str))
    return ids


def _compute_resource_values(live: LiveAccount, key: str) -> set[str]:
    values: set[str] = set()
    for ce in live.compute_environments:
        resources = ce.get("computeResources")
        value = resources.get(key) if isinstance(resources, Mapping) else None
        if isinstance(value, str) and value:
            values.add(value)
        elif isinstance(value, list):
            values.update(item for item in value if isinstance(item, str))
    return values


def _ec2_by_filter(
    ec2: Any, region: str, *, operation: str, key: str, filter_name: str, values: Iterable[str], what: str
) -> list[dict[str, Any]]:
    """Every item an EC2 describe call returns for ``values`` of one filter, 100 values a call, paginated
    where botocore can paginate the call (DescribePlacementGroups has no pagination)."""

    def read(filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if ec2.can_paginate(operation):
            return list(_pages(ec2, operation, key, Filters=filters))
        response = getattr(ec2, operation)(Filters=filters)
        return [item for item in response.get(key) or () if isinstance(item, dict)]

    items: list[dict[str, Any]] = []
    for chunk in _chunks(values, EC2_FILTER_BATCH):
        items.extend(_call(what, "ec2", region, functools.partial(read, [{"Name": filter_name, "Values": chunk}])))
    return items


def latest_revisions(definitions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The highest revision of each job definition name, names in the order they first appear."""
    latest: dict[str, dict[str, Any]] = {}
    for definition in definitions:
        name = str(definition.get("jobDefinitionName", ""))
        revision = definition.get("revision")
        current = latest.get(name)
        if current is None or (isinstance(revision, int) and revision > (current.get("revision") or 0)):
            latest[name] = definition
    return list(latest.values())


def read_account(clients: AuditClients, *, all_revisions: bool = False) -> LiveAccount:
    """Read every resource the audit checks (module docstring); AWS errors become one-line UserErrors."""
    region = clients.region
    batch, ec2 = clients.batch, clients.ec2
    identity = _call("identify the account (sts GetCallerIdentity)", "sts", region, clients.sts.get_caller_identity)
    live = LiveAccount(account=str(identity.get("Account", "?")), region=region)
    live.create_members = _create_members(batch)
    page = {"PaginationConfig": {"PageSize": BATCH_PAGE_SIZE}}
    live.compute_environments = _call(
        "describe the compute environments",
        "batch",
        region,
        lambda: list(_pages(batch, "describe_compute_environments", "computeEnvironments", **page)),
    )
    live.job_queues = _call(
        "describe the job queues",
        "batch",
        region,
        lambda: list(_pages(batch, "describe_job_queues", "jobQueues", **page)),
    )
    definitions = _call(
        "describe the ACTIVE job definitions",
        "batch",
        region,
        lambda: list(_pages(batch, "describe_job_definitions", "jobDefinitions", status="ACTIVE", **page)),
    )
    live.latest_revisions_only = not all_revisions
    live.job_definitions = definitions if all_revisions else latest_revisions(definitions)

    wanted: dict[LaunchTemplateKey, list[str]] = {}
    for ce in live.compute_environments:
        for key, version_spec in launch_template_specs(ce):
            specs = wanted.setdefault(key, [])
            if version_spec not in specs:
                specs.append(version_spec)
    for key, specs in wanted.items():
        for spec, found in _launch_template_versions(ec2, region, key, specs).items():
            live.launch_template_versions[(key, spec)] = found

    live.security_groups = _ec2_by_filter(
        ec2,
        region,
        operation="describe_security_groups",
        key="SecurityGroups",
        filter_name="group-id",
        values=_security_group_ids(live),
        what="describe the security groups of the compute environments",
    )
    live.subnets = _ec2_by_filter(
        ec2,
        region,
        operation="describe_subnets",
        key="Subnets",
        filter_name="subnet-id",
        values=_compute_resource_values(live, "subnets"),
        what="describe the subnets of the compute environments",
    )
    vpcs = {subnet["VpcId"] for subnet in live.subnets if isinstance(subnet.get("VpcId"), str)}
    live.route_tables = _ec2_by_filter(
        ec2,
        region,
        operation="describe_route_tables",
        key="RouteTables",
        filter_name="vpc-id",
        values=vpcs,
        what="describe the route tables of the compute environments' VPCs",
    )
    live.vpc_endpoints = _ec2_by_filter(
        ec2,
        region,
        operation="describe_vpc_endpoints",
        key="VpcEndpoints",
        filter_name="vpc-id",
        values=vpcs,
        what="describe the VPC endpoints of the compute environments' VPCs",
    )
    live.placement_groups = _ec2_by_filter(
        ec2,
        region,
        operation="describe_placement_groups",
        key="PlacementGroups",
        filter_name="group-name",
        values=_compute_resource_values(live, "placementGroup"),
        what="describe the placement groups of the compute environments",
    )
    return live
