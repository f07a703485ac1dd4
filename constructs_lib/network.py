"""The VPC that MNP compute environments run in.

AWS Batch multi-node parallel jobs use the ``awsvpc`` network mode: every node's container gets its own
elastic network interface and never a public IP address. A node in a public subnet therefore has no way
out (no image pulls, no logs), and nodes of one job must sit in one Availability Zone to share a cluster
placement group. :class:`MnpNetwork` builds (or wraps) a VPC shaped for that: compute subnets are private
with egress through NAT, public subnets exist only to hold the NAT gateway(s), and
:meth:`MnpNetwork.compute_subnets` hands a compute environment the private subnets of exactly one AZ.

Hardening (see ``docs/security.md``):

* **Endpoint policies.** The S3 gateway endpoint and the interface endpoints (ECR api, ECR dkr, CloudWatch
  Logs) only reach resources of this account (``aws:ResourceAccount``) and of ``endpoint_accounts``,
  plus what the nodes need from AWS-owned resources: ``ecr:GetAuthorizationToken`` (it has no resource),
  ECR's image-layer bucket ``prod-<region>-starport-layer-bucket`` (Amazon ECR user guide, "Amazon ECR
  interface VPC endpoints": "Minimum Amazon S3 bucket permissions for Amazon ECR") and the Amazon Linux
  package repositories in S3 (``al2023-repos-<region>-de612dc2`` for AL2023, ``amazonlinux-2-repos-<region>``
  and ``amazonlinux.<region>.amazonaws.com`` for AL2). An S3 gateway endpoint takes *all* S3 traffic of
  the Region from the subnets it routes, so a bucket of another account (a public data set) is refused
  unless its account is in ``endpoint_accounts`` or ``restrict_endpoints=False``.
* **Confused deputy.** The flow-log role trusts ``vpc-flow-logs.amazonaws.com`` only for flow logs of
  this account and Region (``aws:SourceAccount``, ``aws:SourceArn`` = ``...:vpc-flow-log/*``).
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment, CfnResource, RemovalPolicy, Stack, Token, Validations
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from constructs_lib._nag import checkov_skip
from constructs_lib._validation import MnpPropsError
from constructs_lib.security import log_group

_KIND = "MnpNetwork"
_ACCOUNT_ID_LENGTH = 12
_PROVIDER_FINDINGS = (
    (
        "CKV_AWS_116",
        "The CDK's restrict-default-security-group provider is invoked synchronously by CloudFormation: a failure "
        "fails the deployment, there are no asynchronous events a dead-letter queue could keep",
    ),
    (
        "CKV_AWS_117",
        "The CDK's restrict-default-security-group provider only calls the EC2 API; in the VPC it would need a NAT "
        "or an EC2 endpoint and an ENI for nothing it reaches there",
    ),
    (
        "CKV_AWS_115",
        "The CDK's restrict-default-security-group provider runs once per deployment of the VPC; a concurrency "
        "reservation would take from the account's pool for no burst that can happen",
    ),
)


def aws_owned_s3_objects(stack: Stack) -> list[str]:
    """The AWS-owned S3 objects MNP nodes read through the S3 gateway endpoint (see the module docs)."""
    partition, region = stack.partition, stack.region
    return [
        f"arn:{partition}:s3:::prod-{region}-starport-layer-bucket/*",
        f"arn:{partition}:s3:::al2023-repos-{region}-de612dc2/*",
        f"arn:{partition}:s3:::amazonlinux-2-repos-{region}/*",
        f"arn:{partition}:s3:::amazonlinux.{region}.amazonaws.com/*",
    ]


class MnpNetwork(Construct):
    """A VPC for MNP compute: private compute subnets with NAT egress, optional endpoints and flow logs.

    Build a new one with the constructor, or wrap an existing VPC with :meth:`from_existing` (plain IDs,
    no context lookups, so ``cdk synth`` works without an account) or :meth:`from_vpc` (any ``IVpc``, for
    example from ``ec2.Vpc.from_lookup``).

    Attributes:
        vpc: the VPC.
        flow_log_group: the CloudWatch log group of the VPC flow log (``None`` when off or imported).
    """

    vpc: ec2.IVpc
    flow_log_group: logs.ILogGroup | None

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cidr: str = "10.0.0.0/16",
        max_azs: int = 2,
        nat_gateways_per_az: bool = False,
        flow_logs: bool = True,
        flow_log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        s3_gateway_endpoint: bool = True,
        interface_endpoints: bool = False,
        availability_zones: Sequence[str] | None = None,
        private_subnet_cidr_mask: int = 19,
        public_subnet_cidr_mask: int = 24,
        restrict_endpoints: bool = True,
        endpoint_accounts: Sequence[str] = (),
        flow_log_encryption_key: kms.IKey | None = None,
    ) -> None:
        """Build a new VPC.

        Args:
            cidr: the VPC's IPv4 range.
            max_azs: how many AZs to span (ignored when ``availability_zones`` is given). Jobs run in one
                AZ at a time; a second AZ lets you move a compute environment if the first lacks capacity.
            nat_gateways_per_az: one NAT gateway per AZ (survives an AZ outage) instead of one in total
                (cheaper; MNP jobs run in one AZ anyway).
            flow_logs: log all VPC traffic to a CloudWatch log group with ``flow_log_retention``.
            s3_gateway_endpoint: add the free S3 gateway endpoint (ECR image layers come from S3).
            interface_endpoints: add ECR api, ECR dkr and CloudWatch Logs interface endpoints; they cost an
                hourly fee per AZ but take image pulls and logs off the NAT gateway.
            availability_zones: explicit AZ names, for stacks with a concrete env.
            private_subnet_cidr_mask: size of each private (compute) subnet; every node takes one IP.
            public_subnet_cidr_mask: size of each public (NAT-only) subnet.
            restrict_endpoints: endpoint policies that admit only this account's resources (and
                ``endpoint_accounts``'), plus the AWS-owned ones ECR and the OS repositories need (see the
                module docs); ``False`` leaves the endpoints' default full-access policy.
            endpoint_accounts: further 12-digit account IDs whose resources the nodes may reach through the
                endpoints (a data set bucket, another account's ECR repository).
            flow_log_encryption_key: a KMS key for the flow-log group (its key policy must admit CloudWatch
                Logs: ``constructs_lib.security.EncryptionKey`` does).
        """
        super().__init__(scope, id)
        if availability_zones is not None:
            if len(availability_zones) == 0:
                raise MnpPropsError(_KIND, id, "availability_zones", "is empty", "list at least one AZ, or pass None")
            az_count = len(availability_zones)
        else:
            if max_azs < 1:
                raise MnpPropsError(_KIND, id, "max_azs", f"is {max_azs}", "use 1 or more")
            az_count = max_azs
        for prop, mask in (
            ("private_subnet_cidr_mask", private_subnet_cidr_mask),
            ("public_subnet_cidr_mask", public_subnet_cidr_mask),
        ):
            if not 16 <= mask <= 28:
                raise MnpPropsError(_KIND, id, prop, f"is /{mask}", "use a mask between /16 and /28")
        accounts = tuple(endpoint_accounts)
        bad = [a for a in accounts if not (len(a) == _ACCOUNT_ID_LENGTH and a.isdigit())]
        if bad:
            raise MnpPropsError(
                _KIND, id, "endpoint_accounts", f"{bad} are not 12-digit account IDs", "list account IDs"
            )

        vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(cidr),
            max_azs=None if availability_zones is not None else max_azs,
            availability_zones=list(availability_zones) if availability_zones is not None else None,
            nat_gateways=az_count if nat_gateways_per_az else 1,
            subnet_configuration=[
                # Public subnets exist only to hold the NAT gateway(s); nothing of ours runs there.
                ec2.SubnetConfiguration(
                    name="Nat",
                    subnet_type=ec2.SubnetType.PUBLIC,
                    cidr_mask=public_subnet_cidr_mask,
                    map_public_ip_on_launch=False,
                ),
                ec2.SubnetConfiguration(
                    name="Compute",
                    subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS,
                    cidr_mask=private_subnet_cidr_mask,
                ),
            ],
        )
        self.vpc = vpc
        if availability_zones is not None:
            # The CDK's default rules (cfn-lint W3010) warn about literal AZs in subnets; here they are the
            # caller's explicit choice (a cluster placement group and a capacity reservation live in one
            # named AZ), so the warning is acknowledged with that reason instead of shown on every synth.
            Validations.of(vpc).acknowledge(
                Acknowledgment(
                    id="CloudFormation-Validate::W3010",
                    reason="The Availability Zones are named on purpose (availability_zones): the compute "
                    "subnets must be in the AZ of the cluster placement group and of any capacity reservation.",
                )
            )
        stack = Stack.of(self)
        allowed_accounts = [stack.account, *accounts]
        if s3_gateway_endpoint:
            # The same construct ID ("S3" under the VPC) as the Vpc's gateway_endpoints prop would use.
            s3 = vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
            if restrict_endpoints:
                s3.add_to_policy(self._own_resources("s3:*", allowed_accounts, "S3"))
                s3.add_to_policy(
                    iam.PolicyStatement(
                        sid="AwsOwnedObjectsEcrLayersAndOsRepositories",
                        principals=[iam.AnyPrincipal()],
                        actions=["s3:GetObject"],
                        resources=aws_owned_s3_objects(stack),
                    )
                )
        self._drop_obsolete_provider_dependency()
        self.flow_log_group = None
        if flow_logs:
            group = log_group(
                self,
                "FlowLogGroup",
                retention=flow_log_retention,
                removal_policy=RemovalPolicy.RETAIN,
                encryption_key=flow_log_encryption_key,
            )
            vpc.add_flow_log(
                "FlowLog",
                destination=ec2.FlowLogDestination.to_cloud_watch_logs(group, self._flow_log_role(stack)),
                traffic_type=ec2.FlowLogTrafficType.ALL,
            )
            self.flow_log_group = group
        if interface_endpoints:
            compute = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
            # One group for the three endpoints, open to HTTPS from the VPC's literal CIDR: the CDK default
            # (open=True) admits Fn::GetAtt Vpc.CidrBlock, which cdk-nag's EC23 cannot evaluate.
            endpoint_group = ec2.SecurityGroup(
                self,
                "EndpointSecurityGroup",
                vpc=vpc,
                description="HTTPS from the VPC to the ECR and CloudWatch Logs interface endpoints",
                allow_all_outbound=False,
            )
            endpoint_group.add_ingress_rule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), "HTTPS from inside the VPC")
            for name, service, prefix in (
                ("EcrApi", ec2.InterfaceVpcEndpointAwsService.ECR, "ecr"),
                ("EcrDocker", ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER, "ecr"),
                ("Logs", ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS, "logs"),
            ):
                endpoint = vpc.add_interface_endpoint(
                    name,
                    service=service,
                    subnets=compute,
                    private_dns_enabled=True,
                    open=False,
                    security_groups=[endpoint_group],
                )
                if restrict_endpoints:
                    endpoint.add_to_policy(self._own_resources(f"{prefix}:*", allowed_accounts, name))
                    if prefix == "ecr":
                        endpoint.add_to_policy(
                            iam.PolicyStatement(
                                sid="EcrAuthorizationTokenHasNoResource",
                                principals=[iam.AnyPrincipal()],
                                actions=["ecr:GetAuthorizationToken"],
                                resources=["*"],
                            )
                        )
        self._compute_subnets: list[ec2.ISubnet] = list(vpc.private_subnets)

    # -- hardening ----------------------------------------------------------------------------------

    @staticmethod
    def _own_resources(actions: str, accounts: Sequence[str], what: str) -> iam.PolicyStatement:
        return iam.PolicyStatement(
            sid=f"{what}ResourcesOfAllowedAccountsOnly",
            principals=[iam.AnyPrincipal()],
            actions=[actions],
            resources=["*"],
            conditions={"StringEquals": {"aws:ResourceAccount": list(accounts)}},
        )

    def _flow_log_role(self, stack: Stack) -> iam.Role:
        """The role VPC Flow Logs assumes, only for this account's flow logs in this Region."""
        return iam.Role(
            self,
            "FlowLogRole",
            description="Lets VPC Flow Logs of this account and Region deliver to the flow-log group",
            assumed_by=iam.ServicePrincipal(
                "vpc-flow-logs.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(service="ec2", resource="vpc-flow-log", resource_name="*")
                    },
                },
            ),
        )

    # -- alternative constructors -------------------------------------------------------------------

    @classmethod
    def from_existing(
        cls,
        scope: Construct,
        id: str,
        *,
        vpc_id: str,
        availability_zones: Sequence[str],
        private_subnet_ids: Sequence[str],
        private_subnet_route_table_ids: Sequence[str] | None = None,
    ) -> MnpNetwork:
        """Wrap an existing VPC from plain IDs (``ec2.Vpc.from_vpc_attributes``; no context lookup).

        ``private_subnet_ids`` are the compute subnets, listed in the order of ``availability_zones``
        (one or more per AZ, the same number in each, as ``from_vpc_attributes`` requires). They must be
        private with a NAT route; this construct cannot check an imported VPC's routes (the rule pack
        checks what it can see in the template).
        """
        if not availability_zones:
            raise MnpPropsError(_KIND, id, "availability_zones", "is empty", "list the AZs of the subnets")
        if not private_subnet_ids:
            raise MnpPropsError(_KIND, id, "private_subnet_ids", "is empty", "list the private compute subnets")
        if len(private_subnet_ids) % len(availability_zones) != 0:
            raise MnpPropsError(
                _KIND,
                id,
                "private_subnet_ids",
                f"has {len(private_subnet_ids)} subnets for {len(availability_zones)} AZs",
                "give the same number of subnets in every AZ, ordered like availability_zones",
            )
        if private_subnet_route_table_ids is not None and len(private_subnet_route_table_ids) != len(
            private_subnet_ids
        ):
            raise MnpPropsError(
                _KIND,
                id,
                "private_subnet_route_table_ids",
                f"has {len(private_subnet_route_table_ids)} entries for {len(private_subnet_ids)} subnets",
                "give one route table ID per private subnet, in the same order, or None",
            )
        self = cls._bare(scope, id)
        vpc = ec2.Vpc.from_vpc_attributes(
            self,
            "Vpc",
            vpc_id=vpc_id,
            availability_zones=list(availability_zones),
            private_subnet_ids=list(private_subnet_ids),
            private_subnet_route_table_ids=(
                list(private_subnet_route_table_ids) if private_subnet_route_table_ids is not None else None
            ),
        )
        self._adopt(vpc, list(vpc.private_subnets))
        return self

    @classmethod
    def from_vpc(
        cls,
        scope: Construct,
        id: str,
        *,
        vpc: ec2.IVpc,
        subnets: Sequence[ec2.ISubnet] | None = None,
    ) -> MnpNetwork:
        """Wrap any ``IVpc`` (for example from ``ec2.Vpc.from_lookup``).

        ``subnets`` are the compute subnets; by default the VPC's private subnets.
        """
        chosen = list(subnets) if subnets is not None else list(vpc.private_subnets)
        if not chosen:
            raise MnpPropsError(
                _KIND,
                id,
                "subnets",
                "is empty and the VPC has no private subnets",
                "pass the private subnets (with a NAT route) that the compute nodes should use",
            )
        self = cls._bare(scope, id)
        self._adopt(vpc, chosen)
        return self

    @classmethod
    def _bare(cls, scope: Construct, id: str) -> MnpNetwork:
        # Bypass __init__ (which builds a VPC) but still register the construct in the tree.
        self = cls.__new__(cls)
        Construct.__init__(self, scope, id)
        return self

    def _adopt(self, vpc: ec2.IVpc, subnets: list[ec2.ISubnet]) -> None:
        self.vpc = vpc
        self.flow_log_group = None
        self._compute_subnets = subnets

    # -- queries ------------------------------------------------------------------------------------

    @property
    def availability_zones(self) -> list[str]:
        """The AZs that hold compute subnets, in VPC order (tokens when the stack has no account)."""
        seen: list[str] = []
        for subnet in self._compute_subnets:
            if subnet.availability_zone not in seen:
                seen.append(subnet.availability_zone)
        return seen

    def compute_subnets(self, *, availability_zone: str | None = None) -> ec2.SubnetSelection:
        """The private compute subnets of exactly one AZ (default: the first one).

        A cluster placement group lives in one AZ, so an MNP compute environment must not span AZs.
        ``availability_zone`` must be one of :attr:`availability_zones` (with no account these are the
        ``Fn::Select`` tokens of ``Fn::GetAZs``; pass one of those values, not a literal name).
        """
        azs = self.availability_zones
        az = azs[0] if availability_zone is None else availability_zone
        chosen = [s for s in self._compute_subnets if s.availability_zone == az]
        if not chosen:
            shown = [a if not Token.is_unresolved(a) else "<token>" for a in azs]
            raise MnpPropsError(
                _KIND,
                self.node.id,
                "availability_zone",
                f"{az!r} holds no compute subnet of this network (AZs: {shown})",
                "pass one of MnpNetwork.availability_zones, or omit it to use the first AZ",
            )
        return ec2.SubnetSelection(subnets=chosen)

    def _drop_obsolete_provider_dependency(self) -> None:
        """The CDK's ``@aws-cdk/aws-ec2:restrictDefaultSecurityGroup`` (cdk.json) adds a custom-resource
        provider whose Lambda ``DependsOn`` its role while ``Fn::GetAtt Role.Arn`` already orders them;
        cfn-lint warns (W3005). The role's policies are inline, so the GetAtt alone is enough."""
        provider = Stack.of(self).node.try_find_child("Custom::VpcRestrictDefaultSGCustomResourceProvider")
        handler = provider.node.try_find_child("Handler") if provider is not None else None
        if isinstance(handler, CfnResource):
            handler.add_deletion_override("DependsOn")
            # checkov's Lambda checks on the CDK's own provider function, which CloudFormation invokes
            # synchronously during a deployment to remove the default security group's rules.
            for check_id, reason in _PROVIDER_FINDINGS:
                checkov_skip(handler, check_id, reason)
