"""The database: RDS instance (PostgreSQL, MySQL) or Aurora cluster, its credentials and rotation.

Two logins: the master user, for rotation and migrations only, and the application's own
least-privilege user, whose secret rotates with alternating users. After a rotation the previous
login keeps working until the next one, so running tasks never hold a dead password while the
credential-refresh function rolls them onto the new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager

from constructs_lib.durations import days, seconds
from infra.config.databases import DatabaseConfig, DatabaseEngine
from infra.stacks.base import removal

if TYPE_CHECKING:
    from infra.stacks.data import DataStack

MASTER_USERNAME = "platform_admin"
ISOLATED = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
PRIVATE = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
LOG_EXPORTS = {
    DatabaseEngine.POSTGRES: ("postgresql", "upgrade"),
    DatabaseEngine.MYSQL: ("error", "slowquery", "audit"),
    DatabaseEngine.AURORA_POSTGRESQL: ("postgresql",),
    DatabaseEngine.AURORA_MYSQL: ("audit", "error", "slowquery"),
}
# TLS-only connections, plus an audit trail of logins and schema/permission changes on MySQL.
ENGINE_PARAMETERS = {
    DatabaseEngine.POSTGRES: {"rds.force_ssl": "1"},
    DatabaseEngine.AURORA_POSTGRESQL: {"rds.force_ssl": "1"},
    DatabaseEngine.MYSQL: {"require_secure_transport": "ON"},
    DatabaseEngine.AURORA_MYSQL: {
        "require_secure_transport": "ON",
        "server_audit_logging": "1",
        "server_audit_events": "CONNECT,QUERY_DCL,QUERY_DDL",
    },
}


@dataclass(frozen=True)
class DatabaseParts:
    database: rds.DatabaseInstance | rds.DatabaseCluster
    master_secret: secretsmanager.ISecret
    app_secret: secretsmanager.ISecret
    app_rotation: secretsmanager.RotationSchedule
    read_replica: rds.DatabaseInstanceReadReplica | None

    @property
    def arn(self) -> str:
        if isinstance(self.database, rds.DatabaseCluster):
            return self.database.cluster_arn
        return self.database.instance_arn

    @property
    def endpoint(self) -> str:
        if isinstance(self.database, rds.DatabaseCluster):
            return self.database.cluster_endpoint.hostname
        return self.database.db_instance_endpoint_address


def build_database(stack: DataStack) -> DatabaseParts:
    cfg, db = stack.cfg, stack.cfg.data.database
    identifier = cfg.resource_name("db")
    kind = "cluster" if db.engine.is_aurora else "instance"
    log_groups = _log_exports(stack, "DatabaseLogs", f"/aws/rds/{kind}/{identifier}", db)
    master = rds.DatabaseSecret(
        stack,
        "DatabaseSecret",
        username=MASTER_USERNAME,
        secret_name=cfg.secret_name("database/master"),
        encryption_key=stack.key,
    )
    master.apply_removal_policy(removal(cfg.removal_policy))  # restores of snapshots need it
    shared: dict[str, Any] = {
        "vpc": stack.vpc,
        "subnet_group": stack.database_subnets,
        "security_groups": [stack.security_groups.group("database")],
        "credentials": rds.Credentials.from_secret(master),
        "iam_authentication": True,
        "storage_encrypted": True,
        "storage_encryption_key": stack.key,
        "cloudwatch_logs_exports": list(LOG_EXPORTS[db.engine]),
        "monitoring_interval": seconds(db.monitoring_interval_seconds),
        "preferred_maintenance_window": db.maintenance_window,
        "deletion_protection": db.deletion_protection,
        "removal_policy": removal(db.removal_policy),
        "copy_tags_to_snapshot": True,
    }
    per_instance: dict[str, Any] = {  # Aurora sets these on the writer and each reader
        "instance_type": ec2.InstanceType(db.instance_class.removeprefix("db.")),
        "enable_performance_insights": True,
        "performance_insight_encryption_key": stack.key,
        "performance_insight_retention": _insights_retention(
            db.performance_insights_retention_days
        ),
        "publicly_accessible": False,
        "auto_minor_version_upgrade": True,
        "ca_certificate": rds.CaCertificate.RDS_CA_RSA2048_G1,
    }
    replica = None
    if db.engine.is_aurora:
        database: rds.DatabaseInstance | rds.DatabaseCluster = _aurora_cluster(
            stack, db, identifier, shared, per_instance
        )
    else:
        database, parameters = _instance(stack, db, identifier, shared, per_instance)
        if db.read_replica:
            replica = _read_replica(
                stack,
                database,
                parameters=parameters,
                db=db,
                identifier=identifier,
                per_instance=per_instance,
            )
    database.node.add_dependency(*log_groups)  # RDS must find them, not create them
    assert database.secret is not None  # the master secret, attached (host, port) by CDK
    attached_master = database.secret

    # The bootstrap logs in as master during the first deploy: no rotation may race it.
    _rotate(stack, attached_master, "Rotation", cfg.resource_name("db-rotation"))
    app = rds.DatabaseSecret(
        stack,
        "AppDatabaseSecret",
        username=db.app_username,
        secret_name=cfg.secret_name("database/app"),
        encryption_key=stack.key,
        master_secret=master,  # alternating-users rotation logs in as master to clone the user
        exclude_characters=" %+~`#$&*()|[]{}:;<>?!'/@\"\\",  # safe inside a connection URL
    )
    app.apply_removal_policy(removal(cfg.removal_policy))
    attached = app.attach(database)
    # The bootstrap creates the user first: no rotation on the deploy that creates the secret.
    app_rotation = _rotate(
        stack, attached, "AppRotation", cfg.resource_name("db-app-rotation"), master=master
    )
    return DatabaseParts(database, attached_master, attached, app_rotation, replica)


def _rotate(
    stack: DataStack,
    secret: secretsmanager.ISecret,
    construct_id: str,
    function_name: str,
    *,
    master: secretsmanager.ISecret | None = None,
) -> secretsmanager.RotationSchedule:
    """A hosted rotation of `secret` every credential_rotation_days, never on the deploy that
    creates it: single-user, or alternating users logging in as `master`."""
    db = stack.cfg.data.database
    options: dict[str, Any] = {
        "function_name": function_name,
        "vpc": stack.vpc,
        "vpc_subnets": PRIVATE,
        "security_groups": [stack.security_groups.group("rotation")],
    }
    hosted = secretsmanager.HostedRotation
    if master is None:
        rotation = (
            hosted.mysql_single_user(**options)
            if db.engine.is_mysql
            else hosted.postgre_sql_single_user(**options)
        )
    else:
        rotation = (
            hosted.mysql_multi_user(master_secret=master, **options)
            if db.engine.is_mysql
            else hosted.postgre_sql_multi_user(master_secret=master, **options)
        )
    return secret.add_rotation_schedule(
        construct_id,
        hosted_rotation=rotation,
        automatically_after=days(db.credential_rotation_days),
        rotate_immediately_on_update=False,
    )


def _insights_retention(kept: int) -> rds.PerformanceInsightRetention:
    if kept == 7:  # noqa: PLR2004
        return rds.PerformanceInsightRetention.DEFAULT
    if kept == 731:  # noqa: PLR2004
        return rds.PerformanceInsightRetention.LONG_TERM
    return getattr(rds.PerformanceInsightRetention, f"MONTHS_{kept // 31}")  # type: ignore[no-any-return]


def _parameter_group(
    stack: DataStack, engine: rds.IEngine, db: DatabaseConfig, identifier: str
) -> rds.ParameterGroup:
    return rds.ParameterGroup(
        stack,
        "DatabaseParameters",
        engine=engine,
        description=f"{identifier}: TLS only",
        parameters={**ENGINE_PARAMETERS[db.engine], **db.parameters},
    )


def _aurora_cluster(
    stack: DataStack,
    db: DatabaseConfig,
    identifier: str,
    shared: dict[str, Any],
    per_instance: dict[str, Any],
) -> rds.DatabaseCluster:
    major = db.engine.major(db.engine_version)
    engine = (
        rds.DatabaseClusterEngine.aurora_mysql(
            version=rds.AuroraMysqlEngineVersion.of(db.engine_version, major)
        )
        if db.engine is DatabaseEngine.AURORA_MYSQL
        else rds.DatabaseClusterEngine.aurora_postgres(
            version=rds.AuroraPostgresEngineVersion.of(db.engine_version, major)
        )
    )
    return rds.DatabaseCluster(
        stack,
        "Database",
        cluster_identifier=identifier,
        engine=engine,
        writer=rds.ClusterInstance.provisioned("Writer", **per_instance),
        readers=[
            rds.ClusterInstance.provisioned(f"Reader{index + 1}", **per_instance)
            for index in range(db.readers)
        ],
        default_database_name=db.database_name,
        parameter_group=_parameter_group(stack, engine, db, identifier),
        backup=rds.BackupProps(
            retention=days(db.backup_retention_days), preferred_window=db.backup_window
        ),
        **shared,
    )


def _instance(
    stack: DataStack,
    db: DatabaseConfig,
    identifier: str,
    shared: dict[str, Any],
    per_instance: dict[str, Any],
) -> tuple[rds.DatabaseInstance, rds.ParameterGroup]:
    major = db.engine.major(db.engine_version)
    engine = (
        rds.DatabaseInstanceEngine.mysql(
            version=rds.MysqlEngineVersion.of(db.engine_version, major)
        )
        if db.engine is DatabaseEngine.MYSQL
        else rds.DatabaseInstanceEngine.postgres(
            version=rds.PostgresEngineVersion.of(db.engine_version, major)
        )
    )
    parameters = _parameter_group(stack, engine, db, identifier)
    instance = rds.DatabaseInstance(
        stack,
        "Database",
        instance_identifier=identifier,
        engine=engine,
        database_name=db.database_name,
        parameter_group=parameters,
        option_group=_mysql_audit(stack, engine, identifier) if db.engine.is_mysql else None,
        storage_type=rds.StorageType.GP3,
        allocated_storage=db.allocated_storage_gib,
        max_allocated_storage=db.max_allocated_storage_gib,
        multi_az=db.multi_az,
        backup_retention=days(db.backup_retention_days),
        preferred_backup_window=db.backup_window,
        delete_automated_backups=False,
        **shared,
        **per_instance,
    )
    return instance, parameters


def _mysql_audit(stack: DataStack, engine: rds.IInstanceEngine, identifier: str) -> rds.OptionGroup:
    """RDS for MySQL audits logins and schema/permission changes through the MariaDB plugin."""
    return rds.OptionGroup(
        stack,
        "DatabaseOptions",
        engine=engine,
        description=f"{identifier}: audit plugin",
        configurations=[
            rds.OptionConfiguration(
                name="MARIADB_AUDIT_PLUGIN",
                settings={"SERVER_AUDIT_EVENTS": "CONNECT,QUERY_DDL,QUERY_DCL"},
            )
        ],
    )


def _log_exports(
    stack: DataStack, construct_id: str, prefix: str, db: DatabaseConfig
) -> list[logs.LogGroup]:
    """Groups for the exported logs, encrypted and retained our way; the instance must depend on
    them, so RDS writes into them instead of creating (and colliding with) its own."""
    return [
        stack.log_group(
            f"{construct_id}-{name}", f"{prefix}/{name}", stack.key, stack.cfg.retention("database")
        )
        for name in LOG_EXPORTS[db.engine]
    ]


def _read_replica(
    stack: DataStack,
    source: rds.DatabaseInstance,
    *,
    parameters: rds.IParameterGroup,
    db: DatabaseConfig,
    identifier: str,
    per_instance: dict[str, Any],
) -> rds.DatabaseInstanceReadReplica:
    replica_id = f"{identifier}-replica"
    log_groups = _log_exports(stack, "ReplicaLogs", f"/aws/rds/instance/{replica_id}", db)
    replica = rds.DatabaseInstanceReadReplica(
        stack,
        "DatabaseReplica",
        instance_identifier=replica_id,
        source_database_instance=source,
        vpc=stack.vpc,
        subnet_group=stack.database_subnets,
        security_groups=[stack.security_groups.group("database")],
        parameter_group=parameters,
        storage_type=rds.StorageType.GP3,  # encryption is inherited from the source
        max_allocated_storage=db.max_allocated_storage_gib,
        cloudwatch_logs_exports=list(LOG_EXPORTS[db.engine]),
        monitoring_interval=seconds(db.monitoring_interval_seconds),
        multi_az=False,
        deletion_protection=db.deletion_protection,
        removal_policy=removal(db.removal_policy),
        **per_instance,
    )
    replica.node.add_dependency(*log_groups)
    return replica
