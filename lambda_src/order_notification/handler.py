"""Order notification: "OrderPlaced" events (source commerce.orders) on the product bus -> a
webhook.

- The detail is validated first; a malformed event raises InvalidEventError, so after Lambda's
  asynchronous retries it lands in the function's dead-letter queue, where it can be read.
- Idempotent by order_id: the order is claimed in DynamoDB with a conditional write before the
  POST, so a redelivered or replayed event notifies once (while another invocation holds the
  claim, InProgressError: Lambda retries the event later).
- The webhook URL is the raw value of the NOTIFICATION_WEBHOOK_SECRET_ARN secret. Each POST has a
  timeout and is retried with backoff on network errors, 429 and 5xx; any other 4xx fails at once.
  It carries an Idempotency-Key header, for receivers that deduplicate themselves.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import boto3
from shared import env, http, logs
from shared.env import NotConfiguredError
from shared.idempotency import Claims
from shared.secrets import Secret

TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "5"))
ATTEMPTS = int(os.environ.get("WEBHOOK_ATTEMPTS", "3"))
BACKOFF_SECONDS = float(os.environ.get("WEBHOOK_BACKOFF_SECONDS", "1"))
KEEP_DONE_SECONDS = 30 * 24 * 3600
"""Longer than any EventBridge retry or archive replay window worth deduplicating."""
SOURCE, DETAIL_TYPE = "commerce.orders", "OrderPlaced"
ORDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CURRENCY = re.compile(r"^[A-Z]{3}$")  # ISO 4217

logger = logs.json_logger("order_notification")
log = logs.Log(logger)
WEBHOOK = http.Client("webhook", log, sends="notification")


class InvalidEventError(ValueError):
    """The event can never be delivered as it is: it goes to the DLQ after the retries."""


DeliveryError = http.HttpError
"""The webhook did not accept the notification (refused it, or every attempt failed)."""


@dataclass(frozen=True)
class Order:
    order_id: str
    customer_email: str
    total: Decimal
    currency: str
    item_count: int


def validate(event: Mapping[str, Any]) -> Order:
    if event.get("source") != SOURCE or event.get("detail-type") != DETAIL_TYPE:
        raise InvalidEventError(
            f"expected {SOURCE}/{DETAIL_TYPE}, got {event.get('source')}/{event.get('detail-type')}"
        )
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise InvalidEventError("detail must be an object")
    problems = []
    order_id, email = detail.get("order_id"), detail.get("customer_email")
    if not isinstance(order_id, str) or not ORDER_ID.match(order_id):
        problems.append("order_id must be 1-128 letters, digits or ._:-")
    if not isinstance(email, str) or not EMAIL.match(email):
        problems.append("customer_email must be an email address")
    total = amount(detail.get("total"))
    if total is None:
        problems.append("total must be a non-negative number")
    currency = detail.get("currency")
    if not isinstance(currency, str) or not CURRENCY.match(currency):
        problems.append("currency must be a three-letter ISO 4217 code, e.g. KRW")
    items = detail.get("items")
    quantities = [quantity(item) for item in items] if isinstance(items, list) else []
    if not quantities or None in quantities:
        problems.append("items must be a non-empty list of objects (quantity a positive integer)")
    if problems or total is None:  # (total is None only with a problem; said for mypy)
        raise InvalidEventError(
            f"invalid OrderPlaced event {event.get('id')}: {'; '.join(problems)}"
        )
    return Order(
        detail["order_id"],
        detail["customer_email"],
        total,
        detail["currency"],
        sum(q or 0 for q in quantities),
    )


def amount(value: Any) -> Decimal | None:
    """Money as Decimal (floats and strings from producers alike); never binary float maths."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        parsed = Decimal(str(value))
    except InvalidOperation:
        return None
    return parsed if parsed.is_finite() and parsed >= 0 else None


def quantity(item: Any) -> int | None:
    if not isinstance(item, dict):
        return None
    count = item.get("quantity", 1)
    return count if isinstance(count, int) and not isinstance(count, bool) and count > 0 else None


def masked(email: str) -> str:
    """Chat channels are no place for customer addresses: first letter and domain only."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def notification(order: Order) -> dict[str, Any]:
    items = f"{order.item_count} item{'s' if order.item_count != 1 else ''}"
    return {
        "text": (
            f"New order {order.order_id}: {items}, {order.total} {order.currency} "
            f"({masked(order.customer_email)})"
        ),
        "order": {
            "order_id": order.order_id,
            "total": str(order.total),
            "currency": order.currency,
            "items": order.item_count,
            "customer": masked(order.customer_email),
        },
    }


def webhook_url(arn: str, value: str) -> str:
    """Never post order data in clear text (plain HTTP to loopback only, for local tests)."""
    if not http.is_secure(value):
        raise NotConfiguredError(f"secret {arn} does not hold an https:// URL")  # the URL is secret
    return value


@dataclass
class Services:
    store: Claims
    webhook: Secret
    retry: http.Retry
    clock: Callable[[], float] = time.time


def notify(event: Mapping[str, Any], services: Services) -> dict[str, str]:
    order = validate(event)
    url = services.webhook.get()  # before the claim: a missing URL leaves nothing to release
    if not services.store.start(order.order_id, services.clock()):
        log(logging.INFO, "duplicate order event skipped", order_id=order.order_id)
        return {"order_id": order.order_id, "status": "duplicate"}
    with services.store.finishing(order.order_id, services.clock):
        WEBHOOK.post_json(
            url,
            notification(order),
            {"Idempotency-Key": f"order-placed-{order.order_id}"},
            services.retry,
        )
    log(logging.INFO, "order notified", order_id=order.order_id, event_id=event.get("id"))
    return {"order_id": order.order_id, "status": "notified"}


def services_from_env(environ: Mapping[str, str], aws: Any = boto3) -> Services:
    """The production wiring; `aws` is boto3 itself or a boto3.Session."""
    env.require(environ, "IDEMPOTENCY_TABLE", "NOTIFICATION_WEBHOOK_SECRET_ARN")
    arn = environ["NOTIFICATION_WEBHOOK_SECRET_ARN"]
    return Services(
        store=Claims.for_table(
            aws, environ["IDEMPOTENCY_TABLE"], keep_done_seconds=KEEP_DONE_SECONDS
        ),
        webhook=Secret(
            aws.client("secretsmanager"),
            arn,
            "the webhook URL",
            check=functools.partial(webhook_url, arn),
        ),
        retry=http.Retry(ATTEMPTS, BACKOFF_SECONDS, TIMEOUT_SECONDS),
    )


handler = env.EntryPoint(services_from_env, notify)
"""The Lambda entry point: the clients and the URL cache live as long as the container."""
