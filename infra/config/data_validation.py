"""Checks for the data-tier configuration (see validation.py for the conventions)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from aws_cdk import RemovalPolicy

from infra.config.primitives import DatabaseEngine

if TYPE_CHECKING:
    from infra.config.data import CacheConfig, DatabaseConfig, DataConfig, UploadsConfig

SUPPORTED_MAJORS = {
    DatabaseEngine.POSTGRES: {"14", "15", "16", "17"},
    DatabaseEngine.AURORA_POSTGRESQL: {"14", "15", "16", "17"},
    DatabaseEngine.AURORA_MYSQL: {"8.0"},
}
_RDS_FAMILIES = {"t3", "t4g", "m5", "m6g", "m6i", "m7g", "m7i", "r5", "r6g", "r6i", "r7g", "r7i"}
_AURORA_FAMILIES = {"t3", "t4g", "r5", "r6g", "r6i", "r7g", "r7i", "r8g", "x2g"}
_AURORA_BURSTABLE_SIZES = {"medium", "large"}
_INSTANCE_CLASS = re.compile(
    r"^(?P<family>[a-z0-9]+)\.(?P<size>micro|small|medium|large|\d*xlarge)$"
)
_CACHE_NODE = re.compile(r"^cache\.[a-z0-9]+\.(micro|small|medium|large|\d*xlarge)$")
CACHE_MAJORS = {"valkey": {"7.2", "8.0", "8.1"}, "redis": {"6.2", "7.0", "7.1"}}
PERFORMANCE_INSIGHTS_DAYS = {7, *(31 * months for months in range(1, 24)), 731}
MONITORING_INTERVALS = {1, 5, 10, 15, 30, 60}
MAX_BACKUP_DAYS = 35  # RDS and ElastiCache limit
MAX_AURORA_READERS = 15
MAX_ROTATION_DAYS = 365
MIN_GP3_GIB = 20
MIN_IA_DAYS = 30  # S3 keeps objects 30 days in Standard before Standard-IA
DAY_MINUTES = 24 * 60
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAILY = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
_WEEKLY = re.compile(
    r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)-"
    r"(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)$"
)
PROD_MIN_DB_BACKUP_DAYS = 14
KEEPS_DATA = {RemovalPolicy.SNAPSHOT, RemovalPolicy.RETAIN}


def engine_major(engine: DatabaseEngine, version: str) -> str:
    if engine is DatabaseEngine.AURORA_MYSQL:
        return version.split(".mysql_aurora.", maxsplit=1)[0]
    return version.split(".", maxsplit=1)[0]


def data_problems(
    data: DataConfig, *, stage: str, region: str, known_regions: frozenset[str]
) -> list[str]:
    problems = [f"database.{p}" for p in _database_problems(data.database, stage)]
    problems += [f"cache.{p}" for p in _cache_problems(data.cache, stage)]
    problems += [f"uploads.{p}" for p in _uploads_problems(data.uploads)]
    backup = data.backup
    if backup.daily_retention_days < 1:
        problems.append(
            f"backup.daily_retention_days: {backup.daily_retention_days} keeps nothing; "
            "use >= 1 (35 in prod)"
        )
    for field in ("weekly_retention_days", "monthly_retention_days"):
        if getattr(backup, field) < 0:
            problems.append(f"backup.{field}: must be >= 0 (0 disables the rule)")
    if data.backups_bucket_expiry_days <= data.backups_bucket_glacier_after_days:
        problems.append(
            f"backups_bucket_expiry_days: {data.backups_bucket_expiry_days} must be later than "
            f"backups_bucket_glacier_after_days ({data.backups_bucket_glacier_after_days})"
        )
    if data.access_log_retention_days < 1:
        problems.append("access_log_retention_days: must be >= 1")
    wants_dr = [
        name
        for name, on in (
            ("uploads.replicate_to_dr", data.uploads.replicate_to_dr),
            ("backup.copy_to_dr", backup.copy_to_dr),
        )
        if on
    ]
    if data.dr_region is None:
        problems += [
            f"{name}: set dr_region to the region to copy to (e.g. ap-northeast-1)"
            for name in wants_dr
        ]
    elif data.dr_region == region:
        problems.append(
            f"dr_region: {data.dr_region} is the stage region; disaster recovery needs "
            "another region"
        )
    elif data.dr_region not in known_regions:
        problems.append(f"dr_region: unknown region {data.dr_region!r}")
    return [f"data.{p}" for p in problems]


def _database_problems(db: DatabaseConfig, stage: str) -> list[str]:
    problems = []
    major = engine_major(db.engine, db.engine_version)
    if major not in SUPPORTED_MAJORS[db.engine]:
        problems.append(
            f"engine_version: {db.engine_version!r} (major {major}) is not supported for "
            f"{db.engine.value}; use a major from {sorted(SUPPORTED_MAJORS[db.engine])}"
        )
    problems += _instance_class_problems(db)
    problems += _topology_problems(db)
    problems += _operations_problems(db)
    problems += _window_problems(
        "backup_window", db.backup_window, "maintenance_window", db.maintenance_window
    )
    if stage == "prod":
        problems += _prod_database_problems(db)
    return problems


def _topology_problems(db: DatabaseConfig) -> list[str]:
    """Readers, replicas and storage: which engine offers what."""
    problems = []
    if not 0 <= db.readers <= MAX_AURORA_READERS:
        problems.append(f"readers: {db.readers} must be 0-{MAX_AURORA_READERS}")
    if db.engine.is_aurora:
        if db.read_replica:
            problems.append("read_replica: Aurora has readers instead; set readers=1")
        if db.multi_az and db.readers < 1:
            problems.append(
                "multi_az: Aurora fails over to a reader; set readers >= 1 or multi_az=False"
            )
        return problems
    if db.readers:
        problems.append(
            f"readers: {db.readers} readers need an Aurora engine; use read_replica=True "
            f"for {db.engine.value}"
        )
    if db.allocated_storage_gib < MIN_GP3_GIB:
        problems.append(f"allocated_storage_gib: gp3 storage starts at {MIN_GP3_GIB} GiB")
    if db.max_allocated_storage_gib < db.allocated_storage_gib:
        problems.append(
            f"max_allocated_storage_gib: {db.max_allocated_storage_gib} is below "
            f"allocated_storage_gib ({db.allocated_storage_gib}); the autoscaling ceiling "
            "must be >= it"
        )
    return problems


def _operations_problems(db: DatabaseConfig) -> list[str]:
    """Backups, monitoring and credential rotation."""
    problems = []
    if not 1 <= db.backup_retention_days <= MAX_BACKUP_DAYS:
        problems.append(
            f"backup_retention_days: {db.backup_retention_days} must be 1-{MAX_BACKUP_DAYS} "
            "(0 would switch automated backups and point-in-time recovery off)"
        )
    if db.performance_insights_retention_days not in PERFORMANCE_INSIGHTS_DAYS:
        problems.append(
            "performance_insights_retention_days: "
            f"{db.performance_insights_retention_days}; use 7, a multiple of 31 up to 713, or 731"
        )
    if db.monitoring_interval_seconds not in MONITORING_INTERVALS:
        problems.append(
            f"monitoring_interval_seconds: {db.monitoring_interval_seconds}; "
            f"use one of {sorted(MONITORING_INTERVALS)}"
        )
    if not 1 <= db.credential_rotation_days <= MAX_ROTATION_DAYS:
        problems.append(
            f"credential_rotation_days: {db.credential_rotation_days} must be 1-{MAX_ROTATION_DAYS}"
        )
    return problems


def _prod_database_problems(db: DatabaseConfig) -> list[str]:
    problems = []
    if not db.multi_az:
        problems.append(
            "multi_az: must be True in prod (a single AZ outage would stop the database)"
        )
    if db.backup_retention_days < PROD_MIN_DB_BACKUP_DAYS:
        problems.append(
            f"backup_retention_days: {db.backup_retention_days} is below prod's minimum of "
            f"{PROD_MIN_DB_BACKUP_DAYS}"
        )
    if not db.deletion_protection:
        problems.append("deletion_protection: must be True in prod")
    if db.removal_policy not in KEEPS_DATA:
        problems.append("removal_policy: must be SNAPSHOT or RETAIN in prod")
    return problems


def _instance_class_problems(db: DatabaseConfig) -> list[str]:
    match = _INSTANCE_CLASS.match(db.instance_class)
    if match is None:
        return [
            f"instance_class: {db.instance_class!r} is not an instance class such as "
            "t4g.medium (without db.)"
        ]
    family, size = match["family"], match["size"]
    families = _AURORA_FAMILIES if db.engine.is_aurora else _RDS_FAMILIES
    burstable_too_small = (
        db.engine.is_aurora and family.startswith("t") and size not in _AURORA_BURSTABLE_SIZES
    )
    if family not in families or burstable_too_small:
        example = "t4g.medium or r6g.large" if db.engine.is_aurora else "t4g.medium or m7g.large"
        return [
            f"instance_class: db.{db.instance_class} is not offered for {db.engine.value}; "
            f"use e.g. {example}"
        ]
    return []


def _cache_problems(cache: CacheConfig, stage: str) -> list[str]:
    problems = []
    if cache.engine not in CACHE_MAJORS:
        return [f"engine: {cache.engine!r}; use valkey or redis"]
    major = ".".join(cache.engine_version.split(".")[:2])
    if major not in CACHE_MAJORS[cache.engine]:
        problems.append(
            f"engine_version: {cache.engine_version!r}; {cache.engine} offers "
            f"{sorted(CACHE_MAJORS[cache.engine])}"
        )
    if not _CACHE_NODE.match(cache.node_type):
        problems.append(
            f"node_type: {cache.node_type!r} is not a node type such as cache.t4g.micro"
        )
    if not 1 <= cache.shards <= 500:  # noqa: PLR2004
        problems.append(f"shards: {cache.shards} must be 1-500")
    if not 0 <= cache.replicas_per_shard <= 5:  # noqa: PLR2004
        problems.append(f"replicas_per_shard: {cache.replicas_per_shard} must be 0-5")
    if cache.multi_az and cache.replicas_per_shard < 1:
        problems.append("multi_az: automatic failover needs replicas_per_shard >= 1")
    if not 0 <= cache.snapshot_retention_days <= MAX_BACKUP_DAYS:
        problems.append(
            f"snapshot_retention_days: {cache.snapshot_retention_days} must be 0-{MAX_BACKUP_DAYS}"
        )
    problems += _window_problems(
        "snapshot_window", cache.snapshot_window, "maintenance_window", cache.maintenance_window
    )
    if stage == "prod":
        if not cache.multi_az:
            problems.append("multi_az: must be True in prod")
        if cache.snapshot_retention_days < 1:
            problems.append("snapshot_retention_days: prod keeps at least one daily snapshot")
        if cache.removal_policy not in KEEPS_DATA:
            problems.append("removal_policy: must be SNAPSHOT or RETAIN in prod")
    return problems


def _uploads_problems(uploads: UploadsConfig) -> list[str]:
    problems = []
    ia, glacier = uploads.infrequent_access_after_days, uploads.glacier_after_days
    if ia is not None and ia < MIN_IA_DAYS:
        problems.append(
            f"infrequent_access_after_days: {ia}; S3 allows Standard-IA after {MIN_IA_DAYS} "
            "days at the earliest"
        )
    if ia is not None and glacier is not None and glacier < ia + MIN_IA_DAYS:
        problems.append(
            f"glacier_after_days: {glacier} must be at least {MIN_IA_DAYS} days after "
            f"infrequent_access_after_days ({ia}); the lifecycle days are out of order"
        )
    noncurrent = uploads.noncurrent_glacier_after_days
    if noncurrent is not None and uploads.noncurrent_expiry_days <= noncurrent:
        problems.append(
            f"noncurrent_expiry_days: {uploads.noncurrent_expiry_days} must be later than "
            f"noncurrent_glacier_after_days ({noncurrent})"
        )
    if uploads.noncurrent_expiry_days < 1:
        problems.append("noncurrent_expiry_days: must be >= 1")
    return problems


def _window_problems(name_a: str, window_a: str, name_b: str, weekly: str) -> list[str]:
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
        iv
        for day in range(7)
        for iv in _intervals(
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
