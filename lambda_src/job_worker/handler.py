"""Job worker: consumes the job queue (SQS -> Lambda) in batches.

- Partial batch failures: only failed messages return to the queue; after the queue's
  max receive count SQS moves them to the dead-letter queue.
- Idempotent: a job id is claimed in DynamoDB with a conditional write before it runs, so a
  duplicate delivery of a completed job is acknowledged without running it again.
- Structured JSON logs (one object per line) and X-Ray active tracing (set on the function).

A message body is JSON: {"job_id": "...", "job_type": "...", "payload": {...}}. Scheduled jobs
arrive without a job_id; theirs is derived from the schedule's invocation, so a retried
scheduler delivery is still processed once.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.exceptions import ClientError

Job = dict[str, Any]
CLAIM_SECONDS = int(os.environ.get("CLAIM_SECONDS", "900"))
KEEP_DONE_SECONDS = 7 * 24 * 3600


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "level": record.levelname,
            "message": record.getMessage(),
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "logger": record.name,
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


logger = logging.getLogger("job_worker")
if not logger.handlers:
    _handler = logging.StreamHandler()
    _handler.setFormatter(JsonFormatter())
    logger.addHandler(_handler)
logger.setLevel(os.environ.get("LOG_LEVEL", "INFO"))
logger.propagate = False


def log(level: int, message: str, **fields: Any) -> None:
    logger.log(level, message, extra={"fields": fields})


class PoisonMessageError(ValueError):
    """The message can never succeed (bad JSON, unknown job type): let it reach the DLQ."""


def daily_report(job: Job) -> dict[str, Any]:
    """Writes the day's report object; real reports extend this with application queries."""
    bucket = os.environ["REPORTS_BUCKET"]
    day = job.get("payload", {}).get("date") or datetime.now(UTC).date().isoformat()
    key = f"reports/daily/{day}.json"
    body = {"date": day, "job_id": job["job_id"], "generated_at": datetime.now(UTC).isoformat()}
    boto3.client("s3").put_object(
        Bucket=bucket, Key=key, Body=json.dumps(body).encode(), ContentType="application/json"
    )
    return {"report": f"s3://{bucket}/{key}"}


HANDLERS: dict[str, Callable[[Job], dict[str, Any]]] = {"daily-report": daily_report}


class Idempotency:
    """Claims job ids in a DynamoDB table: pending while running, done once finished."""

    def __init__(self, table_name: str) -> None:
        self.table = boto3.resource("dynamodb").Table(table_name)

    def claim(self, job_id: str, now: float) -> bool:
        """True if this invocation should run the job; False if it is done or running elsewhere."""
        try:
            self.table.put_item(
                Item={
                    "job_id": job_id,
                    "status": "pending",
                    "expires_at": int(now + CLAIM_SECONDS),
                },
                ConditionExpression=(
                    "attribute_not_exists(job_id) OR (#s = :pending AND expires_at < :now)"
                ),
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":pending": "pending", ":now": int(now)},
            )
        except ClientError as err:
            if err.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def done(self, job_id: str, now: float, result: dict[str, Any]) -> None:
        self.table.put_item(
            Item={
                "job_id": job_id,
                "status": "done",
                "result": json.dumps(result),
                "expires_at": int(now + KEEP_DONE_SECONDS),
            }
        )

    def release(self, job_id: str) -> None:
        """Failed: forget the claim so the redelivered message runs again."""
        self.table.delete_item(Key={"job_id": job_id})

    def is_done(self, job_id: str) -> bool:
        item = self.table.get_item(Key={"job_id": job_id}, ConsistentRead=True).get("Item")
        return bool(item and item["status"] == "done")


def parse(record: dict[str, Any]) -> Job:
    try:
        job = json.loads(record["body"])
    except (json.JSONDecodeError, TypeError) as err:
        raise PoisonMessageError(f"body is not JSON: {err}") from err
    if not isinstance(job, dict) or job.get("job_type") not in HANDLERS:
        raise PoisonMessageError(
            f"unknown job_type {job.get('job_type') if isinstance(job, dict) else None!r}"
        )
    # Scheduler deliveries carry no id: the message's own id is stable across its retries.
    job.setdefault("job_id", record["messageId"])
    return job


def process(record: dict[str, Any], store: Idempotency, now: float) -> str:
    job = parse(record)
    job_id = job["job_id"]
    if not store.claim(job_id, now):
        if store.is_done(job_id):
            log(logging.INFO, "duplicate delivery skipped", job_id=job_id, job_type=job["job_type"])
            return "duplicate"
        raise RuntimeError(f"job {job_id} is being processed by another invocation")
    started = time.monotonic()
    try:
        result = HANDLERS[job["job_type"]](job)
    except Exception:
        store.release(job_id)
        raise
    store.done(job_id, now, result)
    log(
        logging.INFO,
        "job done",
        job_id=job_id,
        job_type=job["job_type"],
        duration_ms=round((time.monotonic() - started) * 1000),
    )
    return "done"


def handler(event: dict[str, Any], context: Any = None) -> dict[str, list[dict[str, str]]]:
    store = Idempotency(os.environ["IDEMPOTENCY_TABLE"])
    failures = []
    for record in event.get("Records", []):
        message_id = record["messageId"]
        try:
            process(record, store, time.time())
        except PoisonMessageError as err:
            log(logging.ERROR, "poison message", message_id=message_id, error=str(err))
            failures.append({"itemIdentifier": message_id})
        except Exception as err:  # any failure: retry this message only
            log(logging.ERROR, "job failed", message_id=message_id, error=repr(err))
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
