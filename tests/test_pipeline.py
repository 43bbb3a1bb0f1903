"""The delivery pipeline (infra/delivery), read from the synthesized "pipeline" job: stages in
promotion order, migrate between the data and compute stacks, health check and bake after the
deploy, approval where a stage asks for one, self-mutation with the pinned CLI, artifacts,
notifications and the cross-account roles; and its configuration (infra/config/pipeline.py),
checked without synthesis. Compliance and cfn-lint of this job are in test_compliance.py and
test_templates.py."""

from __future__ import annotations

import itertools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from infra.config import ConfigError, StageConfig, load_stages
from infra.config.pipeline import (
    PIPELINE_FIELDS,
    PipelineConfig,
    load_pipeline,
    stage_role_name,
    step_role_name,
)
from infra.delivery import PipelineStack
from infra.platform import build_platform, delivered_by
from tests import jobs
from tests.synth import Pool, StackTemplate, Synthesized, Template, normalize, resources
from tests.templates import actions, one

ROOT = Path(__file__).resolve().parent.parent
CONNECTION = jobs.PIPELINE["pipeline.connection_arn"]
ACCOUNTS = jobs.ACCOUNTS
TOOLING = jobs.PIPELINE["pipeline.account"]
CLI_PIN = json.loads((ROOT / "package.json").read_text())["devDependencies"]["aws-cdk"]
Action = dict[str, Any]


@cache
def pipeline_config() -> PipelineConfig:
    loaded = load_pipeline(jobs.PIPELINE, {})
    assert loaded is not None
    return loaded


@cache
def configs() -> tuple[StageConfig, ...]:
    """The stages the pipeline job promotes, configured as build_platform configures them."""
    loaded = load_stages(jobs.PIPELINE, {}).stages
    return tuple(delivered_by(cfg, pipeline_config()) for cfg in loaded)


def config(stage: str) -> StageConfig:
    (found,) = [cfg for cfg in configs() if cfg.name == stage]
    return found


STAGE_NAMES = [cfg.name for cfg in configs()]
BAKED = [cfg.name for cfg in configs() if cfg.delivery.bake_minutes]
UNBAKED = [cfg.name for cfg in configs() if not cfg.delivery.bake_minutes]
STEPS = [
    pytest.param(cfg.name, step, concern, id=f"{cfg.name}-{step}")
    for cfg in configs()
    for step, concern in (("migrate", "data"), ("bake", "observability"))
    if step == "migrate" or cfg.delivery.bake_minutes
]


# -- reading the pipeline --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def delivery(pool: Pool) -> Synthesized:
    return pool.result("pipeline")


@pytest.fixture(scope="module")
def template(delivery: Synthesized) -> Template:
    return delivery.template("", "pipeline")


def pipeline_props(template: Template) -> dict[str, Any]:
    return one(template, "AWS::CodePipeline::Pipeline")["Properties"]  # type: ignore[no-any-return]


def stages(template: Template) -> dict[str, list[Action]]:
    return {s["Name"]: s["Actions"] for s in pipeline_props(template)["Stages"]}


def stage_actions(template: Template, stage: str) -> dict[str, Action]:
    return {a["Name"]: a for a in stages(template)[config(stage).construct_id]}


def run_order(template: Template, stage: str) -> dict[str, int]:
    return {name: a["RunOrder"] for name, a in stage_actions(template, stage).items()}


def cfn_actions(template: Template, stage: str) -> list[Action]:
    return [
        a
        for a in stage_actions(template, stage).values()
        if a["ActionTypeId"]["Provider"] == "CloudFormation"
    ]


def project(template: Template, action: Action) -> dict[str, Any]:
    """The CodeBuild project a CodeBuild action runs."""
    logical_id = action["Configuration"]["ProjectName"]["Ref"]
    props: dict[str, Any] = template["Resources"][logical_id]["Properties"]
    return props


def environment(project_props: dict[str, Any]) -> dict[str, str]:
    variables = project_props["Environment"].get("EnvironmentVariables", [])
    return {v["Name"]: v["Value"] for v in variables}


def buildspec(delivery: Synthesized, project_props: dict[str, Any]) -> dict[str, Any]:
    """Inline, or a file of the assembly (CDK moves long buildspecs, e.g. asset publishing)."""
    spec = project_props["Source"]["BuildSpec"]
    text = spec if spec.lstrip().startswith("{") else (delivery.outdir / spec).read_text()
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def commands(spec: dict[str, Any], phase: str) -> list[str]:
    found: list[str] = spec["phases"].get(phase, {}).get("commands", [])
    return found


def step(template: Template, stage: str, prefix: str) -> Action:
    (found,) = [a for n, a in stage_actions(template, stage).items() if n.startswith(prefix)]
    return found


def migrate_action(template: Template, stage: str) -> Action:
    cfg = config(stage)
    return stage_actions(template, stage)[f"{cfg.stack_name('compute')}.Migrate-{cfg.name}"]


def stage_stacks(delivery: Synthesized, stage: str) -> list[StackTemplate]:
    prefix = config(stage).construct_id
    return [s for s in delivery.stacks if s.stage == prefix]


def stage_stack(delivery: Synthesized, stage: str, concern: str) -> StackTemplate:
    return delivery.by_key[(config(stage).construct_id, concern)]


def role_named(template: Template, name: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (lid, r["Properties"])
        for lid, r in resources(template, "AWS::IAM::Role").items()
        if r["Properties"].get("RoleName") == name
    ]
    return found


def stage_role_arn(cfg: StageConfig, step_name: str) -> str:
    return f"arn:aws:iam::{cfg.account}:role/{stage_role_name(cfg.project, cfg.name, step_name)}"


def step_role_arn(cfg: StageConfig, step_name: str) -> str:
    return f"arn:aws:iam::{TOOLING}:role/{step_role_name(cfg.project, cfg.name, step_name)}"


def critical_alarms(template: Template) -> set[str]:
    """The critical alarms a release can trip: an alert forwarder's own alarms page, but say
    nothing about the release being baked."""
    return {
        name
        for r in resources(template, "AWS::CloudWatch::Alarm").values()
        if (name := str(r["Properties"].get("AlarmName", ""))).endswith("-Critical")
        and "-chat-notifier-" not in name
    }


# -- order of promotion ----------------------------------------------------------------------------


def test_stages_promote_dev_then_staging_then_prod(template: Template) -> None:
    # name, approval, bake minutes: as presets.toml sets them (and the tests below are
    # parametrized by them)
    assert [(c.name, c.delivery.approval, c.delivery.bake_minutes) for c in configs()] == [
        ("dev", False, 0),
        ("staging", False, 30),
        ("prod", True, 15),
    ]
    assert list(stages(template)) == [
        "Source", "Build", "UpdatePipeline", "Assets", "Dev", "Staging", "Prod"
    ]  # fmt: skip
    (source,) = stages(template)["Source"]
    assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert source["Configuration"] == {
        "ConnectionArn": CONNECTION,
        "FullRepositoryId": "acme/webplat",
        "BranchName": "main",
    }


@pytest.mark.parametrize("stage", STAGE_NAMES)
def test_each_stage_deploys_its_own_stacks_into_its_own_account(
    delivery: Synthesized, template: Template, stage: str
) -> None:
    cfg = config(stage)
    stacks = {s.stack_name: s for s in stage_stacks(delivery, stage)}
    deployed = cfn_actions(template, stage)
    assert sorted(a["Name"] for a in deployed) == sorted(
        f"{name}.{mode}" for name in stacks for mode in ("Prepare", "Deploy")
    )
    for action in deployed:
        stack = stacks[action["Configuration"]["StackName"]]
        region = action.get("Region", pipeline_config().region)
        assert region == stack.region
        role = f":iam::{cfg.account}:role/cdk-hnb659fds-deploy-role-{cfg.account}-{region}"
        assert role in json.dumps(action["RoleArn"])
        if action["Name"].endswith(".Prepare"):  # the template this job synthesized, no other
            path = Path(stack.template_file).relative_to(delivery.outdir)
            assert action["Configuration"]["TemplatePath"] == f"Synth_Output::{path}"


@pytest.mark.parametrize("stage", STAGE_NAMES)
def test_migration_runs_after_the_data_stack_and_before_the_compute_stack(
    delivery: Synthesized, template: Template, stage: str
) -> None:
    cfg = config(stage)
    order = run_order(template, stage)
    migrate = migrate_action(template, stage)
    data, compute = cfg.stack_name("data"), cfg.stack_name("compute")
    assert order[f"{data}.Deploy"] < migrate["RunOrder"] < order[f"{compute}.Prepare"]
    props = project(template, migrate)
    assert environment(props) == {
        "ROLE_ARN": stage_role_arn(cfg, "migrate"),
        "STAGE_REGION": cfg.region,
        "DATA_STACK": data,
        "NETWORK_STACK": cfg.stack_name("network"),
    }
    assert commands(buildspec(delivery, props), "build") == ["tools/run_migration.sh"]
    assert os.access(ROOT / "tools" / "run_migration.sh", os.X_OK)


@pytest.mark.parametrize("stage", STAGE_NAMES)
def test_the_migration_script_reads_outputs_the_stage_stacks_have(
    delivery: Synthesized, template: Template, stage: str
) -> None:
    script = (ROOT / "tools" / "run_migration.sh").read_text()
    wanted = re.findall(r'output "\$(\w+_STACK)" (\w+)', script)
    # Not the compute stack: on a stage's first deploy it does not exist yet.
    assert {variable for variable, _ in wanted} == {"DATA_STACK", "NETWORK_STACK"}
    env = environment(project(template, migrate_action(template, stage)))
    by_name = {s.stack_name: s.template for s in stage_stacks(delivery, stage)}
    for variable, key in wanted:
        assert key in by_name[env[variable]].get("Outputs", {}), (variable, key)


@pytest.mark.parametrize("stage", STAGE_NAMES)
def test_health_check_then_bake_run_after_every_deploy(
    delivery: Synthesized, template: Template, stage: str
) -> None:
    cfg = config(stage)
    order = run_order(template, stage)
    validate = step(template, stage, "Validate-")
    assert validate["RunOrder"] > max(a["RunOrder"] for a in cfn_actions(template, stage))
    if cfg.delivery.bake_minutes:
        assert step(template, stage, "Bake-")["RunOrder"] > validate["RunOrder"]
    last = f"Bake-{stage}" if cfg.delivery.bake_minutes else f"Validate-{stage}"
    assert max(order.values()) == order[last]
    # HEALTH_URL: the HealthCheckUrl output of this stage's cdn stack, by its deploy's namespace.
    (variable,) = json.loads(validate["Configuration"]["EnvironmentVariables"])
    cdn = cfg.stack_name("cdn")
    (deploy,) = [a for a in cfn_actions(template, stage) if a["Name"] == f"{cdn}.Deploy"]
    assert variable == {
        "name": "HEALTH_URL",
        "type": "PLAINTEXT",
        "value": f"#{{{deploy['Namespace']}.HealthCheckUrl}}",
    }
    assert "HealthCheckUrl" in stage_stack(delivery, stage, "cdn").template["Outputs"]
    spec = buildspec(delivery, project(template, validate))
    assert commands(spec, "build") == ["tools/check_health.sh"]


def test_manual_approval_only_where_the_stage_asks_for_one(template: Template) -> None:
    approvals = {
        stage: [a for a in found if a["ActionTypeId"]["Category"] == "Approval"]
        for stage, found in stages(template).items()
    }
    asked = [cfg.construct_id for cfg in configs() if cfg.delivery.approval]
    assert asked == ["Prod"]
    assert [stage for stage, found in approvals.items() if found] == asked
    for stage in asked:
        (approval,) = approvals[stage]
        others = [a["RunOrder"] for a in stages(template)[stage] if a is not approval]
        assert approval["RunOrder"] < min(others)  # before anything of the stage deploys
        assert approval["ActionTypeId"]["Provider"] == "Manual"


# -- the bake --------------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", BAKED)
def test_bake_watches_the_stage_critical_alarms_for_its_bake_minutes(
    delivery: Synthesized, template: Template, stage: str
) -> None:
    cfg = config(stage)
    props = project(template, step(template, stage, "Bake-"))
    env = environment(props)
    assert env["BAKE_MINUTES"] == str(cfg.delivery.bake_minutes)
    assert env["ROLE_ARN"] == stage_role_arn(cfg, "bake")
    assert env["STAGE_REGION"] == cfg.region
    names = env["ALARM_NAMES"].split(",")
    edge_names = env["EDGE_ALARM_NAMES"].split(",")
    observability = stage_stack(delivery, stage, "observability")
    edge = stage_stack(delivery, stage, "edge-alarms")
    assert len(names) == len(set(names)) > 0
    assert set(names) == critical_alarms(observability.template)
    assert set(edge_names) == critical_alarms(edge.template) != set()
    assert observability.region == cfg.region
    assert edge.region == "us-east-1"  # what tools/bake.py reads EDGE_ALARM_NAMES in
    assert props["TimeoutInMinutes"] > cfg.delivery.bake_minutes
    spec = buildspec(delivery, props)
    assert commands(spec, "build") == ["python3 tools/bake.py"]
    pins = (ROOT / "requirements-dev.txt").read_text()
    (boto3_pin,) = re.findall(r"^boto3==\S+$", pins, flags=re.M)
    assert commands(spec, "install") == [f"pip3 install --quiet {boto3_pin}"]
    # The stage's bake role may read exactly these alarms, state and history.
    _, role = role_named(observability.template, stage_role_name(cfg.project, cfg.name, "bake"))
    (policy_ref,) = role["ManagedPolicyArns"]
    policy = observability.template["Resources"][policy_ref["Ref"]]["Properties"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert sorted(actions(statement)) == [
        "cloudwatch:DescribeAlarmHistory",
        "cloudwatch:DescribeAlarms",
    ]
    assert sorted(statement["Resource"]) == sorted(
        [f"arn:aws:cloudwatch:{cfg.region}:{cfg.account}:alarm:{name}" for name in names]
        + [f"arn:aws:cloudwatch:us-east-1:{cfg.account}:alarm:{name}" for name in edge_names]
    )


@pytest.mark.parametrize("stage", UNBAKED)
def test_no_bake_step_without_bake_minutes(template: Template, stage: str) -> None:
    assert config(stage).delivery.bake_minutes == 0
    assert [n for n in stage_actions(template, stage) if n.startswith("Bake")] == []
    assert f"Validate-{stage}" in stage_actions(template, stage)


@pytest.mark.parametrize("stage", BAKED)
def test_bake_watches_every_critical_alarm_of_the_stage(
    delivery: Synthesized, template: Template, stage: str
) -> None:
    env = environment(project(template, step(template, stage, "Bake-")))
    every = {name for s in stage_stacks(delivery, stage) for name in critical_alarms(s.template)}
    watched = {*env["ALARM_NAMES"].split(","), *env["EDGE_ALARM_NAMES"].split(",")}
    assert every == watched


# -- self-mutation and the toolchain ---------------------------------------------------------------


def test_the_pipeline_mutates_itself_with_the_pinned_cli(
    delivery: Synthesized, template: Template
) -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", CLI_PIN)  # an exact version, not a range
    installed = json.loads((ROOT / "node_modules" / "aws-cdk" / "package.json").read_text())
    assert installed["version"] == CLI_PIN  # what `make synth` runs locally
    assert pipeline_props(template)["RestartExecutionOnUpdate"] is True
    (mutate,) = stages(template)["UpdatePipeline"]
    spec = buildspec(delivery, project(template, mutate))
    assert commands(spec, "install") == [f"npm install -g aws-cdk@{CLI_PIN}"]
    assert commands(spec, "build") == [
        "cdk -a . deploy Pipeline --require-approval=never --verbose"
    ]
    # `deploy Pipeline` selects this stack: its artifact id is Pipeline.
    assert Path(delivery.by_key[("", "pipeline")].template_file).name == "Pipeline.template.json"


def test_the_synth_step_runs_the_readme_commands(delivery: Synthesized, template: Template) -> None:
    (synth,) = stages(template)["Build"]
    spec = buildspec(delivery, project(template, synth))
    assert commands(spec, "install") == ["make setup"]
    assert commands(spec, "build") == ["make test", "make synth"]
    assert spec["artifacts"]["base-directory"] == "cdk.out"
    makefile = (ROOT / "Makefile").read_text()
    for target in ("setup", "test", "synth"):
        assert re.search(rf"^{target}:", makefile, flags=re.M), target


def test_every_tool_the_pipeline_installs_is_pinned(
    delivery: Synthesized, template: Template
) -> None:
    installs = [
        command
        for props in resources(template, "AWS::CodeBuild::Project").values()
        for command in commands(buildspec(delivery, props["Properties"]), "install")
        if re.match(r"(npm|pip3?) install", command)
    ]
    assert len(installs) >= 3  # self-mutation, assets, bake
    unpinned = [
        package
        for command in installs
        for package in shlex.split(command)[2:]
        if not package.startswith("-") and not re.search(r"(@|==)\d+(\.\d+)*$", package)
    ]
    assert unpinned == []


# -- artifacts and notifications -------------------------------------------------------------------


def test_artifacts_are_encrypted_versioned_logged_and_expire(
    delivery: Synthesized, template: Template
) -> None:
    props = pipeline_props(template)
    assert props["PipelineType"] == "V2"
    stores = {s["Region"]: s["ArtifactStore"] for s in props["ArtifactStores"]}
    stack_regions = {s.region for cfg in configs() for s in stage_stacks(delivery, cfg.name)}
    assert set(stores) == stack_regions | {pipeline_config().region}
    assert all(store["EncryptionKey"]["Type"] == "KMS" for store in stores.values())
    home = stores[pipeline_config().region]
    bucket_id, key_id = home["Location"]["Ref"], home["EncryptionKey"]["Id"]["Fn::GetAtt"][0]
    assert template["Resources"][key_id]["Properties"]["EnableKeyRotation"] is True
    bucket = template["Resources"][bucket_id]["Properties"]
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": {"Fn::GetAtt": [key_id, "Arn"]},
    }
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    logs = bucket["LoggingConfiguration"]["DestinationBucketName"]["Ref"]
    assert logs != bucket_id
    assert template["Resources"][logs]["Type"] == "AWS::S3::Bucket"
    (expiry,) = bucket["LifecycleConfiguration"]["Rules"]
    assert (expiry["ExpirationInDays"], expiry["NoncurrentVersionExpiration"]) == (
        90,
        {"NoncurrentDays": 7},
    )
    policy = one(template, "AWS::S3::BucketPolicy", "ArtifactsBucketPolicy")["Properties"]
    assert {"Bool": {"aws:SecureTransport": "false"}} in [
        s.get("Condition") for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"
    ]
    # Every build encrypts what it writes with the same key.
    for build in resources(template, "AWS::CodeBuild::Project").values():
        assert build["Properties"]["EncryptionKey"] == {"Fn::GetAtt": [key_id, "Arn"]}


def test_notifications_reach_the_configured_addresses(template: Template) -> None:
    emails = jobs.PIPELINE["pipeline.notification_emails"].split(",")
    subscriptions = resources(template, "AWS::SNS::Subscription").values()
    assert sorted(s["Properties"]["Endpoint"] for s in subscriptions) == sorted(emails)
    assert {s["Properties"]["Protocol"] for s in subscriptions} == {"email"}
    (topic_id,) = resources(template, "AWS::SNS::Topic")
    topic = template["Resources"][topic_id]["Properties"]
    assert topic["TopicName"] == "webplat-pipeline-events"
    assert "KmsMasterKeyId" in topic
    assert all(s["Properties"]["TopicArn"] == {"Ref": topic_id} for s in subscriptions)
    rule = one(template, "AWS::CodeStarNotifications::NotificationRule")["Properties"]
    assert rule["Targets"] == [{"TargetAddress": {"Ref": topic_id}, "TargetType": "SNS"}]
    (pipeline_id,) = resources(template, "AWS::CodePipeline::Pipeline")
    assert {"Ref": pipeline_id} in rule["Resource"]["Fn::Join"][1]
    assert set(rule["EventTypeIds"]) == {
        "codepipeline-pipeline-pipeline-execution-failed",
        "codepipeline-pipeline-pipeline-execution-succeeded",
        "codepipeline-pipeline-manual-approval-needed",
    }


# -- cross-account trust ---------------------------------------------------------------------------


@pytest.mark.parametrize(("stage", "step_name", "concern"), STEPS)
def test_a_stage_role_trusts_exactly_its_pipeline_step_role(
    delivery: Synthesized, template: Template, stage: str, step_name: str, concern: str
) -> None:
    cfg = config(stage)
    # The tooling account's step role: CodeBuild's, may assume the one stage role only.
    step_id, step_role = role_named(template, step_role_name(cfg.project, cfg.name, step_name))
    assert step_role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "codebuild.amazonaws.com"},
        }
    ]
    granted = [
        s
        for policy in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": step_id} in policy["Properties"]["Roles"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    assume = [s for s in granted if any(a.startswith("sts:") for a in actions(s))]
    assert assume == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Resource": stage_role_arn(cfg, step_name)}
    ]
    # The step's CodeBuild project runs as that role and is told that target.
    (build,) = [
        p["Properties"]
        for p in resources(template, "AWS::CodeBuild::Project").values()
        if p["Properties"]["ServiceRole"] == {"Fn::GetAtt": [step_id, "Arn"]}
    ]
    assert environment(build)["ROLE_ARN"] == stage_role_arn(cfg, step_name)
    # The stage account's role: trusts that one role ARN, nothing broader.
    _, stage_role = role_named(
        stage_stack(delivery, stage, concern).template,
        stage_role_name(cfg.project, cfg.name, step_name),
    )
    assert stage_role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"AWS": step_role_arn(cfg, step_name)},
        }
    ]


def test_every_stage_role_trusting_the_tooling_account_names_a_role_it_has(
    delivery: Synthesized, template: Template
) -> None:
    existing = {
        f"arn:aws:iam::{TOOLING}:role/{r['Properties']['RoleName']}"
        for r in resources(template, "AWS::IAM::Role").values()
        if "RoleName" in r["Properties"]
    }
    trusted = {
        (stack.stack_name, principal)
        for cfg in configs()
        for stack in stage_stacks(delivery, cfg.name)
        for role in resources(stack.template, "AWS::IAM::Role").values()
        for statement in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        for principal in [statement.get("Principal", {}).get("AWS")]
        if isinstance(principal, str) and f":iam::{TOOLING}:" in principal
    }
    assert len(trusted) >= len(STEPS)
    assert {(name, arn) for name, arn in trusted if arn not in existing} == set()


@pytest.mark.parametrize(("stage", "step_name", "concern"), STEPS)
def test_the_role_a_step_assumes_is_deployed_before_the_step(
    delivery: Synthesized, template: Template, stage: str, step_name: str, concern: str
) -> None:
    cfg = config(stage)
    name = stage_role_name(cfg.project, cfg.name, step_name)
    (holder,) = [
        s
        for s in stage_stacks(delivery, stage)
        for r in resources(s.template, "AWS::IAM::Role").values()
        if r["Properties"].get("RoleName") == name
    ]
    assert holder.concern == concern
    order = run_order(template, stage)
    if step_name == "migrate":
        action = migrate_action(template, stage)
    else:
        action = step(template, stage, "Bake-")
    assert order[f"{holder.stack_name}.Deploy"] < action["RunOrder"]


# -- the same stacks as `cdk deploy "<Stage>/*"` ---------------------------------------------------


@pytest.mark.parametrize("stage", STAGE_NAMES)
def test_the_pipeline_deploys_the_very_stacks_a_manual_deploy_deploys(
    delivery: Synthesized, template: Template, stage: str
) -> None:
    """One copy of each stage in the app (no Pipeline/<Stage> twin, whose ids derived from
    construct paths would differ): the pipeline's deploy actions use the templates that
    `cdk deploy "<Stage>/*"` deploys, every one of them."""
    construct_id = config(stage).construct_id
    assert {s.stage for s in delivery.stacks} == {"", *(c.construct_id for c in configs())}
    manual = {
        (
            f"Synth_Output::{Path(s.template_file).parent.name}/{Path(s.template_file).name}"
        ): s.stack_name
        for s in delivery.stacks
        if s.stage == construct_id
    }
    deployed = {
        a["Configuration"]["TemplatePath"]: a["Configuration"]["StackName"]
        for a in stage_actions(template, stage).values()
        if "TemplatePath" in a.get("Configuration", {})
    }
    assert deployed == manual
    assert len(deployed) >= 7


# -- the migration script --------------------------------------------------------------------------

FAKE_AWS = """#!{python}
import json, os, sys
args = sys.argv[1:]
state = json.load(open(os.environ["FAKE_STATE"]))
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps({{"args": args, "key": os.environ.get("AWS_ACCESS_KEY_ID"),
                          "region": os.environ.get("AWS_DEFAULT_REGION")}}) + "\\n")
def arg(name):
    return args[args.index(name) + 1]
command = " ".join(args[:2])
if command == "sts assume-role":
    print(json.dumps({{"AccessKeyId": "AKIA-STAGE", "SecretAccessKey": "s", "SessionToken": "t"}}))
elif command == "cloudformation describe-stacks":
    stack = arg("--stack-name")
    if state.get("denied"):
        sys.exit("An error occurred (AccessDenied): not authorized to perform DescribeStacks")
    if stack not in state["stacks"]:
        sys.exit("An error occurred (ValidationError): Stack with id " + stack + " does not exist")
    if "--query" in args:
        key = arg("--query").split("'")[1]
        print(state["stacks"][stack].get(key, "None"))  # what the CLI prints for no match
elif command == "ecs run-task":
    print("arn:aws:ecs:ap-northeast-2:444444444444:task/webplat-prod/abc")
elif command == "ecs wait":
    pass
elif command == "ecs describe-tasks":
    print(state["exit_code"])
else:
    sys.exit("unexpected: " + " ".join(args))
"""
JQ = shutil.which("jq")
NEEDS_JQ = pytest.mark.skipif(
    JQ is None, reason="tools/run_migration.sh needs jq (CodeBuild has it)"
)
MIGRATION_ENV = {
    "ROLE_ARN": "arn:aws:iam::444444444444:role/webplat-prod-pipeline-migrate",
    "STAGE_REGION": "ap-northeast-2",
    "DATA_STACK": "webplat-prod-data",
    "NETWORK_STACK": "webplat-prod-network",
}
DEPLOYED = {
    "webplat-prod-data": {
        "MigrationTaskDefinitionArn": "arn:aws:ecs:ap-northeast-2:444444444444:"
        "task-definition/webplat-prod-migrate:7",
        "MigrationClusterName": "webplat-prod-migrations",
    },
    "webplat-prod-network": {
        "PrivateSubnetIds": "subnet-a,subnet-b",
        "MigrationSecurityGroupId": "sg-0123",
    },
}


def migrate(
    tmp_path: Path, stacks: dict[str, Any], exit_code: str = "0", *, denied: bool = False
) -> tuple[int, str, list[Any]]:
    """tools/run_migration.sh against a fake `aws` CLI; (exit code, output, aws calls)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "aws"
    fake.write_text(FAKE_AWS.format(python=sys.executable))
    fake.chmod(0o755)
    state, log = tmp_path / "state.json", tmp_path / "calls.jsonl"
    state.write_text(json.dumps({"stacks": stacks, "exit_code": exit_code, "denied": denied}))
    run = subprocess.run(
        ["bash", str(ROOT / "tools" / "run_migration.sh")],
        env={
            "PATH": os.pathsep.join([str(bin_dir), str(Path(str(JQ)).parent), "/usr/bin", "/bin"]),
            "FAKE_STATE": str(state),
            "FAKE_LOG": str(log),
            **MIGRATION_ENV,
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return run.returncode, run.stdout + run.stderr, calls


@NEEDS_JQ
def test_the_migration_runs_the_registered_task_as_is_with_the_stage_role(tmp_path: Path) -> None:
    code, output, calls = migrate(tmp_path, DEPLOYED, exit_code="0")
    assert code == 0, output
    assert calls[0]["args"][:4] == ["sts", "assume-role", "--role-arn", MIGRATION_ENV["ROLE_ARN"]]
    assert all(c["key"] == "AKIA-STAGE" and c["region"] == "ap-northeast-2" for c in calls[1:])
    (run_task,) = [c["args"] for c in calls if c["args"][:2] == ["ecs", "run-task"]]
    arg = {run_task[i]: run_task[i + 1] for i in range(2, len(run_task) - 1, 2)}
    assert arg["--task-definition"] == DEPLOYED["webplat-prod-data"]["MigrationTaskDefinitionArn"]
    assert arg["--cluster"] == "webplat-prod-migrations"
    assert arg["--network-configuration"] == (
        "awsvpcConfiguration={subnets=[subnet-a,subnet-b],securityGroups=[sg-0123],"
        "assignPublicIp=DISABLED}"
    )
    assert "--overrides" not in run_task  # no changed command, image or role


@NEEDS_JQ
def test_a_failed_migration_fails_the_step(tmp_path: Path) -> None:
    code, output, _ = migrate(tmp_path, DEPLOYED, exit_code="1")
    assert code != 0
    assert "migration exit code: 1" in output


@NEEDS_JQ
def test_a_first_deploy_migrates_before_the_compute_stack_exists(tmp_path: Path) -> None:
    """DEPLOYED has no compute stack: the data stack's own cluster runs the migration."""
    code, output, calls = migrate(tmp_path, DEPLOYED)
    assert code == 0, output
    assert not [c for c in calls if "webplat-prod-compute" in c["args"]]
    assert [c for c in calls if c["args"][:2] == ["ecs", "run-task"]]


@NEEDS_JQ
def test_a_missing_output_fails_the_step(tmp_path: Path) -> None:
    data = {k: v for k, v in DEPLOYED["webplat-prod-data"].items() if k != "MigrationClusterName"}
    code, output, calls = migrate(tmp_path, {**DEPLOYED, "webplat-prod-data": data})
    assert code != 0
    assert "webplat-prod-data has no output MigrationClusterName" in output
    assert not [c for c in calls if c["args"][0] == "ecs"]


@NEEDS_JQ
def test_a_missing_stack_fails_the_step(tmp_path: Path) -> None:
    stacks = {k: v for k, v in DEPLOYED.items() if k != "webplat-prod-network"}
    code, output, calls = migrate(tmp_path, stacks)
    assert code != 0
    assert "does not exist" in output
    assert not [c for c in calls if c["args"][0] == "ecs"]


@NEEDS_JQ
def test_any_other_error_fails_the_step_instead_of_skipping_the_migration(
    tmp_path: Path,
) -> None:
    code, output, calls = migrate(tmp_path, DEPLOYED, denied=True)
    assert code != 0
    assert "AccessDenied" in output
    assert not [c for c in calls if c["args"][0] == "ecs"]


# -- configuration: bad input, refused before any construct ----------------------------------------

GOOD: dict[str, Any] = {k: v for k, v in jobs.PIPELINE.items() if k.startswith("pipeline")}
EXAMPLE = re.compile(r"e\.g\. \S|-c pipeline\.\w+=\S|use true or false")
"""How problems give a valid value: `e.g. '...'`, a `-c pipeline.<field>=...`, or for switches
`use true or false` (infra/config/base.py: `path: value, why; a valid example`)."""
BAD = [
    pytest.param("pipeline.account", "12345", "123456789012", id="short-account"),
    pytest.param("pipeline.account", "000000000000", "123456789012", id="placeholder-account"),
    pytest.param("pipeline.account", 111111111111, "'111111111111'", id="account-as-number"),
    pytest.param("pipeline.connection_arn", "", "pipeline.connection_arn=arn:aws:", id="no-arn"),
    pytest.param(
        "pipeline.connection_arn",
        "arn:aws:codecommit:ap-northeast-2:111111111111:webplat",
        "pipeline.connection_arn=arn:aws:",
        id="not-a-connection",
    ),
    pytest.param("pipeline.repository", "webplat", "acme/webplat", id="repository-no-owner"),
    pytest.param("pipeline.branch", "feature//x", "main", id="bad-branch"),
    pytest.param("pipeline.region", "ap-northeast-9", "ap-northeast-2", id="bad-region"),
    pytest.param("pipeline.notification_emails", "releases", "@", id="bad-email"),
    pytest.param("pipeline.separate_accounts", "maybe", "true or false", id="bad-switch"),
    pytest.param("pipeline", "ture", "true or false", id="bad-enable"),
]


def load_checked(context: dict[str, Any], environ: dict[str, str] | None = None) -> PipelineConfig:
    """What build_platform does before building any construct: load, then check against the
    stage accounts."""
    pipeline = load_pipeline(context, environ or {})
    assert pipeline is not None
    pipeline.validate_for(ACCOUNTS)
    return pipeline


@pytest.mark.parametrize(("key", "value", "example"), BAD)
def test_bad_pipeline_config_is_refused_naming_field_value_and_example(
    key: str, value: Any, example: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_checked({**GOOD, key: value})
    (problem,) = caught.value.problems
    assert problem.startswith(f"{key}: ")
    assert repr(value) in problem
    assert example in problem
    assert EXAMPLE.search(problem), problem


def test_every_pipeline_problem_is_reported_at_once() -> None:
    bad = {**GOOD, "pipeline.repository": "x", "pipeline.branch": "a..b", "pipeline.account": "1"}
    with pytest.raises(ConfigError) as caught:
        load_checked(bad)
    assert sorted(p.split(":")[0] for p in caught.value.problems) == [
        "pipeline.account",
        "pipeline.branch",
        "pipeline.repository",
    ]


def test_bad_pipeline_config_stops_the_app_before_any_construct(tmp_path: Path) -> None:
    from aws_cdk import App  # noqa: PLC0415

    app = App(outdir=str(tmp_path), context={**jobs.PIPELINE, "pipeline.repository": "webplat"})
    with pytest.raises(ConfigError, match=r"pipeline\.repository: 'webplat'"):
        build_platform(app, {})
    assert app.node.children == []
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("shared", "message"),
    [
        ({"staging": ACCOUNTS["dev"]}, "staging.account: 222222222222 is also the dev account"),
        ({"prod": TOOLING}, "prod.account: 111111111111 is also the tooling account"),
        ({"dev": TOOLING}, "dev.account: 111111111111 is also the tooling account"),
    ],
)
def test_stages_may_not_share_an_account_with_each_other_or_the_pipeline(
    shared: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        pipeline_config().validate_for({**ACCOUNTS, **shared})
    (problem,) = caught.value.problems
    assert problem.startswith(message)
    assert "pipeline.separate_accounts" in problem  # and how to allow it


def test_shared_accounts_are_allowed_when_separate_accounts_is_off() -> None:
    pipeline = load_pipeline({**GOOD, "pipeline.separate_accounts": "false"}, {})
    assert pipeline is not None
    assert pipeline.separate_accounts is False
    pipeline.validate_for({"dev": TOOLING, "staging": TOOLING, "prod": ACCOUNTS["prod"]})


# -- configuration: context and environment --------------------------------------------------------

EVERY_FIELD = PipelineConfig(
    account="999999999999",
    region="us-west-2",
    connection_arn="arn:aws:codestar-connections:us-west-2:999999999999:connection/"
    "0d1c1a8f-5f9e-4a1c-9a3b-0f1e2d3c4b5a",
    repository="acme/web.plat-2",
    branch="release/2025.03",
    separate_accounts=False,
    notification_emails=("releases@example.com", "oncall+ci@example.org"),
)


def test_the_pipeline_is_off_unless_switched_on() -> None:
    assert load_pipeline({}, {}) is None
    assert load_pipeline({"pipeline": "false"}, EVERY_FIELD.environment()) is None  # -c wins
    assert load_pipeline({}, {"PLATFORM_PIPELINE": "0"}) is None
    assert load_pipeline({"pipeline": True}, {}) == PipelineConfig()


def test_every_field_comes_from_context_or_the_environment() -> None:
    values = EVERY_FIELD.model_dump()
    context = {"pipeline": "true"} | {f"pipeline.{k}": v for k, v in values.items()}
    context["pipeline.notification_emails"] = ",".join(EVERY_FIELD.notification_emails)
    context["pipeline.separate_accounts"] = "false"
    assert load_pipeline(context, {}) == EVERY_FIELD
    env = EVERY_FIELD.environment()
    assert set(env) == {
        "PLATFORM_PIPELINE",
        *(f"PLATFORM_PIPELINE_{f.upper()}" for f in PIPELINE_FIELDS),
    }
    assert load_pipeline({}, env) == EVERY_FIELD


def test_context_wins_over_the_environment_field_by_field() -> None:
    env = EVERY_FIELD.environment()
    loaded = load_pipeline({"pipeline.branch": "main", "pipeline.region": "ap-northeast-2"}, env)
    assert loaded == EVERY_FIELD.model_copy(update={"branch": "main", "region": "ap-northeast-2"})


def test_notification_emails_as_a_list_or_a_comma_separated_string() -> None:
    listed = load_pipeline({**GOOD, "pipeline.notification_emails": ["a@x.io", "b@x.io"]}, {})
    typed = load_pipeline({**GOOD, "pipeline.notification_emails": " a@x.io, b@x.io ,"}, {})
    assert listed is not None
    assert listed == typed
    assert listed.notification_emails == ("a@x.io", "b@x.io")


def test_pipeline_variables_are_not_taken_for_stage_settings() -> None:
    loaded = load_stages({}, EVERY_FIELD.environment())
    assert [cfg.name for cfg in loaded.stages] == ["dev", "staging", "prod"]
    with pytest.raises(ConfigError, match="PLATFORM_PIPELINE_BRANCHES: unknown setting"):
        load_stages({}, {"PLATFORM_PIPELINE_BRANCHES": "main"})


def test_the_profile_comes_from_context_or_platform_profile() -> None:
    from_env = load_stages({}, {"PLATFORM_PROFILE": "commerce"}).stages
    assert {(cfg.profile, cfg.project) for cfg in from_env} == {("commerce", "commerce")}
    from_both = load_stages({"profile": "fleet"}, {"PLATFORM_PROFILE": "commerce"}).stages
    assert {cfg.profile for cfg in from_both} == {"fleet"}  # context wins


# -- the pipeline's own synth reads the configuration it was deployed with -------------------------


def synth_context(command: str, environ: dict[str, str]) -> dict[str, str]:
    """The `-c` context the synth step's command passes to `cdk synth`, by a make dry run."""
    args = shlex.split(command)
    assert args[0] == "make"
    run = subprocess.run(
        [args[0], "-n", *args[1:]],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **environ},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    (cdk,) = [shlex.split(line) for line in run.stdout.splitlines() if line.startswith("cdk synth")]
    context = {}
    for flag, value in itertools.pairwise(cdk):
        if flag == "-c":
            key, _, setting = value.partition("=")
            context[key] = setting
    return context


def synth_step(delivery: Synthesized, template: Template) -> tuple[str, dict[str, str]]:
    (synth,) = stages(template)["Build"]
    props = project(template, synth)
    (command,) = [c for c in commands(buildspec(delivery, props), "build") if "synth" in c]
    return command, environment(props)


def test_the_synth_step_is_given_the_pipeline_and_stage_settings(
    delivery: Synthesized, template: Template
) -> None:
    _, env = synth_step(delivery, template)
    assert env["PLATFORM_PROFILE"] == "default"
    assert env["PLATFORM_REQUIRE_ACCOUNTS"] == "1"
    for cfg in configs():
        assert env[f"PLATFORM_{cfg.name.upper()}_ACCOUNT"] == cfg.account == ACCOUNTS[cfg.name]
        assert env[f"PLATFORM_{cfg.name.upper()}_REGION"] == cfg.region
    assert {k: v for k, v in env.items() if k.startswith("PLATFORM_PIPELINE")} == (
        pipeline_config().environment()
    )


def test_the_pipelines_own_synth_reads_back_its_pipeline_configuration(
    delivery: Synthesized, template: Template
) -> None:
    command, env = synth_step(delivery, template)
    assert load_pipeline(synth_context(command, env), env) == pipeline_config()


def test_the_pipelines_own_synth_reads_back_its_stage_configuration(
    delivery: Synthesized, template: Template
) -> None:
    command, env = synth_step(delivery, template)
    context = synth_context(command, env)
    reread = [delivered_by(cfg, pipeline_config()) for cfg in load_stages(context, env).stages]
    assert reread == list(configs())


@pytest.mark.parametrize("profile", jobs.PROFILES)
def test_the_pipelines_own_synth_keeps_the_profile(profile: str) -> None:
    context = {"profile": profile, **{f"{s}.account": a for s, a in ACCOUNTS.items()}}
    built = load_stages(context, {}).stages
    env = PipelineStack._synth_environment(pipeline_config(), built, {})
    assert env["PLATFORM_PROFILE"] == profile
    command = (
        "make synth"  # the synth step's command (test_the_synth_step_runs_the_readme_commands)
    )
    # Accounts are required in the pipeline; the profiles' offline placeholders are not this
    # test's subject, so read the selection without that requirement.
    environ = {k: v for k, v in env.items() if k != "PLATFORM_REQUIRE_ACCOUNTS"}
    reread = load_stages(synth_context(command, environ), environ).stages
    assert [(c.profile, c.project, c.name, c.account) for c in reread] == [
        (c.profile, c.project, c.name, c.account) for c in built
    ]


# -- review ----------------------------------------------------------------------------------------


def test_pipeline_template_snapshot(template: Template, snapshot: SnapshotAssertion) -> None:
    assert normalize(template) == snapshot(extension_class=JSONSnapshotExtension)
