"""Data-tier configuration: database, cache, buckets, backups, disaster recovery."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import RemovalPolicy

from infra.config.primitives import DatabaseEngine


@dataclass(frozen=True)
class DatabaseConfig:
    engine: DatabaseEngine = DatabaseEngine.POSTGRES
    engine_version: str = "16.9"
    """Full engine version: 16.9 (PostgreSQL), 8.0.mysql_aurora.3.09.0 (Aurora MySQL)."""
    instance_class: str = "t4g.medium"
    """Without the `db.` prefix; also the Aurora writer and readers."""
    allocated_storage_gib: int = 20
    max_allocated_storage_gib: int = 100
    """Storage autoscaling ceiling (instance engine)."""
    multi_az: bool = True
    """Standby in a second AZ (instance) or at least one reader in another AZ (Aurora)."""
    readers: int = 0
    """Aurora reader instances."""
    read_replica: bool = False
    """One read replica (instance engine)."""
    database_name: str = "app"
    backup_retention_days: int = 7
    backup_window: str = "18:00-19:00"
    """UTC, hh:mm-hh:mm (03:00-04:00 in Seoul)."""
    maintenance_window: str = "sun:19:00-sun:20:00"
    """UTC, ddd:hh:mm-ddd:hh:mm; must not overlap the backup window."""
    parameters: tuple[tuple[str, str], ...] = (("max_connections", "200"),)
    performance_insights_retention_days: int = 7
    monitoring_interval_seconds: int = 60
    credential_rotation_days: int = 30
    deletion_protection: bool = True
    removal_policy: RemovalPolicy = RemovalPolicy.SNAPSHOT


@dataclass(frozen=True)
class CacheConfig:
    engine: str = "valkey"
    """valkey or redis."""
    engine_version: str = "8.0"
    node_type: str = "cache.t4g.micro"
    shards: int = 1
    """More than one enables cluster mode."""
    replicas_per_shard: int = 1
    multi_az: bool = True
    """Automatic failover to a replica in another AZ; needs replicas_per_shard >= 1."""
    snapshot_retention_days: int = 5
    snapshot_window: str = "17:00-18:00"
    maintenance_window: str = "sun:20:00-sun:21:00"
    removal_policy: RemovalPolicy = RemovalPolicy.SNAPSHOT


@dataclass(frozen=True)
class UploadsConfig:
    """Lifecycle of the uploads bucket; None leaves a transition out."""

    infrequent_access_after_days: int | None = 30
    glacier_after_days: int | None = 90
    noncurrent_glacier_after_days: int | None = 30
    noncurrent_expiry_days: int = 90
    replicate_to_dr: bool = False
    """Copy every object to a bucket in `DataConfig.dr_region`."""


@dataclass(frozen=True)
class BackupConfig:
    daily_retention_days: int = 35
    weekly_retention_days: int = 0
    """0 disables the rule."""
    monthly_retention_days: int = 0
    copy_to_dr: bool = False
    """Copy every recovery point to a vault in `DataConfig.dr_region`."""


@dataclass(frozen=True)
class DataConfig:
    database: DatabaseConfig = DatabaseConfig()
    cache: CacheConfig = CacheConfig()
    uploads: UploadsConfig = UploadsConfig()
    backup: BackupConfig = BackupConfig()
    access_log_retention_days: int = 365
    backups_bucket_glacier_after_days: int = 90
    backups_bucket_expiry_days: int = 365
    dr_region: str | None = None
    """Region of the DR stack (replica bucket, backup copy vault); None: no DR stack."""

    @property
    def has_dr(self) -> bool:
        return self.dr_region is not None and (
            self.uploads.replicate_to_dr or self.backup.copy_to_dr
        )
