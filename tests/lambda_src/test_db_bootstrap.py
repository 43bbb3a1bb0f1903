"""Database bootstrap (custom resource) against moto's Secrets Manager and a fake database server
that understands exactly the statements the bootstrap should send (anything else is a syntax
error); TLS is checked with the real drivers against local sockets that refuse it."""

from __future__ import annotations

import importlib
import inspect
import json
import logging
import re
import socket
import ssl
import struct
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from botocore.exceptions import ClientError

from tests.lambda_src.helpers import AWS, create_secret, load_handler, setenv

MASTER, APP, DBNAME, HOST = "platform_admin", "app_user", "app", "db.internal"
MASTER_PW, APP_PW = "Master-Pw-0001", "App-Pw-0002"
ENGINES = ("postgres", "aurora-postgresql", "mysql", "aurora-mysql")
TWO_ENGINES = ("aurora-postgresql", "mysql")
LITERAL = r"'((?:[^']|'')*)'"


class FakeDbError(Exception):
    """What a driver raises; its text may quote the statement, as MySQL's syntax errors do."""


class FakeServer:
    """The database as far as the bootstrap can see it: logins, their passwords and grants."""

    def __init__(self, engine: str) -> None:
        self.mysql = "mysql" in engine
        self.master_passwords = {MASTER_PW}
        self.users: dict[str, str | None] = {}  # login -> password (None: none set yet)
        self.require_ssl: set[str] = set()
        self.grants: dict[str, list[str]] = {}
        self.executed: list[str] = []
        self.logins: list[dict[str, Any]] = []
        self.opened = self.closed = 0
        self.fail_on: str | None = None  # a statement containing this fails, quoted in the error

    def connect(self, login: dict[str, Any]) -> FakeConnection:
        self.logins.append(dict(login))
        if login["username"] != MASTER or login["password"] not in self.master_passwords:
            raise FakeDbError(f'password authentication failed for user "{login["username"]}"')
        self.opened += 1
        return FakeConnection(self)

    def execute(self, sql: str) -> None:
        self.executed.append(sql)
        if self.fail_on and self.fail_on in sql:
            raise FakeDbError(f"You have an error in your SQL syntax near '{sql}' at line 1")
        if not (self._mysql(sql) if self.mysql else self._postgres(sql)):
            raise FakeDbError(f"syntax error (statement not understood): {sql}")

    def _exists(self, user: str) -> None:
        if user not in self.users:
            raise FakeDbError(f'role "{user}" does not exist')

    def _postgres(self, sql: str) -> bool:
        if m := re.fullmatch(
            r"DO \$\$ BEGIN IF NOT EXISTS \(SELECT FROM pg_roles WHERE rolname = '(\w+)'\) "
            r"THEN CREATE ROLE (\w+) LOGIN; END IF; END \$\$",
            sql,
        ):
            assert m[1] == m[2]
            self.users.setdefault(m[2], None)
        elif m := re.fullmatch(r"CREATE ROLE (\w+)\b.*", sql):
            if m[1] in self.users:
                raise FakeDbError(f'role "{m[1]}" already exists')
            self.users[m[1]] = None
        elif m := re.fullmatch(rf"ALTER ROLE (\w+) WITH LOGIN PASSWORD {LITERAL}", sql):
            self._exists(m[1])
            self.users[m[1]] = m[2].replace("''", "'")
        elif m := re.fullmatch(
            r"ALTER DEFAULT PRIVILEGES FOR ROLE (\w+) IN SCHEMA public GRANT (.+) TO (\w+)", sql
        ):
            self._exists(m[3])
            self.grants.setdefault(m[3], []).append(f"DEFAULT FOR {m[1]}: {m[2]}")
        elif m := re.fullmatch(r"GRANT (.+) TO (\w+)", sql):
            self._exists(m[2])
            self.grants.setdefault(m[2], []).append(m[1])
        else:
            return False
        return True

    def _mysql(self, sql: str) -> bool:
        if m := re.fullmatch(
            rf"CREATE USER IF NOT EXISTS '(\w+)'@'%' IDENTIFIED BY {LITERAL} REQUIRE SSL", sql
        ):
            if m[1] not in self.users:  # an existing user keeps its password
                self.users[m[1]] = m[2].replace("''", "'")
                self.require_ssl.add(m[1])
        elif m := re.fullmatch(r"CREATE USER '(\w+)'@'%'.*", sql):
            if m[1] in self.users:
                raise FakeDbError(f"Operation CREATE USER failed for '{m[1]}'@'%'")
            self.users[m[1]] = None
        elif m := re.fullmatch(rf"ALTER USER '(\w+)'@'%' IDENTIFIED BY {LITERAL} REQUIRE SSL", sql):
            self._exists(m[1])
            self.users[m[1]] = m[2].replace("''", "'")
            self.require_ssl.add(m[1])
        elif m := re.fullmatch(r"GRANT (.+) ON `(\w+)`\.\* TO '(\w+)'@'%'", sql):
            self._exists(m[3])
            self.grants.setdefault(m[3], []).append(f"{m[1]} ON {m[2]}")
        else:
            return False
        return True


class FakeConnection:
    """pg8000.native.Connection / the handler's MysqlConnection: run(sql) and close()."""

    def __init__(self, server: FakeServer) -> None:
        self.server = server

    def run(self, sql: str) -> None:
        self.server.execute(sql)

    def close(self) -> None:
        self.server.closed += 1


@dataclass
class Secrets:
    master: str
    app: str
    urls: list[str]


@pytest.fixture
def secrets(moto: None) -> Secrets:
    master = {"username": MASTER, "password": MASTER_PW, "host": HOST, "port": 5432}
    return Secrets(
        master=create_secret("db/master", json.dumps(master)),
        app=create_secret("db/app", json.dumps(app_login())),
        urls=[
            create_secret("app/DATABASE_URL", "placeholder"),
            create_secret("app/DB_URL", "placeholder"),
        ],
    )


@pytest.fixture
def fn(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    setenv(monkeypatch, CONNECT_ATTEMPTS="2", CONNECT_BACKOFF_SECONDS="0")
    module = load_handler("db_bootstrap")
    monkeypatch.setattr(module, "boto3", AWS)  # handler() calls boto3.client: the tests' session
    return module


def app_login(**changes: Any) -> dict[str, Any]:
    """The attached application secret: host, port, dbname and engine added by the attachment."""
    return {
        "username": APP,
        "password": APP_PW,
        "host": HOST,
        "port": 5432,
        "dbname": DBNAME,
        "engine": "postgres",
        **changes,
    }


def set_secret(arn: str, value: Any, stages: list[str] | None = None) -> None:
    text = value if isinstance(value, str) else json.dumps(value)
    extra = {"VersionStages": stages} if stages else {}
    AWS.client("secretsmanager").put_secret_value(SecretId=arn, SecretString=text, **extra)


def secret_value(arn: str) -> str:
    value: str = AWS.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    return value


def event(
    request: str, secrets: Secrets, engine: str, physical: str | None = None, **props: Any
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "RequestType": request,
        "ResourceType": "Custom::DatabaseBootstrap",
        "ResourceProperties": {
            "ServiceToken": "arn:aws:lambda:ap-northeast-2:000000000000:function:provider",
            "Engine": engine,
            "MasterUsername": MASTER,
            "MasterSecretArn": secrets.master,
            "AppSecretArn": secrets.app,
            "AppUsername": APP,
            "UrlSecretArns": secrets.urls,
            **props,
        },
    }
    if physical is not None:
        found["PhysicalResourceId"] = physical
    return found


def run(fn: ModuleType, server: FakeServer, evt: dict[str, Any]) -> dict[str, Any]:
    """The bootstrap with the fake server behind the engine's connector; the other engine's
    connector must not be used."""

    def wrong_engine(login: dict[str, Any]) -> FakeConnection:
        pytest.fail("the other engine's driver was used")

    kind, other = ("mysql", "postgres") if server.mysql else ("postgres", "mysql")
    connectors: dict[str, Callable[[dict[str, Any]], FakeConnection]] = {
        kind: server.connect,
        other: wrong_engine,
    }
    result: dict[str, Any] = fn.bootstrap(evt, AWS.client("secretsmanager"), connectors)
    return result


def expected_grants(engine: str) -> list[str]:
    if "mysql" in engine:
        return [f"SELECT, INSERT, UPDATE, DELETE, EXECUTE ON {DBNAME}"]
    return [
        f"CONNECT ON DATABASE {DBNAME}",
        "USAGE ON SCHEMA public",
        "SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public",
        "USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public",
        f"DEFAULT FOR {MASTER}: SELECT, INSERT, UPDATE, DELETE ON TABLES",
        f"DEFAULT FOR {MASTER}: USAGE, SELECT ON SEQUENCES",
    ]


@pytest.mark.parametrize("engine", ENGINES)
def test_create_makes_the_login_with_data_privileges_only(
    fn: ModuleType, secrets: Secrets, engine: str
) -> None:
    server = FakeServer(engine)
    result = run(fn, server, event("Create", secrets, engine))
    assert result == {"PhysicalResourceId": f"{engine}:{APP}", "Data": {"Username": APP}}
    assert server.users == {APP: APP_PW}
    assert server.grants == {APP: expected_grants(engine)}
    if server.mysql:
        assert server.require_ssl == {APP}
    # Logged in once, as master, to the application's database; the connection was closed.
    assert [(login["username"], login["dbname"], login["host"]) for login in server.logins] == [
        (MASTER, DBNAME, HOST)
    ]
    assert (server.opened, server.closed) == (1, 1)
    forbidden = re.compile(r"ALL PRIVILEGES|SUPERUSER|CREATEDB|CREATEROLE|OWNER|DROP|TRUNCATE")
    assert not [sql for sql in server.executed if forbidden.search(sql)]


@pytest.mark.parametrize("engine", TWO_ENGINES)
def test_create_writes_every_url_secret_with_tls_required(
    fn: ModuleType, secrets: Secrets, engine: str
) -> None:
    run(fn, FakeServer(engine), event("Create", secrets, engine))
    values = [secret_value(arn) for arn in secrets.urls]
    assert values[0] == values[1]
    url = urlsplit(values[0])
    mysql = "mysql" in engine
    assert url.scheme == ("mysql" if mysql else "postgresql")
    assert (url.username, url.password, url.hostname, url.port, url.path) == (
        APP,
        APP_PW,
        HOST,
        5432,
        f"/{DBNAME}",
    )
    assert parse_qs(url.query) == (
        {"ssl-mode": ["REQUIRED"]} if mysql else {"sslmode": ["require"]}
    )


@pytest.mark.parametrize("engine", TWO_ENGINES)
def test_url_percent_encodes_user_and_password(
    fn: ModuleType, secrets: Secrets, engine: str
) -> None:
    password = "p@ss:w/rd#?%&=+ ^,.-x"
    set_secret(secrets.app, app_login(password=password))
    run(fn, FakeServer(engine), event("Create", secrets, engine))
    url = urlsplit(secret_value(secrets.urls[0]))
    assert url.password is not None
    assert unquote(url.password) == password
    assert (url.hostname, url.port, url.path) == (HOST, 5432, f"/{DBNAME}")
    clone = urlsplit(fn.database_url({**app_login(username="app_user@x"), "engine": engine}))
    assert clone.username is not None
    assert unquote(clone.username) == "app_user@x"
    assert clone.hostname == HOST


@pytest.mark.parametrize("engine", TWO_ENGINES)
def test_create_again_on_an_existing_login_resets_its_password(
    fn: ModuleType, secrets: Secrets, engine: str
) -> None:
    """A database restored from a snapshot already has the login, with an old password; a
    retried Create finds it too. Neither may fail, and the secret's password wins."""
    server = FakeServer(engine)
    server.users[APP] = "from-the-snapshot"
    first = run(fn, server, event("Create", secrets, engine))
    statements = list(server.executed)
    assert server.users == {APP: APP_PW}
    server.executed.clear()
    assert run(fn, server, event("Create", secrets, engine)) == first
    assert server.executed == statements
    assert server.users == {APP: APP_PW}
    assert any(sql.startswith(("ALTER ROLE", "ALTER USER")) for sql in statements)


@pytest.mark.parametrize("engine", TWO_ENGINES)
def test_update_reapplies_grants_and_never_touches_the_password(
    fn: ModuleType, secrets: Secrets, engine: str
) -> None:
    """After an alternating-users rotation the secret holds the clone; the first login keeps
    whatever password it has, and the URLs follow the secret."""
    server = FakeServer(engine)
    server.users[APP] = "previous-rotation"
    set_secret(secrets.app, app_login(username=f"{APP}_clone", password="Clone-Pw-3"))
    result = run(fn, server, event("Update", secrets, engine, physical=f"{engine}:{APP}"))
    assert result == {"PhysicalResourceId": f"{engine}:{APP}", "Data": {"Username": APP}}
    assert server.users == {APP: "previous-rotation"}
    assert server.grants == {APP: expected_grants(engine)}
    assert not [sql for sql in server.executed if re.search(r"PASSWORD|IDENTIFIED|CREATE", sql)]
    url = urlsplit(secret_value(secrets.urls[0]))
    assert (url.username, url.password) == (f"{APP}_clone", "Clone-Pw-3")


def test_create_with_a_rotated_secret_writes_the_login_it_set(
    fn: ModuleType, secrets: Secrets
) -> None:
    """A retained secret already rotated onto the clone: Create sets the first login's password
    to the secret's, so the URLs name that login, not the clone."""
    set_secret(secrets.app, app_login(username=f"{APP}_clone", password="Clone-Pw-3"))
    server = FakeServer("aurora-postgresql")
    run(fn, server, event("Create", secrets, "aurora-postgresql"))
    assert server.users == {APP: "Clone-Pw-3"}
    url = urlsplit(secret_value(secrets.urls[0]))
    assert (url.username, url.password) == (APP, "Clone-Pw-3")


@pytest.mark.parametrize("engine", TWO_ENGINES)
def test_physical_id_never_changes(fn: ModuleType, secrets: Secrets, engine: str) -> None:
    """A new physical id would make CloudFormation replace the resource (and delete the old)."""
    server = FakeServer(engine)
    created = run(fn, server, event("Create", secrets, engine))["PhysicalResourceId"]
    changed = event("Update", secrets, engine, physical=created, UrlSecretArns=secrets.urls[:1])
    assert run(fn, server, changed)["PhysicalResourceId"] == created
    moved = event("Update", secrets, engine, physical=created, Engine=f"aurora-{engine}")
    assert run(fn, server, moved)["PhysicalResourceId"] == created


def test_delete_keeps_the_login_and_the_data(fn: ModuleType, secrets: Secrets) -> None:
    """Through the Lambda entry point: Delete returns before choosing an engine."""
    engine = "mysql"
    server = FakeServer(engine)
    run(fn, server, event("Create", secrets, engine))
    before = (dict(server.users), dict(server.grants), len(server.executed), len(server.logins))
    urls = [secret_value(arn) for arn in secrets.urls]
    result = fn.handler(event("Delete", secrets, engine, physical=f"{engine}:{APP}"))
    assert result == {"PhysicalResourceId": f"{engine}:{APP}"}
    assert (dict(server.users), dict(server.grants), len(server.executed), len(server.logins)) == (
        before
    )
    assert [secret_value(arn) for arn in secrets.urls] == urls


@pytest.mark.parametrize(
    ("engine", "where", "value"),
    [
        ("aurora-postgresql", "AppUsername", 'app"; DROP TABLE users; --'),
        ("mysql", "AppUsername", "app'@'%'; DROP USER root; --"),
        ("aurora-postgresql", "MasterUsername", 'x" CASCADE; DROP'),
        ("aurora-postgresql", "dbname", 'app"; DROP DATABASE app; --'),
        ("mysql", "dbname", "app`.* TO x; DROP DATABASE app; --"),
        ("aurora-postgresql", "AppUsername", "\u0430pp_user"),  # a Cyrillic a
        ("mysql", "AppUsername", "9app"),
    ],
)
def test_identifiers_that_are_not_plain_are_refused_before_logging_in(
    fn: ModuleType, secrets: Secrets, engine: str, where: str, value: str
) -> None:
    server = FakeServer(engine)
    if where == "dbname":
        set_secret(secrets.app, app_login(dbname=value))
        evt = event("Create", secrets, engine)
    else:
        evt = event("Create", secrets, engine, **{where: value})
    with pytest.raises(ValueError, match="not a plain identifier"):
        run(fn, server, evt)
    assert (server.logins, server.executed) == ([], [])
    assert [secret_value(arn) for arn in secrets.urls] == ["placeholder", "placeholder"]


@pytest.mark.parametrize("engine", TWO_ENGINES)
def test_password_is_one_quoted_literal(fn: ModuleType, secrets: Secrets, engine: str) -> None:
    password = "x'; DROP ROLE platform_admin; --"
    set_secret(secrets.app, app_login(password=password))
    server = FakeServer(engine)
    run(fn, server, event("Create", secrets, engine))
    assert server.users == {APP: password}  # the fake parsed one literal back to the password
    assert any("'x''; DROP ROLE platform_admin; --'" in sql for sql in server.executed)


@pytest.mark.parametrize("password", ["back\\slash", "nul\x00byte"])
def test_passwords_the_literal_cannot_carry_are_refused_unechoed(
    fn: ModuleType, secrets: Secrets, password: str
) -> None:
    set_secret(secrets.app, app_login(password=password))
    server = FakeServer("mysql")
    with pytest.raises(ValueError, match="refusing a password") as raised:
        run(fn, server, event("Create", secrets, "mysql"))
    assert password not in str(raised.value)
    assert server.executed == []


@pytest.mark.parametrize("engine", TWO_ENGINES)
def test_failed_statement_fails_the_resource_without_the_password(
    fn: ModuleType, secrets: Secrets, engine: str
) -> None:
    server = FakeServer(engine)
    server.fail_on = APP_PW  # the statement setting the password fails, quoting itself
    with pytest.raises(
        RuntimeError, match=r"statement \d failed: FakeDbError: You have an error"
    ) as raised:
        run(fn, server, event("Create", secrets, engine))
    assert APP_PW in server.executed[-1]
    assert APP_PW not in "".join(traceback.format_exception(raised.value))
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__
    assert server.closed == 1
    assert [secret_value(arn) for arn in secrets.urls] == ["placeholder", "placeholder"]


def test_master_login_falls_back_to_the_pending_password(fn: ModuleType, secrets: Secrets) -> None:
    """Rotation of the master secret is between setSecret and finishSecret."""
    master = {"username": MASTER, "password": "Rotated-Away", "host": HOST, "port": 5432}
    set_secret(secrets.master, master)
    set_secret(secrets.master, {**master, "password": MASTER_PW}, stages=["AWSPENDING"])
    server = FakeServer("aurora-postgresql")
    server.master_passwords = {MASTER_PW}
    run(fn, server, event("Create", secrets, "aurora-postgresql"))
    assert [login["password"] for login in server.logins] == ["Rotated-Away", MASTER_PW]
    assert server.users == {APP: APP_PW}


def test_master_login_failure_raises_the_drivers_reason_without_the_password(
    fn: ModuleType, secrets: Secrets, monkeypatch: pytest.MonkeyPatch
) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr(fn.time, "sleep", sleeps.append)
    attempts: list[str] = []

    def refuse(login: dict[str, Any]) -> FakeConnection:
        attempts.append(login["password"])
        raise FakeDbError(f"authentication failed (tried {login['password']})")

    with pytest.raises(RuntimeError, match="cannot log in as the master user") as raised:
        fn.bootstrap(
            event("Create", secrets, "mysql"),
            AWS.client("secretsmanager"),
            {"mysql": refuse, "postgres": refuse},
        )
    message = str(raised.value)
    assert "authentication failed" in message  # not "no AWSPENDING version"
    assert MASTER_PW not in message
    assert attempts == [MASTER_PW] * fn.ATTEMPTS
    assert sleeps == [fn.BACKOFF_SECONDS] * (fn.ATTEMPTS - 1)  # no sleep after the last try


def test_missing_app_secret_fails_the_resource(fn: ModuleType, secrets: Secrets) -> None:
    server = FakeServer("aurora-postgresql")
    missing = secrets.app.replace("db/app", "db/gone")
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        run(fn, server, event("Create", secrets, "aurora-postgresql", AppSecretArn=missing))
    assert server.logins == []


def test_unwritable_url_secret_fails_the_resource(fn: ModuleType, secrets: Secrets) -> None:
    gone = secrets.urls[0].replace("DATABASE_URL", "GONE_URL")
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        run(fn, FakeServer("mysql"), event("Create", secrets, "mysql", UrlSecretArns=[gone]))


def test_nothing_logged_or_returned_holds_a_password(
    fn: ModuleType, secrets: Secrets, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="db_bootstrap")
    server = FakeServer("aurora-postgresql")
    results = [
        run(fn, server, event(r, secrets, "aurora-postgresql")) for r in ("Create", "Update")
    ]
    server.master_passwords = set()  # every master login fails from now on
    with pytest.raises(RuntimeError, match="cannot log in"):
        run(fn, server, event("Create", secrets, "aurora-postgresql"))
    assert "ready" in caplog.text
    assert "master login failed" in caplog.text
    for text in (caplog.text, json.dumps(results)):
        assert APP_PW not in text
        assert MASTER_PW not in text


# -- TLS, with the real drivers -------------------------------------------------------------


def refusing_server(greeting: bytes, answer: bytes) -> tuple[int, threading.Thread]:
    """Listens once on localhost: sends `greeting`, then answers the first 8 bytes received
    with `answer` and closes."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        connection, _ = listener.accept()
        with connection, listener:
            connection.sendall(greeting)
            connection.settimeout(2)
            try:
                if connection.recv(8) and answer:
                    connection.sendall(answer)
                connection.recv(1024)
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener.getsockname()[1], thread


def mysql_greeting_without_tls() -> bytes:
    """A MySQL 8 handshake (protocol 10) whose capabilities lack CLIENT_SSL."""
    protocol_41, secure_connection, plugin_auth = 0x200, 0x8000, 0x80000
    capabilities = protocol_41 | secure_connection | plugin_auth
    payload = (
        b"\x0a8.0.36\x00"
        + struct.pack("<I", 7)
        + b"abcdefgh\x00"
        + struct.pack("<HBHHB", capabilities & 0xFFFF, 33, 2, capabilities >> 16, 21)
        + b"\x00" * 10
        + b"ijklmnopqrst\x00"
        + b"mysql_native_password\x00"
    )
    return struct.pack("<I", len(payload))[:3] + b"\x00" + payload


def login_for(port: int) -> dict[str, Any]:
    return {
        "username": MASTER,
        "password": MASTER_PW,
        "host": "127.0.0.1",
        "port": port,
        "dbname": DBNAME,
    }


def test_postgres_connection_requires_tls(fn: ModuleType) -> None:
    port, thread = refusing_server(b"", b"N")  # "N": the server does not do SSL
    with pytest.raises(importlib.import_module("pg8000.exceptions").InterfaceError) as raised:
        fn.connect_postgres(login_for(port))
    assert "refuses SSL" in str(raised.value)  # without a context pg8000 would go on in clear
    thread.join(2)


def test_mysql_connection_requires_tls(fn: ModuleType) -> None:
    port, thread = refusing_server(mysql_greeting_without_tls(), b"")
    with pytest.raises(importlib.import_module("pymysql").err.OperationalError) as raised:
        fn.MysqlConnection(login_for(port))
    assert "SSL is required" in str(raised.value)  # pymysql's default would fall back to clear
    thread.join(2)


def test_mysql_connection_runs_statements_through_a_cursor(
    fn: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Any] = []

    class Cursor:
        def __enter__(self) -> Cursor:
            return self

        def __exit__(self, *exc: object) -> None:
            calls.append("cursor closed")

        def execute(self, sql: str) -> None:
            calls.append(sql)

    class Raw:
        def cursor(self) -> Cursor:
            return Cursor()

        def close(self) -> None:
            calls.append("closed")

    def connect(**kwargs: Any) -> Raw:
        real = importlib.import_module("pymysql.connections").Connection
        inspect.signature(real).bind(**kwargs)  # only arguments the real driver takes
        calls.append(kwargs)
        return Raw()

    fake = ModuleType("pymysql")
    fake.connect = connect  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pymysql", fake)
    connection = fn.MysqlConnection(login_for(3306))
    connection.run("GRANT x")
    connection.close()
    settings = calls[0]
    assert settings["autocommit"] is True
    assert isinstance(settings["ssl"], ssl.SSLContext)  # an SSLContext makes pymysql require TLS
    assert calls[1:] == ["GRANT x", "cursor closed", "closed"]
