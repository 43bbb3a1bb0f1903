"""Compute configuration: bad input is rejected at synth with the field and the fix."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from infra.config import ConfigError, StageConfig, default_stages, load_stages
from infra.config.compute import (
    DomainConfig,
    OffHours,
    ScheduledCapacity,
    ScheduledJob,
    ServiceConfig,
    WorkerConfig,
)


def compute(name: str, **changes: Any) -> StageConfig:
    cfg = default_stages()[name]
    return dataclasses.replace(cfg, compute=dataclasses.replace(cfg.compute, **changes))


def service(name: str, service_name: str, **changes: Any) -> StageConfig:
    cfg = default_stages()[name]
    services = tuple(
        dataclasses.replace(s, **changes) if s.name == service_name else s
        for s in cfg.compute.services
    )
    return compute(name, services=services)


API = ServiceConfig("api", ("/api/*",))
BAD = [
    pytest.param(
        lambda: compute("dev", services=(API, ServiceConfig("api", ("/v2/*",)))),
        "dev.compute.services: duplicate service names in ['api', 'api']",
        id="duplicate-service",
    ),
    pytest.param(
        lambda: compute("dev", services=(API, ServiceConfig("web", ("/api/*", "/*")))),
        "dev.compute.services[web].path_patterns: '/api/*' is already routed to api; each "
        "pattern must go to one service",
        id="overlapping-paths",
    ),
    pytest.param(
        lambda: compute("dev", services=(ServiceConfig("worker", ("/w/*",)),)),
        "dev.compute.services: unknown service 'worker'; services are web, api, ws",
        id="unknown-service",
    ),
    pytest.param(
        lambda: service("prod", "api", min_tasks=12),
        "prod.compute.services[api].min_tasks/max_tasks: 12 > 10; min must be <= max",
        id="min-above-max",
    ),
    pytest.param(
        lambda: service("dev", "web", cpu=512, memory_mib=512),
        "dev.compute.services[web].memory_mib: Fargate refuses 512 CPU with 512 MiB; use "
        "1024-4096 in steps of 1024",
        id="cpu-memory-combination",
    ),
    pytest.param(
        lambda: service("dev", "web", cpu=300),
        "dev.compute.services[web].cpu: 300 is not a Fargate size",
        id="cpu-size",
    ),
    pytest.param(
        lambda: dataclasses.replace(
            default_stages()["dev"],
            ports=dataclasses.replace(default_stages()["dev"].ports, ws=8000),
        ),
        "dev.ports: web/api/ws share a port",
        id="port-conflict",
    ),
    pytest.param(
        lambda: service(
            "dev", "api", scheduled_capacity=(ScheduledCapacity("peak", "9am weekdays", 4, 10),)
        ),
        "dev.compute.services[api].scheduled_capacity[peak].cron: '9am weekdays' does not parse",
        id="scaling-schedule-does-not-parse",
    ),
    pytest.param(
        lambda: service(
            "dev", "api", scheduled_capacity=(ScheduledCapacity("peak", "0 9 * * MON-FRI", 5, 2),)
        ),
        "dev.compute.services[api].scheduled_capacity[peak]: min_tasks 5 > max_tasks 2",
        id="scheduled-min-above-max",
    ),
    pytest.param(
        lambda: compute(
            "dev", scheduled_jobs=(ScheduledJob("report", "0 0 * * *", "daily-report"),)
        ),
        "dev.compute.scheduled_jobs[report].cron: '0 0 * * *' does not parse; use cron(minutes "
        "hours day-of-month month day-of-week year)",
        id="job-schedule-does-not-parse",
    ),
    pytest.param(
        lambda: compute("dev", off_hours=OffHours(stop="at night")),
        "dev.compute.off_hours.stop: 'at night' is not a 5-field cron",
        id="off-hours-does-not-parse",
    ),
    pytest.param(
        lambda: compute(
            "dev", worker=WorkerConfig(timeout_seconds=300, queue_visibility_timeout_seconds=300)
        ),
        "dev.compute.worker.queue_visibility_timeout_seconds: 300 must exceed "
        "worker.timeout_seconds (300)",
        id="worker-timeout-not-below-visibility",
    ),
    pytest.param(
        lambda: compute(
            "dev", worker=WorkerConfig(timeout_seconds=1200, queue_visibility_timeout_seconds=7200)
        ),
        "dev.compute.worker.timeout_seconds: 1200 must be 1-900",
        id="worker-timeout-above-lambda-limit",
    ),
    pytest.param(
        lambda: compute("prod", exec_enabled=True),
        "prod.compute.exec_enabled: ECS Exec stays off in prod",
        id="exec-in-prod",
    ),
    pytest.param(
        lambda: compute("prod", off_hours=OffHours()),
        "prod.compute.off_hours: prod never scales to zero",
        id="prod-off-hours",
    ),
    pytest.param(
        lambda: compute("dev", min_healthy_percent=100, max_percent=100),
        "dev.compute.min_healthy_percent/max_percent: 100/100; need min <= 100 <= max",
        id="deployment-percent",
    ),
    pytest.param(
        lambda: compute("dev", domain=DomainConfig("example.com", "")),
        "dev.compute.domain.hosted_zone_id: '' is not a Route 53 hosted zone id (Z...); a "
        "domain needs the zone",
        id="domain-without-hosted-zone",
    ),
    pytest.param(
        lambda: dataclasses.replace(
            default_stages()["dev"],
            network=dataclasses.replace(
                default_stages()["dev"].network, load_balancer_ingress_cidrs=("0.0.0.0/0",)
            ),
        ),
        "dev.network.load_balancer_ingress_cidrs: direct client access needs HTTPS",
        id="direct-access-without-domain",
    ),
    pytest.param(
        lambda: dataclasses.replace(
            default_stages()["dev"],
            region="af-south-1",
            network=dataclasses.replace(
                default_stages()["dev"].network, availability_zones=("af-south-1a", "af-south-1b")
            ),
        ),
        "dev.compute.cloudfront_prefix_list_id: no CloudFront origin-facing prefix list is known "
        "for af-south-1",
        id="unknown-cloudfront-prefix-list",
    ),
    pytest.param(
        lambda: compute("dev", websocket_entry="nlb"),
        "dev.compute.websocket_entry: nlb terminates TLS for ws.<domain>; configure compute.domain",
        id="nlb-without-domain",
    ),
    pytest.param(
        lambda: compute(
            "dev",
            websocket_entry="nlb",
            domain=DomainConfig("example.com", "Z0123456789ABCDEFGHIJ"),
        ),
        "dev.network.load_balancer_ingress_cidrs: a WebSocket NLB is reached by clients "
        "directly; list who may connect",
        id="nlb-without-client-cidrs",
    ),
    pytest.param(
        lambda: compute("dev", websocket_entry="apigateway"),
        "dev.compute.websocket_entry: 'apigateway'; use alb or nlb",
        id="unknown-websocket-entry",
    ),
]


@pytest.mark.parametrize(("build", "message"), BAD)
def test_bad_compute_config_is_rejected(build: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build()
    assert message in str(caught.value)


def test_image_tag_rolls_out_without_code_changes() -> None:
    (prod,) = load_stages(
        {"stages": "prod", "prod.api.image_tag": "1.4.2"}.get,
        {"PLATFORM_PROD_WEB_IMAGE_TAG": "2026-11-22.3"},
    )
    tags = {s.name: s.image_tag for s in prod.compute.services}
    assert tags == {"web": "2026-11-22.3", "api": "1.4.2", "ws": None}
