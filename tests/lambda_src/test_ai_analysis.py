"""AI analysis against moto (DynamoDB, S3, Secrets Manager) and a local HTTP server standing in
for the AI provider."""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from types import ModuleType
from typing import Any

import pytest
from shared.env import NotConfiguredError

from tests.lambda_src.helpers import (
    AWS,
    UNREACHABLE,
    LocalServer,
    capture,
    create_bucket,
    create_secret,
    create_table,
    event,
    failed,
    load_handler,
    put_secret,
    record,
    s3_json,
    setenv,
    table_item,
)

TABLE, BUCKET, KEY = "ai-analysis-idempotency", "uploads", "sk-test-123"
ANALYSIS = {"labels": ["teamwork"], "sentiment": 0.8}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, moto: None, server: LocalServer) -> str:
    """Moto resources and the function's environment; the key secret's ARN."""
    server.answer = ANALYSIS
    setenv(
        monkeypatch,
        STAGE="dev",
        UPLOADS_BUCKET=BUCKET,
        IDEMPOTENCY_TABLE=TABLE,
        AI_API_URL=server.url("/v1/analyse"),
        AI_BACKOFF_SECONDS="0",
    )
    monkeypatch.delenv("METRICS_NAMESPACE", raising=False)
    create_table(TABLE)
    create_bucket(BUCKET)
    arn = create_secret("workshop/dev/ai-api-key", KEY)
    monkeypatch.setenv("AI_API_KEY_SECRET_ARN", arn)
    return arn


@pytest.fixture
def fn(aws: str) -> ModuleType:
    return load_handler("ai_analysis")


@pytest.fixture
def services(fn: ModuleType, metrics: list[dict[str, Any]], sleeps: list[float]) -> Any:
    """The real wiring, with EMF lines and backoff sleeps captured instead of printed/slept."""
    built = fn.services_from_env(os.environ, AWS)
    built.ai.metrics.write = capture(metrics)
    built.ai.retry = replace(built.ai.retry, sleep=sleeps.append)
    return built


def job(job_id: str = "j1", workshop_id: str = "w1", text: str = "We shipped it.") -> Any:
    return {"job_id": job_id, "workshop_id": workshop_id, "text": text}


def item(job_id: str) -> dict[str, Any] | None:
    return table_item(TABLE, job_id)


def stored(key: str) -> Any:
    return s3_json(BUCKET, key)


def calls(server: LocalServer) -> list[tuple[str | None, Any]]:
    return [(r.headers.get("authorization"), r.json()) for r in server.received]


def test_analysis_is_written_to_s3_and_recorded(
    fn: ModuleType, services: Any, server: LocalServer
) -> None:
    assert fn.run(event(record("m1", job())), services) == failed()
    assert calls(server) == [(f"Bearer {KEY}", {"input": "We shipped it."})]
    document = stored("analysis/w1/j1.json")
    assert document["analysis"] == ANALYSIS
    assert (document["job_id"], document["workshop_id"]) == ("j1", "w1")
    done = item("j1")
    assert done is not None
    assert done["status"] == "done"


def test_each_provider_call_is_an_emf_metric_on_stdout(
    fn: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    assert fn.handler(event(record("m1", job()))) == failed()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    (line,) = [entry for entry in lines if "_aws" in entry]
    (directive,) = line["_aws"]["CloudWatchMetrics"]
    assert directive == {
        "Namespace": "Workshop/App",
        "Dimensions": [["Stage"]],
        "Metrics": [
            {"Name": "AiApiCalls", "Unit": "Count"},
            {"Name": "AiLatency", "Unit": "Milliseconds"},
        ],
    }
    assert abs(line["_aws"]["Timestamp"] - time.time() * 1000) < 60_000
    assert (line["Stage"], line["AiApiCalls"], line["status"]) == ("dev", 1, 200)
    assert line["AiLatency"] >= 0


def test_duplicates_and_running_jobs_never_call_the_provider_twice(
    fn: ModuleType, services: Any, server: LocalServer
) -> None:
    assert fn.run(event(record("m1", job()), record("m2", job())), services) == failed()
    assert fn.run(event(record("m3", job())), services) == failed()  # a later redelivery
    assert services.store.claim("j2", time.time())  # another invocation is working on j2
    assert fn.run(event(record("m4", job("j2"))), services) == failed("m4")  # retried later
    assert len(server.received) == 1


def test_poison_messages_fail_alone(fn: ModuleType, services: Any, server: LocalServer) -> None:
    result = fn.run(
        event(
            record("bad-json", "{not json"),
            record("no-text", job(text="  ")),
            record("traversal", job(workshop_id="../other")),
            record("good", job("j3")),
        ),
        services,
    )
    assert result == failed("bad-json", "no-text", "traversal")
    assert len(server.received) == 1
    assert item("j1") is None  # never claimed


def test_throttling_and_server_errors_are_retried_with_backoff(
    fn: ModuleType,
    services: Any,
    metrics: list[dict[str, Any]],
    sleeps: list[float],
    server: LocalServer,
) -> None:
    services.ai.retry = replace(services.ai.retry, backoff_seconds=0.5)
    server.statuses = [503, 429]
    assert fn.run(event(record("m1", job())), services) == failed()
    assert len(server.received) == 3
    assert sleeps == [0.5, 1.0]  # exponential
    assert [m["status"] for m in metrics] == [503, 429, 200]  # every call is counted
    assert stored("analysis/w1/j1.json")["analysis"] == ANALYSIS


def test_a_refused_request_is_not_retried_and_the_claim_is_released(
    fn: ModuleType, services: Any, server: LocalServer
) -> None:
    server.statuses = [400]
    assert fn.run(event(record("m1", job())), services) == failed("m1")
    assert len(server.received) == 1
    assert item("j1") is None
    assert fn.run(event(record("m1", job())), services) == failed()  # the redelivery runs


def test_gives_up_after_the_last_attempt_and_a_redelivery_runs_again(
    fn: ModuleType, services: Any, server: LocalServer
) -> None:
    server.statuses = [500, 500, 500]
    assert fn.run(event(record("m1", job())), services) == failed("m1")
    assert len(server.received) == 3
    assert item("j1") is None
    assert fn.run(event(record("m1", job())), services) == failed()
    assert len(server.received) == 4


def test_an_unreachable_provider_times_out_and_fails_the_message(
    fn: ModuleType, services: Any, metrics: list[dict[str, Any]]
) -> None:
    services.ai.retry = replace(services.ai.retry, timeout_seconds=0.2)
    services.ai.url = UNREACHABLE
    assert fn.run(event(record("m1", job())), services) == failed("m1")
    assert [m["status"] for m in metrics] == [None, None, None]


def test_an_empty_key_fails_the_invocation_loudly(
    fn: ModuleType, aws: str, server: LocalServer
) -> None:
    put_secret(aws, " ")
    with pytest.raises(NotConfiguredError, match="is empty"):
        fn.handler(event(record("m1", job())))
    assert item("j1") is None  # released, so the message runs once the key is set
    assert server.received == []


def test_missing_or_insecure_configuration_is_named(
    fn: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("UPLOADS_BUCKET")
    monkeypatch.delenv("IDEMPOTENCY_TABLE")
    with pytest.raises(NotConfiguredError, match="UPLOADS_BUCKET, IDEMPOTENCY_TABLE"):
        fn.handler(event(record("m1", job())))
    monkeypatch.setenv("UPLOADS_BUCKET", BUCKET)
    monkeypatch.setenv("IDEMPOTENCY_TABLE", TABLE)
    monkeypatch.setenv("AI_API_URL", "http://ai.example.com/v1")
    with pytest.raises(NotConfiguredError, match="https://"):
        fn.handler(event(record("m1", job())))
