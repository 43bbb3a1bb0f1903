"""Data tier: the database, the cache, buckets, application secrets, backups, the database
bootstrap and the migration task.

Nothing here is lost by accident: stateful resources follow the stage's removal policies
(snapshot or retain outside dev), the database is deletion-protected in prod, and AWS Backup
keeps recovery points in a vault under its own key that, locked, nobody can empty early.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import CfnOutput
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_iam as iam
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from constructs_lib.function import tracing_policy
from constructs_lib.security_matrix import SecurityGroupMatrix
from infra.config import StageConfig
from infra.config.access import BucketGrant
from infra.stacks.base import PlatformStack
from infra.stacks.data.backups import build_backups
from infra.stacks.data.bootstrap import build_bootstrap
from infra.stacks.data.buckets import build_buckets
from infra.stacks.data.cache import build_cache
from infra.stacks.data.database import ISOLATED, build_database
from infra.stacks.data.grants import GrantKey, bucket_policy
from infra.stacks.data.migration import build_migration
from infra.stacks.data.secrets import build_app_secrets, build_origin_verify
from infra.stacks.data.sleep import build_sleep

if TYPE_CHECKING:
    from infra.stacks.dr import DisasterRecoveryStack


class DataStack(PlatformStack):
    def __init__(
        self,
        scope: Construct,
        cfg: StageConfig,
        *,
        vpc: ec2.IVpc,
        security_groups: SecurityGroupMatrix,
        dr: DisasterRecoveryStack | None = None,
    ) -> None:
        super().__init__(
            scope,
            cfg,
            "data",
            description="databases, caches, buckets, keys and backups",
            cross_region_references=dr is not None,
        )
        self.vpc = vpc
        self.security_groups = security_groups
        self.bucket_policies: dict[GrantKey, iam.ManagedPolicy] = {}
        """Bucket access policies by (bucket, access, prefix); see grants.bucket_policy."""
        self.bucket_policy_ids: dict[str, GrantKey] = {}
        """Whose policy each construct id is: two grants never share one."""
        self.key = self.stage_key("DataKey", "data", "data at rest")
        self.tracing = tracing_policy(self)
        self.database_subnets = rds.SubnetGroup(
            self,
            "DatabaseSubnets",
            vpc=vpc,
            vpc_subnets=ISOLATED,
            description=f"{cfg.resource_name('database')}: isolated subnets",
        )
        self.cache_subnets = elasticache.CfnSubnetGroup(
            self,
            "CacheSubnets",
            description=f"{cfg.resource_name('cache')}: isolated subnets",
            subnet_ids=vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED).subnet_ids,
        )
        self.database = build_database(self)
        self.cache = build_cache(self)
        self.app_secrets = build_app_secrets(self)
        self.origin_verify_secret = build_origin_verify(self)
        parts = build_buckets(self, dr)
        self.access_logs: s3.Bucket = parts.access_logs
        self.assets: s3.Bucket = parts.assets
        self.buckets: dict[str, s3.Bucket] = parts.buckets
        bootstrap = build_bootstrap(self, self.database, self.app_secrets)
        self.database.app_rotation.node.add_dependency(bootstrap)  # the user exists first
        backed_up = {
            name: self.buckets[name].bucket_arn for name, b in cfg.buckets.items() if b.backup
        }
        build_backups(self, dr, backed_up)
        build_migration(self)
        build_sleep(self)
        CfnOutput(self, "DatabaseEndpoint", value=self.database.endpoint, description="Writer")
        CfnOutput(
            self,
            "DatabaseAppSecretName",
            value=cfg.secret_name("database/app"),
            description="The application's login (host, port, username, password)",
        )

    @property
    def app_database_secret(self) -> secretsmanager.ISecret:
        return self.database.app_secret

    @property
    def cache_auth_token(self) -> secretsmanager.ISecret:
        return self.cache.auth_token

    def grant_bucket(self, role: iam.IRole, bucket: str, grant: BucketGrant) -> None:
        """Attach the data stack's managed policy for this bucket, access level and prefix."""
        role.add_managed_policy(bucket_policy(self, bucket, grant))

    def keep_bucket_grant(self, bucket: str, grant: BucketGrant) -> None:
        """The same policy, exported but attached to nobody (a placeholder's declared use): the
        export a release imports exists before and after it, so neither deploy removes an
        export another stack still imports."""
        self.export_value(bucket_policy(self, bucket, grant).managed_policy_arn)
