"""Stage configuration: typed, immutable, validated before any construct is built."""

from infra.config.loader import load_stages
from infra.config.model import NetworkConfig, PortsConfig, StageConfig, SubnetTierConfig
from infra.config.primitives import PLACEHOLDER_ACCOUNT, ConfigError, Tier
from infra.config.stages import default_stages

__all__ = [
    "PLACEHOLDER_ACCOUNT",
    "ConfigError",
    "NetworkConfig",
    "PortsConfig",
    "StageConfig",
    "SubnetTierConfig",
    "Tier",
    "default_stages",
    "load_stages",
]
