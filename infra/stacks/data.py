"""Data tier: keys and placement for PostgreSQL and Redis (databases arrive with the data issue)."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_rds as rds
from constructs import Construct

from infra.config import StageConfig
from infra.stacks.base import PlatformStack


class DataStack(PlatformStack):
    def __init__(
        self,
        scope: Construct,
        cfg: StageConfig,
        *,
        vpc: ec2.IVpc,
        database_security_group: ec2.ISecurityGroup,
        cache_security_group: ec2.ISecurityGroup,
    ) -> None:
        super().__init__(scope, cfg, "data", description="databases, caches, buckets and keys")
        self.database_security_group = database_security_group
        self.cache_security_group = cache_security_group
        self.key = self.stage_key("DataKey", "data", "data at rest")
        isolated = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        self.database_subnets = rds.SubnetGroup(
            self,
            "DatabaseSubnets",
            vpc=vpc,
            vpc_subnets=isolated,
            description=f"{cfg.resource_name('database')}: isolated subnets",
        )
        self.cache_subnets = elasticache.CfnSubnetGroup(
            self,
            "CacheSubnets",
            description=f"{cfg.resource_name('cache')}: isolated subnets",
            subnet_ids=vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED).subnet_ids,
        )
