"""Which stacks each profile synthesizes, known from configuration alone (no synthesis), so
tests can be parametrized per profile, stage and stack at collection time."""

from __future__ import annotations

from functools import cache

from infra.config import StageConfig, load_stages
from tests.jobs import PROFILES

CONCERNS = ("network", "data", "compute", "edge", "cdn", "edge-alarms", "observability")


@cache
def profile_stages(profile: str) -> tuple[StageConfig, ...]:
    return tuple(load_stages({"profile": profile}, {}).stages)


def stack_keys(profile: str) -> list[tuple[str, str]]:
    """(stage construct id, concern) of every stack the profile synthesizes."""
    return [
        (cfg.construct_id, concern)
        for cfg in profile_stages(profile)
        for concern in (*CONCERNS, *(("dr",) if cfg.has_dr else ()))
    ]


def every_stack() -> list[tuple[str, str, str]]:
    return [(profile, *key) for profile in PROFILES for key in stack_keys(profile)]
