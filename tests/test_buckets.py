"""Buckets and backups: private, encrypted, versioned and logged buckets with their configured
lifecycles; prod replicates uploads and copies every backup to the DR region."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import STAGES
from tests.stacks import profile_stages
from tests.synth import Synthesized, Template, resources
from tests.templates import deletion_policy, key_ref, mentions, one

CONFIGS = {cfg.construct_id: cfg for cfg in profile_stages("default")}
ELB_ACCOUNT = "600734575887"  # Elastic Load Balancing's log writer in ap-northeast-2


def buckets(template: Template) -> dict[str, tuple[str, dict[str, Any]]]:
    """Bucket construct name (uploads, access-logs...) -> (logical id, resource)."""
    found = {}
    for lid, bucket in resources(template, "AWS::S3::Bucket").items():
        name = lid[:-8].removesuffix("Bucket")  # the hash CDK appends is 8 characters
        kebab = "".join(f"-{c.lower()}" if c.isupper() else c for c in name).lstrip("-")
        found[kebab] = (lid, bucket)
    return found


@pytest.mark.parametrize("stage", STAGES)
def test_buckets_are_private_encrypted_versioned_and_logged(
    platform: Synthesized, stage: str
) -> None:
    cfg = CONFIGS[stage]
    template = platform.template(stage, "data")
    found = buckets(template)
    assert set(found) == {"access-logs", "assets", *cfg.buckets} == {
        "access-logs", "assets", "uploads", "backups"
    }  # fmt: skip
    logs_id, _ = found["access-logs"]
    for name, (_, bucket) in found.items():
        props = bucket["Properties"]
        assert set(props["PublicAccessBlockConfiguration"].values()) == {True}, name
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}, name
        (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        default = rule["ServerSideEncryptionByDefault"]
        if name == "access-logs":  # S3 server access logging cannot write to SSE-KMS
            assert default == {"SSEAlgorithm": "AES256"}
        else:
            assert default == {
                "SSEAlgorithm": "aws:kms",
                "KMSMasterKeyID": key_ref(template, "data"),
            }
            assert props["LoggingConfiguration"] == {
                "DestinationBucketName": {"Ref": logs_id},
                "LogFilePrefix": f"s3/{name}/",
            }
        assert bucket["DeletionPolicy"] == deletion_policy(cfg.removal_policy), name
    assert "Custom::S3AutoDeleteObjects" not in str(template)


@pytest.mark.parametrize("stage", STAGES)
def test_bucket_policies_require_tls_1_2(platform: Synthesized, stage: str) -> None:
    template = platform.template(stage, "data")
    policies = resources(template, "AWS::S3::BucketPolicy").values()
    assert {p["Properties"]["Bucket"]["Ref"] for p in policies} == set(
        resources(template, "AWS::S3::Bucket")
    )
    for policy in policies:
        denials = [
            s["Condition"]
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
            if s["Effect"] == "Deny"
        ]
        assert denials == [
            {"Bool": {"aws:SecureTransport": "false"}},
            {"NumericLessThan": {"s3:TlsVersion": 1.2}},
        ]


def _rule(template: Template, name: str) -> dict[str, Any]:
    _, bucket = buckets(template)[name]
    (rule,) = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    return rule  # type: ignore[no-any-return]


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("name", ["uploads", "backups"])
def test_lifecycles_follow_config(platform: Synthesized, stage: str, name: str) -> None:
    declared = CONFIGS[stage].buckets[name]
    rule = _rule(platform.template(stage, "data"), name)
    assert rule["Status"] == "Enabled"
    assert [(t["StorageClass"], t["TransitionInDays"]) for t in rule.get("Transitions", [])] == [
        (t.storage_class, t.after_days) for t in declared.transitions
    ]
    assert rule.get("ExpirationInDays") == declared.expire_after_days
    assert [
        (t["StorageClass"], t["TransitionInDays"])
        for t in rule.get("NoncurrentVersionTransitions", [])
    ] == [(t.storage_class, t.after_days) for t in declared.noncurrent_transitions]
    assert rule["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": declared.noncurrent_expire_days
    }
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}


def test_the_default_lifecycles_are_the_plan(platform: Synthesized) -> None:
    uploads = _rule(platform.template("Prod", "data"), "uploads")
    assert [(t["StorageClass"], t["TransitionInDays"]) for t in uploads["Transitions"]] == [
        ("STANDARD_IA", 30),
        ("GLACIER", 90),
    ]
    assert uploads["NoncurrentVersionExpiration"] == {"NoncurrentDays": 90}
    backups = _rule(platform.template("Prod", "data"), "backups")
    assert backups["ExpirationInDays"] == 365


@pytest.mark.parametrize("stage", STAGES)
def test_access_log_bucket_accepts_load_balancer_and_s3_logs(
    platform: Synthesized, stage: str
) -> None:
    cfg = CONFIGS[stage]
    template = platform.template(stage, "data")
    logs_id, logs = buckets(template)["access-logs"]
    props = logs["Properties"]
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerPreferred"}]
    (expire,) = props["LifecycleConfiguration"]["Rules"]
    assert expire["ExpirationInDays"] == cfg.data.access_log_retention_days
    (policy,) = [
        p
        for p in resources(template, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": logs_id}
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    (alb,) = [s for s in statements if s.get("Sid") == "LoadBalancerAccessLogs"]
    assert alb["Principal"] == {"AWS": f"arn:aws:iam::{ELB_ACCOUNT}:root"}
    assert alb["Action"] == "s3:PutObject"
    writers = [
        s for s in statements if s.get("Principal") == {"Service": "logging.s3.amazonaws.com"}
    ]
    sources = {
        lid
        for s in writers
        for lid, _ in buckets(template).values()
        if mentions(s["Condition"]["ArnLike"], lid)
    }
    assert sources == {lid for name, (lid, _) in buckets(template).items() if name != "access-logs"}
    for writer in writers:
        assert writer["Condition"]["StringEquals"] == {"aws:SourceAccount": cfg.account}


def test_prod_uploads_replicate_to_the_dr_region(platform: Synthesized) -> None:
    prod = CONFIGS["Prod"]
    replica_name = prod.replica_bucket_name("uploads")
    assert replica_name == "webplat-prod-uploads-dr-000000000000-ap-northeast-1"
    _, uploads = buckets(platform.template("Prod", "data"))["uploads"]
    (rule,) = uploads["Properties"]["ReplicationConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled"
    destination = rule["Destination"]
    assert destination["Bucket"] == f"arn:aws:s3:::{replica_name}"
    assert "ReplicaKey" in str(destination["EncryptionConfiguration"]["ReplicaKmsKeyID"])
    assert rule["SourceSelectionCriteria"]["SseKmsEncryptedObjects"] == {"Status": "Enabled"}
    assert rule["DeleteMarkerReplication"] == {"Status": "Enabled"}
    dr = platform.by_key[("Prod", "dr")]
    assert dr.region == prod.data.dr_region == "ap-northeast-1"
    (replica,) = [
        b
        for b in resources(dr.template, "AWS::S3::Bucket").values()
        if "BucketName" in b["Properties"]
    ]
    props = replica["Properties"]
    assert props["BucketName"] == replica_name
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    (encryption,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert set(props["PublicAccessBlockConfiguration"].values()) == {True}
    for stage in ("Dev", "Staging"):
        assert not CONFIGS[stage].has_dr
        _, bucket = buckets(platform.template(stage, "data"))["uploads"]
        assert "ReplicationConfiguration" not in bucket["Properties"]


@pytest.mark.parametrize("stage", STAGES)
def test_backup_plan(platform: Synthesized, stage: str) -> None:
    cfg = CONFIGS[stage]
    plan_cfg = cfg.data.backup
    template = platform.template(stage, "data")
    vault = one(template, "AWS::Backup::BackupVault")["Properties"]
    assert vault["BackupVaultName"] == f"webplat-{stage.lower()}-vault"
    assert vault["EncryptionKeyArn"] == key_ref(template, "backup")
    plan = one(template, "AWS::Backup::BackupPlan")["Properties"]["BackupPlan"]
    rules = {r["RuleName"]: r for r in plan["BackupPlanRule"]}
    kept = {
        "Daily": plan_cfg.daily_retention_days,
        "Weekly": plan_cfg.weekly_retention_days,
        "Monthly": plan_cfg.monthly_retention_days,
    }
    assert {name: r["Lifecycle"]["DeleteAfterDays"] for name, r in rules.items()} == {
        name: days for name, days in kept.items() if days
    }
    assert rules["Daily"]["EnableContinuousBackup"] is plan_cfg.continuous is True
    dr_vault = (
        f"arn:aws:backup:{cfg.data.dr_region}:{cfg.account}:backup-vault:"
        f"webplat-{stage.lower()}-vault-dr"
    )
    for rule in rules.values():
        copies = rule.get("CopyActions", [])
        assert copies == (
            [{"DestinationBackupVaultArn": dr_vault, "Lifecycle": rule["Lifecycle"]}]
            if plan_cfg.copy_to_dr
            else []
        )
    selection = one(template, "AWS::Backup::BackupSelection")["Properties"]["BackupSelection"]
    selected = selection["Resources"]
    (database,) = resources(template, "AWS::RDS::DBInstance")
    backed_up = {
        lid
        for name, (lid, _) in buckets(template).items()
        if name in cfg.buckets and cfg.buckets[name].backup
    }
    assert backed_up == {buckets(template)["uploads"][0]}
    assert len(selected) == 1 + len(backed_up)
    assert mentions(selected, database)
    assert all(mentions(selected, lid) for lid in backed_up)


# (daily, weekly, monthly) days kept, and whether recovery points are copied to DR.
PLANNED_RETENTION = {
    "Dev": ({"Daily": 7}, False),
    "Staging": ({"Daily": 14}, False),
    "Prod": ({"Daily": 35, "Weekly": 90, "Monthly": 365}, True),
}


@pytest.mark.parametrize("stage", STAGES)
def test_backup_retention_per_stage(platform: Synthesized, stage: str) -> None:
    expected, copies = PLANNED_RETENTION[stage]
    plan = one(platform.template(stage, "data"), "AWS::Backup::BackupPlan")["Properties"]
    rules = {r["RuleName"]: r for r in plan["BackupPlan"]["BackupPlanRule"]}
    assert {n: r["Lifecycle"]["DeleteAfterDays"] for n, r in rules.items()} == expected
    assert all(bool(r.get("CopyActions")) is copies for r in rules.values())


def test_prod_copies_daily_backups_to_the_dr_vault(platform: Synthesized) -> None:
    plan = one(platform.template("Prod", "data"), "AWS::Backup::BackupPlan")["Properties"]
    daily = next(r for r in plan["BackupPlan"]["BackupPlanRule"] if r["RuleName"] == "Daily")
    (copy,) = daily["CopyActions"]
    assert copy == {
        "DestinationBackupVaultArn": (
            "arn:aws:backup:ap-northeast-1:000000000000:backup-vault:webplat-prod-vault-dr"
        ),
        "Lifecycle": {"DeleteAfterDays": 35},
    }
    dr_vault = one(platform.template("Prod", "dr"), "AWS::Backup::BackupVault")["Properties"]
    assert dr_vault["BackupVaultName"] == "webplat-prod-vault-dr"


@pytest.mark.parametrize("stage", STAGES)
def test_backup_role_can_back_up_s3(platform: Synthesized, stage: str) -> None:
    role = one(platform.template(stage, "data"), "AWS::IAM::Role", "BackupRole")
    arns = str(role["Properties"]["ManagedPolicyArns"])
    for policy in (
        "AWSBackupServiceRolePolicyForS3Backup",
        "AWSBackupServiceRolePolicyForS3Restore",
        "service-role/AWSBackupServiceRolePolicyForBackup",
    ):
        assert policy in arns


def test_prod_vaults_are_locked_and_refuse_deletion(platform: Synthesized) -> None:
    for stack in ("data", "dr"):
        vault = one(platform.template("Prod", stack), "AWS::Backup::BackupVault")["Properties"]
        assert vault["LockConfiguration"] == {"ChangeableForDays": 3, "MinRetentionDays": 7}
        (denied,) = vault["AccessPolicy"]["Statement"]
        assert denied["Effect"] == "Deny"
        assert denied["Action"] == [
            "backup:DeleteRecoveryPoint",
            "backup:UpdateRecoveryPointLifecycle",
        ]
    dev_vault = one(platform.template("Dev", "data"), "AWS::Backup::BackupVault")["Properties"]
    assert "LockConfiguration" not in dev_vault
