"""Data stack guarantees, per stage, read from the synthesized templates."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.config import default_stages
from tests.conftest import STAGES
from tests.synth import Synthesized, Template, resources

CONFIGS = {cfg.construct_id: cfg for cfg in default_stages().values()}
KEPT = {"Dev": "Delete", "Staging": "Snapshot", "Prod": "Snapshot"}


def data(platform: Synthesized, stage: str) -> Template:
    return platform.template(stage, "data")


def one(template: Template, resource_type: str) -> dict[str, Any]:
    (resource,) = resources(template, resource_type).values()
    return resource


def key_id(template: Template, alias_suffix: str) -> str:
    for alias in resources(template, "AWS::KMS::Alias").values():
        if alias["Properties"]["AliasName"].endswith(alias_suffix):
            return str(alias["Properties"]["TargetKeyId"]["Fn::GetAtt"][0])
    raise AssertionError(f"no key aliased *{alias_suffix}")


def by_key(template: Template, alias_suffix: str) -> dict[str, str]:
    return {"Fn::GetAtt": [key_id(template, alias_suffix), "Arn"]}  # type: ignore[dict-item]


@pytest.mark.parametrize("stage", STAGES)
def test_postgres_instance(platform: Synthesized, stage: str) -> None:
    template, db = data(platform, stage), CONFIGS[stage].data.database
    instance = one(template, "AWS::RDS::DBInstance")
    props = instance["Properties"]
    assert props["Engine"] == "postgres"
    assert props["EngineVersion"] == db.engine_version
    assert props["DBInstanceClass"] == f"db.{db.instance_class}"
    assert props["MultiAZ"] is db.multi_az
    assert props["StorageType"] == "gp3"
    assert (props["AllocatedStorage"], props["MaxAllocatedStorage"]) == (
        str(db.allocated_storage_gib),
        db.max_allocated_storage_gib,
    )
    assert props["StorageEncrypted"] is True
    assert props["KmsKeyId"] == by_key(template, "-data")
    assert props["EnableIAMDatabaseAuthentication"] is True
    assert props["EnablePerformanceInsights"] is True
    assert props["PerformanceInsightsKMSKeyId"] == by_key(template, "-data")
    assert props["MonitoringInterval"] == 60
    assert props["EnableCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    assert props["BackupRetentionPeriod"] == db.backup_retention_days
    assert props["PreferredBackupWindow"] == db.backup_window
    assert props["PreferredMaintenanceWindow"] == db.maintenance_window
    assert props["DeletionProtection"] is db.deletion_protection
    assert props["DeleteAutomatedBackups"] is False
    assert props["PubliclyAccessible"] is False
    assert instance["DeletionPolicy"] == instance["UpdateReplacePolicy"] == KEPT[stage]
    (group,) = props["VPCSecurityGroups"]
    assert "SecurityGroupsdatabase" in json.dumps(group)  # the matrix's database group


@pytest.mark.parametrize("stage", STAGES)
def test_database_forces_tls(platform: Synthesized, stage: str) -> None:
    parameters = one(data(platform, stage), "AWS::RDS::DBParameterGroup")["Properties"]
    assert parameters["Parameters"]["rds.force_ssl"] == "1"
    assert parameters["Parameters"]["max_connections"] == "200"


@pytest.mark.parametrize("stage", STAGES)
def test_master_secret_is_encrypted_kept_and_rotated(platform: Synthesized, stage: str) -> None:
    template = data(platform, stage)
    secrets = resources(template, "AWS::SecretsManager::Secret")
    assert len(secrets) == 4  # database master, cache AUTH token, app secrets, origin header
    for secret in secrets.values():
        assert secret["Properties"]["KmsKeyId"] == by_key(template, "-data")
        assert secret["DeletionPolicy"] == ("Delete" if stage == "Dev" else "Retain")
    rotation = one(template, "AWS::SecretsManager::RotationSchedule")["Properties"]
    assert rotation["RotationRules"]["ScheduleExpression"] == "rate(30 days)"
    hosted = rotation["HostedRotationLambda"]
    assert hosted["RotationType"] == "PostgreSQLSingleUser"
    assert "SecurityGroupsrotation" in json.dumps(hosted["VpcSecurityGroupIds"])
    assert template["Transform"].startswith("AWS::SecretsManager-")  # hosted rotation


@pytest.mark.parametrize("stage", STAGES)
def test_log_groups_exist_before_rds_and_cache_write_to_them(
    platform: Synthesized, stage: str
) -> None:
    template = data(platform, stage)
    names = {
        lg["Properties"]["LogGroupName"]: lg
        for lg in resources(template, "AWS::Logs::LogGroup").values()
    }
    expected = {
        "/aws/rds/instance/webplat-{s}-db/postgresql",
        "/aws/rds/instance/webplat-{s}-db/upgrade",
        "/webplat/{s}/cache/slow-log",
        "/webplat/{s}/cache/engine-log",
    }
    assert set(names) == {name.format(s=stage.lower()) for name in expected}
    for log_group in names.values():
        assert log_group["Properties"]["KmsKeyId"] == by_key(template, "-data")
        assert log_group["Properties"]["RetentionInDays"] == CONFIGS[stage].log_retention_days


@pytest.mark.parametrize("stage", STAGES)
def test_cache(platform: Synthesized, stage: str) -> None:
    template, cache = data(platform, stage), CONFIGS[stage].data.cache
    group = one(template, "AWS::ElastiCache::ReplicationGroup")
    props = group["Properties"]
    assert (props["Engine"], props["EngineVersion"]) == (cache.engine, cache.engine_version)
    assert props["CacheNodeType"] == cache.node_type
    assert props["ReplicasPerNodeGroup"] == cache.replicas_per_shard
    assert props["MultiAZEnabled"] is cache.multi_az
    assert props["AutomaticFailoverEnabled"] is (cache.replicas_per_shard > 0)
    assert props["TransitEncryptionEnabled"] is True
    assert props["TransitEncryptionMode"] == "required"
    assert props["AtRestEncryptionEnabled"] is True
    assert props["KmsKeyId"] == by_key(template, "-data")
    assert "{{resolve:secretsmanager:" in json.dumps(props["AuthToken"])  # never a literal
    assert props["SnapshotRetentionLimit"] == cache.snapshot_retention_days
    assert {c["LogType"] for c in props["LogDeliveryConfigurations"]} == {"slow-log", "engine-log"}
    assert group["DeletionPolicy"] == KEPT[stage]


def buckets(template: Template) -> dict[str, dict[str, Any]]:
    return {
        lid.rstrip("0123456789ABCDEF"): b
        for lid, b in resources(template, "AWS::S3::Bucket").items()
    }


@pytest.mark.parametrize("stage", STAGES)
def test_buckets_are_private_encrypted_versioned_and_logged(
    platform: Synthesized, stage: str
) -> None:
    template = data(platform, stage)
    found = buckets(template)
    assert set(found) == {"AccessLogsBucket", "UploadsBucket", "AssetsBucket", "BackupsBucket"}
    logs_bucket_id = next(
        lid for lid in resources(template, "AWS::S3::Bucket") if lid.startswith("AccessLogs")
    )
    for name, bucket in found.items():
        props = bucket["Properties"]
        assert set(props["PublicAccessBlockConfiguration"].values()) == {True}
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
        (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        algorithm = rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"]
        assert algorithm == ("AES256" if name == "AccessLogsBucket" else "aws:kms"), name
        if name != "AccessLogsBucket":
            assert props["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": logs_bucket_id}
        assert bucket["DeletionPolicy"] == ("Delete" if stage == "Dev" else "Retain")
    assert "Custom::S3AutoDeleteObjects" not in json.dumps(template)


@pytest.mark.parametrize("stage", STAGES)
def test_bucket_policies_require_tls_1_2(platform: Synthesized, stage: str) -> None:
    policies = resources(data(platform, stage), "AWS::S3::BucketPolicy").values()
    assert len(policies) == 4
    for policy in policies:
        conditions = [
            s.get("Condition", {})
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
            if s["Effect"] == "Deny"
        ]
        assert {"Bool": {"aws:SecureTransport": "false"}} in conditions
        assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in conditions


@pytest.mark.parametrize("stage", STAGES)
def test_uploads_lifecycle_follows_config(platform: Synthesized, stage: str) -> None:
    uploads = CONFIGS[stage].data.uploads
    (rule,) = buckets(data(platform, stage))["UploadsBucket"]["Properties"][
        "LifecycleConfiguration"
    ]["Rules"]
    assert [(t["StorageClass"], t["TransitionInDays"]) for t in rule["Transitions"]] == [
        ("STANDARD_IA", uploads.infrequent_access_after_days),
        ("GLACIER", uploads.glacier_after_days),
    ]
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == uploads.noncurrent_expiry_days


@pytest.mark.parametrize("stage", STAGES)
def test_access_log_bucket_accepts_load_balancer_and_cloudfront_logs(
    platform: Synthesized, stage: str
) -> None:
    template = data(platform, stage)
    props = buckets(template)["AccessLogsBucket"]["Properties"]
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerPreferred"}]
    statements = [
        s
        for p in resources(template, "AWS::S3::BucketPolicy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    (alb,) = [s for s in statements if s.get("Sid") == "LoadBalancerAccessLogs"]
    assert "600734575887" in json.dumps(alb["Principal"])  # ELB's account in ap-northeast-2


def test_prod_uploads_replicate_to_the_dr_region(platform: Synthesized) -> None:
    prod = CONFIGS["Prod"]
    props = buckets(data(platform, "Prod"))["UploadsBucket"]["Properties"]
    (rule,) = props["ReplicationConfiguration"]["Rules"]
    destination = rule["Destination"]
    assert destination["Bucket"] == f"arn:aws:s3:::{prod.replica_bucket_name}"
    assert "ReplicaKmsKeyID" in destination["EncryptionConfiguration"]
    assert rule["SourceSelectionCriteria"]["SseKmsEncryptedObjects"] == {"Status": "Enabled"}
    dr = platform.template("Prod", "dr")
    (replica,) = [
        b for b in resources(dr, "AWS::S3::Bucket").values() if b["Properties"].get("BucketName")
    ]
    assert replica["Properties"]["BucketName"] == prod.replica_bucket_name
    assert replica["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    for stage in ("Dev", "Staging"):
        assert (
            "ReplicationConfiguration"
            not in buckets(data(platform, stage))["UploadsBucket"]["Properties"]
        )


@pytest.mark.parametrize("stage", STAGES)
def test_backup_plan(platform: Synthesized, stage: str) -> None:
    template, plan_cfg = data(platform, stage), CONFIGS[stage].data.backup
    vault = one(template, "AWS::Backup::BackupVault")
    assert vault["Properties"]["EncryptionKeyArn"] == by_key(template, "-backup")
    assert key_id(template, "-backup") != key_id(template, "-data")  # backups outlive a lost key
    rules = {
        r["RuleName"]: r
        for r in one(template, "AWS::Backup::BackupPlan")["Properties"]["BackupPlan"][
            "BackupPlanRule"
        ]
    }
    assert rules["Daily"]["Lifecycle"]["DeleteAfterDays"] == plan_cfg.daily_retention_days
    assert rules["Daily"]["EnableContinuousBackup"] is True
    optional = {
        "Weekly": plan_cfg.weekly_retention_days,
        "Monthly": plan_cfg.monthly_retention_days,
    }
    assert set(rules) == {"Daily"} | {name for name, days in optional.items() if days}
    copies = [c for r in rules.values() for c in r.get("CopyActions", [])]
    assert bool(copies) is plan_cfg.copy_to_dr
    selection = one(template, "AWS::Backup::BackupSelection")["Properties"]["BackupSelection"]
    text = json.dumps(selection["Resources"])
    assert "DatabaseB269D8BB" in text  # the database
    assert "UploadsBucket" in text


def test_prod_keeps_35_days_of_daily_backups_and_copies_them(platform: Synthesized) -> None:
    rules = one(data(platform, "Prod"), "AWS::Backup::BackupPlan")["Properties"]["BackupPlan"][
        "BackupPlanRule"
    ]
    daily = next(r for r in rules if r["RuleName"] == "Daily")
    assert daily["Lifecycle"]["DeleteAfterDays"] == 35
    (copy,) = daily["CopyActions"]
    assert (
        copy["DestinationBackupVaultArn"]
        == "arn:aws:backup:ap-northeast-1:000000000000:backup-vault:webplat-prod-vault-dr"
    )


@pytest.mark.parametrize("stage", STAGES)
def test_every_key_rotates(platform: Synthesized, stage: str) -> None:
    for stack in platform.stacks:
        if stack.stage == stage:
            for key in resources(stack.template, "AWS::KMS::Key").values():
                assert key["Properties"]["EnableKeyRotation"] is True
