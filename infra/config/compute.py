"""Compute configuration: services, load balancing, scaling, jobs and schedules."""

from __future__ import annotations

from dataclasses import dataclass

# Answers 200 on every configured health path without any application: lets a stage deploy
# (and pass its health checks) before the first real image exists. busybox runs as any user.
PLACEHOLDER_IMAGE = "public.ecr.aws/docker/library/busybox:1.36"

# CPU units -> memory (MiB) combinations Fargate accepts.
FARGATE_MEMORY: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
    8192: tuple(range(16384, 61441, 4096)),
    16384: tuple(range(32768, 122881, 8192)),
}
TIMEZONE = "Asia/Seoul"


@dataclass(frozen=True)
class ScheduledCapacity:
    """Task bounds from a point in time on (Application Auto Scaling cron, in TIMEZONE)."""

    name: str
    cron: str
    """Five fields: minute hour day-of-month month day-of-week, e.g. `0 9 * * MON-FRI`."""
    min_tasks: int
    max_tasks: int


@dataclass(frozen=True)
class ServiceConfig:
    name: str
    """web, api or ws: also the service's security-group tier and port (ports.<name>)."""
    path_patterns: tuple[str, ...]
    """ALB routing; the most specific patterns win (rules are ordered by specificity)."""
    cpu: int = 512
    memory_mib: int = 1024
    min_tasks: int = 2
    max_tasks: int = 4
    health_check_path: str = "/health"
    image: str = PLACEHOLDER_IMAGE
    """A public image, used while `image_tag` is None."""
    image_tag: str | None = None
    """A tag in the service's ECR repository; set it to roll out a build (no code change)."""
    command: tuple[str, ...] = ()
    environment: tuple[tuple[str, str], ...] = ()
    cpu_target_percent: int = 70
    memory_target_percent: int = 75
    requests_per_target: int = 1000
    scheduled_capacity: tuple[ScheduledCapacity, ...] = ()
    sticky_sessions: bool = False
    """ALB cookie stickiness (WebSockets, Socket.IO long polling)."""
    read_only_root_filesystem: bool = True
    user: str | None = "1000"
    """Non-root by default; None keeps the image's user."""
    spot_weight: int = 0
    """Share of tasks on Fargate Spot relative to on-demand weight 1 (0: none)."""


@dataclass(frozen=True)
class OffHours:
    """Scale every service to zero at `stop` and back at `start` (non-prod cost control)."""

    stop: str = "0 20 * * MON-FRI"
    start: str = "0 8 * * MON-FRI"


@dataclass(frozen=True)
class WorkerConfig:
    memory_mib: int = 1024
    timeout_seconds: int = 180
    reserved_concurrency: int = 5
    batch_size: int = 10
    queue_visibility_timeout_seconds: int = 1080
    """Must exceed timeout_seconds; AWS recommends six times it for Lambda consumers."""
    max_receive_count: int = 5
    """Deliveries before a message goes to the dead-letter queue."""


@dataclass(frozen=True)
class ScheduledJob:
    name: str
    cron: str
    """EventBridge Scheduler cron (6 fields, in TIMEZONE), e.g. `cron(0 0 * * ? *)`."""
    job_type: str
    """Sent to the job queue as {"job_type": ...}; the worker dispatches on it."""


@dataclass(frozen=True)
class DomainConfig:
    zone_name: str
    hosted_zone_id: str
    app_host: str = "app"
    api_host: str = "api"
    ws_host: str = "ws"


@dataclass(frozen=True)
class ComputeConfig:
    services: tuple[ServiceConfig, ...] = (
        ServiceConfig("web", ("/*",)),
        ServiceConfig("api", ("/api/*",), health_check_path="/api/health"),
        ServiceConfig("ws", ("/ws/*", "/socket.io/*"), sticky_sessions=True),
    )
    ecr_keep_images: int = 30
    exec_enabled: bool = False
    """ECS Exec for operators (no SSH anywhere); keep False in prod."""
    min_healthy_percent: int = 100
    max_percent: int = 200
    idle_timeout_seconds: int = 120
    """ALB idle timeout: WebSockets ping well within it."""
    load_balancer_deletion_protection: bool = True
    off_hours: OffHours | None = None
    worker: WorkerConfig = WorkerConfig()
    scheduled_jobs: tuple[ScheduledJob, ...] = (
        ScheduledJob("daily-report", "cron(0 0 * * ? *)", "daily-report"),
    )
    migration_command: tuple[str, ...] = ("sh", "-c", "echo no migrations yet")
    xray_sidecar: bool = False
    """Run the X-Ray daemon beside every service task (apps send traces to 127.0.0.1:2000)."""
    xray_daemon_image: str = "public.ecr.aws/xray/aws-xray-daemon:3.3.4"
    websocket_entry: str = "alb"
    """alb (sticky target group behind CloudFront) or nlb (TLS on 443 at ws.<domain>, source-IP
    stickiness, clients from network.load_balancer_ingress_cidrs; needs a domain)."""
    domain: DomainConfig | None = None
    migration_runner_account: str | None = None
    """Account whose pipeline may run the migration task here (set when the pipeline is on)."""
    cloudfront_prefix_list_id: str | None = None
    """Override of the region's CloudFront origin-facing prefix list (known regions built in)."""

    def service(self, name: str) -> ServiceConfig | None:
        return next((s for s in self.services if s.name == name), None)

    @property
    def listener_port(self) -> int:
        """HTTPS with a domain (ACM certificate); otherwise HTTP from CloudFront only."""
        return 443 if self.domain else 80
