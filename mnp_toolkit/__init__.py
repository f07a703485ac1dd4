"""Plain-Python half of the MNP toolkit: config model, rule pack, `mnp` CLI and boto3 tooling.

Nothing here imports aws-cdk-lib at import time (only `mnp_toolkit.cdk_plugin` does), so
`mnp lint` starts fast and runs where the CDK is not installed.
"""

__version__ = "0.1.0"
