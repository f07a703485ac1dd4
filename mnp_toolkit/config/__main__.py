"""``python -m mnp_toolkit.config schema | reference | check PATH``."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

from mnp_toolkit.config.load import load_config
from mnp_toolkit.config.model import ConfigError
from mnp_toolkit.config.reference import json_schema, markdown_reference


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["schema"]:
        print(json.dumps(json_schema(), indent=2))
        return 0
    if args[:1] == ["reference"]:
        print(markdown_reference())
        return 0
    if args[:1] == ["check"] and len(args) == 2:
        try:
            config = load_config(args[1])
        except ConfigError as error:
            print(error, file=sys.stderr)
            return 2
        for warning in config.warnings:
            print(f"{args[1]}: warning: {warning}", file=sys.stderr)
        print(
            f"{args[1]}: OK ({len(config.compute_environments)} compute environment(s), "
            f"{len(config.job_queues)} queue(s), {len(config.job_definitions)} job definition(s))"
        )
        return 0
    print("usage: python -m mnp_toolkit.config schema | reference | check PATH", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
