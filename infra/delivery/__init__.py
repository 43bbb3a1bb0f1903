"""Delivery: a self-mutating CDK Pipelines pipeline promoting the profile's stages in order.

Deployed once from a workstation (`cdk deploy -c pipeline=true ... Pipeline`); afterwards every
push to the branch updates the pipeline itself, then deploys the same PlatformStage class that
`cdk deploy "Dev/*"` uses. Per stage: (approval, where the stage asks for one) -> deploy, with
the migration between the data and compute stacks -> health check -> bake (critical alarms
watched for the stage's bake time). A stage's approval waits for the previous stage's bake.
"""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk import Environment, Stack, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codestarnotifications as notifications
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from constructs_lib.buckets import SecureBucketProps, log_bucket, secure_bucket
from constructs_lib.durations import days, minutes
from infra.compliance.acks.pipeline import acknowledge_pipeline
from infra.config import StageConfig
from infra.config.pipeline import PipelineConfig, stage_role_name, step_role_name
from infra.delivery.narrowing import narrow_grants
from infra.stage import PlatformStage

ROOT = Path(__file__).resolve().parents[2]
# One pin per tool: package.json. The pipeline's own steps install exactly those versions.
PINS: dict[str, str] = json.loads((ROOT / "package.json").read_text())["devDependencies"]
CLI_VERSION = PINS["aws-cdk"]
ASSETS_VERSION = PINS["cdk-assets"]
# The bake step's one Python dependency: the version the suite tests tools/bake.py with.
(BOTO3_PIN,) = [
    line
    for line in (ROOT / "requirements-dev.txt").read_text().splitlines()
    if line.startswith("boto3==")
]
BUILD_IMAGE = codebuild.LinuxBuildImage.STANDARD_7_0


class PipelineStack(Stack):
    def __init__(
        self,
        scope: Construct,
        pipeline: PipelineConfig,
        stages: list[PlatformStage],
        carried: dict[str, str],
    ) -> None:
        """`stages`: the app's own stages, the very constructs `cdk deploy "Dev/*"` deploys, so
        a stage deployed by hand and by the pipeline has the same resources (ids derived from
        construct paths would differ for a copy nested in this stack). `carried`: the settings
        this synth was given (infra.config.loader.carried_settings), for the pipeline's own."""
        project = stages[0].cfg.project
        super().__init__(
            scope,
            "Pipeline",
            stack_name=f"{project}-pipeline",
            env=Environment(account=pipeline.account, region=pipeline.region),
            termination_protection=True,
            analytics_reporting=False,
            description=f"{project}: delivery pipeline (self-mutating)",
        )
        self.source = pipelines.CodePipelineSource.connection(
            pipeline.repository, pipeline.branch, connection_arn=pipeline.connection_arn
        )
        synth = pipelines.CodeBuildStep(
            "Synth",
            input=self.source,
            # The pipeline's own synth sees the configuration it was deployed with; everything
            # else a stage needs lives in its profile, under version control.
            env=self._synth_environment(pipeline, [stage.cfg for stage in stages], carried),
            install_commands=["make setup"],  # the README's set-up: pinned Python and npm deps
            commands=["make test", "make synth"],  # quality gate, then every stage + pipeline
            primary_output_directory="cdk.out",
        )
        self.artifacts = self._artifact_bucket()
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            code_pipeline=codepipeline.Pipeline(
                self,
                "CodePipeline",
                pipeline_name=f"{project}-delivery",
                artifact_bucket=self.artifacts,
                # Keys for the cross-region replication buckets (us-east-1 edge, DR region).
                cross_account_keys=True,
                enable_key_rotation=True,
                restart_execution_on_update=True,
                pipeline_type=codepipeline.PipelineType.V2,
            ),
            synth=synth,
            self_mutation=True,
            cli_version=CLI_VERSION,
            cdk_assets_cli_version=ASSETS_VERSION,
            publish_assets_in_parallel=False,
            docker_enabled_for_synth=False,
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(build_image=BUILD_IMAGE)
            ),
        )
        # Waves run in order, so a stage's approval waits for the previous stage's bake.
        self.stages = stages
        for stage in stages:
            cfg = stage.cfg
            pre: list[pipelines.Step] = []
            if cfg.delivery.approval:
                pre.append(
                    pipelines.ManualApprovalStep(
                        f"Promote-{cfg.name}",
                        comment=(
                            f"The previous stage deployed and baked clean: promote to {cfg.name}?"
                        ),
                    )
                )
            health = self._health_check(stage)
            post: list[pipelines.Step] = [health]
            bake = self._bake(stage) if cfg.delivery.bake_minutes else None
            if bake is not None:
                bake.add_step_dependency(health)
                post.append(bake)
            self.pipeline.add_stage(
                stage,
                pre=pre,
                post=post,
                stack_steps=[
                    pipelines.StackSteps(stack=stage.compute, pre=[self._migration(stage)])
                ],
            )
        self.pipeline.build_pipeline()
        self._notifications(pipeline)
        narrow_grants(self)
        self.acknowledgments = acknowledge_pipeline(self)

    def _artifact_bucket(self) -> s3.Bucket:
        """Artifacts under a customer key (cross-account deploy roles get grants on it),
        versioned, logged, expiring: CDK's default bucket has no logging or lifecycle."""
        key = kms.Key(
            self,
            "ArtifactsKey",
            alias=f"alias/{self.stack_name}-artifacts",
            description="Pipeline artifacts",
            enable_key_rotation=True,
        )
        access_logs = log_bucket(self, "AccessLogs", retention_days=365)
        return secure_bucket(
            self,
            "ArtifactsBucket",
            SecureBucketProps(
                encryption_key=key,
                access_logs=access_logs,
                access_logs_prefix="s3/artifacts/",
                lifecycle_rules=[
                    s3.LifecycleRule(
                        id="expire",
                        expiration=days(90),
                        noncurrent_version_expiration=days(7),
                    )
                ],
            ),
        )

    @staticmethod
    def _synth_environment(
        pipeline: PipelineConfig, stages: list[StageConfig], carried: dict[str, str]
    ) -> dict[str, str]:
        """Everything this synth was configured with (context and PLATFORM_* variables), so the
        self-mutating synth loads exactly the same stages."""
        env = (
            carried
            | pipeline.environment()
            | {
                "PLATFORM_REQUIRE_ACCOUNTS": "1",
                "PLATFORM_PROFILE": stages[0].profile,
                "PLATFORM_STAGES": ",".join(cfg.name for cfg in stages),
            }
        )
        for cfg in stages:
            prefix = f"PLATFORM_{cfg.name.upper()}"
            env |= {f"{prefix}_ACCOUNT": cfg.account, f"{prefix}_REGION": cfg.region}
        return env

    def _step_role(self, cfg: StageConfig, step: str) -> tuple[iam.Role, str]:
        """A named role for one stage step, allowed to assume its stage-account role only."""
        target = f"arn:aws:iam::{cfg.account}:role/{stage_role_name(cfg.project, cfg.name, step)}"
        role = iam.Role(
            self,
            f"{step.capitalize()}StepRole-{cfg.name}",
            role_name=step_role_name(cfg.project, cfg.name, step),
            assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com"),
            description=f"Runs the {step} step of {cfg.name}; may only assume {target}",
        )
        role.add_to_policy(iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[target]))
        return role, target

    def _migration(self, stage: PlatformStage) -> pipelines.Step:
        """Between the data stack (which just registered the migration task with the release's
        image) and the compute stack (whose services roll next)."""
        cfg = stage.cfg
        role, target = self._step_role(cfg, "migrate")
        return pipelines.CodeBuildStep(
            f"Migrate-{cfg.name}",
            input=self.source,
            env={
                "ROLE_ARN": target,
                "STAGE_REGION": cfg.region,
                "DATA_STACK": cfg.stack_name("data"),
                "NETWORK_STACK": cfg.stack_name("network"),
            },
            commands=["tools/run_migration.sh"],
            role=role,
        )

    def _health_check(self, stage: PlatformStage) -> pipelines.CodeBuildStep:
        return pipelines.CodeBuildStep(
            f"Validate-{stage.cfg.name}",
            input=self.source,
            env_from_cfn_outputs={"HEALTH_URL": stage.cdn.outputs["HealthCheckUrl"]},
            commands=["tools/check_health.sh"],
        )

    def _bake(self, stage: PlatformStage) -> pipelines.CodeBuildStep:
        """Watch the stage's critical alarms for its bake time; any ALARM fails the promotion."""
        cfg = stage.cfg
        role, target = self._step_role(cfg, "bake")
        return pipelines.CodeBuildStep(
            f"Bake-{cfg.name}",
            input=self.source,
            env={
                "ROLE_ARN": target,
                "STAGE_REGION": cfg.region,
                "ALARM_NAMES": ",".join(stage.observability.critical_alarm_names),
                "EDGE_ALARM_NAMES": ",".join(stage.edge_alarms.critical_alarm_names),
                "BAKE_MINUTES": str(cfg.delivery.bake_minutes),
            },
            install_commands=[f"pip3 install --quiet {BOTO3_PIN}"],
            commands=["python3 tools/bake.py"],
            role=role,
            timeout=minutes(cfg.delivery.bake_minutes + 15),
        )

    def _notifications(self, pipeline: PipelineConfig) -> None:
        key = kms.Key(
            self,
            "EventsKey",
            alias=f"alias/{self.stack_name}-events",
            description="Pipeline notification topic",
            enable_key_rotation=True,
        )
        key.grant(
            iam.ServicePrincipal("codestar-notifications.amazonaws.com"),
            "kms:Decrypt",
            "kms:GenerateDataKey*",
        )
        topic = sns.Topic(
            self,
            "PipelineEvents",
            topic_name=f"{self.stack_name}-events",
            master_key=key,
            enforce_ssl=True,
        )
        for address in pipeline.notification_emails:
            topic.add_subscription(subscriptions.EmailSubscription(address))
        self.pipeline.pipeline.notify_on(
            "Events",
            topic,
            events=[
                codepipeline.PipelineNotificationEvents.PIPELINE_EXECUTION_FAILED,
                codepipeline.PipelineNotificationEvents.PIPELINE_EXECUTION_SUCCEEDED,
                codepipeline.PipelineNotificationEvents.MANUAL_APPROVAL_NEEDED,
            ],
            detail_type=notifications.DetailType.FULL,
        )
