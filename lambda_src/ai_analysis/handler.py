"""AI analysis: workshop analysis jobs (SQS -> Lambda) sent to the AI provider, results to S3.

- Partial batch failures: only failed messages return to the queue; after the queue's max
  receive count SQS moves them to the dead-letter queue.
- Idempotent: a job id is claimed in DynamoDB with a conditional write before it runs, so a
  duplicate delivery of a completed job is acknowledged without calling the provider again.
- The provider is called over HTTPS with the key from Secrets Manager as a bearer token. Each
  POST has a timeout and is retried with backoff on network errors, 429 and 5xx; any other 4xx
  fails the message at once (the same input will be refused again).
- The result goes to s3://$UPLOADS_BUCKET/analysis/<workshop_id>/<job_id>.json.
- Every provider attempt emits AiApiCalls and AiLatency in CloudWatch Embedded Metric Format
  (a log line, no PutMetricData call), dimension Stage.

A message body is JSON: {"job_id": "...", "workshop_id": "...", "text": "..."}.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from shared import ai, env, http, logs, sqs
from shared.ai import Provider
from shared.idempotency import Claims
from shared.metrics import Metrics
from shared.secrets import Secret
from shared.sqs import PoisonMessageError

RETRY = ai.retry_from_env(os.environ, timeout_seconds=20)

logger = logs.json_logger("ai_analysis")
log = logs.Log(logger)


@dataclass(frozen=True)
class Config:
    stage: str
    bucket: str
    api_url: str
    key_secret_arn: str
    table: str
    namespace: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Config:
        env.require(
            environ,
            "STAGE",
            "UPLOADS_BUCKET",
            "AI_API_URL",
            "AI_API_KEY_SECRET_ARN",
            "IDEMPOTENCY_TABLE",
        )
        return cls(
            stage=environ["STAGE"],
            bucket=environ["UPLOADS_BUCKET"],
            # The key travels in a header: never over plain HTTP.
            api_url=http.require_https(environ["AI_API_URL"], "AI_API_URL"),
            key_secret_arn=environ["AI_API_KEY_SECRET_ARN"],
            table=environ["IDEMPOTENCY_TABLE"],
            namespace=environ.get("METRICS_NAMESPACE") or "Workshop/App",
        )


@dataclass(frozen=True)
class Job:
    job_id: str
    workshop_id: str
    text: str


@dataclass
class Services:
    config: Config
    store: Claims
    s3: Any
    ai: Provider
    clock: Callable[[], float] = time.time


def parse(record: Mapping[str, Any]) -> Job:
    body = sqs.json_body(record)
    # The ids become S3 key segments.
    job_id, workshop_id = sqs.safe_id(body, "job_id"), sqs.safe_id(body, "workshop_id")
    if not isinstance(body.get("text"), str) or not body["text"].strip():
        raise PoisonMessageError("text must be a non-empty string")
    return Job(job_id, workshop_id, body["text"])


def process(record: Mapping[str, Any], services: Services) -> str:
    job = parse(record)
    if not services.store.start(job.job_id, services.clock()):
        log(logging.INFO, "duplicate delivery skipped", job_id=job.job_id)
        return "duplicate"
    started = time.monotonic()
    key = f"analysis/{job.workshop_id}/{job.job_id}.json"
    with services.store.finishing(job.job_id, services.clock) as claim:
        document = {
            "job_id": job.job_id,
            "workshop_id": job.workshop_id,
            "analysis": services.ai.ask(job.text, job_id=job.job_id),
            "analysed_at": datetime.fromtimestamp(services.clock(), UTC).isoformat(),
        }
        services.s3.put_object(
            Bucket=services.config.bucket,
            Key=key,
            Body=json.dumps(document).encode(),
            ContentType="application/json",
        )
        claim.result = {"key": key}
    log(
        logging.INFO,
        "analysis done",
        job_id=job.job_id,
        workshop_id=job.workshop_id,
        key=key,
        duration_ms=round((time.monotonic() - started) * 1000),
    )
    return "done"


def run(event: Mapping[str, Any], services: Services) -> sqs.BatchResponse:
    return sqs.process_batch(
        event,
        lambda record: process(record, services),
        log,
        permanent=(PoisonMessageError, http.RefusedError),
        failed="analysis failed",
    )


def services_from_env(environ: Mapping[str, str], aws: Any = boto3) -> Services:
    """The production wiring; `aws` is boto3 itself or a boto3.Session."""
    config = Config.from_env(environ)
    return Services(
        config=config,
        store=Claims.for_table(aws, config.table),
        s3=aws.client("s3"),
        ai=Provider(
            config.api_url,
            Secret(aws.client("secretsmanager"), config.key_secret_arn, "the AI API key"),
            Metrics(config.namespace, config.stage),
            RETRY,
            log,
        ),
    )


handler = env.EntryPoint(services_from_env, run)
"""The Lambda entry point: the clients and the key cache live as long as the container."""
