"""Observability: who is alerted, on which per-signal thresholds, audit, logs and budgets."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from infra.config import aws
from infra.config.base import Model
from infra.config.functions import Severity
from infra.config.network import retention_problem

_NAMESPACE = re.compile(r"^[A-Za-z0-9._/#:-]{1,255}$")
_STATISTIC = re.compile(r"^(Average|Sum|Minimum|Maximum|SampleCount|p\d{1,2}(\.\d+)?)$")
PERIODS = (10, 30, *range(60, 86401, 60))
TRAIL_RETENTION_MIN = 90


class Comparison(StrEnum):
    ABOVE = "above"
    BELOW = "below"


class Threshold(Model):
    """One signal's alarm: a warning level, a critical level, or both (None: no alarm)."""

    warning: float | None = None
    critical: float | None = None
    periods: int = 2
    """Consecutive breaching periods before the alarm fires."""
    period_seconds: int = 60

    def levels(self) -> list[tuple[Severity, float]]:
        return [
            (severity, value)
            for severity, value in (
                (Severity.WARNING, self.warning),
                (Severity.CRITICAL, self.critical),
            )
            if value is not None
        ]

    def problems(self) -> list[str]:
        problems = []
        if self.periods < 1:
            problems.append(f"periods: {self.periods} must be >= 1")
        if self.period_seconds not in PERIODS:
            problems.append(
                f"period_seconds: {self.period_seconds}; CloudWatch periods are 10, 30 or a "
                "multiple of 60"
            )
        return problems


def _t(**kwargs: float) -> Threshold:
    return Threshold.model_validate(kwargs)


class Alarms(Model):
    """Thresholds per signal; defaults follow the reference plans (shared/REFERENCE.md)."""

    service_cpu_percent: Threshold = _t(warning=80)
    service_memory_percent: Threshold = _t(warning=80)
    service_storage_percent: Threshold = Threshold()
    """Ephemeral storage used by a service's tasks (Container Insights)."""
    service_tasks_missing: Threshold = _t(critical=0, periods=5)
    """Desired minus running tasks: any gap for 5 minutes is critical."""
    healthy_hosts_min: Threshold = _t(critical=1, periods=2)
    """Fewer healthy targets than this (missing data counts as breaching)."""
    unhealthy_hosts: Threshold = _t(critical=0, periods=3)
    alb_5xx_percent: Threshold = _t(critical=1.0, periods=3)
    alb_5xx_count: Threshold = Threshold()
    """5xx responses per period (a count), e.g. critical=10 over period_seconds=300."""
    alb_4xx_count: Threshold = _t(warning=500, periods=1, period_seconds=300)
    """A burst of 4xx (403s when CloudFront's origin header stops matching)."""
    latency_p95_seconds: Threshold = _t(warning=1.0, periods=5)
    latency_p99_seconds: Threshold = _t(warning=2.0, periods=5)
    db_cpu_percent: Threshold = _t(warning=80, periods=5)
    db_connections: Threshold = _t(warning=80, periods=3)
    db_free_storage_gib: Threshold = _t(critical=10, periods=2, period_seconds=300)
    db_replica_lag_seconds: Threshold = _t(warning=60, periods=5)
    cache_cpu_percent: Threshold = _t(warning=80, periods=5)
    cache_memory_percent: Threshold = _t(warning=80, periods=5)
    cache_evictions: Threshold = _t(warning=100, periods=2, period_seconds=300)
    queue_oldest_message_seconds: Threshold = _t(warning=600, periods=3)
    dead_letters: Threshold = _t(critical=0, periods=1)
    """Messages waiting in a dead-letter queue."""
    function_errors: Threshold = _t(warning=0, periods=1, period_seconds=300)
    """Errors per period above this (0: any error)."""
    function_throttles: Threshold = _t(warning=0, periods=1, period_seconds=300)
    function_duration_percent: Threshold = _t(warning=80, periods=3, period_seconds=300)
    """p99 duration as a share of the function's timeout."""
    error_logs: Threshold = _t(warning=10, periods=1, period_seconds=300)
    schedule_dropped: Threshold = _t(warning=0, periods=1, period_seconds=3600)
    """Scheduled calls (such as the sleeping database's stop and start) that failed every retry."""
    cloudfront_5xx_percent: Threshold = _t(critical=1.0, periods=3)
    waf_blocked: Threshold = _t(warning=1000, periods=1, period_seconds=300)

    # Signals compared downwards; all others alarm above their level.
    BELOW: ClassVar[frozenset[str]] = frozenset({"healthy_hosts_min", "db_free_storage_gib"})
    PERCENT: ClassVar[frozenset[str]] = frozenset(
        {
            "service_cpu_percent",
            "service_memory_percent",
            "service_storage_percent",
            "alb_5xx_percent",
            "db_cpu_percent",
            "cache_cpu_percent",
            "cache_memory_percent",
            "function_duration_percent",
            "cloudfront_5xx_percent",
        }
    )

    def problems(self) -> list[str]:
        problems = []
        for name in type(self).model_fields:
            threshold: Threshold = getattr(self, name)
            for severity, value in threshold.levels():
                if value < 0 or (name in self.PERCENT and value > 100):  # noqa: PLR2004
                    problems.append(
                        f"{name}.{severity.value}: {value} is out of range; use "
                        + ("0-100" if name in self.PERCENT else "a value >= 0")
                    )
            if threshold.warning is not None and threshold.critical is not None:
                below = name in self.BELOW
                if (
                    (threshold.warning <= threshold.critical)
                    if below
                    else (threshold.warning >= threshold.critical)
                ):
                    problems.append(
                        f"{name}: warning {threshold.warning} must come before critical "
                        f"{threshold.critical}"
                    )
        return problems


class CustomMetric(Model):
    """An application metric: graphed on the dashboard, alarmed at its levels, and publishable
    (cloudwatch:PutMetricData for its namespace only) by the services and functions named."""

    namespace: str = Field(examples=["Workshop/App"])
    metric: str = Field(examples=["AiLatency"])
    statistic: str = "Average"
    dimensions: dict[str, str] = {}
    comparison: Comparison = Comparison.ABOVE
    threshold: Threshold = Threshold()
    emitted_by: tuple[str, ...] = Field(default=(), examples=[["api"]])
    unit_label: str = ""

    def problems(self) -> list[str]:
        problems = []
        if not _NAMESPACE.match(self.namespace) or self.namespace.startswith("AWS/"):
            problems.append(
                f"namespace: {self.namespace!r}; use your own, e.g. Workshop/App (AWS/ is reserved)"
            )
        if not _STATISTIC.match(self.statistic):
            problems.append(f"statistic: {self.statistic!r}; use Average, Sum, Maximum or p95")
        return problems


class Recipients(Model):
    emails: tuple[str, ...] = Field(default=(), examples=[["oncall@example.com"]])
    https: tuple[str, ...] = Field(default=(), examples=[["https://events.pagerduty.com/..."]])
    """HTTPS endpoints subscribed to the topic (pager integrations)."""

    @property
    def any(self) -> bool:
        return bool(self.emails or self.https)

    def problems(self) -> list[str]:
        problems = [
            f"emails: {address!r} is not an e-mail address"
            for address in self.emails
            if not aws.EMAIL.match(address)
        ]
        problems += [
            f"https: {url!r} must be an https:// URL"
            for url in self.https
            if not url.startswith("https://")
        ]
        if len(set(self.emails)) != len(self.emails):
            problems.append("emails: an address is listed twice")
        return problems


class AlertsConfig(Model):
    critical: Recipients = Recipients()
    warning: Recipients = Recipients()
    info: Recipients = Recipients()
    chat: bool = False
    """Alerts also go to a chat webhook; its URL lives in the <project>/<stage>/chat-webhook
    secret: set it right after the first deploy (until then the notifier fails and its
    dead-letter alarm pages the critical recipients)."""
    chat_severities: tuple[Severity, ...] = (Severity.CRITICAL, Severity.WARNING)

    def recipients(self, severity: Severity) -> Recipients:
        return {
            Severity.CRITICAL: self.critical,
            Severity.WARNING: self.warning,
            Severity.INFO: self.info,
        }[severity]


class AuditConfig(Model):
    """Account-level services: enable each once per account and region (the stage that owns it)."""

    cloudtrail: bool = True
    guardduty: bool = False
    security_hub: bool = False
    config_recorder: bool = False
    trail_retention_days: int = 365
    trail_object_lock: bool = True
    """Trail logs cannot be deleted or overwritten before trail_retention_days (compliance
    mode); use an organization trail instead where one exists."""

    def problems(self) -> list[str]:
        if self.trail_retention_days < TRAIL_RETENTION_MIN:
            return [
                f"trail_retention_days: {self.trail_retention_days}; keep audit logs at least "
                f"{TRAIL_RETENTION_MIN} days"
            ]
        return []


class BudgetConfig(Model):
    monthly_usd: int = 500
    daily_usd: int | None = None
    """A daily cost budget with its own alert (spikes show the next day, not at month end)."""
    emails: tuple[str, ...] = ()

    def problems(self) -> list[str]:
        problems = []
        if self.monthly_usd <= 0:
            problems.append(f"monthly_usd: {self.monthly_usd} must be above 0")
        if self.daily_usd is not None and self.daily_usd <= 0:
            problems.append(f"daily_usd: {self.daily_usd} must be above 0")
        problems += [
            f"emails: {a!r} is not an e-mail address" for a in self.emails if not aws.EMAIL.match(a)
        ]
        return problems


class LogsConfig(Model):
    """Retention per kind of log group (days); None: the stage's log_retention_days."""

    services: int | None = None
    functions: int | None = None
    database: int | None = None

    def problems(self) -> list[str]:
        return [
            retention_problem(name, days)
            for name in type(self).model_fields
            if (days := getattr(self, name)) is not None and days not in aws.LOG_RETENTION_DAYS
        ]


class ObservabilityConfig(Model):
    alerts: AlertsConfig = AlertsConfig()
    alarms: Alarms = Alarms()
    custom_metrics: dict[str, CustomMetric] = {}
    audit: AuditConfig = AuditConfig()
    budget: BudgetConfig = BudgetConfig()
    logs: LogsConfig = LogsConfig()
