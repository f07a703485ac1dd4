#!/usr/bin/env python3
"""CDK app: the MNP environment described by the config in context (`cdk synth -c config=path.yaml`)."""

import aws_cdk as cdk

from stacks.app_builder import build_environment_stack, config_path, load_config_or_exit

app = cdk.App()
build_environment_stack(app, load_config_or_exit(config_path(app)))
app.synth()
