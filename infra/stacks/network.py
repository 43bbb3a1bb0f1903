"""VPC, subnets, NAT, endpoints, flow logs and the security-group matrix of the whole platform."""

from __future__ import annotations

from aws_cdk import CfnOutput
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from constructs_lib.ip_plan import PlannedIpAddresses
from constructs_lib.security_matrix import Cidr, Flow, PrefixList, SecurityGroupMatrix
from infra.config import StageConfig
from infra.config.access import Access
from infra.config.network import FUNCTION_GROUP_PREFIX, Tier
from infra.config.services import Exposure
from infra.stacks.base import PlatformStack

SUBNET_TYPES = {
    Tier.PUBLIC: ec2.SubnetType.PUBLIC,
    Tier.PRIVATE: ec2.SubnetType.PRIVATE_WITH_EGRESS,
    Tier.ISOLATED: ec2.SubnetType.PRIVATE_ISOLATED,
}
HTTPS = 443
PRIVATE = ec2.SubnetType.PRIVATE_WITH_EGRESS
ANYWHERE = Cidr("0.0.0.0/0")


def function_tier(name: str) -> str:
    return f"{FUNCTION_GROUP_PREFIX}{name}"


def platform_tiers(cfg: StageConfig) -> dict[str, str]:
    """Every security group of the stage and what runs in it: one per service and per function
    in the VPC, named after it, so flows are derived from declarations, never from names."""
    tiers = {"alb": "application load balancer"}
    if cfg.exposed(Exposure.NLB):
        tiers["nlb"] = "network load balancer (TLS, source-IP stickiness)"
    tiers |= {name: f"{name} service tasks" for name in cfg.services}
    tiers |= {
        function_tier(name): f"{name} function" for name, fn in cfg.functions.items() if fn.vpc
    }
    tiers |= {
        "database": f"{cfg.data.database.engine.value} database",
        "cache": f"{cfg.data.cache.engine.value} cache",
        "rotation": "secret rotation functions",
        "db-admin": "database bootstrap (application user and its grants)",
    }
    if cfg.network.interface_endpoints:
        tiers["endpoints"] = "VPC interface endpoints"
    if cfg.data.backup.restore_testing:
        tiers["restore-test"] = "database copies made by restore tests (reachable by nothing)"
    return tiers


def platform_flows(cfg: StageConfig) -> list[Flow]:
    """The complete list of allowed connections. Anything not here is denied."""
    db_port, cache_port = cfg.data.database.port, cfg.data.cache.port
    endpoints = bool(cfg.network.interface_endpoints)
    # CloudFront's list weighs 55 of a group's 60 default rules: one port only.
    prefix_list = cfg.compute.prefix_list(cfg.region)
    assert prefix_list is not None  # validated: every region needs one
    flows = [Flow(PrefixList(prefix_list), "alb", cfg.listener_port, "CloudFront origin-facing")]
    cidrs = cfg.network.load_balancer_ingress_cidrs
    if cfg.exposed(Exposure.ALB):
        flows += [
            Flow(Cidr(cidr), "alb", port, why)
            for cidr in cidrs
            for port, why in ((HTTPS, "clients over HTTPS"), (80, "clients, redirected to HTTPS"))
        ]
    for name, service in cfg.exposed(Exposure.NLB).items():
        flows += [Flow(Cidr(c), "nlb", service.nlb_port, f"{name} clients over TLS") for c in cidrs]
    clients: list[tuple[str, str, Access]] = [
        (name, f"{name} tasks", service.uses) for name, service in cfg.services.items()
    ]
    clients += [
        (function_tier(name), f"{name} function", fn.uses)
        for name, fn in cfg.functions.items()
        if fn.vpc
    ]
    for name, service in cfg.services.items():
        entry = "alb" if service.on_alb else "nlb" if service.expose is Exposure.NLB else None
        if entry is not None:
            flows.append(Flow(entry, name, service.port, f"{entry} to {name}"))
        flows += [
            Flow(other, name, service.port, f"{other} calls {name}")
            for other, other_cfg in cfg.services.items()
            if name in other_cfg.uses.services
        ]
    for tier, label, uses in clients:
        if uses.database:
            flows.append(Flow(tier, "database", db_port, f"{label} to database"))
        if uses.cache:
            flows.append(Flow(tier, "cache", cache_port, f"{label} to cache"))
        if endpoints:
            flows.append(Flow(tier, "endpoints", HTTPS, f"{label} to AWS APIs"))
        # The S3 gateway endpoint is addressed by S3's public ranges: HTTPS egress stays open.
        flows.append(Flow(tier, ANYWHERE, HTTPS, f"{label} to HTTPS APIs and S3"))
    for tier, label in (("rotation", "rotation"), ("db-admin", "database bootstrap")):
        flows.append(Flow(tier, "database", db_port, f"{label} to database"))
        if cfg.network.has_endpoint("secretsmanager"):
            flows.append(Flow(tier, "endpoints", HTTPS, f"{label} to Secrets Manager"))
        else:  # no endpoint: Secrets Manager through the NAT gateway
            flows.append(Flow(tier, ANYWHERE, HTTPS, f"{label} to Secrets Manager via NAT"))
    return flows


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
            tiers=platform_tiers(cfg),
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
            "MigrationSecurityGroupId": CfnOutput(
                self,
                "MigrationSecurityGroupId",
                value=self.security_groups.group(cfg.migration_service).security_group_id,
                description="Security group for the migration task (its service's group)",
            ),
        }
        endpoints: list[ec2.GatewayVpcEndpoint | ec2.InterfaceVpcEndpoint] = [
            self.vpc.add_interface_endpoint(
                f"Endpoint-{name}",
                service=ec2.InterfaceVpcEndpointAwsService(name),
                subnets=ec2.SubnetSelection(subnet_type=PRIVATE),
                security_groups=[self.security_groups.group("endpoints")],
                open=False,  # only the matrix decides who reaches the endpoints
                private_dns_enabled=True,
            )
            for name in net.interface_endpoints
        ]
        gateways = {
            name: child
            for name in net.gateway_endpoints
            if isinstance(child := self.vpc.node.find_child(name), ec2.GatewayVpcEndpoint)
        }
        for endpoint in [*endpoints, *gateways.values()]:
            # A stolen credential of another account cannot use this VPC's private paths.
            endpoint.add_to_policy(
                iam.PolicyStatement(
                    principals=[iam.AnyPrincipal()],
                    actions=["*"],
                    resources=["*"],
                    conditions={"StringEquals": {"aws:PrincipalAccount": self.account}},
                )
            )
        if "s3" in gateways:
            # Image layers of private ECR come from ECR's own bucket, on a request signed by
            # ECR (another account): without this, no task can pull an image (ECR user guide,
            # "Minimum Amazon S3 bucket permissions for Amazon ECR").
            gateways["s3"].add_to_policy(
                iam.PolicyStatement(
                    principals=[iam.AnyPrincipal()],
                    actions=["s3:GetObject"],
                    resources=[
                        f"arn:{self.partition}:s3:::prod-{self.region}-starport-layer-bucket/*"
                    ],
                )
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
