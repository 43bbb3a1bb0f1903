"""Durations by value, each made once: every `Duration.x(...)` is a round trip to the jsii
runtime, a synth asks for the same few hundreds of times, and a Duration never changes."""

from __future__ import annotations

from functools import cache

from aws_cdk import Duration


@cache
def seconds(amount: float) -> Duration:
    return Duration.seconds(amount)


@cache
def minutes(amount: float) -> Duration:
    return Duration.minutes(amount)


@cache
def hours(amount: float) -> Duration:
    return Duration.hours(amount)


@cache
def days(amount: float) -> Duration:
    return Duration.days(amount)
