"""Cron maths for AWS schedules: when a cron fires, and what a set of crons averages to over time.

AWS crons have six fields (minute hour day-of-month month day-of-week year); five-field crons
(no year) are read the same way. Day-of-week uses AWS numbering (1 = SUN ... 7 = SAT) or names.
Supported: `*`, `?`, lists, ranges, steps (`*/15`, `0/30`, `8-18/2`), month and day names.
Not supported (an error, never a guess): `L`, `W`, `#`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tools.cost.pricing import HOURS_PER_MONTH, CostError

# A Monday. Weekly crons are evaluated over the week that starts here; crons that depend on the
# day of the month (or month, or year) over the 52 weeks that start here, which averages them.
REFERENCE_START = datetime(2025, 1, 6)
_WEEK_DAYS = 7
_LONG_DAYS = 364
_MINUTES_PER_DAY = 24 * 60

_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


class ScheduleError(CostError):
    """A schedule expression this evaluator cannot read; the message says which and why."""


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: Mapping[str, int]


_FIELDS = (
    _Field("minute", 0, 59, {}),
    _Field("hour", 0, 23, {}),
    _Field("day-of-month", 1, 31, {}),
    _Field("month", 1, 12, {n: i for i, n in enumerate(_MONTH_NAMES, start=1)}),
    _Field("day-of-week", 1, 7, {n: i for i, n in enumerate(_DAY_NAMES, start=1)}),
    _Field("year", 1970, 2199, {}),
)


def _value(text: str, field: _Field, expression: str) -> int:
    token = text.upper()
    if token in field.names:
        return field.names[token]
    if not token.isdigit():
        hint = " (L, W and # are not supported)" if re.search(r"[LW#]", token) else ""
        raise ScheduleError(f"{expression}: {field.name} value {text!r} is not understood{hint}")
    return int(token)


def _parse_field(text: str, field: _Field, expression: str) -> frozenset[int] | None:
    """The values a field allows, or None when it allows any (`*` or `?`)."""
    if text in ("*", "?"):
        return None
    values: set[int] = set()
    for part in text.split(","):
        base, has_step, step_text = part.partition("/")
        if has_step and not step_text.isdigit():
            raise ScheduleError(f"{expression}: {field.name} step {step_text!r} is not a number")
        step = int(step_text) if has_step else 1
        if base in ("*", "?"):
            low, high = field.low, field.high
        elif "-" in base:
            first, last = base.split("-", 1)
            low, high = _value(first, field, expression), _value(last, field, expression)
        else:
            low = _value(base, field, expression)
            high = field.high if has_step else low
        if not field.low <= low <= high <= field.high or step < 1:
            raise ScheduleError(f"{expression}: {field.name} {part!r} is out of range")
        values.update(range(low, high + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Cron:
    """A parsed cron; a field of None allows any value."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int] | None
    months: frozenset[int] | None
    days_of_week: frozenset[int] | None
    years: frozenset[int] | None

    @classmethod
    def parse(cls, expression: str) -> Cron:
        match = re.fullmatch(r"\s*cron\((.*)\)\s*", expression)
        parts = (match.group(1) if match else expression).split()
        if len(parts) not in (5, 6):
            raise ScheduleError(f"{expression}: a cron has 5 or 6 fields, found {len(parts)}")
        fields = [
            _parse_field(text, field, expression)
            for text, field in zip(parts, _FIELDS, strict=False)
        ]
        fields += [None] * (6 - len(fields))
        minutes, hours, days_of_month, months, days_of_week, years = fields
        if days_of_month is not None and days_of_week is not None:
            raise ScheduleError(f"{expression}: set day-of-month or day-of-week, the other to ?")
        return cls(
            expression=expression,
            minutes=minutes if minutes is not None else frozenset(range(60)),
            hours=hours if hours is not None else frozenset(range(24)),
            days_of_month=days_of_month,
            months=months,
            days_of_week=days_of_week,
            years=years,
        )

    @property
    def weekly(self) -> bool:
        """True when the cron repeats every week (it names no day of month, month or year)."""
        return self.days_of_month is None and self.months is None and self.years is None

    def fires_on(self, day: date) -> bool:
        aws_day_of_week = day.isoweekday() % 7 + 1  # isoweekday: MON=1..SUN=7; AWS: SUN=1..SAT=7
        return (
            (self.days_of_month is None or day.day in self.days_of_month)
            and (self.months is None or day.month in self.months)
            and (self.days_of_week is None or aws_day_of_week in self.days_of_week)
            and (self.years is None or day.year in self.years)
        )

    def times_between(self, start: datetime, days: int) -> Iterator[datetime]:
        """Each firing, in the cron's own (local) time, during `days` days from `start`."""
        for offset in range(days):
            day = start + timedelta(days=offset)
            if self.fires_on(day.date()):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        yield day.replace(hour=hour, minute=minute)


@dataclass(frozen=True)
class Change:
    """At every firing of `cron` (read in `timezone`; UTC when None) the named values are set."""

    cron: Cron
    timezone: str | None
    values: Mapping[str, float]


@dataclass(frozen=True)
class Segment:
    """The share of time during which the values were `state`."""

    fraction: float
    state: Mapping[str, float]


def _utc_offset_minutes(timezone: str | None) -> int:
    # One fixed offset per zone (the one in force at REFERENCE_START): DST shifts are ignored.
    if timezone in (None, "", "UTC", "Etc/UTC"):
        return 0
    try:
        offset = ZoneInfo(timezone).utcoffset(REFERENCE_START)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ScheduleError(f"unknown time zone {timezone!r}") from error
    return int(offset.total_seconds() // 60) if offset is not None else 0


def time_weighted(changes: Sequence[Change], initial: Mapping[str, float]) -> list[Segment]:
    """How long each state holds when the changes repeat forever (steady state, not first week).

    The state in force when the window opens is the one the last change of the window left, so
    a week that starts at night after Friday's stop is counted as stopped.
    """
    days = _WEEK_DAYS if all(change.cron.weekly for change in changes) else _LONG_DAYS
    period = days * _MINUTES_PER_DAY
    fired: list[tuple[int, int, Mapping[str, float]]] = []
    for order, change in enumerate(changes):
        offset = _utc_offset_minutes(change.timezone)
        for moment in change.cron.times_between(REFERENCE_START, days):
            minute = int((moment - REFERENCE_START).total_seconds()) // 60
            fired.append(((minute - offset) % period, order, change.values))
    if not fired:
        return [Segment(1.0, dict(initial))]
    fired.sort(key=lambda item: (item[0], item[1]))
    state = dict(initial)
    for _, _, values in fired:
        state.update(values)
    minutes_in: dict[tuple[tuple[str, float], ...], int] = {}
    previous = 0
    for minute, _, values in [*fired, (period, len(changes), {})]:
        key = tuple(sorted(state.items()))
        minutes_in[key] = minutes_in.get(key, 0) + minute - previous
        state.update(values)
        previous = minute
    return [
        Segment(minutes / period, dict(key)) for key, minutes in minutes_in.items() if minutes > 0
    ]


def awake_fraction(
    stops: Iterable[tuple[Cron, str | None]], starts: Iterable[tuple[Cron, str | None]]
) -> float:
    """Share of time a resource runs when stopped at each `stops` cron and started at `starts`."""
    changes = [Change(cron, zone, {"on": 0.0}) for cron, zone in stops]
    changes += [Change(cron, zone, {"on": 1.0}) for cron, zone in starts]
    return sum(s.fraction for s in time_weighted(changes, {"on": 1.0}) if s.state["on"] > 0)


_RATE = re.compile(r"\s*rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)\s*")
_RATE_MINUTES = {"minute": 1, "hour": 60, "day": _MINUTES_PER_DAY}


def runs_per_month(expression: str) -> float:
    """How often a schedule expression (cron, rate or at) fires in an average month."""
    month_minutes = HOURS_PER_MONTH * 60
    if expression.strip().startswith("at("):
        return 0.0  # one-off: a single invocation, not a monthly cost
    rate = _RATE.fullmatch(expression)
    if rate:
        return month_minutes / (int(rate.group(1)) * _RATE_MINUTES[rate.group(2).rstrip("s")])
    cron = Cron.parse(expression)
    days = _WEEK_DAYS if cron.weekly else _LONG_DAYS
    fires = sum(1 for _ in cron.times_between(REFERENCE_START, days))
    return fires * month_minutes / (days * _MINUTES_PER_DAY)
