"""Post-meeting: SQS -> per-speaker statistics and an AI summary of the meeting's transcript,
stored in PostgreSQL and S3. Runs on Python 3.11.

- Partial batch failures: only failed messages return to the queue; after the queue's max
  receive count SQS moves them to the dead-letter queue.
- Idempotent: the meeting id is claimed in DynamoDB with a conditional write before it runs, so
  a duplicate delivery of a finished meeting is acknowledged without asking the AI again. Every
  write is an overwrite (upsert, PutObject), so a rerun after a partial failure is safe.
- The transcript s3://$AUDIO_BUCKET/<transcript_key> is {"segments": [{"speaker", "text",
  "start", "end"}]} (seconds). Talk time and word counts are computed per speaker.
- The AI provider gets {"input": <prompt + transcript>} with the key from Secrets Manager as a
  bearer token; it answers {"output": <summary>}. Timeout, retries with backoff on network
  errors, 429 and 5xx; any other 4xx fails the message at once. Each attempt emits AiLatency in
  CloudWatch Embedded Metric Format, dimension Stage.
- The summary is upserted into meeting_summaries (pg8000.native, bound parameters, TLS) and
  written to s3://$UPLOADS_BUCKET/summaries/<meeting_id>.json. Credentials are read from
  DB_SECRET_ARN when connecting; the connection is cached per container, and a refused login
  re-reads the secret once (alternating-users rotation).

A message body is JSON: {"meeting_id": "...", "transcript_key": "..."}.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import boto3
from botocore.exceptions import ClientError
from shared import ai, db, env, http, logs, sqs
from shared.ai import Provider
from shared.db import Database
from shared.env import NotConfiguredError
from shared.idempotency import Claims
from shared.metrics import Metrics
from shared.secrets import Secret
from shared.sqs import PoisonMessageError

RETRY = ai.retry_from_env(os.environ, timeout_seconds=30)
PROMPT = os.environ.get(
    "SUMMARY_PROMPT",
    "Summarise this meeting: the main points, the decisions and the action items with owners.",
)
POSTGRES_ENGINES = frozenset({"postgres", "aurora-postgresql"})
CONNECT_TIMEOUT_SECONDS = 30
UPSERT = (
    "INSERT INTO meeting_summaries (meeting_id, summary, speakers, created_at) "
    "VALUES (:meeting_id, :summary, CAST(:speakers AS jsonb), :created_at) "
    # created_at keeps the first write; a rerun refreshes the content only.
    "ON CONFLICT (meeting_id) DO UPDATE SET summary = EXCLUDED.summary, "
    "speakers = EXCLUDED.speakers"
)

logger = logs.json_logger("post_meeting")
log = logs.Log(logger)


@dataclass(frozen=True)
class Config:
    stage: str
    audio_bucket: str
    uploads_bucket: str
    api_url: str
    key_secret_arn: str
    table: str
    db_secret_arn: str
    db_name: str | None
    namespace: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Config:
        env.require(
            environ,
            "STAGE",
            "AUDIO_BUCKET",
            "UPLOADS_BUCKET",
            "AI_API_URL",
            "AI_API_KEY_SECRET_ARN",
            "IDEMPOTENCY_TABLE",
            "DB_SECRET_ARN",
        )
        engine = environ.get("DB_ENGINE", "postgres")
        if engine not in POSTGRES_ENGINES:
            raise NotConfiguredError(f"DB_ENGINE {engine!r}: meeting summaries need PostgreSQL")
        return cls(
            stage=environ["STAGE"],
            audio_bucket=environ["AUDIO_BUCKET"],
            uploads_bucket=environ["UPLOADS_BUCKET"],
            # The key travels in a header: never over plain HTTP.
            api_url=http.require_https(environ["AI_API_URL"], "AI_API_URL"),
            key_secret_arn=environ["AI_API_KEY_SECRET_ARN"],
            table=environ["IDEMPOTENCY_TABLE"],
            db_secret_arn=environ["DB_SECRET_ARN"],
            db_name=environ.get("DB_NAME") or None,
            namespace=environ.get("METRICS_NAMESPACE") or "Meeting/App",
        )


def summarise(provider: Provider, text: str, meeting_id: str) -> str:
    """The provider's {"output": ...} text; every attempt is timed."""
    answer = provider.ask(text, meeting_id=meeting_id)
    summary = answer.get("output") if isinstance(answer, dict) else None
    if not isinstance(summary, str) or not summary.strip():
        raise http.RefusedError("AI provider answered without an 'output' text")
    return summary.strip()


class Connection(db.Closable, Protocol):
    """What is used of a pg8000.native connection."""

    def run(self, sql: str, **params: Any) -> Any: ...


def connect_postgres(login: Mapping[str, Any]) -> Connection:
    connection: Connection = db.connect_postgres(
        login, timeout=CONNECT_TIMEOUT_SECONDS, application_name="post_meeting"
    )
    return connection


@dataclass(frozen=True)
class Meeting:
    meeting_id: str
    transcript_key: str


@dataclass
class Services:
    config: Config
    store: Claims
    s3: Any
    ai: Provider
    db: Database[Connection]
    clock: Callable[[], float] = time.time


def parse(record: Mapping[str, Any]) -> Meeting:
    body = sqs.json_body(record)
    meeting_id = sqs.safe_id(body, "meeting_id")  # becomes an S3 key segment
    key = body.get("transcript_key")
    if not isinstance(key, str) or not key.strip() or key.startswith("/"):
        raise PoisonMessageError("transcript_key must be an S3 key")
    return Meeting(meeting_id, key)


def number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def speaker_stats(transcript: Any) -> tuple[list[dict[str, Any]], str]:
    """Per-speaker talk time and words (most talk first), and the transcript as text."""
    segments = transcript.get("segments") if isinstance(transcript, dict) else None
    if not isinstance(segments, list) or not segments:
        raise PoisonMessageError("the transcript has no segments")
    stats: dict[str, dict[str, Any]] = {}
    lines = []
    for index, segment in enumerate(segments):
        if not isinstance(segment, dict):
            raise PoisonMessageError(f"segment {index} is not an object")
        speaker, text = segment.get("speaker"), segment.get("text")
        start, end = number(segment.get("start")), number(segment.get("end"))
        if not isinstance(speaker, str) or not speaker.strip() or not isinstance(text, str):
            raise PoisonMessageError(f"segment {index} needs a speaker and a text")
        if start is None or end is None or not 0 <= start <= end:
            raise PoisonMessageError(f"segment {index} needs seconds with 0 <= start <= end")
        entry = stats.setdefault(
            speaker, {"speaker": speaker, "talk_seconds": 0.0, "words": 0, "segments": 0}
        )
        entry["talk_seconds"] += end - start
        entry["words"] += len(text.split())
        entry["segments"] += 1
        lines.append(f"{speaker}: {text.strip()}")
    for entry in stats.values():
        entry["talk_seconds"] = round(entry["talk_seconds"], 3)
    ranked = sorted(stats.values(), key=lambda e: (-e["talk_seconds"], e["speaker"]))
    return ranked, "\n".join(lines)


def read_transcript(s3: Any, bucket: str, key: str) -> Any:
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as err:
        if err.response["Error"]["Code"] == "NoSuchKey":
            raise PoisonMessageError(f"no transcript at s3://{bucket}/{key}") from err
        raise
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise PoisonMessageError(f"transcript s3://{bucket}/{key} is not JSON") from err


def process(record: Mapping[str, Any], services: Services) -> str:
    meeting = parse(record)
    config = services.config
    if not services.store.start(meeting.meeting_id, services.clock()):
        log(logging.INFO, "duplicate delivery skipped", meeting_id=meeting.meeting_id)
        return "duplicate"
    started = time.monotonic()
    key = f"summaries/{meeting.meeting_id}.json"
    with services.store.finishing(meeting.meeting_id, services.clock) as claim:
        transcript = read_transcript(services.s3, config.audio_bucket, meeting.transcript_key)
        speakers, text = speaker_stats(transcript)
        summary = summarise(services.ai, f"{PROMPT}\n\n{text}", meeting.meeting_id)
        created_at = datetime.fromtimestamp(services.clock(), UTC)
        row = {
            "meeting_id": meeting.meeting_id,
            "summary": summary,
            "speakers": json.dumps(speakers),
            "created_at": created_at,
        }
        services.db.use(lambda connection: connection.run(UPSERT, **row))
        document = {
            "meeting_id": meeting.meeting_id,
            "transcript_key": meeting.transcript_key,
            "summary": summary,
            "speakers": speakers,
            "created_at": created_at.isoformat(),
        }
        services.s3.put_object(
            Bucket=config.uploads_bucket,
            Key=key,
            Body=json.dumps(document).encode(),
            ContentType="application/json",
        )
        claim.result = {"key": key}
    log(
        logging.INFO,
        "meeting summarised",
        meeting_id=meeting.meeting_id,
        speakers=len(speakers),
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
        failed="meeting failed",
    )


def services_from_env(environ: Mapping[str, str], aws: Any = boto3) -> Services:
    """The production wiring; `aws` is boto3 itself or a boto3.Session."""
    config = Config.from_env(environ)
    secrets = aws.client("secretsmanager")
    return Services(
        config=config,
        store=Claims.for_table(aws, config.table),
        s3=aws.client("s3"),
        ai=Provider(
            config.api_url,
            Secret(secrets, config.key_secret_arn, "the AI API key"),
            Metrics(config.namespace, config.stage),
            RETRY,
            log,
            emit=[ai.LATENCY],
        ),
        db=Database(secrets, config.db_secret_arn, config.db_name, connect_postgres, log),
    )


handler = env.EntryPoint(services_from_env, run)
"""The Lambda entry point: clients, key cache and connection live as long as the container."""
