"""Job worker handler against moto's DynamoDB and S3 (real API shapes, no AWS account)."""

from __future__ import annotations

import importlib.util
import io
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

HANDLER = Path(__file__).resolve().parents[2] / "lambda_src" / "job_worker" / "handler.py"
TABLE, BUCKET = "jobs-idempotency", "uploads"


def load_handler() -> ModuleType:
    spec = importlib.util.spec_from_file_location("job_worker_handler", HANDLER)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def worker(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-northeast-2")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("IDEMPOTENCY_TABLE", TABLE)
    monkeypatch.setenv("REPORTS_BUCKET", BUCKET)
    with mock_aws():
        boto3.client("dynamodb").create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "job_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        boto3.client("s3").create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"}
        )
        yield load_handler()


def record(message_id: str, body: Any) -> dict[str, Any]:
    text = body if isinstance(body, str) else json.dumps(body)
    return {"messageId": message_id, "body": text, "attributes": {"ApproximateReceiveCount": "1"}}


def event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def item(job_id: str) -> dict[str, Any] | None:
    table = boto3.resource("dynamodb").Table(TABLE)
    found: dict[str, Any] | None = table.get_item(Key={"job_id": job_id}).get("Item")
    return found


def counting(worker: ModuleType, monkeypatch: pytest.MonkeyPatch, fail_times: int = 0) -> list[str]:
    calls: list[str] = []

    def job(job: dict[str, Any]) -> dict[str, Any]:
        calls.append(job["job_id"])
        if len(calls) <= fail_times:
            raise ConnectionError("downstream unavailable")
        return {"ok": True}

    monkeypatch.setitem(worker.HANDLERS, "count", job)
    return calls


def test_daily_report_is_written_and_recorded(worker: ModuleType) -> None:
    result = worker.handler(
        event(
            record(
                "m1",
                {"job_id": "j1", "job_type": "daily-report", "payload": {"date": "2026-11-22"}},
            )
        )
    )
    assert result == {"batchItemFailures": []}
    report = boto3.client("s3").get_object(Bucket=BUCKET, Key="reports/daily/2026-11-22.json")
    assert json.loads(report["Body"].read())["job_id"] == "j1"
    stored = item("j1")
    assert stored is not None
    assert stored["status"] == "done"


def test_duplicate_delivery_is_processed_once(
    worker: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = counting(worker, monkeypatch)
    message = {"job_id": "j2", "job_type": "count"}
    assert worker.handler(event(record("m1", message))) == {"batchItemFailures": []}
    assert worker.handler(event(record("m2", message))) == {"batchItemFailures": []}  # redelivery
    assert worker.handler(event(record("m3", message), record("m4", message))) == {
        "batchItemFailures": []
    }
    assert calls == ["j2"]


def test_poison_message_fails_alone_and_goes_the_dlq_way(
    worker: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = counting(worker, monkeypatch)
    result = worker.handler(
        event(
            record("bad-json", "{not json"),
            record("unknown", {"job_id": "j3", "job_type": "no-such-job"}),
            record("good", {"job_id": "j4", "job_type": "count"}),
        )
    )
    # Only the poison messages return to the queue; after max_receive_count SQS dead-letters them.
    assert result == {
        "batchItemFailures": [{"itemIdentifier": "bad-json"}, {"itemIdentifier": "unknown"}]
    }
    assert calls == ["j4"]
    assert item("j3") is None  # never claimed


def test_failed_job_is_released_and_runs_on_redelivery(
    worker: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = counting(worker, monkeypatch, fail_times=1)
    message = record("m1", {"job_id": "j5", "job_type": "count"})
    assert worker.handler(event(message)) == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert item("j5") is None
    assert worker.handler(event(message)) == {"batchItemFailures": []}
    assert calls == ["j5", "j5"]


def test_job_claimed_by_a_running_invocation_is_retried_later(
    worker: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = counting(worker, monkeypatch)
    store = worker.Idempotency(TABLE)
    assert store.claim("j6", time.time())  # another invocation is working on it
    result = worker.handler(event(record("m1", {"job_id": "j6", "job_type": "count"})))
    assert result == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert calls == []


def test_an_expired_claim_is_taken_over(
    worker: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = counting(worker, monkeypatch)
    store = worker.Idempotency(TABLE)
    assert store.claim("j7", time.time() - 2 * worker.CLAIM_SECONDS)  # that invocation died
    assert worker.handler(event(record("m1", {"job_id": "j7", "job_type": "count"}))) == {
        "batchItemFailures": []
    }
    assert calls == ["j7"]


def test_scheduled_message_without_id_uses_the_message_id(
    worker: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = counting(worker, monkeypatch)
    scheduled = record("sched-1", {"job_type": "count"})
    worker.handler(event(scheduled))
    worker.handler(event(scheduled))  # the scheduler retried the same delivery
    assert calls == ["sched-1"]


def test_logs_are_one_json_object_per_line(
    worker: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    counting(worker, monkeypatch)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(worker.JsonFormatter())
    worker.logger.addHandler(handler)
    try:
        worker.handler(
            event(record("m1", {"job_id": "j8", "job_type": "count"}), record("m2", "oops"))
        )
    finally:
        worker.logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(entry["level"], entry["message"]) for entry in lines] == [
        ("INFO", "job done"),
        ("ERROR", "poison message"),
    ]
    assert lines[0]["job_id"] == "j8"
    assert lines[1]["message_id"] == "m2"
