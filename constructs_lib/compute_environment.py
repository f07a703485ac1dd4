"""A managed, On-Demand EC2 compute environment for AWS Batch multi-node parallel jobs.

Built on aws-cdk-lib's ``ManagedEc2EcsComputeEnvironment``, with the choices MNP jobs need made for you:

* **On-Demand only.** MNP jobs are not supported on Spot Instances (``CreateComputeEnvironment``) or on
  Fargate; the construct offers neither.
* **One security group for node-to-node traffic**: all traffic from the group itself (MPI, NCCL and EFA
  need every port between nodes), nothing from anywhere else; egress to the group itself (EFA requires
  it explicitly) and to anywhere (image pulls, logs, AWS APIs through NAT). Up to four extra groups may
  be added: AWS Batch allows five per MNP compute environment.
* **A cluster placement group** (optional but recommended), which confines the compute environment to
  one Availability Zone: the construct refuses subnets in several AZs when a placement group is set.
* **An explicit instance-type list**; ``optimal`` only when asked, and one CPU architecture.
* **minvCpus 0** by default (no idle instances), **maxvCpus** derived from the job definitions it must run.
* **A launch template** that requires IMDSv2 and encrypts the gp3 root volume, and, when asked, launches
  into an On-Demand Capacity Reservation or a reservation group (``capacity_reservation``).
* **A custom AMI** when asked (``images``: an ECS AMI with GPU or EFA drivers baked in); with EFA and an
  AMI that has the driver, ``install_efa_driver=False`` skips the boot-time install.

Instance role: unless one is passed, the L2 creates the role AWS Batch documents for container
instances, with the AWS-managed ``AmazonEC2ContainerServiceforEC2Role`` policy (the ECS agent's
permissions). cdk-nag reports that as AwsSolutions-IAM4; the role is exposed as :attr:`instance_role` so
a stack can acknowledge it (AWS maintains that policy as the agent changes; a hand-copied policy would
silently fall behind), or pass ``instance_role`` to use its own.

IMDS hop limit: 1 by default. The ECS agent runs in the host's network namespace, one hop from IMDS, so
it keeps working; containers in ``bridge`` mode sit a hop further and cannot complete an IMDSv2 request;
MNP containers (``awsvpc``) are already cut off by ``ECS_AWSVPC_BLOCK_IMDS``; and containers in ``host``
mode (single-node jobs sent to this environment's queue) reach IMDS whatever the limit: only who may
submit (``constructs_lib.security.SubmitterPolicy``) closes that path. The usual reason for 2, "tools in
containers read metadata", does not hold here: the jobs get credentials from their job role through the
ECS credential endpoint, and the AZ, instance type and addresses through the ``AWS_BATCH_*`` variables
and ECS's task metadata endpoint, none of which is IMDS. Pass ``imds_hop_limit=2`` for images that insist
on IMDS from a bridge-mode container. See docs/security.md.

EFA driver: installed at boot from a pinned installer version (``EFA_INSTALLER_VERSION``), whose GPG
signature is checked against the fingerprint AWS publishes before anything is unpacked; a mismatch ends
the boot script with a message on the console, and the driver is not installed.

Egress: all outbound traffic by default; ``restricted_egress=True`` allows only HTTPS (443) out and all
traffic to the node group itself (MPI, NCCL and EFA between the nodes). DNS, NTP and IMDS are not
filtered by security groups (Amazon VPC user guide, security group rules), so they keep working; a
file system (NFS 2049, Lustre 988) or any other port needs an ``additional_security_groups`` group.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from aws_cdk import Acknowledgment, Stack, Token, Validations
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from constructs_lib._nag import NAG_IAM4, NAG_PLUGIN, nag_finding_value
from constructs_lib._validation import MnpPropsError
from mnp_toolkit.core import instance_types as itypes
from mnp_toolkit.core.instance_types import Architecture
from mnp_toolkit.core.limits import MAX_SECURITY_GROUPS

if TYPE_CHECKING:
    from constructs_lib.job_definition import MnpJobDefinition

_KIND = "MnpComputeEnvironment"
#: AWS Batch allows five security groups on an MNP compute environment; the construct adds one.
#: The node group takes one of the five groups an MNP compute environment may have.
MAX_ADDITIONAL_SECURITY_GROUPS = MAX_SECURITY_GROUPS - 1
DEFAULT_ROOT_VOLUME_GIB = 100
ROOT_DEVICE_NAME = "/dev/xvda"
_FAMILY = re.compile(r"^[a-z][a-z0-9-]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

#: The AWS-managed policy aws-cdk-lib attaches to the container instances' role.
ECS_INSTANCE_POLICY = "service-role/AmazonEC2ContainerServiceforEC2Role"


_CAPACITY_RESERVATION_ID = re.compile(r"^cr-[0-9a-f]{17}$")
_RESOURCE_GROUP_ARN = re.compile(r"^arn:aws[a-z-]*:resource-groups:[a-z0-9-]+:[0-9]{12}:group/[A-Za-z0-9_.-]{1,300}$")


@dataclass(frozen=True)
class CapacityReservation:
    """Launch the instances into one On-Demand Capacity Reservation (``id``) or into a Capacity
    Reservation resource group (``resource_group_arn``), through the launch template's
    ``CapacityReservationSpecification.CapacityReservationTarget`` (the L2 launch template has no prop for
    it; Batch does not list it among the launch-template settings it ignores).

    EC2 launches an instance into a reservation only if the instance type, platform, Availability Zone and
    tenancy match, the reservation has room and is ``active`` (EC2 user guide, "Launch instances into an
    existing Capacity Reservation"); a group falls back to On-Demand capacity when none of its reservations
    fits ("Capacity Reservation groups"). ``mnp preflight`` checks the reservation against the config.
    """

    id: str | None = None
    resource_group_arn: str | None = None

    def specification(self) -> dict[str, dict[str, str]]:
        """The launch template's ``CapacityReservationSpecification``."""
        if self.id is not None:
            return {"CapacityReservationTarget": {"CapacityReservationId": self.id}}
        assert self.resource_group_arn is not None
        return {"CapacityReservationTarget": {"CapacityReservationResourceGroupArn": self.resource_group_arn}}


@dataclass(frozen=True)
class MnpComputeEnvironmentProps:
    """The props of :class:`MnpComputeEnvironment`, as given (kept on the construct as ``props``)."""

    vpc: ec2.IVpc
    subnets: ec2.SubnetSelection
    instance_types: tuple[str, ...]
    placement_group: ec2.IPlacementGroup | None
    max_vcpus: int | None = None
    job_definitions: tuple[MnpJobDefinition, ...] = ()
    min_vcpus: int = 0
    additional_security_groups: tuple[ec2.ISecurityGroup, ...] = ()
    use_optimal_instance_classes: bool = False
    root_volume_size_gib: int = DEFAULT_ROOT_VOLUME_GIB
    name: str | None = None
    efa: bool = False
    imds_hop_limit: int = 1
    instance_role: iam.IRole | None = None
    images: tuple[batch.EcsMachineImage, ...] = ()
    install_efa_driver: bool = True
    block_container_imds: bool = True
    restricted_egress: bool = False
    root_volume_kms_key: kms.IKey | None = None
    efa_installer_sha256: str | None = None
    capacity_reservation: CapacityReservation | None = None


#: The EFA installer version the boot script installs: the "latest stable" release in the EC2 user guide
#: ("Get started with EFA and NCCL", https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/efa-start-nccl.html:
#: ``curl -O https://efa-installer.amazonaws.com/aws-efa-installer-1.50.0.tar.gz``). Pinned, so every boot
#: installs the same driver: ``aws-efa-installer-latest`` changes under running clusters.
EFA_INSTALLER_VERSION = "1.50.0"
EFA_INSTALLER_BASE_URL = "https://efa-installer.amazonaws.com"
#: The fingerprint of AWS's EFA signing key, as the EC2 user guide publishes it ("Verify the GPG key's
#: fingerprint ... identical to 4E90 91BC BB97 A96B 26B1 5E59 A054 80B1 DD2D 3CCC"; same pages). The docs'
#: checksum table ("Verify the EFA installer using a checksum", efa-verify) is the alternative; the copies
#: the toolkit could consult list SHA256 values only up to EFA 1.14.0, none for 1.50.0, so the boot script
#: verifies the GPG signature of the pinned tarball instead (and a SHA256, when one is given).
EFA_INSTALLER_GPG_FINGERPRINT = "4E9091BCBB97A96B26B15E59A05480B1DD2D3CCC"


def efa_driver_install_commands(
    *,
    version: str = EFA_INSTALLER_VERSION,
    fingerprint: str = EFA_INSTALLER_GPG_FINGERPRINT,
    sha256: str | None = None,
    base_url: str = EFA_INSTALLER_BASE_URL,
) -> tuple[str, ...]:
    """Boot commands (bash, ``set -euo pipefail``) that install the EFA kernel driver, verified first.

    Downloads the pinned tarball, its ``.sig`` and AWS's public key; imports the key into a keyring of
    its own (``--no-autostart``: public-key operations need no gpg-agent, and none is left running) and
    requires the key's fingerprint to be ``fingerprint``; requires a good signature by that key
    (gpg's machine-readable ``VALIDSIG`` line names it) and, if given, the tarball's SHA256. Only then is
    anything unpacked. Any mismatch prints one line on stderr and the console and exits 1: the driver is
    not installed. ``--minimal`` installs the driver and rdma-core only (libfabric and MPI belong in the
    container image); ``--check-signatures`` (installer 1.48.0 and later) also checks every package.
    AWS Batch needs launch-template user data in MIME multi-part form, which the construct builds.
    """
    tarball = f"aws-efa-installer-{version}.tar.gz"
    # Only the base URL's own protocol (https), also for redirects.
    fetch = f"curl --silent --show-error --fail --retry 5 --proto ={base_url.split(':', 1)[0]} -o"
    key = '"$efa_dir/aws-efa-installer.key"'
    status = '"$efa_dir/verify.status"'
    commands = [
        'mnp_efa_fail() { msg="mnp: EFA driver NOT installed: $*"; echo "$msg" >&2; '
        'echo "$msg" > /dev/console 2>/dev/null || true; exit 1; }',
        'efa_dir="$(mktemp -d)" && export GNUPGHOME="$efa_dir/gnupg" && mkdir -m 700 "$GNUPGHOME"',
        f'{fetch} "$efa_dir/{tarball}" {base_url}/{tarball} || mnp_efa_fail "download of {tarball} failed"',
        f'{fetch} "$efa_dir/{tarball}.sig" {base_url}/{tarball}.sig || mnp_efa_fail "download of {tarball}.sig failed"',
        f'{fetch} "$efa_dir/aws-efa-installer.key" {base_url}/aws-efa-installer.key '
        '|| mnp_efa_fail "download of aws-efa-installer.key failed"',
        f'gpg --batch --no-autostart --quiet --import {key} || mnp_efa_fail "the signing key does not import"',
        f'gpg --batch --no-autostart --with-colons --fingerprint | grep -q "^fpr:::::::::{fingerprint}:" '
        f'|| mnp_efa_fail "the signing key is not AWS\'s published key {fingerprint}"',
        f'gpg --batch --no-autostart --status-fd 1 --verify "$efa_dir/{tarball}.sig" "$efa_dir/{tarball}" '
        f"> {status} 2>&1 "
        f'|| mnp_efa_fail "the signature of {tarball} does not verify"',
        f'grep -Eq "^\\[GNUPG:\\] VALIDSIG (.* )?{fingerprint}( |$)" {status} '
        f'|| mnp_efa_fail "{tarball} is not signed by {fingerprint}"',
    ]
    if sha256 is not None:
        commands.append(
            f'echo "{sha256}  $efa_dir/{tarball}" | sha256sum --check --status '
            f'|| mnp_efa_fail "the SHA256 of {tarball} is not {sha256}"'
        )
    commands += [
        f'tar -xf "$efa_dir/{tarball}" -C "$efa_dir"',
        f'(cd "$efa_dir/aws-efa-installer" && EFA_INSTALLER_KEY={key} '
        './efa_installer.sh -y --minimal --check-signatures) || mnp_efa_fail "efa_installer.sh failed"',
    ]
    return tuple(commands)


#: Installs the EFA kernel driver at boot, verified (see :func:`efa_driver_install_commands`).
EFA_DRIVER_INSTALL_COMMANDS: tuple[str, ...] = efa_driver_install_commands()


#: MNP containers run in awsvpc mode; this ECS agent setting keeps them from the instance metadata service
#: (and so from the instance role's credentials). Jobs get their own role through the ECS credential endpoint.
BLOCK_CONTAINER_IMDS_COMMANDS: tuple[str, ...] = ("echo ECS_AWSVPC_BLOCK_IMDS=true >> /etc/ecs/ecs.config",)


class MnpComputeEnvironment(Construct):
    """A managed On-Demand EC2 compute environment set up for MNP jobs (see the module docs).

    Attributes:
        compute_environment: the compute environment.
        security_group: the node-to-node security group the construct created.
        launch_template: the launch template (IMDSv2, encrypted root volume, EFA interfaces if asked).
        instance_role: the container instances' IAM role.
        max_vcpus: the maxvCpus actually rendered (given or derived).
        architecture: the CPU architecture of the instance types (``None`` if no type is known).
        efa_interfaces: EFA interfaces per instance in the launch template (0 without EFA).
        props: the props as given.
    """

    compute_environment: batch.IManagedEc2EcsComputeEnvironment
    security_group: ec2.ISecurityGroup
    launch_template: ec2.LaunchTemplate
    instance_role: iam.IRole
    max_vcpus: int
    architecture: Architecture | None
    efa_interfaces: int
    props: MnpComputeEnvironmentProps

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        instance_types: Sequence[str],
        placement_group: ec2.IPlacementGroup | None,
        max_vcpus: int | None = None,
        job_definitions: Sequence[MnpJobDefinition] = (),
        min_vcpus: int = 0,
        additional_security_groups: Sequence[ec2.ISecurityGroup] = (),
        use_optimal_instance_classes: bool = False,
        root_volume_size_gib: int = DEFAULT_ROOT_VOLUME_GIB,
        name: str | None = None,
        efa: bool = False,
        imds_hop_limit: int = 1,
        instance_role: iam.IRole | None = None,
        images: Sequence[batch.EcsMachineImage] = (),
        install_efa_driver: bool = True,
        block_container_imds: bool = True,
        restricted_egress: bool = False,
        root_volume_kms_key: kms.IKey | None = None,
        efa_installer_sha256: str | None = None,
        capacity_reservation: CapacityReservation | None = None,
    ) -> None:
        """Args:
        vpc, subnets: where the instances go; private subnets of ONE AZ (``MnpNetwork.compute_subnets``).
        instance_types: explicit types (``c5n.18xlarge``) or families (``c5n``), one architecture.
        placement_group: a cluster placement group (``ClusterPlacementGroup``); required with ``efa``.
        max_vcpus: default: the largest ``required_vcpus`` of ``job_definitions``.
        job_definitions: the MNP job definitions this environment must be able to run; checked
            against ``instance_types`` and ``max_vcpus``.
        min_vcpus: vCPUs kept running while idle (they cost money); default 0.
        additional_security_groups: at most 4 more groups for the nodes.
        use_optimal_instance_classes: also allow Batch's ``optimal`` (C4/M4/R4 or C5/M5/R5, x86_64).
        root_volume_size_gib: encrypted gp3 root volume; it also holds the container images, and MNP
            images (MPI, CUDA) are often several GiB, hence 100 by default.
        name: physical compute environment name; default generated.
        efa: give every instance as many EFA interfaces as its type supports (launch template
            network interfaces); the types must support EFA and a placement group is required.
        imds_hop_limit: IMDSv2 PUT response hop limit (1 to 64), default 1; see the module docs.
        instance_role: your own container-instance role instead of the L2's default one.
        images: AMIs for the instances (for example one with the EFA driver); default: Batch's
            ECS-optimized AMI.
        install_efa_driver: with ``efa``, install the EFA driver at boot through MIME user data (the
            ECS-optimized AMI has none; AWS Batch requires "the AMI has the EFA driver loaded"). Turn
            off when ``images`` already carry it (faster boot, no download through the NAT); without
            ``images`` that is an error, since EFA would not work.
        capacity_reservation: a :class:`CapacityReservation` (one reservation or a group) the instances
            launch into; default none (On-Demand capacity, or any ``open`` reservation that matches).
        block_container_imds: set ``ECS_AWSVPC_BLOCK_IMDS=true`` for the ECS agent at boot, so job
            containers (awsvpc mode) cannot read instance metadata or the instance role's credentials.
        restricted_egress: allow only HTTPS out (plus all traffic within the node group) instead of all
            outbound traffic; see the module docs.
        root_volume_kms_key: a customer managed KMS key for the root volume (default: the account's EBS
            key). Its key policy must admit the EC2 Auto Scaling service-linked role
            (``constructs_lib.security.EncryptionKey`` does; docs/security.md).
        efa_installer_sha256: with the EFA driver installed at boot, also require this SHA256 of the pinned
            installer tarball (64 hex digits); the GPG signature is always checked.
        """
        super().__init__(scope, id)
        types = tuple(t.strip().lower() for t in instance_types)
        jds = tuple(job_definitions)
        extra_sgs = tuple(additional_security_groups)
        self.props = MnpComputeEnvironmentProps(
            vpc=vpc,
            subnets=subnets,
            instance_types=types,
            placement_group=placement_group,
            max_vcpus=max_vcpus,
            job_definitions=jds,
            min_vcpus=min_vcpus,
            additional_security_groups=extra_sgs,
            use_optimal_instance_classes=use_optimal_instance_classes,
            root_volume_size_gib=root_volume_size_gib,
            name=name,
            efa=efa,
            imds_hop_limit=imds_hop_limit,
            instance_role=instance_role,
            images=tuple(images),
            install_efa_driver=install_efa_driver,
            block_container_imds=block_container_imds,
            restricted_egress=restricted_egress,
            root_volume_kms_key=root_volume_kms_key,
            efa_installer_sha256=efa_installer_sha256,
            capacity_reservation=capacity_reservation,
        )
        if efa_installer_sha256 is not None and not _SHA256.match(efa_installer_sha256):
            raise MnpPropsError(
                _KIND, id, "efa_installer_sha256", f"{efa_installer_sha256!r} is not 64 hex digits", "pass a SHA256"
            )
        self._check_instance_types(id, types)
        self.architecture = self._architecture(id, types, use_optimal_instance_classes)
        self._check_job_definitions(id, types, jds, use_optimal_instance_classes)
        self.max_vcpus = self._resolve_max_vcpus(id, max_vcpus, min_vcpus, jds)
        self._check_misc(id, extra_sgs, root_volume_size_gib, imds_hop_limit)
        self._check_single_az(id, vpc, subnets, placement_group)
        self.efa_interfaces = self._check_efa(id, types, placement_group) if efa else 0
        if efa and not install_efa_driver and not images:
            raise MnpPropsError(
                _KIND,
                id,
                "install_efa_driver",
                "is False with efa=True but no images are given: Batch's default ECS-optimized AMI has no EFA "
                "driver, and AWS Batch requires it loaded for EFA",
                "pass images= with an AMI that has the EFA driver, or leave install_efa_driver=True",
            )
        self._check_capacity_reservation(id, capacity_reservation)

        sg = ec2.SecurityGroup(
            self,
            "NodeSecurityGroup",
            vpc=vpc,
            # image pulls, logs and AWS APIs through NAT; restricted: HTTPS only (below)
            allow_all_outbound=not restricted_egress,
            description="MNP nodes: all traffic between the nodes of one compute environment",
        )
        sg.add_ingress_rule(sg, ec2.Port.all_traffic(), "Node-to-node traffic (MPI, NCCL, EFA)")
        if restricted_egress:
            sg.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS: image pulls, logs, AWS APIs")
        # EFA requires an explicit egress rule to the group itself; the L2 drops any egress rule once
        # all outbound traffic is allowed, so this one is added at the L1 level.
        ec2.CfnSecurityGroupEgress(
            self,
            "NodeSelfEgress",
            group_id=sg.security_group_id,
            ip_protocol="-1",
            destination_security_group_id=sg.security_group_id,
            description="Node-to-node traffic (EFA requires explicit egress to the group itself)",
        )
        self.security_group = sg

        boot_commands: list[str] = []
        if block_container_imds:
            boot_commands += BLOCK_CONTAINER_IMDS_COMMANDS
        if efa and install_efa_driver:
            boot_commands += efa_driver_install_commands(sha256=efa_installer_sha256)
        user_data: ec2.MultipartUserData | None = None
        if boot_commands:
            user_data = ec2.MultipartUserData()
            commands = ec2.UserData.for_linux()
            commands.add_commands("set -euo pipefail", *boot_commands)
            user_data.add_user_data_part(commands, ec2.MultipartBody.SHELL_SCRIPT, True)
        self.launch_template = ec2.LaunchTemplate(
            self,
            "LaunchTemplate",
            user_data=user_data,
            require_imdsv2=True,
            http_tokens=ec2.LaunchTemplateHttpTokens.REQUIRED,
            http_endpoint=True,
            http_put_response_hop_limit=imds_hop_limit,
            block_devices=[
                ec2.BlockDevice(
                    device_name=ROOT_DEVICE_NAME,
                    volume=ec2.BlockDeviceVolume.ebs(
                        root_volume_size_gib,
                        encrypted=True,
                        kms_key=root_volume_kms_key,
                        volume_type=ec2.EbsDeviceVolumeType.GP3,
                        delete_on_termination=True,
                    ),
                )
            ],
        )
        if capacity_reservation is not None:
            lt_cfn = self.launch_template.node.default_child
            assert isinstance(lt_cfn, ec2.CfnLaunchTemplate)
            lt_cfn.add_property_override(
                "LaunchTemplateData.CapacityReservationSpecification", capacity_reservation.specification()
            )
        all_sgs = [sg, *extra_sgs]
        # aws-cdk-lib's InstanceType cannot hold a bare family ("c5n"), which Batch accepts. Families are
        # rendered by an override below; with families only, the L2 needs some entry to pass its own
        # check, so it gets "optimal" as a placeholder that the override replaces.
        explicit = [t for t in types if itypes.is_instance_type_name(t)]
        families_listed = len(explicit) != len(types)

        ce = batch.ManagedEc2EcsComputeEnvironment(
            self,
            "Resource",
            vpc=vpc,
            vpc_subnets=subnets,
            instance_types=[ec2.InstanceType(t) for t in explicit],
            use_optimal_instance_classes=use_optimal_instance_classes or not explicit,
            spot=False,
            minv_cpus=min_vcpus,
            maxv_cpus=self.max_vcpus,
            security_groups=all_sgs,
            placement_group=placement_group,
            launch_template=self.launch_template,
            instance_role=instance_role,
            images=list(images) or None,
            compute_environment_name=name,
        )
        ce_cfn = ce.node.default_child
        assert isinstance(ce_cfn, batch.CfnComputeEnvironment)
        # Pin the launch template's latest version: without a Version, Batch uses $Default and a changed
        # template (volume size, EFA, user data) would never reach the instances; with it, every change
        # is an in-place infrastructure update of the compute environment.
        ce_cfn.add_property_override("ComputeResources.LaunchTemplate.Version", self.launch_template.version_number)
        if families_listed:
            ce_cfn.add_property_override(
                "ComputeResources.InstanceTypes",
                [*types, *(["optimal"] if use_optimal_instance_classes else [])],
            )
        if efa:
            self._add_efa_interfaces(ce, all_sgs)
        # jsii's Python typing does not see the class as implementing its own interface.
        self.compute_environment = cast(batch.IManagedEc2EcsComputeEnvironment, ce)
        role = ce.instance_role
        assert role is not None  # the L2 always creates one when none is passed
        self.instance_role = role
        if instance_role is None:
            self._acknowledge_managed_instance_policy(role)

    def _acknowledge_managed_instance_policy(self, role: iam.IRole) -> None:
        # Only the role this construct created, and only this one managed policy: anything else on it,
        # or a user's own role, is still reported by cdk-nag.
        policy_arn = iam.ManagedPolicy.from_aws_managed_policy_name(ECS_INSTANCE_POLICY).managed_policy_arn
        Validations.of(role).acknowledge(
            Acknowledgment(
                id=f"{NAG_PLUGIN}::{NAG_IAM4}[Policy::{nag_finding_value(Stack.of(self), policy_arn)}]",
                reason="AmazonEC2ContainerServiceforEC2Role is the container-instance policy the AWS Batch user "
                "guide prescribes for ECS compute environments; AWS updates it with the ECS agent, which an "
                "inline copy would not follow. Pass instance_role= to use your own role instead.",
            )
        )

    @staticmethod
    def _check_capacity_reservation(id: str, reservation: CapacityReservation | None) -> None:
        if reservation is None:
            return
        if (reservation.id is None) == (reservation.resource_group_arn is None):
            raise MnpPropsError(
                _KIND,
                id,
                "capacity_reservation",
                "names both an id and a resource group" if reservation.id else "names no id and no resource group",
                "give CapacityReservation(id='cr-...') or CapacityReservation(resource_group_arn='arn:...')",
            )
        if reservation.id is not None and not _CAPACITY_RESERVATION_ID.match(reservation.id):
            raise MnpPropsError(
                _KIND, id, "capacity_reservation", f"id {reservation.id!r} is not cr- and 17 hex digits", "fix the id"
            )
        if reservation.resource_group_arn is not None and not _RESOURCE_GROUP_ARN.match(reservation.resource_group_arn):
            raise MnpPropsError(
                _KIND,
                id,
                "capacity_reservation",
                f"resource_group_arn {reservation.resource_group_arn!r} is not a resource group ARN",
                "give arn:<partition>:resource-groups:<region>:<account>:group/<name>",
            )

    # -- EFA ------------------------------------------------------------------------------------------

    def _add_efa_interfaces(
        self, ce: batch.ManagedEc2EcsComputeEnvironment, groups: Sequence[ec2.ISecurityGroup]
    ) -> None:
        lt_cfn = self.launch_template.node.default_child
        assert isinstance(lt_cfn, ec2.CfnLaunchTemplate)
        group_ids = [g.security_group_id for g in groups]
        interfaces = [
            {
                # EC2's documented layout: the primary interface is device 0 on card 0; on every further
                # network card the EFA interface is device 1.
                "DeviceIndex": 0 if card == 0 else 1,
                "NetworkCardIndex": card,
                "InterfaceType": "efa",
                "Groups": group_ids,
                "DeleteOnTermination": True,
            }
            for card in range(self.efa_interfaces)
        ]
        lt_cfn.add_property_override("LaunchTemplateData.NetworkInterfaces", interfaces)
        # The compute environment keeps its SecurityGroupIds too: the Batch MNP guide says the network
        # interface of every MNP container gets the compute environment's groups (the VPC's default group
        # when it has none), and that groups given both there and in the launch template resolve to the
        # compute environment's. The launch template's interfaces carry the same groups so that the
        # template is valid for EC2 on its own.

    # -- validation -----------------------------------------------------------------------------------

    @staticmethod
    def _check_instance_types(id: str, types: Sequence[str]) -> None:
        if not types:
            raise MnpPropsError(
                _KIND,
                id,
                "instance_types",
                "is empty",
                "list the instance types or families the jobs need, for example ['c5n.18xlarge']",
            )
        for t in types:
            if t in itypes.CATEGORY_FAMILIES:
                raise MnpPropsError(
                    _KIND,
                    id,
                    "instance_types",
                    f"lists the category {t!r}",
                    "list explicit types or families; set use_optimal_instance_classes=True for 'optimal'",
                )
            if not (itypes.is_instance_type_name(t) or _FAMILY.match(t)):
                raise MnpPropsError(
                    _KIND,
                    id,
                    "instance_types",
                    f"{t!r} is neither an instance type (family.size) nor a family",
                    "use names such as 'c5n.18xlarge' or 'c5n'",
                )
        if len(set(types)) != len(types):
            raise MnpPropsError(_KIND, id, "instance_types", "lists a type twice", "list each type once")

    @staticmethod
    def _architecture(id: str, types: Sequence[str], optimal: bool) -> Architecture | None:
        found: dict[Architecture, str] = {}
        if optimal:
            found["x86_64"] = "optimal"
        known = itypes.known_types()
        for t in types:
            if itypes.is_instance_type_name(t):
                facts = itypes.lookup(t)
                if facts is not None:
                    found.setdefault(facts.architecture, t)
                continue
            members = [itypes.lookup(k) for k in known if itypes.family(k) == t]
            archs = {m.architecture for m in members if m is not None}
            for arch in archs:
                found.setdefault(arch, t)
        if len(found) > 1:
            detail = ", ".join(f"{name} is {arch}" for arch, name in sorted(found.items()))
            raise MnpPropsError(
                _KIND,
                id,
                "instance_types",
                f"mixes CPU architectures ({detail})",
                "use one architecture per compute environment (a second environment for the other)",
            )
        return next(iter(found), None)

    @staticmethod
    def _check_job_definitions(id: str, types: Sequence[str], jds: Sequence[MnpJobDefinition], optimal: bool) -> None:
        listed = [*types, *(["optimal"] if optimal else [])]
        for jd in jds:
            if any(itypes.covers(entry, jd.instance_type) for entry in listed):
                continue
            raise MnpPropsError(
                _KIND,
                id,
                "instance_types",
                f"{list(types)} cannot launch {jd.instance_type}, the instance type of job definition '{jd.node.id}'",
                f"add {jd.instance_type} (or its family {itypes.family(jd.instance_type)}) to instance_types",
            )

    @staticmethod
    def _resolve_max_vcpus(id: str, max_vcpus: int | None, min_vcpus: int, jds: Sequence[MnpJobDefinition]) -> int:
        unknown = [jd for jd in jds if jd.required_vcpus is None]
        needed = max((jd.required_vcpus for jd in jds if jd.required_vcpus is not None), default=None)
        if max_vcpus is None:
            if unknown:
                raise MnpPropsError(
                    _KIND,
                    id,
                    "max_vcpus",
                    f"is not set, and the toolkit does not know instance type {unknown[0].instance_type} of job "
                    f"definition '{unknown[0].node.id}', so the vCPUs its {unknown[0].num_nodes} nodes need at once "
                    "cannot be derived",
                    f"pass max_vcpus (at least num_nodes x the vCPUs of {unknown[0].instance_type})",
                )
            if needed is None:
                raise MnpPropsError(
                    _KIND,
                    id,
                    "max_vcpus",
                    "is not set and no job_definitions are given to derive it from",
                    "pass max_vcpus, or the job_definitions this environment must run",
                )
            max_vcpus = needed
        if max_vcpus < 1:
            raise MnpPropsError(_KIND, id, "max_vcpus", f"is {max_vcpus}", "use 1 or more")
        for jd in jds:
            if jd.required_vcpus is not None and jd.required_vcpus > max_vcpus:
                raise MnpPropsError(
                    _KIND,
                    id,
                    "max_vcpus",
                    f"is {max_vcpus} but job definition '{jd.node.id}' needs {jd.required_vcpus} vCPUs at "
                    f"once ({jd.num_nodes} nodes of {jd.instance_type}); the job would wait in RUNNABLE",
                    f"raise max_vcpus to at least {jd.required_vcpus}, or leave it unset to derive it",
                )
        if min_vcpus < 0:
            raise MnpPropsError(_KIND, id, "min_vcpus", f"is {min_vcpus}", "use 0 or more")
        if min_vcpus > max_vcpus:
            raise MnpPropsError(
                _KIND,
                id,
                "min_vcpus",
                f"is {min_vcpus}, more than max_vcpus {max_vcpus}",
                "lower min_vcpus (0 keeps no idle instances) or raise max_vcpus",
            )
        return max_vcpus

    @staticmethod
    def _check_misc(
        id: str, extra_sgs: Sequence[ec2.ISecurityGroup], root_volume_size_gib: int, imds_hop_limit: int
    ) -> None:
        if len(extra_sgs) > MAX_ADDITIONAL_SECURITY_GROUPS:
            raise MnpPropsError(
                _KIND,
                id,
                "additional_security_groups",
                f"has {len(extra_sgs)} groups; with the construct's own group that makes "
                f"{len(extra_sgs) + 1}, and AWS Batch allows 5 on an MNP compute environment",
                f"pass at most {MAX_ADDITIONAL_SECURITY_GROUPS}",
            )
        if not 30 <= root_volume_size_gib <= 16384:
            raise MnpPropsError(
                _KIND,
                id,
                "root_volume_size_gib",
                f"is {root_volume_size_gib}; the ECS-optimized AMIs need a 30 GiB root volume",
                "use 30 to 16384 GiB",
            )
        if not 1 <= imds_hop_limit <= 64:
            raise MnpPropsError(_KIND, id, "imds_hop_limit", f"is {imds_hop_limit}", "use 1 to 64")

    @staticmethod
    def _check_single_az(
        id: str, vpc: ec2.IVpc, subnets: ec2.SubnetSelection, placement_group: ec2.IPlacementGroup | None
    ) -> None:
        selected = vpc.select_subnets(
            availability_zones=subnets.availability_zones,
            one_per_az=subnets.one_per_az,
            subnet_filters=subnets.subnet_filters,
            subnet_group_name=subnets.subnet_group_name,
            subnet_type=subnets.subnet_type,
            subnets=subnets.subnets,
        )
        if not selected.subnets:
            raise MnpPropsError(
                _KIND, id, "subnets", "selects no subnet of the VPC", "use MnpNetwork.compute_subnets()"
            )
        public_ids = {p.node.path for p in vpc.public_subnets}
        public = [s for s in selected.subnets if s.node.path in public_ids]
        if public:
            raise MnpPropsError(
                _KIND,
                id,
                "subnets",
                f"selects {len(public)} public subnet(s); MNP containers (awsvpc) never get a public IP, "
                "so nodes there cannot pull images or ship logs",
                "select private subnets with a NAT route: MnpNetwork.compute_subnets()",
            )
        azs = {s.availability_zone for s in selected.subnets}
        if placement_group is not None and len(azs) > 1:
            shown = sorted("<token>" if Token.is_unresolved(a) else a for a in azs)
            raise MnpPropsError(
                _KIND,
                id,
                "subnets",
                f"span {len(azs)} Availability Zones ({', '.join(shown)}) but a cluster placement group "
                "lives in one AZ",
                "select the subnets of one AZ: MnpNetwork.compute_subnets(availability_zone=...)",
            )

    @staticmethod
    def _check_efa(id: str, types: Sequence[str], placement_group: ec2.IPlacementGroup | None) -> int:
        if placement_group is None:
            raise MnpPropsError(
                _KIND,
                id,
                "placement_group",
                "is None but efa=True; all EFA instances must share one cluster placement group",
                "pass a ClusterPlacementGroup's placement_group",
            )
        interfaces: dict[str, int] = {}
        for t in types:
            if not itypes.is_instance_type_name(t):
                raise MnpPropsError(
                    _KIND,
                    id,
                    "instance_types",
                    f"lists the family {t!r} with efa=True; a family includes sizes without EFA",
                    "list explicit EFA-capable types (for example c5n.18xlarge)",
                )
            facts = itypes.lookup(t)
            if facts is None:
                continue  # unknown: cannot verify, not an error
            if not facts.efa_supported:
                raise MnpPropsError(
                    _KIND,
                    id,
                    "instance_types",
                    f"{t} does not support EFA",
                    "remove it or choose an EFA-capable type (for example c5n.18xlarge, p4d.24xlarge)",
                )
            interfaces[t] = max(1, facts.max_efa_interfaces)
        # One launch template (and one set of uverbs devices in the job) serves every listed type, so the
        # types must agree: with fewer interfaces than the job maps devices, its containers fail to start.
        if len(set(interfaces.values())) > 1:
            raise MnpPropsError(
                _KIND,
                id,
                "instance_types",
                f"mixes EFA interface counts ({', '.join(f'{t}: {n}' for t, n in interfaces.items())}) with "
                "efa=True; one launch template and one device list cannot fit both",
                "use one compute environment per EFA interface count (for example per instance type)",
            )
        return next(iter(interfaces.values()), 1)
