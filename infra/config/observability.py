"""Observability configuration: who is alerted, on what thresholds, audit and budget."""

from __future__ import annotations

from dataclasses import dataclass

SEVERITIES = ("critical", "warning", "info")


@dataclass(frozen=True)
class Thresholds:
    """Alarm thresholds; defaults follow the reference plans (shared/REFERENCE.md)."""

    alb_5xx_percent: float = 1.0
    target_p95_seconds: float = 1.0
    target_p99_seconds: float = 2.0
    ecs_cpu_percent: float = 80.0
    ecs_memory_percent: float = 80.0
    rds_cpu_percent: float = 80.0
    rds_connections: int = 80
    rds_free_storage_gib: int = 10
    rds_replica_lag_seconds: int = 60
    cache_cpu_percent: float = 80.0
    cache_memory_percent: float = 80.0
    cache_evictions_per_5_min: int = 100
    queue_oldest_message_seconds: int = 600
    lambda_errors_per_5_min: int = 1
    lambda_throttles_per_5_min: int = 1
    cloudfront_5xx_percent: float = 1.0
    waf_blocked_per_5_min: int = 1000
    error_logs_per_5_min: int = 10


@dataclass(frozen=True)
class AuditConfig:
    """Account-level services: enable each once per account and region (the stage that owns it)."""

    cloudtrail: bool = True
    guardduty: bool = False
    security_hub: bool = False
    config_recorder: bool = False
    trail_retention_days: int = 365


@dataclass(frozen=True)
class ObservabilityConfig:
    alert_emails: tuple[tuple[str, str], ...] = ()
    """(severity, address) pairs, e.g. ("critical", "oncall@example.com")."""
    chat_notifications: bool = True
    """Warning and critical alarms go to a Slack-style webhook whose URL is stored in the
    `<project>/<stage>/chat-webhook` secret (set its value after the first deploy)."""
    thresholds: Thresholds = Thresholds()
    audit: AuditConfig = AuditConfig()
    monthly_budget_usd: int = 500
    budget_emails: tuple[str, ...] = ()
