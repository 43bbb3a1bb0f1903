"""Labels of single resources: one function per resource type, and the `SINGLE` table that
maps a type to its node kind and label. `nodes` decides which resources get them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from tools.templates import CUSTOM_PREFIX, GENERIC_CUSTOM, references

from .assembly import Json, Stack, dig, literal
from .assembly import strip_hash as short

# Node kinds: "compute" and "data" drive the data-path edges; the rest only pick a shape.
COMPUTE, DATA, MESSAGING, ENTRY, OTHER = "compute", "data", "messaging", "entry", "other"

TIMES = "\N{MULTIPLICATION SIGN}"

LabelFn = Callable[[Stack, str, Mapping[str, Json]], list[str]]


def _name(logical_id: str, props: Mapping[str, Json], *paths: str) -> str:
    """The first synth-time name among the property paths, else the logical id's name part."""
    for path in paths:
        text = literal(dig(props, path))
        if text:
            return text
    return short(logical_id)


def named(what: str, *paths: str) -> LabelFn:
    def label(_stack: Stack, logical_id: str, props: Mapping[str, Json]) -> list[str]:
        return [_name(logical_id, props, *paths), what]

    return label


def _vpc(stack: Stack, logical_id: str, props: Mapping[str, Json]) -> list[str]:
    zones = {
        repr(sub.get("AvailabilityZone"))
        for _, sub in stack.of_type("AWS::EC2::Subnet")
        if logical_id in references(sub.get("VpcId"))
    }
    cidr = literal(props.get("CidrBlock"))
    return [f"VPC {cidr}" if cidr else "VPC", f"{len(zones)} AZs" if zones else short(logical_id)]


def _ecs_service(_stack: Stack, logical_id: str, props: Mapping[str, Json]) -> list[str]:
    providers = [
        literal(item.get("CapacityProvider")) or ""
        for item in props.get("CapacityProviderStrategy") or []
    ]
    launch = literal(props.get("LaunchType")) or "/".join(p for p in providers if p)
    launch = launch.replace("_", " ").title() if launch else ""
    desired = literal(props.get("DesiredCount"))
    detail = " · ".join(p for p in ("ECS service", launch) if p)
    return [
        _name(logical_id, props, "ServiceName"),
        detail + (f" {TIMES} {desired}" if desired else ""),
    ]


def _function(_stack: Stack, logical_id: str, props: Mapping[str, Json]) -> list[str]:
    runtime = literal(props.get("Runtime"))
    return [
        _name(logical_id, props, "FunctionName"),
        f"Lambda · {runtime}" if runtime else "Lambda",
    ]


def _rotation(_stack: Stack, logical_id: str, props: Mapping[str, Json]) -> list[str]:
    hosted = props.get("HostedRotationLambda") or {}
    return [_name(logical_id, hosted, "RotationLambdaName"), "Lambda · hosted secret rotation"]


_LB_KINDS = {"application": "ALB", "network": "NLB", "gateway": "GWLB"}


def _load_balancer(_stack: Stack, logical_id: str, props: Mapping[str, Json]) -> list[str]:
    kind = _LB_KINDS.get(literal(props.get("Type")) or "application", "load balancer")
    scheme = literal(props.get("Scheme")) or "internet-facing"
    return [_name(logical_id, props, "Name"), f"{kind} · {scheme}"]


def _distribution(_stack: Stack, logical_id: str, props: Mapping[str, Json]) -> list[str]:
    config = props.get("DistributionConfig") or {}
    aliases = sorted(text for a in config.get("Aliases") or [] if (text := literal(a)))
    return [
        "CloudFront distribution",
        *(aliases or [literal(config.get("Comment")) or short(logical_id)]),
    ]


def _web_acl(_stack: Stack, logical_id: str, props: Mapping[str, Json]) -> list[str]:
    scope = (literal(props.get("Scope")) or "").lower()
    rules = len(props.get("Rules") or [])
    detail = " · ".join(p for p in ("WAF web ACL", scope, f"{rules} rules" if rules else "") if p)
    return [_name(logical_id, props, "Name"), detail]


def _db_instance(_stack: Stack, logical_id: str, props: Mapping[str, Json]) -> list[str]:
    engine = literal(props.get("Engine")) or "database"
    parts = [f"RDS {engine}", literal(props.get("DBInstanceClass")) or ""]
    if props.get("MultiAZ") in (True, "true"):
        parts.append("Multi-AZ")
    return [_name(logical_id, props, "DBInstanceIdentifier"), " · ".join(p for p in parts if p)]


def _db_cluster(stack: Stack, logical_id: str, props: Mapping[str, Json]) -> list[str]:
    members = [
        literal(member.get("DBInstanceClass")) or "?"
        for _, member in stack.of_type("AWS::RDS::DBInstance")
        if logical_id in references(member.get("DBClusterIdentifier"))
    ]
    engine = literal(props.get("Engine")) or "database"
    sizes = f"{members[0]} {TIMES} {len(members)}" if members else "serverless"
    return [_name(logical_id, props, "DBClusterIdentifier"), f"RDS {engine} cluster · {sizes}"]


def _replication_group(_stack: Stack, logical_id: str, props: Mapping[str, Json]) -> list[str]:
    clusters = literal(props.get("NumCacheClusters"))
    if clusters:
        nodes = int(clusters)
    else:
        groups = int(literal(props.get("NumNodeGroups")) or 1)
        nodes = groups * (int(literal(props.get("ReplicasPerNodeGroup")) or 0) + 1)
    engine = literal(props.get("Engine")) or "cache"
    size = f"{literal(props.get('CacheNodeType')) or '?'} {TIMES} {nodes}"
    return [_name(logical_id, props, "ReplicationGroupId"), f"ElastiCache {engine} · {size}"]


def _cache_cluster(_stack: Stack, logical_id: str, props: Mapping[str, Json]) -> list[str]:
    engine = literal(props.get("Engine")) or "cache"
    count = literal(props.get("NumCacheNodes")) or "1"
    size = f"{literal(props.get('CacheNodeType')) or '?'} {TIMES} {count}"
    return [_name(logical_id, props, "ClusterName"), f"ElastiCache {engine} · {size}"]


def _queue(stack: Stack, logical_id: str, props: Mapping[str, Json]) -> list[str]:
    dead_letter = any(
        logical_id in references(dig(other, "RedrivePolicy.deadLetterTargetArn"))
        for _, other in stack.of_type("AWS::SQS::Queue")
    )
    return [
        _name(logical_id, props, "QueueName"),
        "SQS dead-letter queue" if dead_letter else "SQS queue",
    ]


def _backup_plan(_stack: Stack, logical_id: str, props: Mapping[str, Json]) -> list[str]:
    rules = [
        literal(rule.get("RuleName")) or "?"
        for rule in dig(props, "BackupPlan.BackupPlanRule") or []
    ]
    return [
        _name(logical_id, props, "BackupPlan.BackupPlanName"),
        "Backup plan · " + ", ".join(rules),
    ]


def _trail(_stack: Stack, logical_id: str, props: Mapping[str, Json]) -> list[str]:
    multi = props.get("IsMultiRegionTrail") in (True, "true")
    return [
        _name(logical_id, props, "TrailName"),
        "CloudTrail · multi-region" if multi else "CloudTrail",
    ]


def _security_hub(stack: Stack, _logical_id: str, _props: Mapping[str, Json]) -> list[str]:
    standards = len(list(stack.of_type("AWS::SecurityHub::Standard")))
    return ["Security Hub", count(standards, "standard", "standards") if standards else ""]


def _budget(_stack: Stack, logical_id: str, props: Mapping[str, Json]) -> list[str]:
    limit = dig(props, "Budget.BudgetLimit") or {}
    period = (literal(dig(props, "Budget.TimeUnit")) or "").lower()
    amount = " ".join(p for p in (literal(limit.get("Amount")), literal(limit.get("Unit"))) if p)
    return [
        _name(logical_id, props, "Budget.BudgetName"),
        " · ".join(p for p in ("Budget", amount, period) if p),
    ]


def _certificate(_stack: Stack, logical_id: str, props: Mapping[str, Json]) -> list[str]:
    more = len(props.get("SubjectAlternativeNames") or [])
    return [
        _name(logical_id, props, "DomainName"),
        "ACM certificate" + (f" · +{more} names" if more else ""),
    ]


def custom(stack: Stack, logical_id: str, _props: Mapping[str, Json]) -> list[str]:
    resource_type = stack.type_of(logical_id)
    name = short(logical_id) if resource_type == GENERIC_CUSTOM else resource_type
    return [name.removeprefix(CUSTOM_PREFIX), "custom resource"]


def _flow_log(_stack: Stack, _logical_id: str, props: Mapping[str, Json]) -> list[str]:
    traffic = (literal(props.get("TrafficType")) or "").lower()
    destination = literal(props.get("LogDestinationType")) or "cloud-watch-logs"
    return ["VPC flow log", " ".join(p for p in (traffic, "to", destination) if p)]


def count(number: int, singular: str, plural: str) -> str:
    return f"{number} {singular if number == 1 else plural}"


def _fixed(*lines: str) -> LabelFn:
    return lambda _stack, _logical_id, _props: list(lines)


# type -> (kind, label)
SINGLE: dict[str, tuple[str, LabelFn]] = {
    "AWS::EC2::VPC": (OTHER, _vpc),
    "AWS::EC2::FlowLog": (OTHER, _flow_log),
    "AWS::EC2::TransitGateway": (OTHER, named("Transit gateway")),
    "AWS::ECS::Cluster": (OTHER, named("ECS cluster", "ClusterName")),
    "AWS::ECS::Service": (COMPUTE, _ecs_service),
    "AWS::ECS::TaskDefinition": (COMPUTE, named("ECS task definition", "Family")),
    "AWS::Lambda::Function": (COMPUTE, _function),
    "AWS::SecretsManager::RotationSchedule": (COMPUTE, _rotation),
    "AWS::StepFunctions::StateMachine": (COMPUTE, named("Step Functions", "StateMachineName")),
    "AWS::AutoScaling::AutoScalingGroup": (
        COMPUTE,
        named("Auto Scaling group", "AutoScalingGroupName"),
    ),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": (ENTRY, _load_balancer),
    "AWS::CloudFront::Distribution": (ENTRY, _distribution),
    "AWS::WAFv2::WebACL": (ENTRY, _web_acl),
    "AWS::ApiGateway::RestApi": (ENTRY, named("API Gateway REST API", "Name")),
    "AWS::ApiGatewayV2::Api": (ENTRY, named("API Gateway", "Name")),
    "AWS::Route53::HostedZone": (ENTRY, named("Route 53 hosted zone", "Name")),
    "AWS::CertificateManager::Certificate": (OTHER, _certificate),
    "AWS::Cognito::UserPool": (OTHER, named("Cognito user pool", "UserPoolName")),
    "AWS::RDS::DBInstance": (DATA, _db_instance),
    "AWS::RDS::DBCluster": (DATA, _db_cluster),
    "AWS::ElastiCache::ReplicationGroup": (DATA, _replication_group),
    "AWS::ElastiCache::CacheCluster": (DATA, _cache_cluster),
    "AWS::ElastiCache::ServerlessCache": (
        DATA,
        named("ElastiCache serverless", "ServerlessCacheName"),
    ),
    "AWS::MemoryDB::Cluster": (DATA, named("MemoryDB cluster", "ClusterName")),
    "AWS::DynamoDB::Table": (DATA, named("DynamoDB table", "TableName")),
    "AWS::DynamoDB::GlobalTable": (DATA, named("DynamoDB global table", "TableName")),
    "AWS::S3::Bucket": (DATA, named("S3 bucket")),
    "AWS::EFS::FileSystem": (DATA, named("EFS file system")),
    "AWS::OpenSearchService::Domain": (DATA, named("OpenSearch domain", "DomainName")),
    "AWS::Kinesis::Stream": (DATA, named("Kinesis stream", "Name")),
    "AWS::SQS::Queue": (MESSAGING, _queue),
    "AWS::SNS::Topic": (MESSAGING, named("SNS topic", "TopicName")),
    "AWS::Events::EventBus": (MESSAGING, named("EventBridge bus", "Name")),
    "AWS::CloudWatch::Dashboard": (OTHER, named("CloudWatch dashboard", "DashboardName")),
    "AWS::Backup::BackupVault": (DATA, named("Backup vault", "BackupVaultName")),
    "AWS::Backup::BackupPlan": (OTHER, _backup_plan),
    "AWS::CloudTrail::Trail": (OTHER, _trail),
    "AWS::GuardDuty::Detector": (OTHER, _fixed("GuardDuty", "threat detection")),
    "AWS::SecurityHub::Hub": (OTHER, _security_hub),
    "AWS::Config::ConfigurationRecorder": (OTHER, _fixed("AWS Config", "configuration recorder")),
    "AWS::Budgets::Budget": (OTHER, _budget),
}
