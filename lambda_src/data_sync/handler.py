"""Data sync: hourly schedule -> the partner's catalog (paginated) -> an S3 snapshot + one event.

- Pages are fetched from PARTNER_API_URL with the key from PARTNER_API_KEY_SECRET_ARN as a bearer
  token, following each page's "next" URL up to PARTNER_PAGE_LIMIT pages. A next URL on another
  origin is refused (it would receive the key), and so is a catalog longer than the limit: a
  truncated snapshot must never pass for a complete one.
- Each GET has a timeout and is retried with backoff on network errors, 429 and 5xx; any other
  4xx fails the run at once.
- The snapshot goes to s3://$UPLOADS_BUCKET/sync/<UTC timestamp>.json, then one CatalogSynced
  event (source commerce.sync) goes on EVENT_BUS_NAME. PutEvents reports failures per entry, not
  as an error: FailedEntryCount is checked, throttled entries are retried.
- Any failure raises, so the scheduler retries and then dead-letters the invocation.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from shared import env, http, logs
from shared.secrets import Secret

TIMEOUT_SECONDS = float(os.environ.get("PARTNER_TIMEOUT_SECONDS", "10"))
ATTEMPTS = int(os.environ.get("PARTNER_ATTEMPTS", "3"))
BACKOFF_SECONDS = float(os.environ.get("PARTNER_BACKOFF_SECONDS", "1"))
PAGE_LIMIT = int(os.environ.get("PARTNER_PAGE_LIMIT", "50"))
SOURCE, DETAIL_TYPE = "commerce.sync", "CatalogSynced"
RETRYABLE_ENTRY_ERRORS = frozenset({"ThrottlingException", "InternalFailure"})

logger = logs.json_logger("data_sync")
log = logs.Log(logger)
PARTNER = http.Client("partner API", log)

PartnerError = http.HttpError
"""The partner API refused us, answered nonsense or kept failing."""


class PublishError(RuntimeError):
    """The CatalogSynced event was not accepted."""


@dataclass(frozen=True)
class Config:
    bucket: str
    api_url: str
    key_secret_arn: str
    bus_name: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Config:
        env.require(
            environ,
            "UPLOADS_BUCKET",
            "PARTNER_API_URL",
            "PARTNER_API_KEY_SECRET_ARN",
            "EVENT_BUS_NAME",
        )
        return cls(
            bucket=environ["UPLOADS_BUCKET"],
            # The key travels in a header: never over plain HTTP.
            api_url=http.require_https(environ["PARTNER_API_URL"], "PARTNER_API_URL"),
            key_secret_arn=environ["PARTNER_API_KEY_SECRET_ARN"],
            bus_name=environ["EVENT_BUS_NAME"],
        )


def origin(url: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def fetch_catalog(first_url: str, key: str, retry: http.Retry) -> tuple[list[Any], int]:
    """(items, pages) across every page."""
    headers = {"Authorization": f"Bearer {key}"}
    items: list[Any] = []
    url, seen = first_url, set()
    for page in range(1, PAGE_LIMIT + 1):
        seen.add(url)
        body = PARTNER.get_json(url, headers, retry)
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise PartnerError(f"page {page} has no 'items' list")
        items += body["items"]
        following = body.get("next")
        if not following:
            return items, page
        if not isinstance(following, str):
            raise PartnerError(f"page {page} has a non-string 'next'")
        url = urllib.parse.urljoin(url, following)  # relative next links are common
        if origin(url) != origin(first_url):
            raise PartnerError(f"page {page} links to another origin {origin(url)}; not following")
        if url in seen:
            raise PartnerError(f"page {page} links back to an earlier page")
    raise PartnerError(
        f"the catalog has more than {PAGE_LIMIT} pages; raise PARTNER_PAGE_LIMIT "
        "(no partial snapshot was written)"
    )


def publish(events: Any, bus_name: str, detail: dict[str, Any], retry: http.Retry) -> str:
    """The event id; retries entries PutEvents reports as throttled or failed internally."""
    entry = {
        "Source": SOURCE,
        "DetailType": DETAIL_TYPE,
        "Detail": json.dumps(detail),
        "EventBusName": bus_name,
    }
    last_error = "no attempt"
    for attempt in range(1, retry.attempts + 1):
        response = events.put_events(Entries=[entry])
        (result,) = response["Entries"]
        if not response.get("FailedEntryCount"):
            return str(result.get("EventId", ""))
        last_error = f"{result.get('ErrorCode')}: {result.get('ErrorMessage')}"
        if result.get("ErrorCode") not in RETRYABLE_ENTRY_ERRORS:
            break
        log(logging.WARNING, "event entry failed", attempt=attempt, error=last_error)
        retry.wait(attempt)
    raise PublishError(f"{DETAIL_TYPE} event not accepted by {bus_name}: {last_error}")


@dataclass
class Services:
    config: Config
    key: Secret
    s3: Any
    events: Any
    retry: http.Retry
    """Of every partner request and PutEvents call."""
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)


def sync(services: Services) -> dict[str, Any]:
    config = services.config
    items, pages = fetch_catalog(config.api_url, services.key.get(), services.retry)
    fetched_at = services.clock().astimezone(UTC)
    key = f"sync/{fetched_at.strftime('%Y%m%dT%H%M%SZ')}.json"
    snapshot = {
        "fetched_at": fetched_at.isoformat(),
        "source": config.api_url,
        "pages": pages,
        "count": len(items),
        "items": items,
    }
    services.s3.put_object(
        Bucket=config.bucket,
        Key=key,
        Body=json.dumps(snapshot).encode(),
        ContentType="application/json",
    )
    event_id = publish(
        services.events, config.bus_name, {"items": len(items), "key": key}, services.retry
    )
    log(logging.INFO, "catalog synced", key=key, items=len(items), pages=pages, event_id=event_id)
    return {"key": key, "items": len(items), "pages": pages}


def services_from_env(environ: Mapping[str, str], aws: Any = boto3) -> Services:
    """The production wiring; `aws` is boto3 itself or a boto3.Session."""
    config = Config.from_env(environ)
    return Services(
        config=config,
        key=Secret(aws.client("secretsmanager"), config.key_secret_arn, "the partner API key"),
        s3=aws.client("s3"),
        events=aws.client("events"),
        retry=http.Retry(ATTEMPTS, BACKOFF_SECONDS, TIMEOUT_SECONDS),
    )


def run(event: Any, services: Services) -> dict[str, Any]:
    """The schedule's input is not used: every run syncs the whole catalog."""
    return sync(services)


handler = env.EntryPoint(services_from_env, run)
"""The Lambda entry point: the clients and the key cache live as long as the container."""
