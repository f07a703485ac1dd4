"""CloudFormation resource types the model and the rules look at."""

JOB_DEFINITION = "AWS::Batch::JobDefinition"
COMPUTE_ENVIRONMENT = "AWS::Batch::ComputeEnvironment"
INTERNET_GATEWAY = "AWS::EC2::InternetGateway"
JOB_QUEUE = "AWS::Batch::JobQueue"
LAUNCH_TEMPLATE = "AWS::EC2::LaunchTemplate"
PLACEMENT_GROUP = "AWS::EC2::PlacementGroup"
#: The CDK's custom resource that removes every rule of a VPC's default security group
#: (``@aws-cdk/aws-ec2:restrictDefaultSecurityGroup``).
RESTRICT_DEFAULT_SECURITY_GROUP = "Custom::VpcRestrictDefaultSG"
ROUTE = "AWS::EC2::Route"
ROUTE_TABLE = "AWS::EC2::RouteTable"
ROUTE_TABLE_ASSOCIATION = "AWS::EC2::SubnetRouteTableAssociation"
SECURITY_GROUP = "AWS::EC2::SecurityGroup"
SECURITY_GROUP_EGRESS = "AWS::EC2::SecurityGroupEgress"
SECURITY_GROUP_INGRESS = "AWS::EC2::SecurityGroupIngress"
SUBNET = "AWS::EC2::Subnet"
VPC_ENDPOINT = "AWS::EC2::VPCEndpoint"
