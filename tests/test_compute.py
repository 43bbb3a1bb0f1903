"""Compute stack guarantees, per stage, read from the synthesized templates."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.config import default_stages
from tests.conftest import STAGES
from tests.synth import Synthesized, Template, resources

CONFIGS = {cfg.construct_id: cfg for cfg in default_stages().values()}
SERVICES = ("web", "api", "ws")


def compute(platform: Synthesized, stage: str) -> Template:
    return platform.template(stage, "compute")


def by_prefix(template: Template, resource_type: str, prefix: str) -> dict[str, Any]:
    (found,) = [
        r for lid, r in resources(template, resource_type).items() if lid.startswith(prefix)
    ]
    return found


def container(template: Template, service: str) -> dict[str, Any]:
    task = by_prefix(template, "AWS::ECS::TaskDefinition", f"Service{service}Task")
    (definition,) = task["Properties"]["ContainerDefinitions"]
    return definition  # type: ignore[no-any-return]


@pytest.mark.parametrize("stage", STAGES)
def test_cluster_has_container_insights_and_fargate_spot(platform: Synthesized, stage: str) -> None:
    template = compute(platform, stage)
    (cluster,) = resources(template, "AWS::ECS::Cluster").values()
    assert cluster["Properties"]["ClusterSettings"] == [
        {"Name": "containerInsights", "Value": "enhanced"}
    ]
    (providers,) = resources(template, "AWS::ECS::ClusterCapacityProviderAssociations").values()
    assert set(providers["Properties"]["CapacityProviders"]) == {"FARGATE", "FARGATE_SPOT"}
    has_exec = "ExecuteCommandConfiguration" in cluster["Properties"].get("Configuration", {})
    assert has_exec is CONFIGS[stage].compute.exec_enabled


@pytest.mark.parametrize("stage", STAGES)
def test_repositories(platform: Synthesized, stage: str) -> None:
    repositories = resources(compute(platform, stage), "AWS::ECR::Repository").values()
    assert len(repositories) == 3
    for repository in repositories:
        props = repository["Properties"]
        assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
        assert props["ImageTagMutability"] == "IMMUTABLE"
        assert props["EncryptionConfiguration"]["EncryptionType"] == "KMS"
        assert '"countNumber":30' in props["LifecyclePolicy"]["LifecyclePolicyText"]


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("service", SERVICES)
def test_containers_are_hardened(platform: Synthesized, stage: str, service: str) -> None:
    template = compute(platform, stage)
    definition = container(template, service)
    assert definition["ReadonlyRootFilesystem"] is True
    assert definition["User"] == "1000"
    assert definition["MountPoints"] == [
        {"ContainerPath": "/tmp", "ReadOnly": False, "SourceVolume": "tmp"}
    ]
    assert definition["LogConfiguration"]["LogDriver"] == "awslogs"
    assert "HealthCheck" in definition
    names = {e["Name"] for e in definition.get("Environment", [])}
    assert not {n for n in names if any(w in n for w in ("PASSWORD", "SECRET", "TOKEN"))}
    secrets = {s["Name"] for s in definition.get("Secrets", [])}
    if service in ("api", "ws"):  # the matrix's data clients
        assert {"DB_PASSWORD", "DB_HOST", "REDIS_AUTH_TOKEN", "JWT_SECRET"} <= secrets
    else:
        assert secrets == {"JWT_SECRET"}  # the web tier never sees data credentials
    cfg = CONFIGS[stage].compute.service(service)
    assert cfg is not None
    task = by_prefix(template, "AWS::ECS::TaskDefinition", f"Service{service}Task")["Properties"]
    assert (task["Cpu"], task["Memory"]) == (str(cfg.cpu), str(cfg.memory_mib))


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("service", SERVICES)
def test_services_deploy_safely_in_private_subnets(
    platform: Synthesized, stage: str, service: str
) -> None:
    compute_cfg = CONFIGS[stage].compute
    props = by_prefix(compute(platform, stage), "AWS::ECS::Service", f"Service{service}Service")[
        "Properties"
    ]
    deployment = props["DeploymentConfiguration"]
    assert deployment["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert deployment["Alarms"]["Enable"] is True
    assert deployment["Alarms"]["Rollback"] is True
    assert (deployment["MinimumHealthyPercent"], deployment["MaximumPercent"]) == (100, 200)
    assert (
        props["HealthCheckGracePeriodSeconds"] == 60 + 30 * 3
    )  # start period + interval x retries
    network = props["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    assert "privateSubnet" in json.dumps(network["Subnets"])
    assert f"SecurityGroups{service}" in json.dumps(network["SecurityGroups"])
    assert props["EnableExecuteCommand"] is compute_cfg.exec_enabled
    spot = {s["CapacityProvider"] for s in props["CapacityProviderStrategy"]}
    cfg = compute_cfg.service(service)
    assert cfg is not None
    assert ("FARGATE_SPOT" in spot) is bool(cfg.spot_weight)


@pytest.mark.parametrize("stage", STAGES)
def test_load_balancer(platform: Synthesized, stage: str) -> None:
    template = compute(platform, stage)
    (alb,) = resources(template, "AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    props = alb["Properties"]
    assert props["Scheme"] == "internet-facing"
    assert "publicSubnet" in json.dumps(props["Subnets"])
    attributes = {a["Key"]: a["Value"] for a in props["LoadBalancerAttributes"]}
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["idle_timeout.timeout_seconds"] == "120"
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["access_logs.s3.prefix"] == "alb"
    assert attributes["deletion_protection.enabled"] == ("false" if stage == "Dev" else "true")
    (listener,) = resources(template, "AWS::ElasticLoadBalancingV2::Listener").values()
    assert listener["Properties"]["Port"] == 80
    (action,) = listener["Properties"]["DefaultActions"]
    assert action["FixedResponseConfig"]["StatusCode"] == "403"  # no header, no entry


@pytest.mark.parametrize("stage", STAGES)
def test_routing_requires_cloudfronts_origin_header(platform: Synthesized, stage: str) -> None:
    rules = resources(
        compute(platform, stage), "AWS::ElasticLoadBalancingV2::ListenerRule"
    ).values()
    routes = {}
    for rule in rules:
        conditions = {c["Field"]: c for c in rule["Properties"]["Conditions"]}
        header = conditions["http-header"]["HttpHeaderConfig"]
        assert header["HttpHeaderName"] == "X-Origin-Verify"
        assert "{{resolve:secretsmanager:" in json.dumps(header["Values"])  # never a literal
        paths = tuple(conditions["path-pattern"]["PathPatternConfig"]["Values"])
        routes[paths] = rule["Properties"]["Priority"]
    assert routes[("/*",)] == max(routes.values())  # the catch-all is evaluated last
    assert set(routes) == {("/*",), ("/api/*",), ("/ws/*", "/socket.io/*")}


@pytest.mark.parametrize("stage", STAGES)
def test_websockets_stick_and_drain_longer_than_the_idle_timeout(
    platform: Synthesized, stage: str
) -> None:
    ws = by_prefix(
        compute(platform, stage), "AWS::ElasticLoadBalancingV2::TargetGroup", "Servicews"
    )
    attributes = {a["Key"]: a["Value"] for a in ws["Properties"]["TargetGroupAttributes"]}
    assert attributes["stickiness.enabled"] == "true"
    assert int(attributes["deregistration_delay.timeout_seconds"]) > 120


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("service", SERVICES)
def test_target_tracking_scaling(platform: Synthesized, stage: str, service: str) -> None:
    template = compute(platform, stage)
    cfg = CONFIGS[stage].compute.service(service)
    assert cfg is not None
    target = by_prefix(template, "AWS::ApplicationAutoScaling::ScalableTarget", f"Service{service}")
    assert (target["Properties"]["MinCapacity"], target["Properties"]["MaxCapacity"]) == (
        cfg.min_tasks,
        cfg.max_tasks,
    )
    policies = [
        p["Properties"]["TargetTrackingScalingPolicyConfiguration"]
        for lid, p in resources(template, "AWS::ApplicationAutoScaling::ScalingPolicy").items()
        if lid.startswith(f"Service{service}")
    ]
    metrics = {p["PredefinedMetricSpecification"]["PredefinedMetricType"]: p for p in policies}
    assert set(metrics) == {
        "ECSServiceAverageCPUUtilization",
        "ECSServiceAverageMemoryUtilization",
        "ALBRequestCountPerTarget",
    }
    assert metrics["ECSServiceAverageCPUUtilization"]["TargetValue"] == 70
    for policy in policies:
        assert (policy["ScaleOutCooldown"], policy["ScaleInCooldown"]) == (60, 300)


def test_prod_api_scales_up_for_office_hours_in_seoul(platform: Synthesized) -> None:
    target = by_prefix(
        compute(platform, "Prod"), "AWS::ApplicationAutoScaling::ScalableTarget", "Serviceapi"
    )
    actions = {a["ScheduledActionName"]: a for a in target["Properties"]["ScheduledActions"]}
    office = actions["office-hours"]
    assert office["Schedule"] == "cron(0 9 ? * MON-FRI *)"
    assert office["Timezone"] == "Asia/Seoul"
    assert office["ScalableTargetAction"] == {"MinCapacity": 4, "MaxCapacity": 10}
    assert actions["after-hours"]["ScalableTargetAction"]["MinCapacity"] == 2


@pytest.mark.parametrize("stage", STAGES)
def test_off_hours_scale_non_prod_to_zero(platform: Synthesized, stage: str) -> None:
    for target in resources(
        compute(platform, stage), "AWS::ApplicationAutoScaling::ScalableTarget"
    ).values():
        names = {a["ScheduledActionName"] for a in target["Properties"].get("ScheduledActions", [])}
        assert ("OffHoursStop" in names) is (CONFIGS[stage].compute.off_hours is not None)


@pytest.mark.parametrize("stage", STAGES)
def test_job_queue_and_dead_letters(platform: Synthesized, stage: str) -> None:
    template, worker = compute(platform, stage), CONFIGS[stage].compute.worker
    jobs = by_prefix(template, "AWS::SQS::Queue", "JobsDF")["Properties"]
    dead = by_prefix(template, "AWS::SQS::Queue", "JobsDeadLetters")["Properties"]
    for queue in (jobs, dead):
        assert "KmsMasterKeyId" in queue
    assert (
        jobs["VisibilityTimeout"]
        == worker.queue_visibility_timeout_seconds
        > worker.timeout_seconds
    )
    assert jobs["RedrivePolicy"]["maxReceiveCount"] == worker.max_receive_count
    for policy in resources(template, "AWS::SQS::QueuePolicy").values():
        (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
        assert statement["Effect"] == "Deny"
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.parametrize("stage", STAGES)
def test_worker_function(platform: Synthesized, stage: str) -> None:
    template, worker = compute(platform, stage), CONFIGS[stage].compute.worker
    (function,) = resources(template, "AWS::Lambda::Function").values()
    props = function["Properties"]
    assert props["Runtime"] == "python3.14"
    assert props["Handler"] == "handler.handler"
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["ReservedConcurrentExecutions"] == worker.reserved_concurrency
    assert props["Timeout"] == worker.timeout_seconds
    assert "SecurityGroupsworkers" in json.dumps(props["VpcConfig"])
    assert "KmsKeyArn" in props
    (mapping,) = resources(template, "AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    (table,) = resources(template, "AWS::DynamoDB::GlobalTable").values()
    assert table["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": "expires_at",
        "Enabled": True,
    }
    assert table["Properties"]["SSESpecification"]["SSEType"] == "KMS"


@pytest.mark.parametrize("stage", STAGES)
def test_daily_job_runs_at_midnight_seoul(platform: Synthesized, stage: str) -> None:
    (schedule,) = resources(compute(platform, stage), "AWS::Scheduler::Schedule").values()
    props = schedule["Properties"]
    assert (props["ScheduleExpression"], props["ScheduleExpressionTimezone"]) == (
        "cron(0 0 * * ? *)",
        "Asia/Seoul",
    )
    assert props["Target"]["Arn"]["Fn::GetAtt"][0].startswith("JobsDF")  # the job queue
    assert json.loads(props["Target"]["Input"]) == {"job_type": "daily-report"}


@pytest.mark.parametrize("stage", STAGES)
def test_migration_task_and_pipeline_outputs(platform: Synthesized, stage: str) -> None:
    template = compute(platform, stage)
    task = by_prefix(template, "AWS::ECS::TaskDefinition", "MigrationTask")["Properties"]
    (definition,) = task["ContainerDefinitions"]
    assert definition["Command"] == ["sh", "-c", "echo no migrations yet"]
    assert "DB_PASSWORD" in {s["Name"] for s in definition["Secrets"]}
    assert set(template["Outputs"]) >= {
        "ClusterName",
        "MigrationTaskDefinitionArn",
        "LoadBalancerDnsName",
    }
    assert set(platform.template(stage, "network")["Outputs"]) >= {
        "PrivateSubnetIds",
        "ApiSecurityGroupId",
    }


@pytest.mark.parametrize("stage", STAGES)
def test_no_wildcard_actions_in_compute_roles(platform: Synthesized, stage: str) -> None:
    for policy in resources(compute(platform, stage), "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = (
                statement["Action"]
                if isinstance(statement["Action"], list)
                else [statement["Action"]]
            )
            wildcards = [a for a in actions if "*" in a]
            assert wildcards in ([], ["kms:GenerateDataKey*"]), statement  # scheduler's SQS target
