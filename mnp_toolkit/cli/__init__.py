"""The ``mnp`` command: a thin layer over the lint, config and ops layers; nothing imports it."""

from mnp_toolkit.cli.main import main

__all__ = ["main"]
