"""Checks for the compute configuration (see validation.py for the conventions)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from infra.config.compute import FARGATE_MEMORY

if TYPE_CHECKING:
    from infra.config.compute import ComputeConfig, ServiceConfig

SERVICE_NAMES = ("web", "api", "ws")
# CloudFront's origin-facing managed prefix list per region (AWS-published IDs).
CLOUDFRONT_PREFIX_LISTS = {
    "ap-northeast-1": "pl-58a04531",
    "ap-northeast-2": "pl-22a6434b",
    "ap-northeast-3": "pl-31a14458",
    "ap-south-1": "pl-9aa247f3",
    "ap-southeast-1": "pl-31a34658",
    "ap-southeast-2": "pl-b8a742d1",
    "ca-central-1": "pl-38a64351",
    "eu-central-1": "pl-a3a144ca",
    "eu-north-1": "pl-fab65393",
    "eu-west-1": "pl-4fa04526",
    "eu-west-2": "pl-93a247fa",
    "eu-west-3": "pl-75b1541c",
    "sa-east-1": "pl-5da64334",
    "us-east-1": "pl-3b927c52",
    "us-east-2": "pl-b6a144df",
    "us-west-1": "pl-4ea04527",
    "us-west-2": "pl-82a045eb",
}
_PATH = re.compile(r"^/[A-Za-z0-9_\-./*]*$")
_FIELD = r"(\*|\?|[0-9A-Za-z,\-/#L]+)"
_APP_SCALING_CRON = re.compile(rf"^{_FIELD}( {_FIELD}){{4}}$")  # 5 fields; the ? is added
_SCHEDULER_CRON = re.compile(rf"^cron\({_FIELD}( {_FIELD}){{5}}\)$")
_DNS = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,31}$")
_JOB_TYPE = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
MAX_LAMBDA_TIMEOUT = 900
MAX_SQS_VISIBILITY = 43200
PERCENT = 100


def cloudfront_prefix_list(compute: ComputeConfig, region: str) -> str | None:
    return compute.cloudfront_prefix_list_id or CLOUDFRONT_PREFIX_LISTS.get(region)


def compute_problems(compute: ComputeConfig, *, stage: str, region: str) -> list[str]:
    problems = _services_problems(compute)
    for service in compute.services:
        problems += [f"services[{service.name}].{p}" for p in _service_problems(service)]
    problems += _worker_problems(compute)
    low, high = compute.min_healthy_percent, compute.max_percent
    if not (0 <= low <= PERCENT <= high and low < high):
        problems.append(
            f"min_healthy_percent/max_percent: {low}/{high}; need min <= 100 <= max and "
            "min < max, or a rolling deployment can neither start nor stop a task"
        )
    if not 1 <= compute.idle_timeout_seconds <= 4000:  # noqa: PLR2004 (ALB limit)
        problems.append(f"idle_timeout_seconds: {compute.idle_timeout_seconds} must be 1-4000")
    if compute.off_hours is not None:
        for field in ("stop", "start"):
            cron = getattr(compute.off_hours, field)
            if not _APP_SCALING_CRON.match(cron):
                problems.append(f"off_hours.{field}: {cron!r} is not a 5-field cron")
    problems += _scheduled_job_problems(compute)
    problems += _entry_problems(compute, region)
    if stage == "prod":
        problems += _prod_compute_problems(compute)
    return [f"compute.{p}" for p in problems]


def _entry_problems(compute: ComputeConfig, region: str) -> list[str]:
    """How clients get in: CloudFront's prefix list, a domain's TLS, the WebSocket entry."""
    problems: list[str] = []
    if compute.websocket_entry not in ("alb", "nlb"):
        problems.append(f"websocket_entry: {compute.websocket_entry!r}; use alb or nlb")
    elif compute.websocket_entry == "nlb":
        if compute.domain is None:
            problems.append(
                "websocket_entry: nlb terminates TLS for ws.<domain>; configure compute.domain"
            )
        if compute.service("ws") is None:
            problems.append("websocket_entry: nlb needs the ws service")
    if compute.domain is not None:
        problems += _domain_problems(compute)
    elif cloudfront_prefix_list(compute, region) is None:
        problems.append(
            f"cloudfront_prefix_list_id: no CloudFront origin-facing prefix list is known for "
            f"{region}; set it (aws ec2 describe-managed-prefix-lists) or configure a domain"
        )
    return problems


def _scheduled_job_problems(compute: ComputeConfig) -> list[str]:
    problems: list[str] = []
    names = [job.name for job in compute.scheduled_jobs]
    for job in compute.scheduled_jobs:
        if not _SCHEDULER_CRON.match(job.cron):
            problems.append(
                f"scheduled_jobs[{job.name}].cron: {job.cron!r} does not parse; use "
                "cron(minutes hours day-of-month month day-of-week year), e.g. cron(0 0 * * ? *)"
            )
        if not _JOB_TYPE.match(job.job_type):
            problems.append(f"scheduled_jobs[{job.name}].job_type: {job.job_type!r}")
    if len(set(names)) != len(names):
        problems.append(f"scheduled_jobs: duplicate names in {names}")
    return problems


def _prod_compute_problems(compute: ComputeConfig) -> list[str]:
    problems: list[str] = []
    if compute.exec_enabled:
        problems.append("exec_enabled: ECS Exec stays off in prod")
    if compute.off_hours is not None:
        problems.append("off_hours: prod never scales to zero")
    if not compute.load_balancer_deletion_protection:
        problems.append("load_balancer_deletion_protection: must be True in prod")
    return problems


def _services_problems(compute: ComputeConfig) -> list[str]:
    names = [s.name for s in compute.services]
    problems = [
        f"services: unknown service {name!r}; services are {', '.join(SERVICE_NAMES)} (one "
        "per security tier)"
        for name in names
        if name not in SERVICE_NAMES
    ]
    if len(set(names)) != len(names):
        problems.append(f"services: duplicate service names in {names}")
    seen: dict[str, str] = {}
    for service in compute.services:
        for pattern in service.path_patterns:
            if pattern in seen:
                problems.append(
                    f"services[{service.name}].path_patterns: {pattern!r} is already routed to "
                    f"{seen[pattern]}; each pattern must go to one service"
                )
            seen[pattern] = service.name
    return problems


def _service_problems(service: ServiceConfig) -> list[str]:
    problems = []
    allowed = FARGATE_MEMORY.get(service.cpu)
    if allowed is None:
        problems.append(f"cpu: {service.cpu} is not a Fargate size; use {sorted(FARGATE_MEMORY)}")
    elif service.memory_mib not in allowed:
        problems.append(
            f"memory_mib: Fargate refuses {service.cpu} CPU with {service.memory_mib} MiB; use "
            f"{allowed[0]}-{allowed[-1]} in steps of {allowed[1] - allowed[0]}"
        )
    if not 0 <= service.min_tasks <= service.max_tasks:
        problems.append(
            f"min_tasks/max_tasks: {service.min_tasks} > {service.max_tasks}; min must be <= max"
        )
    if not service.path_patterns:
        problems.append("path_patterns: give at least one, e.g. /api/*")
    problems += [
        f"path_patterns: {p!r} must start with / and use only URL characters and *"
        for p in service.path_patterns
        if not _PATH.match(p)
    ]
    if not _PATH.match(service.health_check_path) or "*" in service.health_check_path:
        problems.append(f"health_check_path: {service.health_check_path!r} is not a plain path")
    for field in ("cpu_target_percent", "memory_target_percent"):
        value = getattr(service, field)
        if not 10 <= value <= 95:  # noqa: PLR2004
            problems.append(f"{field}: {value} must be 10-95")
    for scheduled in service.scheduled_capacity:
        if not _APP_SCALING_CRON.match(scheduled.cron):
            problems.append(
                f"scheduled_capacity[{scheduled.name}].cron: {scheduled.cron!r} does not parse; "
                "use 5 fields: minute hour day-of-month month day-of-week, e.g. 0 9 * * MON-FRI"
            )
        if not 0 <= scheduled.min_tasks <= scheduled.max_tasks:
            problems.append(
                f"scheduled_capacity[{scheduled.name}]: min_tasks {scheduled.min_tasks} > "
                f"max_tasks {scheduled.max_tasks}"
            )
    if service.spot_weight < 0:
        problems.append("spot_weight: must be >= 0")
    return problems


def _worker_problems(compute: ComputeConfig) -> list[str]:
    worker = compute.worker
    problems = []
    if not 1 <= worker.timeout_seconds <= MAX_LAMBDA_TIMEOUT:
        problems.append(f"worker.timeout_seconds: {worker.timeout_seconds} must be 1-900")
    if worker.timeout_seconds >= worker.queue_visibility_timeout_seconds:
        problems.append(
            f"worker.queue_visibility_timeout_seconds: {worker.queue_visibility_timeout_seconds} "
            f"must exceed worker.timeout_seconds ({worker.timeout_seconds}), or a message "
            "becomes visible again while it is still being processed (6x is recommended)"
        )
    if worker.queue_visibility_timeout_seconds > MAX_SQS_VISIBILITY:
        problems.append("worker.queue_visibility_timeout_seconds: SQS allows at most 43200")
    if not 1 <= worker.max_receive_count <= 1000:  # noqa: PLR2004
        problems.append(f"worker.max_receive_count: {worker.max_receive_count} must be 1-1000")
    if not 1 <= worker.batch_size <= 10:  # noqa: PLR2004 (SQS standard queue batch)
        problems.append(f"worker.batch_size: {worker.batch_size} must be 1-10")
    if worker.reserved_concurrency < 1:
        problems.append("worker.reserved_concurrency: must be >= 1")
    if not 128 <= worker.memory_mib <= 10240:  # noqa: PLR2004
        problems.append(f"worker.memory_mib: {worker.memory_mib} must be 128-10240")
    return problems


def _domain_problems(compute: ComputeConfig) -> list[str]:
    domain = compute.domain
    assert domain is not None
    problems = []
    if not _DNS.match(domain.zone_name):
        problems.append(
            f"domain.zone_name: {domain.zone_name!r} is not a DNS name like example.com"
        )
    if not _ZONE_ID.match(domain.hosted_zone_id):
        problems.append(
            f"domain.hosted_zone_id: {domain.hosted_zone_id!r} is not a Route 53 hosted zone id "
            "(Z...); a domain needs the zone its records and certificate validation live in"
        )
    hosts = [domain.app_host, domain.api_host, domain.ws_host]
    if len(set(hosts)) != len(hosts):
        problems.append(f"domain: host names {hosts} must differ")
    return problems
