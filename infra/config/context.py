"""Settings from the CDK context (-c) and the environment (PLATFORM_*): the global ones
(profile, stages, require_accounts), the selected stages, and each stage's dotted settings as
override layers, checked against the types and the profile's declared names.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from infra.config.base import ConfigError
from infra.config.overrides import COLLECTIONS, OverrideError, coerce, env_path, nest, resolve
from infra.config.pipeline import PIPELINE_FIELDS

if TYPE_CHECKING:
    from infra.config.loader import Layer, Profile

GLOBAL_KEYS = ("profile", "stages", "require_accounts", "pipeline")
GLOBAL_VARIABLES = {key: f"PLATFORM_{key.upper()}" for key in GLOBAL_KEYS}
"""The environment variable of each global setting (PLATFORM_PROFILE, ...)."""
CARRIED = "PLATFORM_CONTEXT"
"""JSON object of stage settings, read as context (below real -c values): how the pipeline's
own synth gets every setting the pipeline was deployed with."""
NOT_STAGE_VARIABLES = frozenset({*GLOBAL_VARIABLES.values(), CARRIED})
"""PLATFORM_* variables that are not PLATFORM_<STAGE>_* settings (nor PLATFORM_PIPELINE_*)."""


def is_stage_key(key: str) -> bool:
    """Whether a context key is (or misspells) a `<stage>.<path>` setting, as opposed to CDK's
    own (`@aws-cdk/...`, `aws:cdk:...`), a global setting or a `pipeline.<field>` one."""
    return not (key.startswith(("@", "pipeline.")) or ":" in key or key in GLOBAL_KEYS)


def selected_stages(profile: Profile, value: Any) -> list[str]:
    names = list(profile.stages)
    if not value:
        return names
    wanted = [n.strip().lower() for n in (value.split(",") if isinstance(value, str) else value)]
    unknown = [n for n in wanted if n not in names]
    if unknown:
        raise ConfigError(
            f"stages: unknown stage(s) {', '.join(map(repr, unknown))} in profile "
            f"{profile.name}; valid: {', '.join(names)}"
        )
    return [n for n in names if n in wanted]


def _declared(profile: Profile) -> dict[str, set[str]]:
    return {c: set(profile.shared.get(c, {})) for c in COLLECTIONS}


def stage_overrides(
    profile: Profile, context: Mapping[str, Any], environ: Mapping[str, str]
) -> dict[str, list[tuple[str, Layer]]]:
    """Per stage: the environment's layer, then the context's (context wins)."""
    stages = {s.lower(): s for s in profile.stages}
    declared = _declared(profile)
    per_stage: dict[str, list[tuple[str, Layer]]] = {s: [] for s in profile.stages}
    problems: list[str] = []
    for variable in sorted(environ):
        if not variable.startswith("PLATFORM_"):
            continue
        rest = variable.removeprefix("PLATFORM_")
        if variable in NOT_STAGE_VARIABLES or (
            rest.startswith("PIPELINE_")
            and rest.removeprefix("PIPELINE_").lower() in PIPELINE_FIELDS
        ):
            continue
        tokens = rest.lower().split("_")
        stage = stages.get(tokens[0])
        path = env_path(tokens[1:], declared) if stage else None
        if stage is None or path is None:
            problems.append(_unknown_variable(variable, profile))
            continue
        _add(
            per_stage,
            stage,
            source=f"environment {variable}",
            path=path,
            value=environ[variable],
            declared=declared,
            problems=problems,
        )
    for key, value in sorted(context.items(), key=lambda kv: kv[0]):
        if key.startswith("pipeline.") and ":" not in key:
            if key.removeprefix("pipeline.") not in PIPELINE_FIELDS:
                problems.append(
                    f"{key}: unknown key; valid: "
                    + ", ".join(f"pipeline.{f}" for f in PIPELINE_FIELDS)
                )
            continue
        if not is_stage_key(key):
            continue
        head, _, rest_key = key.partition(".")
        stage = stages.get(head.lower())
        if stage is None or not rest_key:
            close = difflib.get_close_matches(head, [*GLOBAL_KEYS, *profile.stages], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(
                f"{key}: unknown context key{hint} (settings are <stage>.<path> for stages "
                f"{', '.join(profile.stages)}, or {', '.join(GLOBAL_KEYS)})"
            )
            continue
        _add(
            per_stage,
            stage,
            source="context",
            path=tuple(rest_key.split(".")),
            value=value,
            declared=declared,
            problems=problems,
        )
    if problems:
        raise ConfigError(*problems)
    return per_stage


def _add(
    per_stage: dict[str, list[tuple[str, Layer]]],
    stage: str,
    *,
    source: str,
    path: tuple[str, ...],
    value: Any,
    declared: dict[str, set[str]],
    problems: list[str],
) -> None:
    try:
        canonical, annotation = resolve(path, declared)
        typed = coerce(value, annotation, f"{stage}.{'.'.join(canonical)}")
    except OverrideError as err:
        problems.append(f"{stage}.{err}")
        return
    per_stage[stage].append((source, nest(canonical, typed)))


def _unknown_variable(variable: str, profile: Profile) -> str:
    known = list(GLOBAL_VARIABLES.values())
    known += [f"PLATFORM_PIPELINE_{f.upper()}" for f in PIPELINE_FIELDS]
    known += [f"PLATFORM_{s.upper()}_ACCOUNT" for s in profile.stages]
    close = difflib.get_close_matches(variable, known, n=1, cutoff=0.7)
    hint = f"; did you mean {close[0]}?" if close else ""
    return (
        f"{variable}: unknown setting{hint} (stage settings are PLATFORM_<STAGE>_<PATH>, e.g. "
        f"PLATFORM_{next(iter(profile.stages)).upper()}_NETWORK_NAT_GATEWAYS, for stages "
        f"{', '.join(profile.stages)})"
    )
