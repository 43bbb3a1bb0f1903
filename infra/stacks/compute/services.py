"""Services as declared: each its own task definition, security group, log group, repository,
entry point (ALB rule, NLB listener, or Service Connect only), scaling and grants."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import aws_iam as iam

from constructs_lib.fargate_service import (
    FargateWebService,
    FargateWebServiceProps,
    NetworkRoutingProps,
    RoutingProps,
    ScalingProps,
    ScheduledBounds,
    ServiceConnectProps,
    cron_schedule,
)
from infra.config.services import Exposure, ServiceConfig
from infra.stacks.compute.access import wire
from infra.stacks.images import grant_pull, image_for

if TYPE_CHECKING:
    from infra.stacks.compute import ComputeStack

ORIGIN_HEADER = "X-Origin-Verify"


def placeholder_command(service: ServiceConfig) -> list[str]:
    """busybox httpd answering 200 on the health path (for the ALB and the container check)."""
    path = service.health_check_path
    return [
        "sh",
        "-c",
        f"mkdir -p /tmp/www{path.rsplit('/', 1)[0]} && echo ok > /tmp/www{path} "
        f"&& exec httpd -f -p {service.port} -h /tmp/www",
    ]


def build_services(stack: ComputeStack) -> dict[str, FargateWebService]:
    return {name: _service(stack, name, spec) for name, spec in stack.cfg.services.items()}


def _service(stack: ComputeStack, name: str, spec: ServiceConfig) -> FargateWebService:
    cfg, compute = stack.cfg, stack.cfg.compute
    image, repository = image_for(stack, cfg, name)
    placeholder = not spec.has_image
    command = list(spec.command) or (placeholder_command(spec) if placeholder else None)
    called = any(name in other.uses.services for other in cfg.services.values())
    service = FargateWebService(
        stack,
        f"Service-{name}",
        FargateWebServiceProps(
            cluster=stack.cluster,
            service_name=cfg.resource_name(name),
            image=image,
            command=command,
            port=spec.port,
            cpu=spec.cpu,
            memory_mib=spec.memory_mib,
            security_group=stack.security_groups.group(name),
            log_group=stack.service_log_group(name, spec),
            health_check_path=spec.health_check_path,
            read_only_root_filesystem=spec.read_only_root_filesystem,
            user=spec.user,
            min_healthy_percent=spec.min_healthy_percent,
            max_healthy_percent=spec.max_percent,
            health_grace_seconds=spec.health_grace_seconds,
            operator_shell=stack.operator_shell,
            spot_weight=spec.spot_weight,
            xray_daemon_image=compute.xray_daemon_image if compute.xray_sidecar else None,
            tracing=stack.tracing_daemon,
            routing=_routing(stack, name, spec),
            service_connect=(
                ServiceConnectProps(
                    namespace=stack.namespace,
                    serves=called,
                    discovery_name=name,
                    log_group=stack.service_log_group(name, spec),
                )
                if stack.uses_service_connect
                else None
            ),
            scaling=ScalingProps(
                min_tasks=spec.min_tasks,
                max_tasks=spec.max_tasks,
                cpu_target_percent=spec.cpu_target_percent,
                memory_target_percent=spec.memory_target_percent,
                requests_per_target=spec.requests_per_target,
                scale_out_cooldown_seconds=spec.scale_out_cooldown_seconds,
                scale_in_cooldown_seconds=spec.scale_in_cooldown_seconds,
                scheduled=[
                    ScheduledBounds(key, s.cron, s.min_tasks, s.max_tasks)
                    for key, s in spec.scheduled_capacity.items()
                ],
                time_zone=stack.time_zone,
            ),
        ),
    )
    task = service.task_definition
    # A placeholder never receives credentials: only a release of the product's own image does.
    wiring = wire(stack, task.task_role, spec.uses, with_credentials=not placeholder)
    environment = wiring.environment | dict(spec.environment) | {"PORT": str(spec.port)}
    for key, value in environment.items():
        service.container.add_environment(key, value)
    for key, secret in wiring.ecs_secrets().items():
        service.container.add_secret(key, secret)
    if wiring.secrets:
        stack.decrypt_secrets(task.obtain_execution_role())
    if repository is not None:
        grant_pull(stack, task.obtain_execution_role(), repository)
    stack.grant_metrics(task.task_role, name)
    if cfg.sleep is not None:
        _sleep(stack, service, spec)
    return service


def _routing(
    stack: ComputeStack, name: str, spec: ServiceConfig
) -> RoutingProps | NetworkRoutingProps | None:
    cfg = stack.cfg
    # Longer than the idle timeout, so open WebSockets drain before a task stops.
    drain = cfg.compute.idle_timeout_seconds + 30 if spec.sticky_sessions else 30
    if spec.expose is Exposure.NLB:
        return NetworkRoutingProps(
            listener=stack.entry.nlb_listeners[name],
            deregistration_delay_seconds=cfg.compute.idle_timeout_seconds + 30,
        )
    if spec.expose is Exposure.INTERNAL:
        return None
    domain = cfg.domain
    hosts = [domain.fqdn(h) for h in spec.hosts] if domain and spec.expose is Exposure.ALB else []
    return RoutingProps(
        listener=stack.entry.listener,
        priority=spec.rule_priority(name),
        path_patterns=spec.paths,
        host_headers=hosts,
        # Through CloudFront only: the secret header proves it. Direct clients carry none.
        required_header=(
            (ORIGIN_HEADER, stack.origin_verify_value)
            if spec.expose is Exposure.CLOUDFRONT
            else None
        ),
        sticky=spec.sticky_sessions,
        deregistration_delay_seconds=drain,
    )


def _sleep(stack: ComputeStack, service: FargateWebService, spec: ServiceConfig) -> None:
    """Asleep outside the awake hours: zero tasks, then the configured bounds again."""
    sleep = stack.cfg.sleep
    assert sleep is not None
    zone = stack.time_zone
    service.scalable.scale_on_schedule(
        "OffHoursStop",
        schedule=cron_schedule(sleep.sleep),
        min_capacity=0,
        max_capacity=0,
        time_zone=zone,
    )
    service.scalable.scale_on_schedule(
        "OffHoursStart",
        schedule=cron_schedule(sleep.wake),
        min_capacity=spec.min_tasks,
        max_capacity=spec.max_tasks,
        time_zone=zone,
    )


def operator_shell_policy(stack: ComputeStack) -> iam.ManagedPolicy:
    """ECS Exec for operators (no SSH anywhere): its channels have no resource-level
    permissions; session logs go to one encrypted log group, under the stack's key."""
    assert stack.exec_logs is not None
    return iam.ManagedPolicy(
        stack,
        "OperatorShell",
        description="ECS Exec: Session Manager channels and the encrypted session log",
        statements=[
            iam.PolicyStatement(
                actions=[
                    "ssmmessages:CreateControlChannel",
                    "ssmmessages:CreateDataChannel",
                    "ssmmessages:OpenControlChannel",
                    "ssmmessages:OpenDataChannel",
                    "logs:DescribeLogGroups",
                ],
                resources=["*"],
            ),
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                resources=[f"{stack.exec_logs.log_group_arn}"],
            ),
            iam.PolicyStatement(actions=["kms:Decrypt"], resources=[stack.key.key_arn]),
        ],
    )
