"""Buckets: the product's own (declared in config), static assets for CloudFront, access logs,
and replication of the buckets that ask for it to the disaster-recovery region."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import region_info

from constructs_lib.buckets import SecureBucketProps, log_bucket, secure_bucket
from constructs_lib.durations import days
from infra.config.buckets import BucketConfig, StorageClass
from infra.config.functions import BucketTrigger
from infra.config.services import Exposure
from infra.stacks.base import pascal, removal

if TYPE_CHECKING:
    from infra.stacks.data import DataStack
    from infra.stacks.dr import DisasterRecoveryStack

STORAGE_CLASSES = {
    StorageClass.STANDARD_IA: s3.StorageClass.INFREQUENT_ACCESS,
    StorageClass.ONEZONE_IA: s3.StorageClass.ONE_ZONE_INFREQUENT_ACCESS,
    StorageClass.INTELLIGENT_TIERING: s3.StorageClass.INTELLIGENT_TIERING,
    StorageClass.GLACIER_IR: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
    StorageClass.GLACIER: s3.StorageClass.GLACIER,
    StorageClass.DEEP_ARCHIVE: s3.StorageClass.DEEP_ARCHIVE,
}


def bucket_id(name: str) -> str:
    return f"{pascal(name)}Bucket"


@dataclass(frozen=True)
class BucketParts:
    access_logs: s3.Bucket
    assets: s3.Bucket
    buckets: dict[str, s3.Bucket]


def build_buckets(stack: DataStack, dr: DisasterRecoveryStack | None) -> BucketParts:
    cfg = stack.cfg
    # SSE-S3 and ACLs: ALB access logs require SSE-S3, CloudFront standard logs need ACLs.
    access_logs = log_bucket(
        stack,
        "AccessLogsBucket",
        retention_days=cfg.data.access_log_retention_days,
        removal_policy=removal(cfg.removal_policy),
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
    )
    _allow_load_balancer_logs(stack, access_logs)
    triggered = {
        f.trigger.bucket for f in cfg.functions.values() if isinstance(f.trigger, BucketTrigger)
    }
    replica_key = (
        kms.Key.from_key_arn(stack, "ReplicaKey", dr.key.key_arn) if dr is not None else None
    )
    buckets = {}
    for name, spec in cfg.buckets.items():
        replication = (
            _replication(stack, name, dr, replica_key)
            if spec.replicate_to_dr and dr is not None and replica_key is not None
            else None
        )
        buckets[name] = secure_bucket(
            stack,
            bucket_id(name),
            SecureBucketProps(
                encryption_key=stack.key,
                access_logs=access_logs,
                access_logs_prefix=f"s3/{name}/",
                removal_policy=removal(cfg.removal_policy),
                versioned=spec.versioned,
                lifecycle_rules=[_lifecycle(spec)],
                replication_rules=replication.rules if replication else (),
                replication_role=replication.role if replication else None,
                event_bridge=name in triggered,  # functions react through EventBridge
            ),
        )
        if replication:
            _grant_replication(stack, replication, buckets[name])
    assets = secure_bucket(
        stack,
        "AssetsBucket",
        SecureBucketProps(
            encryption_key=stack.key,
            access_logs=access_logs,
            access_logs_prefix="s3/assets/",
            removal_policy=removal(cfg.removal_policy),
            lifecycle_rules=[
                s3.LifecycleRule(id="old-builds", noncurrent_version_expiration=days(30))
            ],
        ),
    )
    _allow_cloudfront_assets(stack, assets)
    return BucketParts(access_logs, assets, buckets)


def _lifecycle(spec: BucketConfig) -> s3.LifecycleRule:
    return s3.LifecycleRule(
        id="lifecycle",
        transitions=[
            s3.Transition(
                storage_class=STORAGE_CLASSES[t.storage_class],
                transition_after=days(t.after_days),
            )
            for t in spec.transitions
        ]
        or None,
        expiration=days(spec.expire_after_days) if spec.expire_after_days else None,
        noncurrent_version_transitions=[
            s3.NoncurrentVersionTransition(
                storage_class=STORAGE_CLASSES[t.storage_class],
                transition_after=days(t.after_days),
            )
            for t in spec.noncurrent_transitions
        ]
        or None,
        noncurrent_version_expiration=(
            days(spec.noncurrent_expire_days)
            if spec.versioned and spec.noncurrent_expire_days
            else None
        ),
        abort_incomplete_multipart_upload_after=days(7),
    )


def _allow_cloudfront_assets(stack: DataStack, assets: s3.Bucket) -> None:
    """Origin Access Control: CloudFront distributions of this account may read assets and
    decrypt them. Naming the account's distributions rather than one keeps the data stack free
    of references to the CDN stack, which depends on it."""
    distributions = f"arn:{stack.partition}:cloudfront::{stack.account}:distribution/*"
    cloudfront = iam.ServicePrincipal("cloudfront.amazonaws.com")
    condition = {"ArnLike": {"AWS:SourceArn": distributions}}
    assets.add_to_resource_policy(
        iam.PolicyStatement(
            sid="CloudFrontReadAssets",
            principals=[cloudfront],
            actions=["s3:GetObject"],
            resources=[assets.arn_for_objects("*")],
            conditions=condition,
        )
    )
    stack.key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="CloudFrontDecryptAssets",
            principals=[cloudfront],
            actions=["kms:Decrypt"],
            resources=["*"],  # in a key policy, "*" means this key
            conditions={
                **condition,
                "StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"},
            },
        )
    )


def _allow_load_balancer_logs(stack: DataStack, access_logs: s3.Bucket) -> None:
    """Load balancers write access logs under alb/ (the principal AWS documents per region)."""
    account = region_info.RegionInfo.get(stack.region).elbv2_account
    principal: iam.IPrincipal = (
        iam.AccountPrincipal(account)
        if account
        else iam.ServicePrincipal("logdelivery.elasticloadbalancing.amazonaws.com")
    )
    access_logs.add_to_resource_policy(
        iam.PolicyStatement(
            sid="LoadBalancerAccessLogs",
            principals=[principal],
            actions=["s3:PutObject"],
            resources=[access_logs.arn_for_objects(f"alb/AWSLogs/{stack.account}/*")],
        )
    )
    if not stack.cfg.exposed(Exposure.NLB):
        return
    # TLS listeners of network load balancers deliver logs through the log-delivery service.
    delivery = iam.ServicePrincipal("delivery.logs.amazonaws.com")
    same_account = {"aws:SourceAccount": stack.account}
    access_logs.add_to_resource_policy(
        iam.PolicyStatement(
            sid="NetworkLoadBalancerAccessLogs",
            principals=[delivery],
            actions=["s3:PutObject"],
            resources=[access_logs.arn_for_objects(f"nlb/AWSLogs/{stack.account}/*")],
            conditions={
                "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", **same_account}
            },
        )
    )
    access_logs.add_to_resource_policy(
        iam.PolicyStatement(
            sid="NetworkLoadBalancerAclCheck",
            principals=[delivery],
            actions=["s3:GetBucketAcl"],
            resources=[access_logs.bucket_arn],
            conditions={"StringEquals": same_account},
        )
    )


@dataclass(frozen=True)
class _Replication:
    rules: list[s3.ReplicationRule]
    role: iam.Role
    policy: iam.ManagedPolicy
    replica: s3.IBucket
    replica_key: kms.IKey


def _replication(
    stack: DataStack, name: str, dr: DisasterRecoveryStack, replica_key: kms.IKey
) -> _Replication:
    """Replication to the DR bucket with a role that can do exactly that and nothing more."""
    prefix = pascal(name)
    replica = s3.Bucket.from_bucket_attributes(
        stack,
        f"{prefix}Replica",
        bucket_name=stack.cfg.replica_bucket_name(name),
        region=dr.region,
        account=stack.account,
    )
    role = iam.Role(
        stack,
        f"{prefix}ReplicationRole",
        assumed_by=iam.ServicePrincipal(
            "s3.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
        ),
        description=f"Replicates {name} to the disaster-recovery region",
    )
    rules = [
        s3.ReplicationRule(
            id="disaster-recovery",
            priority=1,
            destination=replica,
            kms_key=replica_key,
            sse_kms_encrypted_objects=True,
            delete_marker_replication=True,
            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
        )
    ]
    policy = iam.ManagedPolicy(stack, f"{prefix}ReplicationPolicy", roles=[role])
    return _Replication(rules, role, policy, replica, replica_key)


def _grant_replication(stack: DataStack, replication: _Replication, source: s3.Bucket) -> None:
    """Statements from the S3 replication guide, scoped to these two buckets and keys."""
    replica, replica_key = replication.replica, replication.replica_key
    statements = [
        (["s3:GetReplicationConfiguration", "s3:ListBucket"], [source.bucket_arn], None),
        (
            [
                "s3:GetObjectVersionForReplication",
                "s3:GetObjectVersionAcl",
                "s3:GetObjectVersionTagging",
            ],
            [source.arn_for_objects("*")],
            None,
        ),
        (
            ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
            [replica.arn_for_objects("*")],
            None,
        ),
        (["kms:Decrypt"], [stack.key.key_arn], f"s3.{stack.region}.amazonaws.com"),
        (["kms:Encrypt"], [replica_key.key_arn], f"s3.{replica.env.region}.amazonaws.com"),
    ]
    for actions, resources, via in statements:
        replication.policy.add_statements(
            iam.PolicyStatement(
                actions=actions,
                resources=resources,
                conditions={"StringEquals": {"kms:ViaService": via}} if via else None,
            )
        )
