"""The database: pure-Python drivers (pg8000, pymysql) over TLS, logins from a Secrets Manager
secret, and one connection cached per container.

A driver is imported when a function first connects: it is bundled only with the functions that
declare it (their `packages`), so a handler imports without one. The RDS CA bundle is not part of
the Lambda runtime: connections are encrypted but the certificate is not verified; they never
leave the VPC (function -> database security groups only)."""

from __future__ import annotations

import importlib
import json
import logging
import ssl
import sys
from collections.abc import Callable, Mapping
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import quote

from shared.env import NotConfiguredError
from shared.logs import Log

LOGIN_FIELDS = ("host", "port", "username", "password", "dbname")
POSTGRES_AUTH_SQLSTATES = frozenset({"28P01", "28000"})  # invalid password / authorization
MYSQL_ACCESS_DENIED = 1045
MYSQL_CONNECTION_LOST = frozenset({2006, 2013, 4031})
"""Server gone away, connection lost during a query, disconnected by the server for inactivity."""


def driver(module: str) -> Any:
    """The driver module ("pg8000.native", "pymysql"), imported now."""
    return importlib.import_module(module)


def tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def connect_postgres(login: Mapping[str, Any], *, timeout: float, **options: Any) -> Any:
    """A pg8000.native Connection over TLS; `options` go to the driver (application_name...)."""
    return driver("pg8000.native").Connection(
        user=login["username"],
        password=login["password"],
        host=login["host"],
        port=int(login["port"]),
        database=login["dbname"],
        ssl_context=tls_context(),
        timeout=timeout,
        **options,
    )


def connect_mysql(login: Mapping[str, Any], *, connect_timeout: float, **options: Any) -> Any:
    """A pymysql connection over TLS (an SSLContext makes pymysql require it), autocommit."""
    return driver("pymysql").connect(
        host=login["host"],
        port=int(login["port"]),
        user=login["username"],
        password=login["password"],
        database=login["dbname"],
        ssl=tls_context(),
        connect_timeout=connect_timeout,
        autocommit=True,
        **options,
    )


def is_auth_failure(err: Exception) -> bool:
    """The server refused the login (not: unreachable, starting up)."""
    first = err.args[0] if err.args else None
    if isinstance(first, dict):  # pg8000: the server's error fields, C is the SQLSTATE
        return first.get("C") in POSTGRES_AUTH_SQLSTATES
    return first == MYSQL_ACCESS_DENIED  # pymysql: (errno, message)


def is_connection_lost(err: Exception) -> bool:
    """The connection failed (dropped while idle, closed, network), not the statement: a socket
    error, pg8000's InterfaceError, pymysql's InterfaceError or OperationalError with a
    connection-lost code. A driver's errors can only come from a driver already imported."""
    if isinstance(err, ConnectionError):
        return True
    pg8000 = sys.modules.get("pg8000.exceptions")
    if pg8000 is not None and isinstance(err, pg8000.InterfaceError):
        return True
    pymysql = sys.modules.get("pymysql.err")
    if pymysql is None:
        return False
    if isinstance(err, pymysql.InterfaceError):  # only raised on a closed connection
        return True
    code = err.args[0] if err.args else None  # (errno, message)
    return isinstance(err, pymysql.OperationalError) and code in MYSQL_CONNECTION_LOST


def database_url(login: Mapping[str, Any]) -> str:
    """The URL most drivers and ORMs accept, TLS required; user and password percent-encoded."""
    mysql = "mysql" in str(login.get("engine", ""))
    scheme, tls = ("mysql", "ssl-mode=REQUIRED") if mysql else ("postgresql", "sslmode=require")
    user, password = quote(str(login["username"]), safe=""), quote(str(login["password"]), safe="")
    return f"{scheme}://{user}:{password}@{login['host']}:{login['port']}/{login['dbname']}?{tls}"


class Closable(Protocol):
    def close(self) -> None: ...


S = TypeVar("S", bound=Closable)
T = TypeVar("T")


class Database(Generic[S]):
    """One cached connection (or session) made by `connect`; the login is read from the secret
    each time it connects. A refused login re-reads the secret once (alternating-users rotation
    moves the application onto the other login); a cached connection whose connection fails (the
    database dropped it while idle: `is_connection_lost`) is replaced once, so `use` must be safe
    to repeat after such a failure. Any other error (SQL, constraint, timeout) is raised at once,
    without a second run, and the connection is not reused."""

    def __init__(
        self,
        secrets: Any,
        secret_arn: str,
        db_name: str | None,
        connect: Callable[[Mapping[str, Any]], S],
        log: Log,
    ) -> None:
        """`db_name`, if set, wins over the secret's dbname; `secrets`: a Secrets Manager client."""
        self.secrets, self.secret_arn, self.db_name = secrets, secret_arn, db_name
        self.connect, self.log = connect, log
        self._connection: S | None = None

    def login(self) -> dict[str, Any]:
        value = self.secrets.get_secret_value(SecretId=self.secret_arn).get("SecretString") or ""
        try:
            login = dict(json.loads(value))
        except (json.JSONDecodeError, TypeError, ValueError) as err:
            raise NotConfiguredError(f"secret {self.secret_arn} is not a JSON object") from err
        if self.db_name:
            login["dbname"] = self.db_name
        missing = [field for field in LOGIN_FIELDS if not login.get(field)]
        if missing:
            raise NotConfiguredError(f"secret {self.secret_arn} lacks {', '.join(missing)}")
        return login

    def _open(self) -> S:
        try:
            return self.connect(self.login())
        except Exception as err:
            if not is_auth_failure(err):
                raise
            self.log(
                logging.WARNING, "database login refused; re-reading the secret", error=str(err)
            )
            return self.connect(self.login())

    def use(self, action: Callable[[S], T]) -> T:
        """`action` on the cached connection, or on a new one."""
        if self._connection is not None:
            try:
                return action(self._connection)
            except Exception as err:
                self.close()  # never reuse a connection in an unknown state
                if not is_connection_lost(err):
                    raise
                self.log(logging.WARNING, "cached connection failed; reconnecting", error=repr(err))
        self._connection = self._open()
        try:
            return action(self._connection)
        except Exception:
            self.close()  # never reuse a connection in an unknown state
            raise

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception as err:  # closing a broken connection may fail too
                self.log(logging.DEBUG, "close failed", error=repr(err))
