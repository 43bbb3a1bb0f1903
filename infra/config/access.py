"""What a service or function may use. The security-group matrix and every IAM grant are
derived from these declarations, never from names."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from infra.config.base import Model


class BucketAccess(StrEnum):
    READ = "read"
    READ_WRITE = "read-write"
    WRITE = "write"
    """Put objects only (reports, exports): no read, no delete."""


class BucketGrant(Model):
    access: BucketAccess
    prefix: str = Field(default="", examples=["reports/"])
    """Only objects under this key prefix."""


class Access(Model):
    database: bool = False
    """Connects to the database as the application user (never the master user)."""
    cache: bool = False
    buckets: dict[str, BucketAccess | BucketGrant] = Field(
        default={}, examples=[{"uploads": "read-write"}]
    )
    queues: tuple[str, ...] = Field(default=(), examples=[["job-worker"]])
    """Functions with a queue trigger whose queue this may send to."""
    events: bool = False
    """May put events on the product's event bus."""
    secrets: tuple[str, ...] = Field(default=(), examples=[["JWT_SECRET"]])
    """Application secrets injected as environment variables of the same name."""
    services: tuple[str, ...] = Field(default=(), examples=[["backend"]])
    """Other services this calls inside the VPC (Service Connect)."""

    def bucket_grants(self) -> list[tuple[str, BucketGrant]]:
        return [
            (name, grant if isinstance(grant, BucketGrant) else BucketGrant(access=grant))
            for name, grant in self.buckets.items()
        ]

    @property
    def uses_data_tier(self) -> bool:
        return self.database or self.cache
