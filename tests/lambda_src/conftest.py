"""The fixtures of the function tests: moto in place of AWS, captured metrics and backoff
sleeps, and a local HTTP server. What the tests import lives in helpers.py (which also puts
lambda_src/ on sys.path, so `shared` imports as in a function's asset)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from tests.lambda_src.helpers import REGION, LocalServer, setenv


@pytest.fixture
def moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Moto's AWS, with test credentials in the environment (for the handlers' own clients)."""
    setenv(
        monkeypatch,
        AWS_DEFAULT_REGION=REGION,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
    )
    with mock_aws():
        yield


@pytest.fixture
def sleeps() -> list[float]:
    """The backoff pauses of the retries under test, not slept: Retry(..., sleep=sleeps.append)."""
    return []


@pytest.fixture
def metrics() -> list[dict[str, Any]]:
    """The EMF lines of the metrics under test, not printed: Metrics(write=capture(metrics))."""
    return []


@pytest.fixture
def server() -> Iterator[LocalServer]:
    local = LocalServer()
    threading.Thread(target=local.serve_forever, args=(0.01,), daemon=True).start()
    yield local
    local.shutdown()
    local.server_close()
