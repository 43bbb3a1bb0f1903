"""Data tier as a whole (`data`): the database and cache (infra.config.databases), backups and
their DR copies, access-log retention and the DR region; and NAME, the rule for names the
product declares (services, functions, buckets).

Buckets and secrets are declared per stage: infra.config.buckets and infra.config.secrets."""

from __future__ import annotations

import re

from pydantic import Field

from infra.config import aws
from infra.config.base import Model
from infra.config.databases import CacheConfig, DatabaseConfig

NAME = re.compile(r"^[a-z][a-z0-9-]{0,23}$")


class BackupConfig(Model):
    daily_retention_days: int = 35
    weekly_retention_days: int = 0
    """0 disables the rule."""
    monthly_retention_days: int = 0
    continuous: bool = True
    """Point-in-time restore (RPO of minutes) for the daily rule."""
    copy_to_dr: bool = False
    """Copy every recovery point to a vault in data.dr_region."""
    vault_lock: bool = False
    """Compliance-mode vault lock: nobody, root included, can delete recovery points early."""
    lock_min_retention_days: int = 7
    lock_changeable_days: int = 3
    """Grace period in which the lock can still be removed; after it the lock is permanent."""
    restore_testing: bool = False
    """AWS Backup restores the newest recovery point of the database and of every backed-up
    bucket on `restore_test_schedule`, keeps the copies `restore_validation_hours`, then deletes
    them; a failed restore pages the critical tier."""
    restore_test_schedule: str = Field(default="0 4 * * SAT", examples=["0 4 * * SAT"])
    """Five-field cron in the stage's time zone."""
    restore_validation_hours: int = 2

    def problems(self) -> list[str]:
        problems = []
        if not aws.APP_SCALING_CRON.match(self.restore_test_schedule):
            problems.append(
                f"restore_test_schedule: {self.restore_test_schedule!r} is not a 5-field cron "
                "such as 0 4 * * SAT"
            )
        if not 1 <= self.restore_validation_hours <= 168:  # noqa: PLR2004 (AWS Backup's range)
            problems.append(
                f"restore_validation_hours: {self.restore_validation_hours} must be 1-168"
            )
        if self.daily_retention_days < 1:
            problems.append(
                f"daily_retention_days: {self.daily_retention_days} keeps nothing; use >= 1"
            )
        if self.continuous and self.daily_retention_days > aws.MAX_BACKUP_DAYS:
            problems.append(
                f"daily_retention_days: {self.daily_retention_days}; continuous backups keep at "
                f"most {aws.MAX_BACKUP_DAYS} days (set continuous=false for longer)"
            )
        for field in ("weekly_retention_days", "monthly_retention_days"):
            if getattr(self, field) < 0:
                problems.append(f"{field}: must be >= 0 (0 disables the rule)")
        if self.vault_lock:
            shortest = min(
                d
                for d in (
                    self.daily_retention_days,
                    self.weekly_retention_days,
                    self.monthly_retention_days,
                )
                if d
            )
            if not 1 <= self.lock_min_retention_days <= shortest:
                problems.append(
                    f"lock_min_retention_days: {self.lock_min_retention_days} must be 1-{shortest} "
                    "(the shortest rule's retention), or the locked vault rejects its recovery "
                    "points"
                )
            if self.lock_changeable_days < aws.MIN_VAULT_LOCK_GRACE_DAYS:
                problems.append(
                    f"lock_changeable_days: {self.lock_changeable_days}; AWS Backup needs at "
                    f"least {aws.MIN_VAULT_LOCK_GRACE_DAYS}"
                )
        return problems


class DataConfig(Model):
    database: DatabaseConfig = DatabaseConfig()
    cache: CacheConfig = CacheConfig()
    backup: BackupConfig = BackupConfig()
    access_log_retention_days: int = 365
    dr_region: str | None = Field(default=None, examples=["ap-northeast-1"])
    """Region of the DR stack (replica buckets, backup copy vault); None: no DR stack."""

    def problems(self) -> list[str]:
        problems = []
        if self.access_log_retention_days < 1:
            problems.append("access_log_retention_days: must be >= 1")
        if self.dr_region is not None and self.dr_region not in aws.known_regions():
            problems.append(f"dr_region: unknown region {self.dr_region!r}")
        return problems
