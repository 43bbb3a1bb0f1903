"""Observability guarantees per stage: topics, alarms, dashboard, logs, audit and budget."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.config import default_stages
from tests.conftest import STAGES
from tests.synth import Synthesized, Template, resources

CONFIGS = {cfg.construct_id: cfg for cfg in default_stages().values()}


def observability(platform: Synthesized, stage: str) -> Template:
    return platform.template(stage, "observability")


def alarms(template: Template) -> dict[str, dict[str, Any]]:
    return {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
    }


def topic_of(alarm: dict[str, Any]) -> str:
    (action,) = alarm["AlarmActions"]
    return str(action["Ref"])


@pytest.mark.parametrize("stage", STAGES)
def test_severity_topics_are_encrypted(platform: Synthesized, stage: str) -> None:
    topics = resources(observability(platform, stage), "AWS::SNS::Topic")
    names = {t["Properties"]["TopicName"] for t in topics.values()}
    prefix = f"webplat-{stage.lower()}-alerts-"
    assert names == {f"{prefix}{s}" for s in ("critical", "warning", "info")}
    for topic in topics.values():
        assert "KmsMasterKeyId" in topic["Properties"]


@pytest.mark.parametrize("stage", STAGES)
def test_alarms_cover_every_tier_and_route_by_severity(platform: Synthesized, stage: str) -> None:
    template = observability(platform, stage)
    found = alarms(template)
    prefix = f"webplat-{stage.lower()}-"
    critical = {"alb-5xx-rate", "db-free-storage", "jobs-dead-letters"} | {
        f"{s}-{kind}"
        for s in ("web", "api", "ws")
        for kind in ("unhealthy-hosts", "tasks-below-desired")
    }
    tiers = ["latency-p95", "latency-p99", "db-cpu", "db-connections", "cache-cpu"]
    tiers += ["cache-memory", "cache-evictions", "jobs-oldest-message", "worker-errors"]
    warning = {*tiers, "worker-throttles"} | {
        f"{s}-{kind}" for s in ("web", "api", "ws") for kind in ("cpu", "memory", "error-logs")
    }
    assert set(found) == {prefix + name for name in critical | warning}
    topics = {
        lid: t["Properties"]["TopicName"].rsplit("-", 1)[-1]
        for lid, t in resources(template, "AWS::SNS::Topic").items()
    }
    for name in critical:
        assert topics[topic_of(found[prefix + name])] == "critical", name
    for name in warning:
        assert topics[topic_of(found[prefix + name])] == "warning", name
    assert found[prefix + "db-connections"]["Threshold"] == 80  # reference plan 1
    assert found[prefix + "api-cpu"]["Threshold"] == 80
    assert found[prefix + "api-cpu"]["EvaluationPeriods"] == 2  # 2 x 60 s


@pytest.mark.parametrize("stage", STAGES)
def test_composite_service_down_alarm(platform: Synthesized, stage: str) -> None:
    (composite,) = resources(
        observability(platform, stage), "AWS::CloudWatch::CompositeAlarm"
    ).values()
    rule = json.dumps(composite["Properties"]["AlarmRule"])
    assert "alb-5xx-rate" in rule or "Alarmalb5xxrate" in rule
    assert rule.count("ALARM(") == 7  # 5xx rate + 3 x unhealthy hosts + 3 x missing tasks


@pytest.mark.parametrize("stage", STAGES)
def test_chat_notifier(platform: Synthesized, stage: str) -> None:
    template = observability(platform, stage)
    (function,) = resources(template, "AWS::Lambda::Function").values()
    props = function["Properties"]
    assert props["Runtime"] == "python3.14"
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert "DeadLetterConfig" in props
    assert "WEBHOOK_SECRET_ARN" in props["Environment"]["Variables"]
    endpoints = [
        s["Properties"]["TopicArn"]["Ref"]
        for s in resources(template, "AWS::SNS::Subscription").values()
    ]
    topics = {
        lid: t["Properties"]["TopicName"]
        for lid, t in resources(template, "AWS::SNS::Topic").items()
    }
    assert sorted(topics[e].rsplit("-", 1)[-1] for e in endpoints) == ["critical", "warning"]


@pytest.mark.parametrize("stage", STAGES)
def test_dashboard_panels(platform: Synthesized, stage: str) -> None:
    (dashboard,) = resources(observability(platform, stage), "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    panels = ["Latency p50 / p95 / p99", "Requests and 5xx", "ECS CPU / memory per service"]
    panels += ["Database connections", "Cache hit rate", "Job queue depth", "Worker health"]
    for panel in panels:
        assert panel in body, panel
    for stat in ("p50", "p95", "p99"):
        assert f'\\"stat\\":\\"{stat}\\"' in body


@pytest.mark.parametrize("stage", STAGES)
def test_log_metric_filters_and_saved_queries(platform: Synthesized, stage: str) -> None:
    template = observability(platform, stage)
    filters = [
        f
        for lid, f in resources(template, "AWS::Logs::MetricFilter").items()
        if lid.startswith("Errors")
    ]
    assert len(filters) == 3
    queries = {
        q["Properties"]["Name"].rsplit("/", 1)[-1]
        for q in resources(template, "AWS::Logs::QueryDefinition").values()
    }
    assert queries == {"error-rate", "latency-percentiles", "user-activity"}


@pytest.mark.parametrize("stage", STAGES)
def test_audit_services_follow_the_account_switches(platform: Synthesized, stage: str) -> None:
    template, audit = observability(platform, stage), CONFIGS[stage].observability.audit
    (trail,) = resources(template, "AWS::CloudTrail::Trail").values()
    props = trail["Properties"]
    assert props["IsMultiRegionTrail"] is True
    assert props["EnableLogFileValidation"] is True
    assert "KMSKeyId" in props
    assert bool(resources(template, "AWS::GuardDuty::Detector")) is audit.guardduty
    assert bool(resources(template, "AWS::SecurityHub::Hub")) is audit.security_hub
    assert bool(resources(template, "AWS::Config::ConfigurationRecorder")) is audit.config_recorder
    rules = resources(template, "AWS::Events::Rule").values()
    assert len(rules) == audit.guardduty + audit.security_hub
    for rule in rules:
        (target,) = rule["Properties"]["Targets"]
        assert "CriticalTopic" in json.dumps(target["Arn"])


@pytest.mark.parametrize("stage", STAGES)
def test_monthly_budget(platform: Synthesized, stage: str) -> None:
    (budget,) = resources(observability(platform, stage), "AWS::Budgets::Budget").values()
    props = budget["Properties"]
    assert (
        props["Budget"]["BudgetLimit"]["Amount"] == CONFIGS[stage].observability.monthly_budget_usd
    )
    assert props["Budget"]["TimeUnit"] == "MONTHLY"
    kinds = {n["Notification"]["NotificationType"] for n in props["NotificationsWithSubscribers"]}
    assert kinds == {"ACTUAL", "FORECASTED"}


@pytest.mark.parametrize("stage", STAGES)
def test_cloudfront_and_waf_alarms_live_in_us_east_1(platform: Synthesized, stage: str) -> None:
    stack = platform.by_key[(stage, "edge-alarms")]
    assert stack.region == "us-east-1"
    found = alarms(stack.template)
    prefix = f"webplat-{stage.lower()}-"
    assert set(found) == {prefix + "cloudfront-5xx-rate", prefix + "waf-blocked-spike"}
    assert found[prefix + "cloudfront-5xx-rate"]["Namespace"] == "AWS/CloudFront"
