"""The database bootstrap custom resource: the application's login and its grants, created by a
function in the VPC that logs in as master, before the application's rotation may start."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import CustomResource
from aws_cdk import custom_resources as cr

from constructs_lib.function import FunctionProps, code_asset, platform_function
from constructs_lib.monitoring import MonitoredFunction
from infra.config.functions import LAMBDA_SRC
from infra.config.secrets import SecretKind
from infra.stacks.data.database import MASTER_USERNAME, DatabaseParts

if TYPE_CHECKING:
    from aws_cdk import aws_secretsmanager as secretsmanager

    from infra.stacks.data import DataStack

DRIVERS = ("pg8000", "pymysql")  # with what they require (required_modules)
"""Pure-Python database drivers (pinned in requirements.txt), copied into the function."""


def build_bootstrap(
    stack: DataStack, database: DatabaseParts, secrets: dict[str, secretsmanager.Secret]
) -> CustomResource:
    cfg = stack.cfg
    urls = [
        secrets[name] for name, spec in cfg.secrets.items() if spec.kind is SecretKind.DATABASE_URL
    ]
    function = platform_function(
        stack,
        "DbBootstrap",
        FunctionProps(
            function_name=cfg.resource_name("db-bootstrap"),
            description="Creates the application's database login and grants (custom resource)",
            code=code_asset(LAMBDA_SRC / "db_bootstrap", DRIVERS),
            key=stack.key,
            log_group=stack.log_group(
                "DbBootstrapLogs",
                cfg.log_name("db-bootstrap"),
                stack.key,
                cfg.retention("functions"),
            ),
            tracing=stack.tracing,
            memory_mib=256,
            timeout_seconds=120,
            reserved_concurrency=None,  # runs only during deployments
            vpc=stack.vpc,
            security_groups=[stack.security_groups.group("db-admin")],
        ),
    )
    database.master_secret.grant_read(function)
    database.app_secret.grant_read(function)
    for secret in urls:
        secret.grant_write(function)
    provider = cr.Provider(
        stack,
        "DbBootstrapProvider",
        on_event_handler=function,
        provider_function_name=cfg.resource_name("db-bootstrap-provider"),
        log_group=stack.log_group(
            "DbBootstrapProviderLogs",
            cfg.log_name("db-bootstrap-provider"),
            stack.key,
            cfg.retention("functions"),
        ),
    )
    resource = CustomResource(
        stack,
        "DbBootstrapResource",
        service_token=provider.service_token,
        resource_type="Custom::DatabaseBootstrap",
        properties={
            "Engine": cfg.data.database.engine.value,
            "MasterUsername": MASTER_USERNAME,
            "MasterSecretArn": database.master_secret.secret_arn,
            "AppSecretArn": database.app_secret.secret_arn,  # the attached secret: host is set
            "AppUsername": cfg.data.database.app_username,
            "UrlSecretArns": [s.secret_arn for s in urls],
        },
    )
    resource.node.add_dependency(database.database)
    stack.inventory.functions.append(MonitoredFunction("db-bootstrap", function, 120, None))
    return resource
