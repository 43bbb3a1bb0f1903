"""Delivery pipeline: self-mutating, Dev -> Staging -> Prod, migrate before and validate after
each deploy, approval before prod; and the configuration's bad input."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from infra.compliance import apply_packs
from infra.config import ConfigError, default_stages
from infra.config.pipeline import PipelineConfig, load_pipeline
from infra.platform import delivered_by
from infra.stacks.pipeline import CLI_VERSION, PipelineStack
from tests.synth import (
    Synthesized,
    Template,
    new_app,
    normalize,
    resources,
    synthesize,
    unexpected_lint_findings,
)

CONNECTION = (
    "arn:aws:codeconnections:ap-northeast-2:111111111111:connection/"
    "0d1c1a8f-5f9e-4a1c-9a3b-0f1e2d3c4b5a"
)
PIPELINE = PipelineConfig(
    account="111111111111",
    connection_arn=CONNECTION,
    repository="acme/webplat",
    notification_emails=("releases@example.com",),
)
ACCOUNTS = {"dev": "222222222222", "staging": "333333333333", "prod": "444444444444"}


@pytest.fixture(scope="module")
def delivery(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    stages = [
        delivered_by(dataclasses.replace(cfg, account=ACCOUNTS[cfg.name]), PIPELINE)
        for cfg in default_stages().values()
    ]
    PIPELINE.validate({cfg.name: cfg.account for cfg in stages})
    # Path metadata as `cdk synth` writes it: cfn-lint recognises CDK Pipelines' templates by it.
    app = new_app(tmp_path_factory.mktemp("pipeline"), **{"aws:cdk:enable-path-metadata": True})
    PipelineStack(app, PIPELINE, stages)
    apply_packs(app)
    return synthesize(app)


def pipeline_template(delivery: Synthesized) -> Template:
    (stack,) = [s for s in delivery.stacks if s.stack_name == "webplat-pipeline"]
    return stack.template


def stages(template: Template) -> dict[str, list[dict[str, Any]]]:
    (pipeline,) = resources(template, "AWS::CodePipeline::Pipeline").values()
    return {s["Name"]: s["Actions"] for s in pipeline["Properties"]["Stages"]}


def test_pipeline_is_compliant(delivery: Synthesized) -> None:
    assert delivery.violations() == []


def test_pipeline_templates_are_lint_clean(delivery: Synthesized) -> None:
    # The pipeline, and one stage stack it changes (the migration role); the rest equal the
    # default stages' templates, linted in test_templates.
    only = {("", "pipeline"), ("Pipeline/Prod", "compute")}
    assert {(s.stage, s.concern) for s in delivery.stacks} >= only
    assert unexpected_lint_findings(delivery, only=only) == []


def test_stage_order_dev_staging_prod(delivery: Synthesized) -> None:
    names = list(stages(pipeline_template(delivery)))
    assert names == ["Source", "Build", "UpdatePipeline", "Assets", "Dev", "Staging", "Prod"]


def test_migrate_before_deploy_and_validate_after(delivery: Synthesized) -> None:
    for stage, actions in list(stages(pipeline_template(delivery)).items())[4:]:
        order = {a["Name"]: a["RunOrder"] for a in actions}
        deploys = [run for name, run in order.items() if name.endswith(".Deploy")]
        migrate, validate = order[f"Migrate-{stage.lower()}"], order[f"Validate-{stage.lower()}"]
        assert migrate < min(deploys)
        assert validate > max(deploys)


def test_manual_approval_only_before_prod(delivery: Synthesized) -> None:
    approvals = {
        stage: [a for a in actions if a["ActionTypeId"]["Category"] == "Approval"]
        for stage, actions in stages(pipeline_template(delivery)).items()
    }
    assert [stage for stage, found in approvals.items() if found] == ["Prod"]
    (approval,) = approvals["Prod"]
    prod = stages(pipeline_template(delivery))["Prod"]
    assert approval["RunOrder"] < min(a["RunOrder"] for a in prod if a["Name"] != approval["Name"])


def test_self_mutation_and_pinned_cli(delivery: Synthesized) -> None:
    template = pipeline_template(delivery)
    specs = [
        json.dumps(p["Properties"]["Source"])
        for p in resources(template, "AWS::CodeBuild::Project").values()
    ]
    assert any(
        f"aws-cdk@{CLI_VERSION}" in spec and "cdk -a" in spec for spec in specs
    )  # self-mutation
    synth = next(spec for spec in specs if "make test" in spec)
    assert "make setup" in synth
    assert "make synth" in synth
    package = json.loads(Path("package.json").read_text())
    assert package["devDependencies"]["aws-cdk"] == CLI_VERSION


def test_artifacts_and_notifications(delivery: Synthesized) -> None:
    template = pipeline_template(delivery)
    (pipeline,) = resources(template, "AWS::CodePipeline::Pipeline").values()
    assert pipeline["Properties"]["PipelineType"] == "V2"
    stores = {s["Region"]: s["ArtifactStore"] for s in pipeline["Properties"]["ArtifactStores"]}
    assert set(stores) == {"ap-northeast-2", "us-east-1", "ap-northeast-1"}  # home, edge, DR
    assert all(store["EncryptionKey"]["Type"] == "KMS" for store in stores.values())
    (rule,) = resources(template, "AWS::CodeStarNotifications::NotificationRule").values()
    assert set(rule["Properties"]["EventTypeIds"]) == {
        "codepipeline-pipeline-pipeline-execution-failed",
        "codepipeline-pipeline-pipeline-execution-succeeded",
        "codepipeline-pipeline-manual-approval-needed",
    }


def test_stages_trust_the_pipeline_account_to_run_migrations(delivery: Synthesized) -> None:
    compute = next(s for s in delivery.stacks if s.stack_name == "webplat-prod-compute")
    (role,) = [
        r
        for r in resources(compute.template, "AWS::IAM::Role").values()
        if r["Properties"].get("RoleName") == "webplat-prod-pipeline-migrate"
    ]
    assert "111111111111" in json.dumps(role["Properties"]["AssumeRolePolicyDocument"])
    assert compute.stack_name == "webplat-prod-compute"  # same stacks as `cdk deploy "Prod/*"`


def test_pipeline_template_snapshot(delivery: Synthesized, snapshot: SnapshotAssertion) -> None:
    assert normalize(pipeline_template(delivery)) == snapshot(extension_class=JSONSnapshotExtension)


BAD = [
    pytest.param(
        {"connection_arn": ""},
        "pipeline.connection_arn: '' is not a CodeConnections ARN",
        id="missing-connection",
    ),
    pytest.param(
        {"repository": ""},
        "pipeline.repository: ''; give the GitHub repository as owner/name",
        id="missing-repository",
    ),
    pytest.param(
        {"branch": "feature//x"},
        "pipeline.branch: 'feature//x' is not a valid git branch name",
        id="bad-branch",
    ),
    pytest.param(
        {"account": "000000000000"},
        "pipeline.account: '000000000000'; set the tooling account",
        id="placeholder-tooling-account",
    ),
    pytest.param(
        {"notification_emails": ("releases",)},
        "pipeline.notification_emails: 'releases' is not an e-mail address",
        id="bad-email",
    ),
]


@pytest.mark.parametrize(("changes", "message"), BAD)
def test_bad_pipeline_config_is_rejected(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        dataclasses.replace(PIPELINE, **changes).validate(ACCOUNTS)
    assert message in str(caught.value)


def test_stages_must_not_share_an_account() -> None:
    with pytest.raises(
        ConfigError, match=r"staging\.account: 222222222222 is also the dev account"
    ):
        PIPELINE.validate({**ACCOUNTS, "staging": ACCOUNTS["dev"]})


def test_pipeline_is_configured_from_context() -> None:
    context = {
        "pipeline": "true",
        "pipeline.account": "111111111111",
        "pipeline.connection_arn": CONNECTION,
        "pipeline.repository": "acme/webplat",
    }
    assert load_pipeline(context.get, {}) == dataclasses.replace(PIPELINE, notification_emails=())
    assert load_pipeline(dict[str, Any]().get, {}) is None  # off unless asked for


def test_the_pipelines_own_synth_reads_back_its_configuration() -> None:
    """Its synth step gets PIPELINE.environment(); that must load as the same config."""
    assert load_pipeline(dict[str, Any]().get, PIPELINE.environment()) == PIPELINE
