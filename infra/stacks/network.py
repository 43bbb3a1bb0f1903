"""VPC, subnets, NAT, endpoints, flow logs and the security-group matrix of the whole platform."""

from __future__ import annotations

from aws_cdk import CfnOutput
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from constructs_lib.ip_plan import PlannedIpAddresses
from constructs_lib.security_matrix import Cidr, Flow, PrefixList, SecurityGroupMatrix
from infra.config import StageConfig, Tier
from infra.config.compute_validation import cloudfront_prefix_list
from infra.stacks.base import PlatformStack

SUBNET_TYPES = {
    Tier.PUBLIC: ec2.SubnetType.PUBLIC,
    Tier.PRIVATE: ec2.SubnetType.PRIVATE_WITH_EGRESS,
    Tier.ISOLATED: ec2.SubnetType.PRIVATE_ISOLATED,
}

TIERS = {
    "alb": "internet-facing application load balancer",
    "nlb": "network load balancer for WebSockets (when compute.websocket_entry is nlb)",
    "web": "web front-end tasks",
    "api": "API tasks",
    "ws": "WebSocket tasks",
    "workers": "background workers and job functions",
    "database": "PostgreSQL or Aurora",
    "cache": "Redis or Valkey",
    "endpoints": "VPC interface endpoints",
    "rotation": "secret rotation functions",
}
APP_TIERS = ("web", "api", "ws", "workers")
DATA_CLIENTS = ("api", "ws", "workers")  # the web front end talks to the API, never to data
HTTPS = 443
PRIVATE = ec2.SubnetType.PRIVATE_WITH_EGRESS
ANYWHERE = Cidr("0.0.0.0/0")


def platform_flows(cfg: StageConfig) -> list[Flow]:
    """The complete list of allowed connections. Anything not here is denied."""
    ports, compute = cfg.ports, cfg.compute
    # CloudFront's list weighs 55 of a group's 60 default rules: one port only.
    prefix_list = cloudfront_prefix_list(compute, cfg.region)
    clients: list[Flow] = (
        [Flow(PrefixList(prefix_list), "alb", compute.listener_port, "CloudFront origin-facing")]
        if prefix_list
        else []
    )
    cidrs = cfg.network.load_balancer_ingress_cidrs
    clients += [
        Flow(Cidr(cidr), "alb", port, why)
        for cidr in cidrs
        for port, why in ((HTTPS, "clients over HTTPS"), (80, "clients, redirected to HTTPS"))
    ]
    return [
        *clients,
        Flow("alb", "web", ports.web, "load balancer to web"),
        Flow("alb", "api", ports.api, "load balancer to API"),
        *(
            [Flow("alb", "ws", ports.ws, "load balancer to WebSocket")]
            if compute.websocket_entry == "alb"
            else [
                *(Flow(Cidr(c), "nlb", HTTPS, "WebSocket clients over TLS") for c in cidrs),
                Flow("nlb", "ws", ports.ws, "network load balancer to WebSocket"),
            ]
        ),
        *(Flow(t, "database", ports.database, f"{t} to database") for t in DATA_CLIENTS),
        *(Flow(t, "cache", ports.cache, f"{t} to cache") for t in DATA_CLIENTS),
        *(Flow(t, "endpoints", HTTPS, f"{t} to AWS APIs") for t in APP_TIERS),
        *(Flow(t, ANYWHERE, HTTPS, f"{t} to external HTTPS APIs") for t in APP_TIERS),
        Flow("rotation", "database", ports.database, "rotation to database"),
        Flow("rotation", "endpoints", HTTPS, "rotation to Secrets Manager"),
        Flow("rotation", ANYWHERE, HTTPS, "rotation to Secrets Manager via NAT"),
    ]


class NetworkStack(PlatformStack):
    def __init__(self, scope: Construct, cfg: StageConfig) -> None:
        super().__init__(scope, cfg, "network", description="VPC, endpoints, security groups")
        net = cfg.network
        plan = net.subnet_plan()

        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            vpc_name=cfg.resource_name("vpc"),
            ip_addresses=PlannedIpAddresses(
                net.vpc_cidr, {(tier.value, az): cidr for (tier, az), cidr in plan.items()}
            ),
            availability_zones=list(net.availability_zones),
            nat_gateways=net.nat_gateways,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name=tier.value,
                    subnet_type=SUBNET_TYPES[tier],
                    cidr_mask=plan[(tier, net.availability_zones[0])].prefixlen,
                    # Nothing in a public subnet gets a public IP unless it asks (NAT, ALB).
                    map_public_ip_on_launch=False if tier is Tier.PUBLIC else None,
                )
                for tier in Tier
            ],
            restrict_default_security_group=True,
            gateway_endpoints={
                name: ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService(name))
                for name in net.gateway_endpoints
            },
        )

        self.key = self.stage_key("NetworkKey", "network", "VPC flow logs")
        self.flow_logs = self.log_group(
            "FlowLogs", cfg.log_name("vpc-flow-logs"), self.key, net.flow_log_retention_days
        )
        self._add_flow_log()

        self.security_groups = SecurityGroupMatrix(
            self,
            "SecurityGroups",
            vpc=self.vpc,
            tiers=TIERS,
            flows=platform_flows(cfg),
        )
        # Where one-off tasks (migrations) run: outputs for pipeline steps.
        self.outputs = {
            "PrivateSubnetIds": CfnOutput(
                self,
                "PrivateSubnetIds",
                value=",".join(self.vpc.select_subnets(subnet_type=PRIVATE).subnet_ids),
                description="Private subnets for one-off tasks",
            ),
            "ApiSecurityGroupId": CfnOutput(
                self,
                "ApiSecurityGroupId",
                value=self.security_groups.group("api").security_group_id,
                description="Security group for one-off API tasks (migrations)",
            ),
        }
        for name in net.interface_endpoints:
            self.vpc.add_interface_endpoint(
                f"Endpoint-{name}",
                service=ec2.InterfaceVpcEndpointAwsService(name),
                subnets=ec2.SubnetSelection(subnet_type=PRIVATE),
                security_groups=[self.security_groups.group("endpoints")],
                open=False,  # only the matrix decides who reaches the endpoints
                private_dns_enabled=True,
            )

    def _add_flow_log(self) -> None:
        """Flow log with a dedicated role: a managed policy scoped to one log group (the L2
        FlowLog writes an inline policy) and a trust policy bound to this account's flow logs."""
        role = iam.Role(
            self,
            "FlowLogRole",
            assumed_by=iam.ServicePrincipal(
                "vpc-flow-logs.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": self.account},
                    "ArnLike": {
                        "aws:SourceArn": self.format_arn(
                            service="ec2", resource="vpc-flow-log", resource_name="*"
                        )
                    },
                },
            ),
            description="Delivers VPC flow logs to their log group",
        )
        role.add_managed_policy(
            iam.ManagedPolicy(
                self,
                "FlowLogPolicy",
                statements=[
                    iam.PolicyStatement(
                        actions=[
                            "logs:CreateLogStream",
                            "logs:PutLogEvents",
                            "logs:DescribeLogStreams",
                        ],
                        resources=[self.flow_logs.log_group_arn],
                    )
                ],
            )
        )
        ec2.CfnFlowLog(
            self,
            "FlowLog",
            resource_id=self.vpc.vpc_id,
            resource_type="VPC",
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_group_name=self.flow_logs.log_group_name,
            deliver_logs_permission_arn=role.role_arn,
        )
