"""Database bootstrap (a CloudFormation custom resource, through the provider framework).

Creates the application's own login with least privilege, logged in as the master user, and
writes every DATABASE_URL secret from the application credentials:

- Create: the application user is created (or, in a database restored from a snapshot, its
  password is reset to the secret's) and granted data access only: CONNECT, USAGE on the
  schema, SELECT/INSERT/UPDATE/DELETE on tables and sequences now and later. Migrations run as
  the master user and own the schema; the application cannot change it.
- Update: grants are re-applied (idempotent) and URL secrets rewritten; the password is never
  touched, because alternating-users rotation may have moved the application onto its clone.
- Delete: nothing (the database outlives the stack by its own removal policy).

The master secret may be mid-rotation: AWSPENDING is tried when AWSCURRENT no longer logs in.
Connections use TLS (the parameter group refuses anything else) inside the VPC.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from typing import Any, Protocol

import boto3
from botocore.exceptions import ClientError
from shared import db
from shared.db import database_url

logger = logging.getLogger("db_bootstrap")
logger.setLevel(logging.INFO)
ATTEMPTS = int(os.environ.get("CONNECT_ATTEMPTS", "6"))
BACKOFF_SECONDS = float(os.environ.get("CONNECT_BACKOFF_SECONDS", "10"))


class Cursorless(db.Closable, Protocol):
    def run(self, sql: str) -> Any: ...


Connect = Callable[[dict[str, Any]], Cursorless]


def literal(value: str) -> str:
    """A SQL string literal (standard_conforming_strings; the generator excludes quotes and
    backslashes, this is the belt to those braces)."""
    if "\\" in value or "\x00" in value:
        raise ValueError("refusing a password with backslashes or NUL bytes")
    return "'" + value.replace("'", "''") + "'"


def identifier(value: str) -> str:
    if not (value.isascii() and value.replace("_", "").isalnum() and value[0].isalpha()):
        raise ValueError(f"not a plain identifier: {value!r}")
    return value


def postgres_statements(app: dict[str, Any], master_user: str, *, create: bool) -> list[str]:
    user, database = identifier(app["username"]), identifier(app["dbname"])
    owner = identifier(master_user)
    statements = []
    if create:
        statements += [
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{user}') THEN "
            f"CREATE ROLE {user} LOGIN; END IF; END $$",
            f"ALTER ROLE {user} WITH LOGIN PASSWORD {literal(app['password'])}",
        ]
    return [
        *statements,
        f"GRANT CONNECT ON DATABASE {database} TO {user}",
        f"GRANT USAGE ON SCHEMA public TO {user}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {user}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {user}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {user}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
        f"GRANT USAGE, SELECT ON SEQUENCES TO {user}",
    ]


def mysql_statements(app: dict[str, Any], *, create: bool) -> list[str]:
    user, database = identifier(app["username"]), identifier(app["dbname"])
    statements = []
    if create:
        password = literal(app["password"])
        statements += [
            f"CREATE USER IF NOT EXISTS '{user}'@'%' IDENTIFIED BY {password} REQUIRE SSL",
            f"ALTER USER '{user}'@'%' IDENTIFIED BY {password} REQUIRE SSL",
        ]
    return [
        *statements,
        f"GRANT SELECT, INSERT, UPDATE, DELETE, EXECUTE ON `{database}`.* TO '{user}'@'%'",
    ]


def redacted(err: BaseException, *passwords: str) -> str:
    """The error's text without the passwords (raw or as SQL literals): it becomes the
    CloudFormation event's reason and a log line."""
    text = f"{type(err).__name__}: {err}"
    for password in passwords:
        for form in {password, password.replace("'", "''")} - {""}:
            text = text.replace(form, "***")
    return text


def connect_postgres(login: dict[str, Any]) -> Cursorless:
    connection: Cursorless = db.connect_postgres(login, timeout=15)
    return connection


class MysqlConnection:
    def __init__(self, login: dict[str, Any]) -> None:
        self._conn = db.connect_mysql(login, connect_timeout=15)

    def run(self, sql: str) -> Any:
        with self._conn.cursor() as cursor:
            cursor.execute(sql)

    def close(self) -> None:
        self._conn.close()


def secret(client: Any, arn: str, stage: str = "AWSCURRENT") -> dict[str, Any]:
    value = client.get_secret_value(SecretId=arn, VersionStage=stage)["SecretString"]
    loaded: dict[str, Any] = json.loads(value)
    return loaded


def master_connection(client: Any, arn: str, app: dict[str, Any], connect: Connect) -> Cursorless:
    """Log in as master: AWSCURRENT, else AWSPENDING (a rotation in progress), with retries while
    a new instance finishes starting."""
    last = "no attempt"
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(BACKOFF_SECONDS)
        for stage in ("AWSCURRENT", "AWSPENDING"):
            try:
                login = {**secret(client, arn, stage), "dbname": app["dbname"]}
            except ClientError as err:
                if stage == "AWSPENDING" and err.response["Error"]["Code"] == (
                    "ResourceNotFoundException"
                ):
                    continue  # no rotation in progress: keep AWSCURRENT's error
                last = redacted(err)
                continue
            login.setdefault("host", app["host"])
            login.setdefault("port", app["port"])
            try:
                return connect(login)
            except Exception as err:  # driver errors differ per engine
                last = f"{stage}: {redacted(err, str(login.get('password', '')))}"
        logger.info("master login failed (attempt %d): %s", attempt + 1, last)
    raise RuntimeError(f"cannot log in as the master user: {last}")


def bootstrap(
    event: dict[str, Any],
    client: Any,
    connectors: dict[str, Connect] | None = None,
) -> dict[str, Any]:
    props = event["ResourceProperties"]
    request = event["RequestType"]
    physical = event.get("PhysicalResourceId") or f"{props['Engine']}:{props['AppUsername']}"
    if request == "Delete":
        return {"PhysicalResourceId": physical}
    app = secret(client, props["AppSecretArn"])
    mysql = "mysql" in props["Engine"]
    connect = (connectors or {"mysql": MysqlConnection, "postgres": connect_postgres})[
        "mysql" if mysql else "postgres"
    ]
    # The first user of the alternating pair: the clone reuses its grants.
    first = {**app, "username": props["AppUsername"]}
    create = request == "Create"
    statements = (
        mysql_statements(first, create=create)
        if mysql
        else postgres_statements(first, props["MasterUsername"], create=create)
    )
    connection = master_connection(client, props["MasterSecretArn"], app, connect)
    try:
        for number, statement in enumerate(statements, 1):
            try:
                connection.run(statement)
            except Exception as err:
                # Driver errors may quote the statement (the password literal): never chain them.
                reason = redacted(err, str(app["password"]))
                raise RuntimeError(f"statement {number} failed: {reason}") from None
    finally:
        connection.close()
    login = app if not create else first
    url = database_url({**login, "engine": props["Engine"]})  # as credential_refresh rewrites it
    for arn in props.get("UrlSecretArns", []):
        client.put_secret_value(SecretId=arn, SecretString=url)
    logger.info(
        "%s: %s ready, %d URL secret(s) written",
        request,
        first["username"],
        len(props.get("UrlSecretArns", [])),
    )
    return {"PhysicalResourceId": physical, "Data": {"Username": first["username"]}}


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    return bootstrap(event, boto3.client("secretsmanager"))
