"""Which resources become nodes, how they are labelled, and which are counted or left out.

Everything is decided from resource types and properties, so another product's stacks draw
without changes here: a type this module does not know still appears under a generic label.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from .assembly import READER, WRITER, Json, ResKey, Resolver, Stack, dig, literal, local_refs
from .assembly import strip_hash as short

# Node kinds: "compute" and "data" drive the data-path edges; the rest only pick a shape.
COMPUTE, DATA, MESSAGING, ENTRY, OTHER = "compute", "data", "messaging", "entry", "other"

TIMES = "\N{MULTIPLICATION SIGN}"
_FALLBACK_GROUP_MIN = 3  # unknown types with this many resources in a stack are counted
_NAMES_PER_LINE = 4
# "com.amazonaws.<region>." before an endpoint's service; the region may be a Ref (empty here).
_SERVICE_PREFIX = re.compile(r"^com\.amazonaws\.(?:[a-z]{2}(?:-[a-z]+)+-\d+)?\.")

# Plumbing: never drawn (some of it becomes edges instead). Prefixes end with "::".
HIDDEN = (
    "AWS::IAM::",
    "AWS::ApplicationAutoScaling::",
    "AWS::CDK::Metadata",
    "AWS::SSM::Parameter",
    WRITER,
    READER,
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::SecurityGroupIngress",
    "AWS::EC2::SecurityGroupEgress",
    "AWS::EC2::Subnet",
    "AWS::EC2::SubnetRouteTableAssociation",
    "AWS::EC2::SubnetNetworkAclAssociation",
    "AWS::EC2::RouteTable",
    "AWS::EC2::Route",
    "AWS::EC2::EIP",
    "AWS::EC2::InternetGateway",
    "AWS::EC2::EgressOnlyInternetGateway",
    "AWS::EC2::VPCGatewayAttachment",
    "AWS::EC2::NetworkAcl",
    "AWS::EC2::NetworkAclEntry",
    "AWS::EC2::VPCCidrBlock",
    "AWS::Lambda::Permission",
    "AWS::Lambda::EventSourceMapping",
    "AWS::Lambda::Version",
    "AWS::Lambda::Alias",
    "AWS::Lambda::EventInvokeConfig",
    "AWS::Logs::MetricFilter",
    "AWS::Logs::QueryDefinition",
    "AWS::Logs::SubscriptionFilter",
    "AWS::Logs::ResourcePolicy",
    "AWS::Logs::LogStream",
    "AWS::KMS::Alias",
    "AWS::S3::BucketPolicy",
    "AWS::SQS::QueuePolicy",
    "AWS::SNS::TopicPolicy",
    "AWS::SNS::Subscription",
    "AWS::SecretsManager::ResourcePolicy",
    "AWS::SecretsManager::SecretTargetAttachment",
    "AWS::RDS::DBSubnetGroup",
    "AWS::RDS::DBParameterGroup",
    "AWS::RDS::DBClusterParameterGroup",
    "AWS::RDS::OptionGroup",
    "AWS::ElastiCache::SubnetGroup",
    "AWS::ElastiCache::ParameterGroup",
    "AWS::ElasticLoadBalancingV2::Listener",
    "AWS::ElasticLoadBalancingV2::ListenerRule",
    "AWS::ElasticLoadBalancingV2::ListenerCertificate",
    "AWS::ElasticLoadBalancingV2::TargetGroup",
    "AWS::ECS::ClusterCapacityProviderAssociations",
    "AWS::Backup::BackupSelection",
    "AWS::CloudFront::OriginAccessControl",
    "AWS::CloudFront::CloudFrontOriginAccessIdentity",
    "AWS::CloudFront::ResponseHeadersPolicy",
    "AWS::CloudFront::CachePolicy",
    "AWS::CloudFront::OriginRequestPolicy",
    "AWS::WAFv2::LoggingConfiguration",
    "AWS::WAFv2::WebACLAssociation",
    "AWS::Config::DeliveryChannel",
    "AWS::SecurityHub::Standard",
    "AWS::EFS::MountTarget",
)
# CDK's own custom resources: framework plumbing, not part of the product's architecture.
CDK_CUSTOM = (
    "Custom::VpcRestrictDefaultSG",
    "Custom::S3AutoDeleteObjects",
    "Custom::ECRAutoDeleteImages",
    "Custom::LogRetention",
    "Custom::AWS",  # AwsCustomResource
    "Custom::S3BucketNotifications",
    "Custom::CloudwatchLogResourcePolicy",
    "Custom::UpdateLoggingConfiguration",
)
CDK_CUSTOM_PREFIXES = ("Custom::CDK", "Custom::AWSCDK")  # CDKBucketDeployment, EKS, ...
CUSTOM_PREFIX, GENERIC_CUSTOM = "Custom::", "AWS::CloudFormation::CustomResource"
PROVIDER_TYPES = ("AWS::Lambda::Function", "AWS::StepFunctions::StateMachine")


def _matches(resource_type: str, patterns: Iterable[str]) -> bool:
    return any(
        resource_type.startswith(pattern) if pattern.endswith("::") else resource_type == pattern
        for pattern in patterns
    )


def is_custom(resource_type: str) -> bool:
    return resource_type.startswith(CUSTOM_PREFIX) or resource_type == GENERIC_CUSTOM


def _is_cdk_custom(resource_type: str) -> bool:
    return resource_type in CDK_CUSTOM or resource_type.startswith(CDK_CUSTOM_PREFIXES)


@dataclass
class Node:
    id: str
    stack: str  # stack key
    lines: list[str]
    kind: str = OTHER
    members: list[ResKey] = field(default_factory=list)  # the resources it stands for


class Ids:
    """Mermaid-safe ids: alphanumeric, starting with a capital (so never a keyword such as
    `end`), derived from logical ids; a clash gets a numeric suffix."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def make(self, *parts: str) -> str:
        base = re.sub(r"[^A-Za-z0-9]", "", "".join(parts)) or "Node"
        base = base[0].upper() + base[1:] if base[0].isalpha() else "N" + base
        candidate, number = base, 2
        while candidate in self.used:
            candidate, number = f"{base}{number}", number + 1
        self.used.add(candidate)
        return candidate


# --- labels of single resources -----------------------------------------------------------

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


def _words(resource_type: str) -> str:
    """ "AWS::Kinesis::Stream" -> "Kinesis Stream"."""
    return " ".join(resource_type.split("::")[1:]) or resource_type


def _vpc(stack: Stack, logical_id: str, props: Mapping[str, Json]) -> list[str]:
    zones = {
        repr(sub.get("AvailabilityZone"))
        for _, sub in stack.of_type("AWS::EC2::Subnet")
        if logical_id in local_refs(sub.get("VpcId"))
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
        if logical_id in local_refs(member.get("DBClusterIdentifier"))
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
        logical_id in local_refs(dig(other, "RedrivePolicy.deadLetterTargetArn"))
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
    return ["Security Hub", _count(standards, "standard", "standards") if standards else ""]


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


def _custom(stack: Stack, logical_id: str, _props: Mapping[str, Json]) -> list[str]:
    resource_type = stack.type_of(logical_id)
    name = short(logical_id) if resource_type == GENERIC_CUSTOM else resource_type
    return [name.removeprefix(CUSTOM_PREFIX), "custom resource"]


def _flow_log(_stack: Stack, _logical_id: str, props: Mapping[str, Json]) -> list[str]:
    traffic = (literal(props.get("TrafficType")) or "").lower()
    destination = literal(props.get("LogDestinationType")) or "cloud-watch-logs"
    return ["VPC flow log", " ".join(p for p in (traffic, "to", destination) if p)]


def _count(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


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


# --- counted groups -----------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    suffix: str  # id suffix within the stack
    singular: str
    plural: str
    detail: Callable[[Stack, list[str]], list[str]] | None = None
    title: str | None = None  # drawn instead of the count, for the DNS node


def _endpoint_services(stack: Stack, logical_ids: list[str]) -> list[str]:
    names = set()
    for logical_id in logical_ids:
        service = stack.props(logical_id).get("ServiceName")
        text = literal(service) or "".join(
            part for part in (dig(service, "Fn::Join") or ["", []])[1] if isinstance(part, str)
        )
        names.add(_SERVICE_PREFIX.sub("", text))
    ordered = sorted(name for name in names if name)
    return [
        ", ".join(ordered[i : i + _NAMES_PER_LINE]) for i in range(0, len(ordered), _NAMES_PER_LINE)
    ]


def _record_names(stack: Stack, logical_ids: list[str]) -> list[str]:
    names: set[str] = set()
    for logical_id in logical_ids:
        props = stack.props(logical_id)
        for record in props.get("RecordSets") or [props]:
            names.add((literal(record.get("Name")) or short(logical_id)).rstrip("."))
    return sorted(names)


_ENDPOINT_TYPE = "AWS::EC2::VPCEndpoint"
GROUPS: dict[str, Group] = {
    "AWS::KMS::Key": Group("Keys", "KMS key", "KMS keys"),
    "AWS::CloudWatch::Alarm": Group("Alarms", "alarm", "alarms"),
    "AWS::CloudWatch::CompositeAlarm": Group("Alarms", "alarm", "alarms"),
    "AWS::Logs::LogGroup": Group("LogGroups", "log group", "log groups"),
    "AWS::EC2::NatGateway": Group("NatGateways", "NAT gateway", "NAT gateways"),
    "AWS::SecretsManager::Secret": Group("Secrets", "secret", "secrets"),
    "AWS::ECR::Repository": Group("Repositories", "ECR repository", "ECR repositories"),
    "AWS::Events::Rule": Group("EventRules", "EventBridge rule", "EventBridge rules"),
    "AWS::Scheduler::Schedule": Group("Schedules", "EventBridge schedule", "EventBridge schedules"),
    "AWS::Config::ConfigRule": Group("ConfigRules", "Config rule", "Config rules"),
    "AWS::Route53::RecordSet": Group("Dns", "", "", _record_names, "DNS (Route 53)"),
    "AWS::Route53::RecordSetGroup": Group("Dns", "", "", _record_names, "DNS (Route 53)"),
}
_ENDPOINT_GROUPS = {
    "Interface": Group(
        "InterfaceEndpoints", "interface endpoint", "interface endpoints", _endpoint_services
    ),
    "Gateway": Group(
        "GatewayEndpoints", "gateway endpoint", "gateway endpoints", _endpoint_services
    ),
}


def group_of(resource_type: str, props: Mapping[str, Json]) -> Group | None:
    if resource_type == _ENDPOINT_TYPE:
        return _ENDPOINT_GROUPS.get(literal(props.get("VpcEndpointType")) or "Gateway")
    return GROUPS.get(resource_type)


# --- building the nodes of a stage --------------------------------------------------------


def providers(resolver: Resolver) -> dict[ResKey, list[ResKey]]:
    """Custom resource -> the functions (and state machines) that implement it: its service
    token, and whatever those name in their environment (the provider framework passes the
    user's handler that way)."""
    chains: dict[ResKey, list[ResKey]] = {}
    for stack in resolver.stage.stacks:
        for logical_id in sorted(stack.resources):
            if not is_custom(stack.type_of(logical_id)):
                continue
            token = stack.props(logical_id).get("ServiceToken")
            chain: list[ResKey] = []
            todo = resolver.refs_of(stack, token, *PROVIDER_TYPES)
            while todo:
                key = todo.pop(0)
                if key not in chain:
                    chain.append(key)
                    owner = resolver.stacks[key[0]]
                    todo += resolver.refs_of(
                        owner, resolver.props(key).get("Environment"), *PROVIDER_TYPES
                    )
            chains[(stack.key, logical_id)] = chain
    return chains


@dataclass
class Nodes:
    nodes: dict[str, Node]  # by id
    owner: dict[ResKey, str]  # resource -> id of the node standing for it
    subgraphs: dict[str, str]  # stack key -> subgraph id


def build_nodes(resolver: Resolver, ids: Ids) -> Nodes:
    stacks = sorted(resolver.stage.stacks, key=lambda stack: stack.concern.lower())
    subgraphs = {stack.key: ids.make(stack.concern) for stack in stacks}
    chains = providers(resolver)
    plumbing = {key for chain in chains.values() for key in chain}
    # A service's task definition is part of the service; so is a cluster's member instance.
    folded: dict[ResKey, ResKey] = {}
    for stack in stacks:
        for logical_id, props in stack.of_type("AWS::ECS::Service"):
            for task in resolver.refs_of(
                stack, props.get("TaskDefinition"), "AWS::ECS::TaskDefinition"
            ):
                folded.setdefault(task, (stack.key, logical_id))
        for logical_id, props in stack.of_type("AWS::RDS::DBInstance"):
            for cluster in resolver.refs_of(
                stack, props.get("DBClusterIdentifier"), "AWS::RDS::DBCluster"
            ):
                folded.setdefault((stack.key, logical_id), cluster)

    result = Nodes({}, {}, subgraphs)
    for stack in stacks:
        _stack_nodes(stack, ids, plumbing | folded.keys(), result)
    for member, into in folded.items():
        if into in result.owner:
            result.owner[member] = result.owner[into]
            result.nodes[result.owner[into]].members.append(member)
    # A custom resource's handlers act on its behalf (their network access is its access).
    for custom, chain in chains.items():
        if custom in result.owner:
            for key in chain:
                if sum(key in other for other in chains.values()) == 1:
                    result.owner.setdefault(key, result.owner[custom])
                    result.nodes[result.owner[custom]].members.append(key)
    return result


def _stack_nodes(stack: Stack, ids: Ids, skip: set[ResKey], out: Nodes) -> None:
    grouped: dict[Group, list[str]] = defaultdict(list)
    unknown: dict[str, list[str]] = defaultdict(list)
    for logical_id in sorted(stack.resources):
        resource_type, props = stack.type_of(logical_id), stack.props(logical_id)
        key = (stack.key, logical_id)
        if _matches(resource_type, HIDDEN) or key in skip or _skip(resource_type, props):
            continue
        if group := group_of(resource_type, props):
            grouped[group].append(logical_id)
        elif resource_type in SINGLE or is_custom(resource_type):
            kind, label = SINGLE.get(resource_type, (COMPUTE, _custom))
            _add(out, ids, stack, [logical_id], label(stack, logical_id, props), kind=kind)
        else:
            unknown[resource_type].append(logical_id)
    for resource_type, logical_ids in sorted(unknown.items()):
        if len(logical_ids) >= _FALLBACK_GROUP_MIN:
            words = _words(resource_type)
            lines = [f"{len(logical_ids)} {TIMES} {words}"]
            _add(out, ids, stack, logical_ids, lines, suffix=words)
        else:
            for logical_id in logical_ids:
                _add(out, ids, stack, [logical_id], [short(logical_id), _words(resource_type)])
    for group, logical_ids in sorted(grouped.items(), key=lambda item: item[0].suffix):
        count = len(logical_ids)
        title = group.title or _count(count, group.singular, group.plural)
        detail = group.detail(stack, logical_ids) if group.detail else []
        _add(out, ids, stack, logical_ids, [title, *detail], suffix=group.suffix)


def _skip(resource_type: str, props: Mapping[str, Json]) -> bool:
    if is_custom(resource_type):
        return _is_cdk_custom(resource_type)
    if resource_type == "AWS::SecretsManager::RotationSchedule":
        return not props.get("HostedRotationLambda")  # else the rotation function draws itself
    return False


def _add(
    out: Nodes,
    ids: Ids,
    stack: Stack,
    logical_ids: list[str],
    lines: list[str],
    *,
    kind: str = OTHER,
    suffix: str | None = None,
) -> None:
    node = Node(
        ids.make(stack.concern, suffix or logical_ids[0]),
        stack.key,
        [line for line in lines if line],
        kind,
        [(stack.key, logical_id) for logical_id in logical_ids],
    )
    out.nodes[node.id] = node
    for member in node.members:
        out.owner[member] = node.id
