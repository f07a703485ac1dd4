"""The whole config (:class:`MnpConfig`: its tags, the references between sections, the stack's resource
budget) and the explanation of an unknown key (:func:`unknown_key_message`: the section at a location,
:func:`model_at`, a "did you mean", and why MNP takes no Spot or Fargate keys)."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
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
    def _network_fits_env(self) -> MnpConfig:
        network = self.network
        region = self.env.region
        zones = network.availability_zones if isinstance(network, NewNetwork) else [network.availability_zone]
        if region and zones:
            wrong = [zone for zone in zones or [] if zone[:-1] != region]
            if wrong:
                raise ValueError(f"network: Availability Zone(s) {', '.join(wrong)} are not in env.region {region}")
        if (
            isinstance(network, NewNetwork)
            and not network.availability_zones
            and region is None
            and network.max_azs > 2
        ):
            raise ValueError(
                f"network.max_azs {network.max_azs}: a stack with no env.region can only span 2 AZs (the CDK "
                "cannot list the Region's AZs without one); set env.region, or network.availability_zones"
            )
        return self

    @model_validator(mode="after")
    def _references(self) -> MnpConfig:
        problems: list[str] = []
        for kind, names in (
            ("compute_environments", [ce.name for ce in self.compute_environments]),
            ("job_queues", [queue.name for queue in self.job_queues]),
            ("job_definitions", [jd.name for jd in self.job_definitions]),
        ):
            duplicates = sorted({name for name in names if names.count(name) > 1})
            if duplicates:
                problems.append(f"{kind}: names must be unique, repeated: {', '.join(duplicates)}")
        environments = {ce.name: ce for ce in self.compute_environments}
        queues = {queue.name: queue for queue in self.job_queues}
        for index, queue in enumerate(self.job_queues):
            for name in queue.compute_environments:
                if name not in environments:
                    problems.append(
                        f"job_queues[{index}].compute_environments: unknown compute environment {name!r} "
                        f"(defined: {', '.join(environments)})"
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
                problems.append(f"job_queues[{index}]: its compute environments mix x86_64 and arm64")
        for index, jd in enumerate(self.job_definitions):
            found = queues.get(jd.queue)
            if found is None:
                problems.append(
                    f"job_definitions[{index}].queue: unknown job queue {jd.queue!r} (defined: {', '.join(queues)})"
                )
                continue
            queue = found
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
                        f"compute_environments[{self.compute_environments.index(ce)}].max_vcpus: not set, and the "
                        f"toolkit does not know instance type {jd.instance_type} of job definition {jd.name!r}, so the "
                        f"vCPUs of its {jd.num_nodes} nodes cannot be derived; set max_vcpus"
                    )
                if ce.max_vcpus is not None and jd.required_vcpus is not None and ce.max_vcpus < jd.required_vcpus:
                    problems.append(
                        f"compute_environments[{self.compute_environments.index(ce)}].max_vcpus: {ce.max_vcpus} is "
                        f"less than job definition {jd.name!r} needs ({jd.num_nodes} nodes x "
                        f"{jd.vcpus_per_node} vCPUs = {jd.required_vcpus}); raise it or leave it unset"
                    )
            if jd.efa and not all(ce.efa for ce in launchable):
                problems.append(
                    f"job_definitions[{index}].efa: set efa: true on the compute environments of queue "
                    f"{queue.name!r} too"
                )
        queued = {name for queue in self.job_queues for name in queue.compute_environments}
        for index, ce in enumerate(self.compute_environments):
            if ce.name not in queued:
                problems.append(
                    f"compute_environments[{index}]: {ce.name!r} is in no job queue; add it to one or remove it"
                )
            elif ce.max_vcpus is None and not self.compute_environment_job_definitions(ce.name):
                problems.append(
                    f"compute_environments[{index}].max_vcpus: not set, and no job definition of its queues can run "
                    f"on it to size it from; set max_vcpus"
                )
            if ce.ami is not None and ce.ami.image_id is not None and self.env.region is None:
                problems.append(
                    f"compute_environments[{index}].ami.image_id: an AMI ID exists in one Region only, and the stack "
                    "has no env.region; set env.region, or use ami.ssm_parameter (resolved in the deploy Region)"
                )
        roles = self.job_role_costs()
        resources = len(self.job_definitions) + sum(roles.values())
        if resources > MAX_JOB_RESOURCES:
            problems.append(
                f"job_definitions: {len(self.job_definitions)} job definitions and {len(roles)} job role(s) make "
                f"{resources} resources, more than the {MAX_JOB_RESOURCES} one stack can hold beside the environment "
                "(CloudFormation allows 500); share job_role settings between job definitions or split the stack"
            )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def job_role_costs(self) -> dict[tuple[Any, ...], int]:
        """The job roles the stack creates (job definitions with equal settings share one), each with the
        resources it takes: the role (its S3 access inline), plus the policy the CDK adds for ECS Exec.
        Roles given by ARN are imported and cost nothing."""
        costs: dict[tuple[Any, ...], int] = {}
        for jd in self.job_definitions:
            key = jd.job_role_key
            if key is not None:
                costs[key] = 1 + (1 if jd.ecs_exec else 0)
        return costs

    @property
    def warnings(self) -> list[str]:
        """What the rule pack will warn about in the stack this config builds, with field paths."""
        return [
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
        queue_names = {queue.name for queue in self.job_queues if name in queue.compute_environments}
        return [
            jd
            for jd in self.job_definitions
            if jd.queue in queue_names
            and any(instance_types.covers(listed, jd.instance_type) for listed in environment.instance_types)
        ]


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
    allowed = sorted(model.model_fields) if model is not None else []
    hint = _did_you_mean(str(key), allowed).strip()
    return f"unknown key{' ' + hint if hint else ''} (see docs/config.md for the allowed keys)"
