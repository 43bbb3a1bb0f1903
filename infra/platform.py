"""Builds the whole app from configuration: one PlatformStage per selected stage, audited."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import App

from infra.compliance import apply_acknowledgments, apply_packs
from infra.config import StageConfig, load_stages
from infra.stage import PlatformStage


def build_platform(
    app: App, environ: Mapping[str, str], configs: Sequence[StageConfig] | None = None
) -> list[PlatformStage]:
    """`configs` replaces the defaults (tests of other shapes); they are validated all the same."""
    if configs is None:
        configs = load_stages(app.node.try_get_context, environ)  # raises before any construct
    stages = [PlatformStage(app, cfg) for cfg in configs]
    for stage in stages:
        apply_acknowledgments(stage.cfg, stage.stacks)
    apply_packs(app)
    return stages
