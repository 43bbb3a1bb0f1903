"""Edges: the request path through a stage, and the references between its stacks.

The request path is read from the wiring CloudFormation itself uses: alias records, the
distribution's WebACLId and origins, listener rules and target groups, the services' target
group attachments, and (for the data tier) security-group flows on the store's port or
references in a service's environment.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tools.templates import is_custom_resource

from .assembly import READER, Json, ResKey, Resolver, Stack, dig, imports_in, literal
from .assembly import strip_hash as short
from .labels import COMPUTE, DATA, MESSAGING
from .nodes import Nodes

TRAFFIC, REFERENCE, CROSS_REGION = "traffic", "reference", "cross-region"
_STYLE_ORDER = {TRAFFIC: 0, REFERENCE: 1, CROSS_REGION: 2}

DISTRIBUTION = "AWS::CloudFront::Distribution"
WEB_ACLS = ("AWS::WAFv2::WebACL", "AWS::WAF::WebACL")
LOAD_BALANCER = "AWS::ElasticLoadBalancingV2::LoadBalancer"
LISTENER = "AWS::ElasticLoadBalancingV2::Listener"
TARGET_GROUP = "AWS::ElasticLoadBalancingV2::TargetGroup"
SECURITY_GROUP = "AWS::EC2::SecurityGroup"
FUNCTION = "AWS::Lambda::Function"
TASK_DEFINITION = "AWS::ECS::TaskDefinition"
RECORDS = ("AWS::Route53::RecordSet", "AWS::Route53::RecordSetGroup")

# Where a compute resource names its security groups, and where a data store does.
COMPUTE_GROUPS = {
    "AWS::ECS::Service": "NetworkConfiguration.AwsvpcConfiguration.SecurityGroups",
    FUNCTION: "VpcConfig.SecurityGroupIds",
    "AWS::SecretsManager::RotationSchedule": "HostedRotationLambda.VpcSecurityGroupIds",
}
STORE_GROUPS = {
    "AWS::RDS::DBInstance": "VPCSecurityGroups",
    "AWS::RDS::DBCluster": "VpcSecurityGroupIds",
    "AWS::ElastiCache::ReplicationGroup": "SecurityGroupIds",
    "AWS::ElastiCache::CacheCluster": "VpcSecurityGroupIds",
    "AWS::ElastiCache::ServerlessCache": "SecurityGroupIds",
    "AWS::MemoryDB::Cluster": "SecurityGroupIds",
    "AWS::OpenSearchService::Domain": "VPCOptions.SecurityGroupIds",
}
# Default ports by engine (first matching prefix), for stores whose template leaves Port out.
ENGINE_PORTS = (
    ("aurora-postgresql", 5432),
    ("postgres", 5432),
    ("aurora", 3306),
    ("mysql", 3306),
    ("mariadb", 3306),
    ("sqlserver", 1433),
    ("oracle", 1521),
    ("redis", 6379),
    ("valkey", 6379),
    ("memcached", 11211),
)
EFS = "AWS::EFS::FileSystem"
TYPE_PORTS = {"AWS::MemoryDB::Cluster": 6379, "AWS::OpenSearchService::Domain": 443, EFS: 2049}
_ALL_PORTS = (0, 65535)
_TCP = ("tcp", "6")
_ANY_PROTOCOL = ("-1", "all")


@dataclass
class Edge:
    src: str
    dst: str
    style: str
    labels: list[str]


class Edges:
    """Edges keyed by (source, target, style); a repeated edge only gains labels."""

    def __init__(self) -> None:
        self._labels: dict[tuple[str, str, str], list[str]] = {}

    def add(self, src: str | None, dst: str | None, style: str, labels: Iterable[str] = ()) -> None:
        if not src or not dst or src == dst:
            return
        known = self._labels.setdefault((src, dst, style), [])
        known += [label for label in labels if label and label not in known]

    def sorted(self) -> list[Edge]:
        return [
            Edge(src, dst, style, labels)
            for (src, dst, style), labels in sorted(
                self._labels.items(), key=lambda item: (_STYLE_ORDER[item[0][2]], item[0])
            )
        ]


def build_edges(resolver: Resolver, nodes: Nodes) -> list[Edge]:
    builder = _Builder(resolver, nodes)
    records = builder.records()
    origin_hosts = builder.distributions(records)
    builder.dns(records, origin_hosts)
    builder.web_acl_associations()
    builder.load_balancers()
    builder.data_paths()
    builder.event_sources()
    builder.subscriptions()
    builder.stack_references()
    return builder.edges.sorted()


class _Builder:
    def __init__(self, resolver: Resolver, nodes: Nodes) -> None:
        self.resolver = resolver
        self.nodes = nodes
        self.stacks = sorted(resolver.stage.stacks, key=lambda stack: stack.key)
        self.edges = Edges()

    def node(self, key: ResKey) -> str | None:
        return self.nodes.owner.get(key)

    def of_type(self, *types: str) -> Iterable[tuple[Stack, str, Mapping[str, Json]]]:
        for stack in self.stacks:
            for logical_id, props in stack.of_type(*types):
                yield stack, logical_id, props

    # --- entry: DNS, CloudFront, WAF ------------------------------------------------------

    def records(self) -> dict[str, tuple[str | None, set[ResKey]]]:
        """Record name -> (its DNS node, the resources its alias points at)."""
        records: dict[str, tuple[str | None, set[ResKey]]] = {}
        for stack, logical_id, props in self.of_type(*RECORDS):
            for record in props.get("RecordSets") or [props]:
                name = (literal(record.get("Name")) or "").rstrip(".").lower()
                targets = self.resolver.refs(stack, dig(record, "AliasTarget.DNSName"))
                known = records.setdefault(name, (self.node((stack.key, logical_id)), set()))
                known[1].update(targets)
        return records

    def distributions(self, records: Mapping[str, tuple[str | None, set[ResKey]]]) -> set[str]:
        """Distribution -> WAF -> origins; returns the record names used as origin hosts."""
        origin_hosts: set[str] = set()
        for stack, logical_id, props in self.of_type(DISTRIBUTION):
            distribution = self.node((stack.key, logical_id))
            config = props.get("DistributionConfig") or {}
            acls = [
                self.node(key)
                for key in self.resolver.refs_of(stack, config.get("WebACLId"), *WEB_ACLS)
            ]
            for acl in acls:
                self.edges.add(distribution, acl, TRAFFIC)
            # The brief's request path: viewers pass the ACL before any origin sees them.
            entries = [acl for acl in acls if acl] or [distribution or ""]
            patterns = _behaviours(config)
            for origin in config.get("Origins") or []:
                domain = origin.get("DomainName")
                targets = self.resolver.refs(stack, domain)
                host = (literal(domain) or "").lower()
                if not targets and host in records:
                    origin_hosts.add(host)
                    targets = records[host][1]
                labels = patterns.get(literal(origin.get("Id")) or "", [])
                for target in sorted(targets):
                    for entry in entries:
                        self.edges.add(entry, self.node(target), TRAFFIC, labels)
        return origin_hosts

    def dns(
        self, records: Mapping[str, tuple[str | None, set[ResKey]]], origin_hosts: set[str]
    ) -> None:
        for name, (dns, targets) in sorted(records.items()):
            # An origin host's record is CloudFront's way to the origin, drawn from there.
            if name in origin_hosts:
                continue
            for target in sorted(targets):
                self.edges.add(dns, self.node(target), TRAFFIC)

    def web_acl_associations(self) -> None:
        for stack, _, props in self.of_type("AWS::WAFv2::WebACLAssociation"):
            for acl in self.resolver.refs_of(stack, props.get("WebACLArn"), *WEB_ACLS):
                for target in sorted(self.resolver.refs(stack, props.get("ResourceArn"))):
                    self.edges.add(self.node(acl), self.node(target), TRAFFIC)

    # --- load balancers to their targets --------------------------------------------------

    def load_balancers(self) -> None:
        listener_lbs: dict[ResKey, list[ResKey]] = {}
        routes: list[tuple[ResKey, ResKey, str]] = []  # (load balancer, target group, label)
        for stack, logical_id, props in self.of_type(LISTENER):
            lbs = self.resolver.refs_of(stack, props.get("LoadBalancerArn"), LOAD_BALANCER)
            listener_lbs[(stack.key, logical_id)] = lbs
            for group in self._forwards(stack, props.get("DefaultActions")):
                routes += [(lb, group, "default") for lb in lbs]
        for stack, _, props in self.of_type("AWS::ElasticLoadBalancingV2::ListenerRule"):
            label = _conditions(props.get("Conditions") or [])
            for listener in self.resolver.refs_of(stack, props.get("ListenerArn"), LISTENER):
                for group in self._forwards(stack, props.get("Actions")):
                    routes += [(lb, group, label) for lb in listener_lbs.get(listener, [])]
        targets = self._group_targets()
        for lb, group, label in sorted(routes):
            for target in sorted(targets.get(group, ())):
                self.edges.add(self.node(lb), self.node(target), TRAFFIC, [label])

    def _forwards(self, stack: Stack, actions: Json) -> list[ResKey]:
        groups = []
        for action in actions or []:
            arns = [action.get("TargetGroupArn")] + [
                group.get("TargetGroupArn")
                for group in dig(action, "ForwardConfig.TargetGroups") or []
            ]
            groups += self.resolver.refs_of(stack, arns, TARGET_GROUP)
        return sorted(set(groups))

    def _group_targets(self) -> dict[ResKey, set[ResKey]]:
        targets: dict[ResKey, set[ResKey]] = defaultdict(set)
        for stack, logical_id, props in self.of_type("AWS::ECS::Service"):
            arns = [item.get("TargetGroupArn") for item in props.get("LoadBalancers") or []]
            for group in self.resolver.refs_of(stack, arns, TARGET_GROUP):
                targets[group].add((stack.key, logical_id))
        for stack, logical_id, props in self.of_type(TARGET_GROUP):
            ids = [target.get("Id") for target in props.get("Targets") or []]
            targets[(stack.key, logical_id)] |= self.resolver.refs(stack, ids)
        for stack, logical_id, props in self.of_type("AWS::AutoScaling::AutoScalingGroup"):
            for group in self.resolver.refs_of(stack, props.get("TargetGroupARNs"), TARGET_GROUP):
                targets[group].add((stack.key, logical_id))
        return targets

    # --- compute to data ------------------------------------------------------------------

    def data_paths(self) -> None:
        """Compute -> store where a security-group flow allows the store's port, and compute
        -> store or queue/topic its environment refers to."""
        flows = self._flows()
        groups: dict[str, set[ResKey]] = defaultdict(set)
        uses: dict[str, set[ResKey]] = defaultdict(set)
        stores: dict[str, tuple[set[ResKey], int | None]] = {}
        for key, node_id in sorted(self.nodes.owner.items()):
            stack, kind = self.resolver.stacks[key[0]], self.nodes.nodes[node_id].kind
            resource_type, props = stack.type_of(key[1]), stack.props(key[1])
            if kind == COMPUTE:
                path = COMPUTE_GROUPS.get(resource_type, "")
                groups[node_id].update(
                    self.resolver.refs_of(stack, dig(props, path), SECURITY_GROUP)
                )
                uses[node_id] |= self.resolver.refs(stack, _environment(resource_type, props))
            elif kind == DATA and resource_type in STORE_GROUPS:
                found = self.resolver.refs_of(
                    stack, dig(props, STORE_GROUPS[resource_type]), SECURITY_GROUP
                )
                stores[node_id] = (set(found), _port(resource_type, props))
        for stack, _, props in self.of_type("AWS::EFS::MountTarget"):
            for system in self.resolver.refs(stack, props.get("FileSystemId")):
                if system_node := self.node(system):
                    found = self.resolver.refs_of(
                        stack, props.get("SecurityGroups"), SECURITY_GROUP
                    )
                    stores.setdefault(system_node, (set(), TYPE_PORTS[EFS]))[0].update(found)
        for compute, own in sorted(groups.items()):
            for store, (theirs, port) in sorted(stores.items()):
                if any(
                    src in own and dst in theirs and (port is None or low <= port <= high)
                    for src, dst, low, high in flows
                ):
                    self.edges.add(compute, store, TRAFFIC, [str(port)] if port else [])
        for compute, keys in sorted(uses.items()):
            for key in sorted(keys):
                target = self.node(key)
                if target and self.nodes.nodes[target].kind in (DATA, MESSAGING):
                    self.edges.add(compute, target, TRAFFIC)

    def _flows(self) -> list[tuple[ResKey, ResKey, int, int]]:
        """(source group, destination group, from port, to port) of every TCP rule, whether
        a rule resource or inline in its group."""
        rules: list[tuple[Stack, Json, Json, Mapping[str, Json]]] = []  # (stack, src, dst, rule)
        for stack, _, rule in self.of_type("AWS::EC2::SecurityGroupIngress"):
            rules.append((stack, rule.get("SourceSecurityGroupId"), rule.get("GroupId"), rule))
        for stack, _, rule in self.of_type("AWS::EC2::SecurityGroupEgress"):
            rules.append((stack, rule.get("GroupId"), rule.get("DestinationSecurityGroupId"), rule))
        for stack, logical_id, props in self.of_type(SECURITY_GROUP):
            own = {"Ref": logical_id}
            for rule in props.get("SecurityGroupIngress") or []:
                rules.append((stack, rule.get("SourceSecurityGroupId"), own, rule))
            for rule in props.get("SecurityGroupEgress") or []:
                rules.append((stack, own, rule.get("DestinationSecurityGroupId"), rule))
        flows = []
        for stack, source, destination, rule in rules:
            low, high = _ports(rule)
            if low < 0:
                continue
            for src in self.resolver.refs_of(stack, source, SECURITY_GROUP):
                for dst in self.resolver.refs_of(stack, destination, SECURITY_GROUP):
                    flows.append((src, dst, low, high))
        return flows

    def event_sources(self) -> None:
        for stack, _, props in self.of_type("AWS::Lambda::EventSourceMapping"):
            for function in self.resolver.refs_of(stack, props.get("FunctionName"), FUNCTION):
                for source in sorted(self.resolver.refs(stack, props.get("EventSourceArn"))):
                    self.edges.add(self.node(source), self.node(function), TRAFFIC)

    def subscriptions(self) -> None:
        for stack, _, props in self.of_type("AWS::SNS::Subscription"):
            for topic in sorted(self.resolver.refs(stack, props.get("TopicArn"))):
                for endpoint in sorted(self.resolver.refs(stack, props.get("Endpoint"))):
                    self.edges.add(self.node(topic), self.node(endpoint), REFERENCE)

    # --- stack to stack -------------------------------------------------------------------

    def stack_references(self) -> None:
        """One edge per producer -> consumer pair: exports imported, and cross-region values
        a writer put into SSM for a reader."""
        imported: dict[tuple[str, str], set[ResKey]] = defaultdict(set)
        crossed: dict[tuple[str, str], set[ResKey]] = defaultdict(set)
        for consumer in self.stacks:
            template = [consumer.template.get("Resources"), consumer.template.get("Outputs")]
            for name in imports_in(template):
                if name in self.resolver.exports:
                    producer, value = self.resolver.exports[name]
                    imported[(producer.key, consumer.key)] |= self.resolver.refs(producer, value)
            for _, props in consumer.of_type(READER):
                for param in sorted(dig(props, "ReaderProps.imports") or {}):
                    if param in self.resolver.ssm_exports:
                        producer, value = self.resolver.ssm_exports[param]
                        crossed[(producer.key, consumer.key)] |= self.resolver.refs(producer, value)
        subgraph = self.nodes.subgraphs
        for style, pairs in ((REFERENCE, imported), (CROSS_REGION, crossed)):
            for (source, target), keys in sorted(pairs.items()):
                self.edges.add(subgraph[source], subgraph[target], style, self._names(keys))

    def _names(self, keys: Iterable[ResKey]) -> list[str]:
        """Exported resources' names, those drawn as nodes first."""
        ordered = sorted(keys, key=lambda key: (key not in self.nodes.owner, short(key[1]), key))
        return list(dict.fromkeys(short(logical_id) for _, logical_id in ordered))


def _behaviours(config: Mapping[str, Json]) -> dict[str, list[str]]:
    """Origin id -> the path patterns routed to it ("default" for the default behaviour)."""
    patterns: dict[str, list[str]] = defaultdict(list)
    default = literal(dig(config, "DefaultCacheBehavior.TargetOriginId"))
    if default:
        patterns[default].append("default")
    for behaviour in config.get("CacheBehaviors") or []:
        origin, pattern = (
            literal(behaviour.get("TargetOriginId")),
            literal(behaviour.get("PathPattern")),
        )
        if origin and pattern:
            patterns[origin].append(pattern)
    return patterns


def _conditions(conditions: list[Json]) -> str:
    """A listener rule's path and host conditions, as text for its edge."""
    configs = {"path-pattern": "PathPatternConfig", "host-header": "HostHeaderConfig"}
    values: list[str] = []
    for condition in conditions:
        field = condition.get("Field")
        if field in configs:
            given = dig(condition, f"{configs[field]}.Values") or condition.get("Values") or []
            values += [text for value in given if (text := literal(value))]
    return " ".join(values) or "rule"


def _environment(resource_type: str, props: Mapping[str, Json]) -> Json:
    """The part of a compute resource that names what it talks to."""
    if resource_type == TASK_DEFINITION:
        return [
            [container.get(name) for name in ("Environment", "Secrets", "EnvironmentFiles")]
            for container in props.get("ContainerDefinitions") or []
        ]
    if resource_type == FUNCTION:
        return props.get("Environment")
    if is_custom_resource(resource_type):
        return {name: value for name, value in props.items() if name != "ServiceToken"}
    return None


def _port(resource_type: str, props: Mapping[str, Json]) -> int | None:
    explicit = _int(props.get("Port"))
    if explicit is not None:
        return explicit
    engine = (literal(props.get("Engine")) or "").lower()
    for prefix, port in ENGINE_PORTS:
        if engine.startswith(prefix):
            return port
    return TYPE_PORTS.get(resource_type)


def _ports(rule: Mapping[str, Json]) -> tuple[int, int]:
    """(from, to) of a TCP or all-traffic rule; (-1, -1) for any other protocol."""
    protocol = (literal(rule.get("IpProtocol")) or "").lower()
    if protocol in _ANY_PROTOCOL:
        return _ALL_PORTS
    low, high = _int(rule.get("FromPort")), _int(rule.get("ToPort"))
    if protocol not in _TCP or low is None or high is None:
        return (-1, -1)
    return (low, high)


def _int(value: Json) -> int | None:
    text = literal(value)
    return int(text) if text and text.lstrip("-").isdigit() else None
