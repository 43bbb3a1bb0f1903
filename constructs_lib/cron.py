"""Cron expressions between the platform's five-field form and EventBridge Scheduler's: pure
string work, no AWS or CDK import, so configuration checks can use it at load time."""

from __future__ import annotations


def scheduler_cron(cron: str) -> str:
    """`minute hour day-of-month month day-of-week` as Scheduler's six-field cron(), which
    wants "?" in whichever day field the other one restricts."""
    minute, hour, day, month, week_day = cron.split()
    if week_day != "*":
        day = "?"
    else:
        week_day = "?"
    return f"cron({minute} {hour} {day} {month} {week_day} *)"
