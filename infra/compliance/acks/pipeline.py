"""Acknowledged findings of the delivery pipeline stack and CDK's cross-region support stacks.

CDK Pipelines generates the pipeline's roles and grants them through its helpers (artifact
bucket and key access by action families). Each acknowledgment names one generated policy
(never the pipeline's whole subtree) and only what that policy holds, so a statement that CDK or
we add later to any role is a finding of its own. The grants the pipeline narrows are rewritten
by infra/delivery/narrowing.py, before these are made; this module only reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from aws_cdk import Stack
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

from infra.compliance.acks.common import ANY_RESOURCE, INLINE, access_log_bucket
from infra.compliance.engine import Ack, Tree, acknowledge, logical_id, tree

if TYPE_CHECKING:
    from infra.delivery import PipelineStack

ARTIFACT_FAMILIES = (
    "AwsSolutions-IAM5[Action::s3:GetObject*]",
    "AwsSolutions-IAM5[Action::s3:GetBucket*]",
    "AwsSolutions-IAM5[Action::s3:List*]",
    "AwsSolutions-IAM5[Action::s3:Abort*]",
    "AwsSolutions-IAM5[Action::s3:DeleteObject*]",
    "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
    "AwsSolutions-IAM5[Action::kms:ReEncrypt*]",
)
ASSETS = "Pipeline/Assets"
"""CDK Pipelines' asset publishing: only where the stages have file assets."""
ASSETS_POLICY = f"{ASSETS}/FileRole/DefaultPolicy"
PIPELINE_POLICY = "CodePipeline/Role/DefaultPolicy"

Grants = tuple[set[str], set[str]]
"""A policy's actions and resources, unresolved (tokens as strings): one jsii call to read."""


def support_stacks(stack: Stack) -> list[Stack]:
    """CDK's cross-region support stacks of the pipeline (one per other region it deploys to)."""
    return [
        child
        for child in stack.node.root.node.children
        if isinstance(child, Stack) and child.node.id.startswith("cross-region-stack-")
    ]


def replication_key_arns(stack: Stack, supports: Sequence[Stack]) -> list[str]:
    """Keys of CDK's cross-region replication buckets: created by the support stacks (one per
    region), in this account, referenced by alias; no ARN is known at synth."""
    return [
        f"arn:{stack.partition}:kms:{support.region}:{stack.account}:key/*" for support in supports
    ]


def pipeline_acks(stack: PipelineStack, supports: Sequence[Stack]) -> list[Ack]:
    view = tree(stack)
    objects = stack.artifacts.arn_for_objects("*")
    objects_rule = f"AwsSolutions-IAM5[Resource::<{logical_id(stack, stack.artifacts)}.Arn>/*]"
    held: dict[str, Grants] = {}  # policy path -> what it grants
    acks: list[Ack] = []
    for policy in view.all:
        if not isinstance(policy, iam.Policy) or view.node(policy).id != "DefaultPolicy":
            continue
        path = view.relative(policy)
        actions, resources = held[path] = _grants(policy)
        acks.append(
            Ack(
                f"{path}/Resource",
                INLINE,
                "CDK Pipelines writes each generated role's grants into that role's own policy; "
                "they are scoped to the pipeline's bucket, key, projects and named roles.",
            )
        )
        acks += [
            Ack(
                f"{path}/Resource",
                rule,
                "CDK Pipelines grants its roles read/write on the pipeline's own artifact bucket "
                "and key only; the action families are CDK's grant helpers.",
            )
            for rule, held_here in (
                *((rule, _named(rule) in actions) for rule in ARTIFACT_FAMILIES),
                (objects_rule, objects in resources),
            )
            if held_here
        ]
    acks += _generated_resources(stack, view, held, supports)
    acks += [
        Ack(
            f"{view.relative(stack.artifacts)}/Resource",
            "NIST.800.53.R5-S3BucketReplicationEnabled",
            "Pipeline artifacts are rebuilt from the repository by any run and expire after 90 "
            "days; a replica would protect nothing the source does not.",
        ),
        *access_log_bucket("AccessLogs"),
    ]
    return acks


def _named(rule: str) -> str:
    """What a granular rule id names: `AwsSolutions-IAM5[Action::s3:List*]` -> `s3:List*`."""
    return rule.split("::", 1)[1].removesuffix("]")


def _grants(policy: iam.Policy) -> Grants:
    actions: set[str] = set()
    resources: set[str] = set()
    for statement in policy.document.to_json()["Statement"]:
        for key, into in (("Action", actions), ("Resource", resources)):
            value = statement.get(key, [])
            into.update(
                v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)
            )
    return actions, resources


def _generated_resources(
    stack: Stack, view: Tree, held: dict[str, Grants], supports: Sequence[Stack]
) -> list[Ack]:
    """Wildcards in resources that CDK Pipelines names after projects and roles it generates;
    the asset role's and each project's only where that policy holds them (CDK drops a
    project's own log and report ARNs from a policy that already grants `/*` on them)."""
    account, region = stack.account, stack.region
    acks = [
        *(
            Ack(
                f"{PIPELINE_POLICY}/Resource",
                f"AwsSolutions-IAM5[Resource::{stack.resolve(arn)}]",
                "CodePipeline's role uses the key of CDK's replication bucket in this region, "
                "which its support stack creates (ARN unknown at synth): kms actions, keys of "
                "this account in that region only.",
            )
            for arn in replication_key_arns(stack, supports)
        ),
        Ack(
            "Pipeline/UpdatePipeline/SelfMutation/Role/DefaultPolicy/Resource",
            ANY_RESOURCE,
            "Self-mutation runs `cdk deploy` of this stack: cloudformation:DescribeStacks and "
            "s3:ListBucket of the bootstrap buckets, named by the CLI at run time.",
        ),
        Ack(
            "Pipeline/UpdatePipeline/SelfMutation/Role/DefaultPolicy/Resource",
            f"AwsSolutions-IAM5[Resource::arn:*:iam::{account}:role/*]",
            "Self-mutation assumes the CDK bootstrap roles (cdk-hnb659fds-*) of this account, "
            "whose names the CLI resolves at run time.",
        ),
    ]
    _, assets = held.get(ASSETS_POLICY, (set(), set()))
    acks += [
        Ack(f"{ASSETS_POLICY}/Resource", f"AwsSolutions-IAM5[Resource::{resource}]", reason)
        for resource, reason in (
            (
                f"arn:aws:logs:{region}:{account}:log-group:/aws/codebuild/*",
                "Asset-publishing projects are created per asset and share this role; it writes "
                "only to CodeBuild's own log groups.",
            ),
            (
                f"arn:aws:codebuild:{region}:{account}:report-group/*",
                "Asset-publishing projects report to CodeBuild report groups named after "
                "themselves, which exist only once the projects run.",
            ),
        )
        if resource in assets
    ]
    for project in view.all:
        if not isinstance(project, codebuild.Project) or project.role is None:
            continue
        policy = f"{view.relative(project.role)}/DefaultPolicy"
        _, resources = held.get(policy, (set(), set()))
        name = logical_id(stack, project)
        # Each ARN as the policy holds it (the project's name a token) and as cdk-nag names it.
        acks += [
            Ack(
                f"{policy}/Resource",
                f"AwsSolutions-IAM5[Resource::{resource.format(f'<{name}>')}]",
                "A CodeBuild project may write only its own log group and report groups; CDK "
                "names them after the project.",
            )
            for resource in (
                f"arn:aws:logs:{region}:{account}:log-group:/aws/codebuild/{{}}:*",
                f"arn:aws:codebuild:{region}:{account}:report-group/{{}}-*",
            )
            if resource.format(project.project_name) in resources
        ]
    for support in supports:
        bucket = next(c for c in tree(support).all if isinstance(c, s3.Bucket))
        acks.append(
            Ack(
                f"{PIPELINE_POLICY}/Resource",
                f"AwsSolutions-IAM5[Resource::arn:aws:s3:::{stack.resolve(bucket.bucket_name)}/*]",
                "The pipeline copies artifacts into CDK's replication bucket of another region "
                "(us-east-1 edge, DR region); objects only.",
            )
        )
    return acks


def acknowledge_pipeline(stack: PipelineStack) -> dict[str, list[Ack]]:
    """Applies the pipeline's acknowledgments; returns them by stack (for the inventory)."""
    supports = {support.node.id: support for support in support_stacks(stack)}
    found = {"pipeline": pipeline_acks(stack, list(supports.values()))}
    for name in supports:
        found[name] = [
            Ack(
                "Default/CrossRegionCodePipelineReplicationBucket/Resource",
                rule,
                "CDK's cross-region replication bucket holds transient, KMS-encrypted "
                "pipeline artifacts for one region; every run recreates them.",
            )
            for rule in (
                "AwsSolutions-S1",
                "NIST.800.53.R5-S3BucketLoggingEnabled",
                "NIST.800.53.R5-S3BucketReplicationEnabled",
                "NIST.800.53.R5-S3BucketVersioningEnabled",
            )
        ]
    acknowledge(stack, found["pipeline"])
    for name, support in supports.items():
        acknowledge(support, found[name])
    return found
