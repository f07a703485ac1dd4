"""``AWS::Batch::ComputeEnvironment`` for moto's CloudFormation, as AWS accepts it.

moto gaps (moto 5.2.5), each met by aws-cdk-lib's ``ManagedEc2EcsComputeEnvironment``:

- moto's model reads ``Properties["ServiceRole"]`` (``KeyError`` without it) and its backend rejects
  a compute environment without one. AWS does not require it: Batch then uses its service-linked
  role ``AWSServiceRoleForBatch`` (created on first use). aws-cdk-lib renders no ``ServiceRole``.
- moto accepts only ``Type: MANAGED|UNMANAGED``. CloudFormation compares the value
  case-insensitively and aws-cdk-lib renders ``managed``.
- moto requires ``ComputeResources.SecurityGroupIds`` (``KeyError: 'securityGroupIds'``). AWS takes
  the security groups from the launch template when the compute environment names none, which is
  how EFA compute environments are built (the groups sit on the template's EFA network interfaces).
- moto's model has no ``Fn::GetAtt`` attributes (``ComputeEnvironmentArn`` fails with an
  ``AttributeError``) and no update or delete handlers: an update of the stack drops the resource from
  moto's map and a delete leaves the compute environment behind. AWS updates ``State``,
  ``ServiceRole`` and most ``ComputeResources`` fields in place.
- moto's ``update_compute_environment`` (the API and so CloudFormation updates) ignores
  ``computeResources`` ("TODO Implement resizing"): a compute environment keeps its first ``maxvCpus``.

What this adapter does instead: upper-cases ``Type``, passes the service-linked role's ARN (creating
the role in moto's IAM if missing, as Batch does), lets moto validate the launch template's security
groups when the compute environment names none (and then describes the compute environment without
``securityGroupIds``, as AWS does), wraps the moto compute environment so that
``Ref`` and ``GetAtt ComputeEnvironmentArn`` return its ARN, updates in place through moto's
``update_compute_environment``, which this adapter makes apply the ``ComputeResourceUpdate`` fields
AWS takes (vCPU sizes, instance types, subnets, security groups, launch template, placement group,
allocation strategy; API reference, UpdateComputeEnvironment) as given, and deletes it. The local node
runner places jobs by those sizes.
Everything else, including moto's own validation of instance types, subnets, security groups and the
instance profile, is moto's.
"""

from __future__ import annotations

import json
from typing import Any

from moto.batch.exceptions import InvalidParameterValueException
from moto.batch.models import BatchBackend, ComputeEnvironment, batch_backends
from moto.batch.utils import lowercase_first_key
from moto.core.common_models import CloudFormationModel
from moto.ec2.models import ec2_backends
from moto.iam.models import iam_backends
from moto.utilities.utils import get_partition

from mnp_local.adapters._base import PhysicalIdAttributes

BATCH_SERVICE = "batch.amazonaws.com"
SERVICE_LINKED_ROLE_NAME = "AWSServiceRoleForBatch"


def service_linked_role_arn(*, account_id: str, partition: str = "aws") -> str:
    """The ARN of Batch's service-linked role, the role AWS uses when ``ServiceRole`` is absent."""
    return f"arn:{partition}:iam::{account_id}:role/aws-service-role/{BATCH_SERVICE}/{SERVICE_LINKED_ROLE_NAME}"


def ensure_service_linked_role(*, account_id: str, region_name: str) -> str:
    """Create ``AWSServiceRoleForBatch`` in moto's IAM of the Region's partition (aws, aws-cn, aws-us-gov)
    unless it exists; return its ARN."""
    partition = get_partition(region_name)
    iam = iam_backends[account_id][partition]
    arn = service_linked_role_arn(account_id=account_id, partition=partition)
    if not any(role.arn == arn for role in iam.get_roles()):
        # Not moto's create_service_linked_role: it names this role "AWSServiceRoleForbatch".
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": [BATCH_SERVICE]}, "Action": ["sts:AssumeRole"]}],
        }
        iam.create_role(
            role_name=SERVICE_LINKED_ROLE_NAME,
            assume_role_policy_document=json.dumps(trust),
            path=f"/aws-service-role/{BATCH_SERVICE}/",
            permissions_boundary=None,
            description="Batch service-linked role (created by mnp_local as Batch does on first use)",
            tags=[],
            max_session_duration="3600",
            linked_service=BATCH_SERVICE,
        )
    return arn


def launch_template_security_groups(*, account_id: str, region_name: str, launch_template: dict[str, Any]) -> list[str]:
    """Security group ids of a compute environment's launch template (``SecurityGroupIds`` and those
    of its network interfaces), from the version the compute environment names (default: $Default)."""
    ec2 = ec2_backends[account_id][region_name]
    if launch_template.get("launchTemplateId"):
        template = ec2.get_launch_template(launch_template["launchTemplateId"])
    else:
        template = ec2.get_launch_template_by_name(launch_template["launchTemplateName"])
    data = template.get_version(launch_template.get("version", "$Default")).data
    groups = list(data.get("SecurityGroupIds", []))
    for interface in data.get("NetworkInterfaces", []):
        groups.extend(interface.get("Groups", []))
    return list(dict.fromkeys(groups))


def _normalized(
    properties: dict[str, Any], *, account_id: str, region_name: str
) -> tuple[str, str, dict[str, Any] | None, str]:
    env_type = str(properties.get("Type", "MANAGED")).upper()
    service_role = properties.get("ServiceRole") or ensure_service_linked_role(
        account_id=account_id, region_name=region_name
    )
    compute_resources = properties.get("ComputeResources")
    return (
        env_type,
        str(properties.get("State", "ENABLED")).upper(),
        lowercase_first_key(compute_resources) if compute_resources is not None else None,
        service_role,
    )


#: ``ComputeResourceUpdate`` fields (API reference, UpdateComputeEnvironment) applied as given.
UPDATABLE_RESOURCES = (
    "minvCpus",
    "maxvCpus",
    "desiredvCpus",
    "instanceTypes",
    "subnets",
    "securityGroupIds",
    "launchTemplate",
    "placementGroup",
    "allocationStrategy",
)
_moto_update = BatchBackend.update_compute_environment


def _update_compute_environment(
    self: BatchBackend,
    compute_environment_name: str,
    state: str | None,
    compute_resources: dict[str, Any] | None,
    service_role: str | None,
) -> tuple[str, str]:
    answer = _moto_update(self, compute_environment_name, state, compute_resources, service_role)
    environment = self.get_compute_environment(compute_environment_name)
    if compute_resources and environment is not None and environment.compute_resources is not None:
        for key in UPDATABLE_RESOURCES:
            if key in compute_resources:
                environment.compute_resources[key] = compute_resources[key]
    return answer


def register() -> None:
    """Make moto's UpdateComputeEnvironment apply ``computeResources`` (idempotent)."""
    BatchBackend.update_compute_environment = _update_compute_environment  # type: ignore[method-assign]


class ComputeEnvironmentAdapter(PhysicalIdAttributes, CloudFormationModel):
    """Replaces moto's model for the type (moto's model map keeps the last subclass per type)."""

    CFN_TYPE = "AWS::Batch::ComputeEnvironment"
    CFN_NAME_PROPERTY = "ComputeEnvironmentName"
    CFN_ATTRIBUTES = frozenset({"ComputeEnvironmentArn"})

    def __init__(self, environment: ComputeEnvironment) -> None:
        self.environment = environment

    @property
    def physical_resource_id(self) -> str:
        return self.environment.arn

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> ComputeEnvironmentAdapter:
        properties = cloudformation_json["Properties"]
        env_type, state, compute_resources, service_role = _normalized(
            properties, account_id=account_id, region_name=region_name
        )
        groups_from_template = False
        if compute_resources is not None and not compute_resources.get("securityGroupIds"):
            launch_template = compute_resources.get("launchTemplate")
            groups = (
                launch_template_security_groups(
                    account_id=account_id, region_name=region_name, launch_template=launch_template
                )
                if launch_template
                else []
            )
            if not groups:
                raise InvalidParameterValueException(
                    f"compute environment {resource_name}: no security groups: set "
                    "ComputeResources.SecurityGroupIds or security groups in its launch template"
                )
            compute_resources["securityGroupIds"] = groups
            groups_from_template = True
        tags = properties.get("Tags")
        environment = batch_backends[account_id][region_name].create_compute_environment(
            resource_name,
            env_type,
            state,
            compute_resources,  # type: ignore[arg-type]
            service_role,
            tags=dict(tags) if tags else None,
        )
        if groups_from_template:
            environment.compute_resources.pop("securityGroupIds", None)
        return cls(environment)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: ComputeEnvironmentAdapter,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> ComputeEnvironmentAdapter:
        properties = cloudformation_json["Properties"]
        _, state, compute_resources, service_role = _normalized(
            properties, account_id=account_id, region_name=region_name
        )
        batch_backends[account_id][region_name].update_compute_environment(
            original_resource.environment.arn, state, compute_resources, service_role
        )
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        batch_backends[account_id][region_name].delete_compute_environment(resource_name)
