"""S3 buckets with the platform's secure defaults.

Every bucket blocks public access, refuses plain HTTP and TLS < 1.2, is versioned (unless told
otherwise), encrypted
(KMS unless a log-delivery service needs SSE-S3), logs its access, and is never emptied by a
custom resource on delete.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from constructs_lib.durations import days


@dataclass(frozen=True)
class SecureBucketProps:
    encryption_key: kms.IKey | None
    """None means SSE-S3: only for buckets that AWS log delivery writes to."""
    access_logs: s3.IBucket | None
    """Where this bucket's server access logs go; None only for the access-log bucket itself."""
    access_logs_prefix: str = ""
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN
    lifecycle_rules: Sequence[s3.LifecycleRule] = field(default_factory=tuple)
    object_ownership: s3.ObjectOwnership = s3.ObjectOwnership.BUCKET_OWNER_ENFORCED
    bucket_name: str | None = None
    """Only where another region must know the name in advance (replication target)."""
    replication_rules: Sequence[s3.ReplicationRule] = field(default_factory=tuple)
    replication_role: iam.IRole | None = None
    """Required with replication rules: CDK's generated role uses an inline, wildcard policy."""
    versioned: bool = True
    event_bridge: bool = False
    """Send object events to EventBridge (functions react to uploads without a stack cycle)."""
    object_lock_days: int | None = None
    """Compliance-mode object lock: no version can be deleted or overwritten for this long."""


def secure_bucket(scope: Construct, construct_id: str, props: SecureBucketProps) -> s3.Bucket:
    bucket = s3.Bucket(
        scope,
        construct_id,
        bucket_name=props.bucket_name,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        minimum_tls_version=1.2,
        versioned=props.versioned or props.object_lock_days is not None,
        object_lock_enabled=props.object_lock_days is not None or None,
        object_lock_default_retention=(
            s3.ObjectLockRetention.compliance(days(props.object_lock_days))
            if props.object_lock_days is not None
            else None
        ),
        encryption=s3.BucketEncryption.KMS
        if props.encryption_key
        else s3.BucketEncryption.S3_MANAGED,
        encryption_key=props.encryption_key,
        bucket_key_enabled=props.encryption_key is not None,  # fewer KMS calls, lower cost
        server_access_logs_bucket=props.access_logs,
        server_access_logs_prefix=props.access_logs_prefix or None,
        object_ownership=props.object_ownership,
        lifecycle_rules=list(props.lifecycle_rules),
        replication_rules=list(props.replication_rules) or None,
        replication_role=props.replication_role,
        removal_policy=props.removal_policy,
        auto_delete_objects=False,
    )
    if props.event_bridge:
        # On the bucket itself: the L2 switch adds a custom resource (a Lambda function and an
        # inline wildcard policy) to do what CloudFormation does natively.
        cfn = bucket.node.default_child
        assert isinstance(cfn, s3.CfnBucket)
        cfn.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(
                event_bridge_enabled=True
            )
        )
    return bucket


def log_bucket(
    scope: Construct,
    construct_id: str,
    *,
    retention_days: int,
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    object_ownership: s3.ObjectOwnership = s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
) -> s3.Bucket:
    """A target for access logs: SSE-S3 (log delivery cannot use KMS), not logged itself,
    logs expire after `retention_days` and overwritten versions after a day."""
    return secure_bucket(
        scope,
        construct_id,
        SecureBucketProps(
            encryption_key=None,
            access_logs=None,
            removal_policy=removal_policy,
            object_ownership=object_ownership,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-logs",
                    expiration=days(retention_days),
                    noncurrent_version_expiration=days(1),
                )
            ],
        ),
    )
