#!/usr/bin/env python3
"""Bake step of the delivery pipeline: after a stage deployed and answered its health check,
watch its critical alarms for BAKE_MINUTES; if any is in ALARM at any point of the window (seen
by polling, or in the alarm history between polls), or does not exist, the promotion fails.

Environment: ROLE_ARN (the stage's pipeline-bake role, allowed only DescribeAlarms and
DescribeAlarmHistory on these alarms), STAGE_REGION, ALARM_NAMES (comma-separated, in the stage
region), optionally EDGE_ALARM_NAMES (CloudFront's and WAF's, in us-east-1), BAKE_MINUTES,
optionally POLL_SECONDS. Exit 0: baked clean; 1: failed; 2: bad settings.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

BATCH = 100  # DescribeAlarms takes at most 100 names per call and returns at most 100 a page


def _batches(names: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(names), BATCH):
        yield list(names[start : start + BATCH])


def _pages(call: Callable[..., dict[str, Any]], **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every page of a CloudWatch Describe* call, following NextToken."""
    while True:
        response = call(**kwargs)
        yield response
        token = response.get("NextToken")
        if not token:
            return
        kwargs["NextToken"] = token


def states(cloudwatch: Any, names: Sequence[str]) -> dict[str, str]:
    """Name -> state of each named alarm that exists (a missing name has no entry)."""
    found: dict[str, str] = {}
    for batch in _batches(names):
        response = cloudwatch.describe_alarms(
            AlarmNames=batch, AlarmTypes=["MetricAlarm", "CompositeAlarm"], MaxRecords=BATCH
        )
        for kind in ("MetricAlarms", "CompositeAlarms"):
            found |= {a["AlarmName"]: a["StateValue"] for a in response.get(kind, [])}
    return found


def fired_since(cloudwatch: Any, names: Sequence[str], since: datetime) -> list[str]:
    """Names of the alarms that went into ALARM since `since`, even if they recovered."""
    fired = []
    for name in names:
        history = cloudwatch.describe_alarm_history(
            AlarmName=name, HistoryItemType="StateUpdate", StartDate=since, MaxRecords=100
        )
        if any(
            json.loads(item.get("HistoryData") or "{}").get("newState", {}).get("stateValue")
            == "ALARM"
            for item in history.get("AlarmHistoryItems", [])
        ):
            fired.append(name)
    return sorted(fired)


EDGE_REGION = "us-east-1"  # CloudFront and WAF (CLOUDFRONT scope) publish their metrics there


class ByRegion:
    """One CloudWatch view over alarms in several regions: each name is read where it lives,
    and every answer is complete (all pages of every region merged, no NextToken). The one
    place that pages: `states` and `fired_since` make one call each."""

    def __init__(self, clients: Mapping[str, Any], names: Mapping[str, Sequence[str]]) -> None:
        self.clients = clients
        self.region_of = {name: region for region, group in names.items() for name in group}

    def describe_alarms(self, *, AlarmNames: Sequence[str], **kwargs: Any) -> dict[str, Any]:  # noqa: N803 (the API's names)
        merged: dict[str, list[Any]] = {"MetricAlarms": [], "CompositeAlarms": []}
        for region, client in self.clients.items():
            wanted = [n for n in AlarmNames if self.region_of.get(n) == region]
            if wanted:
                _merge(merged, _pages(client.describe_alarms, AlarmNames=wanted, **kwargs))
        return merged

    def describe_alarm_history(self, *, AlarmName: str, **kwargs: Any) -> dict[str, Any]:  # noqa: N803
        client = self.clients[self.region_of[AlarmName]]
        merged: dict[str, list[Any]] = {"AlarmHistoryItems": []}
        _merge(merged, _pages(client.describe_alarm_history, AlarmName=AlarmName, **kwargs))
        return merged


def _merge(into: dict[str, list[Any]], pages: Iterator[dict[str, Any]]) -> None:
    for page in pages:
        for key, items in into.items():
            items.extend(page.get(key, []))


def bake(
    cloudwatch: Any,
    names: Sequence[str],
    minutes: float,
    *,
    poll_seconds: float = 30,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    log: Callable[[str], None] = print,
) -> list[str]:
    """The alarms that failed the bake (empty: baked clean). `cloudwatch` answers each call
    complete, as ByRegion does."""
    if not names:
        log("no critical alarms to watch")
        return []
    started, deadline = now(), clock() + minutes * 60
    log(f"baking {minutes:g} min, watching {len(names)} critical alarm(s)")
    while True:
        found = states(cloudwatch, names)
        missing = sorted(set(names) - set(found))
        if missing:  # a typo, another region, or not deployed: never a clean bake
            log(f"not found: {', '.join(missing)}")
            return missing
        current = sorted(name for name, state in found.items() if state == "ALARM")
        if current:
            log(f"in ALARM: {', '.join(current)}")
            return current
        if clock() >= deadline:
            break
        sleep(min(poll_seconds, max(deadline - clock(), 0)))
    fired = fired_since(cloudwatch, names, started)
    if fired:
        log(f"went into ALARM during the bake: {', '.join(fired)}")
    else:
        log("baked clean")
    return fired


def _number(environ: Mapping[str, str], name: str, default: str | None = None) -> float:
    text = environ.get(name, default)
    if text is None:
        raise ValueError(f"{name} is not set")
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not a number") from None


def main(environ: Mapping[str, str] = os.environ) -> int:
    try:
        for required in ("ROLE_ARN", "STAGE_REGION", "ALARM_NAMES"):
            if required not in environ:
                raise ValueError(f"{required} is not set")
        minutes = _number(environ, "BAKE_MINUTES")
        poll_seconds = _number(environ, "POLL_SECONDS", "30")
        if not (math.isfinite(minutes) and minutes >= 0):
            raise ValueError(f"BAKE_MINUTES: {environ['BAKE_MINUTES']!r} must be 0 or more")
        if not (math.isfinite(poll_seconds) and poll_seconds > 0):
            raise ValueError(f"POLL_SECONDS: {environ['POLL_SECONDS']!r} must be more than 0")
    except ValueError as err:
        print(f"bake: {err}", file=sys.stderr)
        return 2
    by_region: dict[str, list[str]] = {}
    for variable, region in (
        ("ALARM_NAMES", environ["STAGE_REGION"]),
        ("EDGE_ALARM_NAMES", EDGE_REGION),
    ):
        names = [n.strip() for n in environ.get(variable, "").split(",") if n.strip()]
        if names:
            by_region.setdefault(region, []).extend(names)
    if not by_region:  # the stage has no critical alarms, hence no bake role to assume
        print("no critical alarms to watch")
        return 0
    import boto3  # noqa: PLC0415 (not needed to test the logic)

    credentials = boto3.client("sts").assume_role(
        RoleArn=environ["ROLE_ARN"], RoleSessionName=f"bake-{int(time.time())}"
    )["Credentials"]
    clients = {
        region: boto3.client(
            "cloudwatch",
            region_name=region,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
        for region in by_region
    }
    watched = [name for names in by_region.values() for name in names]
    failed = bake(ByRegion(clients, by_region), watched, minutes, poll_seconds=poll_seconds)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
