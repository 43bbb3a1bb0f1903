"""Delivery: a self-mutating CDK Pipelines pipeline promoting Dev -> Staging -> Prod.

Deployed once from a workstation (`cdk deploy -c pipeline=true ... Pipeline`); afterwards every
push to the branch updates the pipeline itself, then deploys the same PlatformStage class that
`cdk deploy "Dev/*"` uses. Per stage: migrate (pre), deploy, health check (post); a manual
approval guards prod.
"""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk import Duration, Environment, Stack, pipelines
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
from infra.compliance import apply_acknowledgments
from infra.compliance.acknowledgments import acknowledge, pipeline_acknowledgments
from infra.config import StageConfig
from infra.config.pipeline import PipelineConfig
from infra.stage import PlatformStage

ROOT = Path(__file__).resolve().parents[2]
# One pin for the CLI: package.json. The pipeline's own steps install exactly that version.
CLI_VERSION: str = json.loads((ROOT / "package.json").read_text())["devDependencies"]["aws-cdk"]
BUILD_IMAGE = codebuild.LinuxBuildImage.STANDARD_7_0


class PipelineStack(Stack):
    def __init__(
        self, scope: Construct, pipeline: PipelineConfig, stages: list[StageConfig]
    ) -> None:
        project = stages[0].project
        super().__init__(
            scope,
            "Pipeline",
            stack_name=f"{project}-pipeline",
            env=Environment(account=pipeline.account, region=pipeline.region),
            termination_protection=True,
            analytics_reporting=False,
            description=f"{project}: delivery pipeline (self-mutating)",
        )
        source = pipelines.CodePipelineSource.connection(
            pipeline.repository, pipeline.branch, connection_arn=pipeline.connection_arn
        )
        synth = pipelines.CodeBuildStep(
            "Synth",
            input=source,
            # The pipeline's own synth sees the configuration it was deployed with.
            env=self._synth_environment(pipeline, stages),
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
            publish_assets_in_parallel=False,
            docker_enabled_for_synth=False,
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(build_image=BUILD_IMAGE)
            ),
        )
        for cfg in stages:
            stage = PlatformStage(self, cfg)
            apply_acknowledgments(cfg, stage.stacks)
            migration = self._migration(cfg, source)
            pre: list[pipelines.Step] = [migration]
            if cfg.name == "prod":
                approval = pipelines.ManualApprovalStep(
                    "PromoteToProd", comment="Staging is healthy: promote this build to prod?"
                )
                migration.add_step_dependency(approval)  # pre steps otherwise run in parallel
                pre.insert(0, approval)
            self.pipeline.add_stage(stage, pre=pre, post=[self._health_check(stage, source)])
        self.pipeline.build_pipeline()
        self._notifications(pipeline)
        self._acknowledge(pipeline)

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
                        expiration=Duration.days(90),
                        noncurrent_version_expiration=Duration.days(7),
                    )
                ],
            ),
        )

    def _acknowledge(self, pipeline: PipelineConfig) -> None:
        support = [
            child
            for child in self.node.root.node.children
            if isinstance(child, Stack) and child.node.id.startswith("cross-region-stack-")
        ]
        artifacts = self.get_logical_id(self.artifacts.node.default_child)  # type: ignore[arg-type]
        acknowledge(
            {"pipeline": self, **{f"support-{i}": stack for i, stack in enumerate(support)}},
            pipeline_acknowledgments(self, support),
            {"account": pipeline.account, "region": pipeline.region, "artifacts": artifacts},
        )

    @staticmethod
    def _synth_environment(pipeline: PipelineConfig, stages: list[StageConfig]) -> dict[str, str]:
        env = pipeline.environment() | {"PLATFORM_REQUIRE_ACCOUNTS": "1"}
        for cfg in stages:
            prefix = f"PLATFORM_{cfg.name.upper()}"
            env |= {f"{prefix}_ACCOUNT": cfg.account, f"{prefix}_REGION": cfg.region}
        return env

    @staticmethod
    def _migration(cfg: StageConfig, source: pipelines.IFileSetProducer) -> pipelines.Step:
        role = f"arn:aws:iam::{cfg.account}:role/{cfg.resource_name('pipeline-migrate')}"
        api = cfg.compute.service("api")
        assert api is not None
        image = (
            f"{cfg.account}.dkr.ecr.{cfg.region}.amazonaws.com/{cfg.resource_name('api')}:"
            f"{api.image_tag}"
            if api.image_tag
            else api.image
        )
        return pipelines.CodeBuildStep(
            f"Migrate-{cfg.name}",
            input=source,
            env={
                "ROLE_ARN": role,
                "STAGE_REGION": cfg.region,
                "COMPUTE_STACK": cfg.stack_name("compute"),
                "NETWORK_STACK": cfg.stack_name("network"),
                "IMAGE": image,
            },
            commands=["tools/run_migration.sh"],
            role_policy_statements=[
                iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[role])
            ],
        )

    @staticmethod
    def _health_check(stage: PlatformStage, source: pipelines.IFileSetProducer) -> pipelines.Step:
        return pipelines.CodeBuildStep(
            f"Validate-{stage.cfg.name}",
            input=source,
            env_from_cfn_outputs={"HEALTH_URL": stage.cdn.outputs["HealthCheckUrl"]},
            commands=["tools/check_health.sh"],
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
