"""Chat notifier against a real local HTTP server (the webhook) and moto's Secrets Manager."""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import boto3
import pytest
from moto import mock_aws

HANDLER = Path(__file__).resolve().parents[2] / "lambda_src" / "chat_notifier" / "handler.py"
ALARM = {
    "AlarmName": "webplat-prod-api-5xx",
    "AlarmDescription": "API 5xx rate above 1 %",
    "NewStateValue": "ALARM",
    "OldStateValue": "OK",
    "NewStateReason": "Threshold Crossed: 1 datapoint [3.2] was greater than 1.0",
    "Region": "Asia Pacific (Seoul)",
}
TOPIC = "arn:aws:sns:ap-northeast-2:000000000000:webplat-prod-alerts-critical"


class Webhook(BaseHTTPRequestHandler):
    """Answers with the next queued status and records what it received."""

    statuses: ClassVar[list[int]] = []
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        Webhook.received.append(json.loads(self.rfile.read(length)))
        self.send_response(Webhook.statuses.pop(0) if Webhook.statuses else 200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    Webhook.statuses, Webhook.received = [], []
    server = HTTPServer(("127.0.0.1", 0), Webhook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


@pytest.fixture
def notifier(monkeypatch: pytest.MonkeyPatch, webhook: str) -> Iterator[ModuleType]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-northeast-2")
    monkeypatch.setenv("AWS_REGION", "ap-northeast-2")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("WEBHOOK_BACKOFF_SECONDS", "0")
    with mock_aws():
        secret = boto3.client("secretsmanager").create_secret(
            Name="webplat/prod/chat-webhook", SecretString=json.dumps({"url": webhook})
        )
        monkeypatch.setenv("WEBHOOK_SECRET_ARN", secret["ARN"])
        spec = importlib.util.spec_from_file_location("chat_notifier_handler", HANDLER)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module


def sns_event(message: str, subject: str | None = "ALARM") -> dict[str, Any]:
    return {"Records": [{"Sns": {"Message": message, "Subject": subject, "TopicArn": TOPIC}}]}


def test_alarm_state_change_is_formatted_for_chat(notifier: ModuleType) -> None:
    assert notifier.handler(sns_event(json.dumps(ALARM))) == {"sent": 1}
    (payload,) = Webhook.received
    assert payload["text"] == ":red_circle: [critical] webplat-prod-api-5xx is ALARM"
    (attachment,) = payload["attachments"]
    assert attachment["color"] == "#d62728"
    assert attachment["text"] == ALARM["NewStateReason"]
    assert "alarm/webplat-prod-api-5xx" in attachment["title_link"]
    fields = {f["title"]: f["value"] for f in attachment["fields"]}
    assert fields["Previous state"] == "OK"


def test_recovery_is_green(notifier: ModuleType) -> None:
    notifier.handler(
        sns_event(json.dumps({**ALARM, "NewStateValue": "OK", "OldStateValue": "ALARM"}))
    )
    assert Webhook.received[0]["attachments"][0]["color"] == "#2ca02c"


def test_plain_messages_are_forwarded_as_text(notifier: ModuleType) -> None:
    notifier.handler(sns_event("GuardDuty finding: UnauthorizedAccess", subject="Finding"))
    assert Webhook.received == [
        {"text": "[critical] Finding\nGuardDuty finding: UnauthorizedAccess"}
    ]


def test_server_errors_are_retried(notifier: ModuleType) -> None:
    Webhook.statuses = [503, 429]
    assert notifier.handler(sns_event(json.dumps(ALARM))) == {"sent": 1}
    assert len(Webhook.received) == 3  # two failures, then delivered


def test_gives_up_after_the_last_attempt_so_the_message_is_kept(notifier: ModuleType) -> None:
    Webhook.statuses = [500, 500, 500]
    with pytest.raises(notifier.DeliveryError, match="after 3 attempts: HTTP 500"):
        notifier.handler(sns_event(json.dumps(ALARM)))


def test_a_refused_message_is_not_retried(notifier: ModuleType) -> None:
    Webhook.statuses = [404]
    with pytest.raises(notifier.DeliveryError, match="refused the message: HTTP 404"):
        notifier.handler(sns_event(json.dumps(ALARM)))
    assert len(Webhook.received) == 1


def test_unreachable_webhook_times_out_and_fails(
    notifier: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notifier, "TIMEOUT_SECONDS", 0.2)
    monkeypatch.setattr(notifier, "_webhook_url", "http://127.0.0.1:9/unreachable")
    with pytest.raises(notifier.DeliveryError, match="after 3 attempts"):
        notifier.handler(sns_event(json.dumps(ALARM)))
