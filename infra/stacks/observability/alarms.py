"""Alarms and dashboard widgets for everything the other stacks registered, per tier, with the
stage's per-signal thresholds (`observability.alarms`). Nothing here names a service, a
function or a queue: adding one to the product's config adds its alarms.

Per tier: service_alarms (load balancers, services, their logs), function_alarms (functions,
queues, schedules), data_alarms (database, cache); the product's custom metrics are here."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import cdk_monitoring_constructs as cmc
from aws_cdk import aws_cloudwatch as cloudwatch

from constructs_lib.durations import seconds
from constructs_lib.monitoring import Inventory, custom_alarms
from infra.config.observability import Comparison, CustomMetric
from infra.stacks.observability.alarm_metrics import ABOVE, BELOW, Graphed, with_alarm
from infra.stacks.observability.data_alarms import monitor_cache, monitor_database
from infra.stacks.observability.function_alarms import monitor_functions, monitor_schedules
from infra.stacks.observability.service_alarms import monitor_load_balancer, monitor_services

if TYPE_CHECKING:
    from infra.stacks.data import DataStack
    from infra.stacks.observability import ObservabilityStack


def monitor(stack: ObservabilityStack, inventories: Iterable[Inventory], data: DataStack) -> None:
    merged = Inventory()
    for inventory in inventories:
        merged.services += inventory.services
        merged.functions += inventory.functions
        merged.load_balancers += inventory.load_balancers
        merged.network_load_balancers += inventory.network_load_balancers
        merged.schedule_groups |= inventory.schedule_groups
    for alb in merged.load_balancers:
        monitor_load_balancer(stack, alb)
    monitor_services(stack, merged)
    monitor_functions(stack, merged.functions)
    monitor_database(stack, data)
    monitor_cache(stack)
    monitor_schedules(stack, merged.schedule_groups)
    _custom_metrics(stack)


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
    return with_alarm(metric, name, alarms)
