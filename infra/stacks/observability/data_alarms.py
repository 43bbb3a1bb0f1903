"""Alarms on the data tier: the database (CPU, connections, free storage on instance engines,
read replica lag) and the cache, whose per-node metrics combine into the worst node (the
average for hit rate)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import cdk_monitoring_constructs as cmc
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_rds as rds

from constructs_lib.durations import seconds
from constructs_lib.monitoring import custom_alarms, levels
from infra.stacks.observability.alarm_metrics import ABOVE, MINUTE, with_alarm

if TYPE_CHECKING:
    from infra.stacks.data import DataStack
    from infra.stacks.observability import ObservabilityStack

GIB = 1024**3


def monitor_database(stack: ObservabilityStack, data: DataStack) -> None:
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
                        with_alarm(lag, "lag", custom_alarms(a.db_replica_lag_seconds, ABOVE))
                    ],
                )
            ],
        )


def monitor_cache(stack: ObservabilityStack) -> None:
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
                    with_alarm(
                        combined(
                            "EngineCPUUtilization",
                            "Maximum",
                            "MAX",
                            a.cache_cpu_percent.period_seconds,
                        ),
                        "cpu",
                        custom_alarms(a.cache_cpu_percent, ABOVE),
                    ),
                    with_alarm(
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
                    with_alarm(
                        combined("Evictions", "Sum", "SUM", a.cache_evictions.period_seconds),
                        "evictions",
                        custom_alarms(a.cache_evictions, ABOVE),
                    ),
                    combined("CacheHitRate", "Average", "AVG", 60),
                ],
            ),
        ],
    )
