"""Exactly-once processing of deliveries that may come more than once (SQS, EventBridge): a key
is claimed in a DynamoDB table (partition key job_id) with a conditional write before the work,
marked done after it, and released when the work fails, so a redelivery runs it again. A claim
whose invocation died expires after CLAIM_SECONDS (default 900) and may be taken over; a done key
is remembered for KEEP_DONE_SECONDS unless a function keeps it longer."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

KEEP_DONE_SECONDS = 7 * 24 * 3600
"""How long a done key is remembered unless a function keeps it longer (7 days)."""


class InProgressError(RuntimeError):
    """Another invocation holds the key's claim: the delivery is retried later."""


@dataclass
class Claim:
    key: str
    result: Mapping[str, Any] | None = None
    """Recorded (as JSON) with the done status, if set."""


class Claims:
    """Claims in `table` (a boto3 DynamoDB Table): pending while running, done once finished."""

    def __init__(
        self,
        table: Any,
        *,
        keep_done_seconds: int = KEEP_DONE_SECONDS,
        claim_seconds: int | None = None,
    ) -> None:
        """`keep_done_seconds`: how long a done key is remembered (longer than any redelivery
        worth deduplicating); `claim_seconds` (default CLAIM_SECONDS): longer than the work."""
        self.table, self.keep_done_seconds = table, keep_done_seconds
        if claim_seconds is None:
            claim_seconds = int(os.environ.get("CLAIM_SECONDS", "900"))
        self.claim_seconds = claim_seconds

    @classmethod
    def for_table(
        cls,
        aws: Any,
        table_name: str,
        *,
        keep_done_seconds: int = KEEP_DONE_SECONDS,
        claim_seconds: int | None = None,
    ) -> Claims:
        """Claims in the DynamoDB table `table_name`; `aws`: boto3 itself or a boto3.Session."""
        return cls(
            aws.resource("dynamodb").Table(table_name),
            keep_done_seconds=keep_done_seconds,
            claim_seconds=claim_seconds,
        )

    def start(self, key: str, now: float) -> bool:
        """True: claimed, run the work (then `finishing`). False: done already, a duplicate.
        InProgressError while another invocation's claim has not expired."""
        if self.claim(key, now):
            return True
        if self.is_done(key):
            return False
        raise InProgressError(f"{key} is being processed by another invocation")

    @contextmanager
    def finishing(self, key: str, clock: Callable[[], float] = time.time) -> Iterator[Claim]:
        """Around the work of a started key: done when it completes, released when it raises."""
        claim = Claim(key)
        try:
            yield claim
        except Exception:
            self.release(key)
            raise
        self.done(key, clock(), claim.result)

    def claim(self, key: str, now: float) -> bool:
        """True if this invocation may run the work; False if done or running elsewhere."""
        try:
            self.table.put_item(
                Item={
                    "job_id": key,
                    "status": "pending",
                    "expires_at": int(now + self.claim_seconds),
                },
                ConditionExpression=(
                    "attribute_not_exists(job_id) OR (#s = :pending AND expires_at < :now)"
                ),
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":pending": "pending", ":now": int(now)},
            )
        except ClientError as err:
            if err.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def done(self, key: str, now: float, result: Mapping[str, Any] | None = None) -> None:
        item: dict[str, Any] = {
            "job_id": key,
            "status": "done",
            "expires_at": int(now + self.keep_done_seconds),
        }
        if result is not None:
            item["result"] = json.dumps(result)
        self.table.put_item(Item=item)

    def release(self, key: str) -> None:
        """Failed: forget the claim so the redelivery runs again."""
        self.table.delete_item(Key={"job_id": key})

    def is_done(self, key: str) -> bool:
        item = self.table.get_item(Key={"job_id": key}, ConsistentRead=True).get("Item")
        return bool(item and item["status"] == "done")
