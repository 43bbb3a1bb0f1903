"""lambda_src/shared on its own: HTTP against the local server, Secrets Manager and DynamoDB
against moto, the database layer with fake drivers and secrets."""

from __future__ import annotations

import importlib
import io
import json
import logging
import ssl
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from botocore.exceptions import ClientError
from shared import ai, db, env, http, logs, secrets, sqs
from shared.env import NotConfiguredError
from shared.idempotency import KEEP_DONE_SECONDS, Claims, InProgressError
from shared.metrics import Metrics, emf

from tests.lambda_src.helpers import (
    AWS,
    UNREACHABLE,
    LocalServer,
    capture,
    create_secret,
    create_table,
    event,
    failed,
    record,
    table_item,
)

# -- env ------------------------------------------------------------------------------------------


def test_every_missing_or_empty_variable_is_named_in_order() -> None:
    env.require({"A": "1", "C": "3"}, "A", "C")
    with pytest.raises(NotConfiguredError, match=r"^missing environment variables: B, D$"):
        env.require({"A": "1", "D": ""}, "A", "B", "D")


def test_listed_variables_skip_empty_entries() -> None:
    assert env.listed({"X": "a,,b,"}, "X") == ["a", "b"]
    assert env.listed({}, "X") == []


def test_the_entry_point_wires_once_and_again_after_a_failed_wiring(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wired: list[str] = []

    def wire(environ: Mapping[str, str]) -> str:
        env.require(environ, "SHARED_TEST_TABLE")
        wired.append(environ["SHARED_TEST_TABLE"])
        return f"services({environ['SHARED_TEST_TABLE']})"

    def run(event: dict[str, int], services: str) -> tuple[dict[str, int], str]:
        return event, services

    handler = env.EntryPoint(wire, run)
    monkeypatch.delenv("SHARED_TEST_TABLE", raising=False)
    with pytest.raises(NotConfiguredError, match="SHARED_TEST_TABLE"):
        handler({"n": 1})
    monkeypatch.setenv("SHARED_TEST_TABLE", "t")
    assert handler({"n": 2}, object()) == ({"n": 2}, "services(t)")
    monkeypatch.setenv("SHARED_TEST_TABLE", "other")
    assert handler({"n": 3}) == ({"n": 3}, "services(t)")  # the container's services
    assert wired == ["t"]


# -- logs -----------------------------------------------------------------------------------------


@pytest.fixture
def lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The JSON lines logged to the logger "shared-test"."""
    logger = logs.json_logger("shared-test")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    logger.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)


def test_a_log_line_is_one_json_object_with_the_fields(
    lines: Callable[[], list[dict[str, Any]]],
) -> None:
    log = logs.Log(logging.getLogger("shared-test"))
    log(logging.INFO, "job done", job_id="j1", duration_ms=12)
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("shared-test").exception("failed", extra={"fields": {"job_id": "j2"}})
    first, second = lines()
    assert {k: first[k] for k in ("level", "message", "logger", "job_id", "duration_ms")} == {
        "level": "INFO",
        "message": "job done",
        "logger": "shared-test",
        "job_id": "j1",
        "duration_ms": 12,
    }
    assert first["time"].endswith("+00:00")
    assert (second["level"], second["job_id"]) == ("ERROR", "j2")
    assert "ValueError: boom" in second["exception"]


def test_a_json_logger_is_set_up_once_and_not_repeated_by_the_root_logger(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    logger = logs.json_logger("shared-test-setup")
    assert logs.json_logger("shared-test-setup") is logger  # a handler loaded again
    (handler,) = logger.handlers
    assert isinstance(handler.formatter, logs.JsonFormatter)
    assert (logger.level, logger.propagate) == (logging.WARNING, False)


# -- metrics --------------------------------------------------------------------------------------


def test_emf_declares_each_metric_with_its_unit_and_the_dimensions() -> None:
    line = json.loads(
        emf("App", {"Stage": "dev"}, {"Calls": (1, "Count"), "Ms": (2.5, "Milliseconds")}, 7, id=3)
    )
    assert line == {
        "_aws": {
            "Timestamp": 7,
            "CloudWatchMetrics": [
                {
                    "Namespace": "App",
                    "Dimensions": [["Stage"]],
                    "Metrics": [
                        {"Name": "Calls", "Unit": "Count"},
                        {"Name": "Ms", "Unit": "Milliseconds"},
                    ],
                }
            ],
        },
        "id": 3,
        "Stage": "dev",
        "Calls": 1,
        "Ms": 2.5,
    }


def test_metrics_are_written_with_the_stage_and_a_millisecond_timestamp() -> None:
    written: list[str] = []
    Metrics("App", "prod", written.append, clock=lambda: 12.3456).put({"Calls": (1, "Count")})
    (line,) = [json.loads(text) for text in written]
    assert (line["_aws"]["Timestamp"], line["Stage"], line["Calls"]) == (12345, "prod", 1)


# -- http -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "secure"),
    [
        ("https://api.example.com/v1", True),
        ("http://127.0.0.1:8080/x", True),
        ("http://localhost/x", True),
        ("http://[::1]:8080/x", True),
        ("http://api.example.com/v1", False),
        ("http://127.0.0.1.example.com/x", False),
        ("ftp://127.0.0.1/x", False),
        ("", False),
    ],
)
def test_plain_http_goes_to_loopback_only(url: str, secure: bool) -> None:
    assert http.is_secure(url) is secure


def test_an_insecure_url_setting_is_named() -> None:
    assert http.require_https("https://x.example", "API_URL") == "https://x.example"
    with pytest.raises(NotConfiguredError, match=r"^API_URL must be an https:// URL$"):
        http.require_https("http://x.example", "API_URL")


@dataclass
class Attempts:
    sleeps: list[float] = field(default_factory=list)
    statuses: list[int | None] = field(default_factory=list)

    def retry(self, attempts: int = 3, backoff: float = 0.5, timeout: float = 2) -> http.Retry:
        return http.Retry(attempts, backoff, timeout, self.sleeps.append)

    def record(self, status: int | None, latency_ms: float) -> None:
        assert latency_ms >= 0
        self.statuses.append(status)


@pytest.fixture
def attempts() -> Attempts:
    return Attempts()


CLIENT = http.Client("partner API", logs.Log(logging.getLogger("shared-test")), sends="order")


def test_a_post_sends_json_with_the_headers_and_returns_the_body(
    server: LocalServer, attempts: Attempts
) -> None:
    server.answer = {"ok": True}
    raw = CLIENT.post_json(
        server.url("/orders"), {"id": 1}, {"Authorization": "Bearer k"}, attempts.retry()
    )
    assert json.loads(raw) == {"ok": True}
    (request,) = server.received
    assert (request.method, request.path, request.json()) == ("POST", "/orders", {"id": 1})
    assert request.headers["content-type"] == "application/json"
    assert request.headers["accept"] == "application/json"
    assert request.headers["authorization"] == "Bearer k"
    assert attempts.sleeps == []


def test_throttling_and_server_errors_are_retried_with_exponential_backoff(
    server: LocalServer, attempts: Attempts, lines: Callable[[], list[dict[str, Any]]]
) -> None:
    server.statuses = [503, 429, 500]
    retry = attempts.retry(attempts=4)
    CLIENT.post_json(server.url("/orders"), {}, {}, retry, on_attempt=attempts.record)
    assert len(server.received) == 4
    assert attempts.sleeps == [0.5, 1.0, 2.0]
    assert attempts.statuses == [503, 429, 500, 200]
    assert [(line["message"], line["attempt"]) for line in lines()] == [
        ("partner API attempt 1/4 failed: HTTP 503", 1),
        ("partner API attempt 2/4 failed: HTTP 429", 2),
        ("partner API attempt 3/4 failed: HTTP 500", 3),
    ]


@pytest.mark.parametrize("status", [400, 401, 404, 409, 422])
def test_other_client_errors_are_refused_at_once(
    server: LocalServer, attempts: Attempts, status: int
) -> None:
    server.statuses = [status]
    refused = f"^partner API refused the order: HTTP {status}$"
    with pytest.raises(http.RefusedError, match=refused):
        CLIENT.post_json(server.url("/orders"), {}, {}, attempts.retry(), attempts.record)
    assert len(server.received) == 1
    assert attempts.statuses == [status]


def test_gives_up_after_the_last_attempt_without_a_last_sleep(
    server: LocalServer, attempts: Attempts
) -> None:
    server.statuses = [502, 503, 504]
    gave_up = "^partner API failed after 3 attempts: HTTP 504$"
    with pytest.raises(http.UnavailableError, match=gave_up):
        CLIENT.post_json(server.url("/orders"), {}, {}, attempts.retry())
    assert attempts.sleeps == [0.5, 1.0]
    assert issubclass(http.UnavailableError, http.HttpError)
    assert issubclass(http.RefusedError, http.HttpError)


def test_an_unreachable_service_counts_attempts_without_a_status(attempts: Attempts) -> None:
    with pytest.raises(http.UnavailableError, match="after 2 attempts: URLError"):
        CLIENT.post_json(UNREACHABLE, {}, {}, attempts.retry(attempts=2), attempts.record)
    assert attempts.statuses == [None, None]


def test_a_redirect_is_refused_not_followed(server: LocalServer, attempts: Attempts) -> None:
    server.redirects = {"/old": server.url("/new")}
    with pytest.raises(http.RefusedError, match="HTTP 302"):
        CLIENT.post_json(
            server.url("/old"), {"card": "x"}, {"Authorization": "k"}, attempts.retry()
        )
    assert [request.path for request in server.received] == ["/old"]


def test_get_json_parses_the_answer_and_refuses_anything_else(
    server: LocalServer, attempts: Attempts
) -> None:
    server.pages = {"/items": {"items": [1]}, "/html": b"<html>"}
    assert CLIENT.get_json(server.url("/items"), {"X-Key": "k"}, attempts.retry()) == {"items": [1]}
    assert server.received[0].method == "GET"
    assert server.received[0].headers["x-key"] == "k"
    with pytest.raises(http.RefusedError, match=r"^partner API answered with non-JSON"):
        CLIENT.get_json(server.url("/html"), {}, attempts.retry())
    assert len(server.received) == 2  # not retried


# -- ai -------------------------------------------------------------------------------------------


class Key:
    """A Secret holding the AI API key."""

    def get(self) -> str:
        return "sk-1"


def provider(url: str, lines: list[dict[str, Any]], **options: Any) -> ai.Provider:
    """A Provider at `url` whose EMF lines go into `lines` and whose backoff is not slept."""
    metrics = Metrics("App", "dev", capture(lines))
    retry = http.Retry(3, 0.5, 2, sleep=lambda seconds: None)
    key: Any = Key()
    return ai.Provider(
        url, key, metrics, retry, logs.Log(logging.getLogger("shared-test")), **options
    )


def test_the_provider_gets_the_text_with_the_key_and_each_attempt_is_measured(
    server: LocalServer,
) -> None:
    server.answer = {"labels": ["a"]}
    server.statuses = [503]
    lines: list[dict[str, Any]] = []
    assert provider(server.url("/v1"), lines).ask("hello", job_id="j1") == {"labels": ["a"]}
    assert [(r.headers["authorization"], r.json()) for r in server.received] == [
        ("Bearer sk-1", {"input": "hello"})
    ] * 2
    assert [line["_aws"]["CloudWatchMetrics"][0]["Metrics"] for line in lines] == [
        [{"Name": "AiApiCalls", "Unit": "Count"}, {"Name": "AiLatency", "Unit": "Milliseconds"}]
    ] * 2
    assert [(line["job_id"], line["status"], line["AiApiCalls"]) for line in lines] == [
        ("j1", 503, 1),
        ("j1", 200, 1),
    ]
    assert all(line["AiLatency"] >= 0 for line in lines)


def test_the_provider_emits_the_chosen_metrics_and_refuses_non_json(server: LocalServer) -> None:
    server.answer = b"<html>"
    lines: list[dict[str, Any]] = []
    latency_only = provider(server.url("/v1"), lines, emit=[ai.LATENCY])
    with pytest.raises(http.RefusedError, match=r"^AI provider answered with non-JSON"):
        latency_only.ask("hello", meeting_id="m1")
    (line,) = lines
    assert line["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [
        {"Name": "AiLatency", "Unit": "Milliseconds"}
    ]
    assert "AiApiCalls" not in line
    assert (line["meeting_id"], line["status"]) == ("m1", 200)
    with pytest.raises(ValueError, match="AiCalls"):
        provider(server.url("/v1"), lines, emit=["AiCalls"])


def test_the_provider_settings_come_from_the_ai_variables() -> None:
    assert ai.retry_from_env({}, timeout_seconds=20) == http.Retry(3, 1.0, 20.0)
    environ = {"AI_TIMEOUT_SECONDS": "5", "AI_ATTEMPTS": "2", "AI_BACKOFF_SECONDS": "0.5"}
    assert ai.retry_from_env(environ, timeout_seconds=30) == http.Retry(2, 0.5, 5.0)


# -- secrets --------------------------------------------------------------------------------------


def test_read_treats_no_value_and_blank_values_as_unset(moto: None) -> None:
    client = AWS.client("secretsmanager")
    assert secrets.read(client, create_secret("set", "  value\n")) == "value"
    assert secrets.read(client, create_secret("blank", " \n")) == ""
    assert secrets.read(client, create_secret("none", None)) == ""
    assert secrets.read(client, "arn:aws:secretsmanager:ap-northeast-2:1:secret:gone") == ""


class Stored:
    """get_secret_value of a Secrets Manager client: the current value, or a ClientError."""

    def __init__(self, value: str | None = "v1") -> None:
        self.value, self.reads = value, 0
        self.error: str | None = None

    def get_secret_value(self, SecretId: str) -> dict[str, Any]:  # noqa: N803 (boto3's name)
        self.reads += 1
        if self.error:
            raise ClientError({"Error": {"Code": self.error, "Message": "no"}}, "GetSecretValue")
        return {"ARN": SecretId} if self.value is None else {"SecretString": self.value}


def test_a_secret_is_cached_for_a_while_then_read_again() -> None:
    stored, now = Stored(), [0.0]
    secret = secrets.Secret(stored, "arn:k", "the key", clock=lambda: now[0])
    assert (secret.get(), secret.get()) == ("v1", "v1")
    stored.value, now[0] = "v2", secrets.TTL_SECONDS
    assert secret.get() == "v1"
    now[0] += 1
    assert secret.get() == "v2"
    assert stored.reads == 2


def test_an_unset_secret_fails_loudly_and_is_not_cached() -> None:
    stored = Stored(" ")
    secret = secrets.Secret(stored, "arn:k", "the AI API key")
    empty = "^secret arn:k is empty; an operator must put the AI API key into it$"
    with pytest.raises(NotConfiguredError, match=empty):
        secret.get()
    stored.value = "v2"  # the operator sets it
    assert secret.get() == "v2"


def test_only_a_missing_value_counts_as_unset() -> None:
    stored = Stored()
    stored.error = "ResourceNotFoundException"
    with pytest.raises(NotConfiguredError, match="is empty"):
        secrets.Secret(stored, "arn:k", "the key").get()
    stored.error = "AccessDeniedException"
    with pytest.raises(ClientError, match="AccessDeniedException"):
        secrets.Secret(stored, "arn:k", "the key").get()


def test_a_checked_value_is_cached_only_once_it_passes() -> None:
    def https_only(value: str) -> str:
        if not value.startswith("https://"):
            raise NotConfiguredError("not https")
        return value

    stored = Stored("http://x")
    secret = secrets.Secret(stored, "arn:k", "the URL", check=https_only)
    with pytest.raises(NotConfiguredError, match="not https"):
        secret.get()
    stored.value = "https://x"
    assert secret.get() == "https://x"


# -- idempotency ----------------------------------------------------------------------------------


@pytest.fixture
def claims(moto: None, monkeypatch: pytest.MonkeyPatch) -> Claims:
    monkeypatch.setenv("CLAIM_SECONDS", "900")
    create_table("claims")
    return Claims(AWS.resource("dynamodb").Table("claims"), keep_done_seconds=60)


def test_a_claim_lasts_claim_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLAIM_SECONDS", raising=False)
    assert Claims(None, keep_done_seconds=1).claim_seconds == 900
    monkeypatch.setenv("CLAIM_SECONDS", "60")
    assert Claims(None, keep_done_seconds=1).claim_seconds == 60
    assert Claims(None, keep_done_seconds=1, claim_seconds=5).claim_seconds == 5


def test_a_key_runs_once_and_records_its_result(claims: Claims) -> None:
    assert claims.start("k1", 1000.0)
    with claims.finishing("k1", clock=lambda: 1005.0) as claim:
        claim.result = {"key": "out/k1.json"}
    assert table_item("claims", "k1") == {
        "job_id": "k1",
        "status": "done",
        "result": '{"key": "out/k1.json"}',
        "expires_at": 1065,
    }
    assert not claims.start("k1", 2000.0)  # a duplicate
    with claims.finishing("k2", clock=lambda: 1.0):
        pass
    assert "result" not in (table_item("claims", "k2") or {})


def test_a_running_key_is_in_progress_until_its_claim_expires(claims: Claims) -> None:
    assert claims.start("k1", 1000.0)
    assert table_item("claims", "k1") == {"job_id": "k1", "status": "pending", "expires_at": 1900}
    with pytest.raises(InProgressError, match="k1"):
        claims.start("k1", 1900.0)
    assert claims.start("k1", 1901.0)  # that invocation died: taken over


def test_done_keys_are_kept_seven_days_unless_told_otherwise(moto: None) -> None:
    create_table("kept")
    default = Claims.for_table(AWS, "kept", claim_seconds=60)
    assert (default.keep_done_seconds, default.claim_seconds) == (KEEP_DONE_SECONDS, 60)
    assert KEEP_DONE_SECONDS == 7 * 24 * 3600
    default.done("k1", 1000.0)
    assert table_item("kept", "k1") == {
        "job_id": "k1",
        "status": "done",
        "expires_at": 1000 + KEEP_DONE_SECONDS,
    }
    longer = Claims.for_table(AWS, "kept", keep_done_seconds=30 * 24 * 3600)
    assert longer.keep_done_seconds == 30 * 24 * 3600
    assert Claims(AWS.resource("dynamodb").Table("kept")).keep_done_seconds == KEEP_DONE_SECONDS


def test_a_failure_releases_the_claim_so_a_redelivery_runs(claims: Claims) -> None:
    assert claims.start("k1", 1000.0)
    with pytest.raises(ConnectionError), claims.finishing("k1"):
        raise ConnectionError("downstream")
    assert table_item("claims", "k1") is None
    assert claims.start("k1", 1001.0)


# -- db -------------------------------------------------------------------------------------------

LOGIN = {"host": "db", "port": 5432, "username": "app", "password": "p", "dbname": "x"}


class Secrets:
    """A Secrets Manager client holding one secret value."""

    def __init__(self, value: Any) -> None:
        self.value = value if isinstance(value, str) else json.dumps(value)

    def get_secret_value(self, SecretId: str) -> dict[str, str]:  # noqa: N803 (boto3's name)
        return {"SecretString": self.value}


class Session:
    def __init__(self, login: Mapping[str, Any]) -> None:
        self.login, self.closed = dict(login), False
        self.fail: Exception | None = None
        self.close_fails = False

    def query(self) -> str:
        if self.fail:
            raise self.fail
        return str(self.login["username"])

    def close(self) -> None:
        self.closed = True
        if self.close_fails:
            raise OSError("already gone")


class Connector:
    def __init__(self, secrets_client: Secrets) -> None:
        self.secrets = secrets_client
        self.sessions: list[Session] = []
        self.refusals: list[Exception] = []
        self.rotate_to: Any = None
        """The login the secret holds once a login was refused (a rotation)."""

    def __call__(self, login: Mapping[str, Any]) -> Session:
        if self.refusals:
            if self.rotate_to is not None:
                self.secrets.value = json.dumps(self.rotate_to)
            raise self.refusals.pop(0)
        self.sessions.append(Session(login))
        return self.sessions[-1]


def database(
    value: Any = None, db_name: str | None = None
) -> tuple[db.Database[Session], Connector]:
    """A Database whose secret holds `value` (default LOGIN), and its connector."""
    client = Secrets(LOGIN if value is None else value)
    connect = Connector(client)
    log = logs.Log(logging.getLogger("shared-test"))
    return db.Database(client, "arn:db", db_name, connect, log), connect


PG_REFUSED = Exception({"S": "FATAL", "C": "28P01", "M": "password authentication failed"})
PG = importlib.import_module("pg8000.exceptions")
MYSQL = importlib.import_module("pymysql.err")


def test_the_login_comes_from_the_secret_and_db_name_wins() -> None:
    cache, _ = database(db_name="reports")
    assert cache.login() == {**LOGIN, "dbname": "reports"}
    with pytest.raises(NotConfiguredError, match=r"^secret arn:db is not a JSON object$"):
        database("not json")[0].login()
    with pytest.raises(NotConfiguredError, match=r"^secret arn:db lacks port, username, password$"):
        database({"host": "db", "dbname": "x"})[0].login()


def test_the_connection_is_cached_and_a_broken_one_replaced_once() -> None:
    cache, connect = database()
    assert cache.use(Session.query) == "app"
    assert cache.use(Session.query) == "app"
    assert len(connect.sessions) == 1
    connect.sessions[0].fail = ConnectionResetError("dropped while idle")
    connect.sessions[0].close_fails = True  # closing it fails too: ignored
    assert cache.use(Session.query) == "app"
    assert len(connect.sessions) == 2
    assert connect.sessions[0].closed


@pytest.mark.parametrize(
    "error",
    [
        PG.DatabaseError({"S": "ERROR", "C": "23505", "M": "duplicate key value"}),
        PG.DatabaseError({"S": "ERROR", "C": "57014", "M": "canceling statement due to timeout"}),
        PG.DatabaseError({"S": "ERROR", "C": "42601", "M": "syntax error"}),
        MYSQL.IntegrityError(1062, "Duplicate entry 'm1' for key 'PRIMARY'"),
        MYSQL.OperationalError(3024, "Query execution was interrupted, maximum statement time"),
        MYSQL.OperationalError(1205, "Lock wait timeout exceeded"),
        MYSQL.ProgrammingError(1064, "You have an error in your SQL syntax"),
        ValueError("bad statement"),
    ],
    ids=lambda error: f"{type(error).__module__}.{type(error).__name__}",
)
def test_a_statement_error_on_the_cached_connection_runs_once_and_is_raised(
    error: Exception,
) -> None:
    cache, connect = database()
    assert cache.use(Session.query) == "app"
    runs: list[Session] = []

    def fails(session: Session) -> str:
        runs.append(session)
        raise error

    with pytest.raises(type(error)) as raised:
        cache.use(fails)
    assert raised.value is error
    assert runs == connect.sessions  # the cached connection only: never run again
    assert len(connect.sessions) == 1
    assert connect.sessions[0].closed  # not reused in an unknown state
    assert cache.use(Session.query) == "app"
    assert len(connect.sessions) == 2


@pytest.mark.parametrize(
    "error",
    [
        PG.InterfaceError("network error"),
        PG.InterfaceError("connection is closed"),
        MYSQL.OperationalError(2013, "Lost connection to MySQL server during query"),
        MYSQL.OperationalError(2006, "MySQL server has gone away (BrokenPipeError(32))"),
        MYSQL.OperationalError(4031, "The client was disconnected by the server"),
        MYSQL.InterfaceError(0, ""),
        BrokenPipeError(32, "Broken pipe"),
    ],
    ids=lambda error: f"{type(error).__name__}-{error.args[0]}",
)
def test_a_dropped_cached_connection_is_replaced_and_the_action_retried_once(
    error: Exception,
) -> None:
    cache, connect = database()
    assert cache.use(Session.query) == "app"
    connect.sessions[0].fail = error
    assert cache.use(Session.query) == "app"
    assert len(connect.sessions) == 2
    assert connect.sessions[0].closed
    runs: list[Session] = []

    def dropped(session: Session) -> str:
        runs.append(session)
        session.fail = error  # the new connection drops too
        return session.query()

    with pytest.raises(type(error)):
        cache.use(dropped)
    assert runs == connect.sessions[1:]  # the cached one, then one new one: no loop
    assert len(connect.sessions) == 3
    assert all(session.closed for session in connect.sessions)


@pytest.mark.parametrize(
    ("error", "lost"),
    [
        (PG.InterfaceError("network error"), True),
        (PG.DatabaseError({"C": "57P01", "M": "terminating connection"}), False),
        (MYSQL.OperationalError(2013, "Lost connection"), True),
        (MYSQL.OperationalError(1045, "Access denied"), False),
        (MYSQL.OperationalError(), False),
        (MYSQL.InterfaceError(0, ""), True),
        (MYSQL.InternalError(1, "Packet sequence number wrong"), False),
        (ConnectionResetError(), True),
        (TimeoutError(), False),
        (Exception(2013, "not a driver's"), False),
    ],
)
def test_connection_failures_are_told_from_statement_errors(error: Exception, lost: bool) -> None:
    assert db.is_connection_lost(error) is lost


def test_a_failure_on_a_new_connection_closes_it_and_raises() -> None:
    cache, connect = database()

    def fails(session: Session) -> str:
        raise ValueError("bad statement")

    with pytest.raises(ValueError, match="bad statement"):
        cache.use(fails)
    assert connect.sessions[0].closed
    assert cache.use(Session.query) == "app"
    assert len(connect.sessions) == 2  # never reused


def test_a_refused_login_rereads_the_secret_once() -> None:
    cache, connect = database()
    connect.rotate_to = {**LOGIN, "username": "app_clone"}
    connect.refusals = [PG_REFUSED]
    assert cache.use(Session.query) == "app_clone"
    cache.close()
    connect.refusals = [PG_REFUSED, PG_REFUSED]
    with pytest.raises(Exception, match="28P01"):
        cache.use(Session.query)
    assert connect.refusals == []  # tried twice, no loop
    connect.refusals = [ConnectionRefusedError("starting up"), PG_REFUSED]
    with pytest.raises(ConnectionRefusedError):
        cache.use(Session.query)
    assert connect.refusals == [PG_REFUSED]  # not a login problem: not retried


@pytest.mark.parametrize(
    ("error", "refused"),
    [
        (PG_REFUSED, True),
        (Exception({"C": "28000"}), True),
        (Exception({"C": "57P03", "M": "starting up"}), False),
        (Exception(1045, "Access denied for user"), True),
        (Exception(2003, "Can't connect"), False),
        (Exception(), False),
    ],
)
def test_auth_failures_are_told_from_other_errors(error: Exception, refused: bool) -> None:
    assert db.is_auth_failure(error) is refused


@pytest.mark.parametrize(
    ("engine", "scheme"), [("aurora-mysql", "mysql"), ("postgres", "postgresql")]
)
def test_database_urls_require_tls_and_encode_the_login(engine: str, scheme: str) -> None:
    login = {**LOGIN, "username": "a@b", "password": "p:/?#@%", "engine": engine}
    url = urlsplit(db.database_url(login))
    assert url.scheme == scheme
    assert (unquote(url.username or ""), unquote(url.password or "")) == ("a@b", "p:/?#@%")
    assert (url.hostname, url.port, url.path) == ("db", 5432, "/x")
    assert url.query == ("ssl-mode=REQUIRED" if scheme == "mysql" else "sslmode=require")


def test_drivers_are_imported_when_connecting_and_get_tls(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []

    def connect(**kwargs: Any) -> str:
        calls.append(kwargs)
        return "connection"

    monkeypatch.setitem(sys.modules, "pymysql", SimpleNamespace(connect=connect))
    monkeypatch.setitem(sys.modules, "pg8000.native", SimpleNamespace(Connection=connect))
    assert db.connect_mysql(LOGIN, connect_timeout=5, read_timeout=9) == "connection"
    assert db.connect_postgres(LOGIN, timeout=7, application_name="fn") == "connection"
    mysql, postgres = calls
    assert mysql | {"ssl": None} == {
        "host": "db",
        "port": 5432,
        "user": "app",
        "password": "p",
        "database": "x",
        "ssl": None,
        "connect_timeout": 5,
        "autocommit": True,
        "read_timeout": 9,
    }
    assert isinstance(mysql["ssl"], ssl.SSLContext)
    assert (postgres["user"], postgres["timeout"], postgres["application_name"]) == ("app", 7, "fn")
    context = postgres["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert (context.check_hostname, context.verify_mode) == (False, ssl.CERT_NONE)


# -- sqs ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "problem"),
    [("{not json", "body is not JSON"), ('["a"]', "body is not a JSON object"), (None, "not JSON")],
)
def test_a_body_that_is_no_json_object_is_poison(body: str | None, problem: str) -> None:
    assert sqs.json_body({"body": '{"a": 1}'}) == {"a": 1}
    with pytest.raises(sqs.PoisonMessageError, match=problem):
        sqs.json_body({"body": body})


@pytest.mark.parametrize(
    "value", [None, 7, "", "../w1", "a/b", ".hidden", "-x", "x" * 129, "a b", "é"]
)
def test_an_id_must_be_safe_as_an_s3_key_segment(value: Any) -> None:
    assert sqs.safe_id({"job_id": "J-1.a_b"}, "job_id") == "J-1.a_b"
    assert sqs.safe_id({"job_id": "x" * 128}, "job_id") == "x" * 128
    unsafe = r"^workshop_id must be 1-128 letters, digits, '\.', '_' or '-'$"
    with pytest.raises(sqs.PoisonMessageError, match=unsafe):
        sqs.safe_id({"workshop_id": value}, "workshop_id")


class PermanentError(ValueError):
    pass


def test_a_batch_fails_only_the_failed_messages(lines: Callable[[], list[dict[str, Any]]]) -> None:
    def process(message: Mapping[str, Any]) -> None:
        do = sqs.json_body(message)["do"]
        if do == "never":
            raise PermanentError("never")
        if do == "later":
            raise ConnectionError("later")

    log = logs.Log(logging.getLogger("shared-test"))
    messages = {"a": {"do": "ok"}, "b": {"do": "never"}, "c": {"do": "later"}, "d": "{oops"}
    batch = event(*(record(message_id, body) for message_id, body in messages.items()))
    assert sqs.process_batch(batch, process, log, permanent=(PermanentError,)) == failed(
        "b", "c", "d"
    )
    assert sqs.process_batch(batch, process, log) == failed("b", "c", "d")  # poison by default
    assert [(line["message"], line["message_id"]) for line in lines()] == [
        ("message rejected", "b"),
        ("message failed", "c"),
        ("message failed", "d"),  # not one of `permanent`
        ("message failed", "b"),
        ("message failed", "c"),
        ("message rejected", "d"),
    ]
    assert [line["error"] for line in lines()][:2] == ["never", "ConnectionError('later')"]


def test_a_missing_setting_fails_the_whole_batch() -> None:
    def process(message: Mapping[str, Any]) -> None:
        raise NotConfiguredError("missing environment variables: X")

    log = logs.Log(logging.getLogger("shared-test"))
    with pytest.raises(NotConfiguredError):
        sqs.process_batch(event(record("a", "ok")), process, log, permanent=(PermanentError,))
