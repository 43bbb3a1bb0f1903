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
import urllib.error
import urllib.parse
import urllib.request
from http import HTTPStatus
from typing import Any

import boto3

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
_webhook_url: str | None = None


class DeliveryError(RuntimeError):
    """The webhook did not accept the message after every attempt."""


def webhook_url() -> str:
    global _webhook_url  # noqa: PLW0603 (cached per container, like a connection)
    if _webhook_url is None:
        secret = boto3.client("secretsmanager").get_secret_value(
            SecretId=os.environ["WEBHOOK_SECRET_ARN"]
        )
        value = secret["SecretString"].strip()
        if value.startswith("{"):
            value = json.loads(value)["url"]
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
    body = json.dumps(payload).encode()
    last_error = "no attempt"
    for attempt in range(1, ATTEMPTS + 1):
        request = urllib.request.Request(
            url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                if HTTPStatus.OK <= response.status < HTTPStatus.MULTIPLE_CHOICES:
                    return
                last_error = f"HTTP {response.status}"
        except urllib.error.HTTPError as err:
            last_error = f"HTTP {err.code}"
            retryable = (
                err.code >= HTTPStatus.INTERNAL_SERVER_ERROR
                or err.code == HTTPStatus.TOO_MANY_REQUESTS
            )
            if not retryable:  # a client error will not get better
                raise DeliveryError(f"webhook refused the message: {last_error}") from err
        except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
            last_error = repr(err)
        logger.warning("webhook attempt %d/%d failed: %s", attempt, ATTEMPTS, last_error)
        if attempt < ATTEMPTS:
            time.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
    raise DeliveryError(f"webhook failed after {ATTEMPTS} attempts: {last_error}")


def handler(event: dict[str, Any], context: Any = None) -> dict[str, int]:
    url = webhook_url()
    sent = 0
    for record in event.get("Records", []):
        sns = record["Sns"]
        post(url, format_message(sns.get("Subject"), sns["Message"], sns.get("TopicArn", "")))
        sent += 1
    return {"sent": sent}
