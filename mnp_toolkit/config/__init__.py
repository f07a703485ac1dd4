"""The typed configuration of an MNP environment: models, loading, and the generated reference.

Import from here (``from mnp_toolkit.config import load_config, MnpConfig``); the modules are
:mod:`~mnp_toolkit.config.model` (pydantic models), :mod:`~mnp_toolkit.config.load` (files and errors) and
:mod:`~mnp_toolkit.config.reference` (JSON Schema and docs/config.md).
"""

from mnp_toolkit.config.load import format_validation_error, load_config, parse_config
from mnp_toolkit.config.model import (
    LOG_RETENTION_DAYS,
    ComputeEnvironmentConfig,
    ConfigError,
    Environment,
    ExistingNetwork,
    JobDefinitionConfig,
    JobQueueConfig,
    MnpConfig,
    NewNetwork,
    NodeGroupConfig,
)
from mnp_toolkit.config.reference import json_schema, markdown_reference

__all__ = [
    "LOG_RETENTION_DAYS",
    "ComputeEnvironmentConfig",
    "ConfigError",
    "Environment",
    "ExistingNetwork",
    "JobDefinitionConfig",
    "JobQueueConfig",
    "MnpConfig",
    "NewNetwork",
    "NodeGroupConfig",
    "format_validation_error",
    "json_schema",
    "load_config",
    "markdown_reference",
    "parse_config",
]
