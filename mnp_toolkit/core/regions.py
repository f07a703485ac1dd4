"""AWS Region names, by partition (standard library only).

The list ships as ``data/regions.json``, generated from botocore's endpoints data by
``python -m scripts.regions_refresh`` (a test keeps it equal to the pinned botocore's), so the config can
check ``env.region`` in a lint-only install that has neither boto3 nor botocore.
"""

from __future__ import annotations

import difflib
import json
from functools import cache
from importlib import resources


@cache
def partitions() -> dict[str, tuple[str, ...]]:
    """Partition (``aws``, ``aws-cn``, ``aws-us-gov``, ...) -> its Region names, sorted."""
    raw = json.loads(resources.files("mnp_toolkit.core").joinpath("data/regions.json").read_text())
    return {str(name): tuple(str(region) for region in regions) for name, regions in raw["partitions"].items()}


@cache
def all_regions() -> tuple[str, ...]:
    """Every Region name of every partition, sorted."""
    return tuple(sorted(region for regions in partitions().values() for region in regions))


def is_region(name: str) -> bool:
    return name in all_regions()


def partition_of(region: str) -> str | None:
    """The partition a Region belongs to, or None for a name that is not a Region."""
    return next((partition for partition, regions in partitions().items() if region in regions), None)


def close_regions(name: str, *, limit: int = 3) -> list[str]:
    """Region names close to ``name`` (for "did you mean"), closest first."""
    return difflib.get_close_matches(name, all_regions(), n=limit, cutoff=0.75)
