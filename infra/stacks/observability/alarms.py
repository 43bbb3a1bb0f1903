"""Alarms and dashboard widgets for everything the other stacks registered, per tier, with the
stage's per-signal thresholds (`observability.alarms`). Nothing here names a service, a
function or a queue: adding one to the product's config adds its alarms."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, TypedDict

import cdk_monitoring_constructs as cmc
from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_scheduler as scheduler

from constructs_lib.durations import minutes, seconds
from constructs_lib.monitoring import Inventory, MonitoredFunction, custom_alarms, levels
from infra.config.observability import Comparison, CustomMetric

if TYPE_CHECKING:
    from infra.stacks.data import DataStack
    from infra.stacks.observability import ObservabilityStack

MINUTE = minutes(1)
GIB = 1024**3
ABOVE = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
BELOW = cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD
BREACHING = cloudwatch.TreatMissingData.BREACHING

Graphed = cloudwatch.Metric | cloudwatch.MathExpression
"""A metric cdk-monitoring-constructs can graph and alarm on (no other kind of IMetric)."""


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


def monitor(stack: ObservabilityStack, inventories: Iterable[Inventory], data: DataStack) -> None:
    merged = Inventory()
    for inventory in inventories:
        merged.services += inventory.services
        merged.functions += inventory.functions
        merged.load_balancers += inventory.load_balancers
        merged.network_load_balancers += inventory.network_load_balancers
        merged.schedule_groups |= inventory.schedule_groups
    for alb in merged.load_balancers:
        _load_balancer(stack, alb)
    _services(stack, merged)
    _functions(stack, merged.functions)
    _database(stack, data)
    _cache(stack)
    _schedules(stack, merged.schedule_groups)
    _custom_metrics(stack)


def _schedules(stack: ObservabilityStack, groups: dict[str, scheduler.IScheduleGroup]) -> None:
    threshold = stack.cfg.observability.alarms.schedule_dropped
    for name, group in groups.items():
        dropped = group.metric_dropped(period=seconds(threshold.period_seconds), statistic="Sum")
        stack.monitoring.monitor_custom(
            alarm_friendly_name=f"{name}-schedules",
            human_readable_name=f"Schedules: {name}",
            metric_groups=[
                cmc.CustomMetricGroup(
                    title="Dropped calls",
                    metrics=[_with_alarm(dropped, "dropped", custom_alarms(threshold, ABOVE))],
                )
            ],
        )


def _load_balancer(stack: ObservabilityStack, alb: elbv2.ApplicationLoadBalancer) -> None:
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
                    _with_alarm(error_rate, "5xx-rate", custom_alarms(a.alb_5xx_percent, ABOVE)),
                    _with_alarm(errors, "5xx-count", custom_alarms(a.alb_5xx_count, ABOVE)),
                    _with_alarm(client_errors, "4xx-burst", custom_alarms(a.alb_4xx_count, ABOVE)),
                ],
            ),
            cmc.CustomMetricGroup(
                title="Latency p50 / p95 / p99 (s)",
                metrics=[
                    latency["p50"],
                    _with_alarm(
                        latency["p95"], "latency-p95", custom_alarms(a.latency_p95_seconds, ABOVE)
                    ),
                    _with_alarm(
                        latency["p99"], "latency-p99", custom_alarms(a.latency_p99_seconds, ABOVE)
                    ),
                ],
            ),
        ],
    )


def _services(stack: ObservabilityStack, inventory: Inventory) -> None:
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
            _tasks_missing(stack, service.name, service.service)
        _error_logs(stack, service.name, service.log_group)


def _tasks_missing(stack: ObservabilityStack, name: str, service: object) -> None:
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
                    _with_alarm(missing, "missing", custom_alarms(a.service_tasks_missing, ABOVE))
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
                metrics=[_with_alarm(errors, "errors", custom_alarms(a.error_logs, ABOVE))],
            )
        ],
    )


def _functions(stack: ObservabilityStack, functions: list[MonitoredFunction]) -> None:
    a = stack.cfg.observability.alarms
    for fn in functions:
        duration = a.function_duration_percent
        stack.monitoring.monitor_lambda_function(
            lambda_function=fn.function,
            alarm_friendly_name=fn.name,
            human_readable_name=f"Function {fn.name}",
            add_fault_count_alarm=levels(
                a.function_errors, cmc.ErrorCountThreshold, "max_error_count"
            ),
            add_throttles_count_alarm=levels(
                a.function_throttles, cmc.ErrorCountThreshold, "max_error_count"
            ),
            add_latency_p99_alarm=levels(
                duration,
                cmc.LatencyThreshold,
                "max_latency",
                convert=_share_of(fn.timeout_seconds),
            ),
        )
        if fn.queue is not None and fn.dead_letters is not None:
            stack.monitoring.monitor_sqs_queue_with_dlq(
                queue=fn.queue,
                dead_letter_queue=fn.dead_letters,
                alarm_friendly_name=f"{fn.name}-queue",
                human_readable_name=f"Queue of {fn.name}",
                add_queue_max_message_age_alarm=levels(
                    a.queue_oldest_message_seconds, cmc.MaxMessageAgeThreshold, "max_age_in_seconds"
                ),
                add_dead_letter_queue_max_size_alarm=levels(
                    a.dead_letters, cmc.MaxMessageCountThreshold, "max_message_count"
                ),
            )
        elif fn.dead_letters is not None:
            stack.monitoring.monitor_sqs_queue(
                queue=fn.dead_letters,
                alarm_friendly_name=f"{fn.name}-dlq",
                human_readable_name=f"Failed events of {fn.name}",
                add_queue_max_size_alarm=levels(
                    a.dead_letters, cmc.MaxMessageCountThreshold, "max_message_count"
                ),
            )


def _share_of(timeout_seconds: int) -> Callable[[float], Duration]:
    """A percentage of a function's timeout, as a duration."""
    return lambda percent: Duration.millis(int(timeout_seconds * 10 * percent))


def _database(stack: ObservabilityStack, data: DataStack) -> None:
    a = stack.cfg.observability.alarms
    database = data.database.database
    cpu = levels(a.db_cpu_percent, cmc.UsageThreshold, "max_usage_percent")
    connections = levels(a.db_connections, cmc.HighConnectionCountThreshold, "max_connection_count")
    if isinstance(database, rds.DatabaseCluster):
        stack.monitoring.monitor_aurora_cluster(
            cluster=database,
            alarm_friendly_name="db",
            human_readable_name="Database (Aurora)",
            add_cpu_usage_alarm=cpu,
            add_max_connection_count_alarm=connections,
        )
    else:
        stack.monitoring.monitor_rds_instance(
            instance=database,
            alarm_friendly_name="db",
            human_readable_name="Database",
            add_cpu_usage_alarm=cpu,
            add_max_connection_count_alarm=connections,
            add_free_storage_space_alarm=levels(
                a.db_free_storage_gib,
                cmc.MinUsageCountThreshold,
                "min_count",
                convert=lambda gib: gib * GIB,
            ),
        )
    replica = data.database.read_replica
    if replica is not None:
        lag = replica.metric("ReplicaLag", period=MINUTE, statistic="Maximum")
        stack.monitoring.monitor_custom(
            alarm_friendly_name="db-replica",
            human_readable_name="Read replica",
            metric_groups=[
                cmc.CustomMetricGroup(
                    title="Replica lag (s)",
                    metrics=[
                        _with_alarm(lag, "lag", custom_alarms(a.db_replica_lag_seconds, ABOVE))
                    ],
                )
            ],
        )


def _cache(stack: ObservabilityStack) -> None:
    """ElastiCache reports per node: the worst node counts (the average for hit rate)."""
    cfg, a = stack.cfg, stack.cfg.observability.alarms
    cache = cfg.data.cache
    group = cfg.resource_name("cache")
    nodes = (
        [
            f"{group}-{shard:04d}-{node:03d}"
            for shard in range(1, cache.shards + 1)
            for node in range(1, cache.replicas_per_shard + 2)
        ]
        if cache.shards > 1
        else [f"{group}-{node:03d}" for node in range(1, cache.replicas_per_shard + 2)]
    )

    def combined(name: str, statistic: str, combine: str, period: int) -> cloudwatch.MathExpression:
        tag = "".join(c for c in name if c.isupper()).lower()  # ids unique within a graph
        using = {
            f"{tag}{index}": cloudwatch.Metric(
                namespace="AWS/ElastiCache",
                metric_name=name,
                dimensions_map={"CacheClusterId": node},
                statistic=statistic,
                period=seconds(period),
            )
            for index, node in enumerate(nodes)
        }
        return cloudwatch.MathExpression(
            expression=f"{combine}([{', '.join(using)}])",
            using_metrics=using,
            label=name,
            period=seconds(period),
        )

    stack.monitoring.monitor_custom(
        alarm_friendly_name="cache",
        human_readable_name=f"Cache ({cache.engine.value})",
        metric_groups=[
            cmc.CustomMetricGroup(
                title="Cache CPU and memory (%)",
                metrics=[
                    _with_alarm(
                        combined(
                            "EngineCPUUtilization",
                            "Maximum",
                            "MAX",
                            a.cache_cpu_percent.period_seconds,
                        ),
                        "cpu",
                        custom_alarms(a.cache_cpu_percent, ABOVE),
                    ),
                    _with_alarm(
                        combined(
                            "DatabaseMemoryUsagePercentage",
                            "Maximum",
                            "MAX",
                            a.cache_memory_percent.period_seconds,
                        ),
                        "memory",
                        custom_alarms(a.cache_memory_percent, ABOVE),
                    ),
                ],
            ),
            cmc.CustomMetricGroup(
                title="Evictions and hit rate",
                metrics=[
                    _with_alarm(
                        combined("Evictions", "Sum", "SUM", a.cache_evictions.period_seconds),
                        "evictions",
                        custom_alarms(a.cache_evictions, ABOVE),
                    ),
                    combined("CacheHitRate", "Average", "AVG", 60),
                ],
            ),
        ],
    )


def _custom_metrics(stack: ObservabilityStack) -> None:
    metrics = stack.cfg.observability.custom_metrics
    if not metrics:
        return
    stack.monitoring.monitor_custom(
        alarm_friendly_name="app",
        human_readable_name="Application metrics",
        metric_groups=[
            cmc.CustomMetricGroup(title=name, metrics=[_custom_metric(name, metric)])
            for name, metric in metrics.items()
        ],
    )


def _custom_metric(name: str, spec: CustomMetric) -> cmc.CustomMetricWithAlarm | Graphed:
    metric = cloudwatch.Metric(
        namespace=spec.namespace,
        metric_name=spec.metric,
        dimensions_map=dict(spec.dimensions) or None,
        statistic=spec.statistic,
        period=seconds(spec.threshold.period_seconds),
        label=spec.unit_label or spec.metric,
    )
    comparison = ABOVE if spec.comparison is Comparison.ABOVE else BELOW
    alarms = custom_alarms(spec.threshold, comparison)
    return _with_alarm(metric, name, alarms)


def _with_alarm(
    metric: Graphed, name: str, alarms: Mapping[str, cmc.CustomThreshold]
) -> cmc.CustomMetricWithAlarm | Graphed:
    """A metric with its alarm levels, or just the graph where the signal has none."""
    if not alarms:
        return metric
    return cmc.CustomMetricWithAlarm(metric=metric, alarm_friendly_name=name, add_alarm=alarms)
