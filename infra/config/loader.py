"""Stage configurations from a profile, in layers, each later one winning:

  platform defaults (the config types) < preset (dev/staging/prod in presets.toml)
  < the profile's shared settings < its [stages.<name>] < environment (PLATFORM_*) < context (-c)

Context wins over environment because it is what was typed for this run. Every key of every
layer is checked against the types (did-you-mean on typos), and a stage layer or override may
change a declared service, function, bucket, secret or job but never add or drop one (a stage
may clear its jobs). A dotted setting changes one field: the section around it keeps its other
values, from the layers below or the defaults.
No AWS call is made.
"""

from __future__ import annotations

import difflib
import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from infra.config.base import ConfigError, parse_bool, setting, validation_problems
from infra.config.context import (
    CARRIED,
    GLOBAL_VARIABLES,
    NOT_STAGE_VARIABLES,
    is_stage_key,
    selected_stages,
    stage_overrides,
)
from infra.config.overrides import COLLECTIONS, DEFAULTS, entry_model, nest, seed_defaults
from infra.config.stage import StageConfig
from infra.config.stage_checks import shared_account_problems

PROFILES = Path(__file__).resolve().parents[1] / "profiles"
DEFAULT_PROFILE = "default"
CLEARABLE = ("jobs",)
"""Collections a stage may empty (`jobs = {}`: this stage schedules nothing)."""
OVERRIDES_FROM = 3
"""Layers from this index on (context, environment) are dotted settings, not whole tables."""
Layer = dict[str, Any]


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    gaps: tuple[str, ...]
    shared: Layer
    stages: dict[str, Layer]
    """Stage name -> its layer, in promotion order."""

    def preset(self, stage: str) -> str:
        preset = self.stages[stage].get("preset", stage)
        assert isinstance(preset, str)
        return preset


@dataclass
class Loaded:
    stages: list[StageConfig]
    warnings: list[str] = field(default_factory=list)
    sources: dict[str, dict[tuple[str, ...], str]] = field(default_factory=dict)
    """Stage -> path -> the layer that set it (for `make config`)."""


def profile_names() -> list[str]:
    return sorted(p.stem for p in PROFILES.glob("*.toml") if p.stem != "presets")


@cache
def load_profile(name: str) -> Profile:
    path = PROFILES / f"{name}.toml"
    if name == "presets" or not path.is_file():
        raise ConfigError(
            f"profile: unknown profile {name!r}; valid: {', '.join(profile_names())} "
            "(each is a file in infra/profiles/)"
        )
    raw = _toml(path)
    meta = raw.pop("profile", {})
    unknown = sorted(set(meta) - {"description", "gaps"})
    if unknown:
        raise ConfigError(
            f"profile {name}: [profile] holds only description and gaps, not {', '.join(unknown)}"
            " (put settings before the [profile] table, or in their own tables)"
        )
    stages = raw.pop("stages", {})
    if not stages:
        raise ConfigError(f"profile {name}: declare at least one [stages.<name>] table")
    return Profile(
        name=name,
        description=str(meta.get("description", "")),
        gaps=tuple(meta.get("gaps", ())),
        shared=raw,
        stages=stages,
    )


@cache
def presets() -> dict[str, Layer]:
    return _toml(PROFILES / "presets.toml")


def _toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path.name}: not valid TOML ({err})") from err


# -- the public entry points -------------------------------------------------------------------


def carried_settings(context: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, str]:
    """What a later synth elsewhere (the pipeline's) needs to load the same stages: the stage
    settings from the context (as PLATFORM_CONTEXT) and the PLATFORM_<STAGE>_* variables."""
    stage_keys = {
        key: value
        for key, value in {**_carried(environ), **context}.items()
        if "." in key and is_stage_key(key)
    }
    variables = {
        name: value
        for name, value in environ.items()
        if name.startswith("PLATFORM_")
        and name not in NOT_STAGE_VARIABLES
        and not name.startswith("PLATFORM_PIPELINE")
    }
    return variables | ({CARRIED: json.dumps(stage_keys, sort_keys=True)} if stage_keys else {})


def _carried(environ: Mapping[str, str]) -> dict[str, Any]:
    text = environ.get(CARRIED)
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(
            f'{CARRIED}: not JSON ({err.msg}); e.g. {{"prod.account": "123456789012"}}'
        ) from None
    if not isinstance(value, dict):
        raise ConfigError(f"{CARRIED}: must be a JSON object of <stage>.<path> settings")
    return value


def load_stages(context: Mapping[str, Any], environ: Mapping[str, str]) -> Loaded:
    """The selected stages of the selected profile, validated, in promotion order. `context` is
    every CDK context value (`app.node.get_all_context()`)."""
    context = {**_carried(environ), **context}
    profile_name = str(
        setting(context, environ, "profile", GLOBAL_VARIABLES["profile"]) or DEFAULT_PROFILE
    )
    profile = load_profile(profile_name)
    problems: list[str] = []

    def attempt(step: Any, *args: Any) -> Any:
        try:
            return step(*args)
        except ConfigError as err:
            problems.extend(err.problems)
            return None

    selected = attempt(
        selected_stages, profile, setting(context, environ, "stages", GLOBAL_VARIABLES["stages"])
    )
    require = attempt(
        parse_bool,
        "require_accounts",
        setting(context, environ, "require_accounts", GLOBAL_VARIABLES["require_accounts"]),
    )
    overrides = attempt(stage_overrides, profile, context, environ)
    if problems:
        raise ConfigError(*problems)
    loaded = Loaded(stages=[])
    for stage in selected:
        try:
            cfg, sources = build_stage(
                profile, stage, overrides.get(stage, []), require_account=require
            )
        except ConfigError as err:
            problems += err.problems
            continue
        loaded.stages.append(cfg)
        loaded.sources[stage] = sources
        loaded.warnings += cfg.warnings()
    problems += shared_account_problems(loaded.stages)
    if problems:
        raise ConfigError(*problems)
    return loaded


def build_stage(
    profile: Profile,
    stage: str,
    overrides: Iterable[tuple[str, Layer]] = (),
    *,
    require_account: bool = False,
) -> tuple[StageConfig, dict[tuple[str, ...], str]]:
    """One stage from its layers; `overrides` are (source, layer) pairs applied last."""
    preset_name = profile.preset(stage)
    if preset_name not in presets():
        raise ConfigError(
            f"{stage}.preset: unknown preset {preset_name!r}; valid: {', '.join(presets())}"
        )
    stage_layer = {k: v for k, v in profile.stages[stage].items() if k != "preset"}
    layers: list[tuple[str, Layer]] = [
        (f"preset {preset_name}", presets()[preset_name]),
        (f"profile {profile.name}", profile.shared),
        (f"profile {profile.name} [stages.{stage}]", stage_layer),
        *overrides,
    ]
    problems = _undeclared(profile, stage, layers[2:])
    merged: Layer = {}
    sources: dict[tuple[str, ...], str] = {}
    for index, (source, layer) in enumerate(layers):
        leaves = _leaves(layer)
        if index >= OVERRIDES_FROM:  # a dotted setting changes one field of what is there
            for path in leaves:
                merged = seed_defaults(merged, path)
        merged = deep_merge(merged, layer)
        for path in leaves:
            sources[path] = source
    merged = _apply_defaults(merged, problems, stage)
    merged |= {"name": stage, "profile": profile.name}
    if require_account:
        merged["require_account"] = True
    if problems:
        raise ConfigError(*problems)
    return validate_stage(merged), sources


def validate_stage(data: Mapping[str, Any]) -> StageConfig:
    """Types first (pydantic), then every check that spans fields; all problems at once."""
    name = str(data.get("name", "stage"))
    try:
        cfg = StageConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(*validation_problems(err, StageConfig, name)) from None
    problems = cfg.all_problems()
    if problems:
        raise ConfigError(*problems)
    return cfg


def derive(cfg: StageConfig, **changes: Any) -> StageConfig:
    """A validated copy with dotted-path changes: derive(cfg, **{"network.nat_gateways": 1})."""
    data = cfg.model_dump(mode="python", exclude_unset=False)
    for dotted, value in changes.items():
        data = deep_merge(data, nest(tuple(dotted.split(".")), value))
    return validate_stage(data)


# -- layers ------------------------------------------------------------------------------------


def deep_merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> Layer:
    """`overlay` onto `base`, table by table. An empty table replaces what is there: `jobs = {}`
    means no jobs, not "no change"."""
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, Mapping) and value and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _leaves(layer: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = []
    for key, value in layer.items():
        path = (*prefix, key)
        if isinstance(value, Mapping) and value:
            paths += _leaves(value, path)
        else:
            paths.append(path)
    return paths


def _undeclared(profile: Profile, stage: str, layers: list[tuple[str, Layer]]) -> list[str]:
    """Stage layers and overrides may change, never add, services, functions and the rest."""
    problems = []
    for source, layer in layers:
        for collection in COLLECTIONS:
            declared = profile.shared.get(collection, {})
            entries = layer.get(collection)
            if entries == {} and declared and collection not in CLEARABLE:
                problems.append(
                    f"{stage}.{collection}: an empty table would drop every declared entry "
                    f"({source}); change entries field by field, e.g. "
                    f"-c {stage}.{collection}.{next(iter(declared))}.<field>=<value>"
                )
            for key, entry in (entries or {}).items():
                if entry == {} and key in declared:
                    problems.append(
                        f"{stage}.{collection}.{key}: an empty table would reset it to the "
                        f"platform defaults ({source}); set only the fields that differ"
                    )
                if key not in declared:
                    close = difflib.get_close_matches(key, declared, n=1, cutoff=0.6)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    problems.append(
                        f"{stage}.{collection}.{key}: not declared by profile {profile.name} "
                        f"({source}){hint}; declare it once in the profile's [{collection}] and "
                        "change per stage only what differs"
                    )
    return problems


def _apply_defaults(merged: Layer, problems: list[str], stage: str) -> Layer:
    """service_defaults / function_defaults sit beneath every entry of their collection."""
    result = dict(merged)
    for defaults_key, collection in DEFAULTS.items():
        defaults = result.pop(defaults_key, {})
        entries = result.get(collection, {})
        if not defaults or not entries:
            continue
        known = entry_model(collection).model_fields
        unknown = [k for k in defaults if k not in known]
        problems += [f"{stage}.{defaults_key}.{k}: unknown key" for k in unknown]
        base = {k: v for k, v in defaults.items() if k in known}
        result[collection] = {  # an entry that is not a table is left for validation to name
            name: deep_merge(base, entry) if isinstance(entry, Mapping) else entry
            for name, entry in entries.items()
        }
    return result
