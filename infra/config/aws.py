"""Facts about AWS the configuration is checked against, in one place.

Each is what a deploy would otherwise reject 20 minutes in; keep them current when AWS changes.
"""

from __future__ import annotations

import re
from functools import cache

from aws_cdk import region_info

PLACEHOLDER_ACCOUNT = "000000000000"
"""Lets every stage synthesize offline; rejected when accounts are required (deploy, pipeline)."""
PLACEHOLDER_ZONE_ID = "Z00000000PLACEHOLDER"
"""Offline stand-in for a Route 53 hosted zone; rejected when accounts are required."""

PLACEHOLDER_EMAIL_DOMAINS = ("@example.com", "@example.org", "@example.net")
"""RFC 2606 domains never receive mail: fine offline, refused when deploying."""
PLACEHOLDER_MARK = "PLACEHOLDER"
"""In a profile's offline pager URL (an integration key only its owner knows)."""

ACCOUNT_ID = re.compile(r"^\d{12}$")
EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
DNS_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
HOST_LABEL = re.compile(r"^(@|[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)$")
ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,31}$")
# ECR: a tag is up to 128 of [A-Za-z0-9_.-], not starting with . or -.
IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
ECR_REPOSITORY = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$")

# VPC and subnet sizes Amazon VPC accepts.
LARGEST_PREFIX, SMALLEST_PREFIX = 16, 28
GATEWAY_ENDPOINTS = frozenset({"s3", "dynamodb"})
INTERFACE_ENDPOINTS = frozenset(
    {
        "ecr.api",
        "ecr.dkr",
        "ecs",
        "ecs-agent",
        "ecs-telemetry",
        "secretsmanager",
        "logs",
        "monitoring",
        "ssm",
        "ssmmessages",
        "ec2messages",
        "kms",
        "sts",
        "sqs",
        "sns",
        "events",
        "lambda",
        "xray",
        "elasticache",
        "rds",
        "execute-api",
        "scheduler",
    }
)

# CloudFront's origin-facing managed prefix list per region (AWS-published IDs).
CLOUDFRONT_PREFIX_LISTS = {
    "ap-northeast-1": "pl-58a04531",
    "ap-northeast-2": "pl-22a6434b",
    "ap-northeast-3": "pl-31a14458",
    "ap-south-1": "pl-9aa247f3",
    "ap-southeast-1": "pl-31a34658",
    "ap-southeast-2": "pl-b8a742d1",
    "ca-central-1": "pl-38a64351",
    "eu-central-1": "pl-a3a144ca",
    "eu-north-1": "pl-fab65393",
    "eu-west-1": "pl-4fa04526",
    "eu-west-2": "pl-93a247fa",
    "eu-west-3": "pl-75b1541c",
    "sa-east-1": "pl-5da64334",
    "us-east-1": "pl-3b927c52",
    "us-east-2": "pl-b6a144df",
    "us-west-1": "pl-4ea04527",
    "us-west-2": "pl-82a045eb",
}
CLOUDFRONT_REGION = "us-east-1"
"""CLOUDFRONT-scope web ACLs, CloudFront certificates and CloudFront metrics live only here."""

# CPU units -> memory (MiB) combinations Fargate accepts.
FARGATE_MEMORY: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
    8192: tuple(range(16384, 61441, 4096)),
    16384: tuple(range(32768, 122881, 8192)),
}
LAMBDA_MEMORY = (128, 10240)
LAMBDA_MAX_TIMEOUT = 900
LAMBDA_UNRESERVED_MINIMUM = 100
"""Lambda keeps this much of the account's concurrency unreserved; reserving more fails."""
SQS_MAX_VISIBILITY = 43200
SQS_MAX_BATCH = 10
ALB_MAX_PRIORITY = 50000
ALB_MAX_CONDITION_VALUES = 5
ALB_MAX_IDLE_TIMEOUT = 4000

# Databases: engine majors offered, instance families per engine.
POSTGRES_MAJORS = frozenset({"14", "15", "16", "17"})
MYSQL_MAJORS = frozenset({"8.0", "8.4"})
AURORA_MYSQL_MAJORS = frozenset({"8.0"})
RDS_FAMILIES = frozenset(
    {"t3", "t4g", "m5", "m6g", "m6i", "m7g", "m7i", "r5", "r6g", "r6i", "r7g", "r7i"}
)
AURORA_FAMILIES = frozenset({"t3", "t4g", "r5", "r6g", "r6i", "r7g", "r7i", "r8g", "x2g"})
AURORA_BURSTABLE_SIZES = frozenset({"medium", "large"})
DB_INSTANCE_CLASS = re.compile(
    r"^db\.(?P<family>[a-z0-9]+)\.(?P<size>micro|small|medium|large|\d*xlarge)$"
)
CACHE_NODE_TYPE = re.compile(r"^cache\.[a-z0-9]+\.(micro|small|medium|large|\d*xlarge)$")
CACHE_MAJORS = {
    "valkey": frozenset({"7.2", "8.0", "8.1"}),
    "redis": frozenset({"6.2", "7.0", "7.1"}),
}
PERFORMANCE_INSIGHTS_DAYS = frozenset({7, *(31 * months for months in range(1, 24)), 731})
MONITORING_INTERVALS = frozenset({1, 5, 10, 15, 30, 60})
MAX_BACKUP_DAYS = 35
"""RDS automated backups, ElastiCache snapshots and AWS Backup continuous backups."""
PITR_RPO_MINUTES = 5
"""RDS and Aurora upload transaction logs every five minutes: the newest restorable time."""
MAX_AURORA_READERS = 15
MIN_GP3_GIB = 20
MIN_STANDARD_IA_DAYS = 30
"""S3 keeps objects 30 days in Standard before Standard-IA or One Zone-IA."""
MIN_VAULT_LOCK_GRACE_DAYS = 3
"""A compliance-mode vault lock can be changed or removed for at least 3 days."""

# CloudWatch Logs retention periods (never-expire is deliberately absent: every group has a cost
# ceiling).
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)

CRON_FIELD = r"(\*|\?|[0-9A-Za-z,\-/#L]+)"
APP_SCALING_CRON = re.compile(rf"^{CRON_FIELD}( {CRON_FIELD}){{4}}$")
"""minute hour day-of-month month day-of-week (Application Auto Scaling adds the year)."""
SCHEDULER_CRON = re.compile(rf"^cron\({CRON_FIELD}( {CRON_FIELD}){{5}}\)$")
"""EventBridge Scheduler: cron(minutes hours day-of-month month day-of-week year)."""
SCHEDULER_RATE = re.compile(r"^rate\(\d+ (minute|minutes|hour|hours|day|days)\)$")


@cache
def known_regions() -> frozenset[str]:
    return frozenset(info.name for info in region_info.RegionInfo.regions)


@cache
def known_time_zones() -> frozenset[str]:
    import zoneinfo  # noqa: PLC0415 (only needed when validating)

    return frozenset(zoneinfo.available_timezones())
