"""Stage shapes the profiles do not use (the "matrix" job, tests/jobs.py MATRIX): every option a
matrix stage switches on is checked where it is on, and the default it replaces where it is off.

Expectations come from each stage's configuration (derived exactly as the job derives it) or
from tables written out here, never from the templates themselves. Compliance and cfn-lint of
the job are checked with every other job (test_compliance.py, test_templates.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from infra.config import StageConfig
from infra.config.services import Exposure
from tests.jobs import MATRIX, matrix_configs
from tests.stacks import CONCERNS
from tests.synth import Pool, Synthesized, Template, resources
from tests.templates import (
    actions,
    alarms,
    exported,
    flows,
    lid,
    mentions,
    one,
    one_id,
    pascal,
    ref,
    role_statements,
    route,
    security_group_tiers,
    statements,
    topic_levels,
)

# The matrix stages exactly as the job builds them (tests/jobs.py matrix_configs).
CONFIGS: dict[str, StageConfig] = {cfg.construct_id: cfg for cfg in matrix_configs()}
STAGES = tuple(CONFIGS)
ANY = "0.0.0.0/0"
CLOUDFRONT = "pl-22a6434b"  # CloudFront's origin-facing prefix list in ap-northeast-2
HTTPS = 443
ENGINE_PORTS = {"postgres": 5432, "aurora-postgresql": 5432, "mysql": 3306, "aurora-mysql": 3306}
LOG_EXPORTS = {
    "postgres": ["postgresql", "upgrade"],
    "mysql": ["error", "slowquery", "audit"],
    "aurora-postgresql": ["postgresql"],
    "aurora-mysql": ["audit", "error", "slowquery"],
}
TLS_PARAMETER = {
    "postgres": ("rds.force_ssl", "1"),
    "aurora-postgresql": ("rds.force_ssl", "1"),
    "mysql": ("require_secure_transport", "ON"),
    "aurora-mysql": ("require_secure_transport", "ON"),
}
TLS13 = "ELBSecurityPolicy-TLS13"
XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
XRAY_SAMPLING = {"xray:GetSamplingRules", "xray:GetSamplingTargets"}
EXEC_CHANNELS = {
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
    "logs:DescribeLogGroups",
}
EXEC_AGENT_PATHS = ("/managed-agents", "/var/lib/amazon/ssm", "/var/log/amazon/ssm")
BACKUP_RULES = ("Daily", "Weekly", "Monthly")
BODY_LABEL = "awswaf:managed:aws:core-rule-set:SizeRestrictions_Body"


def where(predicate: Callable[[StageConfig], bool]) -> list[str]:
    """The matrix stages for which `predicate` holds (for tests of one shape)."""
    return [stage for stage, cfg in CONFIGS.items() if predicate(cfg)]


@pytest.fixture(scope="module")
def matrix(pool: Pool) -> Synthesized:
    return pool.result("matrix")


# -- the matrix itself -------------------------------------------------------------------------

OPTIONS: dict[str, Callable[[StageConfig], bool]] = {
    "Aurora": lambda c: c.data.database.engine.is_aurora,
    "MySQL family": lambda c: c.data.database.engine.is_mysql,
    "Aurora readers": lambda c: c.data.database.readers > 0,
    "read replica": lambda c: c.data.database.read_replica,
    "sharded cache": lambda c: c.data.cache.shards > 1,
    "Multi-AZ cache": lambda c: c.data.cache.multi_az,
    "domain": lambda c: c.domain is not None,
    "service on the ALB": lambda c: bool(c.exposed(Exposure.ALB)),
    "service on an NLB": lambda c: bool(c.exposed(Exposure.NLB)),
    "X-Ray sidecar": lambda c: c.compute.xray_sidecar,
    "ECS Exec": lambda c: c.compute.exec_enabled,
    "chat": lambda c: c.observability.alerts.chat,
    "large body paths": lambda c: bool(c.edge.waf.large_body_paths),
    "DR stack": lambda c: c.has_dr,
    "bucket replication": lambda c: c.has_dr and any(b.replicate_to_dr for b in c.buckets.values()),
    "backup copies": lambda c: c.has_dr and c.data.backup.copy_to_dr,
    "vault lock": lambda c: c.data.backup.vault_lock,
    "CloudTrail": lambda c: c.observability.audit.cloudtrail,
    "Config recorder": lambda c: c.observability.audit.config_recorder,
    "trail object lock": lambda c: c.observability.audit.trail_object_lock,
    "several scheduled jobs": lambda c: len(c.jobs) > 1,
}


@pytest.mark.parametrize("option", list(OPTIONS))
def test_the_matrix_has_each_option_on_and_off(option: str) -> None:
    on = where(OPTIONS[option])
    assert on, f"no matrix stage switches {option} on"
    assert set(on) != set(STAGES), f"every matrix stage has {option}: its default is untested"


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_has_its_stacks_and_a_dr_stack_only_where_configured(
    matrix: Synthesized, stage: str
) -> None:
    cfg = CONFIGS[stage]
    expected = {*CONCERNS, *(("dr",) if cfg.has_dr else ())}
    found = {key: s for key, s in matrix.by_key.items() if key[0] == stage}
    assert {concern for _, concern in found} == expected
    assert {s.stack_name for s in found.values()} == {cfg.stack_name(c) for c in expected}
    if cfg.has_dr:
        assert found[(stage, "dr")].region == cfg.data.dr_region


# -- network: the security-group matrix follows the engine, exposures and uses -----------------


def expected_ingress(cfg: StageConfig) -> set[tuple[str, str, int]]:
    """The stage's flows, written out from its declarations independently of the code."""
    db_port = ENGINE_PORTS[cfg.data.database.engine.value]
    cache_port = cfg.data.cache.port
    endpoints = bool(cfg.network.interface_endpoints)
    found = {(CLOUDFRONT, "alb", HTTPS if cfg.domain else 80)}
    cidrs = cfg.network.load_balancer_ingress_cidrs
    services = cfg.services
    if any(s.expose is Exposure.ALB for s in services.values()):
        found |= {(cidr, "alb", port) for cidr in cidrs for port in (HTTPS, 80)}
    for name, spec in services.items():
        entry = {"cloudfront": "alb", "alb": "alb", "nlb": "nlb"}.get(spec.expose.value)
        if entry is not None:
            found.add((entry, name, spec.port))
        if spec.expose is Exposure.NLB:
            found |= {(cidr, "nlb", spec.nlb_port) for cidr in cidrs}
        found |= {(name, other, services[other].port) for other in spec.uses.services}
    clients = {name: s.uses for name, s in services.items()}
    clients |= {f"fn-{name}": f.uses for name, f in cfg.functions.items() if f.vpc}
    for tier, uses in clients.items():
        if uses.database:
            found.add((tier, "database", db_port))
        if uses.cache:
            found.add((tier, "cache", cache_port))
        if endpoints:
            found.add((tier, "endpoints", HTTPS))
    for tier in ("rotation", "db-admin"):
        found.add((tier, "database", db_port))
        if "secretsmanager" in cfg.network.interface_endpoints:
            found.add((tier, "endpoints", HTTPS))
    return found


def expected_egress(cfg: StageConfig) -> set[tuple[str, str, int]]:
    found = {f for f in expected_ingress(cfg) if f[0] != CLOUDFRONT and "/" not in f[0]}
    found |= {(name, ANY, HTTPS) for name in cfg.services}
    found |= {(f"fn-{name}", ANY, HTTPS) for name, f in cfg.functions.items() if f.vpc}
    if "secretsmanager" not in cfg.network.interface_endpoints:
        found |= {("rotation", ANY, HTTPS), ("db-admin", ANY, HTTPS)}
    return found


@pytest.mark.parametrize("stage", STAGES)
def test_security_groups_are_exactly_the_declared_flows(matrix: Synthesized, stage: str) -> None:
    cfg = CONFIGS[stage]
    network = matrix.template(stage, "network")
    tiers = {"alb", *cfg.services, "database", "cache", "rotation", "db-admin"}
    tiers |= {f"fn-{name}" for name, f in cfg.functions.items() if f.vpc}
    tiers |= {"nlb"} if cfg.exposed(Exposure.NLB) else set()
    tiers |= {"endpoints"} if cfg.network.interface_endpoints else set()
    tiers |= {"restore-test"} if cfg.data.backup.restore_testing else set()  # no flows at all
    assert set(security_group_tiers(network).values()) == tiers
    assert flows(network, "Ingress") == expected_ingress(cfg)
    assert flows(network, "Egress") == expected_egress(cfg)


@pytest.mark.parametrize("stage", STAGES)
def test_the_database_port_follows_the_engine(matrix: Synthesized, stage: str) -> None:
    engine = CONFIGS[stage].data.database.engine.value
    port = ENGINE_PORTS[engine]
    other = ({3306, 5432} - {port}).pop()
    network = matrix.template(stage, "network")
    every = flows(network, "Ingress") | flows(network, "Egress")
    assert {p for _, target, p in every if target == "database"} == {port}
    assert not [f for f in every if f[2] == other], f"{engine} stage opens {other}"
    data = matrix.template(stage, "data")
    kind = "AWS::RDS::DBCluster" if engine.startswith("aurora") else "AWS::RDS::DBInstance"
    database = data["Resources"][primary_database(data)]
    assert database["Type"] == kind
    assert database["Properties"]["Engine"] == engine
    assert database["Properties"].get("Port", port) == port  # absent: the engine's default
    rotations = {
        r["Properties"]["HostedRotationLambda"]["RotationType"]
        for r in resources(data, "AWS::SecretsManager::RotationSchedule").values()
    }
    family = "MySQL" if "mysql" in engine else "PostgreSQL"
    assert rotations == {f"{family}SingleUser", f"{family}MultiUser"}


# -- data: database shapes --------------------------------------------------------------------


def primary_database(data: Template) -> str:
    """The logical id of the Aurora cluster or the (non-replica) database instance."""
    (found,) = [
        *resources(data, "AWS::RDS::DBCluster"),
        *(
            lid
            for lid, i in resources(data, "AWS::RDS::DBInstance").items()
            if not {"SourceDBInstanceIdentifier", "DBClusterIdentifier"} & set(i["Properties"])
        ),
    ]
    return found


@pytest.mark.parametrize("stage", STAGES)
def test_database_logs_and_tls_parameters_follow_the_engine(
    matrix: Synthesized, stage: str
) -> None:
    cfg = CONFIGS[stage]
    db = cfg.data.database
    engine = db.engine.value
    data = matrix.template(stage, "data")
    database = data["Resources"][primary_database(data)]
    assert database["Properties"]["EnableCloudwatchLogsExports"] == LOG_EXPORTS[engine]
    kind = "cluster" if db.engine.is_aurora else "instance"
    groups = {
        lid: g["Properties"]["LogGroupName"]
        for lid, g in resources(data, "AWS::Logs::LogGroup").items()
        if g["Properties"]["LogGroupName"].startswith(f"/aws/rds/{kind}/{cfg.prefix}-db/")
    }
    assert sorted(groups.values()) == sorted(
        f"/aws/rds/{kind}/{cfg.prefix}-db/{name}" for name in LOG_EXPORTS[engine]
    )
    assert set(groups) <= set(database["DependsOn"])  # RDS finds them instead of creating them
    group_type = f"AWS::RDS::DB{'Cluster' if db.engine.is_aurora else ''}ParameterGroup"
    ((group_id, parameters),) = resources(data, group_type).items()
    name, value = TLS_PARAMETER[engine]
    assert parameters["Properties"]["Parameters"] == {
        name: value,
        **_engine_extras(engine),
        **db.parameters,
    }
    assert mentions(database, group_id)


def _engine_extras(engine: str) -> dict[str, str]:
    if engine == "aurora-mysql":  # audit of logins and schema/permission changes
        return {"server_audit_logging": "1", "server_audit_events": "CONNECT,QUERY_DCL,QUERY_DDL"}
    return {}


@pytest.mark.parametrize("stage", where(lambda c: c.data.database.engine.is_aurora))
def test_aurora_writer_readers_and_cluster_settings(matrix: Synthesized, stage: str) -> None:
    cfg = CONFIGS[stage]
    db = cfg.data.database
    data = matrix.template(stage, "data")
    key = one_id(data, "AWS::KMS::Key", "DataKey")
    ((cluster_id, cluster),) = resources(data, "AWS::RDS::DBCluster").items()
    props = cluster["Properties"]
    assert props["DBClusterIdentifier"] == cfg.resource_name("db")
    assert props["EngineVersion"] == db.engine_version
    assert props["StorageEncrypted"] is True
    assert ref(props["KmsKeyId"]) == key
    assert props["EnableIAMDatabaseAuthentication"] is True
    assert props["BackupRetentionPeriod"] == db.backup_retention_days
    assert props["PreferredBackupWindow"] == db.backup_window
    assert props["DeletionProtection"] is db.deletion_protection
    if cfg.guarantees.deletion_protection:
        assert props["DeletionProtection"] is True
    assert cluster["DeletionPolicy"] == ("Snapshot" if db.removal_policy.keeps_data else "Delete")
    assert "BacktrackWindow" not in props  # no backtrack: recovery is PITR and AWS Backup
    instances = resources(data, "AWS::RDS::DBInstance")
    assert all(
        ref(i["Properties"]["DBClusterIdentifier"]) == cluster_id for i in instances.values()
    )
    writers = [lid for lid in instances if lid.startswith("DatabaseWriter")]
    readers = [lid for lid in instances if lid.startswith("DatabaseReader")]
    assert (len(writers), len(readers), len(instances)) == (1, db.readers, 1 + db.readers)
    for instance in instances.values():
        p = instance["Properties"]
        assert p["DBInstanceClass"] == db.instance_class
        assert p["EnablePerformanceInsights"] is True
        assert ref(p["PerformanceInsightsKMSKeyId"]) == key
        assert p["PubliclyAccessible"] is False
        assert p["MonitoringInterval"] == db.monitoring_interval_seconds
    major = (
        db.engine_version.split(".mysql_aurora.")[0]
        if db.engine.is_mysql
        else db.engine_version.split(".")[0]
    )
    (parameters,) = resources(data, "AWS::RDS::DBClusterParameterGroup").values()
    assert parameters["Properties"]["Family"] == f"{db.engine.value}{major}"


@pytest.mark.parametrize("stage", where(lambda c: not c.data.database.engine.is_aurora))
def test_instance_databases_follow_their_stage(matrix: Synthesized, stage: str) -> None:
    cfg = CONFIGS[stage]
    db = cfg.data.database
    data = matrix.template(stage, "data")
    database = data["Resources"][primary_database(data)]
    props = database["Properties"]
    assert props["DBInstanceIdentifier"] == cfg.resource_name("db")
    assert (props["Engine"], props["EngineVersion"]) == (db.engine.value, db.engine_version)
    assert props["DBInstanceClass"] == db.instance_class
    assert props["MultiAZ"] is db.multi_az
    assert props["DeletionProtection"] is db.deletion_protection
    if cfg.guarantees.multi_az:
        assert props["MultiAZ"] is True
    if cfg.guarantees.deletion_protection:
        assert props["DeletionProtection"] is True
    assert database["DeletionPolicy"] == ("Snapshot" if db.removal_policy.keeps_data else "Delete")
    assert props["StorageEncrypted"] is True
    assert ref(props["KmsKeyId"]) == one_id(data, "AWS::KMS::Key", "DataKey")
    assert props["EnableIAMDatabaseAuthentication"] is True
    assert (props["StorageType"], int(props["AllocatedStorage"])) == (
        "gp3",
        db.allocated_storage_gib,
    )
    assert props["MaxAllocatedStorage"] == db.max_allocated_storage_gib
    assert props["BackupRetentionPeriod"] == db.backup_retention_days
    options = resources(data, "AWS::RDS::OptionGroup")
    if db.engine.is_mysql:  # logins and schema/permission changes through the audit plugin
        ((group_id, group),) = options.items()
        (option,) = group["Properties"]["OptionConfigurations"]
        assert option["OptionName"] == "MARIADB_AUDIT_PLUGIN"
        assert ref(props["OptionGroupName"]) == group_id
    else:
        assert options == {}


@pytest.mark.parametrize("stage", STAGES)
def test_a_read_replica_only_where_configured_with_the_sources_key(
    matrix: Synthesized, stage: str
) -> None:
    cfg = CONFIGS[stage]
    db = cfg.data.database
    data = matrix.template(stage, "data")
    replicas = {
        lid: i
        for lid, i in resources(data, "AWS::RDS::DBInstance").items()
        if "SourceDBInstanceIdentifier" in i["Properties"]
    }
    assert len(replicas) == (1 if db.read_replica else 0)
    if not db.read_replica:
        return
    ((replica_id, replica),) = replicas.items()
    props = replica["Properties"]
    source_id = primary_database(data)
    source = data["Resources"][source_id]["Properties"]
    assert props["DBInstanceIdentifier"] == f"{cfg.resource_name('db')}-replica"
    assert mentions(props["SourceDBInstanceIdentifier"], source_id)
    assert "StorageEncrypted" not in props  # inherited from the encrypted source
    assert "KmsKeyId" not in props
    assert (
        ref(props["PerformanceInsightsKMSKeyId"])
        == ref(source["KmsKeyId"])
        == one_id(data, "AWS::KMS::Key", "DataKey")
    )
    assert props["DBParameterGroupName"] == source["DBParameterGroupName"]
    assert props["MonitoringInterval"] == db.monitoring_interval_seconds
    assert ref(props["MonitoringRoleArn"]) is not None
    assert props["PubliclyAccessible"] is False
    assert props["DeletionProtection"] is db.deletion_protection
    groups = {
        lid: g["Properties"]["LogGroupName"]
        for lid, g in resources(data, "AWS::Logs::LogGroup").items()
        if "db-replica" in g["Properties"]["LogGroupName"]
    }
    prefix = f"/aws/rds/instance/{cfg.resource_name('db')}-replica"
    assert sorted(groups.values()) == sorted(f"{prefix}/{n}" for n in LOG_EXPORTS[db.engine.value])
    assert set(groups) <= set(replica["DependsOn"])
    # Alarmed on its lag, in the observability stack.
    observability = matrix.template(stage, "observability")
    lag = alarms(observability)[f"{cfg.prefix}-db-replica-lag-Warning"]
    assert lag["MetricName"] == "ReplicaLag"
    assert lag["Threshold"] == cfg.observability.alarms.db_replica_lag_seconds.warning
    (dimension,) = lag["Dimensions"]
    assert exported(data, dimension["Value"]) == replica_id


@pytest.mark.parametrize("stage", STAGES)
def test_the_backup_plan_covers_the_database_and_the_buckets_that_ask(
    matrix: Synthesized, stage: str
) -> None:
    """A read replica is recreated from its source, which is in the plan (acknowledged)."""
    cfg = CONFIGS[stage]
    data = matrix.template(stage, "data")
    (selection,) = resources(data, "AWS::Backup::BackupSelection").values()
    selected = selection["Properties"]["BackupSelection"]["Resources"]
    expected = {primary_database(data)} | {
        next(
            lid
            for lid in resources(data, "AWS::S3::Bucket")
            if lid.startswith(f"{pascal(n)}Bucket")
        )
        for n, b in cfg.buckets.items()
        if b.backup
    }
    found = {next(lid for lid in data["Resources"] if mentions(item, lid)) for item in selected}
    assert found == expected


# -- data: the cache ---------------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_cache_topology_follows_shards_replicas_and_multi_az(
    matrix: Synthesized, stage: str
) -> None:
    cfg = CONFIGS[stage]
    cache = cfg.data.cache
    props = one(matrix.template(stage, "data"), "AWS::ElastiCache::ReplicationGroup")["Properties"]
    assert (props["Engine"], props["EngineVersion"]) == (cache.engine.value, cache.engine_version)
    assert (props["NumNodeGroups"], props["ReplicasPerNodeGroup"]) == (
        cache.shards,
        cache.replicas_per_shard,
    )
    sharded = cache.shards > 1
    assert props["ClusterMode"] == ("enabled" if sharded else "disabled")
    major = cache.engine_version.split(".")[0]
    assert props.get("CacheParameterGroupName") == (
        f"default.{cache.engine.value}{major}.cluster.on" if sharded else None
    )
    assert props["AutomaticFailoverEnabled"] is (cache.replicas_per_shard > 0)
    assert props["MultiAZEnabled"] is cache.multi_az
    if cfg.guarantees.multi_az:
        assert props["MultiAZEnabled"] is True
    assert (props["TransitEncryptionMode"], props["AtRestEncryptionEnabled"]) == ("required", True)
    # Clients use the configuration endpoint in cluster mode, the primary endpoint otherwise.
    endpoint = "ConfigurationEndPointAddress" if sharded else "PrimaryEndPointAddress"
    compute = matrix.template(stage, "compute")
    hosts = [
        e["Value"]
        for task in resources(compute, "AWS::ECS::TaskDefinition").values()
        for c in task["Properties"]["ContainerDefinitions"]
        for e in c.get("Environment", [])
        if e["Name"] == "REDIS_HOST"
    ]
    assert len(hosts) == sum(s.uses.cache for s in cfg.services.values())
    assert all(endpoint in json.dumps(h) for h in hosts)
    # Alarms watch every node: <group>-<shard>-<node> in cluster mode, <group>-<node> otherwise.
    group = cfg.resource_name("cache")
    nodes = (
        {
            f"{group}-{s:04d}-{n:03d}"
            for s in range(1, cache.shards + 1)
            for n in range(1, cache.replicas_per_shard + 2)
        }
        if sharded
        else {f"{group}-{n:03d}" for n in range(1, cache.replicas_per_shard + 2)}
    )
    cpu = alarms(matrix.template(stage, "observability"))[f"{cfg.prefix}-cache-cpu-Warning"]
    watched = {
        d["Value"]
        for m in cpu["Metrics"]
        if "MetricStat" in m
        for d in m["MetricStat"]["Metric"]["Dimensions"]
    }
    assert watched == nodes


# -- compute: entry points ---------------------------------------------------------------------


def alb_listeners(compute: Template) -> dict[int, dict[str, Any]]:
    (alb_id,) = [
        lid
        for lid, lb in resources(compute, "AWS::ElasticLoadBalancingV2::LoadBalancer").items()
        if lb["Properties"]["Type"] == "application"
    ]
    return {
        listener["Properties"]["Port"]: listener["Properties"]
        for listener in resources(compute, "AWS::ElasticLoadBalancingV2::Listener").values()
        if ref(listener["Properties"]["LoadBalancerArn"]) == alb_id
    }


@pytest.mark.parametrize("stage", STAGES)
def test_a_domain_gives_the_load_balancer_https_and_a_certificate(
    matrix: Synthesized, stage: str
) -> None:
    cfg = CONFIGS[stage]
    compute = matrix.template(stage, "compute")
    listeners = alb_listeners(compute)
    certificates = resources(compute, "AWS::CertificateManager::Certificate")
    if cfg.domain is None:  # CloudFront only, over HTTP, from its prefix list
        assert set(listeners) == {80}
        assert listeners[80]["Protocol"] == "HTTP"
        assert [a["Type"] for a in listeners[80]["DefaultActions"]] == ["fixed-response"]
        assert certificates == {}
        return
    direct_alb = bool(cfg.exposed(Exposure.ALB))
    assert set(listeners) == ({HTTPS, 80} if direct_alb else {HTTPS})
    https = listeners[HTTPS]
    assert https["Protocol"] == "HTTPS"
    assert https["SslPolicy"].startswith(TLS13)
    assert [a["Type"] for a in https["DefaultActions"]] == ["fixed-response"]  # 403 unless routed
    if direct_alb:  # clients that type http:// are sent to HTTPS
        (redirect,) = listeners[80]["DefaultActions"]
        assert redirect["RedirectConfig"]["Protocol"] == "HTTPS"
        assert redirect["RedirectConfig"]["Port"] == "443"
    ((cert_id, certificate),) = certificates.items()
    assert [ref(c["CertificateArn"]) for c in https["Certificates"]] == [cert_id]
    props = certificate["Properties"]
    domain = cfg.domain
    assert props["DomainName"] == domain.fqdn(domain.origin_host)
    hosts = [
        domain.fqdn(h) for s in cfg.exposed(Exposure.ALB, Exposure.NLB).values() for h in s.hosts
    ]
    assert props.get("SubjectAlternativeNames", []) == hosts
    assert props["ValidationMethod"] == "DNS"
    assert props["DomainValidationOptions"][0]["HostedZoneId"] == domain.hosted_zone_id


@pytest.mark.parametrize("stage", STAGES)
def test_websockets_on_a_tls_network_load_balancer_only_where_exposed(
    matrix: Synthesized, stage: str
) -> None:
    cfg = CONFIGS[stage]
    compute = matrix.template(stage, "compute")
    nlbs = {
        lid: lb["Properties"]
        for lid, lb in resources(compute, "AWS::ElasticLoadBalancingV2::LoadBalancer").items()
        if lb["Properties"]["Type"] == "network"
    }
    on_nlb = cfg.exposed(Exposure.NLB)
    assert len(nlbs) == (1 if on_nlb else 0)
    if not on_nlb:
        return
    ((nlb_id, nlb),) = nlbs.items()
    assert nlb["Scheme"] == "internet-facing"
    assert "SecurityGroupsnlb" in json.dumps(nlb["SecurityGroups"])
    tls = {
        listener["Properties"]["Port"]: listener["Properties"]
        for listener in resources(compute, "AWS::ElasticLoadBalancingV2::Listener").values()
        if ref(listener["Properties"]["LoadBalancerArn"]) == nlb_id
    }
    assert set(tls) == {s.nlb_port for s in on_nlb.values()}
    (cert_id,) = resources(compute, "AWS::CertificateManager::Certificate")
    groups = resources(compute, "AWS::ElasticLoadBalancingV2::TargetGroup")
    for name, spec in on_nlb.items():
        listener = tls[spec.nlb_port]
        assert listener["Protocol"] == "TLS"
        assert listener["SslPolicy"].startswith(TLS13)
        assert [ref(c["CertificateArn"]) for c in listener["Certificates"]] == [cert_id]
        (forward,) = listener["DefaultActions"]
        group_id = ref(forward["TargetGroupArn"])
        assert group_id is not None
        assert group_id.startswith(f"Service{lid(name)}Targets")
        group = groups[group_id]["Properties"]
        assert (group["Protocol"], group["Port"]) == ("TCP", spec.port)
        attributes = {a["Key"]: a["Value"] for a in group["TargetGroupAttributes"]}
        assert attributes["stickiness.type"] == "source_ip"
        assert int(attributes["deregistration_delay.timeout_seconds"]) == (
            cfg.compute.idle_timeout_seconds + 30  # open sockets drain first
        )
    # Reached from its clients and nothing else; no ALB rule or CloudFront route to it.
    ingress = flows(matrix.template(stage, "network"), "Ingress")
    cidrs = set(cfg.network.load_balancer_ingress_cidrs)
    assert {(src, port) for src, dst, port in ingress if dst == "nlb"} == {
        (cidr, s.nlb_port) for cidr in cidrs for s in on_nlb.values()
    }
    for name, spec in on_nlb.items():
        assert {(src, port) for src, dst, port in ingress if dst == name} == {("nlb", spec.port)}
    rules = resources(compute, "AWS::ElasticLoadBalancingV2::ListenerRule")
    assert len(rules) == len(cfg.exposed(Exposure.CLOUDFRONT, Exposure.ALB))
    assert not [r for r in rules for n in on_nlb if r.startswith(f"Service{lid(n)}Rule")]


@pytest.mark.parametrize("stage", STAGES)
def test_cdn_hosts_become_aliases_with_tls_and_records(matrix: Synthesized, stage: str) -> None:
    cfg = CONFIGS[stage]
    cdn = matrix.template(stage, "cdn")
    (distribution,) = resources(cdn, "AWS::CloudFront::Distribution").values()
    config = distribution["Properties"]["DistributionConfig"]
    origin = next(o for o in config["Origins"] if "CustomOriginConfig" in o)
    records = {
        (r["Properties"]["Name"], r["Properties"]["Type"])
        for r in resources(cdn, "AWS::Route53::RecordSet").values()
    }
    certificates = resources(matrix.template(stage, "edge"), "AWS::CertificateManager::Certificate")
    domain = cfg.domain
    if domain is None:
        assert "Aliases" not in config
        assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "http-only"
        assert (records, certificates) == (set(), {})
        return
    assert config["Aliases"] == [domain.fqdn(h) for h in domain.cdn_hosts]
    assert config["ViewerCertificate"]["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert config["ViewerCertificate"]["SslSupportMethod"] == "sni-only"
    assert origin["DomainName"] == domain.fqdn(domain.origin_host)
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    hosts = [*domain.cdn_hosts, domain.origin_host]
    hosts += [h for s in cfg.exposed(Exposure.ALB, Exposure.NLB).values() for h in s.hosts]
    assert records == {(f"{domain.fqdn(h)}.", kind) for h in hosts for kind in ("A", "AAAA")}
    (certificate,) = certificates.values()  # CloudFront's, in us-east-1
    assert certificate["Properties"]["DomainName"] == domain.fqdn(domain.cdn_hosts[0])
    assert certificate["Properties"].get("SubjectAlternativeNames", []) == [
        domain.fqdn(h) for h in domain.cdn_hosts[1:]
    ]
    # Each host's record points at what serves it.
    targets = {
        r["Properties"]["Name"]: json.dumps(r["Properties"]["AliasTarget"])
        for r in resources(cdn, "AWS::Route53::RecordSet").values()
    }
    for host in domain.cdn_hosts:
        assert "Distribution" in targets[f"{domain.fqdn(host)}."]
    for spec in cfg.exposed(Exposure.NLB).values():
        assert all("WebSocketLoadBalancer" in targets[f"{domain.fqdn(h)}."] for h in spec.hosts)
    alb_hosts = [h for s in cfg.exposed(Exposure.ALB).values() for h in s.hosts]
    for host in [domain.origin_host, *alb_hosts]:
        assert "LoadBalancerBE9EEC3A" in targets[f"{domain.fqdn(host)}."], host


@pytest.mark.parametrize("stage", STAGES)
def test_uncached_cloudfront_routes_are_the_services_that_say_so(
    matrix: Synthesized, stage: str
) -> None:
    cfg = CONFIGS[stage]
    (distribution,) = resources(
        matrix.template(stage, "cdn"), "AWS::CloudFront::Distribution"
    ).values()
    behaviors = distribution["Properties"]["DistributionConfig"]["CacheBehaviors"]
    expected = [
        p
        for s in cfg.exposed(Exposure.CLOUDFRONT).values()
        if s.cdn_cache.value == "disabled"
        for p in s.paths
        if p != "/*"
    ]
    assert sorted(b["PathPattern"] for b in behaviors) == sorted([*expected, cfg.edge.static_path])


@pytest.mark.parametrize("stage", STAGES)
def test_every_declared_route_reaches_its_service(matrix: Synthesized, stage: str) -> None:
    cfg = CONFIGS[stage]
    compute = matrix.template(stage, "compute")
    origin = cfg.domain.fqdn(cfg.domain.origin_host) if cfg.domain else None
    for name, spec in cfg.exposed(Exposure.CLOUDFRONT).items():
        for pattern in spec.paths:
            path = pattern.replace("*", "x")
            assert route(compute, path, origin, via_cloudfront=True) == cfg.resource_name(name)
    for name, spec in cfg.exposed(Exposure.ALB).items():
        assert cfg.domain is not None
        for host in spec.hosts:
            for pattern in spec.paths:
                path = pattern.replace("*", "x")
                found = route(compute, path, cfg.domain.fqdn(host), via_cloudfront=False)
                assert found == cfg.resource_name(name), (host, path)


@pytest.mark.parametrize("stage", STAGES)
def test_load_balancers_are_deletion_protected_where_the_stage_says(
    matrix: Synthesized, stage: str
) -> None:
    cfg = CONFIGS[stage]
    wanted = cfg.compute.load_balancer_deletion_protection
    if cfg.guarantees.deletion_protection:
        assert wanted
    for lb in resources(
        matrix.template(stage, "compute"), "AWS::ElasticLoadBalancingV2::LoadBalancer"
    ).values():
        attributes = {a["Key"]: a["Value"] for a in lb["Properties"]["LoadBalancerAttributes"]}
        assert attributes["deletion_protection.enabled"] == str(wanted).lower()


# -- compute: tasks ----------------------------------------------------------------------------


def task_roles(compute: Template, cfg: StageConfig) -> dict[str, dict[str, Any]]:
    return {
        name: one(compute, "AWS::IAM::Role", f"Service{lid(name)}TaskTaskRole")["Properties"]
        for name in cfg.services
    }


def managed_policy(compute: Template, prefix: str) -> tuple[str, dict[str, Any]] | None:
    found = [
        (lid, p["Properties"])
        for lid, p in resources(compute, "AWS::IAM::ManagedPolicy").items()
        if lid.startswith(prefix)
    ]
    assert len(found) <= 1
    return found[0] if found else None


@pytest.mark.parametrize("stage", STAGES)
def test_the_xray_sidecar_and_its_permissions_only_where_switched_on(
    matrix: Synthesized, stage: str
) -> None:
    cfg = CONFIGS[stage]
    compute = matrix.template(stage, "compute")
    daemon_policy = managed_policy(compute, "TracingDaemon")
    roles = task_roles(compute, cfg)
    for name in cfg.services:
        task = one(compute, "AWS::ECS::TaskDefinition", f"Service{lid(name)}Task")
        containers = {c["Name"]: c for c in task["Properties"]["ContainerDefinitions"]}
        address = {"Name": "AWS_XRAY_DAEMON_ADDRESS", "Value": "127.0.0.1:2000"}
        attached = json.dumps(roles[name].get("ManagedPolicyArns", []))
        if cfg.compute.xray_sidecar:
            assert set(containers) == {"app", "xray-daemon"}
            daemon = containers["xray-daemon"]
            assert daemon["Essential"] is False  # tracing never takes the service down
            assert daemon["Image"] == cfg.compute.xray_daemon_image
            assert daemon["PortMappings"] == [{"ContainerPort": 2000, "Protocol": "udp"}]
            assert address in containers["app"]["Environment"]
            assert daemon_policy is not None
            assert f'"Ref": "{daemon_policy[0]}"' in attached
        else:
            assert set(containers) == {"app"}
            assert address not in containers["app"].get("Environment", [])
    granted = {a for s in statements(compute) for a in actions(s)}
    if cfg.compute.xray_sidecar:
        assert daemon_policy is not None
        (statement,) = daemon_policy[1]["PolicyDocument"]["Statement"]
        assert set(actions(statement)) == XRAY_ACTIONS | XRAY_SAMPLING
        assert statement["Resource"] == "*"
    else:
        assert daemon_policy is None
        assert not granted & XRAY_SAMPLING  # only the daemon samples


@pytest.mark.parametrize("stage", STAGES)
def test_ecs_exec_only_where_switched_on_encrypted_and_logged(
    matrix: Synthesized, stage: str
) -> None:
    cfg = CONFIGS[stage]
    compute = matrix.template(stage, "compute")
    cluster = one(compute, "AWS::ECS::Cluster")["Properties"]
    services = resources(compute, "AWS::ECS::Service").values()
    shell = managed_policy(compute, "OperatorShell")
    roles = task_roles(compute, cfg)
    if not cfg.compute.exec_enabled:
        assert "Configuration" not in cluster
        assert not any(s["Properties"].get("EnableExecuteCommand") for s in services)
        assert shell is None
        assert not [
            g
            for g in resources(compute, "AWS::Logs::LogGroup").values()
            if g["Properties"]["LogGroupName"].endswith("/ecs-exec")
        ]
        return
    assert not cfg.guarantees.no_operator_shell
    exec_config = cluster["Configuration"]["ExecuteCommandConfiguration"]
    key_id = one_id(compute, "AWS::KMS::Key", "ComputeKey")
    assert ref(exec_config["KmsKeyId"]) == key_id
    assert exec_config["Logging"] == "OVERRIDE"
    log_config = exec_config["LogConfiguration"]
    assert log_config["CloudWatchEncryptionEnabled"] is True
    log_group_id = ref(log_config["CloudWatchLogGroupName"])
    assert log_group_id is not None
    group = compute["Resources"][log_group_id]["Properties"]
    assert group["LogGroupName"] == cfg.log_name("ecs-exec")
    assert ref(group["KmsKeyId"]) == key_id
    assert [s["Properties"].get("EnableExecuteCommand") for s in services] == [True] * len(
        cfg.services
    )
    assert shell is not None
    shell_id, policy = shell
    by_resource = {
        json.dumps(s["Resource"]): set(actions(s)) for s in policy["PolicyDocument"]["Statement"]
    }
    assert by_resource == {
        '"*"': EXEC_CHANNELS,
        json.dumps({"Fn::GetAtt": [log_group_id, "Arn"]}): {
            "logs:CreateLogStream",
            "logs:DescribeLogStreams",
            "logs:PutLogEvents",
        },
        json.dumps({"Fn::GetAtt": [key_id, "Arn"]}): {"kms:Decrypt"},
    }
    for name in cfg.services:
        assert f'"Ref": "{shell_id}"' in json.dumps(roles[name]["ManagedPolicyArns"]), name
    # The channels come from the shared policy, never from a task role's own policy.
    own = [s for role, s in role_statements(compute) if "TaskTaskRole" in role]
    assert not {a for s in own for a in actions(s)} & EXEC_CHANNELS


@pytest.mark.parametrize("stage", where(lambda c: c.compute.exec_enabled))
def test_ecs_exec_tasks_let_the_ssm_agent_write(matrix: Synthesized, stage: str) -> None:
    cfg = CONFIGS[stage]
    compute = matrix.template(stage, "compute")
    for name in cfg.services:
        task = one(compute, "AWS::ECS::TaskDefinition", f"Service{lid(name)}Task")
        (app,) = [c for c in task["Properties"]["ContainerDefinitions"] if c["Name"] == "app"]
        writable = {m["ContainerPath"] for m in app.get("MountPoints", []) if not m["ReadOnly"]}
        assert app.get("ReadonlyRootFilesystem") is not True or set(EXEC_AGENT_PATHS) <= writable


@pytest.mark.parametrize("stage", STAGES)
def test_services_sleep_only_where_the_stage_sleeps(matrix: Synthesized, stage: str) -> None:
    """mxb is dev without the dev preset's sleep: no off-hours scaling, no database stop."""
    cfg = CONFIGS[stage]
    targets = resources(
        matrix.template(stage, "compute"), "AWS::ApplicationAutoScaling::ScalableTarget"
    )
    names = {
        a["ScheduledActionName"]
        for t in targets.values()
        for a in t["Properties"].get("ScheduledActions", [])
    }
    if cfg.sleep is None:
        assert not {"OffHoursStop", "OffHoursStart"} & names
        data = matrix.template(stage, "data")
        assert resources(data, "AWS::Scheduler::ScheduleGroup") == {}
    else:
        assert {"OffHoursStop", "OffHoursStart"} <= names


# -- compute: scheduled jobs -------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_each_job_is_a_schedule_in_the_stage_time_zone(matrix: Synthesized, stage: str) -> None:
    cfg = CONFIGS[stage]
    compute = matrix.template(stage, "compute")
    schedules = {
        s["Properties"]["Name"]: s["Properties"]
        for s in resources(compute, "AWS::Scheduler::Schedule").values()
    }
    assert set(schedules) == {cfg.resource_name(name) for name in cfg.jobs}
    for name, job in cfg.jobs.items():
        schedule = schedules[cfg.resource_name(name)]
        assert schedule["ScheduleExpression"] == job.expression
        assert schedule["ScheduleExpressionTimezone"] == cfg.time_zone
        target = schedule["Target"]
        assert json.loads(target["Input"]) == (job.message or {"job": name})
        queue = ref(target["Arn"])
        assert queue is not None
        assert queue.startswith(f"{pascal(job.function)}Queue")
        dead_letters = ref(target["DeadLetterConfig"]["Arn"])
        assert dead_letters is not None
        assert dead_letters.startswith(f"{pascal(job.function)}DeadLetters")


def test_a_stage_with_no_jobs_has_no_schedules(matrix: Synthesized) -> None:
    assert MATRIX["mxa"][1]["jobs"] == {}
    assert CONFIGS["Mxa"].jobs == {}  # what the job derived
    assert resources(matrix.template("Mxa", "compute"), "AWS::Scheduler::Schedule") == {}


# -- edge: WAF ---------------------------------------------------------------------------------


def web_acls(matrix: Synthesized, stage: str) -> dict[str, dict[str, Any]]:
    """Scope -> web ACL properties: CloudFront's (edge stack) and the ALB's regional one."""
    found = {}
    for concern in ("edge", "compute"):
        for acl in resources(matrix.template(stage, concern), "AWS::WAFv2::WebACL").values():
            found[acl["Properties"]["Scope"]] = acl["Properties"]
    return found


@pytest.mark.parametrize("stage", STAGES)
def test_a_regional_waf_guards_the_alb_only_when_clients_reach_it_directly(
    matrix: Synthesized, stage: str
) -> None:
    cfg = CONFIGS[stage]
    compute = matrix.template(stage, "compute")
    acls = web_acls(matrix, stage)
    associations = resources(compute, "AWS::WAFv2::WebACLAssociation")
    if not cfg.exposed(Exposure.ALB):
        assert set(acls) == {"CLOUDFRONT"}
        assert associations == {}
        return
    assert set(acls) == {"CLOUDFRONT", "REGIONAL"}
    regional = acls["REGIONAL"]
    assert regional["Name"] == cfg.resource_name("regional")
    assert regional["DefaultAction"] == {"Allow": {}}
    # CloudFront's own requests first (checked at the edge), then CloudFront's rules in order.
    assert [r["Name"] for r in regional["Rules"]] == [
        "CheckedAtTheEdge",
        *(r["Name"] for r in acls["CLOUDFRONT"]["Rules"]),
    ]
    ((_, association),) = associations.items()
    assert ref(association["Properties"]["ResourceArn"]) == "LoadBalancerBE9EEC3A"
    assert ref(association["Properties"]["WebACLArn"]) == "RegionalWebAcl"
    (logging,) = resources(compute, "AWS::WAFv2::LoggingConfiguration").values()
    (destination,) = logging["Properties"]["LogDestinationConfigs"]
    group_id = ref(destination)
    assert group_id is not None
    name = compute["Resources"][group_id]["Properties"]["LogGroupName"]
    assert name == f"aws-waf-logs-{cfg.resource_name('regional')}"


@pytest.mark.parametrize("stage", where(lambda c: bool(c.exposed(Exposure.ALB))))
def test_cloudfronts_requests_skip_the_regional_per_ip_rules(
    matrix: Synthesized, stage: str
) -> None:
    """Every CloudFront request arrives from CloudFront's addresses: per-IP rules on the ALB
    would count all viewers as a few clients. They are allowed by their Host (the origin name),
    first; the listener still demands CloudFront's secret header for those routes."""
    cfg = CONFIGS[stage]
    assert cfg.domain is not None
    first, *rest = web_acls(matrix, stage)["REGIONAL"]["Rules"]
    assert first["Priority"] == 0
    assert first["Action"] == {"Allow": {}}
    match = first["Statement"]["ByteMatchStatement"]
    assert match["FieldToMatch"] == {"SingleHeader": {"Name": "host"}}
    assert match["PositionalConstraint"] == "EXACTLY"
    assert match["SearchString"] == cfg.domain.fqdn(cfg.domain.origin_host)
    assert [r["Priority"] for r in rest] == list(range(1, len(rest) + 1))


@pytest.mark.parametrize("stage", STAGES)
def test_large_bodies_pass_only_on_the_configured_paths(matrix: Synthesized, stage: str) -> None:
    paths = CONFIGS[stage].edge.waf.large_body_paths
    for scope, acl in web_acls(matrix, stage).items():
        rules = {r["Name"]: r for r in acl["Rules"]}
        common = rules["AWSManagedRulesCommonRuleSet"]["Statement"]["ManagedRuleGroupStatement"]
        if not paths:
            assert "RuleActionOverrides" not in common, scope
            assert "OversizedBodyOutsideUploads" not in rules, scope
            continue
        assert common["RuleActionOverrides"] == [
            {"ActionToUse": {"Count": {}}, "Name": "SizeRestrictions_BODY"}
        ]
        oversized = rules["OversizedBodyOutsideUploads"]
        assert oversized["Action"] == {"Block": {}}
        assert oversized["Priority"] > rules["AWSManagedRulesCommonRuleSet"]["Priority"]
        label, spared = oversized["Statement"]["AndStatement"]["Statements"]
        assert label["LabelMatchStatement"]["Key"] == BODY_LABEL
        inner = spared["NotStatement"]["Statement"]
        matches = [inner] if "ByteMatchStatement" in inner else inner["OrStatement"]["Statements"]
        assert [m["ByteMatchStatement"]["SearchString"] for m in matches] == [
            p.rstrip("*") for p in paths
        ], scope


# -- observability -----------------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_the_chat_notifier_only_where_chat_is_on(matrix: Synthesized, stage: str) -> None:
    cfg = CONFIGS[stage]
    observability = matrix.template(stage, "observability")
    functions = {
        f["Properties"]["FunctionName"]
        for f in resources(observability, "AWS::Lambda::Function").values()
    }
    secrets = {
        s["Properties"]["Name"]
        for s in resources(observability, "AWS::SecretsManager::Secret").values()
    }
    levels = topic_levels(observability)
    to_lambda = {
        levels[ref(s["Properties"]["TopicArn"]) or ""]
        for s in resources(observability, "AWS::SNS::Subscription").values()
        if s["Properties"]["Protocol"] == "lambda"
    }
    chat_alarms = {a for a in alarms(observability) if a.startswith(f"{cfg.prefix}-chat-notifier-")}
    alerts = cfg.observability.alerts
    if alerts.chat:
        assert functions == {cfg.resource_name("chat-notifier")}
        assert secrets == {cfg.secret_name("chat-webhook")}
        assert to_lambda == {s.value for s in alerts.chat_severities}
        assert chat_alarms
    else:
        assert (functions, secrets, to_lambda, chat_alarms) == (set(), set(), set(), set())


@pytest.mark.parametrize("stage", STAGES)
def test_account_audit_services_follow_their_switches(matrix: Synthesized, stage: str) -> None:
    audit = CONFIGS[stage].observability.audit
    observability = matrix.template(stage, "observability")

    def count(kind: str) -> int:
        return len(resources(observability, kind))

    assert count("AWS::CloudTrail::Trail") == int(audit.cloudtrail)
    assert count("AWS::Config::ConfigurationRecorder") == int(audit.config_recorder)
    assert count("AWS::Config::DeliveryChannel") == int(audit.config_recorder)
    assert (count("AWS::Config::ConfigRule") > 0) is audit.config_recorder
    assert count("AWS::GuardDuty::Detector") == int(audit.guardduty)
    assert count("AWS::SecurityHub::Hub") == int(audit.security_hub)
    tampering = {
        lid for lid in resources(observability, "AWS::Events::Rule") if lid.startswith("Tampering")
    }
    assert len(tampering) == (2 if audit.cloudtrail else 0)
    buckets = {
        lid: b["Properties"] for lid, b in resources(observability, "AWS::S3::Bucket").items()
    }
    trail_buckets = [p for lid, p in buckets.items() if lid.startswith("TrailBucket")]
    assert len(trail_buckets) == int(audit.cloudtrail)
    for bucket in trail_buckets:
        assert bucket.get("ObjectLockEnabled", False) is audit.trail_object_lock
        if audit.trail_object_lock:
            assert bucket["ObjectLockConfiguration"]["Rule"]["DefaultRetention"] == {
                "Days": audit.trail_retention_days,
                "Mode": "COMPLIANCE",
            }
    if not (audit.cloudtrail or audit.config_recorder):  # nothing to keep: no audit bucket or key
        assert buckets == {}
        assert not [
            k for k in resources(observability, "AWS::KMS::Key") if k.startswith("AuditKey")
        ]


# -- disaster recovery -------------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_buckets_replicate_to_the_dr_region_only_where_asked(
    matrix: Synthesized, stage: str
) -> None:
    cfg = CONFIGS[stage]
    data = matrix.template(stage, "data")
    for name, spec in cfg.buckets.items():
        bucket = one(data, "AWS::S3::Bucket", f"{pascal(name)}Bucket")["Properties"]
        if not (cfg.has_dr and spec.replicate_to_dr):
            assert "ReplicationConfiguration" not in bucket, name
            continue
        (rule,) = bucket["ReplicationConfiguration"]["Rules"]
        destination = rule["Destination"]
        assert destination["Bucket"] == f"arn:aws:s3:::{cfg.replica_bucket_name(name)}"
        assert destination["StorageClass"] == "STANDARD_IA"
        assert "ReplicaKmsKeyID" in destination["EncryptionConfiguration"]
        assert rule["DeleteMarkerReplication"] == {"Status": "Enabled"}
        assert rule["SourceSelectionCriteria"]["SseKmsEncryptedObjects"]["Status"] == "Enabled"
    if not cfg.has_dr:
        assert resources(data, "Custom::CrossRegionExportReader") == {}
        return
    dr = matrix.template(stage, "dr")
    replicas = {
        b["Properties"].get("BucketName")
        for lid, b in resources(dr, "AWS::S3::Bucket").items()
        if not lid.startswith("AccessLogs")
    }
    assert replicas == {
        cfg.replica_bucket_name(n) for n, b in cfg.buckets.items() if b.replicate_to_dr
    }


@pytest.mark.parametrize("stage", STAGES)
def test_recovery_points_are_copied_and_vaults_locked_as_configured(
    matrix: Synthesized, stage: str
) -> None:
    cfg = CONFIGS[stage]
    plan = cfg.data.backup
    data = matrix.template(stage, "data")
    (backup_plan,) = resources(data, "AWS::Backup::BackupPlan").values()
    rules = {r["RuleName"]: r for r in backup_plan["Properties"]["BackupPlan"]["BackupPlanRule"]}
    days = dict(
        zip(
            BACKUP_RULES,
            (plan.daily_retention_days, plan.weekly_retention_days, plan.monthly_retention_days),
            strict=True,
        )
    )
    assert set(rules) == {name for name, d in days.items() if d}
    dr_vault = (
        f"arn:aws:backup:{cfg.data.dr_region}:{cfg.account}:backup-vault:"
        f"{cfg.resource_name('vault-dr')}"
    )
    for name, rule in rules.items():
        assert rule["Lifecycle"] == {"DeleteAfterDays": days[name]}
        assert rule["EnableContinuousBackup"] is (name == "Daily" and plan.continuous)
        if cfg.has_dr and plan.copy_to_dr:
            assert rule["CopyActions"] == [
                {
                    "DestinationBackupVaultArn": dr_vault,
                    "Lifecycle": {"DeleteAfterDays": days[name]},
                }
            ]
        else:
            assert "CopyActions" not in rule, name
    vaults = [("data", v) for v in resources(data, "AWS::Backup::BackupVault").values()]
    if cfg.has_dr:
        (dr,) = resources(matrix.template(stage, "dr"), "AWS::Backup::BackupVault").values()
        assert dr["Properties"]["BackupVaultName"] == cfg.resource_name("vault-dr")
        vaults.append(("dr", dr))
    for owner, vault in vaults:
        props = vault["Properties"]
        if plan.vault_lock:
            assert props["LockConfiguration"] == {
                "ChangeableForDays": plan.lock_changeable_days,
                "MinRetentionDays": plan.lock_min_retention_days,
            }, owner
            (deny,) = props["AccessPolicy"]["Statement"]
            assert deny["Effect"] == "Deny"
            assert "backup:DeleteRecoveryPoint" in deny["Action"]
        else:
            assert "LockConfiguration" not in props, owner
            assert "AccessPolicy" not in props, owner
