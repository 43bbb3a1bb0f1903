"""Applies account/region overrides from CDK context or the environment to the stage defaults.

Precedence: context (`cdk synth -c prod.account=123456789012`), then environment
(`PLATFORM_PROD_ACCOUNT`), then the defaults in stages.py. No AWS call is made.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from infra.config.model import StageConfig
from infra.config.primitives import TRUTHY, ConfigError
from infra.config.stages import default_stages
from infra.config.validation import STAGE_NAMES

ContextGetter = Callable[[str], Any]


def load_stages(context: ContextGetter, environ: Mapping[str, str]) -> list[StageConfig]:
    """The selected stages (`-c stages=dev,prod`, default all), validated, in promotion order."""
    selected = _selected(context("stages") or environ.get("PLATFORM_STAGES"))
    require_account = (
        str(context("require_accounts") or environ.get("PLATFORM_REQUIRE_ACCOUNTS", "")).lower()
        in TRUTHY
    )
    defaults = default_stages()
    return [_override(defaults[name], context, environ, require_account) for name in selected]


def _selected(value: Any) -> list[str]:
    if not value:
        return list(STAGE_NAMES)
    names = [n.strip() for n in (value.split(",") if isinstance(value, str) else value)]
    unknown = [n for n in names if n not in STAGE_NAMES]
    if unknown:
        listed = ", ".join(map(repr, unknown))
        raise ConfigError(f"stages: unknown stage(s) {listed}; valid: {', '.join(STAGE_NAMES)}")
    return [n for n in STAGE_NAMES if n in names]


def _override(
    cfg: StageConfig, context: ContextGetter, environ: Mapping[str, str], require_account: bool
) -> StageConfig:
    def setting(key: str) -> Any:
        env_key = f"PLATFORM_{cfg.name.upper()}_{key.upper().replace('.', '_')}"
        value = context(f"{cfg.name}.{key}")
        return value if value not in (None, "") else environ.get(env_key) or None

    azs = setting("availability_zones")
    network = cfg.network
    if azs:
        azs_tuple = tuple(a.strip() for a in (azs.split(",") if isinstance(azs, str) else azs))
        network = dataclasses.replace(network, availability_zones=azs_tuple)
    # A new build rolls out by tag alone: `-c prod.api.image_tag=1.4.2` (or the env variable).
    services = tuple(
        dataclasses.replace(service, image_tag=str(tag))
        if (tag := setting(f"{service.name}.image_tag"))
        else service
        for service in cfg.compute.services
    )
    # replace() re-runs validation on the combined result.
    return dataclasses.replace(
        cfg,
        account=str(setting("account") or cfg.account),
        region=str(setting("region") or cfg.region),
        network=network,
        compute=dataclasses.replace(cfg.compute, services=services),
        require_account=require_account,
    )
