"""The function's environment: what it cannot run without."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

Services = TypeVar("Services")
Event = TypeVar("Event")
Result = TypeVar("Result")


class NotConfiguredError(RuntimeError):
    """A setting, secret or its value is missing or unusable: every event would fail the same way,
    so the invocation fails loudly (the function's error alarm fires) and drops nothing."""


def require(environ: Mapping[str, str], *names: str) -> None:
    """Raises NotConfiguredError naming every one of `names` that is unset or empty."""
    missing = [name for name in names if not environ.get(name)]
    if missing:
        raise NotConfiguredError(f"missing environment variables: {', '.join(missing)}")


def listed(environ: Mapping[str, str], name: str) -> list[str]:
    """A comma-separated variable's entries (none when unset)."""
    return [entry for entry in environ.get(name, "").split(",") if entry]


class EntryPoint(Generic[Event, Services, Result]):
    """A Lambda handler, `run(event, services)`: the services (clients, caches, connections)
    are wired from the environment on the first invocation and live as long as the container;
    a failed wiring (NotConfiguredError) is tried again on the next invocation."""

    def __init__(
        self,
        wire: Callable[[Mapping[str, str]], Services],
        run: Callable[[Event, Services], Result],
    ) -> None:
        self.wire, self.run = wire, run
        self.services: Services | None = None

    def __call__(self, event: Event, context: Any = None) -> Result:
        if self.services is None:
            self.services = self.wire(os.environ)
        return self.run(event, self.services)
