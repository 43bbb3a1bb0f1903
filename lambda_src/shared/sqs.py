"""SQS batches with partial batch failures (ReportBatchItemFailures): only the failed messages
return to the queue; after the queue's max receive count SQS moves them to its dead-letter queue."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from shared.env import NotConfiguredError
from shared.logs import Log

BatchResponse = dict[str, list[dict[str, str]]]
SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
"""An id that can become an S3 key segment: no slashes, no '..', nothing that needs escaping."""


class PoisonMessageError(ValueError):
    """The message can never succeed (bad JSON, missing or invalid fields): it fails alone and
    reaches the dead-letter queue after the retries."""


def json_body(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record's body, a JSON object (PoisonMessageError otherwise)."""
    try:
        body = json.loads(record["body"])
    except (json.JSONDecodeError, TypeError) as err:
        raise PoisonMessageError(f"body is not JSON: {err}") from err
    if not isinstance(body, dict):
        raise PoisonMessageError("body is not a JSON object")
    return body


def safe_id(body: Mapping[str, Any], field: str) -> str:
    """The body's `field`, a SAFE_ID string (PoisonMessageError otherwise)."""
    value = body.get(field)
    if not isinstance(value, str) or not SAFE_ID.match(value):
        raise PoisonMessageError(f"{field} must be 1-128 letters, digits, '.', '_' or '-'")
    return value


def failures(*message_ids: str) -> BatchResponse:
    return {"batchItemFailures": [{"itemIdentifier": m} for m in message_ids]}


def process_batch(
    event: Mapping[str, Any],
    process: Callable[[Mapping[str, Any]], object],
    log: Log,
    *,
    permanent: tuple[type[Exception], ...] = (PoisonMessageError,),
    rejected: str = "message rejected",
    failed: str = "message failed",
) -> BatchResponse:
    """Runs `process` on every record. A `permanent` error (the message can never succeed) is
    logged as `rejected` with its text, any other as `failed`; either fails that message alone.
    NotConfiguredError fails the invocation: every message would fail the same way."""
    failed_ids = []
    for record in event.get("Records", []):
        message_id = record["messageId"]
        try:
            process(record)
        except NotConfiguredError:
            raise
        except permanent as err:  # will fail again: the DLQ after the retries
            log(logging.ERROR, rejected, message_id=message_id, error=str(err))
            failed_ids.append(message_id)
        except Exception as err:  # may clear up: retry this message only
            log(logging.ERROR, failed, message_id=message_id, error=repr(err))
            failed_ids.append(message_id)
    return failures(*failed_ids)
