"""Grants CDK Pipelines writes on `*` that the pipeline narrows to what it actually uses.

Rewritten on the policy resources themselves (not overrides), so cdk-nag checks what is
deployed; the acknowledgments (infra/compliance/acks/pipeline.py) read the result. Each
narrowing stands alone: one that finds nothing to narrow leaves the other untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam

from infra.compliance.acks.pipeline import (
    ASSETS,
    ASSETS_POLICY,
    PIPELINE_POLICY,
    replication_key_arns,
    support_stacks,
)
from infra.compliance.engine import find_constructs


def narrow_grants(stack: Stack) -> None:
    narrow_asset_builds(stack)
    narrow_replication_keys(stack, support_stacks(stack))


def narrow_asset_builds(stack: Stack) -> None:
    """CDK grants the asset-publishing role codebuild:StartBuild/StopBuild/BatchGetBuilds on
    `*`; it only ever starts the pipeline's own asset projects, so name exactly those."""
    policy = _policy(stack, ASSETS_POLICY)
    if policy is None:  # no file assets to publish
        return
    (assets,) = find_constructs(stack, ASSETS)
    projects = [c for c in assets.node.find_all() if isinstance(c, codebuild.Project)]
    narrow(
        policy,
        lambda actions: "codebuild:StartBuild" in actions,
        [stack.resolve(project.project_arn) for project in projects],
    )


def narrow_replication_keys(stack: Stack, supports: Sequence[Stack]) -> None:
    """CodePipeline's role may use the replication buckets' keys: CDK grants its kms actions
    on `*`; only keys of this account in the support stacks' regions qualify."""
    policy = _policy(stack, PIPELINE_POLICY)
    if policy is None:
        return
    narrow(
        policy,
        lambda actions: all(action.startswith("kms:") for action in actions),
        replication_key_arns(stack, supports),
    )


def narrow(
    policy: iam.Policy, match: Callable[[list[str]], bool], resources: Sequence[Any]
) -> None:
    """In every statement of `policy` whose actions `match` and whose resources include `*`,
    the `*` becomes `resources` (never nothing: the `*` then stays, and stays a finding)."""
    cfn = policy.node.default_child
    assert isinstance(cfn, iam.CfnPolicy)
    document = Stack.of(policy).resolve(cfn.policy_document)
    for statement in document["Statement"]:
        current = _as_list(statement["Resource"])
        if resources and "*" in current and match(_as_list(statement["Action"])):
            statement["Resource"] = [r for r in current if r != "*"] + list(resources)
    cfn.policy_document = document


def _policy(stack: Stack, path: str) -> iam.Policy | None:
    found = find_constructs(stack, path)
    if not found:
        return None
    (policy,) = found
    assert isinstance(policy, iam.Policy)
    return policy


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
