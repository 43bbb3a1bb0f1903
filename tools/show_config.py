#!/usr/bin/env python3
"""`make config STAGE=prod [PROFILE=...]`: the effective configuration of one stage, every value
with where it came from (preset, profile, context, environment; "default" otherwise).
`make stages`: every profile and its stages. `make recovery`: recovery targets against what
the backups deliver, per profile and stage.

Context settings are given as KEY=VALUE arguments (what `-c KEY=VALUE` would pass to cdk).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from infra.config import ConfigError, load_profile, load_stages
from infra.config.loader import profile_names


def _leaves(value: Any, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    if isinstance(value, dict) and value:
        return [leaf for key, item in value.items() for leaf in _leaves(item, (*prefix, str(key)))]
    return [(prefix, value)]


def _source(path: tuple[str, ...], sources: dict[tuple[str, ...], str]) -> str:
    for length in range(len(path), 0, -1):
        if path[:length] in sources:
            return sources[path[:length]]
    return "default"


def show_config(stage: str, context: dict[str, Any]) -> int:
    loaded = load_stages({**context, "stages": stage}, os.environ)
    (cfg,) = loaded.stages
    sources = loaded.sources[cfg.name]
    print(f"# profile {cfg.profile}, stage {cfg.name} ({cfg.account} / {cfg.region})")
    for path, value in _leaves(cfg.model_dump(mode="json")):
        print(f"{'.'.join(path)} = {json.dumps(value)}    # {_source(path, sources)}")
    for warning in loaded.warnings:
        print(f"# warning: {warning}")
    return 0


def show_stages() -> int:
    for name in profile_names():
        profile = load_profile(name)
        print(f"{name:<10} {', '.join(profile.stages):<22} {profile.description}")
    return 0


def recovery_table() -> str:
    """Markdown: each profile's stated recovery targets next to what its backups deliver (the
    README's table; tests/test_docs.py keeps it current)."""
    rows = [
        "| profile | stage | target RPO / RTO | in-region RPO | region loss | restores |",
        "|---|---|---|---|---|---|",
    ]
    for name in profile_names():
        for cfg in load_stages({"profile": name}, {}).stages:
            target = cfg.recovery
            stated = (
                f"{target.rpo_minutes or '-'} min / {target.rto_minutes or '-'} min"
                if target.rpo_minutes or target.rto_minutes
                else "not stated"
            )
            delivered = cfg.recovery_delivered()
            rows.append(
                f"| {name} | {cfg.name} | {stated} | {delivered['in_region_rpo']} | "
                f"{delivered['region_loss']} | {delivered['restores']} |"
            )
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    try:
        if argv[:1] == ["stages"]:
            return show_stages()
        if argv[:1] == ["recovery"]:
            print(recovery_table())
            return 0
        context = dict(arg.split("=", 1) for arg in argv[1:] if "=" in arg)
        return show_config(argv[0], context)
    except ConfigError as err:
        print("Invalid configuration:", *(f"  {p}" for p in err.problems), sep="\n")
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["stages"]))
