"""The typed configuration of an MNP environment (one YAML file per environment).

Validated with pydantic: an unknown key, a wrong type or an impossible value is a :class:`ConfigError`
whose message names the file, the field path (``job_definitions[0].num_nodes``) and what is allowed.
``python -m mnp_toolkit.config schema`` prints the JSON Schema (shipped as ``config/schema.json`` for
editors) and ``python -m mnp_toolkit.config reference`` the Markdown reference in ``docs/config.md``.

Plain Python (no aws-cdk-lib), so ``mnp preflight`` can read the same file.

The package, one module per section: :mod:`~mnp_toolkit.config.model.base` (the strict base model,
ConfigError, shared field types), :mod:`~mnp_toolkit.config.model.network` (account, Region, VPC),
:mod:`~mnp_toolkit.config.model.compute` (compute environments, AMI, capacity reservation),
:mod:`~mnp_toolkit.config.model.queues` (job queues, fair share), :mod:`~mnp_toolkit.config.model.job_definitions`
(job definitions, node groups, job role, variables and secrets), :mod:`~mnp_toolkit.config.model.security`
(stack-wide security) and :mod:`~mnp_toolkit.config.model.root` (:class:`MnpConfig`, its tags, unknown keys).
Import from the package.
"""

from mnp_toolkit.config.model.base import (
    KMS_KEY_ARN_PATTERN,
    LOG_RETENTION_DAYS,
    SCHEMA_RULE,
    UNIQUE_ITEMS,
    ConfigError,
    Name,
    RetentionDays,
    schema_rule,
)
from mnp_toolkit.config.model.compute import AmiConfig, CapacityReservationConfig, ComputeEnvironmentConfig
from mnp_toolkit.config.model.job_definitions import (
    SECRET_ARN_PATTERN,
    SECRET_LIKE_NAME,
    EnvironmentVariables,
    ImageReference,
    JobDefinitionConfig,
    JobRoleConfig,
    NodeGroupConfig,
    S3Location,
    Secrets,
)
from mnp_toolkit.config.model.network import AzName, Cidr, Environment, ExistingNetwork, Network, NewNetwork, RegionName
from mnp_toolkit.config.model.queues import FairShareConfig, JobQueueConfig, ShareConfig
from mnp_toolkit.config.model.root import (
    MAX_JOB_RESOURCES,
    MnpConfig,
    Tags,
    cross_section_problems,
    model_at,
    unknown_key_message,
)
from mnp_toolkit.config.model.security import SecurityConfig

__all__ = [
    "KMS_KEY_ARN_PATTERN",
    "LOG_RETENTION_DAYS",
    "MAX_JOB_RESOURCES",
    "SCHEMA_RULE",
    "SECRET_ARN_PATTERN",
    "SECRET_LIKE_NAME",
    "UNIQUE_ITEMS",
    "AmiConfig",
    "AzName",
    "CapacityReservationConfig",
    "Cidr",
    "ComputeEnvironmentConfig",
    "ConfigError",
    "Environment",
    "EnvironmentVariables",
    "ExistingNetwork",
    "FairShareConfig",
    "ImageReference",
    "JobDefinitionConfig",
    "JobQueueConfig",
    "JobRoleConfig",
    "MnpConfig",
    "Name",
    "Network",
    "NewNetwork",
    "NodeGroupConfig",
    "RegionName",
    "RetentionDays",
    "S3Location",
    "Secrets",
    "SecurityConfig",
    "ShareConfig",
    "Tags",
    "cross_section_problems",
    "model_at",
    "schema_rule",
    "unknown_key_message",
]
