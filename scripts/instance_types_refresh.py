"""Regenerate ``mnp_toolkit/core/data/instance_types.json`` from EC2 ``DescribeInstanceTypes``.

    python -m scripts.instance_types_refresh --output mnp_toolkit/core/data/instance_types.json
    python -m scripts.instance_types_refresh --region eu-west-1 --output /tmp/types.json
    python -m scripts.instance_types_refresh --all-regions --only-listed  # keep the curated subset

What each field is read from (EC2 API reference, ``InstanceTypeInfo``):

* ``vcpus``: ``VCpuInfo.DefaultVCpus``; ``memory_mib``: ``MemoryInfo.SizeInMiB``;
* ``architecture``: ``ProcessorInfo.SupportedArchitectures`` -> ``x86_64`` or ``arm64``; types that run
  only ``i386`` or Mac variants (``x86_64_mac``/``arm64_mac``) are skipped, AWS Batch does not launch them;
* ``gpus``: the sum of ``GpuInfo.Gpus[].Count`` (GPUs only; Trainium/Inferentia are not in ``GpuInfo``);
* ``efa_supported`` / ``max_efa_interfaces``: ``NetworkInfo.EfaSupported`` /
  ``NetworkInfo.EfaInfo.MaximumEfaInterfaces``; ``network_cards``: ``NetworkInfo.MaximumNetworkCards``.

The output keeps the shipped file's layout (``_comment``, ``source``, ``instance_types`` sorted by name,
one-space indentation) so a refresh is a readable diff. An unknown type in the table is "unknown" to the
rules, never a violation, so a stale table only makes rules quieter.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "mnp_toolkit" / "core" / "data" / "instance_types.json"
DEFAULT_COMMENT = (
    "Instance-type facts for the MNP rule pack and constructs. Regenerate with "
    "`python -m scripts.instance_types_refresh --output mnp_toolkit/core/data/instance_types.json` "
    "(EC2 DescribeInstanceTypes). gpus counts NVIDIA/AMD GPUs only (not Trainium/Inferentia accelerators)."
)
FIELDS = ("name", "vcpus", "memory_mib", "architecture", "gpus", "efa_supported", "max_efa_interfaces", "network_cards")


class RefreshError(Exception):
    """A one-line, user-facing reason the refresh could not run (no credentials, access denied...)."""


def architecture_of(info: Mapping[str, Any]) -> str | None:
    """``x86_64`` or ``arm64``; None for i386-only and Mac types (not launchable by AWS Batch)."""
    supported = set((info.get("ProcessorInfo") or {}).get("SupportedArchitectures") or ())
    if "x86_64" in supported:
        return "x86_64"
    if "arm64" in supported:
        return "arm64"
    return None


def facts_of(info: Mapping[str, Any]) -> dict[str, Any] | None:
    """One ``InstanceTypeInfo`` as a table row, or None when the type is skipped (see module docs)."""
    architecture = architecture_of(info)
    vcpus = (info.get("VCpuInfo") or {}).get("DefaultVCpus")
    memory = (info.get("MemoryInfo") or {}).get("SizeInMiB")
    if architecture is None or not isinstance(vcpus, int) or not isinstance(memory, int):
        return None
    network = info.get("NetworkInfo") or {}
    efa_supported = bool(network.get("EfaSupported", False))
    gpus = sum(int(gpu.get("Count", 0)) for gpu in (info.get("GpuInfo") or {}).get("Gpus") or ())
    return {
        "name": str(info["InstanceType"]),
        "vcpus": vcpus,
        "memory_mib": memory,
        "architecture": architecture,
        "gpus": gpus,
        "efa_supported": efa_supported,
        "max_efa_interfaces": int((network.get("EfaInfo") or {}).get("MaximumEfaInterfaces", 0))
        if efa_supported
        else 0,
        "network_cards": int(network.get("MaximumNetworkCards", 1)),
    }


#: Values per ``instance-type`` filter in one request (kept well under EC2's per-filter value limit).
FILTER_CHUNK = 100


def describe_instance_types(ec2: Any, *, only: set[str] | None = None) -> Iterable[Mapping[str, Any]]:
    """Every ``InstanceTypeInfo`` of the client's region; with ``only``, just those names.

    ``only`` goes to the ``instance-type`` filter rather than the ``InstanceTypes`` parameter: the parameter
    fails the whole request (InvalidInstanceType) for a name the region does not offer, a filter just
    does not match it.
    """
    paginator = ec2.get_paginator("describe_instance_types")
    if only is None:
        for page in paginator.paginate():
            yield from page.get("InstanceTypes", ())
        return
    names = sorted(only)
    for start in range(0, len(names), FILTER_CHUNK):
        chunk = names[start : start + FILTER_CHUNK]
        for page in paginator.paginate(Filters=[{"Name": "instance-type", "Values": chunk}]):
            yield from page.get("InstanceTypes", ())


def collect(clients: Iterable[Any], *, only: set[str] | None = None) -> list[dict[str, Any]]:
    """Rows for every type any client's region offers (first region wins on a name), sorted by name."""
    rows: dict[str, dict[str, Any]] = {}
    for ec2 in clients:
        for info in describe_instance_types(ec2, only=only):
            row = facts_of(info)
            if row is None or row["name"] in rows or (only is not None and row["name"] not in only):
                continue
            rows[row["name"]] = row
    return [rows[name] for name in sorted(rows)]


def render(rows: Sequence[Mapping[str, Any]], *, comment: str, source: str) -> str:
    """The file text in the shipped layout (one-space indent, no trailing newline, as json.dump writes it)."""
    document = {
        "_comment": comment,
        "source": source,
        "instance_types": [{key: row[key] for key in FIELDS} for row in rows],
    }
    return json.dumps(document, indent=1)


def _existing(path: Path) -> Mapping[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, json.JSONDecodeError) as error:
        raise RefreshError(f"{path}: cannot read the current table ({error}); pass another --output") from None
    return document if isinstance(document, Mapping) else {}


def refresh(*, output: Path, session: Any, regions: Sequence[str], only_listed: bool = False) -> int:
    """Write the table for ``regions`` to ``output``; returns the number of instance types written."""
    from botocore.exceptions import BotoCoreError, ClientError

    current = _existing(output)
    only: set[str] | None = None
    if only_listed:
        only = {row["name"] for row in current.get("instance_types", ()) if isinstance(row, Mapping)}
        if not only:
            raise RefreshError(f"{output}: --only-listed needs an existing table with instance_types")
    try:
        rows = collect((session.client("ec2", region_name=region) for region in regions), only=only)
    except (BotoCoreError, ClientError) as error:
        raise RefreshError(f"DescribeInstanceTypes failed: {error}") from None
    if not rows:
        raise RefreshError(f"DescribeInstanceTypes returned no usable instance types in {', '.join(regions)}")
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    source = f"EC2 DescribeInstanceTypes ({', '.join(regions)}) on {stamp}"
    comment = current.get("_comment") if isinstance(current.get("_comment"), str) else DEFAULT_COMMENT
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(rows, comment=str(comment), source=source), encoding="utf-8")
    return len(rows)


def all_regions(session: Any, region: str) -> list[str]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response = session.client("ec2", region_name=region).describe_regions()
    except (BotoCoreError, ClientError) as error:
        raise RefreshError(f"DescribeRegions failed: {error}") from None
    return sorted(item["RegionName"] for item in response.get("Regions", ()))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.instance_types_refresh",
        description="Regenerate the instance-type table from EC2 DescribeInstanceTypes.",
    )
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help=f"file to write (default: {DEFAULT_OUTPUT})"
    )
    parser.add_argument("--region", help="region to ask (default: the AWS profile's region)")
    parser.add_argument("--profile", help="AWS profile")
    parser.add_argument("--all-regions", action="store_true", help="union of every region's types (slower)")
    parser.add_argument(
        "--only-listed", action="store_true", help="refresh only the types already in --output (keep a curated subset)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import boto3

    try:
        session = boto3.Session(profile_name=args.profile, region_name=args.region)
        region = args.region or session.region_name
        if not region:
            raise RefreshError("no region: pass --region or set AWS_REGION / a profile region")
        regions = all_regions(session, region) if args.all_regions else [region]
        count = refresh(output=args.output, session=session, regions=regions, only_listed=args.only_listed)
    except RefreshError as error:
        print(f"instance_types_refresh: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # credentials/profile problems surface as many botocore types
        from botocore.exceptions import BotoCoreError

        if isinstance(error, BotoCoreError):
            print(f"instance_types_refresh: {error}", file=sys.stderr)
            return 2
        raise
    print(f"wrote {count} instance types to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
