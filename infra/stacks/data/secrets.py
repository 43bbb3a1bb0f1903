"""Application secrets as declared by the product, and the origin-verify header value.

Each declared secret is its own Secrets Manager secret `<project>/<stage>/app/<NAME>`, injected
into the services and functions that list it as the environment variable NAME.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import SecretValue
from aws_cdk import aws_secretsmanager as secretsmanager

from infra.config.secrets import SecretConfig, SecretKind
from infra.stacks.base import removal

if TYPE_CHECKING:
    from infra.stacks.data import DataStack

UNSET = " "
"""The value of a provided secret until the team sets it (blank once stripped)."""


def construct_id(name: str) -> str:
    return f"AppSecret-{name}"


def build_app_secrets(stack: DataStack) -> dict[str, secretsmanager.Secret]:
    return {name: _secret(stack, name, spec) for name, spec in stack.cfg.secrets.items()}


def _secret(stack: DataStack, name: str, spec: SecretConfig) -> secretsmanager.Secret:
    cfg = stack.cfg
    descriptions = {
        SecretKind.GENERATED: "generated value",
        SecretKind.PROVIDED: "set its value after the first deploy",
        SecretKind.DATABASE_URL: "the application user's connection URL, rewritten after every "
        "rotation",
    }
    return secretsmanager.Secret(
        stack,
        construct_id(name),
        secret_name=cfg.secret_name(f"app/{name}"),
        description=spec.description or f"{name}: {descriptions[spec.kind]}",
        encryption_key=stack.key,
        # Provided secrets start blank, so the application sees "not configured", not a wrong
        # key: one space, as Secrets Manager refuses an empty value and ECS will not start a
        # task whose secret has no value. URL secrets start random; the bootstrap writes the URL.
        secret_string_value=(
            SecretValue.unsafe_plain_text(UNSET) if spec.kind is SecretKind.PROVIDED else None
        ),
        generate_secret_string=(
            None
            if spec.kind is SecretKind.PROVIDED
            else secretsmanager.SecretStringGenerator(
                password_length=spec.length, exclude_punctuation=True
            )
        ),
        removal_policy=removal(cfg.removal_policy),
    )


def build_origin_verify(stack: DataStack) -> secretsmanager.Secret:
    cfg = stack.cfg
    return secretsmanager.Secret(
        stack,
        "OriginVerifySecret",
        secret_name=cfg.secret_name("origin-verify"),
        description="Header value CloudFront sends and the load balancer requires",
        encryption_key=stack.key,
        generate_secret_string=secretsmanager.SecretStringGenerator(
            password_length=48, exclude_punctuation=True
        ),
        removal_policy=removal(cfg.removal_policy),
    )
