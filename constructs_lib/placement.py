"""A cluster placement group for the nodes of MNP jobs.

Tightly coupled jobs (MPI, NCCL, EFA) need low-latency, high-bandwidth links between nodes, which EC2
gives to instances packed into one *cluster* placement group. A cluster group lives in a single
Availability Zone, so the compute environment that uses it must use subnets of that one AZ only (see
:meth:`constructs_lib.network.MnpNetwork.compute_subnets`).
"""

from __future__ import annotations

from aws_cdk import Tags
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from constructs_lib._validation import MnpPropsError

_KIND = "ClusterPlacementGroup"
_MAX_NAME = 255


class ClusterPlacementGroup(Construct):
    """An ``AWS::EC2::PlacementGroup`` with strategy ``cluster``.

    Attributes:
        placement_group: the group, to pass to :class:`~constructs_lib.MnpComputeEnvironment`.
    """

    placement_group: ec2.IPlacementGroup

    def __init__(self, scope: Construct, id: str, *, name: str | None = None) -> None:
        """Args:
        name: a ``Name`` tag for the group. CloudFormation cannot set a placement group's name (it
            always generates one, read it from ``placement_group.placement_group_name``), and
            aws-cdk-lib silently ignores its own ``placement_group_name`` prop, so the name is a tag.
        """
        super().__init__(scope, id)
        if name is not None and not 1 <= len(name) <= _MAX_NAME:
            raise MnpPropsError(_KIND, id, "name", f"has {len(name)} characters", f"use 1 to {_MAX_NAME}, or None")
        group = ec2.PlacementGroup(self, "Resource", strategy=ec2.PlacementGroupStrategy.CLUSTER)
        if name is not None:
            Tags.of(group).add("Name", name)
        self.placement_group = group
