"""Data sync against moto (S3, Secrets Manager, EventBridge) and a local partner API serving a
two-page catalog."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import pytest
from shared.env import NotConfiguredError

from tests.lambda_src.helpers import (
    AWS,
    UNREACHABLE,
    LocalServer,
    create_bucket,
    create_secret,
    keys,
    load_handler,
    put_secret,
    setenv,
)

BUCKET, BUS, KEY = "uploads", "commerce-dev", "partner-key-1"
NOW = datetime(2026, 1, 15, 3, 0, 5, tzinfo=UTC)


@pytest.fixture
def partner(server: LocalServer) -> LocalServer:
    """Page 1 links to page 2 relatively; any other path is not found."""
    server.answer = None
    server.pages = {
        "/v2/catalog": {"items": [{"sku": "mug"}, {"sku": "tee"}], "next": "/v2/catalog?page=2"},
        "/v2/catalog?page=2": {"items": [{"sku": "cap"}], "next": None},
    }
    return server


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, moto: None, partner: LocalServer) -> str:
    """Moto resources and the function's environment; the key secret's ARN."""
    setenv(
        monkeypatch,
        STAGE="dev",
        UPLOADS_BUCKET=BUCKET,
        EVENT_BUS_NAME=BUS,
        PARTNER_API_URL=partner.url("/v2/catalog"),
        PARTNER_BACKOFF_SECONDS="0",
    )
    create_bucket(BUCKET)
    arn = create_secret("commerce/dev/partner-key", KEY)
    monkeypatch.setenv("PARTNER_API_KEY_SECRET_ARN", arn)
    AWS.client("events").create_event_bus(Name=BUS)
    return arn


@pytest.fixture
def fn(aws: str) -> ModuleType:
    return load_handler("data_sync")


@pytest.fixture
def services(fn: ModuleType, sleeps: list[float]) -> Any:
    built = fn.services_from_env(os.environ, AWS)
    built.clock = lambda: NOW
    built.retry = replace(built.retry, sleep=sleeps.append)
    built.events = PutEvents(built.events)
    return built


def snapshots() -> list[str]:
    return keys(BUCKET, "sync/")


def requests(partner: LocalServer) -> list[tuple[str, str | None]]:
    return [(r.path, r.headers.get("authorization")) for r in partner.received]


class PutEvents:
    """Moto's EventBridge client, keeping the entries it was given (moto delivers to targets
    only with an optional dependency)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.entries: list[dict[str, Any]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> Any:  # noqa: N803 (boto3's name)
        response = self.client.put_events(Entries=Entries)
        if not response["FailedEntryCount"]:
            self.entries += Entries
        return response


class Events:
    """PutEvents answering with queued per-entry results (FailedEntryCount, no exception)."""

    def __init__(self, *error_codes: str | None) -> None:
        self.error_codes, self.calls = list(error_codes), 0

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 (boto3)
        self.calls += 1
        code = self.error_codes.pop(0) if self.error_codes else None
        if code is None:
            return {"FailedEntryCount": 0, "Entries": [{"EventId": "e-1"}]}
        return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": code, "ErrorMessage": "no"}]}


def test_two_pages_become_one_snapshot_and_one_event(
    fn: ModuleType, services: Any, partner: LocalServer
) -> None:
    assert fn.sync(services) == {"key": "sync/20260115T030005Z.json", "items": 3, "pages": 2}
    assert requests(partner) == [
        ("/v2/catalog", f"Bearer {KEY}"),
        ("/v2/catalog?page=2", f"Bearer {KEY}"),
    ]
    body = AWS.client("s3").get_object(Bucket=BUCKET, Key="sync/20260115T030005Z.json")["Body"]
    snapshot = json.loads(body.read())
    assert [item["sku"] for item in snapshot["items"]] == ["mug", "tee", "cap"]
    assert (snapshot["pages"], snapshot["fetched_at"]) == (2, "2026-01-15T03:00:05+00:00")
    (entry,) = services.events.entries
    assert (entry["Source"], entry["DetailType"], entry["EventBusName"]) == (
        "commerce.sync",
        "CatalogSynced",
        BUS,
    )
    assert json.loads(entry["Detail"]) == {"items": 3, "key": "sync/20260115T030005Z.json"}


def test_the_entry_point_runs_the_same_sync(fn: ModuleType) -> None:
    result = fn.handler({"source": "data-sync"})
    assert (result["items"], result["pages"]) == (3, 2)
    assert snapshots() == [result["key"]]


def test_more_pages_than_the_limit_write_nothing(
    fn: ModuleType, services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fn, "PAGE_LIMIT", 1)
    with pytest.raises(fn.PartnerError, match="more than 1 pages"):
        fn.sync(services)
    assert snapshots() == []
    assert services.events.entries == []


@pytest.mark.parametrize(
    ("next_url", "message"),
    [("https://collector.example.net/steal", "another origin"), ("/v2/catalog", "links back")],
)
def test_suspicious_next_links_are_not_followed(
    fn: ModuleType, services: Any, next_url: str, message: str, partner: LocalServer
) -> None:
    partner.pages["/v2/catalog"]["next"] = next_url
    with pytest.raises(fn.PartnerError, match=message):
        fn.sync(services)
    assert len(partner.received) == 1  # the key never went anywhere else
    assert snapshots() == []


def test_throttling_and_server_errors_are_retried_with_backoff(
    fn: ModuleType,
    services: Any,
    sleeps: list[float],
    partner: LocalServer,
) -> None:
    services.retry = replace(services.retry, backoff_seconds=0.5)
    partner.statuses = [429, 200, 503]  # page 1 throttled once, page 2 failed once
    assert fn.sync(services)["items"] == 3
    assert len(partner.received) == 4
    assert sleeps == [0.5, 0.5]  # the backoff restarts for each page


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (401, "refused the request: HTTP 401"),
        ({"products": []}, "no 'items' list"),
        (b"<html>maintenance</html>", "non-JSON"),
    ],
)
def test_refusals_and_nonsense_fail_at_once(
    fn: ModuleType, services: Any, partner: LocalServer, answer: Any, message: str
) -> None:
    """`answer`: the status of the first page, or its body (with a 200)."""
    if isinstance(answer, int):
        partner.statuses = [answer]
    else:
        partner.pages["/v2/catalog"] = answer
    with pytest.raises(fn.PartnerError, match=message):
        fn.sync(services)
    assert len(partner.received) == 1
    assert snapshots() == []


def test_gives_up_after_the_last_attempt(
    fn: ModuleType, services: Any, partner: LocalServer
) -> None:
    partner.statuses = [500, 502, 504]
    with pytest.raises(fn.PartnerError, match="after 3 attempts: HTTP 504"):
        fn.sync(services)


def test_unreachable_partner_times_out(fn: ModuleType, services: Any) -> None:
    services.retry = replace(services.retry, timeout_seconds=0.2)
    services.config = fn.Config(BUCKET, UNREACHABLE, "arn", BUS)
    with pytest.raises(fn.PartnerError, match="after 3 attempts"):
        fn.sync(services)


def test_failed_event_entries_are_retried_then_reported(fn: ModuleType, services: Any) -> None:
    services.events = Events("ThrottlingException")
    assert fn.sync(services)["items"] == 3
    assert services.events.calls == 2
    services.events = Events("AccessDeniedException")
    with pytest.raises(fn.PublishError, match="AccessDeniedException"):
        fn.sync(services)
    assert services.events.calls == 1  # a permanent failure is not retried


def test_missing_configuration_and_an_empty_key_fail_loudly(
    fn: ModuleType, aws: str, monkeypatch: pytest.MonkeyPatch, partner: LocalServer
) -> None:
    monkeypatch.delenv("EVENT_BUS_NAME")
    with pytest.raises(NotConfiguredError, match="EVENT_BUS_NAME"):
        fn.services_from_env(os.environ, AWS)
    monkeypatch.setenv("EVENT_BUS_NAME", BUS)
    put_secret(aws, " ")
    with pytest.raises(NotConfiguredError, match="is empty"):
        fn.handler({})
    assert requests(partner) == []
