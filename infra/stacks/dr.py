"""Disaster recovery: where uploads are replicated and recovery points copied, in another region.

Deployed before the data stack. Names are derived from configuration so the primary region can
address them without a reference; only the replica key's ARN (fixed for the key's lifetime)
crosses regions.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration
from aws_cdk import aws_backup as backup
from aws_cdk import aws_s3 as s3
from constructs import Construct

from constructs_lib.buckets import SecureBucketProps, log_bucket, secure_bucket
from infra.config import StageConfig
from infra.stacks.base import PlatformStack


class DisasterRecoveryStack(PlatformStack):
    def __init__(self, scope: Construct, cfg: StageConfig, region: str) -> None:
        super().__init__(
            scope,
            cfg,
            "dr",
            description=f"disaster-recovery copies ({region})",
            region=region,
            cross_region_references=True,
        )
        self.key = self.stage_key("ReplicaKey", "dr", "replicated uploads and copied backups")
        self.replica_bucket_name = cfg.replica_bucket_name
        access_logs = log_bucket(
            self,
            "AccessLogsBucket",
            retention_days=cfg.data.access_log_retention_days,
            removal_policy=cfg.removal_policy,
        )
        self.replica_bucket = secure_bucket(
            self,
            "ReplicaBucket",
            SecureBucketProps(
                bucket_name=self.replica_bucket_name,
                encryption_key=self.key,
                access_logs=access_logs,
                access_logs_prefix="s3/uploads-dr/",
                removal_policy=cfg.removal_policy,
                lifecycle_rules=[
                    s3.LifecycleRule(
                        id="noncurrent",
                        noncurrent_version_expiration=Duration.days(
                            cfg.data.uploads.noncurrent_expiry_days
                        ),
                    )
                ],
            ),
        )
        vault_name = cfg.resource_name("vault-dr")
        backup.BackupVault(
            self,
            "BackupVault",
            backup_vault_name=vault_name,
            encryption_key=self.key,
            removal_policy=cfg.removal_policy,
        )
        self.vault_arn = self.format_arn(
            service="backup",
            resource="backup-vault",
            resource_name=vault_name,  # the name, not a token: no cross-region reference
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
