"""Configuration: typed, immutable, validated before any construct is built.

A product is a profile (infra/profiles/<name>.toml) of stages; `load_stages` reads the selected
profile and stages with their context and environment overrides.
"""

from infra.config.base import ConfigError, Retention
from infra.config.loader import Loaded, build_stage, derive, load_profile, load_stages
from infra.config.stage import StageConfig

__all__ = [
    "ConfigError",
    "Loaded",
    "Retention",
    "StageConfig",
    "build_stage",
    "derive",
    "load_profile",
    "load_stages",
]
