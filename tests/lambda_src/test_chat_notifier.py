"""Chat notifier against a real local HTTP server (the webhook) and moto's Secrets Manager."""

from __future__ import annotations

import json
from dataclasses import replace
from types import ModuleType
from typing import Any

import pytest
from shared.env import NotConfiguredError

from tests.lambda_src.helpers import (
    UNREACHABLE,
    LocalServer,
    create_secret,
    load_handler,
    put_secret,
    setenv,
)

ALARM = {
    "AlarmName": "webplat-prod-api-5xx",
    "AlarmDescription": "API 5xx rate above 1 %",
    "NewStateValue": "ALARM",
    "OldStateValue": "OK",
    "NewStateReason": "Threshold Crossed: 1 datapoint [3.2] was greater than 1.0",
    "Region": "Asia Pacific (Seoul)",
}
TOPIC = "arn:aws:sns:ap-northeast-2:000000000000:webplat-prod-alerts-critical"
SECRET = "webplat/prod/chat-webhook"


@pytest.fixture
def webhook(server: LocalServer) -> str:
    return server.url("/hook")


@pytest.fixture
def webhook_value(webhook: str) -> str:
    """What the webhook secret holds (tests override it)."""
    return json.dumps({"url": webhook})


@pytest.fixture
def notifier(monkeypatch: pytest.MonkeyPatch, moto: None, webhook_value: str) -> ModuleType:
    setenv(monkeypatch, AWS_REGION="ap-northeast-2", WEBHOOK_BACKOFF_SECONDS="0")
    monkeypatch.setenv("WEBHOOK_SECRET_ARN", create_secret(SECRET, webhook_value))
    return load_handler("chat_notifier")


def sns_event(message: str, subject: str | None = "ALARM") -> dict[str, Any]:
    return {"Records": [{"Sns": {"Message": message, "Subject": subject, "TopicArn": TOPIC}}]}


def test_alarm_state_change_is_formatted_for_chat(
    notifier: ModuleType, server: LocalServer
) -> None:
    assert notifier.handler(sns_event(json.dumps(ALARM))) == {"sent": 1}
    (payload,) = server.bodies()
    assert payload["text"] == ":red_circle: [critical] webplat-prod-api-5xx is ALARM"
    (attachment,) = payload["attachments"]
    assert attachment["color"] == "#d62728"
    assert attachment["text"] == ALARM["NewStateReason"]
    assert "alarm/webplat-prod-api-5xx" in attachment["title_link"]
    fields = {f["title"]: f["value"] for f in attachment["fields"]}
    assert fields["Previous state"] == "OK"


def test_recovery_is_green(notifier: ModuleType, server: LocalServer) -> None:
    notifier.handler(
        sns_event(json.dumps({**ALARM, "NewStateValue": "OK", "OldStateValue": "ALARM"}))
    )
    assert server.bodies()[0]["attachments"][0]["color"] == "#2ca02c"


def test_plain_messages_are_forwarded_as_text(notifier: ModuleType, server: LocalServer) -> None:
    notifier.handler(sns_event("GuardDuty finding: UnauthorizedAccess", subject="Finding"))
    assert server.bodies() == [
        {"text": "[critical] Finding\nGuardDuty finding: UnauthorizedAccess"}
    ]


def test_server_errors_are_retried(notifier: ModuleType, server: LocalServer) -> None:
    server.statuses = [503, 429]
    assert notifier.handler(sns_event(json.dumps(ALARM))) == {"sent": 1}
    assert len(server.received) == 3  # two failures, then delivered


def test_gives_up_after_the_last_attempt_so_the_message_is_kept(
    notifier: ModuleType, server: LocalServer
) -> None:
    server.statuses = [500, 500, 500]
    with pytest.raises(notifier.DeliveryError, match="after 3 attempts: HTTP 500"):
        notifier.handler(sns_event(json.dumps(ALARM)))


def test_a_refused_message_is_not_retried(notifier: ModuleType, server: LocalServer) -> None:
    server.statuses = [404]
    with pytest.raises(notifier.DeliveryError, match="refused the message: HTTP 404"):
        notifier.handler(sns_event(json.dumps(ALARM)))
    assert len(server.received) == 1


def test_unreachable_webhook_times_out_and_fails(
    notifier: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notifier, "RETRY", replace(notifier.RETRY, timeout_seconds=0.2))
    monkeypatch.setattr(notifier, "_webhook_url", UNREACHABLE)
    with pytest.raises(notifier.DeliveryError, match="after 3 attempts"):
        notifier.handler(sns_event(json.dumps(ALARM)))


@pytest.mark.parametrize(
    "webhook_value",
    [" ", "{}", '{"url": ""}', '{"url": "http://hooks.example.com/x"}', "ftp://x"],
)
def test_an_unset_or_clear_text_webhook_fails_loudly(
    notifier: ModuleType, server: LocalServer
) -> None:
    """The secret starts empty: alerts must not vanish silently (the failure alarms and the
    message stays in the dead-letter queue), and a URL must never be plain HTTP."""
    with pytest.raises(NotConfiguredError, match="holds no https:// URL"):
        notifier.handler(sns_event(json.dumps(ALARM)))
    assert server.bodies() == []


@pytest.mark.parametrize("webhook_value", ["{webhook}", '{{"url": " {webhook} "}}'])
def test_the_secret_may_hold_the_bare_url_or_a_json_object(
    notifier: ModuleType, webhook: str, webhook_value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notifier, "_webhook_url", None)
    put_secret(SECRET, webhook_value.format(webhook=webhook))
    assert notifier.handler(sns_event(json.dumps(ALARM))) == {"sent": 1}
