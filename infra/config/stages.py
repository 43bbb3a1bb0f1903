"""The three stages as values. Differences between them live here and nowhere else."""

from __future__ import annotations

from aws_cdk import RemovalPolicy

from infra.config.compute import (
    ComputeConfig,
    OffHours,
    ScheduledCapacity,
    ServiceConfig,
    WorkerConfig,
)
from infra.config.data import (
    BackupConfig,
    CacheConfig,
    DatabaseConfig,
    DataConfig,
    UploadsConfig,
)
from infra.config.model import NetworkConfig, StageConfig
from infra.config.observability import AuditConfig, ObservabilityConfig
from infra.config.primitives import PLACEHOLDER_ACCOUNT

DEFAULT_REGION = "ap-northeast-2"

# Private by default: everything a task needs from AWS without crossing the NAT gateway.
PROD_INTERFACE_ENDPOINTS = (
    "ecr.api",
    "ecr.dkr",
    "secretsmanager",
    "logs",
    "ssm",
    "kms",
    "sts",
    "sqs",
)


def default_stages() -> dict[str, StageConfig]:
    dev = StageConfig(
        name="dev",
        account=PLACEHOLDER_ACCOUNT,
        region=DEFAULT_REGION,
        network=NetworkConfig(
            vpc_cidr="10.10.0.0/16",
            availability_zones=(f"{DEFAULT_REGION}a", f"{DEFAULT_REGION}c"),
            nat_gateways=1,  # one NAT for cost; an AZ outage only cuts dev's egress
            interface_endpoints=(),  # NAT is cheaper than 8 endpoints x 2 AZs at dev traffic
            flow_log_retention_days=14,
        ),
        data=DataConfig(
            database=DatabaseConfig(
                instance_class="t4g.micro",
                max_allocated_storage_gib=50,
                multi_az=False,
                backup_retention_days=1,
                deletion_protection=False,
                removal_policy=RemovalPolicy.DESTROY,
            ),
            cache=CacheConfig(
                replicas_per_shard=0,
                multi_az=False,
                snapshot_retention_days=1,
                removal_policy=RemovalPolicy.DESTROY,
            ),
            backup=BackupConfig(daily_retention_days=7),
            access_log_retention_days=30,
        ),
        compute=ComputeConfig(
            services=(
                ServiceConfig("web", ("/*",), min_tasks=1, max_tasks=2, spot_weight=1),
                ServiceConfig(
                    "api",
                    ("/api/*",),
                    health_check_path="/api/health",
                    min_tasks=1,
                    max_tasks=2,
                    spot_weight=1,
                ),
                ServiceConfig(
                    "ws",
                    ("/ws/*", "/socket.io/*"),
                    sticky_sessions=True,
                    min_tasks=1,
                    max_tasks=2,
                    spot_weight=1,
                ),
            ),
            exec_enabled=True,
            load_balancer_deletion_protection=False,
            off_hours=OffHours(),  # weekdays 08:00-20:00 Seoul only
            worker=WorkerConfig(reserved_concurrency=2),
        ),
        observability=ObservabilityConfig(monthly_budget_usd=300),
        log_retention_days=7,
        removal_policy=RemovalPolicy.DESTROY,
        termination_protection=False,
    )
    staging = StageConfig(
        name="staging",
        account=PLACEHOLDER_ACCOUNT,
        region=DEFAULT_REGION,
        network=NetworkConfig(
            vpc_cidr="10.20.0.0/16",
            availability_zones=(f"{DEFAULT_REGION}a", f"{DEFAULT_REGION}c"),
            nat_gateways=2,
            interface_endpoints=PROD_INTERFACE_ENDPOINTS,  # same network paths as prod
            flow_log_retention_days=30,
        ),
        data=DataConfig(
            database=DatabaseConfig(instance_class="t4g.medium"),
            cache=CacheConfig(node_type="cache.t4g.small"),
            backup=BackupConfig(daily_retention_days=14),
            access_log_retention_days=90,
        ),
        observability=ObservabilityConfig(monthly_budget_usd=450),
        log_retention_days=30,
    )
    prod = StageConfig(
        name="prod",
        account=PLACEHOLDER_ACCOUNT,
        region=DEFAULT_REGION,
        network=NetworkConfig(
            vpc_cidr="10.30.0.0/16",
            availability_zones=(f"{DEFAULT_REGION}a", f"{DEFAULT_REGION}b", f"{DEFAULT_REGION}c"),
            nat_gateways=3,  # one per AZ: losing an AZ never cuts the others' egress
            interface_endpoints=PROD_INTERFACE_ENDPOINTS,
            flow_log_retention_days=365,
        ),
        data=DataConfig(
            database=DatabaseConfig(
                instance_class="m7g.large",
                allocated_storage_gib=100,
                max_allocated_storage_gib=500,
                backup_retention_days=14,
            ),
            cache=CacheConfig(node_type="cache.t4g.medium", snapshot_retention_days=7),
            uploads=UploadsConfig(replicate_to_dr=True),
            backup=BackupConfig(
                daily_retention_days=35,
                weekly_retention_days=90,
                monthly_retention_days=365,
                copy_to_dr=True,
            ),
            dr_region="ap-northeast-1",  # uploads and recovery points survive a region loss
        ),
        observability=ObservabilityConfig(
            # Prod owns its account: it switches on the account-level audit services.
            audit=AuditConfig(guardduty=True, security_hub=True, config_recorder=True),
            monthly_budget_usd=1200,
        ),
        compute=ComputeConfig(
            services=(
                ServiceConfig("web", ("/*",), cpu=1024, memory_mib=2048, min_tasks=2, max_tasks=4),
                ServiceConfig(
                    "api",
                    ("/api/*",),
                    health_check_path="/api/health",
                    cpu=1024,
                    memory_mib=2048,
                    min_tasks=2,
                    max_tasks=10,
                    scheduled_capacity=(  # workshops run weekdays in office hours
                        ScheduledCapacity("office-hours", "0 9 * * MON-FRI", 4, 10),
                        ScheduledCapacity("after-hours", "0 18 * * MON-FRI", 2, 10),
                    ),
                ),
                ServiceConfig(
                    "ws",
                    ("/ws/*", "/socket.io/*"),
                    sticky_sessions=True,
                    min_tasks=2,
                    max_tasks=6,
                ),
            ),
            worker=WorkerConfig(reserved_concurrency=20),
        ),
        log_retention_days=90,
    )
    return {cfg.name: cfg for cfg in (dev, staging, prod)}
