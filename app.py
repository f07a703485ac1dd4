#!/usr/bin/env python3
"""CDK app: the MNP environment described by the config in context (`cdk synth -c config=path.yaml`)."""

import aws_cdk as cdk

from mnp_toolkit.cdk_plugin import synth_or_exit
from stacks.app_builder import build_app_from_context

app = cdk.App()
build_app_from_context(app)
synth_or_exit(app)
