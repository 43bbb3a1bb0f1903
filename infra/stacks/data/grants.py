"""Bucket access as managed policies owned by the data stack: one per bucket, access level and
prefix, shared by every role that needs it. The consumer's role attaches it, so nothing in the
data stack points at its consumers (no cycle), and no grant uses a wildcard action."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import aws_iam as iam

from constructs_lib.encryption import kms_via
from infra.config import ConfigError
from infra.config.access import BucketAccess, BucketGrant
from infra.stacks.base import pascal

if TYPE_CHECKING:
    from infra.stacks.data import DataStack

READ = ("s3:GetObject",)
WRITE = ("s3:PutObject", "s3:AbortMultipartUpload")
DELETE = ("s3:DeleteObject",)
ACTIONS = {
    BucketAccess.READ: READ,
    BucketAccess.READ_WRITE: READ + WRITE + DELETE,
    BucketAccess.WRITE: WRITE,
}


GrantKey = tuple[str, BucketAccess, str]
"""(bucket, access, prefix): one managed policy each."""


def policy_id(bucket: str, grant: BucketGrant) -> str:
    suffix = grant.prefix.strip("/").replace("/", "-")
    return f"{pascal(bucket)}{pascal(grant.access.value)}" + (f"-{suffix}" if suffix else "")


def _described(key: GrantKey) -> str:
    bucket, access, prefix = key
    return f"{access.value} on bucket {bucket}" + (f" under {prefix}" if prefix else "")


def bucket_policy(stack: DataStack, bucket: str, grant: BucketGrant) -> iam.ManagedPolicy:
    """The policy for this bucket, access level and prefix, made on first use. Two different
    grants whose ids would collide (bucket `uploads` read-write and `uploads-read` write, or
    prefixes `a/b/` and `a-b/`) are refused rather than handed each other's policy."""
    key: GrantKey = (bucket, grant.access, grant.prefix)
    if key in stack.bucket_policies:
        return stack.bucket_policies[key]
    construct_id = policy_id(bucket, grant)
    taken = stack.bucket_policy_ids.setdefault(construct_id, key)
    if taken != key:
        raise ConfigError(
            f"bucket grants ({_described(taken)}) and ({_described(key)}) would share the "
            f"managed policy {construct_id} (named "
            f"{stack.cfg.resource_name(f'bucket-{construct_id.lower()}')}): rename a bucket "
            "or change a prefix so they differ"
        )
    stack.bucket_policies[key] = policy = _policy(stack, construct_id, bucket, grant)
    return policy


def _policy(
    stack: DataStack, construct_id: str, bucket: str, grant: BucketGrant
) -> iam.ManagedPolicy:
    target = stack.buckets[bucket]
    statements = [
        iam.PolicyStatement(
            actions=list(ACTIONS[grant.access]),
            resources=[target.arn_for_objects(f"{grant.prefix}*")],
        )
    ]
    if grant.access is not BucketAccess.WRITE:
        statements.append(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[target.bucket_arn],
                conditions=(
                    {"StringLike": {"s3:prefix": f"{grant.prefix}*"}} if grant.prefix else None
                ),
            )
        )
    writes = grant.access is not BucketAccess.READ
    statements.append(
        kms_via(
            stack.key.key_arn,
            "s3",
            "kms:Decrypt",
            *(["kms:GenerateDataKey"] if writes else []),
            region=stack.region,
        )
    )
    name = construct_id.lower()
    return iam.ManagedPolicy(
        stack,
        construct_id,
        managed_policy_name=stack.cfg.resource_name(f"bucket-{name}"),
        description=f"{grant.access.value} access to the {bucket} bucket"
        + (f" under {grant.prefix}" if grant.prefix else ""),
        statements=statements,
    )
