#!/usr/bin/env python3
"""CDK app: the MNP environment described by the config in context (`cdk synth -c config=path.yaml`)."""

import aws_cdk as cdk

from mnp_toolkit.cdk_plugin import synth_or_exit
from stacks.app_builder import add_policy_checks, build_environment_stack, config_path, load_config_or_exit

app = cdk.App()
build_environment_stack(app, load_config_or_exit(config_path(app)))
add_policy_checks(app)
synth_or_exit(app)
