"""Job worker handler against moto's DynamoDB and S3 (real API shapes, no AWS account)."""

from __future__ import annotations

import io
import json
import logging
import time
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from shared.logs import JsonFormatter

from tests.lambda_src.helpers import (
    AWS,
    create_bucket,
    create_table,
    event,
    failed,
    load_handler,
    record,
    setenv,
    table_item,
)

PROFILE = Path(__file__).resolve().parents[2] / "infra" / "profiles" / "default.toml"
TABLE, BUCKET = "jobs-idempotency", "uploads"


@pytest.fixture
def worker(monkeypatch: pytest.MonkeyPatch, moto: None) -> ModuleType:
    """The handler, given the tests' boto3 session in place of the boto3 module, whose
    client/resource it calls."""
    setenv(monkeypatch, IDEMPOTENCY_TABLE=TABLE, UPLOADS_BUCKET=BUCKET)  # as the platform does
    monkeypatch.delenv("REPORTS_BUCKET", raising=False)
    create_table(TABLE)
    create_bucket(BUCKET)
    module = load_handler("job_worker")
    monkeypatch.setattr(module, "boto3", AWS)
    return module


def item(job_id: str) -> dict[str, Any] | None:
    return table_item(TABLE, job_id)


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
    assert result == failed()
    report = AWS.client("s3").get_object(Bucket=BUCKET, Key="reports/daily/2026-11-22.json")
    assert json.loads(report["Body"].read())["job_id"] == "j1"
    stored = item("j1")
    assert stored is not None
    assert stored["status"] == "done"


def test_daily_report_runs_with_what_the_default_profile_declares(
    worker: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The platform injects <NAME>_BUCKET per declared bucket (infra/stacks/compute/access.py)
    and grants writes under the declared prefix only."""
    profile = tomllib.loads(PROFILE.read_text())
    declared = profile["functions"]["job-worker"]["uses"]["buckets"]
    monkeypatch.delenv("UPLOADS_BUCKET")
    for name in declared:
        monkeypatch.setenv(f"{name.upper().replace('-', '_')}_BUCKET", BUCKET)
    message = {"job_id": "j9", "job_type": "daily-report", "payload": {"date": "2026-11-23"}}
    assert worker.handler(event(record("m1", message))) == failed()
    key = "reports/daily/2026-11-23.json"
    assert key.startswith(declared["uploads"]["prefix"])  # inside the granted prefix
    AWS.client("s3").head_object(Bucket=BUCKET, Key=key)


def test_daily_report_without_its_bucket_fails_and_is_retried(
    worker: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("UPLOADS_BUCKET")
    message = record("m1", {"job_id": "j10", "job_type": "daily-report"})
    assert worker.handler(event(message)) == failed("m1")
    assert item("j10") is None  # released: the redelivery runs it


def test_duplicate_delivery_is_processed_once(
    worker: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = counting(worker, monkeypatch)
    message = {"job_id": "j2", "job_type": "count"}
    assert worker.handler(event(record("m1", message))) == failed()
    assert worker.handler(event(record("m2", message))) == failed()  # redelivery
    assert worker.handler(event(record("m3", message), record("m4", message))) == failed()
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
    assert result == failed("bad-json", "unknown")
    assert calls == ["j4"]
    assert item("j3") is None  # never claimed


def test_failed_job_is_released_and_runs_on_redelivery(
    worker: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = counting(worker, monkeypatch, fail_times=1)
    message = record("m1", {"job_id": "j5", "job_type": "count"})
    assert worker.handler(event(message)) == failed("m1")
    assert item("j5") is None
    assert worker.handler(event(message)) == failed()
    assert calls == ["j5", "j5"]


def test_job_claimed_by_a_running_invocation_is_retried_later(
    worker: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = counting(worker, monkeypatch)
    store = worker.claims(TABLE)
    assert store.claim("j6", time.time())  # another invocation is working on it
    result = worker.handler(event(record("m1", {"job_id": "j6", "job_type": "count"})))
    assert result == failed("m1")
    assert calls == []


def test_an_expired_claim_is_taken_over(
    worker: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = counting(worker, monkeypatch)
    store = worker.claims(TABLE)
    assert store.claim("j7", time.time() - 2 * store.claim_seconds)  # that invocation died
    assert worker.handler(event(record("m1", {"job_id": "j7", "job_type": "count"}))) == failed()
    assert calls == ["j7"]


def test_scheduled_message_without_id_uses_the_message_id(
    worker: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = counting(worker, monkeypatch)
    scheduled = record("sched-1", {"job_type": "count"})
    worker.handler(event(scheduled))
    worker.handler(event(scheduled))  # the scheduler retried the same delivery
    assert calls == ["sched-1"]


class Counting:
    """The tests' boto3 session, counting the clients and resources built."""

    def __init__(self) -> None:
        self.built: list[str] = []

    def client(self, name: str) -> Any:
        self.built.append(f"client {name}")
        return AWS.client(name)

    def resource(self, name: str) -> Any:
        self.built.append(f"resource {name}")
        return AWS.resource(name)


def test_clients_are_built_once_per_container(
    worker: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = Counting()
    monkeypatch.setattr(worker, "boto3", session)
    for n in range(3):
        message = {
            "job_id": f"r{n}",
            "job_type": "daily-report",
            "payload": {"date": f"2026-11-2{n}"},
        }
        assert worker.handler(event(record(f"m{n}", message), record(f"d{n}", message))) == failed()
    assert session.built == ["resource dynamodb", "client s3"]


def test_a_missing_table_fails_the_invocation_until_it_is_set(
    worker: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = counting(worker, monkeypatch)
    monkeypatch.delenv("IDEMPOTENCY_TABLE")
    message = record("m1", {"job_id": "j11", "job_type": "count"})
    with pytest.raises(KeyError, match=r"^'IDEMPOTENCY_TABLE'$"):
        worker.handler(event(message))
    monkeypatch.setenv("IDEMPOTENCY_TABLE", TABLE)
    assert worker.handler(event(message)) == failed()
    assert calls == ["j11"]


def test_logs_are_one_json_object_per_line(
    worker: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    counting(worker, monkeypatch)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
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
