"""An AWS Batch multi-node parallel (MNP) job definition, built on aws-cdk-lib's ``MultiNodeJobDefinition``.

The L2 leaves three gaps that this construct closes with property overrides on its ``CfnJobDefinition``:

* it renders every node range closed (``0:9``), so ``numNodes`` cannot be overridden at submit time
  (``SubmitJob`` needs one range open at the end, ``n:``; aws-cdk issue 29415). Here the ranges that
  reach the last node are rendered open-ended by default (``open_ended=True``);
* it computes ``numNodes`` as the sum of the range sizes, so nested ranges (``0:9`` with ``4:5`` inside,
  which the Batch API allows: the inner range's settings win) are counted twice. Here ``NumNodes`` is
  exactly ``num_nodes``;
* it checks nothing about ranges, main node, sizes or resources. Here everything that AWS would accept
  but that could never run (a node asking for more memory than its instance offers, a range past the
  last node, a node left uncovered) is rejected when the construct is built.

Each node gets, by default, the whole instance: all its vCPUs and the memory ECS leaves to containers
(:pyattr:`mnp_toolkit.core.instance_types.InstanceTypeFacts.container_memory_mib`). Logs go to a CloudWatch
log group with a retention period.

Retries: the main node decides the outcome of an MNP job ("Job lifecycle for MNP jobs", Batch user
guide: when the main node exits the job is finished and the other nodes are stopped), and a retry runs
the whole job again on all nodes. With ``retry_attempts > 1`` the job is retried, by default, only when
the failure came from the infrastructure (status reason ``Host EC2*``: an instance was terminated or
failed its health check); an application error ends the job at once, since rerunning a whole cluster on
a deterministic bug wastes every node's hours. ``retry_on="any"`` retries every failure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from aws_cdk import Duration, Size
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from constructs_lib._validation import MnpPropsError
from mnp_toolkit.core import instance_types
from mnp_toolkit.core.instance_types import InstanceTypeFacts
from mnp_toolkit.core.target_nodes import TargetNodesError, parse_target_nodes

_KIND = "MnpJobDefinition"
MAX_NODES = 1000
MAX_NODE_GROUPS = 5
MAX_RETRY_ATTEMPTS = 10
MIN_MEMORY_MIB = 4
MIN_TIMEOUT_SECONDS = 60
#: Status reason Batch gives a job whose instance went away (terminated, failed health check).
INFRASTRUCTURE_FAILURE_STATUS_REASON = "Host EC2*"
_DEVICE_PERMISSIONS = ("READ", "WRITE", "MKNOD")

Image = str | ecs.ContainerImage


@dataclass(frozen=True)
class NodeGroup:
    """Settings for one range of node indexes of an MNP job.

    ``target_nodes`` uses the Batch syntax: ``"3"`` (one node), ``"1:3"`` (nodes 1 to 3), ``":3"``
    (nodes 0 to 3), ``"4:"`` (node 4 to the last). Ranges may nest (``"0:"`` with ``"0"`` inside: the
    inner range's settings win for its nodes) but must not overlap partly. Every field left ``None``
    falls back to the job definition's own value; ``environment`` adds to the job definition's variables
    (overriding those with the same name).
    """

    target_nodes: str
    command: Sequence[str] | None = None
    environment: Mapping[str, str] | None = None
    vcpus: int | None = None
    memory_mib: int | None = None
    gpus: int | None = None
    image: Image | None = None


@dataclass(frozen=True)
class NodeRange:
    """A parsed ``target_nodes``: ``end`` is ``None`` for an open range (``n:``)."""

    start: int
    end: int | None
    group: NodeGroup = field(compare=False)

    def last(self, num_nodes: int) -> int:
        return num_nodes - 1 if self.end is None else self.end

    def contains(self, other: NodeRange, num_nodes: int) -> bool:
        return self.start <= other.start and other.last(num_nodes) <= self.last(num_nodes)

    def render(self, num_nodes: int, *, open_ended: bool) -> str:
        last = self.last(num_nodes)
        if open_ended and last == num_nodes - 1:
            return f"{self.start}:"
        return f"{self.start}:{last}"


@dataclass(frozen=True)
class MnpJobDefinitionProps:
    """The props of :class:`MnpJobDefinition`, as given (kept on the construct as ``props``)."""

    image: Image
    instance_type: str
    num_nodes: int
    main_node: int = 0
    node_groups: tuple[NodeGroup, ...] | None = None
    command: tuple[str, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict)
    vcpus: int | None = None
    memory_mib: int | None = None
    gpus: int = 0
    retry_attempts: int = 1
    retry_on: Literal["infrastructure", "any"] = "infrastructure"
    timeout: Duration | None = None
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH
    open_ended: bool = True
    efa: bool = False
    shared_memory_mib: int | None = None
    job_role: iam.IRole | None = None
    name: str | None = None


@dataclass(frozen=True)
class _NodeSettings:
    image: Image
    command: Sequence[str]
    environment: Mapping[str, str]
    vcpus: int
    memory_mib: int
    gpus: int


class MnpJobDefinition(Construct):
    """A ``multinode`` ``AWS::Batch::JobDefinition`` with checked node ranges and resources.

    Attributes:
        job_definition: the job definition.
        num_nodes: the number of nodes (``NumNodes``).
        instance_type: the one instance type every node runs on.
        instance_facts: what the toolkit's table knows about it (``None`` when the type is unknown).
        required_vcpus: the vCPUs a compute environment must be able to provide at once to run the job.
        node_ranges: the parsed node ranges, in the order given.
        log_group: where the containers log.
        execution_role: the ECS task execution role shared by every node (image pulls, log delivery).
        props: the props as given.
    """

    job_definition: batch.IJobDefinition
    num_nodes: int
    instance_type: str
    instance_facts: InstanceTypeFacts | None
    required_vcpus: int
    node_ranges: tuple[NodeRange, ...]
    log_group: logs.ILogGroup
    execution_role: iam.IRole
    props: MnpJobDefinitionProps

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        image: Image,
        instance_type: str,
        num_nodes: int,
        main_node: int = 0,
        node_groups: Sequence[NodeGroup] | None = None,
        command: Sequence[str] = (),
        environment: Mapping[str, str] | None = None,
        vcpus: int | None = None,
        memory_mib: int | None = None,
        gpus: int = 0,
        retry_attempts: int = 1,
        retry_on: Literal["infrastructure", "any"] = "infrastructure",
        timeout: Duration | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        open_ended: bool = True,
        efa: bool = False,
        shared_memory_mib: int | None = None,
        job_role: iam.IRole | None = None,
        name: str | None = None,
        execution_role: iam.IRole | None = None,
        log_group: logs.ILogGroup | None = None,
    ) -> None:
        """Args:
        image: container image (a registry reference such as ``"public.ecr.aws/x/y:1"``, or an
            ``ecs.ContainerImage``); node groups may override it.
        instance_type: the one EC2 instance type (``family.size``) every node runs on.
        num_nodes: 1 to 1000.
        main_node: index of the main node, whose exit decides the job's outcome.
        node_groups: up to five ranges with their own settings; default one group ``0:`` for all nodes.
        command, environment, vcpus, memory_mib, gpus: defaults for every node group. ``vcpus`` and
            ``memory_mib`` default to the whole instance (all vCPUs, the memory ECS leaves to containers);
            they are required when the toolkit does not know ``instance_type``.
        retry_attempts: 1 (no retry) to 10 attempts of the whole job.
        retry_on: ``"infrastructure"`` retries only failures of the instances (``Host EC2*``);
            ``"any"`` retries every failure.
        timeout: limit for one attempt of the whole job (at least 60 seconds); default none.
        log_retention: retention of the job's CloudWatch log group.
        open_ended: render ranges that reach the last node as ``n:`` so that ``numNodes`` can be
            overridden at submit time; ``False`` renders every range closed.
        efa: pass the instance's EFA devices into every container (``/dev/infiniband/uverbsN``) and
            lift the locked-memory limit; the instance type must support EFA.
        shared_memory_mib: size of ``/dev/shm`` for every container (NCCL and MPI use it).
        job_role: IAM role the containers run as.
        name: physical job definition name; default generated.
        execution_role: share one ECS execution role between job definitions (default: one each).
        log_group: share one log group (``log_retention`` is then the group's); streams are prefixed
            with this construct's id. Default: a log group of its own.
        """
        super().__init__(scope, id)
        if retry_on not in ("infrastructure", "any"):
            raise MnpPropsError(_KIND, id, "retry_on", f"is {retry_on!r}", "use 'infrastructure' (default) or 'any'")
        env = dict(environment or {})
        self.props = MnpJobDefinitionProps(
            image=image,
            instance_type=instance_type,
            num_nodes=num_nodes,
            main_node=main_node,
            node_groups=tuple(node_groups) if node_groups is not None else None,
            command=tuple(command),
            environment=env,
            vcpus=vcpus,
            memory_mib=memory_mib,
            gpus=gpus,
            retry_attempts=retry_attempts,
            retry_on=retry_on,
            timeout=timeout,
            log_retention=log_retention,
            open_ended=open_ended,
            efa=efa,
            shared_memory_mib=shared_memory_mib,
            job_role=job_role,
            name=name,
        )
        self.instance_type = instance_type
        self.num_nodes = num_nodes
        self.instance_facts = self._check_instance_type(id, instance_type)
        self._check_scalars(id, num_nodes, main_node, retry_attempts, timeout, gpus, shared_memory_mib)
        self.node_ranges = self._parse_groups(id, node_groups, num_nodes)
        facts = self.instance_facts
        if efa and facts is not None and not facts.efa_supported:
            raise MnpPropsError(
                _KIND,
                id,
                "efa",
                f"instance type {instance_type} does not support EFA",
                "choose an EFA-capable type (for example c5n.18xlarge, p4d.24xlarge) or set efa=False",
            )

        settings = [
            self._node_settings(id, r.group, image, command, env, vcpus, memory_mib, gpus) for r in self.node_ranges
        ]
        self.required_vcpus = self._required_vcpus(settings)

        # A stack with many job definitions shares one role and log group (CloudFormation allows 500
        # resources a stack); each job definition then logs under its own stream prefix.
        self.log_group = log_group or logs.LogGroup(self, "Logs", retention=log_retention)
        self.execution_role = execution_role or iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="Pulls the images and ships the logs of an MNP job definition's containers",
        )
        log_driver = ecs.LogDrivers.aws_logs(stream_prefix="mnp" if log_group is None else id, log_group=self.log_group)
        efa_devices = self._efa_device_count() if efa else 0

        containers: list[batch.MultiNodeContainer] = []
        for index, (node_range, node) in enumerate(zip(self.node_ranges, settings, strict=True)):
            linux = None
            if efa_devices or shared_memory_mib is not None:
                linux = batch.LinuxParameters(
                    self,
                    f"Node{index}Linux",
                    shared_memory_size=(Size.mebibytes(shared_memory_mib) if shared_memory_mib is not None else None),
                )
                for device in range(efa_devices):
                    path = f"/dev/infiniband/uverbs{device}"
                    linux.add_devices(
                        batch.Device(
                            host_path=path,
                            container_path=path,
                            permissions=[
                                batch.DevicePermission.READ,
                                batch.DevicePermission.WRITE,
                                batch.DevicePermission.MKNOD,
                            ],
                        )
                    )
            container = batch.EcsEc2ContainerDefinition(
                self,
                f"Node{index}",
                image=(ecs.ContainerImage.from_registry(node.image) if isinstance(node.image, str) else node.image),
                cpu=node.vcpus,
                memory=Size.mebibytes(node.memory_mib),
                gpu=node.gpus or None,
                command=list(node.command) or None,
                environment=dict(node.environment) or None,
                logging=log_driver,
                execution_role=self.execution_role,
                job_role=job_role,
                linux_parameters=linux,
                # EFA registers memory with the NIC; the default 64 KiB memlock limit breaks it.
                ulimits=([batch.Ulimit(name=batch.UlimitName.MEMLOCK, hard_limit=-1, soft_limit=-1)] if efa else None),
                privileged=False,
            )
            containers.append(
                batch.MultiNodeContainer(
                    start_node=node_range.start,
                    end_node=node_range.last(num_nodes),
                    container=container,
                )
            )

        retry_strategies = None
        if retry_attempts > 1 and retry_on == "infrastructure":
            retry_strategies = [
                batch.RetryStrategy.of(
                    batch.Action.RETRY,
                    batch.Reason.custom(on_status_reason=INFRASTRUCTURE_FAILURE_STATUS_REASON),
                ),
                batch.RetryStrategy.of(batch.Action.EXIT, batch.Reason.custom(on_reason="*")),
            ]
        definition = batch.MultiNodeJobDefinition(
            self,
            "Resource",
            instance_type=ec2.InstanceType(instance_type),
            containers=containers,
            main_node=main_node,
            retry_attempts=retry_attempts,
            retry_strategies=retry_strategies,
            timeout=timeout,
            job_definition_name=name,
        )
        cfn = definition.node.default_child
        assert isinstance(cfn, batch.CfnJobDefinition)
        # The L2 sums range sizes (nested ranges count twice); NumNodes is what the user asked for.
        cfn.add_property_override("NodeProperties.NumNodes", num_nodes)
        for index, node_range in enumerate(self.node_ranges):
            prefix = f"NodeProperties.NodeRangeProperties.{index}"
            cfn.add_property_override(f"{prefix}.TargetNodes", node_range.render(num_nodes, open_ended=open_ended))
            for device in range(efa_devices):
                # The L2 renders the enum in lower case; the Batch API documents READ | WRITE | MKNOD.
                cfn.add_property_override(
                    f"{prefix}.Container.LinuxParameters.Devices.{device}.Permissions", list(_DEVICE_PERMISSIONS)
                )
        self.job_definition = definition

    # -- validation -----------------------------------------------------------------------------------

    @staticmethod
    def _check_instance_type(id: str, instance_type: str) -> InstanceTypeFacts | None:
        if not instance_types.is_instance_type_name(instance_type):
            raise MnpPropsError(
                _KIND,
                id,
                "instance_type",
                f"{instance_type!r} is not an instance type name",
                "give one type as family.size, for example c5n.18xlarge (not a family or 'optimal')",
            )
        return instance_types.lookup(instance_type)

    @staticmethod
    def _check_scalars(
        id: str,
        num_nodes: int,
        main_node: int,
        retry_attempts: int,
        timeout: Duration | None,
        gpus: int,
        shared_memory_mib: int | None,
    ) -> None:
        if not 1 <= num_nodes <= MAX_NODES:
            raise MnpPropsError(
                _KIND, id, "num_nodes", f"is {num_nodes}", f"use 1 to {MAX_NODES} nodes (AWS Batch limit)"
            )
        if not 0 <= main_node < num_nodes:
            raise MnpPropsError(
                _KIND,
                id,
                "main_node",
                f"is {main_node} but the job has nodes 0 to {num_nodes - 1}",
                "choose a node index between 0 and num_nodes - 1",
            )
        if not 1 <= retry_attempts <= MAX_RETRY_ATTEMPTS:
            raise MnpPropsError(
                _KIND,
                id,
                "retry_attempts",
                f"is {retry_attempts}",
                f"use 1 (no retry) to {MAX_RETRY_ATTEMPTS} attempts",
            )
        if timeout is not None and timeout.to_seconds() < MIN_TIMEOUT_SECONDS:
            raise MnpPropsError(
                _KIND,
                id,
                "timeout",
                f"is {timeout.to_seconds()} seconds",
                f"use at least {MIN_TIMEOUT_SECONDS} seconds (AWS Batch minimum), or None",
            )
        if gpus < 0:
            raise MnpPropsError(_KIND, id, "gpus", f"is {gpus}", "use 0 or more")
        if shared_memory_mib is not None and shared_memory_mib < 1:
            raise MnpPropsError(_KIND, id, "shared_memory_mib", f"is {shared_memory_mib}", "use 1 MiB or more, or None")

    @staticmethod
    def _parse_target(id: str, target: str, num_nodes: int) -> tuple[int, int | None]:
        # The rule pack's parser (MNP009), so construct and pack agree on what TargetNodes means.
        try:
            parsed = parse_target_nodes(target)
        except TargetNodesError as error:
            raise MnpPropsError(
                _KIND,
                id,
                "node_groups.target_nodes",
                str(error),
                "use 'n', 'n:m', ':m' or 'n:' with non-negative integers and start <= end",
            ) from None
        start, end = parsed.start, parsed.end
        reach = start if end is None else end
        if reach >= num_nodes:
            raise MnpPropsError(
                _KIND,
                id,
                "node_groups.target_nodes",
                f"{target!r} reaches node {reach} but the job has nodes 0 to {num_nodes - 1}",
                "keep every range inside 0..num_nodes-1 (or raise num_nodes)",
            )
        return start, end

    @classmethod
    def _parse_groups(cls, id: str, node_groups: Sequence[NodeGroup] | None, num_nodes: int) -> tuple[NodeRange, ...]:
        groups = list(node_groups) if node_groups is not None else [NodeGroup(target_nodes="0:")]
        if not groups:
            raise MnpPropsError(
                _KIND, id, "node_groups", "is empty", "pass None for one group over all nodes, or 1-5 groups"
            )
        if len(groups) > MAX_NODE_GROUPS:
            raise MnpPropsError(
                _KIND,
                id,
                "node_groups",
                f"has {len(groups)} groups",
                f"use at most {MAX_NODE_GROUPS} (AWS Batch limit); nest ranges instead of listing more",
            )
        ranges = tuple(NodeRange(*cls._parse_target(id, g.target_nodes, num_nodes), group=g) for g in groups)
        for i, a in enumerate(ranges):
            for b in ranges[i + 1 :]:
                a_last, b_last = a.last(num_nodes), b.last(num_nodes)
                if a_last < b.start or b_last < a.start:
                    continue
                if (a.start, a_last) == (b.start, b_last):
                    raise MnpPropsError(
                        _KIND,
                        id,
                        "node_groups",
                        f"{a.group.target_nodes!r} and {b.group.target_nodes!r} cover the same nodes",
                        "merge the two groups into one",
                    )
                if not (a.contains(b, num_nodes) or b.contains(a, num_nodes)):
                    raise MnpPropsError(
                        _KIND,
                        id,
                        "node_groups",
                        f"{a.group.target_nodes!r} and {b.group.target_nodes!r} overlap without one "
                        "nesting inside the other (which settings win is undocumented)",
                        "make the ranges disjoint, or put one wholly inside the other",
                    )
        covered = [False] * num_nodes
        for r in ranges:
            for node in range(r.start, r.last(num_nodes) + 1):
                covered[node] = True
        missing = [n for n, ok in enumerate(covered) if not ok]
        if missing:
            raise MnpPropsError(
                _KIND,
                id,
                "node_groups",
                f"no group covers node(s) {_compact(missing)} of 0 to {num_nodes - 1}",
                "add a group for those nodes, or widen a range (for example make the last one 'n:')",
            )
        return ranges

    def _node_settings(
        self,
        id: str,
        group: NodeGroup,
        image: Image,
        command: Sequence[str],
        environment: Mapping[str, str],
        vcpus: int | None,
        memory_mib: int | None,
        gpus: int,
    ) -> _NodeSettings:
        facts = self.instance_facts
        where = f"node group {group.target_nodes!r}"
        want_vcpus = group.vcpus if group.vcpus is not None else vcpus
        want_memory = group.memory_mib if group.memory_mib is not None else memory_mib
        want_gpus = group.gpus if group.gpus is not None else gpus
        if facts is None:
            for prop, value in (("vcpus", want_vcpus), ("memory_mib", want_memory)):
                if value is None:
                    raise MnpPropsError(
                        _KIND,
                        id,
                        prop,
                        f"is not set for {where} and the toolkit does not know instance type "
                        f"{self.instance_type} (so it cannot default to the whole instance)",
                        f"set {prop} on the job definition or on the node group",
                    )
        node_vcpus = want_vcpus if want_vcpus is not None else facts.vcpus  # type: ignore[union-attr]
        node_memory = (
            want_memory if want_memory is not None else facts.container_memory_mib  # type: ignore[union-attr]
        )
        if node_vcpus < 1:
            raise MnpPropsError(_KIND, id, "vcpus", f"is {node_vcpus} for {where}", "use 1 or more")
        if node_memory < MIN_MEMORY_MIB:
            raise MnpPropsError(
                _KIND, id, "memory_mib", f"is {node_memory} for {where}", f"use at least {MIN_MEMORY_MIB}"
            )
        if want_gpus < 0:
            raise MnpPropsError(_KIND, id, "gpus", f"is {want_gpus} for {where}", "use 0 or more")
        if facts is not None:
            if node_vcpus > facts.vcpus:
                raise MnpPropsError(
                    _KIND,
                    id,
                    "vcpus",
                    f"{where} asks for {node_vcpus} vCPUs but {facts.name} has {facts.vcpus}; "
                    "the job would wait in RUNNABLE for ever",
                    f"ask for at most {facts.vcpus}, or choose a larger instance type",
                )
            if node_memory > facts.schedulable_memory_mib:
                raise MnpPropsError(
                    _KIND,
                    id,
                    "memory_mib",
                    f"{where} asks for {node_memory} MiB but {facts.name} offers containers at most "
                    f"{facts.schedulable_memory_mib} MiB; the job would wait in RUNNABLE for ever",
                    f"ask for at most {facts.schedulable_memory_mib} MiB (default "
                    f"{facts.container_memory_mib}), or choose a larger instance type",
                )
            if want_gpus > facts.gpus:
                raise MnpPropsError(
                    _KIND,
                    id,
                    "gpus",
                    f"{where} asks for {want_gpus} GPUs but {facts.name} has {facts.gpus}",
                    f"ask for at most {facts.gpus}, or choose a GPU instance type",
                )
        return _NodeSettings(
            image=group.image if group.image is not None else image,
            command=group.command if group.command is not None else command,
            # a group's variables add to (and override) the job definition's
            environment={**environment, **(group.environment or {})},
            vcpus=node_vcpus,
            memory_mib=node_memory,
            gpus=want_gpus,
        )

    def _required_vcpus(self, settings: Sequence[_NodeSettings]) -> int:
        if self.instance_facts is not None:
            # Batch gives every node an instance of its own, so the CE must hold num_nodes instances.
            return self.num_nodes * self.instance_facts.vcpus
        total = 0
        for node in range(self.num_nodes):
            # The innermost range covering a node decides its settings.
            covering = [
                (r.last(self.num_nodes) - r.start, s)
                for r, s in zip(self.node_ranges, settings, strict=True)
                if r.start <= node <= r.last(self.num_nodes)
            ]
            total += min(covering, key=lambda pair: pair[0])[1].vcpus
        return total

    def _efa_device_count(self) -> int:
        facts = self.instance_facts
        # Unknown type: one EFA device, the minimum any EFA-capable type has.
        return max(1, facts.max_efa_interfaces) if facts is not None else 1


def _compact(nodes: Sequence[int]) -> str:
    """[1, 2, 3, 7] -> '1-3, 7'."""
    parts: list[str] = []
    start = prev = nodes[0]
    for n in [*nodes[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(parts)
