"""CloudWatch Embedded Metric Format: a metric is a log line, no PutMetricData call."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

Values = Mapping[str, tuple[float, str]]
"""Metric name -> (value, unit), e.g. {"AiLatency": (12.5, "Milliseconds")}."""


def emf(
    namespace: str,
    dimensions: Mapping[str, str],
    metrics: Values,
    timestamp_ms: int,
    **properties: Any,
) -> str:
    """One EMF line: CloudWatch turns it into metrics; `properties` are searchable in the logs."""
    return json.dumps(
        {
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [
                    {
                        "Namespace": namespace,
                        "Dimensions": [list(dimensions)],
                        "Metrics": [
                            {"Name": name, "Unit": unit} for name, (_, unit) in metrics.items()
                        ],
                    }
                ],
            },
            **properties,
            **dimensions,
            **{name: value for name, (value, _) in metrics.items()},
        },
        default=str,
    )


class Metrics:
    """A namespace's metrics with the dimension Stage, printed to stdout (the function's log)."""

    def __init__(
        self,
        namespace: str,
        stage: str,
        write: Callable[[str], None] = print,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.namespace, self.stage, self.write, self.clock = namespace, stage, write, clock

    def put(self, metrics: Values, **properties: Any) -> None:
        line = emf(
            self.namespace, {"Stage": self.stage}, metrics, int(self.clock() * 1000), **properties
        )
        self.write(line)
