"""Daily report: SQL building and day windows, and the handler against moto (S3, Secrets
Manager) with fake pymysql / pg8000.native modules standing in for the drivers."""

from __future__ import annotations

import importlib
import io
import json
import logging
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import ModuleType, SimpleNamespace, TracebackType
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from shared.env import NotConfiguredError
from shared.logs import JsonFormatter

from tests.lambda_src.helpers import (
    AWS,
    create_bucket,
    create_secret,
    keys,
    load_handler,
    put_secret,
    s3_json,
    setenv,
)

BUCKET = "uploads"
LOGIN = {"host": "db.internal", "port": 3306, "username": "app", "password": "one", "dbname": "x"}
ROTATED = {**LOGIN, "username": "app_clone", "password": "two"}
ROWS = [("KRW", 10, Decimal("150000.00")), ("USD", 2, Decimal("20.50"))]
NOW = datetime(2026, 1, 14, 16, 0, tzinfo=UTC)  # 01:00 on the 15th in Seoul
MysqlError = importlib.import_module("pymysql.err").OperationalError
PgError = importlib.import_module("pg8000.exceptions").DatabaseError


class FakeConnection:
    """A DB-API connection (cursor/execute/fetchall) and a pg8000.native one (run) in one."""

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows, self.closed = rows, False
        self.executed: list[tuple[str, dict[str, Any]]] = []
        self.fail: Exception | None = None

    def cursor(self) -> FakeConnection:
        return self

    def __enter__(self) -> FakeConnection:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        pass

    def execute(self, sql: str, params: dict[str, Any]) -> None:
        self.executed.append((sql, params))
        if self.fail:
            raise self.fail

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.rows

    def run(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        self.execute(sql, params)
        return self.rows if sql.startswith("SELECT") else []

    def close(self) -> None:
        self.closed = True


class Driver:
    """Both drivers' connect functions: records logins, may refuse the first ones."""

    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = list(ROWS)
        self.logins: list[dict[str, Any]] = []
        self.connections: list[FakeConnection] = []
        self.refusals: list[Exception] = []
        self.on_refusal: Callable[[], None] = lambda: None

    def connect(self, **kwargs: Any) -> FakeConnection:
        self.logins.append(kwargs)
        if self.refusals:
            self.on_refusal()
            raise self.refusals.pop(0)
        connection = FakeConnection(self.rows)
        self.connections.append(connection)
        return connection

    def users(self) -> list[str]:
        return [login["user"] for login in self.logins]


@pytest.fixture
def driver(monkeypatch: pytest.MonkeyPatch) -> Driver:
    fake = Driver()
    monkeypatch.setitem(sys.modules, "pymysql", SimpleNamespace(connect=fake.connect))
    monkeypatch.setitem(sys.modules, "pg8000.native", SimpleNamespace(Connection=fake.connect))
    return fake


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch, moto: None) -> str:
    setenv(
        monkeypatch, STAGE="dev", UPLOADS_BUCKET=BUCKET, DB_ENGINE="aurora-mysql", DB_NAME="shop"
    )
    monkeypatch.delenv("REPORT_TIME_ZONE", raising=False)
    create_bucket(BUCKET)
    arn = create_secret("commerce/dev/db-app", json.dumps(LOGIN))
    monkeypatch.setenv("DB_SECRET_ARN", arn)
    return arn


@pytest.fixture
def fn() -> ModuleType:
    return load_handler("daily_report")


def services(fn: ModuleType, **environ: str) -> Any:
    built = fn.services_from_env({**os.environ, **environ}, AWS)
    built.clock = lambda: NOW
    return built


def report(day: str) -> Any:
    return s3_json(BUCKET, f"reports/daily/{day}.json")


def test_the_query_binds_its_values_for_each_driver(fn: ModuleType) -> None:
    start, end = datetime(2026, 1, 13, 15), datetime(2026, 1, 14, 15)
    mysql, params = fn.build_query("mysql", start, end)
    postgres, same = fn.build_query("postgres", start, end)
    assert "created_at >= %(start)s AND created_at < %(end)s" in mysql
    assert "created_at >= :start AND created_at < :end" in postgres
    assert params == same == {"start": start, "end": end}
    assert "2026" not in mysql + postgres  # values travel as parameters only
    assert mysql.endswith("GROUP BY currency ORDER BY currency")


def test_the_day_is_the_local_day_in_utc(fn: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    seoul = fn.zone("Asia/Seoul")
    assert fn.day_window(datetime(2026, 1, 14).date(), seoul) == (
        datetime(2026, 1, 13, 15),
        datetime(2026, 1, 14, 15),
    )
    assert fn.report_date({}, seoul, NOW).isoformat() == "2026-01-14"  # UTC would say the 13th
    start, end = fn.day_window(datetime(2026, 3, 8).date(), ZoneInfo("America/New_York"))
    assert end - start == timedelta(hours=23)  # daylight saving starts that night

    def no_tzdata(name: str) -> None:
        raise fn.ZoneInfoNotFoundError(name)

    monkeypatch.setattr(fn, "ZoneInfo", no_tzdata)  # a runtime without a tz database
    assert fn.zone("Asia/Seoul").utcoffset(None) == timedelta(hours=9)


def test_the_time_zone_is_parsed_once_per_container(
    fn: ModuleType, driver: Driver, secret: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_tzdata(name: str) -> None:
        raise fn.ZoneInfoNotFoundError(name)

    monkeypatch.setattr(fn, "ZoneInfo", no_tzdata)  # the fallback warns each time it is used
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    fn.logger.addHandler(handler)
    try:
        built = services(fn)
        fn.run({"date": "2026-01-13"}, built)
        fn.run({"date": "2026-01-14"}, built)
    finally:
        fn.logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["level"], line["message"]) for line in lines] == [
        ("WARNING", "no time zone database; using the fixed offset"),
        ("INFO", "report written"),
        ("INFO", "report written"),
    ]
    assert report("2026-01-14")["window"] == {  # the fixed offset: +09:00
        "start": "2026-01-13T15:00:00Z",
        "end": "2026-01-14T15:00:00Z",
    }


def test_the_report_is_written_from_the_mysql_rows(
    fn: ModuleType, driver: Driver, secret: str
) -> None:
    assert fn.run({"source": "daily-report"}, services(fn)) == {
        "report": "s3://uploads/reports/daily/2026-01-14.json",
        "orders": 12,
    }
    assert report("2026-01-14") == {
        "date": "2026-01-14",
        "time_zone": "Asia/Seoul",
        "window": {"start": "2026-01-13T15:00:00Z", "end": "2026-01-14T15:00:00Z"},
        "orders": 12,
        "revenue": {"KRW": "150000.00", "USD": "20.50"},
        "orders_by_currency": {"KRW": 10, "USD": 2},
        "generated_at": NOW.isoformat(),
    }
    (login,) = driver.logins
    assert (login["user"], login["database"], login["port"]) == ("app", "shop", 3306)
    assert login["ssl"].verify_mode.name == "CERT_NONE"  # TLS, unverified inside the VPC
    assert login["init_command"] == "SET time_zone = '+00:00'"
    ((sql, params),) = driver.connections[0].executed
    assert "%(start)s" in sql
    assert params == {"start": datetime(2026, 1, 13, 15), "end": datetime(2026, 1, 14, 15)}


def test_rerunning_a_day_overwrites_its_report(fn: ModuleType, driver: Driver, secret: str) -> None:
    built = services(fn)
    fn.run({"source": "daily-report", "date": "2026-01-10"}, built)
    driver.rows[:] = [("KRW", 11, Decimal("160000.00"))]  # a late order arrived
    fn.run({"source": "daily-report", "date": "2026-01-10"}, built)
    assert keys(BUCKET, "reports/daily/") == ["reports/daily/2026-01-10.json"]
    assert report("2026-01-10")["orders"] == 11
    assert len(driver.logins) == 1  # one connection per container


def test_postgres_goes_through_pg8000_native(fn: ModuleType, driver: Driver, secret: str) -> None:
    driver.rows[:] = [("EUR", 3, 45.5), (None, 1, None)]  # float column, a row without currency
    fn.run({"date": "2026-01-14"}, services(fn, DB_ENGINE="postgres"))
    assert report("2026-01-14")["revenue"] == {"EUR": "45.5", "UNKNOWN": "0"}
    (login,) = driver.logins
    assert login["ssl_context"].check_hostname is False
    connection = driver.connections[0]
    assert connection.executed[0] == ("SET TIME ZONE 'UTC'", {})
    sql, params = connection.executed[1]
    assert ":start" in sql
    assert set(params) == {"start", "end"}


def test_a_refused_login_rereads_the_rotated_secret_once(
    fn: ModuleType, driver: Driver, secret: str
) -> None:
    def rotate() -> None:  # the rotation moved the application onto the other user
        put_secret(secret, json.dumps(ROTATED))

    driver.on_refusal = rotate
    driver.refusals = [MysqlError(1045, "Access denied for user 'app'@'10.0.1.7'")]
    assert fn.handler({"source": "daily-report"})["orders"] == 12  # the real entry point
    assert driver.users() == ["app", "app_clone"]


@pytest.mark.parametrize(
    ("refusals", "logins"),
    [
        ([MysqlError(1045, "Access denied"), MysqlError(1045, "Access denied")], 2),
        ([MysqlError(2003, "Can't connect to MySQL server")], 1),  # not a login problem
        ([PgError({"C": "28P01", "M": "password authentication failed"})] * 2, 2),
    ],
    ids=["refused-twice", "unreachable", "postgres-refused-twice"],
)
def test_login_failures_are_not_retried_forever(
    fn: ModuleType, driver: Driver, secret: str, refusals: list[Exception], logins: int
) -> None:
    driver.refusals = list(refusals)
    with pytest.raises(type(refusals[0])):
        fn.run({}, services(fn))
    assert len(driver.logins) == logins


def test_a_broken_cached_connection_is_replaced(
    fn: ModuleType, driver: Driver, secret: str
) -> None:
    built = services(fn)
    fn.run({}, built)
    driver.connections[0].fail = MysqlError(2013, "Lost connection to MySQL server")
    assert fn.run({}, built)["orders"] == 12
    assert len(driver.logins) == 2
    assert driver.connections[0].closed


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"date": "2026-13-01"}, "not a calendar date"),
        ({"date": "yesterday"}, "YYYY-MM-DD"),
        ({"date": "2026-01-16"}, "in the future"),
    ],
)
def test_invalid_dates_are_rejected(
    fn: ModuleType, driver: Driver, secret: str, event: dict[str, str], message: str
) -> None:
    with pytest.raises(fn.InvalidEventError, match=message):
        fn.run(event, services(fn))
    assert driver.logins == []


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"DB_ENGINE": "oracle"}, "DB_ENGINE 'oracle'"),
        ({"REPORT_TIME_ZONE": "Mars/Olympus"}, "not a known time zone"),
        ({"UPLOADS_BUCKET": ""}, "missing environment variables: UPLOADS_BUCKET"),
    ],
)
def test_bad_configuration_is_named(
    fn: ModuleType, secret: str, environ: dict[str, str], message: str
) -> None:
    with pytest.raises(NotConfiguredError, match=message):
        services(fn, **environ)


def test_an_incomplete_database_secret_is_named(
    fn: ModuleType, driver: Driver, secret: str
) -> None:
    put_secret(secret, json.dumps({"host": "db.internal"}))
    with pytest.raises(NotConfiguredError, match="lacks port, username, password"):
        fn.run({}, services(fn))
