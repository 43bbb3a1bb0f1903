"""Work scheduled while the database sleeps: a job or scheduled function that uses the database
and fires between the stage's `sleep` and the database's wake would fail every time (and page
through its dead-letter alarm). Refused at synth, with the times.

The cron maths is the cost estimator's (tools/cost/schedule.py), which reads AWS crons the way
EventBridge Scheduler does; it is pure Python with no AWS or CDK dependency.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from constructs_lib.cron import scheduler_cron
from tools.cost.schedule import REFERENCE_START, Cron, ScheduleError

if TYPE_CHECKING:
    from infra.config.stage import StageConfig

WEEK = 7
AWAKE_EXAMPLE = "cron(0 10 ? * MON-FRI *)"


def work_while_asleep(cfg: StageConfig) -> list[str]:
    """`field: problem` for each database user scheduled into the database's sleep."""
    from infra.config.functions import ScheduleTrigger  # noqa: PLC0415 (cycle via stage)

    sleep = cfg.sleep
    if sleep is None or not sleep.stop_database:
        return []
    scheduled: list[tuple[str, str, str]] = [  # (field, expression, time zone)
        (f"jobs.{name}.expression", job.expression, cfg.time_zone)
        for name, job in cfg.jobs.items()
        if job.function in cfg.functions and cfg.functions[job.function].uses.database
    ]
    scheduled += [
        (f"functions.{name}.trigger", f.trigger.expression, f.trigger.time_zone or cfg.time_zone)
        for name, f in cfg.functions.items()
        if isinstance(f.trigger, ScheduleTrigger) and f.uses.database
    ]
    if not scheduled:
        return []
    zone = ZoneInfo(cfg.time_zone)
    changes = sorted(
        [(t, False) for t in _times(scheduler_cron(sleep.sleep), zone, start=-WEEK)]
        + [(t, True) for t in _times(scheduler_cron(sleep.database_wake_cron()), zone, -WEEK)]
    )
    window = f"the database sleeps from {sleep.sleep!r} to {sleep.database_wake_cron()!r}"
    problems = []
    for field, expression, time_zone in scheduled:
        if expression.strip().startswith("rate("):
            problems.append(
                f"{field}: {expression} also fires while {window}; use a cron in awake hours, "
                f"e.g. {AWAKE_EXAMPLE}, or keep the database up (sleep.stop_database = false)"
            )
            continue
        try:
            in_week = (_in_week(t, zone) for t in _times(expression, ZoneInfo(time_zone)))
            firing = next((t for t in in_week if not _awake(changes, t)), None)
        except ScheduleError:
            continue  # a cron the evaluator cannot read (L, W, #): Scheduler's rules still apply
        if firing is not None:
            when = firing.strftime("%a %H:%M")
            problems.append(
                f"{field}: {expression} fires at {when} {cfg.time_zone} while {window}, and "
                f"would fail there; move it into awake hours, e.g. {AWAKE_EXAMPLE}, or keep "
                "the database up (sleep.stop_database = false)"
            )
    return problems


def _times(expression: str, zone: ZoneInfo, start: int = 0) -> Iterator[datetime]:
    """Firings of a cron during a reference week (and, with `start=-7`, the week before)."""
    cron = Cron.parse(expression)
    begin = REFERENCE_START + timedelta(days=start)
    days = WEEK - start if cron.weekly else 28
    for local in cron.times_between(begin, days):
        yield local.replace(tzinfo=zone)


def _in_week(at: datetime, zone: ZoneInfo) -> datetime:
    """The same weekday and time in the reference week, in the stage's zone (the sleep
    schedule repeats weekly)."""
    local = at.astimezone(zone)
    offset = (local.date() - REFERENCE_START.date()).days % WEEK
    day = REFERENCE_START + timedelta(days=offset)
    return day.replace(hour=local.hour, minute=local.minute, tzinfo=zone)


def _awake(changes: list[tuple[datetime, bool]], at: datetime) -> bool:
    """Whether the database runs at `at`: the last stop or start before it says."""
    state = True
    for moment, starts in changes:
        if moment > at:
            break
        state = starts
    return state
