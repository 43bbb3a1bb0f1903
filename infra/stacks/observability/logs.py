"""Saved Logs Insights queries over the services' logs, and the rejected-flows metric of the
VPC flow log (graphed, not alarmed: scanners knock on every VPC)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import cdk_monitoring_constructs as cmc
from aws_cdk import aws_logs as logs

from constructs_lib.durations import minutes
from constructs_lib.monitoring import Inventory

if TYPE_CHECKING:
    from infra.stacks.network import NetworkStack
    from infra.stacks.observability import ObservabilityStack

QUERIES = {
    "error-rate": logs.QueryString(
        fields=["@timestamp", "@logStream"],
        filter_statements=["@message like /ERROR|FATAL/"],
        stats_statements=["count(*) as errors by bin(5m), @logStream"],
    ),
    "latency-percentiles": logs.QueryString(
        filter_statements=["ispresent(duration_ms)"],
        stats_statements=[
            "pct(duration_ms, 50) as p50, pct(duration_ms, 95) as p95, "
            "pct(duration_ms, 99) as p99 by bin(5m)"
        ],
    ),
    # Replace USER_ID when running it: everything one user did, newest first.
    "user-activity": logs.QueryString(
        fields=["@timestamp", "@logStream", "@message"],
        filter_statements=["user_id = 'USER_ID'"],
        sort="@timestamp desc",
        limit=200,
    ),
}


def saved_queries(stack: ObservabilityStack, inventory: Inventory) -> None:
    groups = [service.log_group for service in inventory.services]
    if not groups:
        return
    for name, query in QUERIES.items():
        logs.QueryDefinition(
            stack,
            f"Query-{name}",
            query_definition_name=f"{stack.cfg.project}/{stack.cfg.name}/{name}",
            query_string=query,
            log_groups=groups,
        )


def rejected_flows(stack: ObservabilityStack, network: NetworkStack) -> None:
    rejected = logs.MetricFilter(
        stack,
        "RejectedFlows",
        log_group=network.flow_logs,
        filter_pattern=logs.FilterPattern.literal(
            "[version, account, eni, source, destination, srcport, destport, protocol, "
            'packets, bytes, windowstart, windowend, action="REJECT", flowlogstatus]'
        ),
        metric_namespace="Platform/Network",
        metric_name=f"{stack.cfg.name}-RejectedFlows",
        metric_value="1",
    ).metric(statistic="Sum", period=minutes(5))
    stack.monitoring.monitor_custom(
        alarm_friendly_name="network",
        human_readable_name="Network",
        metric_groups=[cmc.CustomMetricGroup(title="Rejected VPC flows", metrics=[rejected])],
    )
