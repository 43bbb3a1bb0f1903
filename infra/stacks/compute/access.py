"""Grants, settings and secrets from an `Access` declaration: exactly what a service or function
said it uses, and nothing else.

Services receive credentials as ECS secrets (read when a task starts); functions receive secret
ARNs and read them at run time. A placeholder image receives neither.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager

from infra.config.access import Access

if TYPE_CHECKING:
    from infra.stacks.compute import ComputeStack


def env_name(name: str) -> str:
    return name.upper().replace("-", "_")


@dataclass
class Wiring:
    """What a container or function gets: plain settings, and secrets by name."""

    environment: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, tuple[secretsmanager.ISecret, str | None]] = field(default_factory=dict)
    """Variable -> (secret, JSON key or None for the whole value)."""

    def ecs_secrets(self) -> dict[str, ecs.Secret]:
        return {
            name: ecs.Secret.from_secrets_manager(secret, key)
            for name, (secret, key) in self.secrets.items()
        }

    def secret_arns(self) -> dict[str, str]:
        """For functions: `<NAME>_SECRET_ARN` per distinct secret (read at run time)."""
        arns: dict[str, str] = {}
        for name, (secret, key) in self.secrets.items():
            label = name if key is None else name.rsplit("_", 1)[0]
            arns[f"{label}_SECRET_ARN"] = secret.secret_arn
        return arns


def wire(
    stack: ComputeStack, principal: iam.IRole, uses: Access, *, with_credentials: bool
) -> Wiring:
    """Grant `principal` what `uses` declares; return the settings and secrets to inject."""
    cfg, data = stack.cfg, stack.data
    wiring = Wiring(environment={"STAGE": cfg.name})
    if uses.database:
        db = cfg.data.database
        wiring.environment |= {"DB_NAME": db.database_name, "DB_ENGINE": db.engine.value}
        if with_credentials:
            app = stack.imported_secret("Database", data.app_database_secret)
            wiring.secrets |= {
                f"DB_{key.upper()}": (app, key) for key in ("host", "port", "username", "password")
            }
    if uses.cache:
        wiring.environment |= {
            "REDIS_HOST": data.cache.endpoint,
            "REDIS_PORT": str(cfg.data.cache.port),
            "REDIS_TLS": "true",
        }
        if with_credentials:
            token = stack.imported_secret("Cache", data.cache_auth_token)
            wiring.secrets["REDIS_AUTH_TOKEN"] = (token, None)
    _wire_data(stack, principal, uses, wiring, with_credentials=with_credentials)
    for name in uses.secrets:
        if with_credentials:
            wiring.secrets[name] = (
                stack.imported_secret(f"App-{name}", data.app_secrets[name]),
                None,
            )
    for other in uses.services:
        port = cfg.services[other].port
        wiring.environment[f"{env_name(other)}_URL"] = f"http://{other}:{port}"
    return wiring


def _wire_data(
    stack: ComputeStack,
    principal: iam.IRole,
    uses: Access,
    wiring: Wiring,
    *,
    with_credentials: bool,
) -> None:
    """Buckets, queues and the event bus. Grants, like secrets, only for the product's own code:
    a public placeholder image gets the settings (the task definition keeps its final shape)
    but no permission."""
    data = stack.data
    for bucket, grant in uses.bucket_grants():
        if with_credentials:
            data.grant_bucket(principal, bucket, grant)
        else:  # the grant's export stays, so a release and its rollback never drop one in use
            data.keep_bucket_grant(bucket, grant)
        wiring.environment[f"{env_name(bucket)}_BUCKET"] = data.buckets[bucket].bucket_name
    for function in uses.queues:
        queue = stack.queue_of(function)
        assert queue is not None  # validation: queues name queue-triggered functions
        if with_credentials:
            stack.allow(principal, ["sqs:SendMessage"], [queue.queue_arn], via="sqs")
        wiring.environment[f"{env_name(function)}_QUEUE_URL"] = queue.queue_url
    if uses.events:
        bus = stack.event_bus
        assert bus is not None
        if with_credentials:
            principal.add_to_principal_policy(
                iam.PolicyStatement(actions=["events:PutEvents"], resources=[bus.event_bus_arn])
            )
        wiring.environment["EVENT_BUS_NAME"] = bus.event_bus_name
