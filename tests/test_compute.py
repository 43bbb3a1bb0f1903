"""Compute guarantees, read from the synthesized templates: the cluster, images and their
credentials, hardened containers and safe deployments. Routing is in test_load_balancer.py,
scaling in test_scaling.py, functions and jobs in test_functions.py."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import STAGES
from tests.stacks import CONCERNS, profile_stages
from tests.synth import Pool, Synthesized, Template, resources
from tests.templates import actions, one, role_actions, statements

CONFIGS = {cfg.construct_id: cfg for cfg in profile_stages("default")}
SERVICES = ("web", "api", "ws")
# The container health check (constructs_lib/fargate_service.py), written out: the grace
# period before the load balancer's checks count is its start period plus interval x retries.
HEALTH = {"Interval": 30, "Retries": 3, "StartPeriod": 60, "Timeout": 5}
GRACE = 60 + 30 * 3
# Where ECS Exec's managed agent writes inside the container (AWS: Exec cannot start on a
# read-only root filesystem otherwise), with the task volume each path is mounted from.
EXEC_AGENT_PATHS = (
    ("exec-agents", "/managed-agents"),
    ("exec-agent-state", "/var/lib/amazon/ssm"),
    ("exec-agent-logs", "/var/log/amazon/ssm"),
)


def container(template: Template, service: str) -> dict[str, Any]:
    task = one(template, "AWS::ECS::TaskDefinition", f"Service{service}Task")
    (app,) = [c for c in task["Properties"]["ContainerDefinitions"] if c["Name"] == "app"]
    return app  # type: ignore[no-any-return]


def service_props(template: Template, service: str) -> dict[str, Any]:
    return one(template, "AWS::ECS::Service", f"Service{service}Service")["Properties"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("stage", STAGES)
def test_cluster_has_container_insights_and_fargate_spot(platform: Synthesized, stage: str) -> None:
    template = platform.template(stage, "compute")
    cluster = one(template, "AWS::ECS::Cluster")["Properties"]
    assert cluster["ClusterName"] == f"webplat-{stage.lower()}-cluster"
    assert cluster["ClusterSettings"] == [{"Name": "containerInsights", "Value": "enhanced"}]
    providers = one(template, "AWS::ECS::ClusterCapacityProviderAssociations")["Properties"]
    assert set(providers["CapacityProviders"]) == {"FARGATE", "FARGATE_SPOT"}


@pytest.mark.parametrize("stage", STAGES)
def test_repositories_are_immutable_scanned_encrypted_and_pruned(
    platform: Synthesized, stage: str
) -> None:
    cfg = CONFIGS[stage]
    template = platform.template(stage, "compute")
    repositories = resources(template, "AWS::ECR::Repository").values()
    names = {r["Properties"]["RepositoryName"] for r in repositories}
    assert names == {cfg.repository_name(service) for service in SERVICES}
    (key_id,) = resources(template, "AWS::KMS::Key")
    for repository in repositories:
        props = repository["Properties"]
        assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
        assert props["ImageTagMutability"] == "IMMUTABLE"
        assert props["EncryptionConfiguration"] == {
            "EncryptionType": "KMS",
            "KmsKey": {"Fn::GetAtt": [key_id, "Arn"]},
        }
        (rule,) = json.loads(props["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
        assert rule["selection"]["countNumber"] == cfg.compute.ecr_keep_images == 30
        assert rule["action"] == {"type": "expire"}


@pytest.mark.parametrize("stage", STAGES)
def test_placeholders_never_receive_secrets(platform: Synthesized, stage: str) -> None:
    template = platform.template(stage, "compute")
    for service in SERVICES:
        app = container(template, service)
        assert app["Image"] == "public.ecr.aws/docker/library/busybox:1.36"
        assert "Secrets" not in app, service


DATA_ACTIONS = ("s3:", "sqs:", "events:", "secretsmanager:", "dynamodb:", "rds-db:")


def imported_policies(template: Template, role: str) -> list[str]:
    """Export names of the other stacks' managed policies attached to a role (the data
    stack's bucket grants)."""
    props = template["Resources"][role]["Properties"]
    arns = props.get("ManagedPolicyArns", [])
    return [
        str(a["Fn::ImportValue"]) for a in arns if isinstance(a, dict) and "Fn::ImportValue" in a
    ]


@pytest.mark.parametrize("stage", STAGES)
def test_placeholders_get_no_data_permissions(platform: Synthesized, stage: str) -> None:
    """A public placeholder image could be anyone's code: its task role reaches no data."""
    template = platform.template(stage, "compute")
    for service in SERVICES:
        task = one(template, "AWS::ECS::TaskDefinition", f"Service{service}Task")
        role = task["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]
        granted = role_actions(template, role)
        assert not {a for a in granted if a.startswith(DATA_ACTIONS)}, (service, granted)
        assert imported_policies(template, role) == [], service


@pytest.mark.parametrize("stage", STAGES)
def test_a_release_runs_the_stage_repository_with_its_credentials(pool: Pool, stage: str) -> None:
    template = pool.result("release").template(stage, "compute")
    api = container(template, "api")
    assert f"webplat-{stage.lower()}-api:1.4.1" in json.dumps(api["Image"])
    secrets = {s["Name"]: json.dumps(s["ValueFrom"]) for s in api["Secrets"]}
    assert set(secrets) == {
        "DB_HOST", "DB_PORT", "DB_USERNAME", "DB_PASSWORD", "REDIS_AUTH_TOKEN", "JWT_SECRET"
    }  # fmt: skip
    assert all("database/master" not in value for value in secrets.values())
    web = container(template, "web")
    assert {s["Name"] for s in web["Secrets"]} == {"JWT_SECRET"}  # declares no data access
    # Pull rights on the service's own repository; the registry login from the shared policy.
    pulls = [s for s in statements(template) if "ecr:BatchGetImage" in actions(s)]
    assert len(pulls) == len(SERVICES)
    for pull in pulls:
        assert f"repository/webplat-{stage.lower()}-" in json.dumps(pull["Resource"])
    logins = [s for s in statements(template) if "ecr:GetAuthorizationToken" in actions(s)]
    assert len(logins) == 1  # one EcrAuthorization policy in the stack
    # A release gets the data access it declares (the placeholder before it got none).
    role = one(template, "AWS::ECS::TaskDefinition", "ServiceapiTask")["Properties"]["TaskRoleArn"]
    granted = role_actions(template, role["Fn::GetAtt"][0])
    assert "sqs:SendMessage" in granted
    (uploads,) = imported_policies(template, role["Fn::GetAtt"][0])
    assert "UploadsReadWrite" in uploads


@pytest.mark.parametrize("stage", STAGES)
def test_credentials_never_travel_as_plain_environment(pool: Pool, stage: str) -> None:
    template = pool.result("release").template(stage, "compute")
    for service in SERVICES:
        names = {e["Name"] for e in container(template, service).get("Environment", [])}
        assert {"STAGE", "PORT"} <= names
        leaked = {n for n in names if any(w in n for w in ("PASSWORD", "SECRET", "TOKEN"))}
        assert leaked == set(), service


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("service", SERVICES)
def test_containers_are_hardened(platform: Synthesized, stage: str, service: str) -> None:
    cfg = CONFIGS[stage].services[service]
    template = platform.template(stage, "compute")
    app = container(template, service)
    assert app["ReadonlyRootFilesystem"] is cfg.read_only_root_filesystem is True
    assert app["User"] == cfg.user == "1000"  # never root
    assert app.get("Privileged", False) is False
    assert "LinuxParameters" not in app  # no added capabilities
    assert app["Essential"] is True
    # The only writable paths are the task's own /tmp, and ECS Exec's agent paths where the
    # stage lets operators in (AWS: Exec cannot start on a read-only root otherwise).
    agent = list(EXEC_AGENT_PATHS) if CONFIGS[stage].compute.exec_enabled else []
    assert app["MountPoints"] == [
        {"ContainerPath": path, "ReadOnly": False, "SourceVolume": volume}
        for volume, path in [("tmp", "/tmp"), *agent]
    ]
    task = one(template, "AWS::ECS::TaskDefinition", f"Service{service}Task")["Properties"]
    assert task["Volumes"] == [{"Name": "tmp"}, *({"Name": volume} for volume, _ in agent)]
    assert (task["Cpu"], task["Memory"]) == (str(cfg.cpu), str(cfg.memory_mib))
    assert task["RequiresCompatibilities"] == ["FARGATE"]
    assert task["NetworkMode"] == "awsvpc"
    logs = app["LogConfiguration"]
    assert logs["LogDriver"] == "awslogs"
    log_group = template["Resources"][logs["Options"]["awslogs-group"]["Ref"]]["Properties"]
    assert log_group["LogGroupName"] == f"/webplat/{stage.lower()}/{service}"
    assert log_group["RetentionInDays"] == CONFIGS[stage].retention("services")
    (key_id,) = resources(template, "AWS::KMS::Key")
    assert log_group["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    health = app["HealthCheck"]
    assert {k: v for k, v in health.items() if k != "Command"} == HEALTH
    url = f"http://127.0.0.1:{cfg.port}{cfg.health_check_path}"
    assert health["Command"] == ["CMD-SHELL", f"wget -q -O /dev/null {url} || exit 1"]


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("service", SERVICES)
def test_services_deploy_safely_in_private_subnets(
    platform: Synthesized, stage: str, service: str
) -> None:
    cfg = CONFIGS[stage]
    spec = cfg.services[service]
    template = platform.template(stage, "compute")
    props = service_props(template, service)
    assert props["ServiceName"] == f"webplat-{stage.lower()}-{service}"
    assert props["DesiredCount"] == spec.min_tasks
    deployment = props["DeploymentConfiguration"]
    assert deployment["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    (alarm_id,) = [
        lid
        for lid in resources(template, "AWS::CloudWatch::Alarm")
        if lid.startswith(f"Service{service}Deployment")
    ]
    assert deployment["Alarms"] == {
        "AlarmNames": [{"Ref": alarm_id}],
        "Enable": True,
        "Rollback": True,
    }
    assert (deployment["MinimumHealthyPercent"], deployment["MaximumPercent"]) == (
        spec.min_healthy_percent,
        spec.max_percent,
    )
    assert props["HealthCheckGracePeriodSeconds"] == (spec.health_grace_seconds or GRACE)
    network = props["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    subnets = [s["Fn::ImportValue"] for s in network["Subnets"]]
    assert len(subnets) == len(cfg.network.availability_zones)
    assert all("privateSubnet" in s for s in subnets)
    (group,) = network["SecurityGroups"]
    assert f"SecurityGroups{service}" in group["Fn::ImportValue"]  # its own tier of the matrix
    assert props.get("EnableExecuteCommand", False) is cfg.compute.exec_enabled
    weights = {s["CapacityProvider"]: s["Weight"] for s in props["CapacityProviderStrategy"]}
    assert weights == {
        "FARGATE": 1,
        **({"FARGATE_SPOT": spec.spot_weight} if spec.spot_weight else {}),
    }


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("service", SERVICES)
def test_a_deployment_rolls_back_when_its_targets_answer_5xx(
    platform: Synthesized, stage: str, service: str
) -> None:
    template = platform.template(stage, "compute")
    alarm = one(template, "AWS::CloudWatch::Alarm", f"Service{service}Deployment")["Properties"]
    assert alarm["AlarmName"] == f"webplat-{stage.lower()}-{service}-deployment-5xx"
    assert (alarm["Namespace"], alarm["MetricName"]) == (
        "AWS/ApplicationELB",
        "HTTPCode_Target_5XX_Count",
    )
    assert (alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"]) == ("Sum", 60, 2)
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == (
        "GreaterThanOrEqualToThreshold",
        10,
    )
    dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
    (target_group,) = [
        lid
        for lid in resources(template, "AWS::ElasticLoadBalancingV2::TargetGroup")
        if lid.startswith(f"Service{service}Targets")
    ]
    assert dimensions["TargetGroup"] == {"Fn::GetAtt": [target_group, "TargetGroupFullName"]}


def test_credential_refresh_follows_the_application_rotation(platform: Synthesized) -> None:
    template = platform.template("Prod", "compute")
    rule = one(template, "AWS::Events::Rule", "AfterRotation")["Properties"]
    assert rule["EventPattern"]["detail"]["eventName"] == ["RotationSucceeded"]
    function = one(template, "AWS::Lambda::Function", "CredentialRefresh")["Properties"]
    env = function["Environment"]["Variables"]
    assert env["SERVICE_NAMES"] == "webplat-prod-api,webplat-prod-ws"  # those using the database
    (update,) = [s for s in statements(template) if "ecs:UpdateService" in actions(s)]
    assert "webplat-prod-web" not in json.dumps(update["Resource"])


@pytest.mark.parametrize("stage", STAGES)
def test_migration_task_and_pipeline_outputs(platform: Synthesized, stage: str) -> None:
    """What the pipeline reads from the stacks to run the migration and check the stage."""
    data = platform.template(stage, "data")
    task = one(data, "AWS::ECS::TaskDefinition", "MigrationTask")["Properties"]
    (migrate,) = task["ContainerDefinitions"]
    assert migrate["Command"] == list(CONFIGS[stage].compute.migration.command)
    assert migrate["Command"] == ["sh", "-c", "echo no migrations yet"]
    assert migrate["ReadonlyRootFilesystem"] is True
    assert migrate["User"] == "1000"
    assert data["Outputs"]["MigrationTaskDefinitionArn"]["Value"] == {
        "Ref": next(iter(resources(data, "AWS::ECS::TaskDefinition")))
    }
    compute = platform.template(stage, "compute")
    assert {"ClusterName", "LoadBalancerDnsName"} <= set(compute["Outputs"])
    assert {"PrivateSubnetIds", "MigrationSecurityGroupId"} <= set(
        platform.template(stage, "network")["Outputs"]
    )


def test_the_pipeline_migration_role_trusts_one_step_role(pool: Pool) -> None:
    # In the data stack: the migration step runs before compute deploys (and exists at all).
    template = pool.result("pipeline").template("Prod", "data")
    role = one(template, "AWS::IAM::Role", "PipelineMigrationRole")["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert json.dumps(trust["Principal"]) == json.dumps(
        {"AWS": "arn:aws:iam::111111111111:role/webplat-prod-migrate-step"}
    )
    policy = one(template, "AWS::IAM::ManagedPolicy", "PipelineMigrationPolicy")["Properties"]
    granted = [a for s in policy["PolicyDocument"]["Statement"] for a in actions(s)]
    assert "ecs:RegisterTaskDefinition" not in granted  # CloudFormation owns the task definition
    assert set(granted) == {
        "cloudformation:DescribeStacks", "ecs:RunTask", "ecs:DescribeTasks", "iam:PassRole"
    }  # fmt: skip


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("job", ["default", "release"])
def test_no_wildcard_actions_in_any_role(pool: Pool, stage: str, job: str) -> None:
    """No wildcard action anywhere: the scheduler's targets grant exact actions too."""
    found = {
        (concern, action)
        for concern in CONCERNS
        for statement in statements(pool.result(job).template(stage, concern))
        for action in actions(statement)
        if "*" in action
    }
    assert found == set()
