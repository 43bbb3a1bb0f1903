"""Checks for the observability configuration (see validation.py for the conventions)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from infra.config.observability import SEVERITIES
from infra.config.primitives import EMAIL

if TYPE_CHECKING:
    from infra.config.observability import ObservabilityConfig

_PERCENT_FIELDS = {
    "alb_5xx_percent",
    "ecs_cpu_percent",
    "ecs_memory_percent",
    "rds_cpu_percent",
    "cache_cpu_percent",
    "cache_memory_percent",
    "cloudfront_5xx_percent",
}
TRAIL_RETENTION_MIN = 90  # keep a quarter of audit history at least


def observability_problems(obs: ObservabilityConfig) -> list[str]:
    problems = []
    for severity, address in obs.alert_emails:
        if severity not in SEVERITIES:
            problems.append(f"alert_emails: severity {severity!r}; use {', '.join(SEVERITIES)}")
        if not EMAIL.match(address):
            problems.append(f"alert_emails: {address!r} is not an e-mail address")
    problems += [
        f"budget_emails: {address!r} is not an e-mail address"
        for address in obs.budget_emails
        if not EMAIL.match(address)
    ]
    for field in dataclasses.fields(obs.thresholds):
        value = getattr(obs.thresholds, field.name)
        upper = 100 if field.name in _PERCENT_FIELDS else None
        if value <= 0 or (upper is not None and value > upper):
            problems.append(
                f"thresholds.{field.name}: {value} is out of range; use a value "
                + (f"in (0, {upper}]" if upper else "above 0")
            )
    if obs.monthly_budget_usd <= 0:
        problems.append(f"monthly_budget_usd: {obs.monthly_budget_usd} must be above 0")
    if obs.audit.trail_retention_days < TRAIL_RETENTION_MIN:
        problems.append(
            f"audit.trail_retention_days: {obs.audit.trail_retention_days}; keep audit logs at "
            f"least {TRAIL_RETENTION_MIN} days"
        )
    return [f"observability.{p}" for p in problems]
