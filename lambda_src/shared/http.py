"""HTTPS calls to another service: a timeout on every attempt, retries with exponential backoff
on network errors, 429 and 5xx, no retry of any other 4xx (the same request would be refused
again), and no redirects (one would resend the body and the Authorization header to wherever it
points). Plain HTTP is allowed to loopback only, for local tests."""

from __future__ import annotations

import http.client
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from shared.env import NotConfiguredError
from shared.logs import Log

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
OnAttempt = Callable[[int | None, float], None]
"""Called after every attempt with its HTTP status (None: no answer) and latency in ms."""


def is_secure(url: str) -> bool:
    """https://, or http:// to this machine (local tests): nothing secret goes out in clear."""
    parts = urllib.parse.urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK)


def require_https(url: str, name: str) -> str:
    """`url`, if secure; otherwise NotConfiguredError naming the setting `name`."""
    if not is_secure(url):
        raise NotConfiguredError(f"{name} must be an https:// URL")
    return url


class HttpError(RuntimeError):
    """The service refused the request, answered nonsense or kept failing."""


class RefusedError(HttpError):
    """A 4xx other than 429, or an answer that makes no sense: sending again will not help."""


class UnavailableError(HttpError):
    """Every attempt failed in a way that may clear up (network, timeout, 429, 5xx)."""


@dataclass(frozen=True)
class Retry:
    attempts: int
    backoff_seconds: float
    """Before the second attempt; doubled before each further one."""
    timeout_seconds: float
    """Of each attempt."""
    sleep: Callable[[float], None] = time.sleep

    def wait(self, attempt: int) -> None:
        """The pause after failed attempt number `attempt` (none after the last)."""
        if attempt < self.attempts:
            self.sleep(self.backoff_seconds * 2 ** (attempt - 1))


def retryable(status: int) -> bool:
    return status >= HTTPStatus.INTERNAL_SERVER_ERROR or status == HTTPStatus.TOO_MANY_REQUESTS


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx is raised as an HTTPError: a refusal


_opener = urllib.request.build_opener(_NoRedirect)


class Client:
    """Calls to one service, named in errors and logs: "AI provider refused the request: HTTP
    400", "webhook failed after 3 attempts: HTTP 503" (`sends` names what a call sends)."""

    def __init__(self, name: str, log: Log, sends: str = "request") -> None:
        self.name, self.log, self.sends = name, log, sends

    def post_json(
        self,
        url: str,
        payload: Any,
        headers: Mapping[str, str],
        retry: Retry,
        on_attempt: OnAttempt | None = None,
    ) -> bytes:
        """POSTs `payload` as JSON; the response body."""
        json_headers = {"Content-Type": "application/json", "Accept": "application/json"}
        return self.send(
            "POST",
            url,
            body=json.dumps(payload).encode(),
            headers={**json_headers, **headers},
            retry=retry,
            on_attempt=on_attempt,
        )

    def get_json(self, url: str, headers: Mapping[str, str], retry: Retry) -> Any:
        """GETs `url`; the JSON it answers (RefusedError if it is not JSON: not retried)."""
        json_headers = {"Accept": "application/json"}
        return self.json(self.send("GET", url, headers={**json_headers, **headers}, retry=retry))

    def json(self, raw: bytes) -> Any:
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise RefusedError(f"{self.name} answered with non-JSON: {err}") from err

    def send(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str],
        retry: Retry,
        on_attempt: OnAttempt | None = None,
    ) -> bytes:
        """The response body of the first attempt that succeeds (RefusedError, UnavailableError)."""
        last_error = "no attempt"
        for attempt in range(1, retry.attempts + 1):
            request = urllib.request.Request(url, data=body, headers=dict(headers), method=method)
            started, status = time.monotonic(), None
            try:
                with _opener.open(request, timeout=retry.timeout_seconds) as response:
                    status = response.status
                    data: bytes = response.read()
                return data
            except urllib.error.HTTPError as err:
                status, last_error = err.code, f"HTTP {err.code}"
                if not retryable(err.code):
                    refused = f"{self.name} refused the {self.sends}: {last_error}"
                    raise RefusedError(refused) from err
            except (
                urllib.error.URLError,
                TimeoutError,
                ConnectionError,
                http.client.HTTPException,
            ) as err:
                last_error = repr(err)
            finally:
                if on_attempt is not None:
                    on_attempt(status, (time.monotonic() - started) * 1000)
            self.log(
                logging.WARNING,
                f"{self.name} attempt {attempt}/{retry.attempts} failed: {last_error}",
                attempt=attempt,
                attempts=retry.attempts,
                error=last_error,
            )
            retry.wait(attempt)
        raise UnavailableError(f"{self.name} failed after {retry.attempts} attempts: {last_error}")
