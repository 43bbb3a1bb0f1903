"""S3 buckets with the platform's secure defaults.

Every bucket blocks public access, refuses plain HTTP and TLS < 1.2, is versioned, encrypted
(KMS unless a log-delivery service needs SSE-S3), logs its access, and is never emptied by a
custom resource on delete.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct


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


def secure_bucket(scope: Construct, construct_id: str, props: SecureBucketProps) -> s3.Bucket:
    return s3.Bucket(
        scope,
        construct_id,
        bucket_name=props.bucket_name,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        minimum_tls_version=1.2,
        versioned=True,
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
                    expiration=Duration.days(retention_days),
                    noncurrent_version_expiration=Duration.days(1),
                )
            ],
        ),
    )
