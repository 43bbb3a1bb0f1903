"""Builds the whole app from configuration: one PlatformStage per selected stage, audited, and
the delivery pipeline when it is switched on."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aws_cdk import App

from infra.compliance import Ack, apply_acknowledgments, apply_packs
from infra.config import StageConfig, derive, load_stages
from infra.config.loader import carried_settings
from infra.config.pipeline import PipelineConfig, load_pipeline
from infra.stage import PlatformStage


def build_platform(
    app: App,
    environ: Mapping[str, str],
    configs: Sequence[StageConfig] | None = None,
    pipeline: PipelineConfig | None = None,
) -> list[PlatformStage]:
    """`configs` and `pipeline` replace what context and environment say (tests of other
    shapes); they are validated all the same, before any construct is built."""
    context: dict[str, Any] = app.node.get_all_context()
    if configs is None:
        loaded = load_stages(context, environ)
        configs = loaded.stages
        for warning in loaded.warnings:  # a documented choice below a floor: said, not refused
            print(f"warning: {warning}", file=sys.stderr)
    if pipeline is None:
        pipeline = load_pipeline(context, environ)
    if pipeline is not None:
        configs = [delivered_by(cfg, pipeline) for cfg in configs]
        pipeline.validate_for({cfg.name: cfg.account for cfg in configs})
    stages = [PlatformStage(app, cfg) for cfg in configs]
    inventory = {stage.cfg.name: apply_acknowledgments(stage) for stage in stages}
    if pipeline is not None:
        from infra.delivery import PipelineStack  # noqa: PLC0415 (only with the pipeline on)

        delivery = PipelineStack(app, pipeline, stages, carried_settings(context, environ))
        inventory["pipeline"] = delivery.acknowledgments
    write_inventory(app, inventory)
    apply_packs(app)
    return stages


def write_inventory(app: App, acks: Mapping[str, Mapping[str, Sequence[Ack]]]) -> None:
    """cdk.out/acknowledgments.json: every acknowledged finding with its reason, per stage and
    stack, for review next to cdk-nag's validation report."""
    inventory = {
        stage: {
            concern: sorted([a.path, a.rule, a.reason] for a in found)
            for concern, found in by_concern.items()
        }
        for stage, by_concern in acks.items()
    }
    outdir = Path(app.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "acknowledgments.json").write_text(json.dumps(inventory, indent=1) + "\n")


def delivered_by(cfg: StageConfig, pipeline: PipelineConfig) -> StageConfig:
    """A stage the pipeline deploys: real accounts only, and its migrations run from there."""
    return derive(cfg, pipeline_account=pipeline.account, require_account=True)
