"""Database sleep schedules: EventBridge Scheduler universal targets that stop and start RDS.

A schedule whose target is `arn:aws:scheduler:::aws-sdk:rds:stopDBInstance` (or start..., or
...DBCluster) names its database in the target's Input. The stop and start crons of one database
give the share of the week it runs, which scales its instance hours (storage is billed anyway).
Schedules may live in another stack of the stage than the database, so the index is per stage.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from tools.cost.assembly import Stack
from tools.cost.schedule import Cron, awake_fraction
from tools.cost.template import Resource, render

_TARGET = re.compile(r":aws-sdk:rds:(stop|start)db(instance|cluster)$", re.IGNORECASE)
_REF = re.compile(r"\{ref:([^}]+)\}")

Key = tuple[str, ...]


@dataclass(frozen=True)
class SleepEvent:
    action: str  # "stop" or "start"
    cron: Cron
    timezone: str | None
    schedule: str  # "stack/logical id" of the schedule, for the report


@dataclass
class SleepIndex:
    events: dict[Key, list[SleepEvent]] = field(default_factory=dict)

    def awake(self, keys: Iterable[Key]) -> tuple[float, list[SleepEvent]] | None:
        """Share of time running, and the schedules that say so; None when none applies."""
        found = [event for key in keys for event in self.events.get(key, [])]
        if not found:
            return None
        stops = [(e.cron, e.timezone) for e in found if e.action == "stop"]
        starts = [(e.cron, e.timezone) for e in found if e.action == "start"]
        return awake_fraction(stops, starts), found


def database_keys(stack: Stack, logical_id: str, identifier: object, kind: str) -> list[Key]:
    """How schedules can name this database: by its identifier, or by a Ref in its own stack."""
    keys: list[Key] = [("ref", stack.name, logical_id)]
    name = render(identifier, stack) if identifier is not None else None
    if name and not _REF.search(name):
        keys.append((kind, name.lower()))  # RDS stores identifiers in lower case
    return keys


def _named_database(schedule: Resource, stack: Stack, kind: str) -> Key | None:
    text = render(schedule.get("Target", {}).get("Input"), stack)
    try:
        body = json.loads(text) if text else None
    except json.JSONDecodeError:
        return None
    if not isinstance(body, dict):
        return None
    wanted = f"db{kind}identifier"
    for key, value in body.items():
        if key.lower() == wanted and isinstance(value, str):
            ref = _REF.fullmatch(value)
            return ("ref", stack.name, ref.group(1)) if ref else (kind, value.lower())
    return None


def build_sleep_index(stacks: Sequence[Stack]) -> SleepIndex:
    index = SleepIndex()
    for stack in stacks:
        for logical_id, resource in stack.resources.items():
            if resource.get("Type") != "AWS::Scheduler::Schedule":
                continue
            props = resource.get("Properties", {})
            target = _TARGET.search(render(props.get("Target", {}).get("Arn"), stack) or "")
            expression = render(props.get("ScheduleExpression"), stack) or ""
            if not target or props.get("State") == "DISABLED" or not expression.startswith("cron"):
                continue
            kind = target.group(2).lower()
            database = _named_database(props, stack, kind)
            if database is None:
                continue
            zone = render(props.get("ScheduleExpressionTimezone"), stack)
            event = SleepEvent(
                target.group(1).lower(), Cron.parse(expression), zone, f"{stack.name}/{logical_id}"
            )
            index.events.setdefault(database, []).append(event)
    return index
