"""Security and operations: KMS, secrets, CloudWatch, logs, audit services, schedules, events."""

from __future__ import annotations

from typing import Any

from tools.cost.schedule import runs_per_month
from tools.cost.template import CostLine, Ctx, Free, NotPriced, Resource, as_bool, as_number, render

_HIGH_RESOLUTION_SECONDS = 60  # alarms on periods under a minute are high resolution
_ANOMALY_METRICS = 3  # an anomaly-detection alarm bills the metric and the band's two bounds


def kms_key(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    rotation = as_bool(ctx.props(logical_id).get("EnableKeyRotation"))
    note = "each of the first two yearly rotations adds $1/month" if rotation else ""
    return [ctx.line(logical_id, "KMS keys", 1, "keys", "kms.key.month", group=True, note=note)]


def secret(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    return [
        ctx.line(
            logical_id,
            "Secrets Manager secrets",
            1,
            "secrets",
            "secretsmanager.secret.month",
            group=True,
        )
    ]


def _alarm_metrics(props: Resource) -> tuple[float, bool]:
    """How many alarm metrics an alarm bills, and whether any is high resolution."""
    metrics = props.get("Metrics")
    if isinstance(metrics, list) and metrics:
        stats = [m["MetricStat"] for m in metrics if isinstance(m, dict) and "MetricStat" in m]
        periods = [as_number(stat.get("Period"), 60) for stat in stats]
        expressions = " ".join(str(m.get("Expression", "")) for m in metrics)
        count = float(len(stats)) * (
            _ANOMALY_METRICS if "ANOMALY_DETECTION_BAND" in expressions else 1
        )
    else:
        count, periods = 1.0, [as_number(props.get("Period"), 60)]
    return count, any(period < _HIGH_RESOLUTION_SECONDS for period in periods)


def alarm(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    count, high = _alarm_metrics(ctx.props(logical_id))
    resolution = "high_resolution" if high else "standard"
    return [
        ctx.line(
            logical_id,
            f"CloudWatch alarm metrics ({resolution.replace('_', ' ')})",
            count,
            "alarm metrics",
            f"cloudwatch.alarm.{resolution}.metric_month",
            group=True,
        )
    ]


def composite_alarm(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    return [
        ctx.line(
            logical_id,
            "CloudWatch composite alarms",
            1,
            "alarms",
            "cloudwatch.alarm.composite.month",
            group=True,
        )
    ]


def dashboard(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    return [
        ctx.line(
            logical_id,
            "CloudWatch dashboards",
            1,
            "dashboards",
            "cloudwatch.dashboard.month",
            group=True,
            note="the first 3 of an account are free (not applied)",
        )
    ]


def log_group(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    props = ctx.props(logical_id)
    infrequent = props.get("LogGroupClass") == "INFREQUENT_ACCESS"
    ingest_key = "logs.ingest_infrequent.gb" if infrequent else "logs.ingest.gb"
    days = as_number(props.get("RetentionInDays"), 0)
    months = days / 30 if days else ctx.assume.number("logs_months_kept_if_never_expire")
    # What is kept at steady state: a month's ingestion times the months it is retained.
    kept = ctx.assume.number("logs_ingest_gb_per_log_group") * months
    kept *= ctx.assume.number("logs_archive_ratio")
    return [
        ctx.usage(
            logical_id,
            "CloudWatch Logs ingestion" + (" (IA)" if infrequent else ""),
            "logs_ingest_gb_per_log_group",
            "GB",
            ingest_key,
        ),
        ctx.line(
            logical_id,
            "CloudWatch Logs storage",
            kept,
            "GB-months",
            "logs.storage.gb_month",
            group=True,
            note="assumes logs_ingest_gb_per_log_group, logs_archive_ratio, retention",
        ),
    ]


def metric_filter(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    transforms = ctx.props(logical_id).get("MetricTransformations", [])
    dimensions = any(isinstance(t, dict) and t.get("Dimensions") for t in transforms)
    note = "each distinct dimension value is one more metric" if dimensions else ""
    return [
        ctx.line(
            logical_id,
            "custom metrics from metric filters",
            len(transforms),
            "metrics",
            "cloudwatch.metric.month",
            group=True,
            note=note,
        )
    ]


def guardduty_detector(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    if not as_bool(ctx.props(logical_id).get("Enable"), default=True):
        raise Free("the detector is disabled")
    return [
        ctx.usage(
            logical_id,
            "GuardDuty CloudTrail events analysed",
            "guardduty_cloudtrail_events_millions_per_month",
            "million events",
            "guardduty.cloudtrail_events.million",
            group=False,
        ),
        ctx.usage(
            logical_id,
            "GuardDuty VPC flow and DNS logs analysed",
            "guardduty_log_gb_per_month",
            "GB",
            "guardduty.flow_dns_logs.gb",
            group=False,
        ),
    ]


def config_recorder(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    mode = ctx.props(logical_id).get("RecordingMode", {}).get("RecordingFrequency", "CONTINUOUS")
    key = "config.item.periodic" if mode == "DAILY" else "config.item"
    return [
        ctx.usage(
            logical_id,
            "AWS Config configuration items recorded",
            "config_items_per_month",
            "items",
            key,
            group=False,
        )
    ]


def config_rule(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    return [
        ctx.usage(
            logical_id,
            "AWS Config rule evaluations",
            "config_evaluations_per_rule_per_month",
            "evaluations",
            "config.rule_evaluation",
        )
    ]


def security_hub(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    return [
        ctx.usage(
            logical_id,
            "Security Hub security checks",
            "securityhub_checks_per_month",
            "checks",
            "securityhub.check",
            group=False,
        )
    ]


def _logs_data_events(props: Resource) -> bool:
    selectors = props.get("EventSelectors") or []
    if any(isinstance(s, dict) and s.get("DataResources") for s in selectors):
        return True
    advanced = str(props.get("AdvancedEventSelectors") or "")
    return "Data" in advanced


def trail(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    props = ctx.props(logical_id)
    if not as_bool(props.get("IsLogging"), default=True):
        raise Free("the trail is not logging")
    lines = []
    account = ctx.stack.billing_account
    if account in ctx.run.accounts_with_trail:
        line = ctx.usage(
            logical_id,
            "CloudTrail management events (an additional copy)",
            "cloudtrail_management_events_100k_per_month",
            "100k events",
            "cloudtrail.management_copy.100k_events",
            group=False,
        )
        line.note = f"account {account} already has a trail with the free copy; " + line.note
        lines.append(line)
    ctx.run.accounts_with_trail.add(account)
    if _logs_data_events(props):
        lines.append(
            ctx.usage(
                logical_id,
                "CloudTrail data events",
                "cloudtrail_data_events_100k_per_month",
                "100k events",
                "cloudtrail.data_event.100k_events",
                group=False,
            )
        )
    if not lines:
        raise Free("the first copy of management events in an account is free")
    return lines


def scheduler_schedule(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    props = ctx.props(logical_id)
    if props.get("State") == "DISABLED":
        raise Free("the schedule is disabled")
    expression = render(props.get("ScheduleExpression"), ctx.stack)
    if not expression:
        raise NotPriced("ScheduleExpression is not a literal")
    return [
        ctx.line(
            logical_id,
            "EventBridge Scheduler invocations",
            runs_per_month(expression) / 1e6,
            "million invocations",
            "scheduler.invocation.million",
            group=True,
            note="the first 14 million a month of an account are free (not applied)",
        )
    ]


def _sources(pattern: Any) -> list[str]:
    sources = pattern.get("source", []) if isinstance(pattern, dict) else []
    return [s for s in sources if isinstance(s, str)]


def events_rule(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    props = ctx.props(logical_id)
    custom = [s for s in _sources(props.get("EventPattern")) if not s.startswith("aws.")]
    if not custom:
        raise Free("scheduled rules and AWS service events are free")
    return [
        ctx.usage(
            logical_id,
            "EventBridge custom events",
            "eventbridge_custom_events_millions_per_rule",
            "million events",
            "events.custom_event.million",
        )
    ]


def ssm_parameter(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    if ctx.props(logical_id).get("Tier") != "Advanced":
        raise Free("standard parameters are free")
    return [
        ctx.line(
            logical_id,
            "SSM advanced parameters",
            1,
            "parameters",
            "ssm.advanced_parameter.month",
            group=True,
        )
    ]
