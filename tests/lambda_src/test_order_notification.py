"""Order notification against moto (DynamoDB, Secrets Manager) and a local webhook server."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from types import ModuleType
from typing import Any

import pytest
from shared.env import NotConfiguredError
from shared.idempotency import InProgressError

from tests.lambda_src.helpers import (
    AWS,
    UNREACHABLE,
    LocalServer,
    create_secret,
    create_table,
    load_handler,
    put_secret,
    setenv,
    table_item,
)

TABLE = "order-notification-idempotency"


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch, moto: None, server: LocalServer) -> str:
    setenv(monkeypatch, STAGE="dev", IDEMPOTENCY_TABLE=TABLE)
    create_table(TABLE)
    arn = create_secret("commerce/dev/notification-webhook", server.url("/hooks/orders"))
    monkeypatch.setenv("NOTIFICATION_WEBHOOK_SECRET_ARN", arn)
    return arn


@pytest.fixture
def fn(secret: str) -> ModuleType:
    return load_handler("order_notification")


@pytest.fixture
def services(fn: ModuleType, sleeps: list[float]) -> Any:
    built = fn.services_from_env(os.environ, AWS)
    built.retry = replace(built.retry, sleep=sleeps.append)
    return built


def order_event(**detail: Any) -> dict[str, Any]:
    return {
        "id": "evt-1",
        "source": "commerce.orders",
        "detail-type": "OrderPlaced",
        "detail": {
            "order_id": "o-1001",
            "customer_email": "jane@example.com",
            "total": 59.9,
            "currency": "USD",
            "items": [{"sku": "mug", "quantity": 2}, {"sku": "tee"}],
            **detail,
        },
    }


def item(order_id: str) -> dict[str, Any] | None:
    return table_item(TABLE, order_id)


def sent(server: LocalServer) -> list[tuple[str | None, Any]]:
    """(Idempotency-Key, body) of every POST the webhook received."""
    return [(r.headers.get("idempotency-key"), r.json()) for r in server.received]


def test_an_order_is_summarised_for_the_webhook(fn: ModuleType, server: LocalServer) -> None:
    assert fn.handler(order_event()) == {"order_id": "o-1001", "status": "notified"}
    ((key, body),) = sent(server)
    assert key == "order-placed-o-1001"
    assert body == {
        "text": "New order o-1001: 3 items, 59.9 USD (j***@example.com)",
        "order": {
            "order_id": "o-1001",
            "total": "59.9",
            "currency": "USD",
            "items": 3,
            "customer": "j***@example.com",
        },
    }
    done = item("o-1001")
    assert done is not None
    assert done["status"] == "done"


def test_a_redelivered_order_notifies_once(
    fn: ModuleType, services: Any, server: LocalServer
) -> None:
    assert fn.notify(order_event(), services)["status"] == "notified"
    replay = {**order_event(), "id": "evt-2"}  # e.g. an archive replay: same order, new event
    assert fn.notify(replay, services) == {"order_id": "o-1001", "status": "duplicate"}
    assert len(server.received) == 1


def test_an_order_claimed_elsewhere_is_retried_later(
    fn: ModuleType, services: Any, server: LocalServer
) -> None:
    assert services.store.claim("o-1001", time.time())
    with pytest.raises(InProgressError):
        fn.notify(order_event(), services)
    assert server.received == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"customer_email": "not-an-email"}, "customer_email"),
        ({"total": -1}, "total"),
        ({"total": "NaN"}, "total"),
        ({"total": True}, "total"),
        ({"currency": "usd"}, "currency"),
        ({"items": []}, "items"),
        ({"items": [{"quantity": 0}]}, "items"),
        ({"order_id": "../x"}, "order_id"),
    ],
)
def test_malformed_orders_are_rejected_with_the_reason(
    fn: ModuleType, services: Any, change: dict[str, Any], problem: str, server: LocalServer
) -> None:
    with pytest.raises(fn.InvalidEventError, match=problem):
        fn.notify(order_event(**change), services)
    assert server.received == []
    assert item("o-1001") is None


def test_other_event_types_are_rejected(fn: ModuleType, services: Any) -> None:
    with pytest.raises(fn.InvalidEventError, match=r"expected commerce\.orders/OrderPlaced"):
        fn.notify({**order_event(), "detail-type": "OrderCancelled"}, services)
    with pytest.raises(fn.InvalidEventError, match="detail must be an object"):
        fn.notify({**order_event(), "detail": "o-1001"}, services)


def test_throttling_and_server_errors_are_retried_with_backoff(
    fn: ModuleType,
    services: Any,
    sleeps: list[float],
    server: LocalServer,
) -> None:
    services.retry = replace(services.retry, backoff_seconds=0.25)
    server.statuses = [429, 502]
    assert fn.notify(order_event(), services)["status"] == "notified"
    assert len(server.received) == 3
    assert sleeps == [0.25, 0.5]


def test_a_refused_notification_is_not_retried_and_can_be_redelivered(
    fn: ModuleType, services: Any, server: LocalServer
) -> None:
    server.statuses = [410]
    with pytest.raises(fn.DeliveryError, match="refused the notification: HTTP 410"):
        fn.notify(order_event(), services)
    assert len(server.received) == 1
    assert item("o-1001") is None  # released: Lambda's retry (or a DLQ redrive) notifies
    assert fn.notify(order_event(), services)["status"] == "notified"


def test_gives_up_after_the_last_attempt(
    fn: ModuleType, services: Any, server: LocalServer
) -> None:
    server.statuses = [500, 500, 500]
    with pytest.raises(fn.DeliveryError, match="after 3 attempts: HTTP 500"):
        fn.notify(order_event(), services)
    assert item("o-1001") is None


def test_unreachable_webhook_times_out(fn: ModuleType, services: Any, secret: str) -> None:
    services.retry = replace(services.retry, timeout_seconds=0.2)
    put_secret(secret, UNREACHABLE)
    with pytest.raises(fn.DeliveryError, match="after 3 attempts"):
        fn.notify(order_event(), services)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "is empty"),  # created without a value, as a provided secret may be
        ("  \n", "is empty"),
        ("http://hooks.example.com/x", "does not hold an https:// URL"),
    ],
)
def test_an_unset_or_insecure_webhook_fails_loudly_without_a_claim(
    fn: ModuleType, monkeypatch: pytest.MonkeyPatch, value: str | None, message: str
) -> None:
    arn = create_secret("commerce/dev/other-webhook", value)
    monkeypatch.setenv("NOTIFICATION_WEBHOOK_SECRET_ARN", arn)
    with pytest.raises(NotConfiguredError, match=message):
        fn.handler(order_event())
    assert item("o-1001") is None


def test_missing_configuration_is_named(fn: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IDEMPOTENCY_TABLE")
    with pytest.raises(NotConfiguredError, match="IDEMPOTENCY_TABLE"):
        fn.handler(order_event())
