"""Disaster recovery: where replicated buckets land and recovery points are copied, in another
region.

Deployed before the data stack. Names are derived from configuration so the primary region can
address them without a reference; only the replica key's ARN (fixed for the key's lifetime)
crosses regions.
"""

from __future__ import annotations

from aws_cdk import ArnFormat
from aws_cdk import aws_backup as backup
from aws_cdk import aws_s3 as s3
from constructs import Construct

from constructs_lib.buckets import SecureBucketProps, log_bucket, secure_bucket
from constructs_lib.durations import days
from infra.config import StageConfig
from infra.stacks.base import PlatformStack, pascal, removal
from infra.stacks.data.backups import lock_configuration

LEGACY_REPLICA_IDS = {"uploads": "ReplicaBucket"}
"""The uploads replica's id from before replicas were per bucket: a stage deployed then keeps
its bucket (same name, same logical id) instead of failing on a name it already owns."""


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
        self.key = self.stage_key("ReplicaKey", "dr", "replicated buckets and copied backups")
        replicated = {n: b for n, b in cfg.buckets.items() if b.replicate_to_dr}
        # Server access logs of the replicas (none without replicas: a log bucket nobody writes).
        access_logs = (
            log_bucket(
                self,
                "AccessLogsBucket",
                retention_days=cfg.data.access_log_retention_days,
                removal_policy=removal(cfg.removal_policy),
            )
            if replicated
            else None
        )
        self.replicas = {
            name: secure_bucket(
                self,
                LEGACY_REPLICA_IDS.get(name, f"{pascal(name)}Replica"),
                SecureBucketProps(
                    bucket_name=cfg.replica_bucket_name(name),
                    encryption_key=self.key,
                    access_logs=access_logs,
                    access_logs_prefix=f"s3/{name}-dr/",
                    removal_policy=removal(cfg.removal_policy),
                    lifecycle_rules=[
                        s3.LifecycleRule(
                            id="noncurrent",
                            noncurrent_version_expiration=days(bucket.noncurrent_expire_days or 90),
                        )
                    ],
                ),
            )
            for name, bucket in replicated.items()
        }
        vault_name = cfg.resource_name("vault-dr")
        plan = cfg.data.backup
        backup.BackupVault(
            self,
            "BackupVault",
            backup_vault_name=vault_name,
            encryption_key=self.key,
            removal_policy=removal(cfg.removal_policy),
            lock_configuration=lock_configuration(plan),
            block_recovery_point_deletion=plan.vault_lock,
        )
        self.vault_arn = self.format_arn(
            service="backup",
            resource="backup-vault",
            resource_name=vault_name,  # the name, not a token: no cross-region reference
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
