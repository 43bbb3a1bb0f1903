"""Job worker: consumes the job queue (SQS -> Lambda) in batches.

- Partial batch failures: only failed messages return to the queue; after the queue's
  max receive count SQS moves them to the dead-letter queue.
- Idempotent: a job id is claimed in DynamoDB with a conditional write before it runs, so a
  duplicate delivery of a completed job is acknowledged without running it again.
- Structured JSON logs (one object per line) and X-Ray active tracing (set on the function).
- The clients are built once per container: DynamoDB's at the first invocation, S3's at the
  first job that writes.

A message body is JSON: {"job_id": "...", "job_type": "...", "payload": {...}}. Scheduled jobs
arrive without a job_id; theirs is derived from the schedule's invocation, so a retried
scheduler delivery is still processed once.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import boto3
from shared import env, logs, sqs
from shared.idempotency import Claims
from shared.sqs import PoisonMessageError

Job = dict[str, Any]

logger = logs.json_logger("job_worker")
log = logs.Log(logger)


@functools.cache
def s3() -> Any:
    """The S3 client of the jobs, built at the first one that writes and kept for the container."""
    return boto3.client("s3")


def daily_report(job: Job) -> dict[str, Any]:
    """Writes the day's report object to the uploads bucket (the platform sets
    UPLOADS_BUCKET; the function may write under reports/ only); real reports extend this with
    application queries."""
    bucket = os.environ["UPLOADS_BUCKET"]
    day = job.get("payload", {}).get("date") or datetime.now(UTC).date().isoformat()
    key = f"reports/daily/{day}.json"
    body = {"date": day, "job_id": job["job_id"], "generated_at": datetime.now(UTC).isoformat()}
    s3().put_object(
        Bucket=bucket, Key=key, Body=json.dumps(body).encode(), ContentType="application/json"
    )
    return {"report": f"s3://{bucket}/{key}"}


HANDLERS: dict[str, Callable[[Job], dict[str, Any]]] = {"daily-report": daily_report}


def claims(table_name: str) -> Claims:
    return Claims.for_table(boto3, table_name)


def parse(record: Mapping[str, Any]) -> Job:
    job = sqs.json_body(record)
    if job.get("job_type") not in HANDLERS:
        raise PoisonMessageError(f"unknown job_type {job.get('job_type')!r}")
    # Scheduler deliveries carry no id: the message's own id is stable across its retries.
    job.setdefault("job_id", record["messageId"])
    return job


def process(record: Mapping[str, Any], store: Claims, now: float) -> str:
    job = parse(record)
    job_id = job["job_id"]
    if not store.start(job_id, now):
        log(logging.INFO, "duplicate delivery skipped", job_id=job_id, job_type=job["job_type"])
        return "duplicate"
    started = time.monotonic()
    with store.finishing(job_id) as claim:
        claim.result = HANDLERS[job["job_type"]](job)
    log(
        logging.INFO,
        "job done",
        job_id=job_id,
        job_type=job["job_type"],
        duration_ms=round((time.monotonic() - started) * 1000),
    )
    return "done"


def services_from_env(environ: Mapping[str, str]) -> Claims:
    """The idempotency store; a missing IDEMPOTENCY_TABLE raises KeyError (the invocation fails,
    and the next one wires again)."""
    return claims(environ["IDEMPOTENCY_TABLE"])


def run(event: Mapping[str, Any], store: Claims) -> sqs.BatchResponse:
    return sqs.process_batch(
        event,
        lambda record: process(record, store, time.time()),
        log,
        rejected="poison message",
        failed="job failed",
    )


handler = env.EntryPoint(services_from_env, run)
"""The Lambda entry point: the DynamoDB table lives as long as the container."""
