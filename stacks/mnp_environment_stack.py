"""The MNP environment stack: a network, cluster placement groups, compute environments, queues and
multi-node job definitions, composed from an :class:`~mnp_toolkit.config.MnpConfig`.

The stack only composes: every resource comes from a construct in :mod:`constructs_lib`.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from constructs_lib.compute_environment import CapacityReservation, MnpComputeEnvironment
from constructs_lib.job_definition import JobSecret, MnpJobDefinition, MnpJobRole, NodeGroup
from constructs_lib.job_queue import MnpJobQueue
from constructs_lib.network import MnpNetwork
from constructs_lib.placement import ClusterPlacementGroup
from constructs_lib.security import EncryptionKey, SubmitterPolicy, apply_permissions_boundary, log_group
from constructs_lib.watchdog import WatchdogOptions
from mnp_toolkit.config.model import (
    ComputeEnvironmentConfig,
    ExistingNetwork,
    FairShareConfig,
    JobDefinitionConfig,
    MnpConfig,
)

#: Resource types whose Tags property is create-only (changing it replaces the resource).
TAG_REPLACES_RESOURCE_TYPES = ("AWS::Batch::ComputeEnvironment", "AWS::EC2::PlacementGroup")


def retention(days: int) -> logs.RetentionDays:
    """The CDK enum member for a retention the config already validated (LOG_RETENTION_DAYS)."""
    return _RETENTION[days]


_RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
    2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}


class MnpEnvironmentStack(cdk.Stack):
    """One deployable MNP environment described by ``config``."""

    def __init__(self, scope: Construct, construct_id: str, *, config: MnpConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        for key, value in config.tags.items():
            # Tags are create-only on these two types: a tag edit would replace the compute environment
            # (killing running jobs) and the placement group. Instances still get the tags through the
            # launch template's tag specifications.
            cdk.Tags.of(self).add(key, value, exclude_resource_types=list(TAG_REPLACES_RESOURCE_TYPES))

        self.encryption_key = self._encryption_key(config)
        self.network = self._network(config)
        self.compute_availability_zone = self.network.availability_zones[0]
        compute_subnets = self.network.compute_subnets(availability_zone=self.compute_availability_zone)

        # One execution role and one log group per retention for all job definitions: per-job roles and
        # groups would cost 4 resources a job definition against CloudFormation's 500-resource limit.
        self.job_execution_role = iam.Role(
            self,
            "JobExecutionRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="Pulls the images and ships the logs of the stack's MNP job definitions",
        )
        self.job_log_groups: dict[int, logs.LogGroup] = {
            days: log_group(self, f"JobLogs{days}d", retention=retention(days), encryption_key=self.encryption_key)
            for days in sorted({jd.log_retention_days for jd in config.job_definitions})
        }
        self.job_roles: dict[tuple[Any, ...], MnpJobRole] = {}
        self.job_definitions: dict[str, MnpJobDefinition] = {}
        for jd in config.job_definitions:
            self.job_definitions[jd.name] = MnpJobDefinition(
                self,
                f"JobDefinition-{jd.name}",
                name=f"{config.stack_name}-{jd.name}",
                image=jd.image,
                instance_type=jd.instance_type,
                num_nodes=jd.num_nodes,
                main_node=jd.main_node,
                command=jd.command,
                environment=jd.environment,
                vcpus=jd.vcpus,
                memory_mib=jd.memory_mib,
                gpus=jd.gpus,
                shared_memory_mib=jd.shared_memory_mib,
                retry_attempts=jd.retry_attempts,
                timeout=cdk.Duration.minutes(jd.timeout_minutes) if jd.timeout_minutes else None,
                efa=jd.efa,
                secrets={name: JobSecret(arn) for name, arn in jd.secrets.items()},
                readonly_root_filesystem=jd.readonly_root_filesystem,
                user=jd.user,
                node_groups=[
                    NodeGroup(
                        target_nodes=group.target_nodes,
                        image=group.image,
                        command=group.command,
                        environment=group.environment,
                        vcpus=group.vcpus,
                        memory_mib=group.memory_mib,
                        gpus=group.gpus,
                    )
                    for group in jd.node_groups
                ]
                if jd.node_groups
                else None,
                log_group=self.job_log_groups[jd.log_retention_days],
                execution_role=self.job_execution_role,
                job_role=self._job_role(jd),
                enable_execute_command=jd.ecs_exec,
            )

        self.compute_environments: dict[str, MnpComputeEnvironment] = {}
        for ce in config.compute_environments:
            placement: ec2.IPlacementGroup | None = None
            if ce.existing_placement_group_name:
                placement = ec2.PlacementGroup.from_placement_group_name(
                    self, f"PlacementGroup-{ce.name}", ce.existing_placement_group_name
                )
            elif ce.placement_group:
                placement = ClusterPlacementGroup(self, f"PlacementGroup-{ce.name}").placement_group
            extra_groups = [
                ec2.SecurityGroup.from_security_group_id(self, f"ExtraSg-{ce.name}-{index}", group_id, mutable=False)
                for index, group_id in enumerate(ce.additional_security_group_ids)
            ]
            self.compute_environments[ce.name] = MnpComputeEnvironment(
                self,
                f"ComputeEnvironment-{ce.name}",
                vpc=self.network.vpc,
                subnets=compute_subnets,
                instance_types=ce.instance_types,
                placement_group=placement,
                max_vcpus=ce.max_vcpus,
                imds_hop_limit=ce.imds_hop_limit,
                restricted_egress=ce.restricted_egress,
                efa_installer_sha256=ce.efa_installer_sha256,
                root_volume_kms_key=self.encryption_key,
                min_vcpus=ce.min_vcpus,
                job_definitions=[
                    self.job_definitions[jd.name] for jd in config.compute_environment_job_definitions(ce.name)
                ],
                additional_security_groups=extra_groups,
                root_volume_size_gib=ce.root_volume_size_gib,
                efa=ce.efa,
                images=self._images(ce),
                install_efa_driver=ce.install_efa_driver,
                capacity_reservation=CapacityReservation(
                    id=ce.capacity_reservation.id, resource_group_arn=ce.capacity_reservation.resource_group_arn
                )
                if ce.capacity_reservation
                else None,
            )

        self.job_queues: dict[str, MnpJobQueue] = {}
        for queue in config.job_queues:
            self.job_queues[queue.name] = MnpJobQueue(
                self,
                f"JobQueue-{queue.name}",
                name=f"{config.stack_name}-{queue.name}",
                compute_environments=[self.compute_environments[name] for name in queue.compute_environments],
                priority=queue.priority,
                watchdog_options=WatchdogOptions(
                    reserved_concurrency=queue.watchdog_reserved_concurrency,
                    dead_letter_queue=queue.watchdog_dead_letter_queue,
                    log_retention=retention(queue.watchdog_log_retention_days),
                    log_encryption_key=self.encryption_key,
                ),
                runnable_timeout=cdk.Duration.minutes(queue.runnable_timeout_minutes),
                capacity_timeout=cdk.Duration.minutes(queue.capacity_timeout_minutes)
                if queue.capacity_timeout_minutes
                else None,
                scheduling_policy=self._scheduling_policy(queue.name, queue.fair_share),
                watchdog=queue.watchdog,
            )

        # Secrets: the shared execution role may decrypt with the keys the job definitions name.
        secret_keys = sorted({key for jd in config.job_definitions for key in jd.secret_kms_key_arns})
        if secret_keys:
            self.job_execution_role.add_to_policy(
                iam.PolicyStatement(sid="DecryptTheJobSecrets", actions=["kms:Decrypt"], resources=secret_keys)
            )
        # Who may submit: batch:SubmitJob with this stack's queues and job definitions only (an output).
        self.submitter_policy = (
            SubmitterPolicy(
                self,
                "SubmitterPolicy",
                job_queues=[queue.job_queue for queue in self.job_queues.values()],
                job_definitions=[jd.job_definition for jd in self.job_definitions.values()],
            )
            if self.job_definitions
            else None
        )
        if config.security.permissions_boundary:
            apply_permissions_boundary(self, config.security.permissions_boundary)

        for name, queue_construct in self.job_queues.items():
            cdk.CfnOutput(self, f"JobQueueArn-{name}", value=queue_construct.job_queue.job_queue_arn)
        for name, jd_construct in self.job_definitions.items():
            cdk.CfnOutput(self, f"JobDefinitionArn-{name}", value=jd_construct.job_definition.job_definition_arn)

    def _job_role(self, jd: JobDefinitionConfig) -> iam.IRole | None:
        """The job definition's job role: an existing one by ARN (imported as immutable: the stack never
        changes a role it does not own), or one the stack creates, shared by job definitions that ask for
        the same access. ECS Exec alone needs no role here: the job definition creates its own."""
        setting = jd.job_role
        if setting is None:
            return None
        if setting.arn is not None:
            return iam.Role.from_role_arn(self, f"JobRole-{jd.name}", setting.arn, mutable=False)
        key = jd.job_role_key
        assert key is not None
        if key not in self.job_roles:
            self.job_roles[key] = MnpJobRole(
                self,
                f"JobRole-{jd.name}",
                s3_read=setting.s3_read,
                s3_write=setting.s3_write,
                managed_policy_arns=setting.managed_policy_arns,
            )
        return self.job_roles[key].role

    def _images(self, ce: ComputeEnvironmentConfig) -> list[batch.EcsMachineImage]:
        """The compute environment's custom AMI: an image ID (the config requires env.region with one) or
        an SSM parameter resolved at deploy time, with the Batch image type it is built from."""
        if ce.ami is None:
            return []
        image: ec2.IMachineImage
        if ce.ami.image_id is not None:
            assert self.config.env.region is not None  # the config checks it
            image = ec2.MachineImage.generic_linux({self.config.env.region: ce.ami.image_id})
        else:
            assert ce.ami.ssm_parameter is not None
            image = ec2.MachineImage.from_ssm_parameter(ce.ami.ssm_parameter)
        image_type = ce.ami_image_type
        assert image_type is not None
        return [batch.EcsMachineImage(image=image, image_type=batch.EcsMachineImageType(image_type))]

    def _scheduling_policy(self, queue: str, fair_share: FairShareConfig | None) -> batch.ISchedulingPolicy | None:
        if fair_share is None:
            return None
        return batch.FairshareSchedulingPolicy(
            self,
            f"SchedulingPolicy-{queue}",
            share_decay=cdk.Duration.seconds(fair_share.share_decay_seconds)
            if fair_share.share_decay_seconds
            else None,
            compute_reservation=fair_share.compute_reservation or None,
            shares=[
                batch.Share(share_identifier=share.share_identifier, weight_factor=share.weight_factor)
                for share in fair_share.shares
            ],
        )

    @property
    def availability_zones(self) -> list[str]:
        """The AZs the config names (``network.availability_zones``, or an existing network's AZ); otherwise
        the CDK's own answer.

        ``ec2.Vpc`` reads the stack's AZs to check that given ones are a subset of them, and for a stack
        with a concrete account the CDK's answer is a context lookup (``availability-zones``): without
        this override, naming the AZs in the config would not spare the lookup, and `cdk synth` with no
        credentials would fail with "Need to perform AWS calls". The CDK documents overriding this
        getter as the way to choose AZs (``Stack.availabilityZones``)."""
        network = self.config.network if hasattr(self, "config") else None
        if isinstance(network, ExistingNetwork):
            return [network.availability_zone]
        if network is not None and network.availability_zones:
            return list(network.availability_zones)
        zones: list[str] = super().availability_zones
        return zones

    def _encryption_key(self, config: MnpConfig) -> kms.IKey | None:
        """``security.kms_key``: a key the stack creates (``create``), one of the account's by ARN, or none."""
        setting = config.security.kms_key
        if setting is None:
            return None
        if setting == "create":
            return EncryptionKey(self, "EncryptionKey").key
        return kms.Key.from_key_arn(self, "EncryptionKey", setting)

    def _network(self, config: MnpConfig) -> MnpNetwork:
        network = config.network
        if isinstance(network, ExistingNetwork):
            return MnpNetwork.from_existing(
                self,
                "Network",
                vpc_id=network.vpc_id,
                availability_zones=[network.availability_zone],
                private_subnet_ids=network.private_subnet_ids,
                private_subnet_route_table_ids=network.private_subnet_route_table_ids,
            )
        return MnpNetwork(
            self,
            "Network",
            cidr=network.cidr,
            max_azs=network.max_azs,
            nat_gateways_per_az=network.nat_gateways == "per_az",
            flow_logs=network.flow_logs,
            flow_log_retention=retention(network.flow_log_retention_days),
            s3_gateway_endpoint=network.s3_gateway_endpoint,
            interface_endpoints=network.interface_endpoints,
            availability_zones=network.availability_zones,
            restrict_endpoints=network.restrict_endpoints,
            endpoint_accounts=network.endpoint_accounts,
            flow_log_encryption_key=self.encryption_key,
        )
