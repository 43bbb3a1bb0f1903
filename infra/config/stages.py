"""The three stages as values. Differences between them live here and nowhere else."""

from __future__ import annotations

from aws_cdk import RemovalPolicy

from infra.config.model import NetworkConfig, StageConfig
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
        log_retention_days=90,
    )
    return {cfg.name: cfg for cfg in (dev, staging, prod)}
