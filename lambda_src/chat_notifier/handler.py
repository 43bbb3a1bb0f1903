"""Chat notifier: SNS alert topics -> a Slack-style incoming webhook.

CloudWatch alarm state changes become one readable message (state, alarm, reason, link);
other SNS messages are forwarded as text. The webhook URL is read from Secrets Manager once per
container. Each POST has a timeout and is retried with backoff on network errors, 429 and 5xx;
when every attempt fails the invocation fails, so SNS retries and then the function's
dead-letter queue keeps the message.
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.parse
from typing import Any

import boto3
from shared import http, logs, secrets
from shared.env import NotConfiguredError

TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "5"))
ATTEMPTS = int(os.environ.get("WEBHOOK_ATTEMPTS", "3"))
BACKOFF_SECONDS = float(os.environ.get("WEBHOOK_BACKOFF_SECONDS", "1"))
STATE_ICONS = {
    "ALARM": ":red_circle:",
    "OK": ":large_green_circle:",
    "INSUFFICIENT_DATA": ":grey_question:",
}
COLORS = {"ALARM": "#d62728", "OK": "#2ca02c", "INSUFFICIENT_DATA": "#7f7f7f"}

logger = logging.getLogger("chat_notifier")
logger.setLevel(logging.INFO)
WEBHOOK = http.Client("webhook", logs.Log(logger), sends="message")
RETRY = http.Retry(ATTEMPTS, BACKOFF_SECONDS, TIMEOUT_SECONDS)
_webhook_url: str | None = None

DeliveryError = http.HttpError
"""The webhook refused the message, or every attempt failed."""


def webhook_url() -> str:
    """The secret's URL, bare or as {"url": ...}. Until it holds an https:// URL (it starts
    empty) the invocation fails loudly: the function's error alarm pages the critical recipients
    and the message stays in the dead-letter queue, rather than alerts vanishing silently."""
    global _webhook_url  # noqa: PLW0603 (cached per container, like a connection)
    if _webhook_url is None:
        arn = os.environ["WEBHOOK_SECRET_ARN"]
        value = secrets.read(boto3.client("secretsmanager"), arn)
        if value.startswith("{"):
            value = str(json.loads(value).get("url", "")).strip()
        if not http.is_secure(value):
            raise NotConfiguredError(
                f"the chat webhook secret {arn} holds no https:// URL; "
                'put {"url": "https://hooks..."} into it'
            )
        _webhook_url = value
    return _webhook_url


def format_message(subject: str | None, message: str, topic_arn: str) -> dict[str, Any]:
    severity = topic_arn.rsplit("-", 1)[-1] if topic_arn else "info"
    try:
        alarm = json.loads(message)
    except json.JSONDecodeError:
        alarm = None
    if not isinstance(alarm, dict) or "NewStateValue" not in alarm:
        return {"text": f"[{severity}] {subject or 'Notification'}\n{message}"}
    state = alarm["NewStateValue"]
    name = alarm.get("AlarmName", "alarm")
    region = alarm.get("Region", "")
    console_region = os.environ.get("AWS_REGION", "")
    link = (
        f"https://console.aws.amazon.com/cloudwatch/home?region={console_region}"
        f"#alarmsV2:alarm/{urllib.parse.quote(name)}"
    )
    title = f"{STATE_ICONS.get(state, '')} [{severity}] {name} is {state}".strip()
    return {
        "text": title,
        "attachments": [
            {
                "color": COLORS.get(state, "#7f7f7f"),
                "title": name,
                "title_link": link,
                "text": alarm.get("NewStateReason", ""),
                "fields": [
                    {
                        "title": "Previous state",
                        "value": alarm.get("OldStateValue", "?"),
                        "short": True,
                    },
                    {"title": "Region", "value": region, "short": True},
                    {
                        "title": "Description",
                        "value": alarm.get("AlarmDescription") or "-",
                        "short": False,
                    },
                ],
                "ts": int(time.time()),
            }
        ],
    }


def post(url: str, payload: dict[str, Any]) -> None:
    WEBHOOK.post_json(url, payload, {}, RETRY)


def handler(event: dict[str, Any], context: Any = None) -> dict[str, int]:
    url = webhook_url()
    sent = 0
    for record in event.get("Records", []):
        sns = record["Sns"]
        post(url, format_message(sns.get("Subject"), sns["Message"], sns.get("TopicArn", "")))
        sent += 1
    return {"sent": sent}
