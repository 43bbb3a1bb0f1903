"""A Fargate service behind an ALB listener rule, an NLB listener, or neither (reached through
ECS Service Connect), with safe deployments and autoscaling.

Secure by default: private subnets without public IPs, read-only root filesystem with a
writable /tmp volume, a non-root user, deployment circuit breaker with rollback, and an alarm
that rolls a bad deployment back. Permissions that have no resource-level scope (X-Ray writes,
ECS Exec's channels) come from shared managed policies passed in, never from the task role's
own policy: a wildcard there is always a compliance finding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import TimeZone
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from constructs_lib.durations import days, minutes, seconds

HEALTH_INTERVAL = seconds(30)
HEALTH_RETRIES = 3
HEALTH_START_PERIOD = seconds(60)


@dataclass(frozen=True)
class ScheduledBounds:
    name: str
    cron: str
    """minute hour day-of-month month day-of-week."""
    min_tasks: int
    max_tasks: int


@dataclass(frozen=True)
class ScalingProps:
    min_tasks: int
    max_tasks: int
    cpu_target_percent: int = 70
    memory_target_percent: int = 75
    requests_per_target: int = 1000
    scale_out_cooldown_seconds: int = 60
    scale_in_cooldown_seconds: int = 300
    scheduled: Sequence[ScheduledBounds] = field(default_factory=tuple)
    time_zone: TimeZone = TimeZone.ASIA_SEOUL


@dataclass(frozen=True)
class RoutingProps:
    listener: elbv2.ApplicationListener
    priority: int
    path_patterns: Sequence[str]
    host_headers: Sequence[str] = ()
    required_header: tuple[str, str] | None = None
    """(name, value) a request must carry, e.g. CloudFront's origin-verify header."""
    sticky: bool = False
    deregistration_delay_seconds: int = 30


@dataclass(frozen=True)
class NetworkRoutingProps:
    """TLS-terminating NLB listener; clients stick to a task by source IP."""

    listener: elbv2.NetworkListener
    deregistration_delay_seconds: int = 30


@dataclass(frozen=True)
class ServiceConnectProps:
    namespace: str
    serves: bool
    """Other services call this one at http://<discovery_name>:<port>."""
    discovery_name: str
    log_group: logs.ILogGroup


EXEC_AGENT_PATHS = (
    ("exec-agents", "/managed-agents"),
    ("exec-agent-state", "/var/lib/amazon/ssm"),
    ("exec-agent-logs", "/var/log/amazon/ssm"),
)
"""Where ECS Exec's managed agent writes inside the container."""


@dataclass(frozen=True)
class FargateWebServiceProps:
    cluster: ecs.ICluster
    service_name: str
    image: ecs.ContainerImage
    port: int
    cpu: int
    memory_mib: int
    security_group: ec2.ISecurityGroup
    log_group: logs.ILogGroup
    health_check_path: str
    routing: RoutingProps | NetworkRoutingProps | None
    """None: no load balancer (internal service, reached through Service Connect)."""
    scaling: ScalingProps
    command: Sequence[str] | None = None
    read_only_root_filesystem: bool = True
    user: str | None = "1000"
    min_healthy_percent: int = 100
    max_healthy_percent: int = 200
    operator_shell: iam.IManagedPolicy | None = None
    """ECS Exec: the stack's policy for its channels and session logs."""
    tracing: iam.IManagedPolicy | None = None
    """With xray_daemon_image: the stack's X-Ray write policy."""
    service_connect: ServiceConnectProps | None = None
    health_grace_seconds: int | None = None
    spot_weight: int = 0
    container_health_check: bool = True
    """Probes the health path from inside the task (needs wget in the image)."""
    xray_daemon_image: str | None = None
    """Adds the X-Ray daemon as a sidecar; the app reaches it at 127.0.0.1:2000."""


class FargateWebService(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: FargateWebServiceProps) -> None:
        super().__init__(scope, construct_id)
        self.task_definition = ecs.FargateTaskDefinition(
            self,
            "Task",
            family=props.service_name,
            cpu=props.cpu,
            memory_limit_mib=props.memory_mib,
            volumes=[ecs.Volume(name="tmp")]
            + (
                [ecs.Volume(name=volume) for volume, _ in EXEC_AGENT_PATHS]
                if props.operator_shell is not None
                else []
            ),
        )
        health = (
            ecs.HealthCheck(
                command=[
                    "CMD-SHELL",
                    f"wget -q -O /dev/null http://127.0.0.1:{props.port}"
                    f"{props.health_check_path} || exit 1",
                ],
                interval=HEALTH_INTERVAL,
                retries=HEALTH_RETRIES,
                start_period=HEALTH_START_PERIOD,
                timeout=seconds(5),
            )
            if props.container_health_check
            else None
        )
        self.container = self.task_definition.add_container(
            "app",
            image=props.image,
            command=list(props.command) if props.command else None,
            port_mappings=[ecs.PortMapping(container_port=props.port, name="http")],
            logging=ecs.LogDrivers.aws_logs(stream_prefix="app", log_group=props.log_group),
            readonly_root_filesystem=props.read_only_root_filesystem,
            user=props.user,
            health_check=health,
        )
        self.container.add_mount_points(
            ecs.MountPoint(container_path="/tmp", source_volume="tmp", read_only=False)
        )
        if props.operator_shell is not None:
            # ECS Exec's agent writes here; AWS documents Exec as unsupported on a read-only
            # root, and these writable task-storage mounts are the known way to keep both
            # (aws/containers-roadmap#1359). The root file system stays read-only.
            self.container.add_mount_points(
                *(
                    ecs.MountPoint(container_path=path, source_volume=volume, read_only=False)
                    for volume, path in EXEC_AGENT_PATHS
                )
            )
        if props.xray_daemon_image:
            self._xray_sidecar(props.xray_daemon_image, props.log_group, props.tracing)
        strategies = [ecs.CapacityProviderStrategy(capacity_provider="FARGATE", weight=1, base=1)]
        if props.spot_weight:
            strategies.append(
                ecs.CapacityProviderStrategy(
                    capacity_provider="FARGATE_SPOT", weight=props.spot_weight
                )
            )
        grace = props.health_grace_seconds or int(
            HEALTH_START_PERIOD.to_seconds() + HEALTH_INTERVAL.to_seconds() * HEALTH_RETRIES
        )
        self.service = ecs.FargateService(
            self,
            "Service",
            service_name=props.service_name,
            cluster=props.cluster,
            task_definition=self.task_definition,
            desired_count=props.scaling.min_tasks,
            security_groups=[props.security_group],
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            assign_public_ip=False,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            min_healthy_percent=props.min_healthy_percent,
            max_healthy_percent=props.max_healthy_percent,
            # Long enough for the container health check to pass before the LB's verdict counts.
            health_check_grace_period=seconds(grace) if props.routing else None,
            capacity_provider_strategies=strategies,
            propagate_tags=ecs.PropagatedTagSource.SERVICE,
            service_connect_configuration=_service_connect(props),
        )
        if props.operator_shell is not None:
            # Set on the resource, with the channel permissions from the shared policy: CDK's own
            # switch would write them (Resource *) into the task role's policy.
            cfn_service = self.service.node.default_child
            assert isinstance(cfn_service, ecs.CfnService)
            cfn_service.enable_execute_command = True
            self.task_definition.task_role.add_managed_policy(props.operator_shell)
        self.target_group: elbv2.ApplicationTargetGroup | elbv2.NetworkTargetGroup | None = None
        self.deployment_alarm: cloudwatch.Alarm | None = None
        if props.routing is not None:
            self._deployment_alarm(props, props.routing)
        self.scalable = self._scale(props.scaling)

    def _deployment_alarm(
        self, props: FargateWebServiceProps, routing: RoutingProps | NetworkRoutingProps
    ) -> None:
        target_group: elbv2.ApplicationTargetGroup | elbv2.NetworkTargetGroup
        if isinstance(routing, RoutingProps):
            target_group = self._route(props, routing)
            failing = target_group.metrics.http_code_target(
                elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=minutes(1), statistic="Sum"
            )
            threshold, what = 10, "targets answer with 5xx"
        else:
            target_group = self._route_network(props, routing)
            failing = target_group.metrics.un_healthy_host_count(period=minutes(1))
            threshold, what = 1, "new targets fail their health checks"
        self.target_group = target_group
        self.deployment_alarm = cloudwatch.Alarm(
            self,
            "Deployment5xx",
            alarm_name=f"{props.service_name}-deployment-5xx",
            alarm_description=f"Rolls a deployment back when {what}",
            metric=failing,
            threshold=threshold,
            evaluation_periods=2,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.service.enable_deployment_alarms(
            [self.deployment_alarm.alarm_name], behavior=ecs.AlarmBehavior.ROLLBACK_ON_ALARM
        )

    def _xray_sidecar(
        self, image: str, log_group: logs.ILogGroup, tracing: iam.IManagedPolicy | None
    ) -> None:
        assert tracing is not None, "an X-Ray sidecar needs the stack's tracing policy"
        self.task_definition.add_container(
            "xray-daemon",
            image=ecs.ContainerImage.from_registry(image),
            essential=False,  # tracing must never take the service down
            cpu=32,
            memory_reservation_mib=256,
            port_mappings=[ecs.PortMapping(container_port=2000, protocol=ecs.Protocol.UDP)],
            logging=ecs.LogDrivers.aws_logs(stream_prefix="xray", log_group=log_group),
            readonly_root_filesystem=True,
        )
        self.container.add_environment("AWS_XRAY_DAEMON_ADDRESS", "127.0.0.1:2000")
        self.task_definition.task_role.add_managed_policy(tracing)

    def _route(
        self, props: FargateWebServiceProps, routing: RoutingProps
    ) -> elbv2.ApplicationTargetGroup:
        conditions = [elbv2.ListenerCondition.path_patterns(list(routing.path_patterns))]
        if routing.host_headers:
            conditions.append(elbv2.ListenerCondition.host_headers(list(routing.host_headers)))
        if routing.required_header:
            name, value = routing.required_header
            conditions.append(elbv2.ListenerCondition.http_header(name, [value]))
        target_group = elbv2.ApplicationTargetGroup(
            self,
            "Targets",
            vpc=props.cluster.vpc,
            port=props.port,
            protocol=elbv2.ApplicationProtocol.HTTP,
            target_type=elbv2.TargetType.IP,
            targets=[
                self.service.load_balancer_target(container_name="app", container_port=props.port)
            ],
            health_check=target_health(props.health_check_path),
            deregistration_delay=seconds(routing.deregistration_delay_seconds),
            stickiness_cookie_duration=days(1) if routing.sticky else None,
        )
        elbv2.ApplicationListenerRule(
            self,
            "Rule",
            listener=routing.listener,
            priority=routing.priority,
            conditions=conditions,
            target_groups=[target_group],
        )
        return target_group

    def _route_network(
        self, props: FargateWebServiceProps, routing: NetworkRoutingProps
    ) -> elbv2.NetworkTargetGroup:
        target_group = elbv2.NetworkTargetGroup(
            self,
            "Targets",
            vpc=props.cluster.vpc,
            port=props.port,
            protocol=elbv2.Protocol.TCP,
            target_type=elbv2.TargetType.IP,
            targets=[
                self.service.load_balancer_target(container_name="app", container_port=props.port)
            ],
            health_check=target_health(props.health_check_path, elbv2.Protocol.HTTP),
            deregistration_delay=seconds(routing.deregistration_delay_seconds),
        )
        target_group.set_attribute("stickiness.enabled", "true")
        target_group.set_attribute("stickiness.type", "source_ip")
        routing.listener.add_target_groups("Targets", target_group)
        return target_group

    def _scale(self, scaling: ScalingProps) -> ecs.ScalableTaskCount:
        scalable = self.service.auto_scale_task_count(
            min_capacity=scaling.min_tasks, max_capacity=scaling.max_tasks
        )
        cooldowns: dict[str, Any] = {
            "scale_in_cooldown": seconds(scaling.scale_in_cooldown_seconds),
            "scale_out_cooldown": seconds(scaling.scale_out_cooldown_seconds),
        }
        scalable.scale_on_cpu_utilization(
            "Cpu", target_utilization_percent=scaling.cpu_target_percent, **cooldowns
        )
        scalable.scale_on_memory_utilization(
            "Memory", target_utilization_percent=scaling.memory_target_percent, **cooldowns
        )
        if isinstance(self.target_group, elbv2.ApplicationTargetGroup):  # NLBs count no requests
            scalable.scale_on_request_count(
                "Requests",
                requests_per_target=scaling.requests_per_target,
                target_group=self.target_group,
                **cooldowns,
            )
        for bounds in scaling.scheduled:
            scalable.scale_on_schedule(
                bounds.name,
                schedule=cron_schedule(bounds.cron),
                min_capacity=bounds.min_tasks,
                max_capacity=bounds.max_tasks,
                time_zone=scaling.time_zone,
            )
        return scalable


def _service_connect(props: FargateWebServiceProps) -> ecs.ServiceConnectProps | None:
    connect = props.service_connect
    if connect is None:
        return None
    return ecs.ServiceConnectProps(
        namespace=connect.namespace,
        services=(
            [
                ecs.ServiceConnectService(
                    port_mapping_name="http", discovery_name=connect.discovery_name, port=props.port
                )
            ]
            if connect.serves
            else None
        ),
        log_driver=ecs.LogDrivers.aws_logs(stream_prefix="connect", log_group=connect.log_group),
    )


def target_health(path: str, protocol: elbv2.Protocol | None = None) -> elbv2.HealthCheck:
    """The load balancer's view of a task: two passes in, three failures out, every 15 s."""
    return elbv2.HealthCheck(
        protocol=protocol,
        path=path,
        healthy_threshold_count=2,
        unhealthy_threshold_count=3,
        interval=seconds(15),
    )


def cron_schedule(cron: str) -> appscaling.Schedule:
    """`minute hour day-of-month month day-of-week` as an Application Auto Scaling schedule."""
    minute, hour, day, month, week_day = cron.split()
    return appscaling.Schedule.cron(
        minute=minute,
        hour=hour,
        day=None if day == "*" else day,
        month=month,
        week_day=None if week_day == "*" else week_day,
    )
