"""Regenerate ``mnp_toolkit/core/data/regions.json``: every AWS Region name, by partition, from botocore.

    python -m scripts.regions_refresh                 # rewrite the vendored file
    python -m scripts.regions_refresh --check         # exit 1 if the vendored file differs from botocore's

The names come from the ``partitions[].regions`` of botocore's own ``endpoints.json`` (the data botocore
resolves endpoints with; ``Session.get_data("endpoints")``), so they change only when the pinned botocore
does. The config reads the vendored copy, because a lint-only install has no boto3 or botocore.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "mnp_toolkit" / "core" / "data" / "regions.json"
COMMENT = (
    "AWS Region names by partition, for the config's env.region check. Generated from botocore's "
    "endpoints data by `python -m scripts.regions_refresh`; do not edit by hand."
)


def botocore_partitions() -> dict[str, list[str]]:
    """Partition name -> its Region names, sorted, as the installed botocore lists them."""
    import botocore
    import botocore.session

    endpoints = botocore.session.get_session().get_data("endpoints")
    partitions = {
        str(partition["partition"]): sorted(str(name) for name in partition.get("regions", {}))
        for partition in endpoints["partitions"]
    }
    if not partitions.get("aws"):
        raise SystemExit(f"botocore {botocore.__version__} lists no Regions for the aws partition")
    return dict(sorted(partitions.items()))


def render(partitions: dict[str, list[str]]) -> str:
    import botocore

    document: dict[str, Any] = {
        "_comment": COMMENT,
        "source": f"botocore {botocore.__version__} data/endpoints.json",
        "partitions": partitions,
    }
    return json.dumps(document, indent=1) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write (default: %(default)s)")
    parser.add_argument("--check", action="store_true", help="compare with the file instead of writing it")
    args = parser.parse_args(argv)
    text = render(botocore_partitions())
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            print(f"{args.output} differs from botocore's Region list: run python -m scripts.regions_refresh")
            return 1
        print(f"{args.output} is current")
        return 0
    args.output.write_text(text)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
