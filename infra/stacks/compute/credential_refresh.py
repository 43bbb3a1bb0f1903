"""The credential refresh: after every rotation of the application's database login, a function
rewrites the database-URL secrets and then rolls the services that use the database onto the
new credentials. Triggered by the rotation's CloudTrail event; failures land in its own
dead-letter queue and it is monitored like the product's functions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as event_targets
from aws_cdk import aws_iam as iam

from constructs_lib.function import FunctionProps, code_asset, platform_function
from constructs_lib.monitoring import MonitoredFunction
from infra.config.functions import LAMBDA_SRC
from infra.config.secrets import SecretKind

if TYPE_CHECKING:
    from infra.stacks.compute import ComputeStack


def build_credential_refresh(stack: ComputeStack) -> None:
    """After every rotation of the application's database login: rewrite the URL secrets,
    then roll the services that use the database onto the new credentials."""
    cfg = stack.cfg
    users = [n for n, s in cfg.services.items() if s.uses.database]
    urls = [
        stack.imported_secret(f"App-{n}", stack.data.app_secrets[n])
        for n, spec in cfg.secrets.items()
        if spec.kind is SecretKind.DATABASE_URL
    ]
    if not users and not urls:
        return
    app = stack.imported_secret("Database", stack.data.app_database_secret)
    failed = stack.queue("CredentialRefreshFailures", "credential-refresh-dlq", retention_days=14)
    function = platform_function(
        stack,
        "CredentialRefresh",
        FunctionProps(
            function_name=cfg.resource_name("credential-refresh"),
            description="After a database rotation: rewrite URL secrets, roll services",
            code=code_asset(LAMBDA_SRC / "credential_refresh"),
            key=stack.key,
            log_group=stack.stage_log_group(
                "CredentialRefreshLogs", "credential-refresh", cfg.retention("functions")
            ),
            tracing=stack.tracing,
            reserved_concurrency=1,
            dead_letter_queue=failed,
            environment={
                "APP_SECRET_ARN": app.secret_arn,
                "URL_SECRET_ARNS": ",".join(s.secret_arn for s in urls),
                "CLUSTER_NAME": cfg.resource_name("cluster"),
                "SERVICE_NAMES": ",".join(cfg.resource_name(n) for n in users),
            },
        ),
    )
    app.grant_read(function)
    for secret in urls:
        secret.grant_write(function)
    assert function.role is not None
    stack.decrypt_secrets(function.role, write=True)  # it rewrites the URL secrets
    if users:
        function.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["ecs:UpdateService"],
                resources=[
                    stack.format_arn(
                        service="ecs",
                        resource="service",
                        resource_name=f"{cfg.resource_name('cluster')}/{cfg.resource_name(n)}",
                    )
                    for n in users
                ],
            )
        )
    events.Rule(
        stack,
        "AfterRotation",
        description="The application's database credentials rotated",
        event_pattern=events.EventPattern(
            source=["aws.secretsmanager"],
            detail_type=["AWS Service Event via CloudTrail"],
            detail={
                "eventName": ["RotationSucceeded"],
                "additionalEventData": {"SecretId": [app.secret_arn]},
            },
        ),
        targets=[
            event_targets.LambdaFunction(function, dead_letter_queue=failed, retry_attempts=4)
        ],
    )
    stack.event_dead_letters()
    stack.inventory.functions.append(
        MonitoredFunction("credential-refresh", function, 30, dead_letters=failed)
    )
