"""Which image a task runs, and the pull permissions for it.

A release is a tag in the service's own ECR repository, addressed by name, so a task definition
in any stack of the stage can use it without referencing the compute stack. Until a tag is set a
service runs the public placeholder, which never receives secrets.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam

from infra.config import StageConfig

PULL_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
)


def repository_arn(stack: Stack, cfg: StageConfig, service: str) -> str:
    return stack.format_arn(
        service="ecr", resource="repository", resource_name=cfg.repository_name(service)
    )


def image_for(
    stack: Stack, cfg: StageConfig, service: str
) -> tuple[ecs.ContainerImage, str | None]:
    """The image and, for a release from the stage's own repository, that repository's ARN."""
    spec = cfg.services[service]
    if spec.image_tag is None:
        return ecs.ContainerImage.from_registry(spec.image), None
    uri = (
        f"{stack.account}.dkr.ecr.{stack.region}.{stack.url_suffix}/"
        f"{cfg.repository_name(service)}:{spec.image_tag}"
    )
    return ecs.ContainerImage.from_registry(uri), repository_arn(stack, cfg, service)


def grant_pull(stack: Stack, role: iam.IRole, repository: str) -> None:
    """Pull from one repository; the registry login (no resource-level permission) comes from the
    stack's shared EcrAuthorization policy, never from the role's own policy."""
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=list(PULL_ACTIONS), resources=[repository])
    )
    role.add_managed_policy(ecr_authorization(stack))


def ecr_authorization(stack: Stack) -> iam.ManagedPolicy:
    existing = stack.node.try_find_child("EcrAuthorization")
    if isinstance(existing, iam.ManagedPolicy):
        return existing
    return iam.ManagedPolicy(
        stack,
        "EcrAuthorization",
        description="ECR registry login (ecr:GetAuthorizationToken has no resource-level scope)",
        statements=[iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"])],
    )
