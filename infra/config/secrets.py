"""Application secrets (`secrets`): what kind each is (generated, provided, database URL), how
it is rotated, and the environment-variable names they are declared under."""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import Field

from infra.config.base import Model

_SECRET_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")


class SecretKind(StrEnum):
    GENERATED = "generated"
    """A random value Secrets Manager generates (signing keys)."""
    PROVIDED = "provided"
    """Created empty; an operator pastes the value (third-party API keys)."""
    DATABASE_URL = "database-url"
    """postgresql://... or mysql://... for the application user, rewritten after every
    rotation of its credentials."""


class SecretConfig(Model):
    kind: SecretKind = SecretKind.GENERATED
    rotation: str = Field(default="", examples=["rotated by the provider; paste the new key"])
    """How this secret is rotated: required for generated and provided secrets, so the story is
    written down where the secret is declared."""
    length: int = 64
    description: str = ""

    def problems(self) -> list[str]:
        problems = []
        if self.kind is not SecretKind.DATABASE_URL and len(self.rotation.strip()) < 20:  # noqa: PLR2004
            problems.append(
                "rotation: say how this secret is rotated (who issues it, how it is replaced "
                "without downtime), e.g. 'issued by the AI provider; paste a new key, then "
                "redeploy the services that use it'"
            )
        if not 32 <= self.length <= 4096:  # noqa: PLR2004
            problems.append(f"length: {self.length} must be 32-4096")
        return problems


def secret_name_problems(names: list[str]) -> list[str]:
    return [
        f"secrets.{name}: secret names are environment variable names such as JWT_SECRET"
        for name in names
        if not _SECRET_NAME.match(name)
    ]
