"""CDK constructs for AWS Batch multi-node parallel (MNP) jobs, built on aws-cdk-lib's own L2s.

* :class:`MnpNetwork` -- VPC with private compute subnets (NAT egress), flow logs, endpoints.
* :class:`ClusterPlacementGroup` -- a ``cluster`` placement group.
* :class:`MnpComputeEnvironment` -- managed On-Demand EC2 compute environment for MNP jobs.
* :class:`MnpJobQueue` -- job queue marked ``mnp:queue`` with RUNNABLE time-limit actions.
* :class:`MnpJobDefinition` / :class:`NodeGroup` -- checked multinode job definition.
* :class:`SubmitterPolicy`, :class:`EncryptionKey`, :func:`apply_permissions_boundary` -- who may submit,
  a customer managed key for logs and volumes, a permissions boundary on every role (``docs/security.md``).

Every construct validates its props when built and raises :class:`MnpPropsError` naming the prop, the
problem and the fix. See ``docs/constructs.md``.
"""

from constructs_lib._validation import MnpPropsError
from constructs_lib.compute_environment import CapacityReservation, MnpComputeEnvironment, MnpComputeEnvironmentProps
from constructs_lib.job_definition import MnpJobDefinition, MnpJobDefinitionProps, MnpJobRole, NodeGroup, NodeRange
from constructs_lib.job_queue import MNP_QUEUE_METADATA_KEY, MnpJobQueue
from constructs_lib.network import MnpNetwork
from constructs_lib.placement import ClusterPlacementGroup
from constructs_lib.security import EncryptionKey, SubmitterPolicy, apply_permissions_boundary

__all__ = [
    "MNP_QUEUE_METADATA_KEY",
    "CapacityReservation",
    "ClusterPlacementGroup",
    "EncryptionKey",
    "MnpComputeEnvironment",
    "MnpComputeEnvironmentProps",
    "MnpJobDefinition",
    "MnpJobDefinitionProps",
    "MnpJobQueue",
    "MnpJobRole",
    "MnpNetwork",
    "MnpPropsError",
    "NodeGroup",
    "NodeRange",
    "SubmitterPolicy",
    "apply_permissions_boundary",
]
