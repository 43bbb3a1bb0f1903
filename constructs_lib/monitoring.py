"""Monitoring by discovery: what a stack builds, it registers here (services, functions and their
queues, load balancers, the database, the cache), and the observability stack gives each one its
alarms and dashboard widgets because it exists, not because it is named there.

Alarms come from cdk-monitoring-constructs (its facade builds them, and the dashboard, inside
the jsii runtime: measured at +0.2 s for three stages); each alarm's level ("Warning" or
"Critical", the disambiguator) decides the topic it pages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, TypeVar

import cdk_monitoring_constructs as cmc
import jsii
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from constructs_lib.durations import seconds

LEVELS = {"warning": "Warning", "critical": "Critical"}
T = TypeVar("T")


@dataclass(frozen=True)
class MonitoredService:
    name: str
    service: ecs.FargateService
    log_group: logs.ILogGroup
    target_group: elbv2.ApplicationTargetGroup | elbv2.NetworkTargetGroup | None
    min_tasks: int
    max_tasks: int


@dataclass(frozen=True)
class MonitoredFunction:
    name: str
    function: lambda_.IFunction
    timeout_seconds: int
    dead_letters: sqs.IQueue | None
    """Failed async invocations, or the dead-letter queue of its own queue."""
    queue: sqs.IQueue | None = None
    forwards_alerts: bool = False
    """An alert forwarder: every alarm of its own is critical, since the warning path may be
    the very forwarder that is failing."""


@dataclass
class Inventory:
    """What one stack registers for monitoring."""

    services: list[MonitoredService] = field(default_factory=list)
    functions: list[MonitoredFunction] = field(default_factory=list)
    load_balancers: list[elbv2.ApplicationLoadBalancer] = field(default_factory=list)
    network_load_balancers: list[elbv2.NetworkLoadBalancer] = field(default_factory=list)
    schedule_groups: dict[str, scheduler.IScheduleGroup] = field(default_factory=dict)
    """By short name: their dropped calls (a target call that failed every retry) alarm."""


class Signal(Protocol):
    """A signal's alarm levels, as the config's Threshold describes them."""

    @property
    def periods(self) -> int: ...

    @property
    def period_seconds(self) -> int: ...

    def levels(self) -> Iterable[tuple[StrEnum, float]]:
        """(severity, value) per level the signal sets; severity "warning" or "critical"."""
        ...


@dataclass(frozen=True)
class Escalated:
    """A signal whose first level (the most sensitive one) is its only level, and critical."""

    signal: Signal

    @property
    def periods(self) -> int:
        return self.signal.periods

    @property
    def period_seconds(self) -> int:
        return self.signal.period_seconds

    def levels(self) -> list[tuple[StrEnum, float]]:
        found = list(self.signal.levels())
        if not found:
            return []
        severity, value = found[0]
        return [(type(severity)("critical"), value)]


def levels(
    signal: Signal,
    make: Callable[..., T],
    field_name: str,
    convert: Callable[[float], Any] = lambda v: v,
    **extra: Any,
) -> dict[str, T]:
    """{"Warning": make(...), "Critical": make(...)} for the levels a Threshold sets."""
    return {
        LEVELS[severity.value]: make(
            **{field_name: convert(value)},
            evaluation_periods=signal.periods,
            datapoints_to_alarm=signal.periods,
            period=seconds(signal.period_seconds),
            **extra,
        )
        for severity, value in signal.levels()
    }


@jsii.implements(cmc.IAlarmActionStrategy)
class Recorded:
    """An alarm action strategy that also keeps each alarm it is applied to: the facade's own
    `created_alarms_with_disambiguator` copies every alarm's whole description across the jsii
    bridge (a tenth of a second per stack)."""

    def __init__(self, inner: cmc.IAlarmActionStrategy) -> None:
        self.inner = inner
        self.alarms: list[cloudwatch.AlarmBase] = []

    def add_alarm_actions(self, *, alarm: cloudwatch.AlarmBase, **props: Any) -> None:
        self.alarms.append(alarm)
        props.setdefault("action", self.inner)  # the bridge leaves out the strategy itself
        self.inner.add_alarm_actions(alarm=alarm, **props)


class Monitoring(cmc.MonitoringFacade):
    """The facade, plus the alarms it created per level ("Warning", "Critical")."""

    levels: dict[str, Recorded]

    def alarms(self, level: str) -> list[cloudwatch.AlarmBase]:
        return list(self.levels[level].alarms) if level in self.levels else []

    @contextmanager
    def recording(self) -> Iterator[list[cloudwatch.AlarmBase]]:
        """The alarms (of every level) the facade creates inside the block, by identity: the
        very objects `alarms()` lists, whatever they are named."""
        marks = {level: len(recorded.alarms) for level, recorded in self.levels.items()}
        created: list[cloudwatch.AlarmBase] = []
        yield created
        for level, recorded in self.levels.items():
            created += recorded.alarms[marks[level] :]

    def alarm_names(self, level: str) -> list[str]:
        """The names as written in the template (an L2 alarm's `alarm_name` is a Ref)."""
        names = []
        for alarm in self.alarms(level):
            cfn = alarm.node.default_child
            assert isinstance(cfn, cloudwatch.CfnAlarm | cloudwatch.CfnCompositeAlarm)
            assert isinstance(cfn.alarm_name, str)
            names.append(cfn.alarm_name)
        return names


def facade(
    scope: Construct,
    construct_id: str,
    *,
    prefix: str,
    dashboard_name: str,
    topics: Mapping[str, sns.ITopic],
) -> Monitoring:
    """A facade whose Warning alarms notify the warning topic and Critical ones the critical
    topic, on ALARM and on OK (so recoveries are announced too)."""
    actions = {
        LEVELS[severity]: Recorded(
            cmc.SnsAlarmActionStrategy(on_alarm_topic=topic, on_ok_topic=topic)
        )
        for severity, topic in topics.items()
        if severity in LEVELS
    }
    monitoring = Monitoring(
        scope,
        construct_id,
        alarm_factory_defaults=cmc.AlarmFactoryDefaults(
            actions_enabled=True,
            alarm_name_prefix=prefix,
            disambiguator_action=actions,
        ),
        dashboard_factory=cmc.DefaultDashboardFactory(
            scope,
            f"{construct_id}Dashboards",
            dashboard_name_prefix=dashboard_name,
            create_dashboard=True,
            create_summary_dashboard=False,
            create_alarm_dashboard=False,
        ),
    )
    monitoring.levels = actions
    return monitoring


def custom_alarms(
    signal: Signal, comparison: cloudwatch.ComparisonOperator, **extra: Any
) -> dict[str, cmc.CustomThreshold]:
    """Levels for a metric of our own (math expressions, log filters, application metrics)."""
    return levels(
        signal,
        cmc.CustomThreshold,
        "threshold",
        comparison_operator=comparison,
        **extra,
    )
