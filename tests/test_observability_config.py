"""Observability configuration: bad input is rejected at synth with the field and the fix."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from infra.config import ConfigError, StageConfig, default_stages
from infra.config.observability import AuditConfig, Thresholds


def observability(**changes: Any) -> StageConfig:
    cfg = default_stages()["staging"]
    return dataclasses.replace(cfg, observability=dataclasses.replace(cfg.observability, **changes))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param(
            {"alert_emails": (("critical", "oncall-at-example.com"),)},
            "staging.observability.alert_emails: 'oncall-at-example.com' is not an e-mail address",
            id="email-does-not-parse",
        ),
        pytest.param(
            {"alert_emails": (("page", "oncall@example.com"),)},
            "staging.observability.alert_emails: severity 'page'; use critical, warning, info",
            id="unknown-severity",
        ),
        pytest.param(
            {"budget_emails": ("finance@",)},
            "staging.observability.budget_emails: 'finance@' is not an e-mail address",
            id="budget-email",
        ),
        pytest.param(
            {"thresholds": Thresholds(alb_5xx_percent=150)},
            "staging.observability.thresholds.alb_5xx_percent: 150 is out of range; use a value "
            "in (0, 100]",
            id="percent-out-of-range",
        ),
        pytest.param(
            {"thresholds": Thresholds(rds_connections=0)},
            "staging.observability.thresholds.rds_connections: 0 is out of range; use a value "
            "above 0",
            id="threshold-zero",
        ),
        pytest.param(
            {"monthly_budget_usd": 0},
            "staging.observability.monthly_budget_usd: 0 must be above 0",
            id="budget-zero",
        ),
        pytest.param(
            {"audit": AuditConfig(trail_retention_days=30)},
            "staging.observability.audit.trail_retention_days: 30; keep audit logs at least 90",
            id="short-audit-retention",
        ),
    ],
)
def test_bad_observability_config_is_rejected(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        observability(**changes)
    assert message in str(caught.value)
