"""Secrets Manager values an operator sets (and rotates) after the deployment."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from shared.env import NotConfiguredError

TTL_SECONDS = 300.0
"""How long a value is kept: a rotated or newly set value is seen within this, never cached
forever."""


def read(client: Any, arn: str) -> str:
    """The secret's SecretString, stripped; "" while it has no value (or only a blank one)."""
    try:
        value = client.get_secret_value(SecretId=arn).get("SecretString") or ""
    except ClientError as err:  # no value stored yet counts as not configured
        if err.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        return ""
    return str(value).strip()


def _as_is(value: str) -> str:
    return value


class Secret:
    """A secret's raw value, cached per container for a while. An unset value raises
    NotConfiguredError and is not cached, so the next invocation sees the operator's value;
    `check` validates (and may raise NotConfiguredError) before a value is cached."""

    def __init__(
        self,
        client: Any,
        arn: str,
        purpose: str,
        check: Callable[[str], str] = _as_is,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`purpose`: what an operator must put into it, e.g. "the AI API key"."""
        self.client, self.arn, self.purpose = client, arn, purpose
        self.check, self.clock = check, clock
        self._value: str | None = None
        self._read_at = 0.0

    def get(self) -> str:
        if self._value is None or self.clock() - self._read_at > TTL_SECONDS:
            value = read(self.client, self.arn)
            if not value:
                raise NotConfiguredError(
                    f"secret {self.arn} is empty; an operator must put {self.purpose} into it"
                )
            self._value, self._read_at = self.check(value), self.clock()
        return self._value
