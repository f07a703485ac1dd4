"""`mnp submit`: submit a job to AWS Batch, optionally overriding the node count, and follow it.

``--nodes N`` becomes ``nodeOverrides.numNodes``. AWS Batch accepts that override only when the job
definition has a node range with an open upper end (``n:``) whose lower bound is below N, and a main
node index below N (SubmitJob ``NodeOverrides.numNodes``). When the job definition can be read, those
conditions are checked before submitting so the error can say what to change; when AWS rejects the
override anyway, the error explains the same.

Per-range overrides: ``--node-override TARGET KEY=VALUE`` (repeatable) sets, for the node range ``TARGET``,
``command`` (split like a shell, sent in exec form), ``env.NAME``, ``instance-type``, ``vcpus``, ``memory``
(MiB) or ``gpus``, sent as ``nodeOverrides.nodePropertyOverrides[].containerOverrides`` (the resources as
``resourceRequirements``: the ``vcpus``/``memory`` fields of ContainerOverrides are deprecated and do not
override a definition's requirements, API ``ContainerOverrides``). Before SubmitJob they are checked on the
definition with :func:`mnp_toolkit.core.node_groups.apply_node_overrides` (each target must be one of the
definition's node ranges: AWS's "NodeOverride targets should match job definition"), then each overridden range
in effect against its instance type (:func:`mnp_toolkit.core.job_spec.exceeds_instance`: a node asking more
than its instance offers waits in RUNNABLE for ever), and "all node groups in a multi-node parallel job must use
the same instance type" (user guide, "Node groups"). Every problem is named at once, exit 2.

Fair-share queues: a queue with a fair-share scheduling policy takes only jobs with a share identifier
(``--share-identifier``, SubmitJob ``shareIdentifier``: "If the job queue has a fair-share scheduling
policy, then this parameter must be specified"), and a queue without one refuses it ("Don't specify this
parameter if the job queue doesn't have a fair-share scheduling policy"). ``--scheduling-priority`` (0 to
9999, ``schedulingPriorityOverride``) orders jobs within one share identifier. Given either option, the
queue is read first (DescribeJobQueues) so a mismatch is named before submitting; without them nothing
extra is called, and a rejection for a missing share identifier is explained.

The job id goes to stdout (alone, so ``JOB=$(mnp submit ...)`` works); with ``--wait`` the progress
lines and the final node table go to stderr, and the exit code is that of `mnp status`
(0 succeeded, 1 failed, 2 usage or AWS error).
"""

from __future__ import annotations

import contextlib
import re
import shlex
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from mnp_toolkit.core import instance_types
from mnp_toolkit.core.job_spec import exceeds_instance
from mnp_toolkit.core.limits import (
    JOB_NAME_PATTERN,
    MAX_SCHEDULING_PRIORITY,
    MIN_MEMORY_MIB,
    MIN_SCHEDULING_PRIORITY,
    MIN_VCPUS,
    NODE_GROUPS_DOCS_URL,
    SHARE_IDENTIFIER_PATTERN,
)
from mnp_toolkit.core.node_groups import (
    NodeGroupsError,
    apply_node_overrides,
    node_groups,
    node_range_asks,
    num_nodes_conflicts,
)
from mnp_toolkit.core.target_nodes import TargetNodesError, parse_target_nodes
from mnp_toolkit.errors import UserError
from mnp_toolkit.ops.aws import (
    EXIT_AWS_ERROR,
    AwsUnexpectedResponse,
    aws_errors,
    aws_exception_types,
    client_region,
    describe_aws_error,
    error_code,
    error_message,
    is_access_denied,
    shown,
)
from mnp_toolkit.ops.status import (
    DEFAULT_INTERVAL_SECONDS,
    JobStatus,
    render_progress_line,
    render_text,
    watch_job,
)

# SubmitJob jobName: up to 128 letters, numbers, hyphens and underscores, starting alphanumeric.
_JOB_NAME = re.compile(JOB_NAME_PATTERN)
_ARN_DEFINITION = re.compile(r"^arn:[^:]+:batch:[^:]*:\d*:job-definition/(?P<name>[^:]+):(?P<rev>\d+)$")
_NAME_REVISION = re.compile(r"^(?P<name>[A-Za-z0-9_-]+):(?P<rev>\d+)$")


@dataclass(frozen=True, kw_only=True)
class JobDefinitionInfo:
    """What `mnp submit` needs to know about the job definition it submits."""

    name: str
    revision: int
    arn: str
    type: str
    num_nodes: int | None = None  # None: the definition's nodeProperties were not returned
    main_node: int | None = None
    target_nodes: tuple[str, ...] = ()
    node_properties: Mapping[str, Any] | None = None  # as DescribeJobDefinitions returns them (None: not returned)

    @property
    def label(self) -> str:
        return f"{self.name}:{self.revision}"


def _definition_info(detail: Mapping[str, Any]) -> JobDefinitionInfo:
    props = detail.get("nodeProperties") or {}
    ranges = tuple(str(r.get("targetNodes", "")) for r in props.get("nodeRangeProperties") or [])
    num_nodes = props.get("numNodes")
    main_node = props.get("mainNode")
    return JobDefinitionInfo(
        name=str(detail["jobDefinitionName"]),
        revision=int(detail["revision"]),
        arn=str(detail["jobDefinitionArn"]),
        type=str(detail.get("type", "")),
        num_nodes=num_nodes if isinstance(num_nodes, int) else None,
        main_node=main_node if isinstance(main_node, int) else None,
        target_nodes=ranges,
        node_properties=props if props.get("nodeRangeProperties") else None,
    )


def resolve_job_definition(client: Any, *, definition: str) -> JobDefinitionInfo | None:
    """Find the job definition SubmitJob would use: ``name`` (latest ACTIVE revision),
    ``name:revision`` or an ARN. Returns None when the caller may not read job definitions.

    Lookup is by name, filtering revisions here, because that works for every form of the reference.
    """
    match = _ARN_DEFINITION.match(definition) or _NAME_REVISION.match(definition)
    name = match.group("name") if match else definition
    revision = int(match.group("rev")) if match else None
    region = client_region(client)
    details: list[dict[str, Any]] = []
    try:
        paginator = client.get_paginator("describe_job_definitions")
        for page in paginator.paginate(jobDefinitionName=name, status="ACTIVE"):
            details.extend(page.get("jobDefinitions", []))
    except aws_exception_types() as error:
        if is_access_denied(error):
            return None
        raise UserError(
            describe_aws_error(
                error, action=f"look up job definition {shown(definition)}", service="batch", region=region
            ),
            EXIT_AWS_ERROR,
        ) from None
    if not all(
        isinstance(d, dict)
        and isinstance(d.get("jobDefinitionName"), str)
        and isinstance(d.get("jobDefinitionArn"), str)
        and type(d.get("revision")) is int
        for d in details
    ):
        unexpected = AwsUnexpectedResponse(
            "the endpoint answered DescribeJobDefinitions without names, ARNs and revisions"
        )
        raise UserError(
            describe_aws_error(unexpected, action=f"look up job definition {shown(definition)}", region=region),
            EXIT_AWS_ERROR,
        )
    candidates = [d for d in details if revision is None or d["revision"] == revision]
    if not candidates:
        name = shown(name)
        which = f"revision {revision} of job definition {name}" if revision else f"job definition {name}"
        raise UserError(
            f"{which} not found (no ACTIVE revision) in {region}: check --job-definition and --region, "
            "or deploy the stack that registers it",
            EXIT_AWS_ERROR,
        )
    return _definition_info(max(candidates, key=lambda d: int(d["revision"])))


def node_override_problem(info: JobDefinitionInfo, *, nodes: int) -> str | None:
    """Why AWS Batch would reject ``numNodes`` = ``nodes`` for this definition, or None if it would not.

    The decision is the core's (:func:`mnp_toolkit.core.node_groups.num_nodes_conflicts`, the documented
    SubmitJob conditions); where the definition's node properties are unknown or malformed nothing is
    claimed (AWS is the judge rather than a guess).
    """
    if info.type and info.type.lower() != "multinode":
        return (
            f"job definition {info.label} is a {info.type} job, not multinode: --nodes applies only to "
            "multi-node parallel job definitions; drop --nodes"
        )
    try:
        targets = [parse_target_nodes(target) for target in info.target_nodes]
    except TargetNodesError:
        return None
    if not targets:
        return None
    ranges_text = ", ".join(info.target_nodes)
    words: list[str] = []
    for kind, value in num_nodes_conflicts(nodes, main_node=info.main_node, targets=targets):
        if kind == "no_open_range":
            current = f" to run its {info.num_nodes} nodes" if info.num_nodes else ""
            return (
                f"job definition {info.label} cannot take --nodes {nodes}: its node ranges ({ranges_text}) "
                "are all closed, and AWS Batch overrides numNodes only when a range has an open upper end "
                f"(`n:`); register a revision whose last range is open (e.g. `{targets[-1].start}:`), or "
                f"submit without --nodes{current}"
            )
        if kind == "open_range_start":
            words.append(
                f"its open-ended node range starts at index {value}, and AWS Batch needs that start below the "
                f"node count; ask for at least {value + 1} nodes, or register a revision whose open range "
                "starts lower"
            )
        else:
            words.append(
                f"its main node is index {value}, which must be below the node count; ask for at least "
                f"{value + 1} nodes"
            )
    return f"job definition {info.label} cannot take --nodes {nodes}: {'; '.join(words)}" if words else None


# ------------------------------------------------------------------------------------ node overrides

#: The settings ``--node-override TARGET KEY=VALUE`` takes (``env.NAME`` for any variable NAME).
NODE_OVERRIDE_KEYS = ("command", "env.NAME", "instance-type", "vcpus", "memory", "gpus")
_RESOURCE_KEYS = {
    "vcpus": ("VCPU", MIN_VCPUS, "vCPUs"),
    "memory": ("MEMORY", MIN_MEMORY_MIB, "MiB"),
    "gpus": ("GPU", 0, "GPUs"),
}
# How the core names an override's fields (nodeOverrides.nodePropertyOverrides[0].targetNodes '0:2', ...).
_NODE_OVERRIDE_FIELD = re.compile(
    r"(?:nodeOverrides\.)?nodePropertyOverrides\[(\d+)\]"
    r"(?:\.targetNodes '[^']*'|\.containerOverrides(?:\.environment\[\d+\]\.name)?)?"
)


def _whole_number(text: str) -> int | None:
    value = text.strip()
    return int(value) if value.isascii() and value.isdigit() else None


def _override_setting(target: str, setting: str, container: dict[str, Any], seen: set[str]) -> str | None:
    """Add one ``KEY=VALUE`` to the ``containerOverrides`` of ``target``; the problem, or None."""
    where = f"--node-override {shown(target)} {shown(setting)}"
    key, equals, value = setting.partition("=")
    key = key.strip()
    if not equals:
        return f"{where}: write KEY=VALUE, with KEY one of {', '.join(NODE_OVERRIDE_KEYS)}"
    name = key[len("env.") :] if key.startswith("env.") else None
    if key in seen:
        return f"{where}: {key} is given twice for {shown(target)}; give it once"
    seen.add(key)
    if name is not None:
        if not name:
            return f"{where}: env. needs a variable name (env.NAME=VALUE)"
        container.setdefault("environment", []).append({"name": name, "value": value})
        return None
    if key == "command":
        try:
            command = shlex.split(value)
        except ValueError as error:
            return f"{where}: the command does not split like a shell command ({error}); check the quotes"
        if not command or any(argument == "" for argument in command):
            return f"{where}: the command is empty or has an empty argument, which SubmitJob refuses"
        container["command"] = command
        return None
    if key == "instance-type":
        if not instance_types.is_instance_type_name(value.strip()):
            return f"{where}: {shown(value)} is not an instance type name such as c5n.18xlarge"
        container["instanceType"] = value.strip()
        return None
    if key in _RESOURCE_KEYS:
        kind, minimum, unit = _RESOURCE_KEYS[key]
        number = _whole_number(value)
        if number is None or number < minimum:
            return f"{where}: {key} must be a whole number of {unit}, at least {minimum}"
        requirements = container.setdefault("resourceRequirements", [])
        requirements.append({"type": kind, "value": str(number)})
        return None
    return f"{where}: unknown setting {shown(key)}; use one of {', '.join(NODE_OVERRIDE_KEYS)}"


def parse_node_overrides(pairs: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """``--node-override TARGET KEY=VALUE`` pairs as SubmitJob ``nodePropertyOverrides`` (one entry per target, in
    the order first given). Raises :class:`UserError` naming every problem at once."""
    problems: list[str] = []
    by_target: dict[str, tuple[dict[str, Any], set[str]]] = {}
    for target, setting in pairs:
        try:
            parse_target_nodes(target)
        except TargetNodesError as error:
            problems.append(f"--node-override {shown(target)}: {error}; write a node range of the job definition")
            continue
        container, seen = by_target.setdefault(target, ({}, set()))
        problem = _override_setting(target, setting, container, seen)
        if problem:
            problems.append(problem)
    if problems:
        raise UserError("; ".join(problems), EXIT_AWS_ERROR)
    return [{"targetNodes": target, "containerOverrides": container} for target, (container, _) in by_target.items()]


def _cli_words(problem: str, overrides: Sequence[Mapping[str, Any]]) -> str:
    """A core problem about ``nodeOverrides.nodePropertyOverrides[i]`` said with the option that made it."""

    def option(match: re.Match[str]) -> str:
        index = int(match.group(1))
        target = overrides[index]["targetNodes"] if index < len(overrides) else "?"
        return f"--node-override {shown(str(target))}"

    return _NODE_OVERRIDE_FIELD.sub(option, problem)


def node_property_override_problems(
    info: JobDefinitionInfo, overrides: Sequence[Mapping[str, Any]], *, nodes: int | None = None
) -> list[str]:
    """Why AWS Batch would refuse, or never place, a job of ``info`` with these ``nodePropertyOverrides`` (and
    ``numNodes`` = ``nodes``); empty when nothing is wrong or the definition's node ranges are unknown."""
    if info.type and info.type.lower() != "multinode":
        return [
            f"job definition {info.label} is a {info.type} job, not multinode: --node-override applies only to "
            "multi-node parallel job definitions; drop --node-override"
        ]
    properties = info.node_properties
    if properties is None:
        return []  # nodeProperties not returned: nothing to judge
    try:
        node_groups(properties)
    except NodeGroupsError:
        return []  # the definition's own ranges do not parse: AWS is the judge
    ranges = properties.get("nodeRangeProperties") or []
    if any(not isinstance(r, Mapping) or not isinstance(r.get("container"), Mapping) for r in ranges):
        return [
            f"job definition {info.label} has node ranges without a container (ecsProperties or eksProperties); "
            "--node-override sends containerOverrides: use the AWS CLI's --node-overrides with "
            "ecsPropertiesOverride/eksPropertiesOverride for such a definition"
        ]

    def apply(chosen: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        request: dict[str, Any] = {"nodePropertyOverrides": [dict(o) for o in chosen]}
        if nodes is not None:
            request["numNodes"] = nodes
        return apply_node_overrides(properties, request)

    try:
        return _asks_problems(info, properties, apply(overrides), overrides)
    except NodeGroupsError as error:
        problems = [_cli_words(problem, overrides) for problem in error.problems]
    # Every problem at once: the overrides that are right on their own are still judged on what they ask.
    valid = []
    for override in overrides:
        try:
            apply([override])
        except NodeGroupsError:
            continue
        valid.append(override)
    with contextlib.suppress(NodeGroupsError):  # the valid ones conflict with each other: said above
        problems += _asks_problems(info, properties, apply(valid), valid) if valid else []
    return problems


def _asks_problems(
    info: JobDefinitionInfo,
    properties: Mapping[str, Any],
    effective: Mapping[str, Any],
    overrides: Sequence[Mapping[str, Any]],
) -> list[str]:
    """What the overridden ranges in effect ask of their instance type, and one instance type for all groups."""
    problems: list[str] = []
    before = properties["nodeRangeProperties"]
    after = effective["nodeRangeProperties"]
    types: dict[str, list[str]] = {}
    for group in node_groups(effective):
        node_range = after[group.range_index]
        asks = node_range_asks(node_range)
        where = f"{group.describe()} (node range {group.target_nodes})"
        if asks.instance_type:
            types.setdefault(asks.instance_type.lower(), []).append(where)
        if node_range == before[group.range_index] or asks.instance_type is None:
            continue  # not overridden (the definition is the rule pack's, MNP015), or no type to judge
        facts = instance_types.lookup(asks.instance_type)
        if facts is None:
            continue  # a type newer than the toolkit's table: unknown, never a violation
        gpus = int(asks.gpus) if asks.gpus is not None else None
        for name, asked, offered in exceeds_instance(
            vcpus=asks.vcpus,
            memory_mib=int(asks.memory_mib) if asks.memory_mib is not None else None,
            gpus=gpus,
            facts=facts,
        ):
            what, offers, key = {
                "vcpus": ("vCPUs", "has", "vcpus"),
                "memory_mib": ("MiB of memory", "offers containers at most", "memory"),
                "gpus": ("GPUs", "has", "gpus"),
            }[name]
            problems.append(
                f"with the overrides, {where} would ask for {asked:g} {what} per node, but {facts.name} {offers} "
                f"{offered}, so the job would wait in RUNNABLE for ever: give {key}={offered} or less, or a larger "
                "instance-type"
            )
    sets_type = any("instanceType" in (o.get("containerOverrides") or {}) for o in overrides)
    if sets_type and len(types) > 1:
        shown_types = "; ".join(f"{name} for {', '.join(places)}" for name, places in types.items())
        problems.append(
            f"with the overrides, the nodes would run on different instance types ({shown_types}), and all node "
            f"groups of a multi-node parallel job must use the same one ({NODE_GROUPS_DOCS_URL}): give the same "
            f"instance-type to every node range of job definition {info.label}"
        )
    return problems


_SHARE_IDENTIFIER = re.compile(SHARE_IDENTIFIER_PATTERN)


def check_fair_share_options(*, share_identifier: str | None, scheduling_priority: int | None) -> None:
    """The fair-share options on their own (no AWS call). Raises :class:`UserError`."""
    if scheduling_priority is not None and share_identifier is None:
        raise UserError(
            "--scheduling-priority orders jobs within one share identifier of a fair-share queue: give "
            "--share-identifier too (AWS Batch uses the priority only on fair-share queues)",
            EXIT_AWS_ERROR,
        )
    if share_identifier is not None and not _SHARE_IDENTIFIER.fullmatch(share_identifier):
        raise UserError(
            f"--share-identifier {shown(share_identifier)} is not a share identifier: use up to 255 letters, "
            "digits, '-' and '_', optionally followed by '*' (SubmitJob shareIdentifier)",
            EXIT_AWS_ERROR,
        )
    if (
        scheduling_priority is not None
        and not MIN_SCHEDULING_PRIORITY <= scheduling_priority <= MAX_SCHEDULING_PRIORITY
    ):
        raise UserError(
            f"--scheduling-priority {scheduling_priority} is out of range: AWS Batch takes "
            f"{MIN_SCHEDULING_PRIORITY} to {MAX_SCHEDULING_PRIORITY} (higher runs first)",
            EXIT_AWS_ERROR,
        )


def queue_has_fair_share(client: Any, *, queue: str) -> bool | None:
    """Whether the queue has a scheduling policy (DescribeJobQueues ``schedulingPolicyArn``); None when it
    cannot be read (no permission) or is not found (SubmitJob then says so)."""
    region = client_region(client)
    try:
        queues = client.describe_job_queues(jobQueues=[queue]).get("jobQueues")
    except aws_exception_types() as error:
        if is_access_denied(error):
            return None
        raise UserError(
            describe_aws_error(error, action=f"look up job queue {shown(queue)}", service="batch", region=region),
            EXIT_AWS_ERROR,
        ) from None
    if not isinstance(queues, list) or not queues or not isinstance(queues[0], Mapping):
        return None
    return bool(queues[0].get("schedulingPolicyArn"))


def _explain_rejection(
    error: BaseException,
    *,
    nodes: int | None,
    definition: str,
    region: str,
    share_identifier: str | None = None,
    node_overrides: bool = False,
) -> str:
    """One line for a failed SubmitJob, explaining the node-override and share-identifier conditions."""
    line = describe_aws_error(error, action=f"submit {shown(definition)}", service="batch", region=region)
    if error_code(error) != "ClientException":
        return line
    message = error_message(error).lower()
    if share_identifier is None and "share" in message:
        line += (
            " -- the queue has a fair-share scheduling policy, and AWS Batch requires a share identifier on "
            "every job submitted to it: pass --share-identifier (one of the identifiers its policy weighs, or any)"
        )
    if node_overrides and ("target" in message or "override" in message):
        line += (
            " -- each --node-override TARGET must be one of the job definition's node ranges, with the same first "
            "and last node (see them with `aws batch describe-job-definitions`)"
        )
    if nodes is None:
        return line
    if "node" in message or "range" in message:
        line += (
            f" -- overriding numNodes to {nodes} needs a node range with an open upper end (`n:`) "
            "whose start, and the main node index, are below the node count: register such a "
            "revision of the job definition or submit without --nodes"
        )
    return line


def default_job_name(definition_name: str, *, now: datetime | None = None) -> str:
    """``<definition>-<UTC timestamp>``, made to fit SubmitJob's jobName rules."""
    stamp = (now or datetime.now(tz=UTC)).strftime("%Y%m%dT%H%M%SZ")
    base = re.sub(r"[^A-Za-z0-9_-]", "-", definition_name).lstrip("-_") or "mnp-job"
    return f"{base[: 127 - len(stamp)]}-{stamp}"


def submit_job(
    client: Any,
    *,
    queue: str,
    definition: str,
    nodes: int | None = None,
    name: str | None = None,
    warn: Callable[[str], None] | None = None,
    share_identifier: str | None = None,
    scheduling_priority: int | None = None,
    node_overrides: Sequence[tuple[str, str]] = (),
) -> str:
    """Check what can be checked, submit, and return the job id. Raises :class:`UserError`.

    ``node_overrides``: ``--node-override`` (TARGET, KEY=VALUE) pairs (:func:`parse_node_overrides`).
    """
    check_fair_share_options(share_identifier=share_identifier, scheduling_priority=scheduling_priority)
    property_overrides = parse_node_overrides(node_overrides)
    if share_identifier is not None:
        fair_share = queue_has_fair_share(client, queue=queue)
        if fair_share is False:
            raise UserError(
                f"job queue {shown(queue)} has no fair-share scheduling policy (it runs jobs first in, first out), "
                "and AWS Batch refuses a share identifier there (SubmitJob shareIdentifier): drop "
                "--share-identifier and --scheduling-priority",
                EXIT_AWS_ERROR,
            )
        if fair_share is None and warn is not None:
            warn(f"note: cannot read job queue {shown(queue)}; submitting the share identifier without checking it")
    if name is not None and not _JOB_NAME.fullmatch(name):
        raise UserError(
            f"--name {name!r} is not a valid job name: use up to 128 letters, digits, '-' and '_', "
            "starting with a letter or digit",
            EXIT_AWS_ERROR,
        )
    region = client_region(client)
    info = resolve_job_definition(client, definition=definition)
    if info is None:
        if warn is not None:
            warn(
                f"note: cannot read job definition {definition} (no batch:DescribeJobDefinitions "
                "permission); submitting without checking it"
            )
    else:
        problem = node_override_problem(info, nodes=nodes) if nodes is not None else None
        if problem:
            raise UserError(problem, EXIT_AWS_ERROR)
        problems = node_property_override_problems(info, property_overrides, nodes=nodes) if property_overrides else []
        if problems:
            raise UserError(
                f"job definition {info.label} cannot take these --node-override settings: {'; '.join(problems)}",
                EXIT_AWS_ERROR,
            )
        if property_overrides and info.node_properties is None and warn is not None:
            warn(
                f"note: DescribeJobDefinitions did not return the node ranges of {info.label}; "
                "submitting the node overrides without checking them"
            )
    definition_ref = info.arn if info is not None else definition
    definition_name = info.name if info is not None else definition.rsplit("/", 1)[-1].split(":")[0]
    request: dict[str, Any] = {
        "jobName": name or default_job_name(definition_name),
        "jobQueue": queue,
        "jobDefinition": definition_ref,
    }
    if nodes is not None or property_overrides:
        request["nodeOverrides"] = {}
    if nodes is not None:
        request["nodeOverrides"]["numNodes"] = nodes
    if property_overrides:
        request["nodeOverrides"]["nodePropertyOverrides"] = property_overrides
    if share_identifier is not None:
        request["shareIdentifier"] = share_identifier
    if scheduling_priority is not None:
        request["schedulingPriorityOverride"] = scheduling_priority
    try:
        response = client.submit_job(**request)
        job_id = response.get("jobId")
        if not isinstance(job_id, str) or not job_id.isprintable() or not job_id.strip():
            # Printed alone on stdout for JOB=$(mnp submit ...): it must be one plain word.
            raise AwsUnexpectedResponse("the endpoint answered SubmitJob without a job id")
    except aws_exception_types() as error:
        raise UserError(
            _explain_rejection(
                error,
                nodes=nodes,
                definition=definition,
                region=region,
                share_identifier=share_identifier,
                node_overrides=bool(property_overrides),
            ),
            EXIT_AWS_ERROR,
        ) from None
    return job_id


def run_submit(
    client: Any,
    *,
    queue: str,
    definition: str,
    nodes: int | None = None,
    name: str | None = None,
    wait: bool = False,
    interval: float = DEFAULT_INTERVAL_SECONDS,
    out: TextIO | None = None,
    err: TextIO | None = None,
    sleep: Callable[[float], None] = time.sleep,
    share_identifier: str | None = None,
    scheduling_priority: int | None = None,
    node_overrides: Sequence[tuple[str, str]] = (),
) -> int:
    """The body of `mnp submit`; returns the exit code."""
    stdout = out if out is not None else sys.stdout
    stderr = err if err is not None else sys.stderr

    def warn(text: str) -> None:
        print(text, file=stderr, flush=True)

    job_id = submit_job(
        client,
        queue=queue,
        definition=definition,
        nodes=nodes,
        name=name,
        warn=warn,
        share_identifier=share_identifier,
        scheduling_priority=scheduling_priority,
        node_overrides=node_overrides,
    )
    print(job_id, file=stdout, flush=True)
    if not wait:
        return 0
    last_line: list[str] = []

    def progress(status: JobStatus) -> None:
        # Print only when something changed, so a long RUNNABLE wait is one line, not hundreds.
        line = render_progress_line(status)
        key = line.split("  ", 1)[1]
        if not last_line or last_line[0] != key:
            print(line, file=stderr, flush=True)
            last_line[:] = [key]

    with aws_errors(action=f"follow job {job_id}", service="batch", region=client_region(client)):
        final = watch_job(client, job_id=job_id, interval=interval, on_update=progress, sleep=sleep)
    print("", file=stderr)
    print(render_text(final), file=stderr, flush=True)
    return final.exit_status


__all__: Sequence[str] = (
    "JobDefinitionInfo",
    "default_job_name",
    "node_override_problem",
    "node_property_override_problems",
    "parse_node_overrides",
    "resolve_job_definition",
    "run_submit",
    "submit_job",
)
