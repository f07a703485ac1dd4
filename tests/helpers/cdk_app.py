"""CDK apps for tests that synthesize what `cdk synth` synthesizes.

A bare ``cdk.App()`` does not read cdk.json: it misses the feature flags under ``context`` (for example
``@aws-cdk/aws-ec2:restrictDefaultSecurityGroup``, which adds the ``Custom::VpcRestrictDefaultSG``
provider), so a test would check a different template than users deploy. Every test app comes from here.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


@cache
def cdk_json_context() -> dict[str, Any]:
    """The ``context`` of the repository's cdk.json, as the CDK CLI passes it to the app."""
    context = json.loads((REPO / "cdk.json").read_text())["context"]
    assert isinstance(context, dict)
    return dict(context)


def cdk_app(**kwargs: Any) -> Any:
    """``aws_cdk.App`` with cdk.json's context (``context=`` entries given here win, as ``-c`` does)."""
    import aws_cdk as cdk

    context = {**cdk_json_context(), **kwargs.pop("context", {})}
    return cdk.App(context=context, **kwargs)
