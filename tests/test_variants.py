"""Shapes the default stages do not use, synthesized once: Aurora MySQL with a reader, a sharded
cache and a custom domain (reference architectures 3, 1 and 4), PostgreSQL with a read replica."""

from __future__ import annotations

import dataclasses
import json

import pytest

from infra.config import default_stages
from infra.config.compute import DomainConfig
from infra.config.data import CacheConfig, DatabaseConfig
from infra.config.primitives import DatabaseEngine
from infra.platform import build_platform
from tests.synth import Synthesized, new_app, resources, synthesize, unexpected_lint_findings


@pytest.fixture(scope="module")
def variants(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    stages = default_stages()
    staging = stages["staging"]
    aurora = dataclasses.replace(
        staging,
        ports=dataclasses.replace(staging.ports, database=3306),
        network=dataclasses.replace(staging.network, load_balancer_ingress_cidrs=("0.0.0.0/0",)),
        compute=dataclasses.replace(
            staging.compute,
            domain=DomainConfig("example.com", "Z0123456789ABCDEFGHIJ"),
            websocket_entry="nlb",  # reference architecture 4: ws. on an NLB, source-IP sticky
            xray_sidecar=True,
        ),
        data=dataclasses.replace(
            staging.data,
            database=DatabaseConfig(
                engine=DatabaseEngine.AURORA_MYSQL,
                engine_version="8.0.mysql_aurora.3.09.0",
                instance_class="r6g.large",
                readers=1,
                parameters=(("max_connections", "300"),),
            ),
            cache=CacheConfig(node_type="cache.t4g.medium", shards=2, replicas_per_shard=1),
        ),
    )
    dev = stages["dev"]
    replica = dataclasses.replace(
        dev,
        data=dataclasses.replace(
            dev.data, database=dataclasses.replace(dev.data.database, read_replica=True)
        ),
    )
    app = new_app(tmp_path_factory.mktemp("variants"))
    build_platform(app, environ={}, configs=[replica, aurora])
    return synthesize(app)


def test_variants_are_compliant_and_lint_clean(variants: Synthesized) -> None:
    assert variants.violations() == []
    # Only the stacks these shapes change; the others equal the default stages' (linted there).
    changed = {("Staging", c) for c in ("network", "data", "compute", "edge", "cdn")}
    assert unexpected_lint_findings(variants, only=changed | {("Dev", "data")}) == []


def test_aurora_mysql_writer_and_reader(variants: Synthesized) -> None:
    template = variants.template("Staging", "data")
    (cluster,) = resources(template, "AWS::RDS::DBCluster").values()
    props = cluster["Properties"]
    assert props["Engine"] == "aurora-mysql"
    assert props["StorageEncrypted"] is True
    assert props["EnableIAMDatabaseAuthentication"] is True
    assert props["EnableCloudwatchLogsExports"] == ["audit", "error", "slowquery"]
    assert props["BackupRetentionPeriod"] == 7
    assert props["DeletionProtection"] is True
    assert cluster["DeletionPolicy"] == "Snapshot"
    instances = resources(template, "AWS::RDS::DBInstance").values()
    assert len(instances) == 2  # writer + reader
    for instance in instances:
        assert instance["Properties"]["DBInstanceClass"] == "db.r6g.large"
        assert instance["Properties"]["EnablePerformanceInsights"] is True
        assert instance["Properties"]["PubliclyAccessible"] is False
    (parameters,) = resources(template, "AWS::RDS::DBClusterParameterGroup").values()
    assert parameters["Properties"]["Parameters"]["require_secure_transport"] == "ON"
    assert parameters["Properties"]["Parameters"]["server_audit_logging"] == "1"
    (rotation,) = resources(template, "AWS::SecretsManager::RotationSchedule").values()
    assert rotation["Properties"]["HostedRotationLambda"]["RotationType"] == "MySQLSingleUser"
    log_groups = {
        lg["Properties"]["LogGroupName"]
        for lg in resources(template, "AWS::Logs::LogGroup").values()
    }
    assert "/aws/rds/cluster/webplat-staging-db/slowquery" in log_groups


def test_database_port_in_the_matrix_follows_the_engine(variants: Synthesized) -> None:
    network = json.dumps(variants.template("Staging", "network"))
    assert '"FromPort": 3306' in network
    assert '"FromPort": 5432' not in network


def test_sharded_cache_runs_in_cluster_mode(variants: Synthesized) -> None:
    (group,) = resources(
        variants.template("Staging", "data"), "AWS::ElastiCache::ReplicationGroup"
    ).values()
    props = group["Properties"]
    assert (props["NumNodeGroups"], props["ReplicasPerNodeGroup"]) == (2, 1)
    assert props["ClusterMode"] == "enabled"
    assert props["CacheParameterGroupName"] == "default.valkey8.cluster.on"
    assert props["AutomaticFailoverEnabled"] is True


def test_postgres_read_replica(variants: Synthesized) -> None:
    template = variants.template("Dev", "data")
    instances = list(resources(template, "AWS::RDS::DBInstance").values())
    (replica,) = [i for i in instances if "SourceDBInstanceIdentifier" in i["Properties"]]
    props = replica["Properties"]
    assert props["DBInstanceIdentifier"] == "webplat-dev-db-replica"
    groups = {
        lid: lg["Properties"]["LogGroupName"]
        for lid, lg in resources(template, "AWS::Logs::LogGroup").items()
        if "db-replica" in lg["Properties"]["LogGroupName"]
    }
    assert sorted(groups.values()) == [
        "/aws/rds/instance/webplat-dev-db-replica/postgresql",
        "/aws/rds/instance/webplat-dev-db-replica/upgrade",
    ]
    assert set(groups) <= set(replica["DependsOn"])  # RDS finds them instead of creating them
    assert "StorageEncrypted" not in props  # inherited from the encrypted source
    assert props["EnablePerformanceInsights"] is True
    assert props["PubliclyAccessible"] is False


def test_a_domain_gives_the_load_balancer_tls(variants: Synthesized) -> None:
    template = variants.template("Staging", "compute")
    listeners = {
        listener["Properties"]["Port"]: listener["Properties"]
        for listener in resources(template, "AWS::ElasticLoadBalancingV2::Listener").values()
        if "LoadBalancerBE9EEC3A" in json.dumps(listener["Properties"]["LoadBalancerArn"])
    }
    assert listeners[443]["Protocol"] == "HTTPS"
    assert listeners[443]["SslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    (redirect,) = listeners[80]["DefaultActions"]
    assert redirect["RedirectConfig"]["Protocol"] == "HTTPS"
    (certificate,) = resources(template, "AWS::CertificateManager::Certificate").values()
    props = certificate["Properties"]
    assert props["DomainName"] == "origin.example.com"  # CloudFront's HTTPS name for the ALB
    assert props["SubjectAlternativeNames"] == ["ws.example.com"]  # the WebSocket NLB
    assert props["ValidationMethod"] == "DNS"
    assert props["DomainValidationOptions"][0]["HostedZoneId"] == "Z0123456789ABCDEFGHIJ"
    network = json.dumps(variants.template("Staging", "network"))
    assert '"SourcePrefixListId": "pl-22a6434b", "ToPort": 443' in network.replace("\n", "")


def test_websockets_on_a_tls_network_load_balancer(variants: Synthesized) -> None:
    template = variants.template("Staging", "compute")
    (nlb,) = [
        lb["Properties"]
        for lb in resources(template, "AWS::ElasticLoadBalancingV2::LoadBalancer").values()
        if lb["Properties"]["Type"] == "network"
    ]
    assert nlb["Scheme"] == "internet-facing"
    assert "SecurityGroupsnlb" in json.dumps(nlb["SecurityGroups"])
    (tls,) = [
        listener["Properties"]
        for listener in resources(template, "AWS::ElasticLoadBalancingV2::Listener").values()
        if listener["Properties"]["Protocol"] == "TLS"
    ]
    assert tls["Port"] == 443
    assert tls["SslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    (group,) = [
        tg["Properties"]
        for tg in resources(template, "AWS::ElasticLoadBalancingV2::TargetGroup").values()
        if tg["Properties"]["Protocol"] == "TCP"
    ]
    attributes = {a["Key"]: a["Value"] for a in group["TargetGroupAttributes"]}
    assert attributes["stickiness.type"] == "source_ip"
    assert int(attributes["deregistration_delay.timeout_seconds"]) > 120
    rules = resources(template, "AWS::ElasticLoadBalancingV2::ListenerRule").values()
    assert len(rules) == 2  # web and api on the ALB; ws only on the NLB
    network = json.dumps(variants.template("Staging", "network"))
    assert "network load balancer to WebSocket" in network
    assert "load balancer to WebSocket" not in network.replace("network load balancer", "")


def test_a_domain_gives_cloudfront_aliases_tls_and_records(variants: Synthesized) -> None:
    cdn = variants.template("Staging", "cdn")
    (distribution,) = resources(cdn, "AWS::CloudFront::Distribution").values()
    config = distribution["Properties"]["DistributionConfig"]
    assert config["Aliases"] == ["app.example.com", "api.example.com"]  # ws. is on the NLB
    assert config["ViewerCertificate"]["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert config["ViewerCertificate"]["SslSupportMethod"] == "sni-only"
    origin = next(o for o in config["Origins"] if "CustomOriginConfig" in o)
    assert origin["DomainName"] == "origin.example.com"
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    records = {
        (r["Properties"]["Name"], r["Properties"]["Type"])
        for r in resources(cdn, "AWS::Route53::RecordSet").values()
    }
    assert records == {
        (f"{host}.example.com.", kind)
        for host in ("app", "api", "origin", "ws")
        for kind in ("A", "AAAA")
    }
    edge = variants.template("Staging", "edge")
    (certificate,) = resources(edge, "AWS::CertificateManager::Certificate").values()
    assert certificate["Properties"]["DomainName"] == "app.example.com"  # in us-east-1


def test_xray_sidecar_option(variants: Synthesized) -> None:
    template = variants.template("Staging", "compute")
    for task in resources(template, "AWS::ECS::TaskDefinition").values():
        names = [c["Name"] for c in task["Properties"]["ContainerDefinitions"]]
        if names[0] == "migrate":
            continue
        assert names == ["app", "xray-daemon"]
        app, daemon = task["Properties"]["ContainerDefinitions"]
        assert daemon["Essential"] is False
        assert {"Name": "AWS_XRAY_DAEMON_ADDRESS", "Value": "127.0.0.1:2000"} in app["Environment"]
