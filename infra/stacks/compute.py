"""Compute tier: the ECS cluster the services run on (services arrive with the compute issue)."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from constructs import Construct

from constructs_lib.security_matrix import SecurityGroupMatrix
from infra.config import StageConfig
from infra.stacks.base import PlatformStack


class ComputeStack(PlatformStack):
    def __init__(
        self,
        scope: Construct,
        cfg: StageConfig,
        *,
        vpc: ec2.IVpc,
        security_groups: SecurityGroupMatrix,
    ) -> None:
        super().__init__(scope, cfg, "compute", description="ECS services, load balancers, jobs")
        self.security_groups = security_groups
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            cluster_name=cfg.resource_name("cluster"),
            vpc=vpc,
            container_insights_v2=ecs.ContainerInsights.ENHANCED,
            enable_fargate_capacity_providers=True,
        )
