"""Acknowledged findings of the delivery pipeline stack and CDK's cross-region support stacks.

CDK Pipelines generates the pipeline's roles and grants them through its helpers (artifact
bucket and key access by action families). Each acknowledgment names one generated policy
(never the pipeline's whole subtree), so a statement that CDK or we add later to any role is a
finding of its own.
"""

from __future__ import annotations

from aws_cdk import Stack, Stage
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import IConstruct

from infra.compliance.acks.common import ANY_RESOURCE, INLINE, access_log_bucket, relative
from infra.compliance.engine import Ack, acknowledge, logical_id

ARTIFACT_FAMILIES = (
    "AwsSolutions-IAM5[Action::s3:GetObject*]",
    "AwsSolutions-IAM5[Action::s3:GetBucket*]",
    "AwsSolutions-IAM5[Action::s3:List*]",
    "AwsSolutions-IAM5[Action::s3:Abort*]",
    "AwsSolutions-IAM5[Action::s3:DeleteObject*]",
    "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
    "AwsSolutions-IAM5[Action::kms:ReEncrypt*]",
)
ASSETS_POLICY = "Pipeline/Assets/FileRole/DefaultPolicy"


def narrow_asset_builds(stack: Stack) -> None:
    """CDK grants the asset-publishing role codebuild:StartBuild/StopBuild/BatchGetBuilds on
    `*`; it only ever starts the pipeline's own asset projects, so name exactly those."""
    policy = stack.node.try_find_child("Pipeline")
    policy = policy.node.try_find_child("Assets") if policy is not None else None
    if policy is None:
        return
    projects = [p for p in policy.node.find_all() if isinstance(p, codebuild.Project)]
    role_policy = (
        stack.node.find_child("Pipeline")
        .node.find_child("Assets")
        .node.find_child("FileRole")
        .node.find_child("DefaultPolicy")
    )
    assert isinstance(role_policy, iam.Policy)
    cfn = role_policy.node.default_child
    assert isinstance(cfn, iam.CfnPolicy)
    # Rewritten on the resource itself (not an override), so cdk-nag checks what is deployed.
    document = stack.resolve(cfn.policy_document)
    for statement in document["Statement"]:
        actions = statement["Action"]
        if "codebuild:StartBuild" in (actions if isinstance(actions, list) else [actions]):
            statement["Resource"] = [stack.resolve(p.project_arn) for p in projects]
    cfn.policy_document = document
    _narrow_replication_keys(stack)


def replication_key_arns(stack: Stack) -> list[str]:
    """Keys of CDK's cross-region replication buckets: created by the support stacks (one per
    region), in this account, referenced by alias; no ARN is known at synth."""
    return [
        f"arn:{stack.partition}:kms:{support.region}:{stack.account}:key/*"
        for support in _support_stacks(stack)
    ]


def _narrow_replication_keys(stack: Stack) -> None:
    """CodePipeline's role may use the replication buckets' keys: CDK grants its kms actions
    on `*`; only keys of this account in the support stacks' regions qualify."""
    pipeline = stack.node.try_find_child("CodePipeline")
    role = pipeline.node.try_find_child("Role") if pipeline is not None else None
    policy = role.node.try_find_child("DefaultPolicy") if role is not None else None
    if policy is None:
        return
    cfn = policy.node.default_child
    assert isinstance(cfn, iam.CfnPolicy)
    document = stack.resolve(cfn.policy_document)
    for statement in document["Statement"]:
        actions, resources = _as_list(statement["Action"]), _as_list(statement["Resource"])
        if "*" in resources and all(a.startswith("kms:") for a in actions):
            statement["Resource"] = [r for r in resources if r != "*"] + replication_key_arns(stack)
    cfn.policy_document = document


def pipeline_acks(stack: Stack) -> list[Ack]:
    artifacts = logical_id(stack, stack.node.find_child("ArtifactsBucket"))
    acks: list[Ack] = []
    policies = [
        p for p in _own(stack) if isinstance(p, iam.Policy) and p.node.id == "DefaultPolicy"
    ]
    for policy in policies:
        path = relative(stack, policy.node.path) + "/Resource"
        document = stack.resolve(policy.document.to_json())
        text = str(document)
        acks.append(
            Ack(
                path,
                INLINE,
                "CDK Pipelines writes each generated role's grants into that role's own policy; "
                "they are scoped to the pipeline's bucket, key, projects and named roles.",
            )
        )
        acks += [
            Ack(
                path,
                rule,
                "CDK Pipelines grants its roles read/write on the pipeline's own artifact bucket "
                "and key only; the action families are CDK's grant helpers.",
            )
            for rule in (*ARTIFACT_FAMILIES, f"AwsSolutions-IAM5[Resource::<{artifacts}.Arn>/*]")
            if _mentions(text, rule)
        ]
    acks += _generated_resources(stack)
    acks += [
        Ack(
            "ArtifactsBucket/Resource",
            "NIST.800.53.R5-S3BucketReplicationEnabled",
            "Pipeline artifacts are rebuilt from the repository by any run and expire after 90 "
            "days; a replica would protect nothing the source does not.",
        ),
        *access_log_bucket("AccessLogs"),
    ]
    return [a for a in acks if _exists(stack, a)]


def _mentions(document: str, rule: str) -> bool:
    """Whether a policy document holds what an action-family or bucket rule id names."""
    inner = rule.split("::", 1)[1].rstrip("]")
    if rule.startswith("AwsSolutions-IAM5[Action::"):
        return f"'{inner}'" in document
    return "/*" in document


def _generated_resources(stack: Stack) -> list[Ack]:
    """Wildcards in resources that CDK Pipelines names after projects and roles it generates."""
    account, region = stack.account, stack.region
    acks = [
        *(
            Ack(
                "CodePipeline/Role/DefaultPolicy/Resource",
                f"AwsSolutions-IAM5[Resource::{stack.resolve(arn)}]",
                "CodePipeline's role uses the key of CDK's replication bucket in this region, "
                "which its support stack creates (ARN unknown at synth): kms actions, keys of "
                "this account in that region only.",
            )
            for arn in replication_key_arns(stack)
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
        Ack(
            f"{ASSETS_POLICY}/Resource",
            f"AwsSolutions-IAM5[Resource::arn:aws:logs:{region}:{account}:log-group:/aws/codebuild/*]",
            "Asset-publishing projects are created per asset and share this role; it writes only "
            "to CodeBuild's own log groups.",
        ),
        Ack(
            f"{ASSETS_POLICY}/Resource",
            f"AwsSolutions-IAM5[Resource::arn:aws:codebuild:{region}:{account}:report-group/*]",
            "Asset-publishing projects report to CodeBuild report groups named after "
            "themselves, which exist only once the projects run.",
        ),
    ]
    for project in _own(stack):
        if not isinstance(project, codebuild.Project):
            continue
        name = logical_id(stack, project)
        role = project.role
        if role is None or role.node.scope is None:
            continue
        policy = role.node.try_find_child("DefaultPolicy")
        if policy is None:
            continue
        path = relative(stack, policy.node.path) + "/Resource"
        acks += [
            Ack(
                path,
                f"AwsSolutions-IAM5[Resource::{resource}]",
                "A CodeBuild project may write only its own log group and report groups; CDK "
                "names them after the project.",
            )
            for resource in (
                f"arn:aws:logs:{region}:{account}:log-group:/aws/codebuild/<{name}>:*",
                f"arn:aws:codebuild:{region}:{account}:report-group/<{name}>-*",
            )
        ]
    for support in _support_stacks(stack):
        bucket = next(c for c in support.node.find_all() if isinstance(c, s3.Bucket))
        acks.append(
            Ack(
                "CodePipeline/Role/DefaultPolicy/Resource",
                f"AwsSolutions-IAM5[Resource::arn:aws:s3:::{stack.resolve(bucket.bucket_name)}/*]",
                "The pipeline copies artifacts into CDK's replication bucket of another region "
                "(us-east-1 edge, DR region); objects only.",
            )
        )
    return acks


def _own(stack: Stack) -> list[IConstruct]:
    """The pipeline stack's constructs, without those of the stages it deploys."""
    return [c for c in stack.node.find_all() if not isinstance(c, Stage) and Stack.of(c) is stack]


def _support_stacks(stack: Stack) -> list[Stack]:
    return [
        child
        for child in stack.node.root.node.children
        if isinstance(child, Stack) and child.node.id.startswith("cross-region-stack-")
    ]


def _exists(stack: Stack, ack: Ack) -> bool:
    """Project policies CDK did not generate (no reports) simply have no such finding."""
    from infra.compliance.engine import find_constructs  # noqa: PLC0415

    return bool(find_constructs(stack, ack.path))


def acknowledge_pipeline(stack: Stack) -> dict[str, list[Ack]]:
    """Applies the pipeline's acknowledgments; returns them by stack (for the inventory)."""
    narrow_asset_builds(stack)
    found = {"pipeline": pipeline_acks(stack)}
    for support in _support_stacks(stack):
        found[support.node.id] = [
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
    for support in _support_stacks(stack):
        acknowledge(support, found[support.node.id])
    return found


def _as_list(value: str | list[str]) -> list[str]:
    return value if isinstance(value, list) else [value]
