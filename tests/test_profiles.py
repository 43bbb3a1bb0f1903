"""Each product profile is what its plan says: the figures of shared/REFERENCE.md ("Product
profiles"), checked in the synthesized templates of the profile's job, never in its configuration.

Every expected value below is written out from the plan; the comment beside it quotes the plan's
line. Prod carries the plan's figures; dev and staging are checked only where the plan names
them. Figures a profile lists under `gaps` (infra/profiles/<name>.toml) are not checked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.synth import Pool, Template, resources
from tests.templates import alarms, flows, namespaces, one, periods, ref, topic_levels

Reader = Callable[[Template], Any]

SEOUL = "ap-northeast-2"  # the common shape: "Region ap-northeast-2 (Seoul)"
GLOBAL_CONCERNS = {"edge", "edge-alarms"}  # CloudFront's WAF and alarms live in us-east-1
OPERATORS = {
    "GreaterThanThreshold": ">",
    "GreaterThanOrEqualToThreshold": ">=",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=",
}
PLATFORM_TIERS = {"rotation", "db-admin"}  # the platform's credential rotation and DB admin task


@dataclass(frozen=True)
class Figure:
    """One figure of a plan: the stack it shows in, how to read it there, the plan's value.

    `partial`: the plan names only some members of a set (they must all be there) or some keys
    of a dict (those must have the plan's values)."""

    name: str
    stage: str
    concern: str
    read: Reader
    expected: Any
    partial: bool = False
    xfail: str | None = None


def cases(figures: list[Figure]) -> list[Any]:
    return [
        pytest.param(
            figure,
            id=f"{figure.stage}-{figure.name}",
            marks=[pytest.mark.xfail(strict=True, reason=figure.xfail)] if figure.xfail else [],
        )
        for figure in figures
    ]


def check(pool: Pool, profile: str, figure: Figure) -> None:
    actual = figure.read(pool.result(profile).template(figure.stage, figure.concern))
    if figure.partial and isinstance(figure.expected, dict):
        assert {key: actual.get(key) for key in figure.expected} == figure.expected
    elif figure.partial:
        assert figure.expected <= actual, figure.expected - actual
    else:
        assert actual == figure.expected


# -- readers: network -----------------------------------------------------------------------------


def vpc_cidr(template: Template) -> str:
    return str(one(template, "AWS::EC2::VPC")["Properties"]["CidrBlock"])


def nat_gateways(template: Template) -> int:
    return len(resources(template, "AWS::EC2::NatGateway"))


def zones(template: Template) -> int:
    subnets = resources(template, "AWS::EC2::Subnet").values()
    return len({s["Properties"]["AvailabilityZone"] for s in subnets})


def subnets(template: Template) -> dict[str, set[str]]:
    """CIDRs per subnet tier (public, private, isolated), from CDK's logical ids."""
    found: dict[str, set[str]] = {}
    for logical_id, subnet in resources(template, "AWS::EC2::Subnet").items():
        match = re.match(r"Vpc(public|private|isolated)Subnet", logical_id)
        assert match, logical_id
        found.setdefault(match[1], set()).add(subnet["Properties"]["CidrBlock"])
    return found


def subnet_counts(template: Template) -> dict[str, int]:
    return {tier: len(cidrs) for tier, cidrs in subnets(template).items()}


def endpoints(kind: str) -> Reader:
    """Services with a VPC endpoint of `kind` (Gateway or Interface): "s3", "ecr.api", ..."""

    def read(template: Template) -> set[str]:
        found: set[str] = set()
        for endpoint in resources(template, "AWS::EC2::VPCEndpoint").values():
            props = endpoint["Properties"]
            if props["VpcEndpointType"] != kind:
                continue
            name = props["ServiceName"]
            if isinstance(name, dict):  # Fn::Join of "com.amazonaws.", the region, ".s3"
                name = "".join(part for part in name["Fn::Join"][1] if isinstance(part, str))
            name = re.sub(r"^[a-z]{2}-[a-z]+-\d\.", "", name.removeprefix("com.amazonaws."))
            found.add(name.lstrip("."))
        return found

    return read


def ingress(template: Template) -> set[tuple[str, str, int]]:
    return flows(template, "Ingress")


def from_internet(template: Template) -> set[tuple[str, str, int]]:
    return {flow for flow in ingress(template) if flow[0] == "0.0.0.0/0"}


def into(tier: str) -> Reader:
    """(source tier, port) of every rule into `tier`, the platform's own tiers left out."""

    def read(template: Template) -> set[tuple[str, int]]:
        return {
            (source, port)
            for source, target, port in ingress(template)
            if target == tier and source not in PLATFORM_TIERS
        }

    return read


def ports_open(template: Template) -> set[int]:
    return {port for _, _, port in ingress(template)}


# -- readers: compute -----------------------------------------------------------------------------


def task_size(service: str) -> Reader:
    """(CPU units, memory MiB) of the service's task definition."""

    def read(template: Template) -> tuple[int, int]:
        props = one(template, "AWS::ECS::TaskDefinition", f"Service{service}Task")["Properties"]
        return int(props["Cpu"]), int(props["Memory"])

    return read


def container_port(service: str) -> Reader:
    def read(template: Template) -> int:
        props = one(template, "AWS::ECS::TaskDefinition", f"Service{service}Task")["Properties"]
        (container,) = props["ContainerDefinitions"]
        return int(container["PortMappings"][0]["ContainerPort"])

    return read


def _scalable_target(template: Template, service: str) -> tuple[str, dict[str, Any]]:
    ((logical_id, target),) = [
        (lid, r["Properties"])
        for lid, r in resources(template, "AWS::ApplicationAutoScaling::ScalableTarget").items()
        if lid.startswith(f"Service{service}Service")
    ]
    return logical_id, target


def task_range(service: str) -> Reader:
    """(minimum, maximum) tasks."""

    def read(template: Template) -> tuple[int, int]:
        _, target = _scalable_target(template, service)
        return target["MinCapacity"], target["MaxCapacity"]

    return read


def cpu_scaling(service: str) -> Reader:
    """(CPU target %, scale-out cooldown s, scale-in cooldown s) of the CPU tracking policy."""

    def read(template: Template) -> tuple[int, int, int]:
        target_id, _ = _scalable_target(template, service)
        (config,) = [
            p["Properties"]["TargetTrackingScalingPolicyConfiguration"]
            for p in resources(template, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
            if p["Properties"]["ScalingTargetId"] == {"Ref": target_id}
            and p["Properties"]["TargetTrackingScalingPolicyConfiguration"][
                "PredefinedMetricSpecification"
            ]["PredefinedMetricType"]
            == "ECSServiceAverageCPUUtilization"
        ]
        return config["TargetValue"], config["ScaleOutCooldown"], config["ScaleInCooldown"]

    return read


def scaling(service: str) -> Reader:
    """(minimum tasks, maximum tasks, CPU target %)."""

    def read(template: Template) -> tuple[int, int, int]:
        low, high = task_range(service)(template)
        return low, high, cpu_scaling(service)(template)[0]

    return read


def scheduled_capacity(service: str) -> Reader:
    """{schedule: (minimum tasks, time zone)} of the service's scheduled actions."""

    def read(template: Template) -> dict[str, tuple[int, str]]:
        _, target = _scalable_target(template, service)
        return {
            action["Schedule"]: (action["ScalableTargetAction"]["MinCapacity"], action["Timezone"])
            for action in target.get("ScheduledActions", [])
        }

    return read


def deployment(service: str) -> Reader:
    """(maximum %, minimum healthy %, circuit breaker with rollback, grace period s)."""

    def read(template: Template) -> tuple[int, int, bool, int]:
        props = one(template, "AWS::ECS::Service", f"Service{service}Service")["Properties"]
        config = props["DeploymentConfiguration"]
        breaker = config["DeploymentCircuitBreaker"]
        return (
            config["MaximumPercent"],
            config["MinimumHealthyPercent"],
            breaker["Enable"] and breaker["Rollback"],
            props["HealthCheckGracePeriodSeconds"],
        )

    return read


def operator_shell(template: Template) -> set[bool]:
    """ECS Exec (Session Manager) on each service."""
    return {
        bool(s["Properties"].get("EnableExecuteCommand"))
        for s in resources(template, "AWS::ECS::Service").values()
    }


def stickiness(service: str) -> Reader:
    """The stickiness type of the service's target group, or None when off."""

    def read(template: Template) -> str | None:
        props = one(template, "AWS::ElasticLoadBalancingV2::TargetGroup", f"Service{service}")
        attributes = {a["Key"]: a["Value"] for a in props["Properties"]["TargetGroupAttributes"]}
        if attributes.get("stickiness.enabled") != "true":
            return None
        return str(attributes["stickiness.type"])

    return read


def listeners(template: Template) -> dict[str, tuple[str, int, str | None]]:
    """{load balancer type: (protocol, port, TLS policy)} of each encrypted listener."""
    balancers = resources(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    found: dict[str, tuple[str, int, str | None]] = {}
    for listener in resources(template, "AWS::ElasticLoadBalancingV2::Listener").values():
        props = listener["Properties"]
        if props["Protocol"] in ("HTTPS", "TLS"):
            balancer = balancers[props["LoadBalancerArn"]["Ref"]]["Properties"]["Type"]
            found[balancer] = (props["Protocol"], props["Port"], props.get("SslPolicy"))
    return found


def tls13(template: Template) -> dict[str, bool]:
    """Whether each encrypted listener's policy is one of ELB's TLS 1.3 policies."""
    return {
        balancer: bool(policy and policy.startswith("ELBSecurityPolicy-TLS13-"))
        for balancer, (_, _, policy) in listeners(template).items()
    }


def path_routing(template: Template) -> list[tuple[list[str], str]]:
    """(paths, service) of the ALB's listener rules, in the order the ALB evaluates them."""
    rules = sorted(
        (
            r["Properties"]
            for r in resources(template, "AWS::ElasticLoadBalancingV2::ListenerRule").values()
        ),
        key=lambda rule: rule["Priority"],
    )
    routes: list[tuple[list[str], str]] = []
    for rule in rules:
        (paths,) = [c for c in rule["Conditions"] if c["Field"] == "path-pattern"]
        (action,) = rule["Actions"]
        match = re.match(r"Service(.+?)Targets", action["TargetGroupArn"]["Ref"])
        assert match
        routes.append((paths["PathPatternConfig"]["Values"], match[1]))
    return routes


def repositories(template: Template) -> dict[str, bool]:
    """{repository name: scan on push}."""
    return {
        r["Properties"]["RepositoryName"]: r["Properties"]["ImageScanningConfiguration"][
            "ScanOnPush"
        ]
        for r in resources(template, "AWS::ECR::Repository").values()
    }


def _short(name: str) -> str:
    """A resource name without its "<project>-<stage>-" prefix."""
    return name.split("-", 2)[2]


def functions(template: Template) -> dict[str, tuple[int, int]]:
    """{function: (memory MiB, timeout s)}."""
    return {
        _short(f["Properties"]["FunctionName"]): (
            f["Properties"]["MemorySize"],
            f["Properties"]["Timeout"],
        )
        for f in resources(template, "AWS::Lambda::Function").values()
    }


def function(name: str) -> Reader:
    """(runtime, memory MiB, timeout s, in the VPC) of one function."""

    def read(template: Template) -> tuple[str, int, int, bool]:
        (props,) = [
            f["Properties"]
            for f in resources(template, "AWS::Lambda::Function").values()
            if _short(f["Properties"]["FunctionName"]) == name
        ]
        return props["Runtime"], props["MemorySize"], props["Timeout"], "VpcConfig" in props

    return read


def _function_ids(template: Template) -> dict[str, str]:
    return {
        logical_id: _short(f["Properties"]["FunctionName"])
        for logical_id, f in resources(template, "AWS::Lambda::Function").items()
    }


def queue_triggers(template: Template) -> dict[str, str]:
    """{function: the queue that feeds it}."""
    names = _function_ids(template)
    queues = resources(template, "AWS::SQS::Queue")
    return {
        names[m["Properties"]["FunctionName"]["Ref"]]: _short(
            queues[m["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]]["Properties"]["QueueName"]
        )
        for m in resources(template, "AWS::Lambda::EventSourceMapping").values()
    }


def event_rule(name: str) -> Reader:
    """(bus resource type or "default", sources, detail types, bucket) of the rule that runs
    function `name`; the bucket is the data stack's (its export's) name for it."""

    def read(template: Template) -> tuple[str, list[str], list[str], str | None]:
        names = _function_ids(template)
        (rule,) = [
            r["Properties"]
            for r in resources(template, "AWS::Events::Rule").values()
            if any(names.get(ref(t["Arn"]) or "") == name for t in r["Properties"]["Targets"])
        ]
        bus = rule.get("EventBusName")
        bucket = rule["EventPattern"].get("detail", {}).get("bucket", {}).get("name")
        exported = (
            re.match(r".*:ExportsOutputRef(\w+?)Bucket", bucket[0]["Fn::ImportValue"])
            if bucket
            else None
        )
        return (
            template["Resources"][bus["Ref"]]["Type"] if bus else "default",
            rule["EventPattern"]["source"],
            rule["EventPattern"]["detail-type"],
            exported[1] if exported else None,
        )

    return read


def schedules(template: Template) -> dict[str, tuple[str, str]]:
    """{schedule name: (expression, time zone)} of EventBridge Scheduler schedules."""
    return {
        _short(s["Properties"]["Name"]): (
            s["Properties"]["ScheduleExpression"],
            s["Properties"]["ScheduleExpressionTimezone"],
        )
        for s in resources(template, "AWS::Scheduler::Schedule").values()
    }


def database_schedule(template: Template) -> dict[str, tuple[str, str]]:
    """{RDS API action: (weekdays, HH:MM)} of the schedules that stop and start the database."""
    found: dict[str, tuple[str, str]] = {}
    for schedule in resources(template, "AWS::Scheduler::Schedule").values():
        props = schedule["Properties"]
        arn = "".join(p for p in props["Target"]["Arn"]["Fn::Join"][1] if isinstance(p, str))
        minute, hour, _, _, weekdays, _ = props["ScheduleExpression"][5:-1].split()
        found[arn.rsplit(":", 1)[1]] = (weekdays, f"{int(hour):02d}:{int(minute):02d}")
    return found


def off_hours(service: str) -> Reader:
    """{scheduled action: (schedule, time zone, whether it stops every task)}."""

    def read(template: Template) -> dict[str, tuple[str, str, bool]]:
        _, target = _scalable_target(template, service)
        return {
            a["ScheduledActionName"]: (
                a["Schedule"],
                a["Timezone"],
                a["ScalableTargetAction"]["MaxCapacity"] == 0,
            )
            for a in target.get("ScheduledActions", [])
        }

    return read


# -- readers: data --------------------------------------------------------------------------------


def database(template: Template) -> dict[str, Any]:
    props: dict[str, Any] = one(template, "AWS::RDS::DBInstance")["Properties"]
    return props


def cluster(template: Template) -> dict[str, Any]:
    props: dict[str, Any] = one(template, "AWS::RDS::DBCluster")["Properties"]
    return props


def cache(template: Template) -> dict[str, Any]:
    props: dict[str, Any] = one(template, "AWS::ElastiCache::ReplicationGroup")["Properties"]
    return props


def major(version: str, parts: int = 1) -> str:
    return ".".join(version.split(".")[:parts])


def storage(template: Template) -> tuple[str, int, int]:
    """(storage type, allocated GiB, autoscaling limit GiB)."""
    props = database(template)
    return props["StorageType"], int(props["AllocatedStorage"]), props["MaxAllocatedStorage"]


def cache_nodes(template: Template) -> int:
    props = cache(template)
    return int(props["NumNodeGroups"]) * (1 + int(props["ReplicasPerNodeGroup"]))


def db_parameters(template: Template) -> dict[str, str]:
    kinds = ("AWS::RDS::DBParameterGroup", "AWS::RDS::DBClusterParameterGroup")
    (group,) = [g for kind in kinds for g in resources(template, kind).values()]
    parameters: dict[str, str] = group["Properties"]["Parameters"]
    return parameters


def bucket(name: str) -> Reader:
    """The bucket's versioning and lifecycle: transitions as (storage class, days)."""

    def read(template: Template) -> dict[str, Any]:
        props = one(template, "AWS::S3::Bucket", f"{name}Bucket")["Properties"]
        (rule,) = [r for r in props["LifecycleConfiguration"]["Rules"] if r["Id"] == "lifecycle"]
        return {
            "versioning": props.get("VersioningConfiguration", {}).get("Status"),
            "transitions": [
                (t["StorageClass"], t["TransitionInDays"]) for t in rule.get("Transitions", [])
            ],
            "expire_days": rule.get("ExpirationInDays"),
            "noncurrent_transitions": [
                (t["StorageClass"], t["TransitionInDays"])
                for t in rule.get("NoncurrentVersionTransitions", [])
            ],
            "noncurrent_expire_days": rule.get("NoncurrentVersionExpiration", {}).get(
                "NoncurrentDays"
            ),
        }

    return read


def access_log_expiry(template: Template) -> int:
    """Days the access-log bucket (load balancer and CloudFront logs) keeps its objects."""
    props = one(template, "AWS::S3::Bucket", "AccessLogsBucket")["Properties"]
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    return int(rule["ExpirationInDays"])


def secrets(template: Template) -> set[str]:
    """The application's secrets ("<project>/<stage>/app/<NAME>")."""
    names = (
        s["Properties"].get("Name", "")
        for s in resources(template, "AWS::SecretsManager::Secret").values()
    )
    return {name.rsplit("/", 1)[1] for name in names if "/app/" in name}


def rotations(template: Template) -> set[str]:
    return {
        r["Properties"]["RotationRules"]["ScheduleExpression"]
        for r in resources(template, "AWS::SecretsManager::RotationSchedule").values()
    }


def backup_rules(template: Template) -> dict[str, tuple[int, bool]]:
    """{AWS Backup rule: (days kept, continuous backup = point-in-time recovery)}."""
    plan = one(template, "AWS::Backup::BackupPlan")["Properties"]["BackupPlan"]
    return {
        rule["RuleName"]: (rule["Lifecycle"]["DeleteAfterDays"], rule["EnableContinuousBackup"])
        for rule in plan["BackupPlanRule"]
    }


def replication_region(template: Template) -> str:
    """The region of the uploads bucket's replica, from the replica bucket's ARN."""
    props = one(template, "AWS::S3::Bucket", "UploadsBucket")["Properties"]
    (rule,) = props["ReplicationConfiguration"]["Rules"]
    destination: str = rule["Destination"]["Bucket"]
    match = re.search(r"-([a-z]{2}-[a-z]+-\d)$", destination)
    assert match, destination
    return match[1]


# -- readers: observability -----------------------------------------------------------------------


def log_retention(template: Template) -> dict[str, int]:
    """{log group name: days kept}."""
    return {
        g["Properties"]["LogGroupName"]: g["Properties"]["RetentionInDays"]
        for g in resources(template, "AWS::Logs::LogGroup").values()
    }


def retention_days(template: Template) -> set[int]:
    """The retention of every log group in the stack."""
    return set(log_retention(template).values())


def _notifies(template: Template, alarm: dict[str, Any]) -> str:
    levels = topic_levels(template)
    (level,) = {levels[action["Ref"]] for action in alarm["AlarmActions"]}
    return level


def _period(alarm: dict[str, Any]) -> int:
    (period,) = periods(alarm)
    return int(period)


def alarm(name: str) -> Reader:
    """One alarm ("<project>-<stage>-<name>"): operator, threshold, evaluation periods, period
    seconds and the alert level of the topic it notifies."""

    def read(template: Template) -> dict[str, Any]:
        (props,) = [a for alarm_name, a in alarms(template).items() if _short(alarm_name) == name]
        return {
            "op": OPERATORS[props["ComparisonOperator"]],
            "threshold": props["Threshold"],
            "periods": props["EvaluationPeriods"],
            "period": _period(props),
            "notifies": _notifies(template, props),
        }

    return read


def alarm_levels(signal: str) -> Reader:
    """{alert level notified: (operator, threshold)} of the alarms "<signal>-<Level>"."""

    def read(template: Template) -> dict[str, tuple[str, float]]:
        found: dict[str, tuple[str, float]] = {}
        for props in alarms(template).values():
            if re.fullmatch(rf"{re.escape(signal)}-(Warning|Critical)", _short(props["AlarmName"])):
                found[_notifies(template, props)] = (
                    OPERATORS[props["ComparisonOperator"]],
                    props["Threshold"],
                )
        return found

    return read


def emailed_namespaces(template: Template) -> set[str]:
    """Namespaces of the metrics whose alarms notify a topic with an e-mail subscriber."""
    emailed = {
        s["Properties"]["TopicArn"]["Ref"]
        for s in resources(template, "AWS::SNS::Subscription").values()
        if s["Properties"]["Protocol"] == "email"
    }
    return {
        namespace
        for a in alarms(template).values()
        if {action["Ref"] for action in a.get("AlarmActions", [])} & emailed
        for namespace in namespaces(a)
    }


def subscribers(level: str) -> Reader:
    """How the topic of `level` delivers: "email", "https", or "chat" (the chat notifier)."""

    def read(template: Template) -> set[str]:
        levels = topic_levels(template)
        found: set[str] = set()
        for subscription in resources(template, "AWS::SNS::Subscription").values():
            props = subscription["Properties"]
            if levels[props["TopicArn"]["Ref"]] != level:
                continue
            if props["Protocol"] == "lambda":
                target = template["Resources"][props["Endpoint"]["Fn::GetAtt"][0]]["Properties"]
                found.add("chat" if target["FunctionName"].endswith("-chat-notifier") else "lambda")
            else:
                found.add(props["Protocol"])
        return found

    return read


def _dashboard(template: Template) -> str:
    body = one(template, "AWS::CloudWatch::Dashboard")["Properties"]["DashboardBody"]
    return json.dumps(body)


def dashboard_metrics(namespace: str) -> Reader:
    """Metric names of `namespace` on the stage's dashboard."""

    def read(template: Template) -> set[str]:
        return set(re.findall(rf'{re.escape(namespace)}\\",\\"(\w+)', _dashboard(template)))

    return read


def dashboard_stats(template: Template) -> set[str]:
    return set(re.findall(r'\\"stat\\":\\"(p\d+)', _dashboard(template)))


def dashboard_panels(template: Template) -> set[str]:
    return set(re.findall(r'\\"(?:title|markdown)\\":\\"([^\\]+)', _dashboard(template)))


def budgets(template: Template) -> dict[str, float]:
    """{time unit: amount in USD}."""
    found: dict[str, float] = {}
    for resource in resources(template, "AWS::Budgets::Budget").values():
        budget = resource["Properties"]["Budget"]
        assert budget["BudgetLimit"]["Unit"] == "USD"
        found[budget["TimeUnit"]] = budget["BudgetLimit"]["Amount"]
    return found


def waf_rate_limit(template: Template) -> tuple[int, int, str]:
    """(requests, window seconds, aggregated by) of the per-IP rate rule."""
    acl = one(template, "AWS::WAFv2::WebACL")["Properties"]
    (rule,) = [r for r in acl["Rules"] if r["Name"] == "RateLimitPerIp"]
    rate = rule["Statement"]["RateBasedStatement"]
    return rate["Limit"], rate["EvaluationWindowSec"], rate["AggregateKeyType"]


def waf_managed_groups(template: Template) -> set[str]:
    acl = one(template, "AWS::WAFv2::WebACL")["Properties"]
    return {
        r["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for r in acl["Rules"]
        if "ManagedRuleGroupStatement" in r["Statement"]
    }


def cdn_hosts(template: Template) -> set[str]:
    """The first label of each CloudFront alias ("workshop" for workshop.<zone>)."""
    config = one(template, "AWS::CloudFront::Distribution")["Properties"]["DistributionConfig"]
    return {alias.split(".")[0] for alias in config["Aliases"]}


def dns(template: Template) -> dict[str, str]:
    """{host: what its A record aliases}: "cloudfront", "alb" or "nlb"; "@" is the apex."""
    records = [
        r["Properties"]
        for r in resources(template, "AWS::Route53::RecordSet").values()
        if r["Properties"]["Type"] == "A"
    ]
    apex = min((r["Name"] for r in records), key=len)
    found: dict[str, str] = {}
    for record in records:
        host = record["Name"].removesuffix(apex).rstrip(".") or "@"
        target = json.dumps(record["AliasTarget"]["DNSName"])
        if "Distribution" in target:
            found[host] = "cloudfront"
        else:
            found[host] = "nlb" if "WebSocketLoadBalancer" in target else "alb"
    return found


# -- 1. Workshop platform -------------------------------------------------------------------------

WORKSHOP = [
    # "VPC endpoints S3, ECR (api + dkr), Secrets Manager."
    Figure("s3-endpoint", "Prod", "network", endpoints("Gateway"), {"s3"}, partial=True),
    Figure(
        "interface-endpoints",
        "Prod",
        "network",
        endpoints("Interface"),
        {"ecr.api", "ecr.dkr", "secretsmanager"},
    ),
    # "front end Next.js :3000, API Express + Socket.IO :4000 on one service"
    Figure("frontend-port", "Prod", "compute", container_port("frontend"), 3000),
    Figure("api-port", "Prod", "compute", container_port("api"), 4000),
    # "front end 2 vCPU / 4 GB, 2-4 tasks"
    Figure("frontend-task-size", "Prod", "compute", task_size("frontend"), (2048, 4096)),
    Figure("frontend-tasks", "Prod", "compute", task_range("frontend"), (2, 4)),
    # "API 2 vCPU / 4 GB, 2-6 tasks"
    Figure("api-task-size", "Prod", "compute", task_size("api"), (2048, 4096)),
    Figure("api-tasks", "Prod", "compute", task_range("api"), (2, 6)),
    # "CPU target 70 %, scale-out cooldown 60 s, scale-in 300 s"
    Figure("frontend-cpu-scaling", "Prod", "compute", cpu_scaling("frontend"), (70, 60, 300)),
    Figure("api-cpu-scaling", "Prod", "compute", cpu_scaling("api"), (70, 60, 300)),
    # "ALB stickiness for Socket.IO"
    Figure("api-stickiness", "Prod", "compute", stickiness("api"), "lb_cookie"),
    # "custom domain (workshop.<zone>)"
    Figure("custom-domain", "Prod", "cdn", cdn_hosts, {"workshop"}),
    # "RDS PostgreSQL db.t3.large"
    Figure("db-engine", "Prod", "data", lambda t: database(t)["Engine"], "postgres"),
    Figure("db-class", "Prod", "data", lambda t: database(t)["DBInstanceClass"], "db.t3.large"),
    # "gp3 100 GB autoscaling to 500 GB"
    Figure("db-storage", "Prod", "data", storage, ("gp3", 100, 500)),
    # "Multi-AZ"
    Figure("db-multi-az", "Prod", "data", lambda t: database(t)["MultiAZ"], True),
    # "7-day backups"
    Figure("db-backups", "Prod", "data", lambda t: database(t)["BackupRetentionPeriod"], 7),
    # "backup window 03:00-04:00 UTC"
    Figure(
        "db-backup-window",
        "Prod",
        "data",
        lambda t: database(t)["PreferredBackupWindow"],
        "03:00-04:00",
    ),
    # "maintenance Mon 04:00-05:00 UTC"
    Figure(
        "db-maintenance-window",
        "Prod",
        "data",
        lambda t: database(t)["PreferredMaintenanceWindow"],
        "mon:04:00-mon:05:00",
    ),
    # "log exports postgresql + upgrade"
    Figure(
        "db-log-exports",
        "Prod",
        "data",
        lambda t: set(database(t)["EnableCloudwatchLogsExports"]),
        {"postgresql", "upgrade"},
    ),
    # "Redis (not Valkey) cache.t3.medium"
    Figure("cache-engine", "Prod", "data", lambda t: cache(t)["Engine"], "redis"),
    Figure(
        "cache-node-type", "Prod", "data", lambda t: cache(t)["CacheNodeType"], "cache.t3.medium"
    ),
    # "cluster mode 2 shards x 1 replica"
    Figure(
        "cache-cluster-mode",
        "Prod",
        "data",
        lambda t: (
            cache(t)["ClusterMode"],
            cache(t)["NumNodeGroups"],
            cache(t)["ReplicasPerNodeGroup"],
        ),
        ("enabled", 2, 1),
    ),
    # "WAF: 2,000 requests / 5 min per IP"
    Figure("waf-rate-limit", "Prod", "edge", waf_rate_limit, (2000, 300, "IP")),
    # "AWS managed SQLi and known-bad-inputs rule groups"
    Figure(
        "waf-managed-rules",
        "Prod",
        "edge",
        waf_managed_groups,
        {"AWSManagedRulesSQLiRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"},
        partial=True,
    ),
    # "Alarms: ECS CPU > 80 % over 2 x 60 s"
    *(
        Figure(
            f"{service}-cpu-alarm",
            "Prod",
            "observability",
            alarm(f"{service}-CPU-Usage-Warning"),
            {"op": ">", "threshold": 80, "periods": 2, "period": 60},
            partial=True,
        )
        for service in ("frontend", "api")
    ),
    # "RDS connections > 80"
    Figure(
        "db-connections-alarm",
        "Prod",
        "observability",
        alarm("db-Connection-Count-High-Warning"),
        {"op": ">", "threshold": 80},
        partial=True,
    ),
    # "ALB 5xx > 10 per 5 minutes (a count)"
    Figure(
        "alb-5xx-count-alarm",
        "Prod",
        "observability",
        alarm("alb-5xx-count-Critical"),
        {"op": ">", "threshold": 10, "periods": 1, "period": 300},
        partial=True,
    ),
    # "Dashboard: latency p50/p95/p99"
    Figure(
        "dashboard-latency",
        "Prod",
        "observability",
        dashboard_stats,
        {"p50", "p95", "p99"},
        partial=True,
    ),
    # "DB connections, Redis hit rate"
    Figure(
        "dashboard-db-and-cache",
        "Prod",
        "observability",
        dashboard_panels,
        {"Connections", "Evictions and hit rate"},
        partial=True,
    ),
    # "active sessions and AI API calls (custom application metrics), AI latency"
    Figure(
        "dashboard-app-metrics",
        "Prod",
        "observability",
        dashboard_metrics("Workshop/App"),
        {"ActiveSessions", "AiApiCalls", "AiLatency"},
    ),
    # "Alert tiers: critical -> pager (an HTTPS endpoint), warning -> chat" (info: see gaps)
    Figure(
        "critical-to-pager",
        "Prod",
        "observability",
        subscribers("critical"),
        {"https"},
        partial=True,
    ),
    Figure("warning-to-chat", "Prod", "observability", subscribers("warning"), {"chat"}),
    # "Uploads: versioned, noncurrent versions to Glacier after 30 days, expired after 90."
    Figure(
        "uploads-lifecycle",
        "Prod",
        "data",
        bucket("Uploads"),
        {
            "versioning": "Enabled",
            "noncurrent_transitions": [("GLACIER", 30)],
            "noncurrent_expire_days": 90,
        },
        partial=True,
    ),
    # "SQS queue -> Lambda for AI analysis jobs"
    Figure(
        "ai-analysis-queue", "Prod", "compute", queue_triggers, {"ai-analysis": "ai-analysis-queue"}
    ),
    # "app secrets DATABASE_URL and an AI API key injected": that they exist (a placeholder image
    # is given no secrets, so the injection itself shows only in a release's templates)
    Figure("app-secrets", "Prod", "data", secrets, {"DATABASE_URL", "AI_API_KEY"}, partial=True),
    # "Budget about $670-1,170 a month."
    Figure("budget", "Prod", "observability", budgets, {"MONTHLY": 1170}),
]


@pytest.mark.parametrize("figure", cases(WORKSHOP))
def test_workshop_is_its_plan(pool: Pool, figure: Figure) -> None:
    check(pool, "workshop", figure)


# -- 2. Fleet management --------------------------------------------------------------------------

FLEET = [
    # "2 AZs, 1 NAT gateway"
    Figure("zones", "Prod", "network", zones, 2),
    Figure("nat-gateways", "Prod", "network", nat_gateways, 1),
    # plan 2: "VPC over 2 AZs (2 public, 2 private subnets)"
    Figure("subnets", "Prod", "network", subnet_counts, {"public": 2, "private": 2}, partial=True),
    # "backend FastAPI :8000, front end React behind nginx :80"
    Figure("backend-port", "Prod", "compute", container_port("backend"), 8000),
    Figure("frontend-port", "Prod", "compute", container_port("frontend"), 80),
    # "RDS PostgreSQL 15 db.t3.medium Multi-AZ 100 GB"
    Figure(
        "db-engine",
        "Prod",
        "data",
        lambda t: (database(t)["Engine"], major(database(t)["EngineVersion"])),
        ("postgres", "15"),
    ),
    Figure("db-class", "Prod", "data", lambda t: database(t)["DBInstanceClass"], "db.t3.medium"),
    Figure("db-multi-az", "Prod", "data", lambda t: database(t)["MultiAZ"], True),
    Figure("db-storage", "Prod", "data", lambda t: int(database(t)["AllocatedStorage"]), 100),
    # "daily backups kept 7 days"
    Figure("db-backups", "Prod", "data", lambda t: database(t)["BackupRetentionPeriod"], 7),
    # "Redis 7.0 cache.t3.medium"
    Figure(
        "cache-engine",
        "Prod",
        "data",
        lambda t: (cache(t)["Engine"], cache(t)["EngineVersion"]),
        ("redis", "7.0"),
    ),
    Figure(
        "cache-node-type", "Prod", "data", lambda t: cache(t)["CacheNodeType"], "cache.t3.medium"
    ),
    # "2 nodes with automatic failover, snapshots"
    Figure(
        "cache-nodes",
        "Prod",
        "data",
        lambda t: (cache_nodes(t), cache(t)["AutomaticFailoverEnabled"]),
        (2, True),
    ),
    Figure(
        "cache-snapshots", "Prod", "data", lambda t: cache(t)["SnapshotRetentionLimit"] > 0, True
    ),
    # "ECS Fargate 2-10 tasks (backend 1 vCPU / 2 GB)"
    Figure("backend-task-size", "Prod", "compute", task_size("backend"), (1024, 2048)),
    Figure("backend-tasks", "Prod", "compute", task_range("backend"), (2, 10)),
    Figure("frontend-tasks", "Prod", "compute", task_range("frontend"), (2, 10)),
    # "ALB HTTPS with a TLS 1.3 policy"
    Figure(
        "alb-listener",
        "Prod",
        "compute",
        lambda t: listeners(t)["application"][:2],
        ("HTTPS", 443),
    ),
    Figure("alb-tls13", "Prod", "compute", tls13, {"application": True}),
    # "ECR repositories named `backend` and `frontend`"
    Figure(
        "repositories", "Prod", "compute", lambda t: set(repositories(t)), {"backend", "frontend"}
    ),
    # "S3 uploads, backups and logs, versioned"
    *(
        Figure(
            f"{name.lower()}-bucket",
            "Prod",
            "data",
            bucket(name),
            {"versioning": "Enabled"},
            partial=True,
        )
        for name in ("Uploads", "Backups", "Logs")
    ),
    # "Two alarm levels per signal: warning at CPU/memory > 85 % ... critical at CPU/memory > 95 %"
    *(
        Figure(
            f"{service}-{metric.lower()}-alarms",
            "Prod",
            "observability",
            alarm_levels(f"{service}-{metric}-Usage"),
            {"warning": (">", 85), "critical": (">", 95)},
        )
        for service in ("backend", "frontend")
        for metric in ("CPU", "Memory")
    ),
    # "response > 1 s ... response > 2 s"
    Figure(
        "response-alarms",
        "Prod",
        "observability",
        alarm_levels("alb-latency-p95"),
        {"warning": (">", 1), "critical": (">", 2)},
    ),
    # "errors > 5 % ... errors > 10 %"
    Figure(
        "error-alarms",
        "Prod",
        "observability",
        alarm_levels("alb-5xx-rate"),
        {"warning": (">", 5), "critical": (">", 10)},
    ),
    # "disk > 80 %"
    Figure(
        "disk-alarm",
        "Prod",
        "observability",
        alarm_levels("backend-Disk-Usage"),
        {"warning": (">", 80)},
    ),
    # "critical at ... task or DB connection failures"
    Figure(
        "task-failure-alarm",
        "Prod",
        "observability",
        alarm_levels("backend-tasks-missing"),
        {"critical": (">", 0)},
    ),
    Figure(
        "db-connection-failure-alarm",
        "Prod",
        "observability",
        alarm_levels("app-db-connection-errors"),
        {"critical": (">", 0)},
    ),
    # "Logs kept 30 days." (the application's, database's and WAF's log groups)
    Figure("compute-logs", "Prod", "compute", retention_days, {30}),
    Figure("data-logs", "Prod", "data", retention_days, {30}),
    Figure("waf-logs", "Prod", "edge", retention_days, {30}),
    # ... but the VPC flow logs and the logs bucket, which the profile does not set, keep a year.
    Figure(
        "flow-logs",
        "Prod",
        "network",
        retention_days,
        {30},
    ),
    Figure(
        "logs-bucket-expiry",
        "Prod",
        "data",
        lambda t: bucket("Logs")(t)["expire_days"],
        30,
    ),
    # "Rate limit 60 requests / min per IP."
    Figure("waf-rate-limit", "Prod", "edge", waf_rate_limit, (60, 60, "IP")),
    # "Budget $460 a month (optimized plan $239)."
    Figure("budget", "Prod", "observability", budgets, {"MONTHLY": 460}),
]


@pytest.mark.parametrize("figure", cases(FLEET))
def test_fleet_is_its_plan(pool: Pool, figure: Figure) -> None:
    check(pool, "fleet", figure)


# -- 3. E-commerce --------------------------------------------------------------------------------

COMMERCE = [
    # "VPC 10.0.0.0/16"
    Figure("vpc-cidr", "Prod", "network", vpc_cidr, "10.0.0.0/16"),
    # "public 10.0.1.0/24, 10.0.2.0/24; private 10.0.11.0/24, 10.0.12.0/24; database 10.0.21.0/24,
    # 10.0.22.0/24"
    Figure(
        "subnets",
        "Prod",
        "network",
        subnets,
        {
            "public": {"10.0.1.0/24", "10.0.2.0/24"},
            "private": {"10.0.11.0/24", "10.0.12.0/24"},
            "isolated": {"10.0.21.0/24", "10.0.22.0/24"},
        },
    ),
    # "2 NAT gateways"
    Figure("nat-gateways", "Prod", "network", nat_gateways, 2),
    # "ALB /api/* -> backend, /* -> front end"
    Figure(
        "alb-routing",
        "Prod",
        "compute",
        path_routing,
        [(["/api/*"], "backend"), (["/*"], "frontend")],
    ),
    # "backend NestJS :3000, front end Next.js :3001"
    Figure("backend-port", "Prod", "compute", container_port("backend"), 3000),
    Figure("frontend-port", "Prod", "compute", container_port("frontend"), 3001),
    # "2-10 tasks at 70 % CPU"
    *(
        Figure(
            f"{service}-scaling",
            "Prod",
            "compute",
            scaling(service),
            (2, 10, 70),
        )
        for service in ("backend", "frontend")
    ),
    # "Aurora MySQL 8.0 (port 3306)"
    Figure(
        "db-engine",
        "Prod",
        "data",
        lambda t: (cluster(t)["Engine"], major(cluster(t)["EngineVersion"], 2)),
        ("aurora-mysql", "8.0"),
    ),
    Figure("db-port", "Prod", "network", lambda t: {p for _, p in into("database")(t)}, {3306}),
    # "writer + 1 reader, db.t3.medium"
    Figure(
        "db-instances",
        "Prod",
        "data",
        lambda t: sorted(
            (r["Properties"]["PromotionTier"], r["Properties"]["DBInstanceClass"])
            for r in resources(t, "AWS::RDS::DBInstance").values()
        ),
        [(0, "db.t3.medium"), (2, "db.t3.medium")],  # the writer, then the reader
    ),
    # "7-day backups"
    Figure("db-backups", "Prod", "data", lambda t: cluster(t)["BackupRetentionPeriod"], 7),
    # "Redis with Multi-AZ automatic failover"
    Figure(
        "cache",
        "Prod",
        "data",
        lambda t: (
            cache(t)["Engine"],
            cache(t)["MultiAZEnabled"],
            cache(t)["AutomaticFailoverEnabled"],
        ),
        ("redis", True, True),
    ),
    # "Uploads: versioned, Standard-IA after 30 days, Glacier after 90"
    Figure(
        "uploads-lifecycle",
        "Prod",
        "data",
        bucket("Uploads"),
        {"versioning": "Enabled", "transitions": [("STANDARD_IA", 30), ("GLACIER", 90)]},
        partial=True,
    ),
    # "logs kept 90 days"
    Figure("compute-logs", "Prod", "compute", retention_days, {90}),
    Figure("data-logs", "Prod", "data", retention_days, {90}),
    # ... but the VPC flow logs and the access-log bucket, which the profile does not set, keep
    # a year.
    Figure(
        "flow-logs",
        "Prod",
        "network",
        retention_days,
        {90},
    ),
    Figure(
        "access-logs-bucket",
        "Prod",
        "data",
        access_log_expiry,
        90,
    ),
    # "ECR scan on push"
    Figure("ecr-scan-on-push", "Prod", "compute", lambda t: set(repositories(t).values()), {True}),
    # "Four functions ... image processor (..., 512 MB, 60 s); order notification (..., 256 MB,
    # 30 s); daily report (..., 1,024 MB, 300 s); hourly data sync (512 MB, 120 s)"
    Figure(
        "functions",
        "Prod",
        "compute",
        functions,
        {
            "image-processor": (512, 60),
            "order-notification": (256, 30),
            "daily-report": (1024, 300),
            "data-sync": (512, 120),
        },
        partial=True,
    ),
    # "image processor (S3 upload to the uploads bucket"
    Figure(
        "image-processor-trigger",
        "Prod",
        "compute",
        lambda t: event_rule("image-processor")(t)[1:],
        (["aws.s3"], ["Object Created"], "Uploads"),
    ),
    # "order notification (an EventBridge event on the product's own bus"
    Figure(
        "order-notification-bus",
        "Prod",
        "compute",
        lambda t: event_rule("order-notification")(t)[0],
        "AWS::Events::EventBus",
    ),
    # "daily report (schedule 00:00" and "hourly data sync", in Seoul (the product's region)
    Figure(
        "schedules",
        "Prod",
        "compute",
        schedules,
        {
            "daily-report": ("cron(0 0 * * ? *)", "Asia/Seoul"),
            "data-sync": ("rate(1 hour)", "Asia/Seoul"),
        },
    ),
    # "Dashboard, alarms on RDS, ElastiCache and Lambda, SNS e-mail"
    Figure(
        "emailed-alarms",
        "Prod",
        "observability",
        emailed_namespaces,
        {"AWS/RDS", "AWS/ElastiCache", "AWS/Lambda"},
        partial=True,
    ),
    # "dev logs kept 7 days"
    Figure("compute-logs", "Dev", "compute", retention_days, {7}),
    Figure("data-logs", "Dev", "data", retention_days, {7}),
    Figure(
        "flow-logs",
        "Dev",
        "network",
        retention_days,
        {7},
    ),
    # "Dev runs weekdays 09:00-18:00 only: ECS services AND the database stopped otherwise."
    *(
        Figure(
            f"{service}-office-hours",
            "Dev",
            "compute",
            off_hours(service),
            {
                "OffHoursStart": ("cron(0 9 ? * MON-FRI *)", "Asia/Seoul", False),
                "OffHoursStop": ("cron(0 18 ? * MON-FRI *)", "Asia/Seoul", True),
            },
        )
        for service in ("backend", "frontend")
    ),
    Figure(
        "database-stops",
        "Dev",
        "data",
        lambda t: database_schedule(t)["stopDBCluster"],
        ("MON-FRI", "18:00"),
    ),
    Figure(  # it starts ahead of the services, so it is up by 09:00
        "database-starts",
        "Dev",
        "data",
        lambda t: (
            database_schedule(t)["startDBCluster"][0],
            "08:00" <= database_schedule(t)["startDBCluster"][1] <= "09:00",
        ),
        ("MON-FRI", True),
    ),
    # "Budgets: dev $249 (after that schedule; $418 before), staging $380, prod $950."
    Figure("budget", "Dev", "observability", budgets, {"MONTHLY": 249}),
    Figure("budget", "Staging", "observability", budgets, {"MONTHLY": 380}),
    Figure("budget", "Prod", "observability", budgets, {"MONTHLY": 950}),
]


@pytest.mark.parametrize("figure", cases(COMMERCE))
def test_commerce_is_its_plan(pool: Pool, figure: Figure) -> None:
    check(pool, "commerce", figure)


# -- 4. Meeting assistant -------------------------------------------------------------------------

MEETING = [
    # "VPC 10.0.0.0/16 over 2 AZs"
    Figure("vpc-cidr", "Prod", "network", vpc_cidr, "10.0.0.0/16"),
    Figure("zones", "Prod", "network", zones, 2),
    # "private-app 10.0.11.0/24 and 10.0.12.0/24, private-data 10.0.21.0/24 and 10.0.22.0/24"
    Figure(
        "subnets",
        "Prod",
        "network",
        subnets,
        {"private": {"10.0.11.0/24", "10.0.12.0/24"}, "isolated": {"10.0.21.0/24", "10.0.22.0/24"}},
        partial=True,
    ),
    # "1 NAT gateway"
    Figure("nat-gateways", "Prod", "network", nat_gateways, 1),
    # "S3 and ECR endpoints"
    Figure("s3-endpoint", "Prod", "network", endpoints("Gateway"), {"s3"}, partial=True),
    Figure(
        "ecr-endpoints",
        "Prod",
        "network",
        endpoints("Interface"),
        {"ecr.api", "ecr.dkr"},
        partial=True,
    ),
    # plan 4: "ALB 443/80 from anywhere ... NLB 443"
    Figure(
        "internet-ingress",
        "Prod",
        "network",
        from_internet,
        {("0.0.0.0/0", "alb", 443), ("0.0.0.0/0", "alb", 80), ("0.0.0.0/0", "nlb", 443)},
    ),
    # plan 4: "-> API 3000; NLB 443 -> WS 3001"
    Figure(
        "load-balancer-targets",
        "Prod",
        "network",
        ingress,
        {("alb", "api", 3000), ("nlb", "ws", 3001)},
        partial=True,
    ),
    # plan 4: "API/WS/Lambda -> RDS 5432 and Redis 6379 only"
    Figure(
        "database-access",
        "Prod",
        "network",
        into("database"),
        {("api", 5432), ("ws", 5432), ("fn-post-meeting", 5432)},
    ),
    Figure(
        "cache-access",
        "Prod",
        "network",
        into("cache"),
        {("api", 6379), ("ws", 6379), ("fn-post-meeting", 6379)},
    ),
    # "Operator access through Session Manager (no SSH from the internet)"
    Figure("no-ssh", "Prod", "network", lambda t: 22 in ports_open(t), False),
    Figure("session-manager", "Prod", "compute", operator_shell, {True}),
    # "Route 53: apex -> CloudFront, api. -> ALB, ws. -> NLB"
    Figure("dns", "Prod", "cdn", dns, {"@": "cloudfront", "api": "alb", "ws": "nlb"}, partial=True),
    # "ws. -> NLB (TLS 443, source-IP stickiness)"
    Figure(
        "nlb-listener",
        "Prod",
        "compute",
        lambda t: listeners(t)["network"][:2],
        ("TLS", 443),
    ),
    Figure("ws-stickiness", "Prod", "compute", stickiness("ws"), "source_ip"),
    # "API :3000 behind the ALB, WebSocket server :3001 behind an NLB"
    Figure("api-port", "Prod", "compute", container_port("api"), 3000),
    Figure("ws-port", "Prod", "compute", container_port("ws"), 3001),
    # "API 0.5 vCPU / 1 GB, 2-10 tasks, CPU 70 %"
    Figure("api-task-size", "Prod", "compute", task_size("api"), (512, 1024)),
    Figure("api-tasks", "Prod", "compute", task_range("api"), (2, 10)),
    Figure("api-cpu-target", "Prod", "compute", lambda t: cpu_scaling("api")(t)[0], 70),
    # "scheduled minimum 4 tasks weekdays 09:00-18:00 (Seoul), 2 otherwise"
    Figure(
        "api-office-hours",
        "Prod",
        "compute",
        scheduled_capacity("api"),
        {
            "cron(0 9 ? * MON-FRI *)": (4, "Asia/Seoul"),
            "cron(0 18 ? * MON-FRI *)": (2, "Asia/Seoul"),
        },
    ),
    # "rolling 200 % / 100 %, circuit breaker, grace period 60 s"
    Figure("api-deployment", "Prod", "compute", deployment("api"), (200, 100, True, 60)),
    # "WS 2 tasks."
    Figure("ws-tasks", "Prod", "compute", task_range("ws"), (2, 2)),
    # "Post-meeting processor: Python 3.11 Lambda, 1 GB, 180 s, in the VPC, fed by a queue."
    Figure(
        "post-meeting", "Prod", "compute", function("post-meeting"), ("python3.11", 1024, 180, True)
    ),
    Figure(
        "post-meeting-queue",
        "Prod",
        "compute",
        queue_triggers,
        {"post-meeting": "post-meeting-queue"},
    ),
    # "RDS PostgreSQL 16"
    Figure(
        "db-engine",
        "Prod",
        "data",
        lambda t: (database(t)["Engine"], major(database(t)["EngineVersion"])),
        ("postgres", "16"),
    ),
    # "gp3 20 GB autoscaling to 100 GB"
    Figure("db-storage", "Prod", "data", storage, ("gp3", 20, 100)),
    # "Multi-AZ, 7-day backups, KMS"
    Figure(
        "db-availability",
        "Prod",
        "data",
        lambda t: (database(t)["MultiAZ"], database(t)["BackupRetentionPeriod"]),
        (True, 7),
    ),
    Figure(
        "db-kms",
        "Prod",
        "data",
        lambda t: (database(t)["StorageEncrypted"], "KmsKeyId" in database(t)),
        (True, True),
    ),
    # "Performance Insights 7 days"
    Figure(
        "db-performance-insights",
        "Prod",
        "data",
        lambda t: (
            database(t)["EnablePerformanceInsights"],
            database(t)["PerformanceInsightsRetentionPeriod"],
        ),
        (True, 7),
    ),
    # "parameter group with max_connections 100"
    Figure(
        "db-max-connections",
        "Prod",
        "data",
        db_parameters,
        {"max_connections": "100"},
        partial=True,
    ),
    # "Redis 7 replication group of 2 nodes, automatic failover"
    Figure(
        "cache-engine",
        "Prod",
        "data",
        lambda t: (cache(t)["Engine"], major(cache(t)["EngineVersion"])),
        ("redis", "7"),
    ),
    Figure(
        "cache-nodes",
        "Prod",
        "data",
        lambda t: (cache_nodes(t), cache(t)["AutomaticFailoverEnabled"]),
        (2, True),
    ),
    # "TLS + AUTH token, 5 snapshots kept"
    Figure(
        "cache-tls-and-auth",
        "Prod",
        "data",
        lambda t: (
            cache(t)["TransitEncryptionEnabled"],
            "{{resolve:secretsmanager:" in json.dumps(cache(t)["AuthToken"]),
        ),
        (True, True),
    ),
    Figure("cache-snapshots", "Prod", "data", lambda t: cache(t)["SnapshotRetentionLimit"], 5),
    # "Buckets: audio (Glacier after 30 days, deleted after 90)"
    Figure(
        "audio-lifecycle",
        "Prod",
        "data",
        bucket("Audio"),
        {"transitions": [("GLACIER", 30)], "expire_days": 90},
        partial=True,
    ),
    # "uploads (versioned, Glacier after 365 days)"
    Figure(
        "uploads-lifecycle",
        "Prod",
        "data",
        bucket("Uploads"),
        {"versioning": "Enabled", "transitions": [("GLACIER", 365)]},
        partial=True,
    ),
    # "backups (Glacier after 90 days, deleted after 365)"
    Figure(
        "backups-lifecycle",
        "Prod",
        "data",
        bucket("Backups"),
        {"transitions": [("GLACIER", 90)], "expire_days": 365},
        partial=True,
    ),
    # "Secrets: database URL, JWT secret, API keys; DB password rotated every 30 days."
    Figure(
        "app-secrets",
        "Prod",
        "data",
        secrets,
        {"DATABASE_URL", "JWT_SECRET", "AI_API_KEY"},
        partial=True,
    ),
    Figure("db-password-rotation", "Prod", "data", rotations, {"rate(30 days)"}),
    # "Logs: API/WS 30 days, Lambda 14 days"
    Figure(
        "service-and-function-logs",
        "Prod",
        "compute",
        log_retention,
        {
            "/meeting/prod/api": 30,
            "/meeting/prod/ws": 30,
            "/meeting/prod/functions/post-meeting": 14,
        },
        partial=True,
    ),
    # "RDS 7 days"
    Figure(
        "database-logs",
        "Prod",
        "data",
        lambda t: {days for name, days in log_retention(t).items() if name.startswith("/aws/rds/")},
        {7},
    ),
    # "Alarms: ALB errors > 5 %"
    Figure(
        "alb-error-alarm",
        "Prod",
        "observability",
        alarm("alb-5xx-rate-Critical"),
        {"op": ">", "threshold": 5},
        partial=True,
    ),
    # "DB CPU > 80 %"
    Figure(
        "db-cpu-alarm",
        "Prod",
        "observability",
        alarm("db-CPU-Usage-Warning"),
        {"op": ">", "threshold": 80},
        partial=True,
    ),
    # "no running tasks"
    *(
        Figure(
            f"{service}-no-tasks-alarm",
            "Prod",
            "observability",
            alarm(f"{service}-Healthy-Tasks-Critical"),
            {"op": "<", "threshold": 1},
            partial=True,
        )
        for service in ("api", "ws")
    ),
    # "AI latency > 2 s (custom metrics)" (in milliseconds, as the application publishes it)
    Figure(
        "ai-latency-alarm",
        "Prod",
        "observability",
        alarm("app-ai-latency-Warning"),
        {"op": ">", "threshold": 2000},
        partial=True,
    ),
    # plan 4: "MVP ~$216 a month"; "A daily cost budget alert."
    Figure("budgets", "Prod", "observability", lambda t: set(budgets(t)), {"MONTHLY", "DAILY"}),
    Figure("monthly-budget", "Prod", "observability", lambda t: budgets(t)["MONTHLY"], 216),
    # "DR: weekly snapshots kept 30 days, PITR"
    Figure("weekly-backups", "Prod", "data", lambda t: backup_rules(t)["Weekly"][0], 30),
    Figure(
        "point-in-time-recovery",
        "Prod",
        "data",
        lambda t: any(pitr for _, pitr in backup_rules(t).values()),
        True,
    ),
    # "uploads replicated to ap-northeast-1"
    Figure("uploads-replica", "Prod", "data", replication_region, "ap-northeast-1"),
]


@pytest.mark.parametrize("figure", cases(MEETING))
def test_meeting_is_its_plan(pool: Pool, figure: Figure) -> None:
    check(pool, "meeting", figure)


# -- regions --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "dr_region"),
    [
        ("workshop", None),
        ("fleet", None),
        ("commerce", None),
        ("meeting", "ap-northeast-1"),  # "uploads replicated to ap-northeast-1"
    ],
)
def test_prod_lives_in_seoul(pool: Pool, profile: str, dr_region: str | None) -> None:
    """The common shape: "Region ap-northeast-2 (Seoul)"; a DR copy where the plan names one."""
    prod = [stack for stack in pool.result(profile).stacks if stack.stage == "Prod"]
    regions = {s.concern: s.region for s in prod if s.concern not in GLOBAL_CONCERNS}
    assert regions.pop("dr", None) == dr_region
    assert set(regions.values()) == {SEOUL}
