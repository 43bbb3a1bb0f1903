"""Data tier guarantees, read from the synthesized templates: the database, its logins and
rotations, the cache, their log groups and the keys that encrypt them. Buckets and backups are
in test_buckets.py."""

from __future__ import annotations

import json

import pytest

from tests.conftest import STAGES
from tests.stacks import profile_stages
from tests.synth import Pool, Synthesized, resources
from tests.templates import deletion_policy, key_ref, mentions, one, role_statements

CONFIGS = {cfg.construct_id: cfg for cfg in profile_stages("default")}


@pytest.mark.parametrize("stage", STAGES)
def test_postgres_instance(platform: Synthesized, stage: str) -> None:
    db = CONFIGS[stage].data.database
    template = platform.template(stage, "data")
    database = one(template, "AWS::RDS::DBInstance", "Database")
    props = database["Properties"]
    assert props["DBInstanceIdentifier"] == f"webplat-{stage.lower()}-db"
    assert (props["Engine"], props["EngineVersion"]) == ("postgres", db.engine_version)
    assert props["DBInstanceClass"] == db.instance_class
    assert props["DBName"] == db.database_name
    assert props["MultiAZ"] is db.multi_az
    assert props["StorageType"] == "gp3"
    assert (props["AllocatedStorage"], props["MaxAllocatedStorage"]) == (
        str(db.allocated_storage_gib),
        db.max_allocated_storage_gib,
    )
    assert props["StorageEncrypted"] is True
    assert props["KmsKeyId"] == key_ref(template, "data")
    assert props["EnableIAMDatabaseAuthentication"] is True
    assert props["EnablePerformanceInsights"] is True
    assert props["PerformanceInsightsKMSKeyId"] == key_ref(template, "data")
    assert props["PerformanceInsightsRetentionPeriod"] == db.performance_insights_retention_days
    assert props["MonitoringInterval"] == db.monitoring_interval_seconds == 60
    assert "monitoring.rds.amazonaws.com" in json.dumps(
        template["Resources"][props["MonitoringRoleArn"]["Fn::GetAtt"][0]]
    )
    assert props["EnableCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    assert props["BackupRetentionPeriod"] == db.backup_retention_days
    assert props["PreferredBackupWindow"] == db.backup_window
    assert props["PreferredMaintenanceWindow"] == db.maintenance_window
    assert props["DeletionProtection"] is db.deletion_protection
    assert props["DeleteAutomatedBackups"] is False
    assert props["PubliclyAccessible"] is False
    assert (
        database["DeletionPolicy"]
        == database["UpdateReplacePolicy"]
        == deletion_policy(db.removal_policy)
    )
    (group,) = props["VPCSecurityGroups"]
    assert "SecurityGroupsdatabase" in group["Fn::ImportValue"]  # the matrix's database group
    subnets = template["Resources"][props["DBSubnetGroupName"]["Ref"]]["Properties"]["SubnetIds"]
    assert len(subnets) == len(CONFIGS[stage].network.availability_zones)
    assert all("isolatedSubnet" in s["Fn::ImportValue"] for s in subnets)


@pytest.mark.parametrize(
    ("stage", "multi_az", "protected"),
    [("Dev", False, False), ("Staging", True, True), ("Prod", True, True)],
)
def test_database_availability_per_stage(
    platform: Synthesized, stage: str, multi_az: bool, protected: bool
) -> None:
    props = one(platform.template(stage, "data"), "AWS::RDS::DBInstance")["Properties"]
    assert (props["MultiAZ"], props["DeletionProtection"]) == (multi_az, protected)


@pytest.mark.parametrize("stage", STAGES)
def test_database_forces_tls(platform: Synthesized, stage: str) -> None:
    template = platform.template(stage, "data")
    (group_id,) = resources(template, "AWS::RDS::DBParameterGroup")
    parameters = template["Resources"][group_id]["Properties"]
    assert parameters["Family"] == "postgres16"
    assert parameters["Parameters"] == {
        "rds.force_ssl": "1",
        **CONFIGS[stage].data.database.parameters,
    }
    assert parameters["Parameters"]["max_connections"] == "200"
    database = one(template, "AWS::RDS::DBInstance")["Properties"]
    assert database["DBParameterGroupName"] == {"Ref": group_id}


@pytest.mark.parametrize("stage", STAGES)
def test_secrets_are_encrypted_kept_and_the_master_rotates(
    platform: Synthesized, stage: str
) -> None:
    cfg = CONFIGS[stage]
    template = platform.template(stage, "data")
    secrets = resources(template, "AWS::SecretsManager::Secret").values()
    assert {s["Properties"]["Name"] for s in secrets} == {
        cfg.secret_name(suffix)
        for suffix in ("database/master", "database/app", "cache/auth-token", "origin-verify")
    } | {cfg.secret_name(f"app/{name}") for name in cfg.secrets}
    for secret in secrets:
        assert secret["Properties"]["KmsKeyId"] == key_ref(template, "data")
        assert secret["DeletionPolicy"] == deletion_policy(cfg.removal_policy)
    rotations = {
        r["Properties"]["HostedRotationLambda"]["RotationType"]: r["Properties"]
        for r in resources(template, "AWS::SecretsManager::RotationSchedule").values()
    }
    days = cfg.data.database.credential_rotation_days
    for rotation in rotations.values():
        assert rotation["RotationRules"] == {"ScheduleExpression": f"rate({days} days)"}
        hosted = rotation["HostedRotationLambda"]
        assert "SecurityGroupsrotation" in hosted["VpcSecurityGroupIds"]["Fn::ImportValue"]
        assert hosted["KmsKeyArn"] == key_ref(template, "data")
    assert rotations["PostgreSQLSingleUser"]["RotationRules"] == {
        "ScheduleExpression": "rate(30 days)"
    }
    assert template["Transform"] == ["AWS::SecretsManager-2024-09-16"]  # hosted rotation


@pytest.mark.parametrize("stage", STAGES)
def test_the_application_has_its_own_login_with_alternating_rotation(
    platform: Synthesized, stage: str
) -> None:
    template = platform.template(stage, "data")
    secrets = {
        s["Properties"]["Name"]: (lid, s)
        for lid, s in resources(template, "AWS::SecretsManager::Secret").items()
    }
    master_id, _ = secrets[f"webplat/{stage.lower()}/database/master"]
    _, app = secrets[f"webplat/{stage.lower()}/database/app"]
    generated = json.dumps(app["Properties"]["GenerateSecretString"]["SecretStringTemplate"])
    assert '\\"username\\":\\"app_user\\"' in generated
    # The alternating rotation logs in as master to swap users.
    assert '\\"masterarn\\":\\"' in generated
    (attachment,) = [
        lid
        for lid, a in resources(template, "AWS::SecretsManager::SecretTargetAttachment").items()
        if mentions(a["Properties"]["SecretId"], master_id)
    ]
    assert mentions(app["Properties"]["GenerateSecretString"], master_id)
    rotations = {
        r["Properties"]["HostedRotationLambda"]["RotationType"]: r
        for r in resources(template, "AWS::SecretsManager::RotationSchedule").values()
    }
    assert set(rotations) == {"PostgreSQLSingleUser", "PostgreSQLMultiUser"}
    multi = rotations["PostgreSQLMultiUser"]
    assert multi["Properties"]["RotateImmediatelyOnUpdate"] is False  # the bootstrap goes first
    assert multi["Properties"]["RotationRules"]["ScheduleExpression"] == "rate(30 days)"
    # The bootstrap creates app_user (as master) before its rotation may run.
    (bootstrap_id,) = resources(template, "Custom::DatabaseBootstrap")
    assert bootstrap_id in multi["DependsOn"]
    bootstrap = template["Resources"][bootstrap_id]["Properties"]
    assert bootstrap["AppUsername"] == "app_user"
    # The attached secret: the master login with the instance's host and port.
    assert mentions(bootstrap["MasterSecretArn"], attachment)


def test_the_migration_task_logs_in_as_master_and_services_never_do(pool: Pool) -> None:
    release = pool.result("release")
    data_template = release.template("Prod", "data")
    task = one(data_template, "AWS::ECS::TaskDefinition", "MigrationTask")
    (container,) = task["Properties"]["ContainerDefinitions"]
    assert {s["Name"] for s in container["Secrets"]} == {
        "DB_HOST", "DB_PORT", "DB_USERNAME", "DB_PASSWORD"
    }  # fmt: skip
    master = next(
        lid
        for lid, s in resources(data_template, "AWS::SecretsManager::Secret").items()
        if s["Properties"]["Name"] == "webplat/prod/database/master"
    )
    (attached,) = [  # the master login with the instance's host and port
        lid
        for lid, a in resources(
            data_template, "AWS::SecretsManager::SecretTargetAttachment"
        ).items()
        if mentions(a["Properties"]["SecretId"], master)
    ]
    assert all(mentions(s["ValueFrom"], attached) for s in container["Secrets"])
    # The image is the release of the migration service, from the stage's own repository.
    assert "webplat-prod-api:1.4.1" in json.dumps(container["Image"])
    assert "database/master" not in json.dumps(release.template("Prod", "compute"))


@pytest.mark.parametrize("stage", STAGES)
def test_log_groups_exist_before_rds_and_cache_write_to_them(
    platform: Synthesized, stage: str
) -> None:
    cfg = CONFIGS[stage]
    template = platform.template(stage, "data")
    groups = resources(template, "AWS::Logs::LogGroup")
    by_name = {g["Properties"]["LogGroupName"]: lid for lid, g in groups.items()}
    s = stage.lower()
    writers = {
        f"/aws/rds/instance/webplat-{s}-db/postgresql",
        f"/aws/rds/instance/webplat-{s}-db/upgrade",
        f"/webplat/{s}/cache/slow-log",
        f"/webplat/{s}/cache/engine-log",
    }
    ours = {f"/webplat/{s}/{n}" for n in ("db-bootstrap", "db-bootstrap-provider", "migrations")}
    assert set(by_name) == writers | ours
    for group in groups.values():
        assert group["Properties"]["KmsKeyId"] == key_ref(template, "data")
        assert group["Properties"]["RetentionInDays"] == cfg.retention("database")
        assert group["DeletionPolicy"] == deletion_policy(cfg.removal_policy)
    # CloudFormation creates them first, so RDS does not create its own unencrypted ones.
    database = one(template, "AWS::RDS::DBInstance")
    assert {by_name[n] for n in writers if n.startswith("/aws/rds/")} <= set(database["DependsOn"])
    cache = one(template, "AWS::ElastiCache::ReplicationGroup")["Properties"]
    delivered = {
        c["LogType"]: c["DestinationDetails"]["CloudWatchLogsDetails"]["LogGroup"]
        for c in cache["LogDeliveryConfigurations"]
    }
    assert delivered == {
        "slow-log": {"Ref": by_name[f"/webplat/{s}/cache/slow-log"]},
        "engine-log": {"Ref": by_name[f"/webplat/{s}/cache/engine-log"]},
    }


@pytest.mark.parametrize("stage", STAGES)
def test_cache_requires_tls_and_auth(platform: Synthesized, stage: str) -> None:
    cache_cfg = CONFIGS[stage].data.cache
    template = platform.template(stage, "data")
    group = one(template, "AWS::ElastiCache::ReplicationGroup")
    props = group["Properties"]
    assert props["ReplicationGroupId"] == f"webplat-{stage.lower()}-cache"
    assert (props["Engine"], props["EngineVersion"]) == (
        cache_cfg.engine.value,
        cache_cfg.engine_version,
    )
    assert props["CacheNodeType"] == cache_cfg.node_type
    assert (props["NumNodeGroups"], props["ReplicasPerNodeGroup"]) == (
        cache_cfg.shards,
        cache_cfg.replicas_per_shard,
    )
    assert props["MultiAZEnabled"] is cache_cfg.multi_az
    assert props["AutomaticFailoverEnabled"] is (cache_cfg.replicas_per_shard > 0)
    assert props["TransitEncryptionEnabled"] is True
    assert props["TransitEncryptionMode"] == "required"
    assert props["AtRestEncryptionEnabled"] is True
    assert props["KmsKeyId"] == key_ref(template, "data")
    token = json.dumps(props["AuthToken"])
    assert "{{resolve:secretsmanager:" in token  # never a literal
    assert "CacheAuthToken" in token
    assert props["Port"] == cache_cfg.port == 6379
    assert props["SnapshotRetentionLimit"] == cache_cfg.snapshot_retention_days
    assert props["SnapshotWindow"] == cache_cfg.snapshot_window
    assert props["PreferredMaintenanceWindow"] == cache_cfg.maintenance_window
    (security_group,) = props["SecurityGroupIds"]
    assert "SecurityGroupscache" in security_group["Fn::ImportValue"]
    assert (
        group["DeletionPolicy"]
        == group["UpdateReplacePolicy"]
        == (deletion_policy(cache_cfg.removal_policy))
    )


@pytest.mark.parametrize(("stage", "multi_az"), [("Dev", False), ("Staging", True), ("Prod", True)])
def test_cache_is_multi_az_where_the_stage_needs_it(
    platform: Synthesized, stage: str, multi_az: bool
) -> None:
    props = one(platform.template(stage, "data"), "AWS::ElastiCache::ReplicationGroup")
    assert props["Properties"]["MultiAZEnabled"] is multi_az
    assert props["Properties"]["ReplicasPerNodeGroup"] == (1 if multi_az else 0)


def test_reference_architectures_synthesize_their_data_plans(pool: Pool) -> None:
    """E-commerce: Aurora MySQL writer + 1 reader. Workshop: Redis 2 shards x 1 replica.
    Meeting assistant: PostgreSQL 16 on gp3, 20 GiB growing to 100 GiB."""
    commerce = pool.result("commerce").template("Prod", "data")
    cluster = one(commerce, "AWS::RDS::DBCluster")["Properties"]
    assert (cluster["Engine"], cluster["EngineVersion"]) == (
        "aurora-mysql",
        "8.0.mysql_aurora.3.09.0",
    )
    members = resources(commerce, "AWS::RDS::DBInstance").values()
    assert sorted(m["Properties"]["PromotionTier"] for m in members) == [0, 2]  # writer, reader
    workshop = pool.result("workshop").template("Prod", "data")
    cache = one(workshop, "AWS::ElastiCache::ReplicationGroup")["Properties"]
    assert (cache["Engine"], cache["ClusterMode"]) == ("redis", "enabled")
    assert (cache["NumNodeGroups"], cache["ReplicasPerNodeGroup"]) == (2, 1)
    meeting = pool.result("meeting").template("Prod", "data")
    database = one(meeting, "AWS::RDS::DBInstance")["Properties"]
    assert (database["Engine"], database["EngineVersion"]) == ("postgres", "16.9")
    assert (database["AllocatedStorage"], database["MaxAllocatedStorage"]) == ("20", 100)


@pytest.mark.parametrize("stage", STAGES)
def test_every_key_rotates(platform: Synthesized, stage: str) -> None:
    keys = [
        (stack.concern, key)
        for stack in platform.stacks
        if stack.stage == stage
        for key in resources(stack.template, "AWS::KMS::Key").values()
    ]
    assert {concern for concern, _ in keys} >= {"network", "data", "compute", "observability"}
    for concern, key in keys:
        assert key["Properties"]["EnableKeyRotation"] is True, concern


@pytest.mark.parametrize("stage", STAGES)
def test_backups_outlive_a_lost_data_key(platform: Synthesized, stage: str) -> None:
    template = platform.template(stage, "data")
    assert key_ref(template, "backup") != key_ref(template, "data")


# -- sleep and restore testing ---------------------------------------------------------------


# The database's start, written out per stage that stops it: the default profile's dev wakes
# at 8:00 on weekdays and its database starts database_lead_minutes (20) before that.
DATABASE_WAKE = {"Dev": "40 7 * * MON-FRI"}


def _six_field(cron: str) -> str:
    """A five-field cron as EventBridge Scheduler writes it (written out, not the code's)."""
    minute, hour, day, month, week_day = cron.split()
    day, week_day = ("?", week_day) if week_day != "*" else (day, "?")
    return f"cron({minute} {hour} {day} {month} {week_day} *)"


@pytest.mark.parametrize("stage", STAGES)
def test_the_database_sleeps_with_the_stage_through_its_own_role(
    platform: Synthesized, stage: str
) -> None:
    cfg = CONFIGS[stage]
    template = platform.template(stage, "data")
    schedules = {
        s["Properties"]["Name"]: s["Properties"]
        for s in resources(template, "AWS::Scheduler::Schedule").values()
        if s["Properties"].get("GroupName") == f"webplat-{cfg.name}-sleep"
    }
    sleep = cfg.sleep
    if sleep is None or not sleep.stop_database:
        assert stage not in DATABASE_WAKE
        assert schedules == {}
        return
    (database,) = resources(template, "AWS::RDS::DBInstance")
    expected = {"stop": sleep.sleep, "start": DATABASE_WAKE[stage]}
    assert set(schedules) == {f"webplat-{cfg.name}-db-{action}" for action in expected}
    roles = set()
    for action, cron in expected.items():
        props = schedules[f"webplat-{cfg.name}-db-{action}"]
        assert props["ScheduleExpression"] == _six_field(cron)
        assert props["ScheduleExpressionTimezone"] == cfg.time_zone
        target = props["Target"]
        assert target["Arn"]["Fn::Join"][1][-1] == f":scheduler:::aws-sdk:rds:{action}DBInstance"
        assert mentions(target["Input"], database)
        assert "DbInstanceIdentifier" in str(target["Input"])
        roles.add(target["RoleArn"]["Fn::GetAtt"][0])
    (role,) = roles
    trust = template["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [
        {
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": cfg.account}},
            "Effect": "Allow",
            "Principal": {"Service": "scheduler.amazonaws.com"},
        }
    ]
    granted = [s for owner, s in role_statements(template) if owner == role]
    assert sorted(s["Action"] for s in granted) == ["rds:StartDBInstance", "rds:StopDBInstance"]
    assert all(mentions(s["Resource"], database) for s in granted)  # this database only


@pytest.mark.parametrize("stage", STAGES)
def test_restores_are_tested_where_the_stage_asks(platform: Synthesized, stage: str) -> None:
    cfg = CONFIGS[stage]
    backup = cfg.data.backup
    template = platform.template(stage, "data")
    plans = resources(template, "AWS::Backup::RestoreTestingPlan")
    selections = resources(template, "AWS::Backup::RestoreTestingSelection")
    if not backup.restore_testing:
        assert (plans, selections) == ({}, {})
        return
    ((plan_id, plan),) = plans.items()
    name = f"webplat_{cfg.name}_restore_tests"
    assert plan["Properties"]["RestoreTestingPlanName"] == name
    assert plan["Properties"]["ScheduleExpression"] == _six_field(backup.restore_test_schedule)
    assert plan["Properties"]["ScheduleExpressionTimezone"] == cfg.time_zone
    (database,) = resources(template, "AWS::RDS::DBInstance")
    by_name = {s["Properties"]["RestoreTestingSelectionName"]: s for s in selections.values()}
    backed_up = [f"bucket_{b}" for b, spec in cfg.buckets.items() if spec.backup]
    assert set(by_name) == {"database", *backed_up}
    assert "bucket_uploads" in by_name
    for selection in by_name.values():
        props = selection["Properties"]
        assert selection["DependsOn"] == [plan_id]
        assert props["RestoreTestingPlanName"] == name
        # The copies live for the validation window, then AWS Backup deletes them.
        assert props["ValidationWindowHours"] == backup.restore_validation_hours
    db = by_name["database"]["Properties"]
    assert db["ProtectedResourceType"] == "RDS"
    assert mentions(db["ProtectedResourceArns"], database)
    overrides = db["RestoreMetadataOverrides"]
    assert overrides["dbSubnetGroupName"] == {"Ref": "DatabaseSubnets"}  # isolated subnets
    assert "SecurityGroupsrestoretest" in json.dumps(overrides["vpcSecurityGroupIds"])
    assert by_name["bucket_uploads"]["Properties"]["ProtectedResourceType"] == "S3"
