"""The AI provider: {"input": <text>} POSTed over HTTPS with the key from Secrets Manager as a
bearer token; the answer is JSON. Every attempt (timeout, retries with backoff on network errors,
429 and 5xx; any other 4xx refused at once, see `http`) is measured in CloudWatch Embedded Metric
Format: AiApiCalls counts it, AiLatency times it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shared import http
from shared.logs import Log
from shared.metrics import Metrics
from shared.secrets import Secret

CALLS, LATENCY = "AiApiCalls", "AiLatency"
METRIC_NAMES = (CALLS, LATENCY)


def retry_from_env(environ: Mapping[str, str], timeout_seconds: float) -> http.Retry:
    """The provider's retry settings: AI_TIMEOUT_SECONDS (default `timeout_seconds`), AI_ATTEMPTS
    (default 3) and AI_BACKOFF_SECONDS (default 1)."""
    return http.Retry(
        timeout_seconds=float(environ.get("AI_TIMEOUT_SECONDS", str(timeout_seconds))),
        attempts=int(environ.get("AI_ATTEMPTS", "3")),
        backoff_seconds=float(environ.get("AI_BACKOFF_SECONDS", "1")),
    )


class Provider:
    """Calls to the AI provider at `url`; `emit`: the metrics every attempt puts, of
    METRIC_NAMES, in that order. Errors and logs name the "AI provider"."""

    def __init__(
        self,
        url: str,
        key: Secret,
        metrics: Metrics,
        retry: http.Retry,
        log: Log,
        *,
        emit: Sequence[str] = METRIC_NAMES,
    ) -> None:
        unknown = [name for name in emit if name not in METRIC_NAMES]
        if unknown:
            raise ValueError(f"unknown AI metrics {unknown}: not one of {METRIC_NAMES}")
        self.url, self.key, self.metrics, self.retry = url, key, metrics, retry
        self.emit = tuple(emit)
        self.client = http.Client("AI provider", log)

    def ask(self, text: str, **properties: Any) -> Any:
        """The provider's JSON answer to `text`. Each attempt's metrics carry `properties` (e.g.
        job_id, searchable in the logs) and the attempt's HTTP status (None: no answer)."""

        def measured(status: int | None, latency_ms: float) -> None:
            values = {CALLS: (1, "Count"), LATENCY: (round(latency_ms, 1), "Milliseconds")}
            self.metrics.put(
                {name: values[name] for name in self.emit}, **properties, status=status
            )

        raw = self.client.post_json(
            self.url,
            {"input": text},
            {"Authorization": f"Bearer {self.key.get()}"},
            self.retry,
            on_attempt=measured,
        )
        return self.client.json(raw)
