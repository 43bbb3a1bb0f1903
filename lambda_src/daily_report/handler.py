"""Daily report: EventBridge Scheduler (daily) -> the day's orders from the database -> S3.

The schedule's input is the event, e.g. {"source": "daily-report"}; an optional "date"
("YYYY-MM-DD") reruns or backfills a day, otherwise the report covers yesterday in
REPORT_TIME_ZONE (default Asia/Seoul). The day's bounds are local midnights converted to UTC
(created_at holds UTC; the session time zone is set to UTC), queried with bound parameters:
order count and revenue per currency from orders(created_at, total, currency). The report goes
to s3://$UPLOADS_BUCKET/reports/daily/<date>.json, so a rerun of a day overwrites its report.

The database is Aurora MySQL (pymysql) or PostgreSQL (pg8000.native), chosen by DB_ENGINE. The
credentials are read from DB_SECRET_ARN when connecting; the connection is cached per container,
and a refused login re-reads the secret once (alternating-users rotation moves the application
onto the other login). A failure raises, so the scheduler retries and then dead-letters.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import boto3
from shared import db, env, logs
from shared.db import Database
from shared.env import NotConfiguredError

REPORT_PREFIX = "reports/daily/"
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ENGINES = {
    "mysql": "mysql",
    "aurora-mysql": "mysql",
    "postgres": "postgres",
    "aurora-postgresql": "postgres",
}
FIXED_OFFSETS = {"Asia/Seoul": 9, "Asia/Tokyo": 9, "UTC": 0}
"""Zones without daylight saving, usable should the runtime lack a time zone database."""
CONNECT_TIMEOUT_SECONDS = 10
QUERY_TIMEOUT_SECONDS = 60

logger = logs.json_logger("daily_report")
log = logs.Log(logger)


class InvalidEventError(ValueError):
    """The schedule's input names no valid report date."""


def zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        if name in FIXED_OFFSETS:
            log(logging.WARNING, "no time zone database; using the fixed offset", time_zone=name)
            return timezone(timedelta(hours=FIXED_OFFSETS[name]), name)
        raise NotConfiguredError(f"REPORT_TIME_ZONE {name!r} is not a known time zone") from err


@dataclass(frozen=True)
class Config:
    bucket: str
    secret_arn: str
    db_name: str | None
    engine: str
    """mysql or postgres (the driver family of DB_ENGINE)."""
    time_zone: str
    tz: tzinfo
    """REPORT_TIME_ZONE, parsed once per container."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Config:
        env.require(environ, "UPLOADS_BUCKET", "DB_SECRET_ARN", "DB_ENGINE")
        engine = ENGINES.get(environ["DB_ENGINE"])
        if engine is None:
            raise NotConfiguredError(
                f"DB_ENGINE {environ['DB_ENGINE']!r} is not one of {', '.join(ENGINES)}"
            )
        time_zone = environ.get("REPORT_TIME_ZONE") or "Asia/Seoul"
        tz = zone(time_zone)  # fail at start-up, not at the first report
        return cls(
            bucket=environ["UPLOADS_BUCKET"],
            secret_arn=environ["DB_SECRET_ARN"],
            db_name=environ.get("DB_NAME") or None,
            engine=engine,
            time_zone=time_zone,
            tz=tz,
        )


def report_date(event: Mapping[str, Any], tz: tzinfo, now: datetime) -> date:
    today = now.astimezone(tz).date()
    requested = event.get("date")
    if requested is None:
        return today - timedelta(days=1)
    if not isinstance(requested, str) or not DATE.match(requested):
        raise InvalidEventError(f"date must be YYYY-MM-DD, got {requested!r}")
    try:
        day = date.fromisoformat(requested)
    except ValueError as err:
        raise InvalidEventError(f"date {requested!r} is not a calendar date") from err
    if day > today:
        raise InvalidEventError(f"date {requested} is in the future ({tz})")
    return day


def day_window(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) of the local day as naive UTC datetimes (23 or 25 hours across DST)."""
    start = datetime.combine(day, time(), tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), tz).astimezone(UTC)
    return start.replace(tzinfo=None), end.replace(tzinfo=None)


def build_query(engine: str, start: datetime, end: datetime) -> tuple[str, dict[str, datetime]]:
    """The day's count and revenue per currency; values are bound by the driver, never
    formatted into the SQL (pymysql takes %(name)s, pg8000.native :name)."""
    mark = {"mysql": "%({})s", "postgres": ":{}"}[engine].format
    sql = (
        "SELECT currency, COUNT(*), SUM(total) FROM orders "
        f"WHERE created_at >= {mark('start')} AND created_at < {mark('end')} "
        "GROUP BY currency ORDER BY currency"
    )
    return sql, {"start": start, "end": end}


class Session(db.Closable, Protocol):
    def query(self, sql: str, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]: ...


class MysqlSession:
    """A DB-API (pymysql) connection."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def query(self, sql: str, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, dict(params))
            rows: Sequence[Sequence[Any]] = cursor.fetchall()
        return rows

    def close(self) -> None:
        self.connection.close()


class PostgresSession:
    """A pg8000.native connection."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def query(self, sql: str, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        rows: Sequence[Sequence[Any]] = self.connection.run(sql, **params)
        return rows

    def close(self) -> None:
        self.connection.close()


def connect_mysql(login: Mapping[str, Any]) -> Session:
    return MysqlSession(
        db.connect_mysql(
            login,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            read_timeout=QUERY_TIMEOUT_SECONDS,
            init_command="SET time_zone = '+00:00'",
        )
    )


def connect_postgres(login: Mapping[str, Any]) -> Session:
    connection = db.connect_postgres(
        login, timeout=QUERY_TIMEOUT_SECONDS, application_name="daily_report"
    )
    connection.run("SET TIME ZONE 'UTC'")
    return PostgresSession(connection)


CONNECTORS: dict[str, Callable[[Mapping[str, Any]], Session]] = {
    "mysql": connect_mysql,
    "postgres": connect_postgres,
}


def money(value: Any) -> str:
    """Exact decimal text: DECIMAL/NUMERIC sums arrive as Decimal, float columns as float."""
    return str(value if isinstance(value, Decimal) else Decimal(str(value or 0)))


@dataclass
class Services:
    config: Config
    db: Database[Session]
    s3: Any
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)


def run(event: Any, services: Services) -> dict[str, Any]:
    config = services.config
    if not isinstance(event, dict):
        raise InvalidEventError("the schedule's input must be a JSON object")
    tz = config.tz
    now = services.clock()
    day = report_date(event, tz, now)
    start, end = day_window(day, tz)
    sql, params = build_query(config.engine, start, end)
    rows = services.db.use(lambda session: session.query(sql, params))
    report = {
        "date": day.isoformat(),
        "time_zone": config.time_zone,
        "window": {"start": f"{start.isoformat()}Z", "end": f"{end.isoformat()}Z"},
        "orders": sum(int(count) for _, count, _ in rows),
        "revenue": {str(currency or "UNKNOWN"): money(total) for currency, _, total in rows},
        "orders_by_currency": {
            str(currency or "UNKNOWN"): int(count) for currency, count, _ in rows
        },
        "generated_at": now.isoformat(),
    }
    key = f"{REPORT_PREFIX}{day.isoformat()}.json"
    services.s3.put_object(
        Bucket=config.bucket,
        Key=key,
        Body=json.dumps(report).encode(),
        ContentType="application/json",
    )
    log(logging.INFO, "report written", key=key, orders=report["orders"], date=report["date"])
    return {"report": f"s3://{config.bucket}/{key}", "orders": report["orders"]}


def services_from_env(environ: Mapping[str, str], aws: Any = boto3) -> Services:
    """The production wiring; `aws` is boto3 itself or a boto3.Session."""
    config = Config.from_env(environ)
    database = Database(
        aws.client("secretsmanager"),
        config.secret_arn,
        config.db_name,
        CONNECTORS[config.engine],
        log,
    )
    return Services(config=config, db=database, s3=aws.client("s3"))


handler = env.EntryPoint(services_from_env, run)
"""The Lambda entry point: the connection lives as long as the container."""
