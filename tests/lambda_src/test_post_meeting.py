"""Post-meeting against moto (DynamoDB, S3, Secrets Manager), a local HTTP server standing in for
the AI provider, and a fake pg8000.native connection that records SQL and parameters."""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable
from dataclasses import replace
from types import ModuleType
from typing import Any

import pytest
from shared.env import NotConfiguredError

from tests.lambda_src.helpers import (
    AWS,
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
    setenv,
    table_item,
)

TABLE, AUDIO, UPLOADS = "post-meeting-idempotency", "audio", "uploads"
LOGIN = {"host": "db.internal", "port": 5432, "username": "app", "password": "one", "dbname": "m"}
SUMMARY = "Decided to ship on Friday. Bob owns the release notes."
TRANSCRIPT = {
    "segments": [
        {"speaker": "Alice", "text": "Morning all, quick status today.", "start": 0, "end": 12.5},
        {"speaker": "Bob", "text": "Release notes are late.", "start": 12.5, "end": 20.0},
        {"speaker": "Alice", "text": "Then Friday it is.", "start": 21.0, "end": 31.25},
    ]
}
PgError = importlib.import_module("pg8000.exceptions").DatabaseError
PgInterfaceError = importlib.import_module("pg8000.exceptions").InterfaceError


class FakeConnection:
    """pg8000.native.Connection's run/close, recording what was run."""

    def __init__(self, login: dict[str, Any], executed: list[tuple[str, dict[str, Any]]]) -> None:
        self.login, self.executed, self.closed = login, executed, False
        self.fail: Exception | None = None

    def run(self, sql: str, **params: Any) -> list[Any]:
        if self.fail:
            raise self.fail
        self.executed.append((sql, params))
        return []

    def close(self) -> None:
        self.closed = True


class Connector:
    """Stands in for connect_postgres: records logins, may refuse the first ones."""

    def __init__(self) -> None:
        self.executed: list[tuple[str, dict[str, Any]]] = []
        self.connections: list[FakeConnection] = []
        self.refusals: list[Exception] = []
        self.on_refusal: Callable[[], None] = lambda: None

    def __call__(self, login: dict[str, Any]) -> FakeConnection:
        if self.refusals:
            self.on_refusal()
            raise self.refusals.pop(0)
        connection = FakeConnection(login, self.executed)
        self.connections.append(connection)
        return connection


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, moto: None, server: LocalServer) -> dict[str, str]:
    """Moto resources and the environment; the AI key and database secret ARNs."""
    server.answer = {"output": SUMMARY}
    setenv(
        monkeypatch,
        STAGE="prod",
        AUDIO_BUCKET=AUDIO,
        UPLOADS_BUCKET=UPLOADS,
        IDEMPOTENCY_TABLE=TABLE,
        AI_API_URL=server.url("/v1/generate"),
        AI_BACKOFF_SECONDS="0",
        DB_ENGINE="aurora-postgresql",
        DB_NAME="meetings",
    )
    monkeypatch.delenv("METRICS_NAMESPACE", raising=False)
    create_table(TABLE)
    create_bucket(AUDIO)
    create_bucket(UPLOADS)
    transcript("t/m1.json", TRANSCRIPT)
    arns = {
        "key": create_secret("meeting/ai-key", "sk-1"),
        "db": create_secret("meeting/db", json.dumps(LOGIN)),
    }
    setenv(monkeypatch, AI_API_KEY_SECRET_ARN=arns["key"], DB_SECRET_ARN=arns["db"])
    return arns


@pytest.fixture
def fn(aws: dict[str, str]) -> ModuleType:
    return load_handler("post_meeting")


@pytest.fixture
def db() -> Connector:
    return Connector()


@pytest.fixture
def services(fn: ModuleType, db: Connector, metrics: list[dict[str, Any]]) -> Any:
    built = fn.services_from_env(os.environ, AWS)
    built.db.connect = db
    built.ai.metrics.write = capture(metrics)
    built.ai.retry = replace(built.ai.retry, sleep=lambda seconds: None)
    built.clock = lambda: 1_768_446_000.0  # 2026-01-15T03:00:00Z
    return built


def meeting(meeting_id: str = "m1", key: str = "t/m1.json") -> dict[str, str]:
    return {"meeting_id": meeting_id, "transcript_key": key}


def item(job_id: str) -> dict[str, Any] | None:
    return table_item(TABLE, job_id)


def transcript(key: str, body: Any) -> None:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    AWS.client("s3").put_object(Bucket=AUDIO, Key=key, Body=data)


SPEAKERS = [
    {"speaker": "Alice", "talk_seconds": 22.75, "words": 9, "segments": 2},
    {"speaker": "Bob", "talk_seconds": 7.5, "words": 4, "segments": 1},
]


def test_a_meeting_is_summarised_upserted_and_written(
    fn: ModuleType, services: Any, db: Connector, metrics: list[dict[str, Any]], server: LocalServer
) -> None:
    assert fn.run(event(record("r1", meeting())), services) == failed()
    (prompt,) = server.bodies()
    assert prompt["input"].startswith(fn.PROMPT)
    assert prompt["input"].endswith(
        "Alice: Morning all, quick status today.\n"
        "Bob: Release notes are late.\nAlice: Then Friday it is."
    )
    ((sql, params),) = db.executed
    assert sql == fn.UPSERT
    assert "ON CONFLICT (meeting_id) DO UPDATE" in sql
    assert ":summary" in sql
    assert SUMMARY not in sql  # bound, never formatted in
    assert (params["meeting_id"], params["summary"]) == ("m1", SUMMARY)
    assert json.loads(params["speakers"]) == SPEAKERS
    assert params["created_at"].isoformat() == "2026-01-15T03:00:00+00:00"
    (connection,) = db.connections
    assert connection.login["dbname"] == "meetings"  # DB_NAME wins over the secret's
    body = AWS.client("s3").get_object(Bucket=UPLOADS, Key="summaries/m1.json")["Body"].read()
    assert json.loads(body) == {
        "meeting_id": "m1",
        "transcript_key": "t/m1.json",
        "summary": SUMMARY,
        "speakers": SPEAKERS,
        "created_at": "2026-01-15T03:00:00+00:00",
    }
    (metric,) = metrics
    assert metric["_aws"]["CloudWatchMetrics"] == [
        {
            "Namespace": "Meeting/App",
            "Dimensions": [["Stage"]],
            "Metrics": [{"Name": "AiLatency", "Unit": "Milliseconds"}],
        }
    ]
    assert (metric["Stage"], metric["meeting_id"], metric["status"]) == ("prod", "m1", 200)


def test_duplicates_reuse_the_result_and_the_connection(
    fn: ModuleType, services: Any, db: Connector, server: LocalServer
) -> None:
    transcript("t/m2.json", TRANSCRIPT)
    batch = event(
        record("r1", meeting()), record("r2", meeting()), record("r3", meeting("m2", "t/m2.json"))
    )
    assert fn.run(batch, services) == failed()
    assert fn.run(event(record("r4", meeting())), services) == failed()
    assert len(server.received) == 2
    assert [params["meeting_id"] for _, params in db.executed] == ["m1", "m2"]
    assert len(db.connections) == 1  # cached per container


def test_poison_messages_and_transcripts_fail_alone(
    fn: ModuleType, services: Any, server: LocalServer
) -> None:
    transcript("t/bad-json.json", b"{oops")
    transcript(
        "t/bad-times.json", {"segments": [{"speaker": "A", "text": "x", "start": 5, "end": 1}]}
    )
    transcript("t/no-speaker.json", {"segments": [{"text": "x", "start": 0, "end": 1}]})
    result = fn.run(
        event(
            record("not-json", "{"),
            record("bad-id", meeting("../m")),
            record("missing", meeting("m3", "t/none.json")),
            record("bad-json", meeting("m4", "t/bad-json.json")),
            record("bad-times", meeting("m5", "t/bad-times.json")),
            record("no-speaker", meeting("m6", "t/no-speaker.json")),
            record("good", meeting()),
        ),
        services,
    )
    assert result == failed("not-json", "bad-id", "missing", "bad-json", "bad-times", "no-speaker")
    assert len(server.received) == 1
    assert all(item(m) is None for m in ("m3", "m4", "m5", "m6"))  # released for a fixed resend


def test_ai_errors_are_retried_then_refusals_fail_without_writing(
    fn: ModuleType, services: Any, db: Connector, metrics: list[dict[str, Any]], server: LocalServer
) -> None:
    server.statuses = [503, 429]
    assert fn.run(event(record("r1", meeting())), services) == failed()
    assert [m["status"] for m in metrics] == [503, 429, 200]
    server.statuses = [422]
    transcript("t/m2.json", TRANSCRIPT)
    assert fn.run(event(record("r2", meeting("m2", "t/m2.json"))), services) == failed("r2")
    server.answer = {"text": "wrong field"}
    assert fn.run(event(record("r3", meeting("m2", "t/m2.json"))), services) == failed("r3")
    assert len(server.received) == 5  # 422 and the bad answer are not retried
    assert [params["meeting_id"] for _, params in db.executed] == ["m1"]
    assert item("m2") is None


def test_a_refused_login_rereads_the_rotated_secret_once(
    fn: ModuleType, services: Any, db: Connector, aws: dict[str, str]
) -> None:
    def rotate() -> None:
        rotated = {**LOGIN, "username": "app_clone", "password": "two"}
        put_secret(aws["db"], json.dumps(rotated))

    db.on_refusal = rotate
    db.refusals = [PgError({"S": "FATAL", "C": "28P01", "M": "password authentication failed"})]
    assert fn.run(event(record("r1", meeting())), services) == failed()
    assert [c.login["username"] for c in db.connections] == ["app_clone"]
    db.connections.clear()
    db.refusals = [PgError({"C": "28P01", "M": "no"}), PgError({"C": "28P01", "M": "no"})]
    services.db.close()
    transcript("t/m2.json", TRANSCRIPT)
    assert fn.run(event(record("r2", meeting("m2", "t/m2.json"))), services) == failed("r2")
    assert db.connections == []  # refused twice: no loop, the message is retried later


def test_a_broken_connection_is_replaced_and_a_failed_write_retried_by_redelivery(
    fn: ModuleType, services: Any, db: Connector
) -> None:
    assert fn.run(event(record("r1", meeting())), services) == failed()
    db.connections[0].fail = PgInterfaceError("network error")  # dropped while idle
    transcript("t/m2.json", TRANSCRIPT)
    assert fn.run(event(record("r2", meeting("m2", "t/m2.json"))), services) == failed()
    assert len(db.connections) == 2
    assert db.connections[0].closed
    db.connections[1].fail = PgInterfaceError("network error")
    db.refusals = [PgInterfaceError("database starting up")]  # and reconnecting fails too
    transcript("t/m3.json", TRANSCRIPT)
    assert fn.run(event(record("r3", meeting("m3", "t/m3.json"))), services) == failed("r3")
    assert item("m3") is None
    assert fn.run(event(record("r3", meeting("m3", "t/m3.json"))), services) == failed()


def test_an_empty_key_fails_the_invocation_loudly(
    fn: ModuleType, aws: dict[str, str], server: LocalServer
) -> None:
    put_secret(aws["key"], " ")
    with pytest.raises(NotConfiguredError, match="is empty"):
        fn.handler(event(record("r1", meeting())))
    assert item("m1") is None
    assert server.received == []


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"AUDIO_BUCKET": ""}, "missing environment variables: AUDIO_BUCKET"),
        ({"DB_ENGINE": "aurora-mysql"}, "need PostgreSQL"),
        ({"AI_API_URL": "http://ai.example.com"}, "https://"),
    ],
)
def test_bad_configuration_is_named(
    fn: ModuleType, monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], message: str
) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(NotConfiguredError, match=message):
        fn.handler(event(record("r1", meeting())))


def test_an_incomplete_database_secret_fails_loudly(
    fn: ModuleType, services: Any, aws: dict[str, str]
) -> None:
    services.db.connect = fn.connect_postgres  # never reached
    put_secret(aws["db"], json.dumps({"host": "db.internal", "port": 5432}))
    with pytest.raises(NotConfiguredError, match="lacks username, password"):
        fn.run(event(record("r1", meeting())), services)
    assert item("m1") is None
