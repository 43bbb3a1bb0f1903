"""Names shared by the config model and its validation."""

from __future__ import annotations

import re
from enum import StrEnum

PLACEHOLDER_ACCOUNT = "000000000000"
ACCOUNT_ID = re.compile(r"^\d{12}$")
EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
TRUTHY = frozenset({"1", "true", "yes"})
"""How switches read from context or environment variables say yes."""
"""Lets every stage synthesize offline; rejected when accounts are required (deploy, pipeline)."""


class Tier(StrEnum):
    """Subnet tiers, in allocation order."""

    PUBLIC = "public"  # load balancers, NAT gateways
    PRIVATE = "private"  # services and workers, egress through NAT
    ISOLATED = "isolated"  # databases and caches, no route out


class ConfigError(ValueError):
    """Invalid stage configuration; raised before any construct is built."""

    def __init__(self, *problems: str) -> None:
        self.problems = problems
        super().__init__("invalid stage configuration:\n  - " + "\n  - ".join(problems))


class DatabaseEngine(StrEnum):
    POSTGRES = "postgres"  # RDS for PostgreSQL, single instance (Multi-AZ standby)
    AURORA_POSTGRESQL = "aurora-postgresql"
    AURORA_MYSQL = "aurora-mysql"

    @property
    def is_aurora(self) -> bool:
        return self is not DatabaseEngine.POSTGRES

    @property
    def port(self) -> int:
        return 3306 if self is DatabaseEngine.AURORA_MYSQL else 5432
