"""The pipeline's bake step (tools/bake.py): a fake CloudWatch with the real API's paging and a
fake clock, so a 30-minute bake runs in microseconds; botocore's Stubber checks that every
request is one the real service model accepts."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tools import bake

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
NAMES = ["webplat-prod-alb-5xx-rate-Critical", "webplat-prod-api-tasks-missing-Critical"]
Timeline = Mapping[str, Sequence[tuple[float, str]]]
"""Alarm name -> (seconds after START, state it changes to), in time order."""


class Clock:
    """Monotonic and wall time that only move when the bake sleeps."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.seconds

    def now(self) -> datetime:
        return START + timedelta(seconds=self.seconds)

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.seconds += seconds


@dataclass
class FakeCloudWatch:
    """DescribeAlarms and DescribeAlarmHistory as the service answers them: only alarms that
    exist, at most 100 names per call, MaxRecords pages (default 50) with a NextToken, history
    newest first."""

    clock: Clock
    timeline: Timeline
    composite: frozenset[str] = frozenset()
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def state(self, name: str, at: float) -> str:
        current = "INSUFFICIENT_DATA"
        for when, value in self.timeline[name]:
            if when <= at:
                current = value
        return current

    @staticmethod
    def _page(items: list[Any], token: str | None, size: int) -> tuple[list[Any], str | None]:
        start = int(token or 0)
        end = start + size
        return items[start:end], (str(end) if end < len(items) else None)

    def describe_alarms(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("describe_alarms", kwargs))
        names = kwargs["AlarmNames"]
        assert len(names) <= 100, "DescribeAlarms takes at most 100 names"
        assert 1 <= kwargs.get("MaxRecords", 50) <= 100
        assert set(kwargs["AlarmTypes"]) == {"MetricAlarm", "CompositeAlarm"}
        existing = [n for n in sorted(set(names)) if n in self.timeline]
        page, token = self._page(existing, kwargs.get("NextToken"), kwargs.get("MaxRecords", 50))
        response: dict[str, Any] = {"MetricAlarms": [], "CompositeAlarms": []}
        for name in page:
            kind = "CompositeAlarms" if name in self.composite else "MetricAlarms"
            response[kind].append(
                {"AlarmName": name, "StateValue": self.state(name, self.clock.seconds)}
            )
        if token:
            response["NextToken"] = token
        return response

    def describe_alarm_history(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("describe_alarm_history", kwargs))
        assert kwargs["HistoryItemType"] == "StateUpdate"
        assert 1 <= kwargs.get("MaxRecords", 100) <= 100
        name, since = kwargs["AlarmName"], kwargs["StartDate"]
        items, previous = [], "INSUFFICIENT_DATA"
        for when, value in self.timeline.get(name, []):
            stamp = START + timedelta(seconds=when)
            if when <= self.clock.seconds and stamp >= since:
                data = {"oldState": {"stateValue": previous}, "newState": {"stateValue": value}}
                items.append(
                    {"AlarmName": name, "Timestamp": stamp, "HistoryData": json.dumps(data)}
                )
            previous = value
        items.reverse()  # newest first
        page, token = self._page(items, kwargs.get("NextToken"), kwargs.get("MaxRecords", 100))
        return {"AlarmHistoryItems": page, **({"NextToken": token} if token else {})}


def run(
    timeline: Timeline,
    minutes: float = 15,
    names: Sequence[str] = NAMES,
    poll_seconds: float = 30,
) -> tuple[list[str], Clock, FakeCloudWatch, list[str]]:
    clock = Clock()
    cloudwatch = FakeCloudWatch(clock, timeline)
    lines: list[str] = []
    failed = bake.bake(
        bake.ByRegion({"ap-northeast-2": cloudwatch}, {"ap-northeast-2": names}),  # pages
        names,
        minutes,
        poll_seconds=poll_seconds,
        clock=clock.monotonic,
        sleep=clock.sleep,
        now=clock.now,
        log=lines.append,
    )
    return failed, clock, cloudwatch, lines


def ok(*names: str) -> dict[str, list[tuple[float, str]]]:
    return {name: [(-3600.0, "OK")] for name in names or NAMES}


# -- the bake ------------------------------------------------------------------------------------


def test_alarms_that_stay_ok_bake_clean_for_the_whole_window() -> None:
    failed, clock, cloudwatch, lines = run(ok(), minutes=15)
    assert failed == []
    assert clock.seconds == 15 * 60  # waited the full bake, not a moment less
    assert clock.sleeps == [30.0] * 30
    polls = [c for c, _ in cloudwatch.calls if c == "describe_alarms"]
    assert len(polls) == 31  # at 0, 30, ..., 900 s
    assert lines[-1] == "baked clean"


def test_the_last_sleep_stops_at_the_deadline() -> None:
    _, clock, _, _ = run(ok(), minutes=1, poll_seconds=25)
    assert clock.sleeps == [25.0, 25.0, 10.0]
    assert clock.seconds == 60


def test_an_alarm_in_alarm_fails_the_bake_at_the_next_poll() -> None:
    timeline = {**ok(), NAMES[1]: [(-3600.0, "OK"), (75.0, "ALARM")]}
    failed, clock, _, lines = run(timeline, minutes=15)
    assert failed == [NAMES[1]]
    assert clock.seconds == 90  # the poll after it fired, not the end of the window
    assert lines[-1] == f"in ALARM: {NAMES[1]}"


def test_an_alarm_already_in_alarm_fails_without_waiting() -> None:
    timeline = {**ok(), NAMES[0]: [(-60.0, "ALARM")]}
    failed, clock, _, _ = run(timeline, minutes=30)
    assert failed == [NAMES[0]]
    assert clock.sleeps == []


def test_a_composite_alarm_is_watched_too() -> None:
    name = "webplat-prod-service-down"
    clock = Clock()
    cloudwatch = FakeCloudWatch(clock, {name: [(-60.0, "ALARM")]}, composite=frozenset({name}))
    failed = bake.bake(cloudwatch, [name], 5, clock=clock.monotonic, sleep=clock.sleep,
                       now=clock.now, log=lambda _: None)  # fmt: skip
    assert failed == [name]


def test_an_alarm_that_fired_and_recovered_between_polls_fails_the_bake() -> None:
    timeline = {**ok(), NAMES[0]: [(-3600.0, "OK"), (40.0, "ALARM"), (50.0, "OK")]}
    failed, clock, _, lines = run(timeline, minutes=2)
    assert failed == [NAMES[0]]
    assert clock.seconds == 120  # no poll saw it: the history did, at the end
    assert lines[-1] == f"went into ALARM during the bake: {NAMES[0]}"


def test_an_alarm_before_the_bake_started_does_not_count() -> None:
    timeline = {**ok(), NAMES[0]: [(-600.0, "ALARM"), (-300.0, "OK")]}
    failed, _, _, _ = run(timeline, minutes=1)
    assert failed == []


def test_insufficient_data_is_not_a_failure() -> None:
    timeline = {**ok(), NAMES[1]: [(-3600.0, "OK"), (10.0, "INSUFFICIENT_DATA")]}
    failed, _, _, _ = run(timeline, minutes=1)
    assert failed == []


def test_an_alarm_name_that_does_not_exist_fails_at_once() -> None:
    """A typo, an alarm of another region or one not deployed yet must not bake clean."""
    typo = "webplat-prod-alb-5xx-rate-Critcal"
    failed, clock, _, lines = run(ok(), minutes=15, names=[*NAMES, typo])
    assert failed == [typo]
    assert clock.sleeps == []
    assert typo in lines[-1]
    assert "not found" in lines[-1]


def test_an_alarm_deleted_during_the_bake_fails_it() -> None:
    timeline = ok()

    class Deleting(FakeCloudWatch):
        def describe_alarms(self, **kwargs: Any) -> dict[str, Any]:
            response = super().describe_alarms(**kwargs)
            if self.clock.seconds >= 60:
                response["MetricAlarms"] = [
                    a for a in response["MetricAlarms"] if a["AlarmName"] != NAMES[0]
                ]
            return response

    clock = Clock()
    failed = bake.bake(Deleting(clock, timeline), NAMES, 5, clock=clock.monotonic,
                       sleep=clock.sleep, now=clock.now, log=lambda _: None)  # fmt: skip
    assert failed == [NAMES[0]]
    assert clock.seconds == 60


def many(count: int) -> list[str]:
    return [f"webplat-prod-alarm-{index:03d}-Critical" for index in range(count)]


def test_every_name_is_read_across_batches_and_pages() -> None:
    """DescribeAlarms answers 50 alarms a page by default and takes 100 names a call: the
    75th and the 120th alarm must be read as surely as the first."""
    names = many(130)
    for late in (names[74], names[119]):
        timeline = {**ok(*names), late: [(-60.0, "ALARM")]}
        failed, _, cloudwatch, _ = run(timeline, minutes=1, names=names)
        assert failed == [late]
        assert all(
            len(kw["AlarmNames"]) <= 100 for c, kw in cloudwatch.calls if c == "describe_alarms"
        )


def test_paged_names_that_all_exist_bake_clean() -> None:
    names = many(230)
    failed, _, cloudwatch, _ = run(ok(*names), minutes=0, names=names)
    assert failed == []
    asked = [n for c, kw in cloudwatch.calls if c == "describe_alarms" for n in kw["AlarmNames"]]
    assert sorted(set(asked)) == sorted(names)


def test_alarm_history_is_read_across_pages() -> None:
    """An ALARM older than the newest 100 state changes (a flapping alarm) still counts."""
    flapping: list[tuple[float, str]] = [(-3600.0, "OK"), (1.0, "ALARM"), (2.0, "OK")]
    flapping += [(3 + i * 0.1, "INSUFFICIENT_DATA" if i % 2 == 0 else "OK") for i in range(150)]
    failed, _, cloudwatch, _ = run({**ok(), NAMES[0]: flapping}, minutes=1, poll_seconds=60)
    assert failed == [NAMES[0]]
    history = [kw for c, kw in cloudwatch.calls if c == "describe_alarm_history"]
    assert {kw["AlarmName"] for kw in history} == set(NAMES)
    assert all(kw["StartDate"] == START for kw in history)


@pytest.mark.parametrize("state", ["OK", "ALARM"])
def test_zero_bake_minutes_checks_once_and_does_not_wait(state: str) -> None:
    failed, clock, cloudwatch, _ = run({**ok(), NAMES[0]: [(-60.0, state)]}, minutes=0)
    assert failed == ([NAMES[0]] if state == "ALARM" else [])
    assert clock.sleeps == []
    assert [c for c, _ in cloudwatch.calls].count("describe_alarms") == 1


def test_no_alarm_names_is_said_and_calls_nothing() -> None:
    failed, clock, cloudwatch, lines = run(ok(), minutes=15, names=[])
    assert failed == []
    assert cloudwatch.calls == []
    assert clock.sleeps == []
    assert lines == ["no critical alarms to watch"]


# -- the requests, against botocore's model of the real API ---------------------------------------


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber, list[tuple[str, dict[str, Any]]]]]:
    """A real botocore CloudWatch client whose answers are stubbed: the Stubber rejects any
    request the service model would (unknown parameter, MaxRecords over 100, a bad enum)."""
    client = boto3.client(
        "cloudwatch",
        region_name="ap-northeast-2",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    sent: list[tuple[str, dict[str, Any]]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        sent.append((model.name, dict(params)))

    client.meta.events.register("provide-client-params.cloudwatch.*", record)
    with Stubber(client) as stubber:
        yield client, stubber, sent
        stubber.assert_no_pending_responses()


def test_requests_follow_next_token_and_are_valid_api_calls(
    stubbed: tuple[Any, Stubber, list[tuple[str, dict[str, Any]]]],
) -> None:
    client, stubber, sent = stubbed
    names = many(3)

    def alarm(name: str) -> dict[str, Any]:
        return {"AlarmName": name, "StateValue": "OK"}

    stubber.add_response(
        "describe_alarms", {"MetricAlarms": [alarm(names[0]), alarm(names[1])], "NextToken": "p2"}
    )
    stubber.add_response("describe_alarms", {"MetricAlarms": [alarm(names[2])]})
    for _ in names:
        stubber.add_response("describe_alarm_history", {"AlarmHistoryItems": []})
    watched = bake.ByRegion({"ap-northeast-2": client}, {"ap-northeast-2": names})
    assert bake.bake(watched, names, 0, log=lambda _: None) == []
    polls = [params for operation, params in sent if operation == "DescribeAlarms"]
    assert [p.get("NextToken") for p in polls] == [None, "p2"]  # the second page was asked for
    assert all(p["AlarmNames"] == names for p in polls)
    assert all(p["AlarmTypes"] == ["MetricAlarm", "CompositeAlarm"] for p in polls)
    history = [params for operation, params in sent if operation == "DescribeAlarmHistory"]
    assert sorted(p["AlarmName"] for p in history) == names
    assert all(p["HistoryItemType"] == "StateUpdate" for p in history)


# -- the command the pipeline runs ----------------------------------------------------------------


@dataclass
class FakeSts:
    assumed: list[dict[str, Any]] = field(default_factory=list)

    def assume_role(self, **kwargs: Any) -> dict[str, Any]:
        self.assumed.append(kwargs)
        return {
            "Credentials": {
                "AccessKeyId": "AKIA-STAGE",
                "SecretAccessKey": "secret",
                "SessionToken": "token",
            }
        }


ENV = {
    "ROLE_ARN": "arn:aws:iam::444444444444:role/webplat-prod-pipeline-bake",
    "STAGE_REGION": "ap-northeast-2",
    "ALARM_NAMES": ",".join(NAMES),
    "BAKE_MINUTES": "0",
}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A fake boto3 for main(): its STS and CloudWatch clients, and how they were made."""
    made: dict[str, Any] = {"sts": FakeSts(), "clients": [], "timeline": ok()}
    clock = Clock()

    def client(service: str, **kwargs: Any) -> Any:
        made["clients"].append((service, kwargs))
        if service == "sts":
            return made["sts"]
        assert service == "cloudwatch"
        return FakeCloudWatch(clock, made["timeline"])

    monkeypatch.setitem(sys.modules, "boto3", types.SimpleNamespace(client=client))
    for name in (*ENV, "POLL_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    return made


def test_main_assumes_the_stage_role_and_exits_0_when_baked_clean(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    assert bake.main() == 0
    (assumed,) = aws["sts"].assumed
    assert assumed["RoleArn"] == ENV["ROLE_ARN"]
    (_, (service, kwargs)) = aws["clients"]
    assert service == "cloudwatch"
    assert kwargs == {
        "region_name": "ap-northeast-2",
        "aws_access_key_id": "AKIA-STAGE",
        "aws_secret_access_key": "secret",
        "aws_session_token": "token",
    }
    assert "baked clean" in capsys.readouterr().out


def test_main_exits_1_when_an_alarm_fires(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    aws["timeline"] = {**ok(), NAMES[1]: [(-60.0, "ALARM")]}
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    assert bake.main() == 1


def test_main_exits_1_on_a_misspelt_alarm_name(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {**ENV, "ALARM_NAMES": f"{NAMES[0]},{NAMES[1]}x"}.items():
        monkeypatch.setenv(name, value)
    assert bake.main() == 1


def test_main_reads_names_with_spaces_around_commas(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {**ENV, "ALARM_NAMES": f" {NAMES[0]} , {NAMES[1]} ,"}.items():
        monkeypatch.setenv(name, value)
    assert bake.main() == 0


def test_main_with_no_alarms_to_watch_needs_no_role(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stage without critical alarms has no bake role to assume: nothing to watch, exit 0."""
    for name, value in {**ENV, "ALARM_NAMES": ""}.items():
        monkeypatch.setenv(name, value)
    assert bake.main() == 0
    assert aws["clients"] == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"BAKE_MINUTES": None}, "BAKE_MINUTES is not set"),
        ({"ALARM_NAMES": None}, "ALARM_NAMES is not set"),
        ({"ROLE_ARN": None}, "ROLE_ARN is not set"),
        ({"STAGE_REGION": None}, "STAGE_REGION is not set"),
        ({"BAKE_MINUTES": "fifteen"}, "BAKE_MINUTES: 'fifteen' is not a number"),
        ({"BAKE_MINUTES": "-5"}, "BAKE_MINUTES: '-5' must be 0 or more"),
        ({"BAKE_MINUTES": "nan"}, "BAKE_MINUTES: 'nan' must be 0 or more"),
        ({"POLL_SECONDS": "0"}, "POLL_SECONDS: '0' must be more than 0"),
    ],
)
def test_bad_settings_exit_2_with_the_setting_named(
    aws: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    changes: dict[str, str | None],
    message: str,
) -> None:
    for name, value in {**ENV, **changes}.items():
        if value is not None:
            monkeypatch.setenv(name, value)
    assert bake.main() == 2
    assert message in capsys.readouterr().err
    assert aws["clients"] == []  # refused before any AWS call


def test_the_script_runs_as_the_pipeline_calls_it() -> None:
    """`python3 tools/bake.py` from the repository root, as the buildspec runs it: a bad setting
    is a one-line message and exit 2, no traceback."""
    env = {"PATH": "/usr/bin:/bin", "ALARM_NAMES": NAMES[0], "BAKE_MINUTES": "15"}
    run_ = subprocess.run(
        [sys.executable, "tools/bake.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert run_.returncode == 2
    assert "Traceback" not in run_.stderr
    assert "ROLE_ARN is not set" in run_.stderr


EDGE = "webplat-prod-edge-cloudfront-Fault-Rate-Critical"


def test_each_alarm_is_read_in_the_region_it_lives_in() -> None:
    """CloudFront's alarms live in us-east-1: a CloudFront outage fails the bake too."""
    clock = Clock()
    stage = FakeCloudWatch(clock, ok())
    edge = FakeCloudWatch(clock, {EDGE: [(-3600.0, "OK"), (90.0, "ALARM")]})
    watched = bake.ByRegion(
        {"ap-northeast-2": stage, "us-east-1": edge},
        {"ap-northeast-2": NAMES, "us-east-1": [EDGE]},
    )
    lines: list[str] = []
    failed = bake.bake(
        watched,
        [*NAMES, EDGE],
        15,
        clock=clock.monotonic,
        sleep=clock.sleep,
        now=clock.now,
        log=lines.append,
    )
    assert failed == [EDGE]
    asked = {
        region: {
            n
            for call, kwargs in client.calls
            if call == "describe_alarms"
            for n in kwargs["AlarmNames"]
        }
        for region, client in (("ap-northeast-2", stage), ("us-east-1", edge))
    }
    assert asked == {"ap-northeast-2": set(NAMES), "us-east-1": {EDGE}}


def test_main_reads_the_edge_alarms_in_us_east_1(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    aws["timeline"] = {**ok(), EDGE: [(-3600.0, "OK")]}
    for name, value in {**ENV, "EDGE_ALARM_NAMES": EDGE}.items():
        monkeypatch.setenv(name, value)
    assert bake.main() == 0
    regions = [
        kwargs["region_name"] for service, kwargs in aws["clients"] if service == "cloudwatch"
    ]
    assert regions == ["ap-northeast-2", "us-east-1"]
