"""Which resources become nodes, and which are counted or left out (labels are in `labels`).

Everything is decided from resource types and properties, so another product's stacks draw
without changes here: a type this module does not know still appears under a generic label.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from tools.templates import is_custom_resource

from .assembly import READER, WRITER, Json, ResKey, Resolver, Stack, dig, literal
from .assembly import strip_hash as short
from .labels import COMPUTE, OTHER, SINGLE, TIMES, count, custom

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
PROVIDER_TYPES = ("AWS::Lambda::Function", "AWS::StepFunctions::StateMachine")


def _matches(resource_type: str, patterns: Iterable[str]) -> bool:
    return any(
        resource_type.startswith(pattern) if pattern.endswith("::") else resource_type == pattern
        for pattern in patterns
    )


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
            if not is_custom_resource(stack.type_of(logical_id)):
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
    for custom_key, chain in chains.items():
        if custom_key in result.owner:
            for key in chain:
                if sum(key in other for other in chains.values()) == 1:
                    result.owner.setdefault(key, result.owner[custom_key])
                    result.nodes[result.owner[custom_key]].members.append(key)
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
        elif resource_type in SINGLE or is_custom_resource(resource_type):
            kind, label = SINGLE.get(resource_type, (COMPUTE, custom))
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
        title = group.title or count(len(logical_ids), group.singular, group.plural)
        detail = group.detail(stack, logical_ids) if group.detail else []
        _add(out, ids, stack, logical_ids, [title, *detail], suffix=group.suffix)


def _words(resource_type: str) -> str:
    """ "AWS::Kinesis::Stream" -> "Kinesis Stream"."""
    return " ".join(resource_type.split("::")[1:]) or resource_type


def _skip(resource_type: str, props: Mapping[str, Json]) -> bool:
    if is_custom_resource(resource_type):
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
