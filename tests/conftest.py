"""Shared fixtures. Synthesizing costs seconds (jsii start-up), so each shipped config is synthesized at
most once per test process and shared by every module that needs it."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from tests.helpers.cdk_app import cdk_app

# Property tests are derandomized (examples derived from each test's name): a CI run is reproducible
# and a failure is the same on every machine. HYPOTHESIS_PROFILE=explore searches afresh each run.
settings.register_profile("ci", derandomize=True, deadline=None, database=None)
settings.register_profile("explore", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = REPO_ROOT / "config"
SHIPPED_CONFIGS = sorted(path.name for path in CONFIG_DIR.glob("*.yaml"))


@dataclass
class SynthesizedConfig:
    """A shipped config synthesized with the real app wiring (pack + cdk-nag added as in app.py)."""

    config_name: str
    stack: Any  # stacks.mnp_environment_stack.MnpEnvironmentStack
    template: dict[str, Any]
    template_path: Path
    assembly_dir: Path


_CACHE: dict[str, SynthesizedConfig] = {}


def synthesize_config(config_name: str) -> SynthesizedConfig:
    if config_name not in _CACHE:
        from mnp_toolkit.config.load import load_config
        from stacks.app_builder import add_policy_checks, build_environment_stack

        outdir = Path(tempfile.mkdtemp(prefix=f"synth-{Path(config_name).stem}-"))
        app = cdk_app(outdir=str(outdir))
        stack = build_environment_stack(app, load_config(CONFIG_DIR / config_name))
        add_policy_checks(app)  # as app.py does: a finding fails this synth with the CDK's report
        assembly = app.synth()
        artifact = assembly.get_stack_artifact(stack.artifact_id)
        template_path = Path(assembly.directory) / artifact.template_file
        _CACHE[config_name] = SynthesizedConfig(
            config_name=config_name,
            stack=stack,
            template=json.loads(template_path.read_text()),
            template_path=template_path,
            assembly_dir=Path(assembly.directory),
        )
    return _CACHE[config_name]


@pytest.fixture(scope="session")
def default_synth() -> SynthesizedConfig:
    return synthesize_config("default.yaml")
