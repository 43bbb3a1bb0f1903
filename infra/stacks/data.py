"""Data tier: PostgreSQL (or Aurora), Redis/Valkey, S3 buckets, keys, secrets and backups.

Nothing here is lost by accident: stateful resources follow the stage's removal policies
(snapshot or retain outside dev), the database is deletion-protected in prod, and AWS Backup
keeps recovery points in a vault encrypted with its own key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration, region_info
from aws_cdk import aws_backup as backup
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from constructs_lib.buckets import SecureBucketProps, log_bucket, secure_bucket
from constructs_lib.security_matrix import SecurityGroupMatrix
from infra.config import StageConfig
from infra.config.data import CacheConfig, DatabaseConfig
from infra.config.data_validation import engine_major
from infra.config.primitives import DatabaseEngine
from infra.stacks.base import PlatformStack
from infra.stacks.dr import DisasterRecoveryStack

MASTER_USERNAME = "platform_admin"

ISOLATED = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
PRIVATE = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
LOG_EXPORTS = {
    DatabaseEngine.POSTGRES: ("postgresql", "upgrade"),
    DatabaseEngine.AURORA_POSTGRESQL: ("postgresql",),
    DatabaseEngine.AURORA_MYSQL: ("audit", "error", "slowquery"),
}
# TLS-only connections, plus an audit trail of logins and schema/permission changes on MySQL.
ENGINE_PARAMETERS = {
    DatabaseEngine.POSTGRES: {"rds.force_ssl": "1"},
    DatabaseEngine.AURORA_POSTGRESQL: {"rds.force_ssl": "1"},
    DatabaseEngine.AURORA_MYSQL: {
        "require_secure_transport": "ON",
        "server_audit_logging": "1",
        "server_audit_events": "CONNECT,QUERY_DCL,QUERY_DDL",
    },
}


_READ: tuple[tuple[tuple[str, ...], str], ...] = (
    (("s3:ListBucket",), ""),
    (("s3:GetObject",), "*"),
)
_WRITE: tuple[tuple[tuple[str, ...], str], ...] = (
    (("s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"), "*"),
)


@dataclass(frozen=True)
class _Replication:
    rules: list[s3.ReplicationRule]
    role: iam.Role
    policy: iam.ManagedPolicy
    replica: s3.IBucket
    replica_key: kms.IKey


def _insights_retention(days: int) -> rds.PerformanceInsightRetention:
    if days == 7:  # noqa: PLR2004
        return rds.PerformanceInsightRetention.DEFAULT
    if days == 731:  # noqa: PLR2004
        return rds.PerformanceInsightRetention.LONG_TERM
    return getattr(rds.PerformanceInsightRetention, f"MONTHS_{days // 31}")  # type: ignore[no-any-return]


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
        self.key = self.stage_key("DataKey", "data", "data at rest")
        self.read_replica: rds.DatabaseInstanceReadReplica | None = None
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

        self._database(cfg.data.database)
        self._cache(cfg.data.cache)
        self._application_secrets()
        self._buckets(dr)
        self._backups(dr)

    # -- database -------------------------------------------------------------------------

    def _database(self, db: DatabaseConfig) -> None:
        cfg = self.cfg
        identifier = cfg.resource_name("db")
        major = engine_major(db.engine, db.engine_version)
        kind = "cluster" if db.engine.is_aurora else "instance"
        log_groups = self._log_exports("DatabaseLogs", f"/aws/rds/{kind}/{identifier}", db)
        master_secret = rds.DatabaseSecret(
            self,
            "DatabaseSecret",
            username=MASTER_USERNAME,
            secret_name=f"{cfg.project}/{cfg.name}/database/master",
            encryption_key=self.key,
        )
        master_secret.apply_removal_policy(cfg.removal_policy)  # restores of snapshots need it
        credentials = rds.Credentials.from_secret(master_secret)
        tls = ENGINE_PARAMETERS[db.engine]
        shared: dict[str, Any] = {
            "vpc": self.vpc,
            "subnet_group": self.database_subnets,
            "security_groups": [self.security_groups.group("database")],
            "credentials": credentials,
            "iam_authentication": True,
            "storage_encrypted": True,
            "storage_encryption_key": self.key,
            "cloudwatch_logs_exports": list(LOG_EXPORTS[db.engine]),
            "monitoring_interval": Duration.seconds(db.monitoring_interval_seconds),
            "preferred_maintenance_window": db.maintenance_window,
            "deletion_protection": db.deletion_protection,
            "removal_policy": db.removal_policy,
            "copy_tags_to_snapshot": True,
        }
        per_instance: dict[str, Any] = {  # Aurora sets these on the writer and each reader
            "enable_performance_insights": True,
            "performance_insight_encryption_key": self.key,
            "performance_insight_retention": _insights_retention(
                db.performance_insights_retention_days
            ),
            "publicly_accessible": False,
            "auto_minor_version_upgrade": True,
            "ca_certificate": rds.CaCertificate.RDS_CA_RSA2048_G1,
        }
        self.database = (
            self._aurora_cluster(
                db,
                identifier=identifier,
                major=major,
                tls=tls,
                shared=shared,
                per_instance=per_instance,
            )
            if db.engine.is_aurora
            else self._postgres_instance(
                db,
                identifier=identifier,
                major=major,
                tls=tls,
                shared=shared,
                per_instance=per_instance,
            )
        )
        self.database.node.add_dependency(*log_groups)  # RDS must find them, not create them

        assert self.database.secret is not None  # generated above
        self.database_secret: secretsmanager.ISecret = self.database.secret
        rotation = (
            secretsmanager.HostedRotation.mysql_single_user
            if db.engine is DatabaseEngine.AURORA_MYSQL
            else secretsmanager.HostedRotation.postgre_sql_single_user
        )
        self.database_secret.add_rotation_schedule(
            "Rotation",
            hosted_rotation=rotation(
                function_name=cfg.resource_name("db-rotation"),
                vpc=self.vpc,
                vpc_subnets=PRIVATE,
                security_groups=[self.security_groups.group("rotation")],
            ),
            automatically_after=Duration.days(db.credential_rotation_days),
        )

    def _aurora_cluster(
        self,
        db: DatabaseConfig,
        *,
        identifier: str,
        major: str,
        tls: dict[str, str],
        shared: dict[str, Any],
        per_instance: dict[str, Any],
    ) -> rds.DatabaseCluster:
        engine = (
            rds.DatabaseClusterEngine.aurora_mysql(
                version=rds.AuroraMysqlEngineVersion.of(db.engine_version, major)
            )
            if db.engine is DatabaseEngine.AURORA_MYSQL
            else rds.DatabaseClusterEngine.aurora_postgres(
                version=rds.AuroraPostgresEngineVersion.of(db.engine_version, major)
            )
        )
        instance_type = ec2.InstanceType(db.instance_class)
        return rds.DatabaseCluster(
            self,
            "Database",
            cluster_identifier=identifier,
            engine=engine,
            writer=rds.ClusterInstance.provisioned(
                "Writer", instance_type=instance_type, **per_instance
            ),
            readers=[
                rds.ClusterInstance.provisioned(
                    f"Reader{index + 1}", instance_type=instance_type, **per_instance
                )
                for index in range(db.readers)
            ],
            default_database_name=db.database_name,
            parameter_group=rds.ParameterGroup(
                self,
                "DatabaseParameters",
                engine=engine,
                description=f"{identifier}: TLS only",
                parameters={**tls, **dict(db.parameters)},
            ),
            backup=rds.BackupProps(
                retention=Duration.days(db.backup_retention_days),
                preferred_window=db.backup_window,
            ),
            **shared,
        )

    def _postgres_instance(
        self,
        db: DatabaseConfig,
        *,
        identifier: str,
        major: str,
        tls: dict[str, str],
        shared: dict[str, Any],
        per_instance: dict[str, Any],
    ) -> rds.DatabaseInstance:
        engine = rds.DatabaseInstanceEngine.postgres(
            version=rds.PostgresEngineVersion.of(db.engine_version, major)
        )
        parameters = rds.ParameterGroup(
            self,
            "DatabaseParameters",
            engine=engine,
            description=f"{identifier}: TLS only",
            parameters={**tls, **dict(db.parameters)},
        )
        instance = rds.DatabaseInstance(
            self,
            "Database",
            instance_identifier=identifier,
            engine=engine,
            instance_type=ec2.InstanceType(db.instance_class),
            database_name=db.database_name,
            parameter_group=parameters,
            storage_type=rds.StorageType.GP3,
            allocated_storage=db.allocated_storage_gib,
            max_allocated_storage=db.max_allocated_storage_gib,
            multi_az=db.multi_az,
            backup_retention=Duration.days(db.backup_retention_days),
            preferred_backup_window=db.backup_window,
            delete_automated_backups=False,
            **shared,
            **per_instance,
        )
        if db.read_replica:
            self._read_replica(instance, parameters, db, identifier, per_instance)
        return instance

    def _log_exports(
        self, construct_id: str, prefix: str, db: DatabaseConfig
    ) -> list[logs.LogGroup]:
        """Groups for the exported logs, encrypted and retained our way; the instance must
        depend on them, so RDS writes into them instead of creating (and colliding with) its own."""
        return [
            self.log_group(f"{construct_id}-{name}", f"{prefix}/{name}", self.key)
            for name in LOG_EXPORTS[db.engine]
        ]

    def _read_replica(
        self,
        source: rds.DatabaseInstance,
        parameters: rds.IParameterGroup,
        db: DatabaseConfig,
        identifier: str,
        per_instance: dict[str, Any],
    ) -> None:
        replica_id = f"{identifier}-replica"
        log_groups = self._log_exports("ReplicaLogs", f"/aws/rds/instance/{replica_id}", db)
        self.read_replica = rds.DatabaseInstanceReadReplica(
            self,
            "DatabaseReplica",
            instance_identifier=replica_id,
            source_database_instance=source,
            instance_type=ec2.InstanceType(db.instance_class),
            vpc=self.vpc,
            subnet_group=self.database_subnets,
            security_groups=[self.security_groups.group("database")],
            parameter_group=parameters,
            storage_type=rds.StorageType.GP3,  # encryption is inherited from the source
            max_allocated_storage=db.max_allocated_storage_gib,
            cloudwatch_logs_exports=list(LOG_EXPORTS[db.engine]),
            monitoring_interval=Duration.seconds(db.monitoring_interval_seconds),
            multi_az=False,
            deletion_protection=db.deletion_protection,
            removal_policy=db.removal_policy,
            **per_instance,
        )
        self.read_replica.node.add_dependency(*log_groups)  # was missing: RDS could win the race

    # -- cache ----------------------------------------------------------------------------

    def _cache(self, cache: CacheConfig) -> None:
        cfg = self.cfg
        self.cache_auth_token = secretsmanager.Secret(
            self,
            "CacheAuthToken",
            secret_name=f"{cfg.project}/{cfg.name}/cache/auth-token",
            description="AUTH token of the cache (clients connect over TLS with it)",
            encryption_key=self.key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
            removal_policy=cfg.removal_policy,
        )
        delivery = []
        for log_type in ("slow-log", "engine-log"):
            log_group = self.log_group(
                f"CacheLogs-{log_type}", cfg.log_name(f"cache/{log_type}"), self.key
            )
            delivery.append(
                elasticache.CfnReplicationGroup.LogDeliveryConfigurationRequestProperty(
                    log_type=log_type,
                    log_format="json",
                    destination_type="cloudwatch-logs",
                    destination_details=elasticache.CfnReplicationGroup.DestinationDetailsProperty(
                        cloud_watch_logs_details=elasticache.CfnReplicationGroup.CloudWatchLogsDestinationDetailsProperty(
                            log_group=log_group.log_group_name
                        )
                    ),
                )
            )
        cluster_mode = cache.shards > 1
        major = cache.engine_version.split(".")[0]
        self.cache = elasticache.CfnReplicationGroup(
            self,
            "Cache",
            replication_group_id=cfg.resource_name("cache"),
            replication_group_description=f"{cfg.resource_name('cache')}: sessions, cache, queues",
            engine=cache.engine,
            engine_version=cache.engine_version,
            cache_node_type=cache.node_type,
            num_node_groups=cache.shards,
            replicas_per_node_group=cache.replicas_per_shard,
            cluster_mode="enabled" if cluster_mode else "disabled",
            cache_parameter_group_name=(
                f"default.{cache.engine}{major}.cluster.on" if cluster_mode else None
            ),
            automatic_failover_enabled=cache.replicas_per_shard > 0,
            multi_az_enabled=cache.multi_az,
            cache_subnet_group_name=self.cache_subnets.ref,
            security_group_ids=[self.security_groups.group("cache").security_group_id],
            port=cfg.ports.cache,
            at_rest_encryption_enabled=True,
            kms_key_id=self.key.key_arn,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            auth_token=self.cache_auth_token.secret_value.unsafe_unwrap(),  # a dynamic reference
            snapshot_retention_limit=cache.snapshot_retention_days,
            snapshot_window=cache.snapshot_window,
            preferred_maintenance_window=cache.maintenance_window,
            auto_minor_version_upgrade=True,
            log_delivery_configurations=delivery,
        )
        self.cache.apply_removal_policy(cache.removal_policy)

    def _application_secrets(self) -> None:
        cfg = self.cfg
        self.app_secret = secretsmanager.Secret(
            self,
            "AppSecret",
            secret_name=f"{cfg.project}/{cfg.name}/app",
            description="Application secrets: JWT signing key; add third-party API keys here",
            encryption_key=self.key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template="{}",
                generate_string_key="jwt_secret",
                password_length=64,
                exclude_punctuation=True,
            ),
            removal_policy=cfg.removal_policy,
        )
        self.origin_verify_secret = secretsmanager.Secret(
            self,
            "OriginVerifySecret",
            secret_name=f"{cfg.project}/{cfg.name}/origin-verify",
            description="Header value CloudFront sends and the load balancer requires",
            encryption_key=self.key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=48, exclude_punctuation=True
            ),
            removal_policy=cfg.removal_policy,
        )

    # -- access for consumers (typed grants, no wildcard actions) ------------------------------

    def grant_uploads_read_write(self, role: iam.IRole) -> None:
        role.add_managed_policy(self._uploads_policy("UploadsReadWrite", _READ + _WRITE))

    def grant_uploads_read(self, role: iam.IRole) -> None:
        role.add_managed_policy(self._uploads_policy("UploadsRead", _READ))

    def grant_reports_write(self, role: iam.IRole) -> None:
        role.add_managed_policy(
            self._uploads_policy("ReportsWrite", ((("s3:PutObject",), "reports/*"),))
        )

    def _uploads_policy(
        self, name: str, grants: tuple[tuple[tuple[str, ...], str], ...]
    ) -> iam.ManagedPolicy:
        """One managed policy per access level, shared by every role that needs it. It lives
        here and the consumer's role attaches it, so nothing here points at the consumer."""
        existing = self.node.try_find_child(name)
        if existing is not None:
            return existing  # type: ignore[return-value]
        statements = [
            iam.PolicyStatement(
                actions=list(actions),
                resources=[
                    self.uploads.bucket_arn if scope == "" else self.uploads.arn_for_objects(scope)
                ],
            )
            for actions, scope in grants
        ]
        writes = any(action.startswith("s3:Put") for actions, _ in grants for action in actions)
        statements.append(
            iam.PolicyStatement(
                actions=["kms:Decrypt", *(["kms:GenerateDataKey"] if writes else [])],
                resources=[self.key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{self.region}.amazonaws.com"}},
            )
        )
        return iam.ManagedPolicy(
            self,
            name,
            managed_policy_name=self.cfg.resource_name(f"uploads-{name.lower()}"),
            description=f"{name} access to the uploads bucket",
            statements=statements,
        )

    # -- buckets --------------------------------------------------------------------------

    def _buckets(self, dr: DisasterRecoveryStack | None) -> None:
        cfg, data = self.cfg, self.cfg.data
        # SSE-S3 and ACLs: ALB access logs require SSE-S3, CloudFront standard logs need ACLs.
        self.access_logs = log_bucket(
            self,
            "AccessLogsBucket",
            retention_days=data.access_log_retention_days,
            removal_policy=cfg.removal_policy,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
        )
        self._allow_load_balancer_logs()

        uploads = data.uploads
        transitions = [
            s3.Transition(storage_class=storage, transition_after=Duration.days(days))
            for storage, days in (
                (s3.StorageClass.INFREQUENT_ACCESS, uploads.infrequent_access_after_days),
                (s3.StorageClass.GLACIER, uploads.glacier_after_days),
            )
            if days is not None
        ]
        noncurrent = (
            [
                s3.NoncurrentVersionTransition(
                    storage_class=s3.StorageClass.GLACIER,
                    transition_after=Duration.days(uploads.noncurrent_glacier_after_days),
                )
            ]
            if uploads.noncurrent_glacier_after_days is not None
            else []
        )
        replication = self._replication(dr) if uploads.replicate_to_dr else None
        self.uploads = secure_bucket(
            self,
            "UploadsBucket",
            SecureBucketProps(
                encryption_key=self.key,
                access_logs=self.access_logs,
                access_logs_prefix="s3/uploads/",
                removal_policy=cfg.removal_policy,
                lifecycle_rules=[
                    s3.LifecycleRule(
                        id="tiering",
                        transitions=transitions,
                        noncurrent_version_transitions=noncurrent,
                        noncurrent_version_expiration=Duration.days(uploads.noncurrent_expiry_days),
                        abort_incomplete_multipart_upload_after=Duration.days(7),
                    )
                ],
                replication_rules=replication.rules if replication else (),
                replication_role=replication.role if replication else None,
            ),
        )
        if replication:
            self._grant_replication(replication)
        self.assets = secure_bucket(
            self,
            "AssetsBucket",
            SecureBucketProps(
                encryption_key=self.key,
                access_logs=self.access_logs,
                access_logs_prefix="s3/assets/",
                removal_policy=cfg.removal_policy,
                lifecycle_rules=[
                    s3.LifecycleRule(
                        id="old-builds", noncurrent_version_expiration=Duration.days(30)
                    )
                ],
            ),
        )
        self._allow_cloudfront_assets()
        self.backups = secure_bucket(
            self,
            "BackupsBucket",
            SecureBucketProps(
                encryption_key=self.key,
                access_logs=self.access_logs,
                access_logs_prefix="s3/backups/",
                removal_policy=cfg.removal_policy,
                lifecycle_rules=[
                    s3.LifecycleRule(
                        id="archive",
                        transitions=[
                            s3.Transition(
                                storage_class=s3.StorageClass.GLACIER,
                                transition_after=Duration.days(
                                    data.backups_bucket_glacier_after_days
                                ),
                            )
                        ],
                        expiration=Duration.days(data.backups_bucket_expiry_days),
                        noncurrent_version_expiration=Duration.days(30),
                    )
                ],
            ),
        )

    def _allow_cloudfront_assets(self) -> None:
        """Origin Access Control: CloudFront distributions of this account may read assets and
        decrypt them. Naming the account's distributions rather than one keeps the data stack
        free of references to the CDN stack, which depends on it."""
        distributions = f"arn:{self.partition}:cloudfront::{self.account}:distribution/*"
        cloudfront = iam.ServicePrincipal("cloudfront.amazonaws.com")
        condition = {"ArnLike": {"AWS:SourceArn": distributions}}
        self.assets.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudFrontReadAssets",
                principals=[cloudfront],
                actions=["s3:GetObject"],
                resources=[self.assets.arn_for_objects("*")],
                conditions=condition,
            )
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudFrontDecryptAssets",
                principals=[cloudfront],
                actions=["kms:Decrypt"],
                resources=["*"],  # in a key policy, "*" means this key
                conditions={
                    **condition,
                    "StringEquals": {"kms:ViaService": f"s3.{self.region}.amazonaws.com"},
                },
            )
        )

    def _allow_load_balancer_logs(self) -> None:
        """Load balancers write access logs under alb/ (the principal AWS documents per region)."""
        account = region_info.RegionInfo.get(self.region).elbv2_account
        principal: iam.IPrincipal = (
            iam.AccountPrincipal(account)
            if account
            else iam.ServicePrincipal("logdelivery.elasticloadbalancing.amazonaws.com")
        )
        self.access_logs.add_to_resource_policy(
            iam.PolicyStatement(
                sid="LoadBalancerAccessLogs",
                principals=[principal],
                actions=["s3:PutObject"],
                resources=[self.access_logs.arn_for_objects(f"alb/AWSLogs/{self.account}/*")],
            )
        )
        if self.cfg.compute.websocket_entry != "nlb":
            return
        # TLS listeners of network load balancers deliver logs through the log-delivery service.
        delivery = iam.ServicePrincipal("delivery.logs.amazonaws.com")
        same_account = {"aws:SourceAccount": self.account}
        self.access_logs.add_to_resource_policy(
            iam.PolicyStatement(
                sid="NetworkLoadBalancerAccessLogs",
                principals=[delivery],
                actions=["s3:PutObject"],
                resources=[self.access_logs.arn_for_objects(f"nlb/AWSLogs/{self.account}/*")],
                conditions={
                    "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", **same_account}
                },
            )
        )
        self.access_logs.add_to_resource_policy(
            iam.PolicyStatement(
                sid="NetworkLoadBalancerAclCheck",
                principals=[delivery],
                actions=["s3:GetBucketAcl"],
                resources=[self.access_logs.bucket_arn],
                conditions={"StringEquals": same_account},
            )
        )

    def _replication(self, dr: DisasterRecoveryStack | None) -> _Replication:
        """Replication to the DR bucket with a role that can do exactly that and nothing more."""
        assert dr is not None  # config validation guarantees a DR region
        replica = s3.Bucket.from_bucket_attributes(
            self,
            "ReplicaBucket",
            bucket_name=dr.replica_bucket_name,
            region=dr.region,
            account=self.account,
        )
        # The one cross-region reference: a key ARN never changes. Imported, so no grant can
        # write to the DR key policy and point back at this stack.
        replica_key = kms.Key.from_key_arn(self, "ReplicaKey", dr.key.key_arn)
        role = iam.Role(
            self,
            "ReplicationRole",
            assumed_by=iam.ServicePrincipal(
                "s3.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": self.account}}
            ),
            description="Replicates uploads to the disaster-recovery region",
        )
        rules = [
            s3.ReplicationRule(
                id="disaster-recovery",
                priority=1,
                destination=replica,
                kms_key=replica_key,
                sse_kms_encrypted_objects=True,
                delete_marker_replication=True,
                storage_class=s3.StorageClass.INFREQUENT_ACCESS,
            )
        ]
        policy = iam.ManagedPolicy(self, "ReplicationPolicy", roles=[role])
        return _Replication(rules, role, policy, replica, replica_key)

    def _grant_replication(self, replication: _Replication) -> None:
        """Statements from the S3 replication guide, scoped to these two buckets and keys."""
        replica, replica_key = replication.replica, replication.replica_key
        source = self.uploads
        statements = [
            (["s3:GetReplicationConfiguration", "s3:ListBucket"], [source.bucket_arn], None),
            (
                [
                    "s3:GetObjectVersionForReplication",
                    "s3:GetObjectVersionAcl",
                    "s3:GetObjectVersionTagging",
                ],
                [source.arn_for_objects("*")],
                None,
            ),
            (
                ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                [replica.arn_for_objects("*")],
                None,
            ),
            (["kms:Decrypt"], [self.key.key_arn], f"s3.{self.region}.amazonaws.com"),
            (["kms:Encrypt"], [replica_key.key_arn], f"s3.{replica.env.region}.amazonaws.com"),
        ]
        for actions, resources, via in statements:
            replication.policy.add_statements(
                iam.PolicyStatement(
                    actions=actions,
                    resources=resources,
                    conditions={"StringEquals": {"kms:ViaService": via}} if via else None,
                )
            )

    # -- backups --------------------------------------------------------------------------

    def _backups(self, dr: DisasterRecoveryStack | None) -> None:
        cfg, plan_cfg = self.cfg, self.cfg.data.backup
        vault = backup.BackupVault(
            self,
            "BackupVault",
            backup_vault_name=cfg.resource_name("vault"),
            encryption_key=self.stage_key("BackupKey", "backup", "backup vault"),
            removal_policy=cfg.removal_policy,
        )
        copy_to = (
            backup.BackupVault.from_backup_vault_arn(self, "DrVault", dr.vault_arn)
            if plan_cfg.copy_to_dr and dr is not None
            else None
        )

        def rule(name: str, days: int, schedule: events.Schedule) -> backup.BackupPlanRule:
            return backup.BackupPlanRule(
                rule_name=name,
                schedule_expression=schedule,
                delete_after=Duration.days(days),
                enable_continuous_backup=name == "Daily",  # point-in-time restore, RPO minutes
                copy_actions=(
                    [
                        backup.BackupPlanCopyActionProps(
                            destination_backup_vault=copy_to, delete_after=Duration.days(days)
                        )
                    ]
                    if copy_to is not None
                    else None
                ),
            )

        rules = [
            rule(
                "Daily", plan_cfg.daily_retention_days, events.Schedule.cron(hour="19", minute="0")
            )
        ]
        if plan_cfg.weekly_retention_days:
            rules.append(
                rule(
                    "Weekly",
                    plan_cfg.weekly_retention_days,
                    events.Schedule.cron(week_day="SUN", hour="20", minute="0"),
                )
            )
        if plan_cfg.monthly_retention_days:
            rules.append(
                rule(
                    "Monthly",
                    plan_cfg.monthly_retention_days,
                    events.Schedule.cron(day="1", hour="21", minute="0"),
                )
            )
        plan = backup.BackupPlan(
            self,
            "BackupPlan",
            backup_plan_name=cfg.resource_name("backup"),
            backup_vault=vault,
            backup_plan_rules=rules,
        )
        database_arn = (
            self.database.cluster_arn
            if isinstance(self.database, rds.DatabaseCluster)
            else self.database.instance_arn
        )
        plan.add_selection(
            "Selection",
            resources=[
                backup.BackupResource.from_arn(database_arn),
                backup.BackupResource.from_arn(self.uploads.bucket_arn),
            ],
            allow_restores=True,
        )
        self.backup_vault = vault
