"""Observability: alarms by discovery, who gets paged, audit that survives an attacker, logs,
dashboards and budgets."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import STAGES
from tests.stacks import profile_stages
from tests.synth import Pool, Synthesized, resources
from tests.templates import alarms, mentions, metric_names, one, periods, topics

CONFIGS = {cfg.construct_id: cfg for cfg in profile_stages("default")}
SERVICES = ("web", "api", "ws")
FUNCTIONS = ("credential-refresh", "job-worker", "db-bootstrap", "chat-notifier")


def expected_alarms(stage: str) -> set[str]:
    """Every alarm the default product's stage must have, written out per tier."""
    names = {"alb-5xx-rate-Critical", "alb-4xx-burst-Warning"}
    names |= {"alb-latency-p95-Warning", "alb-latency-p99-Warning"}
    for service in SERVICES:
        names |= {f"{service}-{s}-Warning" for s in ("CPU-Usage", "Memory-Usage", "logs-errors")}
        if CONFIGS[stage].sleep is None:  # a sleeping stage has no tasks at night
            names |= {
                f"{service}-{s}-Critical"
                for s in ("Healthy-Tasks", "Unhealthy-Tasks", "tasks-missing")
            }
    for function in FUNCTIONS:
        # An alert forwarder's own alarms are all critical: its warnings would go through it.
        level = "Critical" if function == "chat-notifier" else "Warning"
        names |= {
            f"{function}-{s}-{level}" for s in ("Latency-P99", "Fault-Count", "Throttled-Count")
        }
    names |= {"job-worker-queue-Queue-Message-Age-Max-Warning"}
    names |= {
        f"{dlq}-Queue-Message-Count-Max-Critical"
        for dlq in ("job-worker-queue-DLQ", "credential-refresh-dlq", "chat-notifier-dlq")
    }
    names |= {
        "db-Min-Usage-Count-Critical",
        "db-CPU-Usage-Warning",
        "db-Connection-Count-High-Warning",
    }
    names |= {"cache-cpu-Warning", "cache-memory-Warning", "cache-evictions-Warning"}
    sleep = CONFIGS[stage].sleep
    if sleep is not None and sleep.stop_database:  # the database's stop and start calls
        names |= {"sleep-schedules-dropped-Warning"}
    return {f"webplat-{stage.lower()}-{name}" for name in names}


@pytest.mark.parametrize("stage", STAGES)
def test_severity_topics_are_encrypted(platform: Synthesized, stage: str) -> None:
    template = platform.template(stage, "observability")
    found = resources(template, "AWS::SNS::Topic")
    prefix = f"webplat-{stage.lower()}-alerts-"
    assert {t["Properties"]["TopicName"] for t in found.values()} == {
        f"{prefix}{severity}" for severity in ("critical", "warning", "info")
    }
    for topic in found.values():
        key = template["Resources"][topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]]
        assert key["Type"] == "AWS::KMS::Key"
        assert key["Properties"]["EnableKeyRotation"] is True


@pytest.mark.parametrize("stage", STAGES)
def test_alarms_cover_every_tier(platform: Synthesized, stage: str) -> None:
    assert set(alarms(platform.template(stage, "observability"))) == expected_alarms(stage)


def test_every_service_function_and_queue_has_its_alarms(platform: Synthesized) -> None:
    names = set(alarms(platform.template("Prod", "observability")))
    for service in SERVICES:
        for signal in (
            "Healthy-Tasks-Critical",
            "Unhealthy-Tasks-Critical",
            "CPU-Usage-Warning",
            "Memory-Usage-Warning",
            "tasks-missing-Critical",
            "logs-errors-Warning",
        ):
            assert f"webplat-prod-{service}-{signal}" in names
    for function in FUNCTIONS:
        level = "Critical" if function == "chat-notifier" else "Warning"  # a forwarder pages
        assert f"webplat-prod-{function}-Fault-Count-{level}" in names, function
        assert f"webplat-prod-{function}-Throttled-Count-{level}" in names, function
    assert "webplat-prod-job-worker-queue-Queue-Message-Age-Max-Warning" in names
    for dead_letters in ("job-worker-queue-DLQ", "chat-notifier-dlq", "credential-refresh-dlq"):
        assert f"webplat-prod-{dead_letters}-Queue-Message-Count-Max-Critical" in names
    assert {"webplat-prod-db-CPU-Usage-Warning", "webplat-prod-cache-memory-Warning"} <= names


@pytest.mark.parametrize("stage", STAGES)
def test_thresholds_follow_the_reference_plan(platform: Synthesized, stage: str) -> None:
    configured = CONFIGS[stage].observability.alarms
    found = alarms(platform.template(stage, "observability"))
    prefix = f"webplat-{stage.lower()}-"
    checks = {
        "db-Connection-Count-High-Warning": (configured.db_connections, 80, 3),
        "api-CPU-Usage-Warning": (configured.service_cpu_percent, 80, 2),  # 2 x 60 s
        "alb-5xx-rate-Critical": (configured.alb_5xx_percent, 1, 3),
    }
    for name, (threshold, plan, evaluations) in checks.items():
        alarm = found[prefix + name]
        level = threshold.critical if name.endswith("Critical") else threshold.warning
        assert alarm["Threshold"] == level == plan, name
        assert alarm["EvaluationPeriods"] == threshold.periods == evaluations, name
        assert periods(alarm) == {threshold.period_seconds} == {60}, name


def test_healthy_hosts_missing_data_breaches(platform: Synthesized) -> None:
    found = [
        a
        for name, a in alarms(platform.template("Prod", "observability")).items()
        if "-Healthy-Tasks-" in name
    ]
    assert len(found) == len(SERVICES)
    assert {a["TreatMissingData"] for a in found} == {"breaching"}
    assert {a["ComparisonOperator"] for a in found} == {"LessThanThreshold"}


def test_a_burst_of_4xx_at_the_load_balancer_is_alarmed(platform: Synthesized) -> None:
    burst = alarms(platform.template("Prod", "observability"))["webplat-prod-alb-4xx-burst-Warning"]
    assert metric_names(burst) == {"HTTPCode_ELB_4XX_Count"}
    assert (burst["Threshold"], periods(burst)) == (500, {300})


@pytest.mark.parametrize("stage", STAGES)
def test_alarms_route_by_severity(platform: Synthesized, stage: str) -> None:
    template = platform.template(stage, "observability")
    by_severity = topics(template)
    for name, alarm in alarms(template).items():
        severity = "critical" if name.endswith("Critical") else "warning"
        assert alarm["AlarmActions"] == [{"Ref": by_severity[severity]}], name
        assert alarm["AlarmActions"] == alarm["OKActions"]  # recoveries are announced too


@pytest.mark.parametrize("stage", STAGES)
def test_composite_service_down_alarm(platform: Synthesized, stage: str) -> None:
    template = platform.template(stage, "observability")
    composite = one(template, "AWS::CloudWatch::CompositeAlarm")["Properties"]
    assert composite["AlarmName"] == f"webplat-{stage.lower()}-service-down"
    assert composite["AlarmActions"] == [{"Ref": topics(template)["critical"]}]
    rule = json.dumps(composite["AlarmRule"])
    referenced = re.findall(r'"Fn::GetAtt": \["(\w+)", "Arn"\]', rule)
    # Any critical alarm means users are affected, except an alert forwarder's (an alerting
    # problem, which pages on its own rather than declaring the service down).
    forwarder = f"webplat-{stage.lower()}-chat-notifier-"
    critical = {
        lid
        for lid, a in resources(template, "AWS::CloudWatch::Alarm").items()
        if a["Properties"]["AlarmName"].endswith("-Critical")
        and not a["Properties"]["AlarmName"].startswith(forwarder)
    }
    assert set(referenced) == critical
    assert rule.count("ALARM(") == len(critical)
    assert " OR " in rule
    assert " AND " not in rule


@pytest.mark.parametrize("stage", STAGES)
def test_chat_notifier(platform: Synthesized, stage: str) -> None:
    template = platform.template(stage, "observability")
    (function_id,) = resources(template, "AWS::Lambda::Function")
    props = template["Resources"][function_id]["Properties"]
    assert props["FunctionName"] == f"webplat-{stage.lower()}-chat-notifier"
    assert props["Runtime"] == "python3.14"
    assert props["TracingConfig"] == {"Mode": "Active"}
    dead = template["Resources"][props["DeadLetterConfig"]["TargetArn"]["Fn::GetAtt"][0]]
    assert dead["Properties"]["QueueName"] == f"webplat-{stage.lower()}-chat-notifier-dlq"
    webhook = one(template, "AWS::SecretsManager::Secret", "ChatWebhook")
    (webhook_id,) = resources(template, "AWS::SecretsManager::Secret")
    assert props["Environment"]["Variables"] == {"WEBHOOK_SECRET_ARN": {"Ref": webhook_id}}
    assert webhook["Properties"]["Name"] == f"webplat/{stage.lower()}/chat-webhook"
    by_id = {lid: severity for severity, lid in topics(template).items()}
    subscribed = sorted(
        by_id[s["Properties"]["TopicArn"]["Ref"]]
        for s in resources(template, "AWS::SNS::Subscription").values()
        if s["Properties"]["Protocol"] == "lambda"
        and mentions(s["Properties"]["Endpoint"], function_id)
    )
    chat = CONFIGS[stage].observability.alerts.chat_severities
    assert subscribed == sorted(s.value for s in chat) == ["critical", "warning"]


def test_prod_pages_someone_and_dev_need_not(platform: Synthesized) -> None:
    prod = resources(platform.template("Prod", "observability"), "AWS::SNS::Subscription")
    emails = [
        s["Properties"]["Endpoint"] for s in prod.values() if s["Properties"]["Protocol"] == "email"
    ]
    assert emails == ["oncall@example.com"]
    dev = resources(platform.template("Dev", "observability"), "AWS::SNS::Subscription")
    assert {s["Properties"]["Protocol"] for s in dev.values()} == {"lambda"}  # chat only
    edge = resources(platform.template("Prod", "edge-alarms"), "AWS::SNS::Subscription")
    assert [s["Properties"]["Endpoint"] for s in edge.values()] == ["oncall@example.com"]


def test_the_same_address_on_two_topics_is_fine(pool: Pool) -> None:
    """The workshop's prod names its pager and on-call on critical; the edge topic takes both
    critical and warning recipients, each once."""
    edge = resources(
        pool.result("workshop").template("Prod", "edge-alarms"), "AWS::SNS::Subscription"
    )
    endpoints = [s["Properties"]["Endpoint"] for s in edge.values()]
    assert len(endpoints) == len(set(endpoints)) == 2


@pytest.mark.parametrize("stage", STAGES)
def test_dashboard_panels(platform: Synthesized, stage: str) -> None:
    template = platform.template(stage, "observability")
    dashboard = one(template, "AWS::CloudWatch::Dashboard")["Properties"]
    assert dashboard["DashboardName"] == f"webplat-{stage.lower()}-overview"
    body = json.dumps(dashboard["DashboardBody"])
    titles = set(re.findall(r'\\"(?:title|markdown)\\":\\"([^\\]+)', body))
    panels = {"Latency p50 / p95 / p99 (s)", "Requests and errors", "CPU Utilization"}
    panels |= {"Memory Utilization", "Connections", "Cache CPU and memory (%)"}
    panels |= {"Evictions and hit rate", "Message Count", "Rejected VPC flows"}
    panels |= {f"{service}: ERROR lines" for service in SERVICES}
    panels |= {f"### Fargate Service **Service {service}**" for service in SERVICES}
    assert panels <= titles, panels - titles
    for stat in ("p50", "p95", "p99"):
        assert f'\\"stat\\":\\"{stat}\\"' in body


@pytest.mark.parametrize("stage", STAGES)
def test_log_metric_filters_and_saved_queries(platform: Synthesized, stage: str) -> None:
    template = platform.template(stage, "observability")
    filters = resources(template, "AWS::Logs::MetricFilter")
    errors = {
        f["Properties"]["MetricTransformations"][0]["MetricName"]: f["Properties"]
        for lid, f in filters.items()
        if lid.startswith("Errors")
    }
    assert set(errors) == {f"{service}-errors" for service in SERVICES}
    for service, props in errors.items():
        assert props["FilterPattern"] == '?"ERROR" ?"FATAL"'
        assert f"Logs{service.removesuffix('-errors')}LogGroup" in json.dumps(props["LogGroupName"])
    (rejected,) = [f for lid, f in filters.items() if lid.startswith("RejectedFlows")]
    assert 'action="REJECT"' in rejected["Properties"]["FilterPattern"]
    queries = {
        q["Properties"]["Name"]: q["Properties"]
        for q in resources(template, "AWS::Logs::QueryDefinition").values()
    }
    prefix = f"webplat/{stage.lower()}/"
    assert set(queries) == {
        prefix + q for q in ("error-rate", "latency-percentiles", "user-activity")
    }
    for query in queries.values():
        assert len(query["LogGroupNames"]) == len(SERVICES)


@pytest.mark.parametrize("stage", STAGES)
def test_audit_services_follow_the_account_switches(platform: Synthesized, stage: str) -> None:
    audit = CONFIGS[stage].observability.audit
    template = platform.template(stage, "observability")
    trail = one(template, "AWS::CloudTrail::Trail")["Properties"]
    assert audit.cloudtrail is True
    assert trail["TrailName"] == f"webplat-{stage.lower()}-trail"
    assert trail["IsMultiRegionTrail"] is True
    assert trail["EnableLogFileValidation"] is True
    assert trail["IncludeGlobalServiceEvents"] is True
    assert "AuditKey" in trail["KMSKeyId"]["Fn::GetAtt"][0]
    assert len(resources(template, "AWS::GuardDuty::Detector")) == audit.guardduty
    assert len(resources(template, "AWS::SecurityHub::Hub")) == audit.security_hub
    recorders = resources(template, "AWS::Config::ConfigurationRecorder")
    assert len(recorders) == audit.config_recorder
    rules = resources(template, "AWS::Events::Rule")
    sources = sorted(r["Properties"]["EventPattern"]["source"][0] for r in rules.values())
    expected = ["aws.cloudtrail", "aws.kms"]  # tampering with the trail or the keys
    expected += ["aws.backup"] * 3  # failed backup, copy and restore jobs
    expected += ["aws.guardduty"] * audit.guardduty + ["aws.securityhub"] * audit.security_hub
    expected += ["aws.ecs"] * CONFIGS[stage].compute.exec_enabled  # someone opened a shell
    assert sources == sorted(expected)
    for rule in rules.values():
        (target,) = rule["Properties"]["Targets"]
        shell = rule["Properties"]["EventPattern"]["source"] == ["aws.ecs"]
        level = "warning" if shell else "critical"
        assert target["Arn"] == {"Ref": topics(template)[level]}


@pytest.mark.parametrize(("stage", "enabled"), [("Dev", False), ("Staging", False), ("Prod", True)])
def test_threat_detection_is_on_in_prod(stage: str, enabled: bool) -> None:
    audit = CONFIGS[stage].observability.audit
    assert (audit.guardduty, audit.security_hub, audit.config_recorder) == (enabled,) * 3


def test_tampering_with_the_trail_or_keys_pages_critical(platform: Synthesized) -> None:
    template = platform.template("Prod", "observability")
    names = set()
    for rule in resources(template, "AWS::Events::Rule").values():
        names |= set(rule["Properties"]["EventPattern"].get("detail", {}).get("eventName", []))
    assert {"StopLogging", "DeleteTrail", "ScheduleKeyDeletion", "DisableKey"} <= names


def test_the_trail_bucket_is_object_locked_in_prod(platform: Synthesized) -> None:
    bucket = one(platform.template("Prod", "observability"), "AWS::S3::Bucket", "TrailBucket")
    props = bucket["Properties"]
    assert props["ObjectLockEnabled"] is True
    assert props["ObjectLockConfiguration"]["Rule"]["DefaultRetention"] == {
        "Days": 365,
        "Mode": "COMPLIANCE",
    }


def test_the_chat_webhook_starts_empty_not_random(platform: Synthesized) -> None:
    secret = one(
        platform.template("Prod", "observability"), "AWS::SecretsManager::Secret", "ChatWebhook"
    )
    assert secret["Properties"]["SecretString"] == '{"url": ""}'
    assert "GenerateSecretString" not in secret["Properties"]


@pytest.mark.parametrize("stage", STAGES)
def test_monthly_budget(platform: Synthesized, stage: str) -> None:
    budget_cfg = CONFIGS[stage].observability.budget
    template = platform.template(stage, "observability")
    props = one(template, "AWS::Budgets::Budget")["Properties"]
    assert props["Budget"]["BudgetLimit"] == {"Amount": budget_cfg.monthly_usd, "Unit": "USD"}
    assert props["Budget"]["TimeUnit"] == "MONTHLY"
    assert props["Budget"]["CostFilters"] == {"TagKeyValue": [f"user:Stage${stage.lower()}"]}
    notifications = {
        n["Notification"]["NotificationType"]: n for n in props["NotificationsWithSubscribers"]
    }
    assert {k: n["Notification"]["Threshold"] for k, n in notifications.items()} == {
        "ACTUAL": 80,
        "FORECASTED": 100,
    }
    for notification in notifications.values():
        assert notification["Subscribers"] == [
            {"Address": {"Ref": topics(template)["warning"]}, "SubscriptionType": "SNS"}
        ]


def test_budgets_are_the_stage_plans(platform: Synthesized) -> None:
    amounts = {
        stage: one(platform.template(stage, "observability"), "AWS::Budgets::Budget")["Properties"][
            "Budget"
        ]["BudgetLimit"]["Amount"]
        for stage in STAGES
    }
    # Staging and prod: `make cost`'s suggestion (estimate + 20 %), so they do not alert monthly.
    assert amounts == {"Dev": 300, "Staging": 860, "Prod": 1530}


def test_a_daily_budget_where_the_product_asks(pool: Pool) -> None:
    budgets = resources(
        pool.result("meeting").template("Prod", "observability"), "AWS::Budgets::Budget"
    )
    units = {
        b["Properties"]["Budget"]["TimeUnit"]: b["Properties"]["Budget"]["BudgetLimit"]["Amount"]
        for b in budgets.values()
    }
    assert units == {"MONTHLY": 216, "DAILY": 10}


@pytest.mark.parametrize("stage", STAGES)
def test_cloudfront_and_waf_alarms_live_in_us_east_1(platform: Synthesized, stage: str) -> None:
    configured = CONFIGS[stage].observability.alarms
    stack = platform.by_key[(stage, "edge-alarms")]
    assert stack.region == "us-east-1"  # CloudFront and WAF publish their metrics there only
    found = alarms(stack.template)
    prefix = f"webplat-{stage.lower()}-edge-"
    cloudfront = found[prefix + "cloudfront-Fault-Rate-Critical"]
    waf = found[prefix + "waf-Blocked-Count-Warning"]
    assert set(found) == {cloudfront["AlarmName"], waf["AlarmName"]}
    (metric,) = cloudfront["Metrics"]
    assert metric["MetricStat"]["Metric"]["Namespace"] == "AWS/CloudFront"
    assert metric["MetricStat"]["Metric"]["MetricName"] == "5xxErrorRate"
    assert cloudfront["Threshold"] == configured.cloudfront_5xx_percent.critical
    (metric,) = waf["Metrics"]
    assert metric["MetricStat"]["Metric"]["Namespace"] == "AWS/WAFV2"
    assert {"Name": "WebACL", "Value": f"webplat-{stage.lower()}-edge"} in metric["MetricStat"][
        "Metric"
    ]["Dimensions"]
    assert waf["Threshold"] == configured.waf_blocked.warning
    (topic_id,) = resources(stack.template, "AWS::SNS::Topic")
    for alarm in (cloudfront, waf):
        assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": topic_id}]
