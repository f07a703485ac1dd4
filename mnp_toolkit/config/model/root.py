"""The whole config (:class:`MnpConfig`: its tags, the references between sections, the stack's resource
budget) and the explanation of an unknown key (:func:`unknown_key_message`: the section at a location,
:func:`model_at`, a "did you mean", and why MNP takes no Spot or Fargate keys)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, Field, WithJsonSchema, model_validator

from mnp_toolkit.config.model.base import _Model, schema_rule
from mnp_toolkit.config.model.compute import ComputeEnvironmentConfig
from mnp_toolkit.config.model.job_definitions import JobDefinitionConfig
from mnp_toolkit.config.model.network import Environment, ExistingNetwork, Network, NewNetwork
from mnp_toolkit.config.model.queues import JobQueueConfig
from mnp_toolkit.config.model.security import SecurityConfig
from mnp_toolkit.core import instance_types

#: Job definitions and the job roles the stack creates for them, per stack: one resource each, beside the
#: environment's own, within CloudFormation's 500 resources per stack.
MAX_JOB_RESOURCES = 400


def _did_you_mean(value: str, choices: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` when one of ``choices`` is close to ``value``; "" otherwise."""
    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _tag_rules(tags: dict[str, str]) -> dict[str, str]:
    for key, value in tags.items():
        if not 1 <= len(key) <= 128 or key.lower().startswith("aws:"):
            raise schema_rule(f"tag key {key!r}: 1-128 characters, not starting with 'aws:' (reserved by AWS)")
        if len(value) > 256:
            raise schema_rule(f"tag {key!r}: values are at most 256 characters")
    return tags


Tags = Annotated[
    dict[str, str],
    AfterValidator(_tag_rules),
    WithJsonSchema(
        {
            "type": "object",
            "additionalProperties": {"type": "string", "maxLength": 256},
            "propertyNames": {"minLength": 1, "maxLength": 128, "not": {"pattern": "^[aA][wW][sS]:"}},
        }
    ),
]


class MnpConfig(_Model):
    """One MNP environment: a network, compute environments, queues and job definitions."""

    stack_name: str = Field(
        default="MnpEnvironment", pattern=r"^[A-Za-z][A-Za-z0-9-]{0,127}$", description="CloudFormation stack name."
    )
    env: Environment = Field(default_factory=Environment)
    tags: Tags = Field(
        default_factory=dict,
        description="Tags applied to the stack's resources (not to the compute environment and placement group, "
        "whose tags cannot change without replacing them; instances get them through the launch template).",
    )

    security: SecurityConfig = Field(default_factory=SecurityConfig)
    network: Network = Field(default_factory=NewNetwork)
    compute_environments: list[ComputeEnvironmentConfig] = Field(min_length=1)
    job_queues: list[JobQueueConfig] = Field(min_length=1)
    job_definitions: list[JobDefinitionConfig] = Field(
        default_factory=list,
        max_length=MAX_JOB_RESOURCES,
        description=f"At most {MAX_JOB_RESOURCES} per stack, with their job roles (one resource each, plus the "
        "environment's, against CloudFormation's 500-resource limit); split larger catalogs over several stacks.",
    )

    @model_validator(mode="after")
    def _cross_section_checks(self) -> MnpConfig:
        problems = cross_section_problems(
            env=self.env,
            network=self.network,
            compute_environments=list(self.compute_environments),
            job_queues=list(self.job_queues),
            job_definitions=list(self.job_definitions),
        )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def job_role_costs(self) -> dict[tuple[Any, ...], int]:
        """The job roles the stack creates (job definitions with equal settings share one), each with the
        resources it takes: the role (its S3 access inline), plus the policy the CDK adds for ECS Exec.
        Roles given by ARN are imported and cost nothing."""
        return _job_role_costs(self.job_definitions)

    @property
    def warnings(self) -> list[str]:
        """What the rule pack will warn about in the stack this config builds, with field paths."""
        spread = [
            f"compute_environments[{index}].placement_group: is false, so the nodes of an MNP job may land far "
            "apart, with higher latency and lower bandwidth between them (MNP101; fix: set placement_group: true; "
            "jobs whose nodes hardly talk to each other may keep false and this warning)"
            for index, ce in enumerate(self.compute_environments)
            if not ce.placement_group
        ]
        return spread + [
            f"job_definitions[{index}].{verdict}"
            for index, jd in enumerate(self.job_definitions)
            for verdict in jd.warnings
        ]

    def compute_environment_job_definitions(self, name: str) -> list[JobDefinitionConfig]:
        """The job definitions a compute environment must be able to run: those of its queues whose
        instance type it can launch (Batch places a job only where its type fits)."""
        environment = next((ce for ce in self.compute_environments if ce.name == name), None)
        if environment is None:
            return []
        return _runnable_job_definitions(environment, self.job_queues, self.job_definitions)


def _job_role_costs(job_definitions: Sequence[JobDefinitionConfig | None]) -> dict[tuple[Any, ...], int]:
    costs: dict[tuple[Any, ...], int] = {}
    for jd in job_definitions:
        key = None if jd is None else jd.job_role_key
        if jd is not None and key is not None:
            costs[key] = 1 + (1 if jd.ecs_exec else 0)
    return costs


def _runnable_job_definitions(
    environment: ComputeEnvironmentConfig,
    job_queues: Sequence[JobQueueConfig | None],
    job_definitions: Sequence[JobDefinitionConfig | None],
) -> list[JobDefinitionConfig]:
    """The job definitions of ``environment``'s queues whose instance type it can launch."""
    queue_names = {queue.name for queue in job_queues if queue and environment.name in queue.compute_environments}
    return [
        jd
        for jd in job_definitions
        if jd is not None
        and jd.queue in queue_names
        and any(instance_types.covers(listed, jd.instance_type) for listed in environment.instance_types)
    ]


def _zone_problems(env: Environment | None, network: NewNetwork | ExistingNetwork | None) -> list[str]:
    if env is None or network is None:
        return []
    region = env.region
    if isinstance(network, NewNetwork):
        field, zones = "network.availability_zones", network.availability_zones or []
    else:
        field, zones = "network.availability_zone", [network.availability_zone]
    wrong = [zone for zone in zones if region and zone[:-1] != region]
    if wrong:
        return [
            f"{field}: {', '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} not in env.region {region} (an "
            f"Availability Zone is its Region's name plus a letter); name AZs of {region} such as {region}a, or "
            f"set env.region to the Region of {wrong[0]}"
        ]
    if isinstance(network, NewNetwork) and not network.availability_zones and region is None and network.max_azs > 2:
        return [
            f"network.max_azs: {network.max_azs}, but a stack with no env.region can only span 2 AZs (the CDK "
            "cannot list the Region's AZs without one); set env.region, or network.availability_zones"
        ]
    return []


#: Addresses of the compute subnet a new network gives the nodes: MnpNetwork's private subnets are /19, and
#: AWS reserves the first four and the last address of every subnet (VPC user guide, "Subnet CIDR blocks").
COMPUTE_SUBNET_ADDRESSES = 2 ** (32 - 19) - 5


def _subnet_room_problem(index: int, jd: JobDefinitionConfig, ce: ComputeEnvironmentConfig) -> str | None:
    """A job whose nodes need more private IPv4 addresses than the compute subnet has: instances past the
    last free address fail to launch and the job waits in RUNNABLE. Each node takes one address per EFA
    interface (the constructs attach EFA with ENA interfaces, which have IPv4 addresses; EC2 user guide, "Create
    and attach an Elastic Fabric Adapter": only an EFA-only interface has none)
    or one for its only interface, plus one for the container's own awsvpc network interface (Batch user
    guide, mnp-ce: "Each multi-node parallel job container gets its own elastic network interface")."""
    facts = instance_types.lookup(jd.instance_type)
    if facts is None:
        return None
    per_node = (max(facts.max_efa_interfaces, 1) if ce.efa else 1) + 1
    needed = jd.num_nodes * per_node
    if needed <= COMPUTE_SUBNET_ADDRESSES:
        return None
    return (
        f"job_definitions[{index}].num_nodes: {jd.num_nodes} nodes of {jd.instance_type} on compute environment "
        f"{ce.name!r} need {needed:,} private IPv4 addresses ({per_node} a node: "
        f"{'its EFA interfaces' if ce.efa else 'the instance'} and the container's network interface), more than "
        f"the {COMPUTE_SUBNET_ADDRESSES:,} of the /19 compute subnet; the nodes past that would never launch "
        f"(fix: at most {COMPUTE_SUBNET_ADDRESSES // per_node} nodes, or a network you size yourself: mode: existing)"
    )


def cross_section_problems(
    *,
    env: Environment | None,
    network: NewNetwork | ExistingNetwork | None,
    compute_environments: Sequence[ComputeEnvironmentConfig | None],
    job_queues: Sequence[JobQueueConfig | None],
    job_definitions: Sequence[JobDefinitionConfig | None],
    unchecked_names: Mapping[str, set[str]] | None = None,
) -> list[str]:
    """The checks across sections (references by name, sizing, Region and AZs), each problem one line
    naming its field.

    ``None`` stands for a section or list entry that failed its own validation: the loader still runs
    these checks on the rest, so one typo does not hide every other problem (all are reported at once).
    ``unchecked_names`` holds the names such entries give (``{"compute_environments": {...}, ...}``): a
    reference to one of them is not "unknown", and what depends on an unchecked entry is not judged."""
    unchecked = {kind: set(names) for kind, names in (unchecked_names or {}).items()}
    problems = _zone_problems(env, network)
    environments = {ce.name: ce for ce in compute_environments if ce is not None}
    queues = {queue.name: queue for queue in job_queues if queue is not None}
    for kind, names in (
        ("compute_environments", [ce.name for ce in compute_environments if ce is not None]),
        ("job_queues", [queue.name for queue in job_queues if queue is not None]),
        ("job_definitions", [jd.name for jd in job_definitions if jd is not None]),
    ):
        everything = names + sorted(unchecked.get(kind, set()))
        duplicates = sorted({name for name in everything if everything.count(name) > 1})
        if duplicates:
            problems.append(f"{kind}: names must be unique, repeated: {', '.join(duplicates)}")
    unchecked_environments = unchecked.get("compute_environments", set())
    unchecked_queues = unchecked.get("job_queues", set())
    for index, queue in enumerate(job_queues):
        if queue is None:
            continue
        for name in queue.compute_environments:
            if name not in environments and name not in unchecked_environments:
                problems.append(
                    f"job_queues[{index}].compute_environments: unknown compute environment {name!r} "
                    f"(defined: {', '.join(environments) or 'none'})"
                )
        architectures = instance_types.architectures_of(
            [
                item
                for name in queue.compute_environments
                if name in environments
                for item in environments[name].instance_types
            ]
        )
        if len(architectures) > 1:
            problems.append(
                f"job_queues[{index}].compute_environments: they mix x86_64 and arm64 instance types; give each "
                "architecture its own queue"
            )
    position = {id(ce): index for index, ce in enumerate(compute_environments) if ce is not None}
    for index, jd in enumerate(job_definitions):
        if jd is None or jd.queue in unchecked_queues:
            continue
        found = queues.get(jd.queue)
        if found is None:
            problems.append(
                f"job_definitions[{index}].queue: unknown job queue {jd.queue!r} "
                f"(defined: {', '.join(queues) or 'none'})"
            )
            continue
        queue = found
        if any(name in unchecked_environments for name in queue.compute_environments):
            continue  # an environment of its queue is unchecked: what it can launch is unknown
        candidates = [environments[name] for name in queue.compute_environments if name in environments]
        launchable = [
            ce
            for ce in candidates
            if any(instance_types.covers(listed, jd.instance_type) for listed in ce.instance_types)
        ]
        if candidates and not launchable:
            problems.append(
                f"job_definitions[{index}].instance_type: {jd.instance_type} is not in the instance_types of any "
                f"compute environment of queue {queue.name!r}; add it (or its family) there"
            )
        for ce in launchable:
            if ce.max_vcpus is None and jd.required_vcpus is None:
                problems.append(
                    f"compute_environments[{position[id(ce)]}].max_vcpus: not set, and the toolkit does not know "
                    f"instance type {jd.instance_type} of job definition {jd.name!r}, so the vCPUs of its "
                    f"{jd.num_nodes} nodes cannot be derived; set max_vcpus"
                )
            if ce.max_vcpus is not None and jd.required_vcpus is not None and ce.max_vcpus < jd.required_vcpus:
                problems.append(
                    f"compute_environments[{position[id(ce)]}].max_vcpus: {ce.max_vcpus} is less than job "
                    f"definition {jd.name!r} needs ({jd.num_nodes} nodes x {jd.vcpus_per_node} vCPUs = "
                    f"{jd.required_vcpus}); raise it or leave it unset"
                )
        if isinstance(network, NewNetwork):
            for ce in launchable:
                problem = _subnet_room_problem(index, jd, ce)
                if problem:
                    problems.append(problem)
        if jd.efa and not all(ce.efa for ce in launchable):
            problems.append(
                f"job_definitions[{index}].efa: set efa: true on the compute environments of queue {queue.name!r} too"
            )
    complete_queues = all(queue is not None for queue in job_queues)
    complete_jobs = complete_queues and all(jd is not None for jd in job_definitions)
    queued = {name for queue in job_queues if queue is not None for name in queue.compute_environments}
    for index, entry in enumerate(compute_environments):
        if entry is None:
            continue
        ce = entry
        if ce.name not in queued:
            if complete_queues:  # an unchecked queue may list it
                problems.append(
                    f"compute_environments[{index}]: {ce.name!r} is in no job queue; add it to one or remove it"
                )
        elif ce.max_vcpus is None and complete_jobs and not _runnable_job_definitions(ce, job_queues, job_definitions):
            problems.append(
                f"compute_environments[{index}].max_vcpus: not set, and no job definition of its queues can run "
                "on it to size it from; set max_vcpus"
            )
        if ce.ami is not None and ce.ami.image_id is not None and env is not None and env.region is None:
            problems.append(
                f"compute_environments[{index}].ami.image_id: an AMI ID exists in one Region only, and the stack "
                "has no env.region; set env.region, or use ami.ssm_parameter (resolved in the deploy Region)"
            )
    roles = _job_role_costs(job_definitions)
    count = sum(jd is not None for jd in job_definitions)
    resources = count + sum(roles.values())
    if resources > MAX_JOB_RESOURCES:
        problems.append(
            f"job_definitions: {count} job definitions and {len(roles)} job role(s) make {resources} resources, "
            f"more than the {MAX_JOB_RESOURCES} one stack can hold beside the environment (CloudFormation allows "
            "500); share job_role settings between job definitions or split the stack"
        )
    return problems


#: Keys that other AWS Batch compute environments take and that ask for what MNP jobs cannot run on.
_ON_DEMAND_EC2_ONLY_KEYS = frozenset(
    {"type", "compute_type", "capacity_type", "spot", "fargate", "bid_percentage", "spot_iam_fleet_role"}
)
_ON_DEMAND_EC2_ONLY = (
    "unknown key: an MNP compute environment is always managed, On-Demand EC2 (the toolkit sets it), because "
    "AWS Batch does not run multi-node parallel jobs on Spot Instances (Batch user guide, 'Compute environment "
    "considerations for MNP') or on Fargate ('Create a multi-node parallel job definition'); remove the key"
)


def _members(annotation: Any) -> list[Any]:
    """The types a field may hold: the members of a union (without None), each without ``Annotated``."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, UnionType):
        return [member for arg in get_args(annotation) if arg is not type(None) for member in _members(arg)]
    return [annotation]


def _model_of(annotation: Any, part: str | int) -> Any:
    """The annotation one step into ``annotation`` along a location part (a list index, a field, a tag)."""
    for member in _members(annotation):
        if isinstance(part, int):
            if get_origin(member) is list:
                return get_args(member)[0]
        elif isinstance(member, type) and issubclass(member, BaseModel) and part in member.model_fields:
            return member.model_fields[part].annotation
    return {"new": NewNetwork, "existing": ExistingNetwork}.get(part) if isinstance(part, str) else None


def model_at(loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The section model at a location of the config (``("job_definitions", 0, "job_role")`` ->
    :class:`JobRoleConfig`); for the network, the new-network model unless the location says otherwise."""
    current: Any = MnpConfig
    for part in loc:
        current = _model_of(current, part)
        if current is None:
            return None
    return next((m for m in _members(current) if isinstance(m, type) and issubclass(m, BaseModel)), None)


def unknown_key_message(loc: Sequence[str | int]) -> str:
    """The explanation of an unknown key at ``loc``: a "did you mean" when an allowed key is close, and
    for Spot/Fargate settings on a compute environment, why MNP needs On-Demand EC2."""
    *parent, key = loc
    model = model_at(parent)
    if model is ComputeEnvironmentConfig and str(key).lower() in _ON_DEMAND_EC2_ONLY_KEYS:
        return _ON_DEMAND_EC2_ONLY
    if model is ExistingNetwork and key in NewNetwork.model_fields:
        return f"unknown key: {key} is a setting of a new VPC (mode: new); the existing VPC keeps its own, remove it"
    if model is NewNetwork and key in ExistingNetwork.model_fields and key != "mode":
        return (
            f"unknown key: {key} is a setting of an existing VPC: add mode: existing (with vpc_id, "
            "availability_zone and private_subnet_ids), or remove it to create a new VPC"
        )
    allowed = sorted(model.model_fields) if model is not None else []
    hint = _did_you_mean(str(key), allowed).strip()
    return f"unknown key{' ' + hint if hint else ''} (see docs/config.md for the allowed keys)"
