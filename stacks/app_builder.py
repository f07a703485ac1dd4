"""Build the CDK app from the config named in context (``-c config=path``); used by ``app.py``.

Bad config never reaches the user as a traceback: :func:`load_config_or_exit` prints the
:class:`~mnp_toolkit.config.ConfigError` (file, field path, what is allowed) and exits 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

import aws_cdk as cdk

from constructs_lib import MnpPropsError
from mnp_toolkit.config.load import load_config
from mnp_toolkit.config.model import ConfigError, MnpConfig
from stacks.mnp_environment_stack import MnpEnvironmentStack

DEFAULT_CONFIG = "config/default.yaml"


def config_path(app: cdk.App) -> Path:
    value = app.node.try_get_context("config") or DEFAULT_CONFIG
    return Path(str(value))


def load_config_or_exit(path: Path) -> MnpConfig:
    try:
        return load_config(path)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def stack_environment(config: MnpConfig) -> cdk.Environment | None:
    """The config's account/region; None keeps the stack environment-agnostic (synth needs no account,
    and `cdk deploy` targets the account and Region of the CLI's credentials)."""
    if config.env.account is None and config.env.region is None:
        return None
    return cdk.Environment(account=config.env.account, region=config.env.region)


def add_policy_checks(app: cdk.App) -> None:
    """The MNP rule pack and cdk-nag's AWS Solutions pack, side by side in the CDK's validation report.

    Findings fail synth unless acknowledged (``Validations.of(scope).acknowledge``) with a reason."""
    from cdk_nag import AwsSolutionsChecks

    from mnp_toolkit.cdk_plugin import add_mnp_checks

    add_mnp_checks(app)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks())


def build_app_from_context(app: cdk.App) -> MnpEnvironmentStack:
    """What app.py does: the stack from ``-c config=...`` plus the policy checks. A config the constructs
    reject (a contradiction the schema cannot see) is reported like a config error: one message, exit 2."""
    path = config_path(app)
    config = load_config_or_exit(path)
    try:
        stack = build_environment_stack(app, config)
    except MnpPropsError as error:
        print(f"error: {path}: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    add_policy_checks(app)
    return stack


def build_environment_stack(app: cdk.App, config: MnpConfig) -> MnpEnvironmentStack:
    return MnpEnvironmentStack(
        app,
        config.stack_name,
        config=config,
        env=stack_environment(config),
        description="AWS Batch multi-node parallel environment (mnp-batch-toolkit)",
    )
