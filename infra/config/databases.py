"""The database and the cache: engines, versions, instance classes, topology, and the daily
backup/snapshot and weekly maintenance windows both must keep apart (`window_problems`)."""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import Field

from infra.config import aws
from infra.config.base import Model, Retention

DAY_MINUTES = 24 * 60
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAILY = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
_WEEKLY = re.compile(
    r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)-"
    r"(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)$"
)


class DatabaseEngine(StrEnum):
    POSTGRES = "postgres"  # RDS for PostgreSQL, one instance (Multi-AZ standby)
    MYSQL = "mysql"  # RDS for MySQL, one instance (Multi-AZ standby)
    AURORA_POSTGRESQL = "aurora-postgresql"
    AURORA_MYSQL = "aurora-mysql"

    @property
    def is_aurora(self) -> bool:
        return self.value.startswith("aurora")

    @property
    def is_mysql(self) -> bool:
        return self.value.endswith("mysql")

    @property
    def port(self) -> int:
        return 3306 if self.is_mysql else 5432

    def major(self, version: str) -> str:
        if self is DatabaseEngine.AURORA_MYSQL:
            return version.split(".mysql_aurora.", maxsplit=1)[0]
        if self is DatabaseEngine.MYSQL:
            return ".".join(version.split(".")[:2])
        return version.split(".", maxsplit=1)[0]

    @property
    def majors(self) -> frozenset[str]:
        return {
            DatabaseEngine.POSTGRES: aws.POSTGRES_MAJORS,
            DatabaseEngine.AURORA_POSTGRESQL: aws.POSTGRES_MAJORS,
            DatabaseEngine.MYSQL: aws.MYSQL_MAJORS,
            DatabaseEngine.AURORA_MYSQL: aws.AURORA_MYSQL_MAJORS,
        }[self]


class CacheEngine(StrEnum):
    VALKEY = "valkey"
    REDIS = "redis"


class DatabaseConfig(Model):
    engine: DatabaseEngine = DatabaseEngine.POSTGRES
    engine_version: str = Field(default="16.9", examples=["16.9", "8.0.mysql_aurora.3.09.0"])
    instance_class: str = Field(default="db.t4g.medium", examples=["db.t4g.medium"])
    """Also the Aurora writer's and readers' class."""
    allocated_storage_gib: int = 20
    max_allocated_storage_gib: int = 100
    """Storage autoscaling ceiling (instance engines)."""
    multi_az: bool = True
    """A standby in a second AZ (instance) or at least one reader in another AZ (Aurora)."""
    readers: int = 0
    """Aurora reader instances."""
    read_replica: bool = False
    """One read replica (instance engines)."""
    database_name: str = "app"
    app_username: str = "app_user"
    """The application's own least-privilege login; the master user is for migrations and
    rotation only."""
    backup_retention_days: int = 7
    backup_window: str = Field(default="18:00-19:00", examples=["03:00-04:00"])
    """UTC, hh:mm-hh:mm."""
    maintenance_window: str = Field(default="sun:19:00-sun:20:00", examples=["mon:04:00-mon:05:00"])
    """UTC, ddd:hh:mm-ddd:hh:mm; must not overlap the backup window."""
    parameters: dict[str, str] = Field(
        default={"max_connections": "200"}, examples=[{"max_connections": "100"}]
    )
    performance_insights_retention_days: int = 7
    monitoring_interval_seconds: int = 60
    credential_rotation_days: int = 30
    deletion_protection: bool = True
    removal_policy: Retention = Retention.SNAPSHOT

    @property
    def port(self) -> int:
        return self.engine.port

    def problems(self) -> list[str]:
        problems = []
        major = self.engine.major(self.engine_version)
        if major not in self.engine.majors:
            problems.append(
                f"engine_version: {self.engine_version!r} (major {major}) is not supported for "
                f"{self.engine.value}; use a major from {sorted(self.engine.majors)}"
            )
        problems += self._instance_class_problems() + self._topology_problems()
        problems += self._operations_problems()
        problems += window_problems(
            "backup_window", self.backup_window, "maintenance_window", self.maintenance_window
        )
        if not re.match(r"^[a-z][a-z0-9_]{0,15}$", self.app_username):
            problems.append(f"app_username: {self.app_username!r}; use e.g. app_user")
        # Lowercase only: PostgreSQL folds unquoted names; MySQL and Aurora allow 64 characters.
        if not re.match(r"^[a-z][a-z0-9_]{0,62}$", self.database_name):
            problems.append(
                f"database_name: {self.database_name!r} must be 1-63 lowercase letters, digits "
                "or underscores, starting with a letter; e.g. app"
            )
        return problems

    def _instance_class_problems(self) -> list[str]:
        match = aws.DB_INSTANCE_CLASS.match(self.instance_class)
        if match is None:
            return [
                f"instance_class: {self.instance_class!r} is not an instance class such as "
                "db.t4g.medium"
            ]
        family, size = match["family"], match["size"]
        aurora = self.engine.is_aurora
        families = aws.AURORA_FAMILIES if aurora else aws.RDS_FAMILIES
        too_small = aurora and family.startswith("t") and size not in aws.AURORA_BURSTABLE_SIZES
        if family not in families or too_small:
            example = "db.t4g.medium or db.r6g.large" if aurora else "db.t4g.medium or db.m7g.large"
            return [
                f"instance_class: {self.instance_class} is not offered for {self.engine.value}; "
                f"use e.g. {example}"
            ]
        return []

    def _topology_problems(self) -> list[str]:
        problems = []
        if not 0 <= self.readers <= aws.MAX_AURORA_READERS:
            problems.append(f"readers: {self.readers} must be 0-{aws.MAX_AURORA_READERS}")
        if self.engine.is_aurora:
            if self.read_replica:
                problems.append("read_replica: Aurora has readers instead; set readers=1")
            if self.multi_az and self.readers < 1:
                problems.append(
                    "multi_az: Aurora fails over to a reader; set readers >= 1 or multi_az=false"
                )
            return problems
        if self.readers:
            problems.append(
                f"readers: {self.readers} readers need an Aurora engine; use read_replica=true "
                f"for {self.engine.value}"
            )
        if self.allocated_storage_gib < aws.MIN_GP3_GIB:
            problems.append(f"allocated_storage_gib: gp3 storage starts at {aws.MIN_GP3_GIB} GiB")
        if self.max_allocated_storage_gib < self.allocated_storage_gib:
            problems.append(
                f"max_allocated_storage_gib: {self.max_allocated_storage_gib} is below "
                f"allocated_storage_gib ({self.allocated_storage_gib}); the autoscaling ceiling "
                "must be >= it"
            )
        return problems

    def _operations_problems(self) -> list[str]:
        problems = []
        if not 1 <= self.backup_retention_days <= aws.MAX_BACKUP_DAYS:
            problems.append(
                f"backup_retention_days: {self.backup_retention_days} must be "
                f"1-{aws.MAX_BACKUP_DAYS} (0 would switch automated backups and point-in-time "
                "recovery off)"
            )
        if self.performance_insights_retention_days not in aws.PERFORMANCE_INSIGHTS_DAYS:
            problems.append(
                "performance_insights_retention_days: "
                f"{self.performance_insights_retention_days}; use 7, a multiple of 31 up to 713, "
                "or 731"
            )
        if self.monitoring_interval_seconds not in aws.MONITORING_INTERVALS:
            problems.append(
                f"monitoring_interval_seconds: {self.monitoring_interval_seconds}; use one of "
                f"{sorted(aws.MONITORING_INTERVALS)}"
            )
        if not 1 <= self.credential_rotation_days <= 365:  # noqa: PLR2004
            problems.append(
                f"credential_rotation_days: {self.credential_rotation_days} must be 1-365"
            )
        return problems


class CacheConfig(Model):
    engine: CacheEngine = CacheEngine.VALKEY
    engine_version: str = Field(default="8.0", examples=["8.0", "7.1"])
    node_type: str = Field(default="cache.t4g.micro", examples=["cache.t4g.medium"])
    shards: int = 1
    """More than one enables cluster mode."""
    replicas_per_shard: int = 1
    multi_az: bool = True
    """Automatic failover to a replica in another AZ; needs replicas_per_shard >= 1."""
    snapshot_retention_days: int = 5
    snapshot_window: str = "17:00-18:00"
    maintenance_window: str = "sun:20:00-sun:21:00"
    port: int = 6379
    removal_policy: Retention = Retention.SNAPSHOT

    @property
    def major(self) -> str:
        return ".".join(self.engine_version.split(".")[:2])

    def problems(self) -> list[str]:
        problems = []
        majors = aws.CACHE_MAJORS[self.engine.value]
        if self.major not in majors:
            problems.append(
                f"engine_version: {self.engine_version!r}; {self.engine.value} offers "
                f"{sorted(majors)}"
            )
        if not aws.CACHE_NODE_TYPE.match(self.node_type):
            problems.append(
                f"node_type: {self.node_type!r} is not a node type such as cache.t4g.micro"
            )
        if not 1 <= self.shards <= 500:  # noqa: PLR2004
            problems.append(f"shards: {self.shards} must be 1-500")
        if not 0 <= self.replicas_per_shard <= 5:  # noqa: PLR2004
            problems.append(f"replicas_per_shard: {self.replicas_per_shard} must be 0-5")
        if self.multi_az and self.replicas_per_shard < 1:
            problems.append("multi_az: automatic failover needs replicas_per_shard >= 1")
        if not 0 <= self.snapshot_retention_days <= aws.MAX_BACKUP_DAYS:
            problems.append(
                f"snapshot_retention_days: {self.snapshot_retention_days} must be "
                f"0-{aws.MAX_BACKUP_DAYS}"
            )
        if not 0 < self.port <= 65535:  # noqa: PLR2004
            problems.append(f"port: {self.port} is outside 1-65535")
        problems += window_problems(
            "snapshot_window", self.snapshot_window, "maintenance_window", self.maintenance_window
        )
        return problems


def window_problems(name_a: str, window_a: str, name_b: str, weekly: str) -> list[str]:
    """A daily window (backups, snapshots) and a weekly maintenance window that must not overlap."""
    daily = _DAILY.match(window_a)
    week = _WEEKLY.match(weekly)
    problems = []
    if daily is None:
        problems.append(f"{name_a}: {window_a!r} is not hh:mm-hh:mm (UTC)")
    if week is None:
        problems.append(
            f"{name_b}: {weekly!r} is not ddd:hh:mm-ddd:hh:mm (UTC), e.g. sun:19:00-sun:20:00"
        )
    if daily is None or week is None:
        return problems
    start, end = _minutes(daily[1], daily[2]), _minutes(daily[3], daily[4])
    if (end - start) % DAY_MINUTES < 30:  # noqa: PLR2004 (AWS minimum)
        problems.append(f"{name_a}: {window_a} must last at least 30 minutes")
    m_start = _DAYS.index(week[1]) * DAY_MINUTES + _minutes(week[2], week[3])
    m_end = _DAYS.index(week[4]) * DAY_MINUTES + _minutes(week[5], week[6])
    maintenance = _intervals(m_start, m_end, 7 * DAY_MINUTES)
    backups = [
        interval
        for day in range(7)
        for interval in _intervals(
            day * DAY_MINUTES + start,
            day * DAY_MINUTES + start + (end - start) % DAY_MINUTES,
            7 * DAY_MINUTES,
        )
    ]
    if any(a0 < b1 and b0 < a1 for a0, a1 in backups for b0, b1 in maintenance):
        problems.append(
            f"{name_b}: {weekly} overlaps {name_a} {window_a}; AWS rejects overlapping windows"
        )
    return problems


def _minutes(hours: str, minutes: str) -> int:
    return int(hours) * 60 + int(minutes)


def _intervals(start: int, end: int, period: int) -> list[tuple[int, int]]:
    """[start, end) on a circular timeline of `period` minutes, split where it wraps."""
    start, end = start % period, end % period
    if end > start:
        return [(start, end)]
    return [(start, period), (0, end)]
