"""Acknowledgments that recur in several stacks, each produced only where its construct exists."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_

from infra.compliance.engine import Ack, tree

BASIC = (
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
    "AWSLambdaBasicExecutionRole]"
)
VPC_ACCESS = (
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
    "AWSLambdaVPCAccessExecutionRole]"
)
INLINE = "NIST.800.53.R5-IAMNoInlinePolicy"
ANY_RESOURCE = "AwsSolutions-IAM5[Resource::*]"


def inline_policies(stack: Stack) -> list[Ack]:
    """Every role's own policy: CDK writes each grant there, scoped to exact resources (the
    snapshots show them); actions without resource-level scope live in shared managed policies,
    so a wildcard here is always a finding."""
    return [
        Ack(
            f"{tree(stack).relative(policy)}/Resource",
            INLINE,
            "CDK grants write this role's least-privilege statements (exact resources) into the "
            "role's own policy, reviewed in the template snapshots; wildcard-only actions are in "
            "named managed policies instead.",
        )
        for policy in tree(stack).all
        if isinstance(policy, iam.Policy) and policy.node.id == "DefaultPolicy"
    ]


def lambda_roles(stack: Stack) -> list[Ack]:
    """AWS's logging (and, in a VPC, ENI) policies on every function role in the stack."""
    acks = []
    for function in tree(stack).all:
        if not isinstance(function, lambda_.Function) or function.role is None:
            continue
        path = tree(stack).relative(function)
        acks.append(
            Ack(
                f"{path}/ServiceRole/Resource",
                BASIC,
                "Lambda's AWS-maintained logging policy (CreateLogStream/PutLogEvents); the "
                "function's own grants are scoped statements in its role's policy.",
            )
        )
        if function.is_bound_to_vpc:
            acks.append(
                Ack(
                    f"{path}/ServiceRole/Resource",
                    VPC_ACCESS,
                    "A function in the VPC needs AWS's ENI policy: ec2:CreateNetworkInterface "
                    "and its kin have no resource-level scope; AWS maintains the policy.",
                )
            )
    return acks


def tracing(stack: Stack, *policies: iam.ManagedPolicy | None) -> list[Ack]:
    """The stack's X-Ray policies, as its handles hold them (None: the stack has no such one)."""
    return [
        Ack(
            f"{tree(stack).relative(policy)}/Resource",
            ANY_RESOURCE,
            "X-Ray's trace writes (and the daemon's sampling reads) support no resource-level "
            "permissions: this managed policy holds only those actions, nothing else.",
        )
        for policy in policies
        if policy is not None
    ]


def access_log_bucket(path: str) -> list[Ack]:
    return [
        Ack(
            f"{path}/Resource",
            "NIST.800.53.R5-S3DefaultEncryptionKMS",
            "Target of S3 server access logs and load balancer logs, which cannot write to "
            "SSE-KMS buckets; objects are encrypted at rest with SSE-S3.",
        ),
        Ack(
            f"{path}/Resource",
            "NIST.800.53.R5-S3BucketReplicationEnabled",
            "Access logs are audit records of this region's buckets, kept here for their "
            "retention; replicating logs of logs doubles cost without recovering any data.",
        ),
    ]
