"""Data-tier configuration: bad input is rejected at synth with the field and the fix."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from aws_cdk import RemovalPolicy

from infra.config import ConfigError, StageConfig, default_stages
from infra.config.data import DatabaseConfig, DataConfig
from infra.config.primitives import DatabaseEngine


def stage(name: str, **data_changes: Any) -> StageConfig:
    cfg = default_stages()[name]
    return dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, **data_changes))


def data_part(name: str, part: str, **changes: Any) -> StageConfig:
    """The stage with one part of its data config (database, cache, uploads, backup) changed."""
    current = getattr(default_stages()[name].data, part)
    return stage(name, **{part: dataclasses.replace(current, **changes)})


def database(name: str, **changes: Any) -> StageConfig:
    return data_part(name, "database", **changes)


def cache(name: str, **changes: Any) -> StageConfig:
    return data_part(name, "cache", **changes)


def uploads(name: str, **changes: Any) -> StageConfig:
    return data_part(name, "uploads", **changes)


def backup(name: str, **changes: Any) -> StageConfig:
    return data_part(name, "backup", **changes)


BAD = [
    pytest.param(
        lambda: database("dev", backup_retention_days=0),
        "dev.data.database.backup_retention_days: 0 must be 1-35 (0 would switch automated "
        "backups and point-in-time recovery off)",
        id="backup-retention-zero",
    ),
    pytest.param(
        lambda: database("prod", multi_az=False),
        "prod.data.database.multi_az: must be True in prod",
        id="prod-single-az",
    ),
    pytest.param(
        lambda: database("prod", backup_retention_days=7),
        "prod.data.database.backup_retention_days: 7 is below prod's minimum of 14",
        id="prod-short-backups",
    ),
    pytest.param(
        lambda: database("prod", deletion_protection=False),
        "prod.data.database.deletion_protection: must be True in prod",
        id="prod-no-deletion-protection",
    ),
    pytest.param(
        lambda: database("prod", removal_policy=RemovalPolicy.DESTROY),
        "prod.data.database.removal_policy: must be SNAPSHOT or RETAIN in prod",
        id="prod-destroy-database",
    ),
    pytest.param(
        lambda: database("dev", allocated_storage_gib=100, max_allocated_storage_gib=50),
        "dev.data.database.max_allocated_storage_gib: 50 is below allocated_storage_gib (100)",
        id="max-storage-below-allocated",
    ),
    pytest.param(
        lambda: database("dev", instance_class="t3.micro", engine=DatabaseEngine.AURORA_POSTGRESQL),
        "dev.data.database.instance_class: db.t3.micro is not offered for aurora-postgresql; "
        "use e.g. t4g.medium or r6g.large",
        id="instance-class-invalid-for-engine",
    ),
    pytest.param(
        lambda: database("dev", instance_class="db.t4g.micro"),
        "dev.data.database.instance_class: 'db.t4g.micro' is not an instance class such as "
        "t4g.medium (without db.)",
        id="instance-class-with-prefix",
    ),
    pytest.param(
        lambda: database("dev", readers=1),
        "dev.data.database.readers: 1 readers need an Aurora engine; use read_replica=True",
        id="readers-without-aurora",
    ),
    pytest.param(
        lambda: database(
            "dev",
            engine=DatabaseEngine.AURORA_POSTGRESQL,
            instance_class="t4g.medium",
            read_replica=True,
        ),
        "dev.data.database.read_replica: Aurora has readers instead; set readers=1",
        id="read-replica-with-aurora",
    ),
    pytest.param(
        lambda: database(
            "staging", engine=DatabaseEngine.AURORA_POSTGRESQL, instance_class="r6g.large"
        ),
        "staging.data.database.multi_az: Aurora fails over to a reader; set readers >= 1",
        id="aurora-multi-az-without-reader",
    ),
    pytest.param(
        lambda: database("dev", engine_version="12.22"),
        "dev.data.database.engine_version: '12.22' (major 12) is not supported for postgres",
        id="unsupported-major",
    ),
    pytest.param(
        lambda: database("dev", maintenance_window="sun:18:30-sun:19:30"),
        "dev.data.database.maintenance_window: sun:18:30-sun:19:30 overlaps backup_window "
        "18:00-19:00; AWS rejects overlapping windows",
        id="windows-overlap",
    ),
    pytest.param(
        lambda: database("dev", backup_window="3am"),
        "dev.data.database.backup_window: '3am' is not hh:mm-hh:mm (UTC)",
        id="window-format",
    ),
    pytest.param(
        lambda: database("dev", performance_insights_retention_days=30),
        "dev.data.database.performance_insights_retention_days: 30; use 7, a multiple of 31",
        id="insights-retention",
    ),
    pytest.param(
        lambda: StageConfig(
            **{
                **vars(default_stages()["dev"]),
                "data": DataConfig(
                    database=DatabaseConfig(
                        engine=DatabaseEngine.AURORA_MYSQL,
                        engine_version="8.0.mysql_aurora.3.09.0",
                        instance_class="t4g.medium",
                        multi_az=False,
                    )
                ),
            }
        ),
        "dev.ports.database: 5432, but aurora-mysql listens on 3306; set them to match",
        id="port-does-not-match-engine",
    ),
    pytest.param(
        lambda: cache("prod", multi_az=False),
        "prod.data.cache.multi_az: must be True in prod",
        id="prod-cache-single-az",
    ),
    pytest.param(
        lambda: cache("staging", replicas_per_shard=0),
        "staging.data.cache.multi_az: automatic failover needs replicas_per_shard >= 1",
        id="failover-without-replica",
    ),
    pytest.param(
        lambda: cache("dev", node_type="t4g.micro"),
        "dev.data.cache.node_type: 't4g.micro' is not a node type such as cache.t4g.micro",
        id="cache-node-type",
    ),
    pytest.param(
        lambda: cache("dev", engine="memcached"),
        "dev.data.cache.engine: 'memcached'; use valkey or redis",
        id="cache-engine",
    ),
    pytest.param(
        lambda: cache("dev", engine_version="6.2"),
        "dev.data.cache.engine_version: '6.2'; valkey offers ['7.2', '8.0', '8.1']",
        id="cache-version",
    ),
    pytest.param(
        lambda: uploads("dev", infrequent_access_after_days=60, glacier_after_days=45),
        "dev.data.uploads.glacier_after_days: 45 must be at least 30 days after "
        "infrequent_access_after_days (60); the lifecycle days are out of order",
        id="lifecycle-out-of-order",
    ),
    pytest.param(
        lambda: uploads("dev", infrequent_access_after_days=7),
        "dev.data.uploads.infrequent_access_after_days: 7; S3 allows Standard-IA after 30 days",
        id="ia-too-early",
    ),
    pytest.param(
        lambda: uploads("dev", noncurrent_glacier_after_days=90, noncurrent_expiry_days=60),
        "dev.data.uploads.noncurrent_expiry_days: 60 must be later than "
        "noncurrent_glacier_after_days (90)",
        id="noncurrent-order",
    ),
    pytest.param(
        lambda: stage("prod", dr_region="ap-northeast-2"),
        "prod.data.dr_region: ap-northeast-2 is the stage region; disaster recovery needs "
        "another region",
        id="replication-to-same-region",
    ),
    pytest.param(
        lambda: uploads("dev", replicate_to_dr=True),
        "dev.data.uploads.replicate_to_dr: set dr_region to the region to copy to",
        id="replication-without-region",
    ),
    pytest.param(
        lambda: stage("prod", dr_region="ap-northeast-9"),
        "prod.data.dr_region: unknown region 'ap-northeast-9'",
        id="unknown-dr-region",
    ),
    pytest.param(
        lambda: backup("dev", daily_retention_days=0),
        "dev.data.backup.daily_retention_days: 0 keeps nothing",
        id="backup-plan-keeps-nothing",
    ),
]


@pytest.mark.parametrize(("build", "message"), BAD)
def test_bad_data_config_is_rejected(build: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build()
    assert message in str(caught.value)


def test_reference_architectures_are_expressible_as_data_config() -> None:
    """E-commerce (Aurora MySQL writer + reader), workshop (2 shards x 1 replica), meeting
    assistant (PostgreSQL 16, 20-100 GB, read replica later, replication to ap-northeast-1)."""
    prod = default_stages()["prod"]
    aurora = DatabaseConfig(
        engine=DatabaseEngine.AURORA_MYSQL,
        engine_version="8.0.mysql_aurora.3.09.0",
        instance_class="r6g.large",
        readers=1,
        backup_retention_days=14,
        parameters=(),
    )
    ecommerce = dataclasses.replace(
        prod,
        ports=dataclasses.replace(prod.ports, database=3306),
        data=dataclasses.replace(prod.data, database=aurora),
    )
    assert ecommerce.data.database.readers == 1
    workshop = cache("prod", shards=2, replicas_per_shard=1, node_type="cache.t3.medium")
    assert workshop.data.cache.shards == 2
    meeting = database(
        "prod", allocated_storage_gib=20, max_allocated_storage_gib=100, read_replica=True
    )
    assert meeting.data.dr_region == "ap-northeast-1"
