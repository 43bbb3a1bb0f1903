"""Alarms on the way in and the services behind it: the load balancer (5xx rate and count,
4xx bursts, latency), each Fargate service (CPU, memory, storage, target health, tasks below
desired) and its ERROR/FATAL log lines. A sleeping stage gets no host or task-count alarms."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

import cdk_monitoring_constructs as cmc
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs

from constructs_lib.durations import seconds
from constructs_lib.monitoring import Inventory, custom_alarms, levels
from infra.stacks.observability.alarm_metrics import ABOVE, BREACHING, MINUTE, with_alarm

if TYPE_CHECKING:
    from infra.stacks.observability import ObservabilityStack


class _TaskUsage(TypedDict):
    """Usage alarms every Fargate service gets."""

    add_cpu_usage_alarm: dict[str, cmc.UsageThreshold]
    add_memory_usage_alarm: dict[str, cmc.UsageThreshold]
    add_ephermal_storage_usage_alarm: dict[str, cmc.UsageThreshold]


class _TargetHealth(TypedDict, total=False):
    """Target-health alarms of a service behind a load balancer (none on a sleeping stage)."""

    add_healthy_task_count_alarm: dict[str, cmc.HealthyTaskCountThreshold]
    add_unhealthy_task_count_alarm: dict[str, cmc.UnhealthyTaskCountThreshold]


class _ServiceNames(TypedDict):
    alarm_friendly_name: str
    human_readable_name: str
    min_auto_scaling_task_count: int
    max_auto_scaling_task_count: int


def monitor_load_balancer(stack: ObservabilityStack, alb: elbv2.ApplicationLoadBalancer) -> None:
    a = stack.cfg.observability.alarms
    metrics = alb.metrics
    requests = metrics.request_count(period=MINUTE)
    elb_5xx = metrics.http_code_elb(elbv2.HttpCodeElb.ELB_5XX_COUNT, period=MINUTE)
    target_5xx = metrics.http_code_target(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=MINUTE)
    error_rate = cloudwatch.MathExpression(
        expression="100 * (FILL(elb, 0) + FILL(target, 0)) / IF(requests > 0, requests, 1)",
        using_metrics={"elb": elb_5xx, "target": target_5xx, "requests": requests},
        label="5xx %",
        period=seconds(a.alb_5xx_percent.period_seconds),
    )
    errors = cloudwatch.MathExpression(
        # Ids of their own: one graph shows both expressions, maybe over different periods.
        expression="FILL(elbErrors, 0) + FILL(targetErrors, 0)",
        using_metrics={
            "elbErrors": metrics.http_code_elb(
                elbv2.HttpCodeElb.ELB_5XX_COUNT,
                period=seconds(a.alb_5xx_count.period_seconds),
            ),
            "targetErrors": metrics.http_code_target(
                elbv2.HttpCodeTarget.TARGET_5XX_COUNT,
                period=seconds(a.alb_5xx_count.period_seconds),
            ),
        },
        label="5xx responses",
        period=seconds(a.alb_5xx_count.period_seconds),
    )
    client_errors = metrics.http_code_elb(
        elbv2.HttpCodeElb.ELB_4XX_COUNT, period=seconds(a.alb_4xx_count.period_seconds)
    )
    latency = {
        stat: metrics.target_response_time(statistic=stat, period=MINUTE)
        for stat in ("p50", "p95", "p99")
    }
    stack.monitoring.monitor_custom(
        alarm_friendly_name="alb",
        human_readable_name="Load balancer",
        metric_groups=[
            cmc.CustomMetricGroup(
                title="Requests and errors",
                metrics=[
                    requests,
                    with_alarm(error_rate, "5xx-rate", custom_alarms(a.alb_5xx_percent, ABOVE)),
                    with_alarm(errors, "5xx-count", custom_alarms(a.alb_5xx_count, ABOVE)),
                    with_alarm(client_errors, "4xx-burst", custom_alarms(a.alb_4xx_count, ABOVE)),
                ],
            ),
            cmc.CustomMetricGroup(
                title="Latency p50 / p95 / p99 (s)",
                metrics=[
                    latency["p50"],
                    with_alarm(
                        latency["p95"], "latency-p95", custom_alarms(a.latency_p95_seconds, ABOVE)
                    ),
                    with_alarm(
                        latency["p99"], "latency-p99", custom_alarms(a.latency_p99_seconds, ABOVE)
                    ),
                ],
            ),
        ],
    )


def monitor_services(stack: ObservabilityStack, inventory: Inventory) -> None:
    cfg = stack.cfg
    a = cfg.observability.alarms
    albs = inventory.load_balancers
    nlbs = inventory.network_load_balancers
    # A sleeping stage has no tasks at night: host and task-count alarms would fire every night.
    awake_only = cfg.sleep is not None
    for service in inventory.services:
        usage: _TaskUsage = {
            "add_cpu_usage_alarm": levels(
                a.service_cpu_percent, cmc.UsageThreshold, "max_usage_percent"
            ),
            "add_memory_usage_alarm": levels(
                a.service_memory_percent, cmc.UsageThreshold, "max_usage_percent"
            ),
            "add_ephermal_storage_usage_alarm": levels(
                a.service_storage_percent, cmc.UsageThreshold, "max_usage_percent"
            ),
        }
        hosts: _TargetHealth = (
            {}
            if awake_only
            else {
                "add_healthy_task_count_alarm": levels(
                    a.healthy_hosts_min,
                    cmc.HealthyTaskCountThreshold,
                    "min_healthy_tasks",
                    treat_missing_data_override=BREACHING,  # no data: nothing is healthy
                ),
                "add_unhealthy_task_count_alarm": levels(
                    a.unhealthy_hosts, cmc.UnhealthyTaskCountThreshold, "max_unhealthy_tasks"
                ),
            }
        )
        names: _ServiceNames = {
            "alarm_friendly_name": service.name,
            "human_readable_name": f"Service {service.name}",
            "min_auto_scaling_task_count": service.min_tasks,
            "max_auto_scaling_task_count": service.max_tasks,
        }
        target_group = service.target_group
        if isinstance(target_group, elbv2.ApplicationTargetGroup):
            stack.monitoring.monitor_fargate_application_load_balancer(
                fargate_service=service.service,
                application_load_balancer=albs[0],
                application_target_group=target_group,
                **usage,
                **hosts,
                **names,
            )
        elif isinstance(target_group, elbv2.NetworkTargetGroup):
            stack.monitoring.monitor_fargate_network_load_balancer(
                fargate_service=service.service,
                network_load_balancer=nlbs[0],
                network_target_group=target_group,
                **usage,
                **hosts,
                **names,
            )
        else:
            stack.monitoring.monitor_simple_fargate_service(
                fargate_service=service.service, **usage, **names
            )
        if not awake_only:
            _tasks_missing(stack, service.name)
        _error_logs(stack, service.name, service.log_group)


def _tasks_missing(stack: ObservabilityStack, name: str) -> None:
    a = stack.cfg.observability.alarms
    cluster = stack.cfg.resource_name("cluster")
    service_name = stack.cfg.resource_name(name)

    def insights(metric: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="ECS/ContainerInsights",
            metric_name=metric,
            dimensions_map={"ClusterName": cluster, "ServiceName": service_name},
            statistic="Average",
            period=MINUTE,
        )

    missing = cloudwatch.MathExpression(
        expression="FILL(desired, 0) - FILL(running, 0)",
        using_metrics={
            "desired": insights("DesiredTaskCount"),
            "running": insights("RunningTaskCount"),
        },
        label=f"{name} tasks missing",
        period=MINUTE,
    )
    stack.monitoring.monitor_custom(
        alarm_friendly_name=f"{name}-tasks",
        human_readable_name=f"Service {name}: tasks",
        metric_groups=[
            cmc.CustomMetricGroup(
                title=f"{name}: tasks below desired",
                metrics=[
                    with_alarm(missing, "missing", custom_alarms(a.service_tasks_missing, ABOVE))
                ],
            )
        ],
    )


def _error_logs(stack: ObservabilityStack, name: str, log_group: logs.ILogGroup) -> None:
    a = stack.cfg.observability.alarms
    errors = logs.MetricFilter(
        stack,
        f"Errors-{name}",
        log_group=log_group,
        filter_pattern=logs.FilterPattern.any_term("ERROR", "FATAL"),
        metric_namespace=f"{stack.cfg.project}/{stack.cfg.name}",
        metric_name=f"{name}-errors",
        metric_value="1",
        default_value=0,
    ).metric(statistic="Sum", period=seconds(a.error_logs.period_seconds))
    stack.monitoring.monitor_custom(
        alarm_friendly_name=f"{name}-logs",
        human_readable_name=f"Service {name}: ERROR log lines",
        metric_groups=[
            cmc.CustomMetricGroup(
                title=f"{name}: ERROR lines",
                metrics=[with_alarm(errors, "errors", custom_alarms(a.error_logs, ABOVE))],
            )
        ],
    )
