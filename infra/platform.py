"""Builds the whole app from configuration: one PlatformStage per selected stage, audited, and
the delivery pipeline when it is switched on."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from aws_cdk import App

from infra.compliance import apply_acknowledgments, apply_packs
from infra.config import StageConfig, load_stages
from infra.config.pipeline import PipelineConfig, load_pipeline
from infra.stacks.pipeline import PipelineStack
from infra.stage import PlatformStage


def build_platform(
    app: App,
    environ: Mapping[str, str],
    configs: Sequence[StageConfig] | None = None,
    pipeline: PipelineConfig | None = None,
) -> list[PlatformStage]:
    """`configs` and `pipeline` replace what context and environment say (tests of other
    shapes); they are validated all the same, before any construct is built."""
    if configs is None:
        configs = load_stages(app.node.try_get_context, environ)
    if pipeline is None:
        pipeline = load_pipeline(app.node.try_get_context, environ)
    if pipeline is not None:
        configs = [delivered_by(cfg, pipeline) for cfg in configs]
        pipeline.validate({cfg.name: cfg.account for cfg in configs})
    stages = [PlatformStage(app, cfg) for cfg in configs]
    for stage in stages:
        apply_acknowledgments(stage.cfg, stage.stacks)
    if pipeline is not None:
        PipelineStack(app, pipeline, list(configs))
    apply_packs(app)
    return stages


def delivered_by(cfg: StageConfig, pipeline: PipelineConfig) -> StageConfig:
    """A stage the pipeline deploys: real accounts only, and its migrations run from there."""
    compute = dataclasses.replace(cfg.compute, migration_runner_account=pipeline.account)
    return dataclasses.replace(cfg, compute=compute, require_account=True)
