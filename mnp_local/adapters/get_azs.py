"""``Fn::GetAZs`` of the stack's own Region.

moto gap (moto 5.2.5): ``{"Fn::GetAZs": ""}`` (and ``{"Fn::GetAZs": {"Ref": "AWS::Region"}}``) returns
``us-east-1a`` .. ``us-east-1d`` whatever the stack's Region: moto reads an empty Region as its default,
us-east-1. A stack deployed to us-east-2 whose VPC spreads over ``Fn::GetAZs`` (the CDK writes it for a
stack whose account is not known at synth, such as a config that pins only ``env.region``) then gets
subnets in us-east-1a and us-east-1b of a us-east-2 VPC.

What AWS does instead: "Specifying an empty string is equivalent to specifying AWS::Region", and the
function returns the Availability Zones of that Region available to the account (CloudFormation user
guide, ``Fn::GetAZs``).

This adapter answers an empty or ``AWS::Region`` argument with the zones the emulated EC2 describes for
the stack's Region (``DescribeAvailabilityZones``, state ``available``); an explicit Region name is left
to moto (which names that Region's zones a..d).
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation import parsing

_ORIGINAL: dict[str, Any] = {}


def _stack_region_zones(resources_map: Any) -> list[str] | None:
    from moto.ec2.models import ec2_backends

    region = getattr(resources_map, "_region_name", None)
    account = getattr(resources_map, "_account_id", None)
    if not region or not account:
        return None
    zones = ec2_backends[account][region].describe_availability_zones()
    return [zone.name for zone in zones if getattr(zone, "state", "available") == "available"] or None


def _clean_json(resource_json: Any, resources_map: Any) -> Any:
    if isinstance(resource_json, dict) and "Fn::GetAZs" in resource_json:
        argument = resource_json["Fn::GetAZs"]
        if argument in ("", None) or argument == {"Ref": "AWS::Region"}:
            zones = _stack_region_zones(resources_map)
            if zones is not None:
                return zones
    return _ORIGINAL["clean_json"](resource_json, resources_map)


def register() -> None:
    """Patch moto's ``clean_json`` (idempotent); its recursive calls go through the module name, so they
    reach this function too."""
    if not _ORIGINAL:
        _ORIGINAL["clean_json"] = parsing.clean_json
    parsing.clean_json = _clean_json
