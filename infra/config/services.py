"""Services: any number, named freely, each with its entry point, sizing, scaling and access."""

from __future__ import annotations

import re
import zlib
from enum import StrEnum

from pydantic import Field, field_validator

from infra.config import aws
from infra.config.access import Access
from infra.config.base import Model

PLACEHOLDER_IMAGE = "public.ecr.aws/docker/library/busybox:1.36"
"""Answers 200 on the health path without any application, so a new stage deploys healthy
before its first build exists. It never receives secrets."""
_PATH = re.compile(r"^/[A-Za-z0-9_\-./*]*$")
PERCENT = 100


class Exposure(StrEnum):
    CLOUDFRONT = "cloudfront"
    """Behind CloudFront and WAF, routed on the ALB by path (the default)."""
    ALB = "alb"
    """On the ALB directly at <host>.<zone> (HTTPS; clients from load_balancer_ingress_cidrs)."""
    NLB = "nlb"
    """On a TLS network load balancer at <host>.<zone>, sticky by source IP (WebSockets)."""
    INTERNAL = "internal"
    """No load balancer: reachable only by other services, through ECS Service Connect."""


class CdnCache(StrEnum):
    ORIGIN = "origin"
    """CloudFront caches what the origin's Cache-Control allows (pages, images)."""
    DISABLED = "disabled"
    """Never cached, every viewer header and method passed on (APIs, WebSockets)."""


class TagMutability(StrEnum):
    IMMUTABLE = "immutable"
    MUTABLE = "mutable"


class ScheduledCapacity(Model):
    """Task bounds from a point in time on (cron in the stage's time zone)."""

    cron: str = Field(examples=["0 9 * * MON-FRI"])
    """Five fields: minute hour day-of-month month day-of-week."""
    min_tasks: int
    max_tasks: int


class ServiceConfig(Model):
    port: int = Field(examples=[3000])
    expose: Exposure = Exposure.CLOUDFRONT
    paths: tuple[str, ...] = Field(default=(), examples=[["/api/*"]])
    """ALB path patterns (cloudfront and alb exposure)."""
    hosts: tuple[str, ...] = Field(default=(), examples=[["api"]])
    """Host labels under the stage's domain (alb and nlb exposure), e.g. api -> api.<zone>."""
    priority: int | None = Field(default=None, examples=[100])
    """ALB rule priority; derived from the paths' specificity and the name when not set, so
    adding a service never renumbers another's rule."""
    cdn_cache: CdnCache = CdnCache.ORIGIN
    health_check_path: str = "/health"
    cpu: int = 512
    memory_mib: int = 1024
    min_tasks: int = 2
    max_tasks: int = 4
    cpu_target_percent: int = 70
    memory_target_percent: int = 75
    requests_per_target: int = 1000
    scale_out_cooldown_seconds: int = 60
    scale_in_cooldown_seconds: int = 300
    scheduled_capacity: dict[str, ScheduledCapacity] = {}
    sticky_sessions: bool = False
    """ALB cookie stickiness (Socket.IO long polling, WebSockets behind CloudFront)."""
    spot_weight: int = 0
    """Share of tasks on Fargate Spot relative to on-demand weight 1 (0: none)."""
    image: str = PLACEHOLDER_IMAGE
    """A public image, used while `image_tag` is unset."""
    image_tag: str | None = Field(default=None, examples=["1.4.2"])
    """A tag in the service's ECR repository: set it to roll out a build (no code change)."""
    repository: str | None = Field(default=None, examples=["backend"])
    """ECR repository name; default <project>-<stage>-<service>."""
    tag_mutability: TagMutability = TagMutability.IMMUTABLE
    command: tuple[str, ...] = ()
    environment: dict[str, str] = {}
    uses: Access = Access()
    log_retention_days: int | None = None
    """Default: the stage's observability.logs.services."""
    min_healthy_percent: int = 100
    max_percent: int = 200
    health_grace_seconds: int | None = None
    """Default: the container health check's start period plus interval x retries."""
    read_only_root_filesystem: bool = True
    user: str | None = "1000"
    """Non-root by default; "" (or None) keeps the image's own user."""
    nlb_port: int = 443

    @field_validator("user")
    @classmethod
    def _image_user(cls, value: str | None) -> str | None:
        return value or None  # TOML has no null: "" means the image's own user

    @property
    def on_alb(self) -> bool:
        return self.expose in (Exposure.CLOUDFRONT, Exposure.ALB)

    @property
    def has_image(self) -> bool:
        """A real build is deployed (as opposed to the placeholder)."""
        return self.image_tag is not None or self.image != PLACEHOLDER_IMAGE

    def rule_priority(self, name: str) -> int:
        """Explicit, or derived from specificity (longest literal path prefix, hosts first) and a
        stable hash of the name: never from the service's position in a list."""
        if self.priority is not None:
            return self.priority
        prefix = max((len(p.split("*", 1)[0]) for p in self.paths), default=1)
        rank = min(prefix, 39) + (10 if self.hosts else 0)
        return (50 - rank) * 1000 + zlib.crc32(name.encode()) % 1000

    def problems(self) -> list[str]:
        problems = self._entry_problems() + self._size_problems()
        for name, scheduled in self.scheduled_capacity.items():
            if not aws.APP_SCALING_CRON.match(scheduled.cron):
                problems.append(
                    f"scheduled_capacity.{name}.cron: {scheduled.cron!r} does not parse; use 5 "
                    "fields: minute hour day-of-month month day-of-week, e.g. 0 9 * * MON-FRI"
                )
            if not 0 <= scheduled.min_tasks <= scheduled.max_tasks:
                problems.append(
                    f"scheduled_capacity.{name}: min_tasks {scheduled.min_tasks} > max_tasks "
                    f"{scheduled.max_tasks}"
                )
        if self.image_tag is not None and not aws.IMAGE_TAG.match(self.image_tag):
            problems.append(
                f"image_tag: {self.image_tag!r} is not a valid ECR tag (up to 128 of A-Z a-z 0-9 "
                "_ . -, not starting with . or -); e.g. 1.4.2"
            )
        if self.repository is not None and not aws.ECR_REPOSITORY.match(self.repository):
            problems.append(
                f"repository: {self.repository!r} is not an ECR repository name (lowercase, "
                "digits, . _ - /); e.g. backend"
            )
        low, high = self.min_healthy_percent, self.max_percent
        if not (0 <= low <= PERCENT <= high and low < high):
            problems.append(
                f"min_healthy_percent/max_percent: {low}/{high}; need min <= 100 <= max and "
                "min < max, or a rolling deployment can neither start nor stop a task"
            )
        return problems

    def _entry_problems(self) -> list[str]:
        problems = []
        if not 0 < self.port <= 65535:  # noqa: PLR2004
            problems.append(f"port: {self.port} is outside 1-65535")
        if self.on_alb and not self.paths:
            problems.append(
                f"paths: a service exposed through {self.expose.value} needs ALB path patterns, "
                "e.g. ['/api/*'] (or ['/*'] for the catch-all)"
            )
        if not self.on_alb and self.paths:
            problems.append(f"paths: {self.expose.value} services are not routed by path")
        if self.expose in (Exposure.ALB, Exposure.NLB) and not self.hosts:
            problems.append(
                f"hosts: a service exposed on the {self.expose.value} directly needs its host "
                "label under the domain, e.g. ['api']"
            )
        if self.expose in (Exposure.CLOUDFRONT, Exposure.INTERNAL) and self.hosts:
            problems.append(
                f"hosts: {self.expose.value} services have no host of their own; CloudFront's "
                "hosts are domain.cdn_hosts"
            )
        problems += [
            f"paths: {p!r} must start with / and use only URL characters and *"
            for p in self.paths
            if not _PATH.match(p)
        ]
        problems += [
            f"hosts: {h!r} is not a DNS label such as api (or @ for the zone apex)"
            for h in self.hosts
            if not aws.HOST_LABEL.match(h)
        ]
        if len(self.paths) + len(self.hosts) + 1 > aws.ALB_MAX_CONDITION_VALUES:
            problems.append(
                f"paths: {len(self.paths)} patterns and {len(self.hosts)} hosts exceed the ALB's "
                f"{aws.ALB_MAX_CONDITION_VALUES} condition values per rule (one is the origin "
                "header); use a common prefix such as /api/*"
            )
        if self.priority is not None and not 1 <= self.priority <= aws.ALB_MAX_PRIORITY:
            problems.append(f"priority: {self.priority} must be 1-{aws.ALB_MAX_PRIORITY}")
        if not _PATH.match(self.health_check_path) or "*" in self.health_check_path:
            problems.append(f"health_check_path: {self.health_check_path!r} is not a plain path")
        if self.sticky_sessions and not self.on_alb:
            problems.append("sticky_sessions: ALB cookie stickiness needs an ALB-routed service")
        return problems

    def _size_problems(self) -> list[str]:
        problems = []
        allowed = aws.FARGATE_MEMORY.get(self.cpu)
        if allowed is None:
            problems.append(
                f"cpu: {self.cpu} is not a Fargate size; use {sorted(aws.FARGATE_MEMORY)}"
            )
        elif self.memory_mib not in allowed:
            problems.append(
                f"memory_mib: Fargate refuses {self.cpu} CPU with {self.memory_mib} MiB; use "
                f"{allowed[0]}-{allowed[-1]} in steps of {allowed[1] - allowed[0]}"
            )
        if not 0 <= self.min_tasks <= self.max_tasks:
            problems.append(
                f"min_tasks/max_tasks: {self.min_tasks} > {self.max_tasks}; min must be <= max"
            )
        for field in ("cpu_target_percent", "memory_target_percent"):
            value = getattr(self, field)
            if not 10 <= value <= 95:  # noqa: PLR2004
                problems.append(f"{field}: {value} must be 10-95")
        if self.spot_weight < 0:
            problems.append("spot_weight: must be >= 0")
        return problems
