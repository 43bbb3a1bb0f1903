"""What every alarm module here shares: standard periods and comparisons, the kinds of metric
cdk-monitoring-constructs graphs, and `with_alarm`, a graphed metric with its alarm levels."""

from __future__ import annotations

from collections.abc import Mapping

import cdk_monitoring_constructs as cmc
from aws_cdk import aws_cloudwatch as cloudwatch

from constructs_lib.durations import minutes

MINUTE = minutes(1)
ABOVE = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
BELOW = cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD
BREACHING = cloudwatch.TreatMissingData.BREACHING

Graphed = cloudwatch.Metric | cloudwatch.MathExpression
"""A metric cdk-monitoring-constructs can graph and alarm on (no other kind of IMetric)."""


def with_alarm(
    metric: Graphed, name: str, alarms: Mapping[str, cmc.CustomThreshold]
) -> cmc.CustomMetricWithAlarm | Graphed:
    """A metric with its alarm levels, or just the graph where the signal has none."""
    if not alarms:
        return metric
    return cmc.CustomMetricWithAlarm(metric=metric, alarm_friendly_name=name, add_alarm=alarms)
