"""Alarms on functions and what feeds them: errors, throttles and duration against the
timeout (paging for functions that forward alerts), their queues' oldest message and dead
letters, and calls EventBridge Scheduler dropped."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import cdk_monitoring_constructs as cmc
from aws_cdk import Duration
from aws_cdk import aws_scheduler as scheduler

from constructs_lib.durations import seconds
from constructs_lib.monitoring import Escalated, MonitoredFunction, Signal, custom_alarms, levels
from infra.stacks.observability.alarm_metrics import ABOVE, with_alarm

if TYPE_CHECKING:
    from infra.stacks.observability import ObservabilityStack


def monitor_functions(stack: ObservabilityStack, functions: list[MonitoredFunction]) -> None:
    for fn in functions:
        if fn.forwards_alerts:  # its alarms page, but stay out of service-down and the bake
            with stack.monitoring.recording() as created:
                _monitor_function(stack, fn)
            stack.forwarder_alarms += created
        else:
            _monitor_function(stack, fn)


def _monitor_function(stack: ObservabilityStack, fn: MonitoredFunction) -> None:
    a = stack.cfg.observability.alarms
    page: Callable[[Signal], Signal] = Escalated if fn.forwards_alerts else lambda s: s
    stack.monitoring.monitor_lambda_function(
        lambda_function=fn.function,
        alarm_friendly_name=fn.name,
        human_readable_name=f"Function {fn.name}",
        add_fault_count_alarm=levels(
            page(a.function_errors), cmc.ErrorCountThreshold, "max_error_count"
        ),
        add_throttles_count_alarm=levels(
            page(a.function_throttles), cmc.ErrorCountThreshold, "max_error_count"
        ),
        add_latency_p99_alarm=levels(
            page(a.function_duration_percent),
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
                page(a.dead_letters), cmc.MaxMessageCountThreshold, "max_message_count"
            ),
        )


def _share_of(timeout_seconds: int) -> Callable[[float], Duration]:
    """A percentage of a function's timeout, as a duration."""
    return lambda percent: Duration.millis(int(timeout_seconds * 10 * percent))


def monitor_schedules(
    stack: ObservabilityStack, groups: dict[str, scheduler.IScheduleGroup]
) -> None:
    threshold = stack.cfg.observability.alarms.schedule_dropped
    for name, group in groups.items():
        dropped = group.metric_dropped(period=seconds(threshold.period_seconds), statistic="Sum")
        stack.monitoring.monitor_custom(
            alarm_friendly_name=f"{name}-schedules",
            human_readable_name=f"Schedules: {name}",
            metric_groups=[
                cmc.CustomMetricGroup(
                    title="Dropped calls",
                    metrics=[with_alarm(dropped, "dropped", custom_alarms(threshold, ABOVE))],
                )
            ],
        )
