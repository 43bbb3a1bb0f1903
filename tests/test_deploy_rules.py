"""What CloudFormation and the services check only at deploy time, checked here over every
synthesized configuration: names unique where AWS wants them unique and within each service's
length and character rules, values inside their documented ranges, quotas per resource.

Each rule cites the limit it encodes (service quotas and API references); a rule that a template
breaks would fail the deploy minutes in, or on the first day the resource is used.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from infra.config.aws import PLACEHOLDER_ACCOUNT as PLACEHOLDER
from tests.jobs import JOBS
from tests.synth import Pool, StackTemplate

CHECKED = [job.name for job in JOBS]
# CloudWatch Logs PutRetentionPolicy, retentionInDays: the values the API accepts (written out
# here, not read from infra/, so a wrong entry there fails this test).
LOG_RETENTION_DAYS: tuple[int, ...] = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400)
LOG_RETENTION_DAYS += (545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)

# (resource type, name property): (scope, pattern the whole name must match)
#   scope "region": unique per account and region; "account": per account; "global": worldwide.
NAMES: dict[tuple[str, str], tuple[str, str]] = {
    ("AWS::IAM::Role", "RoleName"): ("account", r"[\w+=,.@-]{1,64}"),
    ("AWS::IAM::ManagedPolicy", "ManagedPolicyName"): ("account", r"[\w+=,.@-]{1,128}"),
    ("AWS::S3::Bucket", "BucketName"): ("global", r"(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"),
    ("AWS::Lambda::Function", "FunctionName"): ("region", r"[a-zA-Z0-9_-]{1,64}"),
    ("AWS::SQS::Queue", "QueueName"): ("region", r"[a-zA-Z0-9_-]{1,75}(\.fifo)?"),
    ("AWS::SNS::Topic", "TopicName"): ("region", r"[a-zA-Z0-9_-]{1,256}"),
    ("AWS::Logs::LogGroup", "LogGroupName"): ("region", r"[\w/.#-]{1,512}"),
    ("AWS::CloudWatch::Alarm", "AlarmName"): ("region", r"[^\x00-\x1f]{1,255}"),
    ("AWS::CloudWatch::CompositeAlarm", "AlarmName"): ("region", r"[^\x00-\x1f]{1,255}"),
    ("AWS::CloudWatch::Dashboard", "DashboardName"): ("region", r"[A-Za-z0-9_-]{1,255}"),
    ("AWS::SecretsManager::Secret", "Name"): ("region", r"[\w/+=.@-]{1,512}"),
    ("AWS::KMS::Alias", "AliasName"): ("region", r"alias/(?!aws/)[\w/-]{1,250}"),
    ("AWS::ECS::Cluster", "ClusterName"): ("region", r"[a-zA-Z0-9_-]{1,255}"),
    ("AWS::ECR::Repository", "RepositoryName"): ("region", r"[a-z0-9]+([._/-][a-z0-9]+)*"),
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", "Name"): (
        "region",
        r"(?!internal-)[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,30}[a-zA-Z0-9])?",
    ),
    ("AWS::ElasticLoadBalancingV2::TargetGroup", "Name"): (
        "region",
        r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,30}[a-zA-Z0-9])?",
    ),
    ("AWS::RDS::DBInstance", "DBInstanceIdentifier"): (
        "region",
        r"[a-zA-Z](?!.*--)[a-zA-Z0-9-]{0,62}(?<!-)",
    ),
    ("AWS::RDS::DBCluster", "DBClusterIdentifier"): (
        "region",
        r"[a-zA-Z](?!.*--)[a-zA-Z0-9-]{0,62}(?<!-)",
    ),
    ("AWS::ElastiCache::ReplicationGroup", "ReplicationGroupId"): (
        "region",
        r"[a-z](?!.*--)[a-z0-9-]{0,39}(?<!-)",
    ),
    ("AWS::Events::Rule", "Name"): ("region", r"[\.\-_A-Za-z0-9]{1,64}"),
    ("AWS::Events::EventBus", "Name"): ("region", r"[/\.\-_A-Za-z0-9]{1,256}"),
    ("AWS::Scheduler::Schedule", "Name"): ("region", r"[0-9a-zA-Z-_.]{1,64}"),
    ("AWS::Scheduler::ScheduleGroup", "Name"): ("region", r"[0-9a-zA-Z-_.]{1,64}"),
    ("AWS::DynamoDB::GlobalTable", "TableName"): ("region", r"[a-zA-Z0-9_.-]{3,255}"),
    ("AWS::Backup::BackupVault", "BackupVaultName"): ("region", r"[a-zA-Z0-9\-\_]{2,50}"),
    ("AWS::Backup::RestoreTestingPlan", "RestoreTestingPlanName"): (
        "region",
        r"[a-zA-Z0-9_]{1,50}",
    ),
    ("AWS::CloudTrail::Trail", "TrailName"): (
        "region",
        r"[a-zA-Z0-9](?!.*[._-]{2})[\w.-]{1,126}[a-zA-Z0-9]",
    ),
    ("AWS::WAFv2::WebACL", "Name"): ("region", r"[\w-]{1,128}"),
    ("AWS::Budgets::Budget", "BudgetName"): ("account", r"[^:\\]{1,100}"),
    ("AWS::ServiceDiscovery::HttpNamespace", "Name"): ("region", r"[!-~]{1,1024}"),
}


def all_resources(pool: Pool) -> Iterator[tuple[str, StackTemplate, str, dict[str, Any]]]:
    for job in CHECKED:
        for stack in pool.result(job).stacks:
            for logical_id, resource in stack.template["Resources"].items():
                yield job, stack, logical_id, resource


def literal(value: Any) -> str | None:
    """A name CloudFormation knows before deploying (tokens are checked where they resolve)."""
    return value if isinstance(value, str) else None


@pytest.fixture(scope="module")
def everything(pool: Pool) -> list[tuple[str, StackTemplate, str, dict[str, Any]]]:
    return list(all_resources(pool))


def test_names_follow_each_services_rules(everything: list[Any]) -> None:
    broken = []
    for job, stack, logical_id, resource in everything:
        for (kind, prop), (_, pattern) in NAMES.items():
            if resource["Type"] != kind:
                continue
            name = literal(resource.get("Properties", {}).get(prop))
            if name is not None and not re.fullmatch(pattern, name):
                broken.append(f"{job} {stack.stack_name} {logical_id}: {prop} {name!r}")
    assert broken == []


def test_names_are_unique_where_aws_wants_them_unique(everything: list[Any]) -> None:
    """Two stages or stacks in one account must never claim the same name (the second deploy
    would fail with AlreadyExists, or worse, adopt nothing and collide at run time)."""
    seen: dict[tuple[Any, ...], set[str]] = defaultdict(set)
    for job, stack, _, resource in everything:
        for (kind, prop), (scope, _) in NAMES.items():
            name = literal(resource.get("Properties", {}).get(prop))
            if resource["Type"] != kind or name is None:
                continue
            # The offline placeholder account stands for an account per stage (a shared real
            # account is checked by configuration: shared_account_problems).
            account = (
                f"{stack.account}/{stack.stage}" if stack.account == PLACEHOLDER else stack.account
            )
            where = {"global": (), "account": (account,), "region": (account, stack.region)}
            seen[(job, kind, *where[scope], name.lower())].add(stack.stack_name)
    # One stack deployed two ways (`cdk deploy Dev/*` and the pipeline's copy) is one stack.
    duplicates = {key: owners for key, owners in seen.items() if len(owners) > 1}
    assert duplicates == {}


def test_secret_values_are_never_empty(everything: list[Any]) -> None:
    """CreateSecret: SecretString has a minimum length of 1."""
    empty = [
        f"{job} {stack.stack_name} {logical_id}"
        for job, stack, logical_id, resource in everything
        if resource["Type"] == "AWS::SecretsManager::Secret"
        and resource["Properties"].get("SecretString") == ""
    ]
    assert empty == []


def test_alarm_windows_fit_cloudwatch(everything: list[Any]) -> None:
    """PutMetricAlarm: Period is 10, 30 or a multiple of 60; Period x EvaluationPeriods is at
    most one day; DatapointsToAlarm is at most EvaluationPeriods."""
    broken = []
    for job, _, logical_id, resource in everything:
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        props = resource["Properties"]
        periods = props["EvaluationPeriods"]
        period = props.get("Period") or max(
            (q.get("MetricStat", {}).get("Period", 60) for q in props.get("Metrics", [])),
            default=60,
        )
        if not (period in (10, 30) or period % 60 == 0) or period * periods > 86_400:
            broken.append(f"{job} {logical_id}: {periods} x {period} s")
        if props.get("DatapointsToAlarm", periods) > periods:
            broken.append(f"{job} {logical_id}: DatapointsToAlarm > EvaluationPeriods")
    assert broken == []


def test_log_retention_is_a_value_cloudwatch_accepts(everything: list[Any]) -> None:
    bad = {
        (job, logical_id, resource["Properties"]["RetentionInDays"])
        for job, _, logical_id, resource in everything
        if resource["Type"] == "AWS::Logs::LogGroup"
        and resource["Properties"].get("RetentionInDays") not in (None, *LOG_RETENTION_DAYS)
    }
    assert bad == set()


def test_listener_rules_fit_the_load_balancer(everything: list[Any]) -> None:
    """ALB: priorities 1-50000, unique per listener; at most 5 condition values and 5 wildcards
    per rule; each path pattern at most 128 characters."""
    priorities: dict[tuple[str, str, str, str], list[int]] = defaultdict(list)
    broken = []
    for job, stack, logical_id, resource in everything:
        if resource["Type"] != "AWS::ElasticLoadBalancingV2::ListenerRule":
            continue
        props = resource["Properties"]
        listener = (job, stack.stage, stack.stack_name, json.dumps(props["ListenerArn"]))
        priorities[listener].append(props["Priority"])
        values = [
            v
            for c in props["Conditions"]
            for key in ("PathPatternConfig", "HostHeaderConfig")
            for v in c.get(key, {}).get("Values", [])
        ] + [
            v for c in props["Conditions"] for v in c.get("HttpHeaderConfig", {}).get("Values", [])
        ]
        wildcards = sum(str(v).count("*") + str(v).count("?") for v in values if isinstance(v, str))
        if len(values) > 5 or wildcards > 5 or not 1 <= props["Priority"] <= 50_000:
            broken.append(f"{job} {logical_id}: {len(values)} values, {wildcards} wildcards")
        broken += [
            f"{job} {logical_id}: {v!r}" for v in values if isinstance(v, str) and len(v) > 128
        ]
    duplicates = {k: p for k, p in priorities.items() if len(p) != len(set(p))}
    assert broken == []
    assert duplicates == {}


def test_security_groups_stay_within_the_rules_quota(everything: list[Any]) -> None:
    """60 inbound and 60 outbound rules per security group (VPC quota, default)."""
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    for job, stack, logical_id, resource in everything:
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::EC2::SecurityGroup":
            for direction in ("Ingress", "Egress"):
                key = (job, stack.stage + stack.stack_name + logical_id, direction)
                counts[key] += len(props.get(f"SecurityGroup{direction}", []))
        for direction in ("Ingress", "Egress"):
            if resource["Type"] == f"AWS::EC2::SecurityGroup{direction}":
                group = json.dumps(props["GroupId"])
                counts[(job, stack.stage + stack.stack_name + group, direction)] += 1
    assert {k: n for k, n in counts.items() if n > 60} == {}


def test_iam_policies_fit_their_size_limits(everything: list[Any]) -> None:
    """A managed policy holds at most 6,144 characters, a role's inline policies together at
    most 10,240 (whitespace not counted); grants grow them with every declared use."""
    inline: dict[tuple[str, str], int] = defaultdict(int)
    broken = []
    for job, stack, logical_id, resource in everything:
        props = resource.get("Properties", {})
        size = len(re.sub(r"\s", "", json.dumps(props.get("PolicyDocument", {}))))
        if resource["Type"] == "AWS::IAM::ManagedPolicy" and size > 6_144:
            broken.append(f"{job} {logical_id}: {size}")
        if resource["Type"] == "AWS::IAM::Policy":
            for role in props.get("Roles", []):
                inline[(job, stack.stage + stack.stack_name + json.dumps(role))] += size
    # Tokens print longer than the ARNs they become, so this errs on the safe side.
    assert broken == []
    assert {k: n for k, n in inline.items() if n > 10_240} == {}


def test_schedules_use_expressions_scheduler_accepts(everything: list[Any]) -> None:
    """EventBridge Scheduler: cron(min hour day-of-month month day-of-week year) with "?" in
    exactly one of the day fields, rate(...) or at(...)."""
    cron = re.compile(r"cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)")
    broken = []
    for job, _, logical_id, resource in everything:
        if resource["Type"] != "AWS::Scheduler::Schedule" and resource["Type"] != (
            "AWS::Backup::RestoreTestingPlan"
        ):
            continue
        expression = resource["Properties"]["ScheduleExpression"]
        match = cron.fullmatch(expression)
        if expression.startswith(("rate(", "at(")):
            continue
        if match is None or [match[3], match[5]].count("?") != 1:
            broken.append(f"{job} {logical_id}: {expression}")
    assert broken == []


def test_restore_tests_fit_aws_backup(everything: list[Any]) -> None:
    """Restore testing: validation and start windows 1-168 hours; selection names follow the
    plan's naming rule; RDS and Aurora copies are pinned to this VPC (AWS Backup would restore
    into the default VPC otherwise, and fail where it was deleted)."""
    broken = []
    for job, _, logical_id, resource in everything:
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Backup::RestoreTestingPlan" and not (
            1 <= props.get("StartWindowHours", 24) <= 168
        ):
            broken.append(f"{job} {logical_id}: StartWindowHours")
        if resource["Type"] != "AWS::Backup::RestoreTestingSelection":
            continue
        if not 1 <= props["ValidationWindowHours"] <= 168:
            broken.append(f"{job} {logical_id}: ValidationWindowHours")
        if not re.fullmatch(r"[a-zA-Z0-9_]{1,50}", props["RestoreTestingSelectionName"]):
            broken.append(f"{job} {logical_id}: {props['RestoreTestingSelectionName']}")
        if props["ProtectedResourceType"] in ("RDS", "Aurora"):
            overrides = props.get("RestoreMetadataOverrides", {})
            if {"dbSubnetGroupName", "vpcSecurityGroupIds"} - set(overrides):
                broken.append(f"{job} {logical_id}: restores into the default VPC")
    assert broken == []


def test_distributions_fit_cloudfront(everything: list[Any]) -> None:
    """25 cache behaviors per distribution, path patterns unique."""
    for job, _, logical_id, resource in everything:
        if resource["Type"] != "AWS::CloudFront::Distribution":
            continue
        behaviors = resource["Properties"]["DistributionConfig"].get("CacheBehaviors", [])
        patterns = [b["PathPattern"] for b in behaviors]
        assert len(patterns) <= 25, (job, logical_id)
        assert len(patterns) == len(set(patterns)), (job, logical_id)


def test_web_acl_rules_have_unique_priorities_and_names(everything: list[Any]) -> None:
    for job, _, logical_id, resource in everything:
        if resource["Type"] != "AWS::WAFv2::WebACL":
            continue
        rules = resource["Properties"]["Rules"]
        for key in ("Priority", "Name"):
            values = [r[key] for r in rules]
            assert len(values) == len(set(values)), (job, logical_id, key)


def test_fargate_tasks_use_a_valid_cpu_and_memory_pair(everything: list[Any]) -> None:
    """Fargate's task sizes: memory (MiB) allowed for each CPU value."""
    allowed = {
        256: {512, 1024, 2048},
        512: set(range(1024, 4097, 1024)),
        1024: set(range(2048, 8193, 1024)),
        2048: set(range(4096, 16385, 1024)),
        4096: set(range(8192, 30721, 1024)),
        8192: set(range(16384, 61441, 4096)),
        16384: set(range(32768, 122881, 8192)),
    }
    broken = []
    for job, _, logical_id, resource in everything:
        props = resource.get("Properties", {})
        if resource["Type"] != "AWS::ECS::TaskDefinition" or "FARGATE" not in props.get(
            "RequiresCompatibilities", []
        ):
            continue
        cpu, memory = int(props["Cpu"]), int(props["Memory"])
        if memory not in allowed.get(cpu, set()):
            broken.append(f"{job} {logical_id}: {cpu} CPU / {memory} MiB")
    assert broken == []


def test_a_rule_has_at_most_five_targets(everything: list[Any]) -> None:
    crowded = [
        (job, logical_id)
        for job, _, logical_id, resource in everything
        if resource["Type"] == "AWS::Events::Rule"
        and len(resource["Properties"].get("Targets", [])) > 5
    ]
    assert crowded == []


def test_resources_carry_at_most_fifty_tags(everything: list[Any]) -> None:
    crowded = [
        (job, logical_id)
        for job, _, logical_id, resource in everything
        if isinstance(resource.get("Properties", {}).get("Tags"), list)
        and len(resource["Properties"]["Tags"]) > 50
    ]
    assert crowded == []


def test_every_checked_job_synthesized(pool: Pool) -> None:
    # The wildcards canary must fail compliance (tests/test_compliance.py); nothing else may.
    failed = {job for job in CHECKED if pool.result(job).error}
    assert failed == {"wildcards"}


STACK = StackTemplate("Dev", "data", "x-dev-data", "111111111111", "ap-northeast-2", "", {})


def _broken(kind: str, **props: Any) -> list[tuple[str, StackTemplate, str, dict[str, Any]]]:
    return [("job", STACK, "Broken", {"Type": kind, "Properties": props})]


BROKEN = {
    test_names_follow_each_services_rules: _broken(
        "AWS::ElastiCache::ReplicationGroup",
        ReplicationGroupId="a" * 41,
    ),
    test_names_are_unique_where_aws_wants_them_unique: [
        (
            "job",
            replace(STACK, stack_name=name),
            "Queue",
            {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "q"}},
        )
        for name in ("x-dev-compute", "x-staging-compute")
    ],
    test_secret_values_are_never_empty: _broken("AWS::SecretsManager::Secret", SecretString=""),
    test_alarm_windows_fit_cloudwatch: _broken(
        "AWS::CloudWatch::Alarm", EvaluationPeriods=25, Period=3600
    ),
    test_log_retention_is_a_value_cloudwatch_accepts: _broken(
        "AWS::Logs::LogGroup", RetentionInDays=45
    ),
    test_listener_rules_fit_the_load_balancer: _broken(
        "AWS::ElasticLoadBalancingV2::ListenerRule",
        ListenerArn="l",
        Priority=1,
        Conditions=[{"PathPatternConfig": {"Values": ["/a", "/b", "/c", "/d", "/e", "/f"]}}],
    ),
    test_schedules_use_expressions_scheduler_accepts: _broken(
        "AWS::Scheduler::Schedule", ScheduleExpression="cron(0 8 * * MON-FRI *)"
    ),
    test_restore_tests_fit_aws_backup: _broken(
        "AWS::Backup::RestoreTestingSelection",
        ValidationWindowHours=2,
        RestoreTestingSelectionName="database",
        ProtectedResourceType="RDS",
    ),
    test_fargate_tasks_use_a_valid_cpu_and_memory_pair: _broken(
        "AWS::ECS::TaskDefinition", RequiresCompatibilities=["FARGATE"], Cpu="256", Memory="4096"
    ),
}


@pytest.mark.parametrize("rule", BROKEN, ids=lambda rule: rule.__name__)
def test_each_rule_catches_what_it_names(rule: Any) -> None:
    with pytest.raises(AssertionError):
        rule(BROKEN[rule])


def test_tasks_pulling_from_private_ecr_can_reach_its_layer_bucket(pool: Pool) -> None:
    """Fargate pulls image layers from ECR's own S3 bucket, on requests signed by ECR: an S3
    gateway endpoint policy limited to this account's principals must let that bucket through,
    or no release can start a task (ECR user guide, minimum S3 bucket permissions)."""
    checked = 0
    for job in CHECKED:
        for stack in pool.result(job).stacks:
            endpoints = [
                r["Properties"]
                for r in stack.template["Resources"].values()
                if r["Type"] == "AWS::EC2::VPCEndpoint"
                and "s3" in json.dumps(r["Properties"]["ServiceName"])
            ]
            for endpoint in endpoints:
                checked += 1
                layer = f"arn:aws:s3:::prod-{stack.region}-starport-layer-bucket/*"
                allowed = [
                    s
                    for s in endpoint["PolicyDocument"]["Statement"]
                    if s["Resource"] == layer and "Condition" not in s
                ]
                assert [
                    a
                    for s in allowed
                    for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
                ] == ["s3:GetObject"], (job, stack.stack_name)
    assert checked > 0
