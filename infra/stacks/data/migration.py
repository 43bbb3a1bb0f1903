"""The migration task: the migration service's image with the migrate command, logged in as the
database master user. It lives in the data stack, which deploys before compute, so the
pipeline runs the revision CloudFormation just registered with the release's image before any
service rolls, on a cluster of its own here: a stage's first deploy migrates too, before the
compute stack (and its cluster) exists. The image is addressed by name (no reference to the
compute stack) and only the stage's own repository can be pulled."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import CfnOutput
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam

from infra.config.pipeline import stage_role_name, step_role_name
from infra.stacks.images import grant_pull, image_for

if TYPE_CHECKING:
    from infra.stacks.data import DataStack


def build_migration(stack: DataStack) -> ecs.FargateTaskDefinition:
    cfg = stack.cfg
    name = cfg.migration_service
    service = cfg.services[name]
    task = ecs.FargateTaskDefinition(
        stack,
        "MigrationTask",
        family=cfg.resource_name("migrate"),
        cpu=service.cpu,
        memory_limit_mib=service.memory_mib,
    )
    image, repository_arn = image_for(stack, cfg, name)
    secrets = {}
    if repository_arn is not None:  # a real build: only then does it see the master secret
        master = stack.database.master_secret
        secrets = {
            f"DB_{key.upper()}": ecs.Secret.from_secrets_manager(master, key)
            for key in ("host", "port", "username", "password")
        }
    task.add_container(
        "migrate",
        image=image,
        command=list(cfg.compute.migration.command),
        environment={"STAGE": cfg.name, "DB_NAME": cfg.data.database.database_name},
        secrets=secrets,
        logging=ecs.LogDrivers.aws_logs(
            stream_prefix="migrate",
            log_group=stack.log_group(
                # Not "migrate": that name belonged to the compute stack before the task moved
                # here, and a stage deployed then still holds it (retained).
                "MigrationLogs",
                cfg.log_name("migrations"),
                stack.key,
                cfg.retention("services"),
            ),
        ),
        readonly_root_filesystem=service.read_only_root_filesystem,
        user=service.user,
    )
    execution = task.obtain_execution_role()
    if repository_arn is not None:
        grant_pull(stack, execution, repository_arn)
        execution.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[stack.key.key_arn],
                conditions={
                    "StringEquals": {
                        "kms:ViaService": f"secretsmanager.{stack.region}.amazonaws.com"
                    }
                },
            )
        )
    cluster = ecs.Cluster(
        stack,
        "MigrationCluster",
        cluster_name=cfg.resource_name("migrations"),
        vpc=stack.vpc,
        container_insights_v2=ecs.ContainerInsights.ENABLED,
    )
    CfnOutput(
        stack,
        "MigrationTaskDefinitionArn",
        value=task.task_definition_arn,
        description="The migration task revision the pipeline runs before services roll",
    )
    CfnOutput(
        stack,
        "MigrationClusterName",
        value=cluster.cluster_name,
        description="Where the migration task runs (it exists before the compute stack)",
    )
    if cfg.pipeline_account is not None:
        migration_runner(stack, task, cfg.pipeline_account)
    return task


def migration_runner(stack: DataStack, task: ecs.FargateTaskDefinition, account: str) -> None:
    """What the pipeline's migration step (one role of the tooling account, by ARN) may do here:
    run the migration task CloudFormation registered, on the migration cluster, as is. It can
    neither register task definitions nor pass any other role. Here, not in the compute stack:
    the step runs between the two, and on a stage's first deploy compute does not exist yet."""
    cfg = stack.cfg
    step_role = step_role_name(cfg.project, cfg.name, "migrate")
    step = f"arn:{stack.partition}:iam::{account}:role/{step_role}"
    role = iam.Role(
        stack,
        "PipelineMigrationRole",
        role_name=stage_role_name(cfg.project, cfg.name, "migrate"),
        assumed_by=iam.ArnPrincipal(step),
        description="Runs the migration task from the delivery pipeline's migration step",
    )
    cluster = cfg.resource_name("migrations")  # by name, as build_migration creates it
    statements = [
        iam.PolicyStatement(
            actions=["cloudformation:DescribeStacks"],
            resources=[
                stack.format_arn(
                    service="cloudformation", resource="stack", resource_name=f"{name}/*"
                )
                for name in (cfg.stack_name(c) for c in ("data", "network"))
            ],
        ),
        iam.PolicyStatement(
            actions=["ecs:RunTask"],
            resources=[
                stack.format_arn(
                    service="ecs", resource="task-definition", resource_name=f"{task.family}:*"
                )
            ],
            conditions={
                "ArnEquals": {
                    "ecs:cluster": stack.format_arn(
                        service="ecs", resource="cluster", resource_name=cluster
                    )
                }
            },
        ),
        iam.PolicyStatement(
            actions=["ecs:DescribeTasks"],
            resources=[
                stack.format_arn(service="ecs", resource="task", resource_name=f"{cluster}/*")
            ],
        ),
        iam.PolicyStatement(
            actions=["iam:PassRole"],
            resources=[task.task_role.role_arn, task.obtain_execution_role().role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        ),
    ]
    role.add_managed_policy(
        iam.ManagedPolicy(stack, "PipelineMigrationPolicy", statements=statements)
    )
