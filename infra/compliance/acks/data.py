"""Acknowledged findings of the data stack, each conditional on the configuration that makes
its reason true."""

from __future__ import annotations

from typing import TYPE_CHECKING

from infra.compliance.acks.common import (
    ANY_RESOURCE,
    access_log_bucket,
    inline_policies,
    lambda_roles,
    tracing,
)
from infra.compliance.engine import Ack, logical_id, tree
from infra.config.databases import CacheEngine, DatabaseEngine
from infra.config.secrets import SecretKind
from infra.stacks.base import pascal
from infra.stacks.data.buckets import bucket_id
from infra.stacks.data.grants import policy_id

if TYPE_CHECKING:
    from infra.stacks.data import DataStack

ROTATION = ("AwsSolutions-SMG4", "NIST.800.53.R5-SecretsManagerRotationEnabled")
BACKUP_POLICIES = (
    "service-role/AWSBackupServiceRolePolicyForBackup",
    "service-role/AWSBackupServiceRolePolicyForRestores",
    "AWSBackupServiceRolePolicyForS3Backup",
    "AWSBackupServiceRolePolicyForS3Restore",
)


def acks(stack: DataStack) -> list[Ack]:
    return [
        *_database(stack),
        *_secrets(stack),
        *_buckets(stack),
        *_functions(stack),
        *inline_policies(stack),
        *tracing(stack, stack.tracing),
        *(
            Ack(
                "BackupRole/Resource",
                f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{policy}]",
                "AWS Backup's role needs AWS's service policies to back up and restore RDS and "
                "S3 (S3 has its own pair); AWS keeps them in step with the service's API calls.",
            )
            for policy in BACKUP_POLICIES
        ),
        *(
            [
                Ack(
                    "EcrAuthorization/Resource",
                    ANY_RESOURCE,
                    "ecr:GetAuthorizationToken (the registry login) has no resource-level scope; "
                    "the migration task pulls only its service's repository, granted by ARN.",
                )
            ]
            if tree(stack).child(stack, "EcrAuthorization") is not None
            else []
        ),
        *(_migration_runner(stack) if stack.cfg.pipeline_account is not None else []),
        Ack(
            "MigrationTask/Resource",
            "AwsSolutions-ECS2",
            "The migration container gets only the stage and database name as environment "
            "variables; its credentials come from Secrets Manager as ECS secrets.",
        ),
    ]


def _database(stack: DataStack) -> list[Ack]:
    db, cache = stack.cfg.data.database, stack.cfg.data.cache
    found = [
        Ack(
            f"{database}/MonitoringRole/Resource",
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonRDSEnhancedMonitoringRole]",
            "Enhanced monitoring's role must carry this AWS-maintained policy; it only lets RDS "
            "write OS metrics to the RDSOSMetrics log group.",
        )
        for database in ("Database", *(["DatabaseReplica"] if db.read_replica else []))
    ]
    found += [
        Ack(
            "Database/Resource",
            "AwsSolutions-RDS11",
            "The database keeps its engine's default port: it sits in isolated subnets and "
            "accepts only the security groups of what declares `uses.database`, so another port "
            "would add client configuration without reducing exposure.",
        ),
        Ack(
            "Cache",
            "NIST.800.53.R5-ElastiCacheRedisClusterAutomaticBackup",
            "The rule wants 15+ days of cache snapshots. The cache holds rebuildable data "
            "(sessions, cached reads); durable state lives in the database with point-in-time "
            f"recovery. Snapshots are kept {cache.snapshot_retention_days} day(s) for warm-up.",
        ),
    ]
    if cache.engine is CacheEngine.REDIS and cache.port == 6379:  # noqa: PLR2004
        found.append(
            Ack(
                "Cache",
                "AwsSolutions-AEC5",
                "Redis keeps its default port: the cache sits in isolated subnets, accepts only "
                "the security groups of what declares `uses.cache`, and requires TLS and AUTH; "
                "another port would add client configuration without reducing exposure.",
            )
        )
    if not db.engine.is_aurora and not db.multi_az:
        found += [
            Ack(
                "Database/Resource",
                rule,
                "This stage runs the database single-AZ on purpose (its guarantees allow it: "
                "disposable data, cost); stages that guarantee Multi-AZ refuse this "
                "configuration.",
            )
            for rule in ("AwsSolutions-RDS3", "NIST.800.53.R5-RDSMultiAZSupport")
        ]
    if not db.deletion_protection:
        found += [
            Ack(
                path,
                rule,
                "This stage runs the database without deletion protection on purpose (its "
                "guarantees allow it: disposable data); stages that guarantee deletion "
                "protection refuse this configuration.",
            )
            for path in (
                "Database/Resource",
                *(["DatabaseReplica/Resource"] if db.read_replica else []),
            )
            for rule in (
                "AwsSolutions-RDS10",
                "NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled",
            )
        ]
    if not cache.multi_az:
        found.append(
            Ack(
                "Cache",
                "AwsSolutions-AEC4",
                "This stage runs the cache without a replica (its guarantees allow it); stages "
                "that guarantee Multi-AZ refuse this configuration.",
            )
        )
    if db.read_replica:
        found += [
            Ack(
                "DatabaseReplica/Resource",
                rule,
                "A read replica is a read-scaling copy: its source is Multi-AZ where the stage "
                "guarantees it and in the backup plan; a replica is recreated from it.",
            )
            for rule in (
                "AwsSolutions-RDS3",
                "AwsSolutions-RDS11",
                "NIST.800.53.R5-RDSMultiAZSupport",
                "NIST.800.53.R5-RDSInBackupPlan",
            )
        ]
        found += [
            Ack(
                "DatabaseReplica/Resource",
                rule,
                "A read replica inherits the KMS encryption of its encrypted source; "
                "CloudFormation rejects StorageEncrypted with SourceDBInstanceIdentifier (F3020).",
            )
            for rule in ("AwsSolutions-RDS2", "NIST.800.53.R5-RDSStorageEncrypted")
        ]
    if db.engine.is_aurora:
        found.append(
            Ack(
                "Database/*/Resource",
                "NIST.800.53.R5-RDSInBackupPlan",
                "Aurora is backed up per cluster: the cluster ARN is in the AWS Backup "
                "selection, which covers its writer and reader instances.",
            )
        )
    if db.engine is DatabaseEngine.AURORA_MYSQL:
        found.append(
            Ack(
                "Database/Resource",
                "AwsSolutions-RDS14",
                "Aurora MySQL backtrack rewinds the whole cluster in place and cannot be copied "
                "across regions; recovery uses point-in-time restore and AWS Backup instead.",
            )
        )
    if db.engine.is_mysql:
        found.append(
            Ack(
                "Database/Resource",
                "NIST.800.53.R5-RDSLoggingEnabled[LogExport::general]",
                "MySQL's general log records every statement, application data included, at "
                "high volume; audit (logins, DDL, DCL), error and slow-query logs are exported.",
            )
        )
    return found


def _secrets(stack: DataStack) -> list[Ack]:
    cfg = stack.cfg
    stories = {
        "CacheAuthToken/Resource": (
            "Not rotated automatically: ElastiCache has no managed rotation for AUTH tokens "
            "(ROTATE, roll every client, then SET). The 64-character token is KMS-encrypted, "
            "readable only by roles that declare `uses.cache`, and sent over TLS only."
        ),
        "OriginVerifySecret/Resource": (
            "Not rotated automatically: CloudFront and the ALB rules must change together, so "
            "the value changes only by a planned deploy of both stacks. It only proves a request "
            "came through CloudFront; "
            + (
                "the ALB admits direct clients too, but only on its own hosts' rules, which "
                "never route CloudFront's paths."
                if cfg.direct_clients
                else "the ALB also admits only CloudFront's prefix list."
            )
        ),
    }
    for name, spec in cfg.secrets.items():
        story = (
            "Rewritten from the application's database login after every rotation of it, by "
            "the credential-refresh function, which then rolls the services using it."
            if spec.kind is SecretKind.DATABASE_URL
            else f"{name} is not rotated by Secrets Manager; as declared: {spec.rotation}"
        )
        stories[f"AppSecret-{name}/Resource"] = story
    return [Ack(path, rule, reason) for path, reason in stories.items() for rule in ROTATION]


def _buckets(stack: DataStack) -> list[Ack]:
    cfg = stack.cfg
    found = [
        *access_log_bucket("AccessLogsBucket"),
        Ack(
            "AssetsBucket/Resource",
            "NIST.800.53.R5-S3BucketReplicationEnabled",
            "Static assets are build outputs, republished by every deploy; a region loss is "
            "recovered by deploying again, not from a replica.",
        ),
    ]
    for name, spec in cfg.buckets.items():
        if spec.replicate_to_dr:
            objects = f"<{logical_id(stack, stack.buckets[name])}.Arn>/*"
            found += [
                Ack(
                    f"{pascal(name)}ReplicationPolicy/Resource",
                    f"AwsSolutions-IAM5[Resource::{resource}]",
                    "S3 replication reads every object version of the source and writes every "
                    "object of the replica: object ARNs are bucket/*; the policy names only these "
                    "two buckets, their two keys (via S3 only) and the replication actions.",
                )
                for resource in (objects, f"arn:aws:s3:::{cfg.replica_bucket_name(name)}/*")
            ]
        else:
            kept = (
                "AWS Backup keeps recovery points"
                if spec.backup
                else "versioning keeps overwritten objects"
            )
            found.append(
                Ack(
                    f"{bucket_id(name)}/Resource",
                    "NIST.800.53.R5-S3BucketReplicationEnabled",
                    f"buckets.{name}.replicate_to_dr is off in this stage: the product accepts "
                    f"one region for it (S3 stores every object across AZs) and {kept}.",
                )
            )
        if not spec.versioned:
            found.append(
                Ack(
                    f"{bucket_id(name)}/Resource",
                    "NIST.800.53.R5-S3BucketVersioningEnabled",
                    f"buckets.{name}.versioned is off by the product's choice: objects are "
                    "write-once (derived or temporary) and lifecycle rules expire them.",
                )
            )
    return found + _bucket_policies(stack)


def _bucket_policies(stack: DataStack) -> list[Ack]:
    """Grants are object-level by prefix: bucket ARN + /<prefix>*; exact actions, no wildcard."""
    found = []
    uses = [s.uses for s in stack.cfg.services.values()] + [
        f.uses for f in stack.cfg.functions.values()
    ]
    seen = set()
    for access in uses:
        for bucket, grant in access.bucket_grants():
            construct = policy_id(bucket, grant)
            if construct in seen or tree(stack).child(stack, construct) is None:
                continue
            seen.add(construct)
            arn = f"<{logical_id(stack, stack.buckets[bucket])}.Arn>/{grant.prefix}*"
            found.append(
                Ack(
                    f"{construct}/Resource",
                    f"AwsSolutions-IAM5[Resource::{arn}]",
                    "Object-level S3 permissions name objects by prefix: this managed policy "
                    f"grants exact {grant.access.value} actions on {bucket} objects only, with KMS "
                    "via S3 only.",
                )
            )
    return found


def _functions(stack: DataStack) -> list[Ack]:
    bootstrap = logical_id(stack, stack.node.find_child("DbBootstrap"))
    deploy_time = (
        "It runs only during deployments, invoked synchronously by CloudFormation's provider "
        "framework, which reports failures to CloudFormation itself: "
    )
    return [
        *lambda_roles(stack),
        Ack(
            "DbBootstrap/Resource",
            "NIST.800.53.R5-LambdaConcurrency",
            deploy_time + "a concurrency reservation would only take capacity from the account.",
        ),
        Ack(
            "DbBootstrap/Resource", "NIST.800.53.R5-LambdaDLQ", deploy_time + "no queue is needed."
        ),
        *(
            Ack(
                "DbBootstrapProvider/framework-onEvent/Resource",
                rule,
                "CDK's custom-resource provider framework (Node.js, written by CDK) only relays "
                "the bootstrap's answer to CloudFormation during deployments: outside the VPC, "
                "without a reservation or queue of its own.",
            )
            for rule in (
                "NIST.800.53.R5-LambdaConcurrency",
                "NIST.800.53.R5-LambdaDLQ",
                "NIST.800.53.R5-LambdaInsideVPC",
            )
        ),
        Ack(
            "DbBootstrapProvider/framework-onEvent/ServiceRole/DefaultPolicy/Resource",
            f"AwsSolutions-IAM5[Resource::<{bootstrap}.Arn>:*]",
            "The provider framework may invoke the bootstrap function and its versions "
            "(function ARN plus :*): one function, generated by CDK.",
        ),
    ]


def _migration_runner(stack: DataStack) -> list[Ack]:
    cfg = stack.cfg
    arn = f"arn:aws:{{}}:{stack.region}:{stack.account}:{{}}"
    reasons = {
        **{
            arn.format("cloudformation", f"stack/{cfg.stack_name(c)}/*"): (
                f"Reads the outputs of this stage's {c} stack (the suffix is CloudFormation's "
                "stack id, unknown before the stack exists)."
            )
            for c in ("data", "network")
        },
        arn.format("ecs", f"task-definition/{cfg.resource_name('migrate')}:*"): (
            "Runs a revision of the migrate family only, which only CloudFormation registers "
            "(this role cannot), and only on this stage's migration cluster (ecs:cluster "
            "condition)."
        ),
        arn.format("ecs", f"task/{cfg.resource_name('migrations')}/*"): (
            "Watches the migration task it started until it stops; task ids are generated per "
            "run, inside this stage's migration cluster only."
        ),
    }
    return [
        Ack("PipelineMigrationPolicy/Resource", f"AwsSolutions-IAM5[Resource::{resource}]", reason)
        for resource, reason in reasons.items()
    ]
