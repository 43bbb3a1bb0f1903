"""Bucket access as managed policies owned by the data stack: one per bucket, access level and
prefix, shared by every role that needs it. The consumer's role attaches it, so nothing in the
data stack points at its consumers (no cycle), and no grant uses a wildcard action."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import aws_iam as iam

from infra.config.access import BucketAccess, BucketGrant
from infra.stacks.data.buckets import pascal

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


def policy_id(bucket: str, grant: BucketGrant) -> str:
    suffix = grant.prefix.strip("/").replace("/", "-")
    return f"{pascal(bucket)}{pascal(grant.access.value)}" + (f"-{suffix}" if suffix else "")


def bucket_policy(stack: DataStack, bucket: str, grant: BucketGrant) -> iam.ManagedPolicy:
    construct_id = policy_id(bucket, grant)
    existing = stack.node.try_find_child(construct_id)
    if isinstance(existing, iam.ManagedPolicy):
        return existing
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
        iam.PolicyStatement(
            actions=["kms:Decrypt", *(["kms:GenerateDataKey"] if writes else [])],
            resources=[stack.key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}},
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
