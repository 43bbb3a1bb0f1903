"""Compliance: packs run on every stage, every finding is fixed or acknowledged with a reason."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_s3 as s3
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from infra.compliance import ACKNOWLEDGMENTS, Ack, apply_acknowledgments
from infra.config import default_stages
from infra.platform import build_platform
from tests.synth import Synthesized, new_app, synthesize


def test_no_unacknowledged_findings(platform: Synthesized) -> None:
    """Reads the validation report itself: a warning counts as a finding too."""
    assert platform.violations() == []
    assert platform.error is None


def test_a_noncompliant_resource_inside_a_stage_is_reported(tmp_path: Path) -> None:
    """Canary: proves both packs reach the stacks of a nested Stage and still fail synth."""
    app = new_app(tmp_path, stages="dev")
    (stage,) = build_platform(app, environ={})
    s3.CfnBucket(stage.data, "CanaryBucket")  # no logging, no TLS policy, no versioning
    result = synthesize(app)

    assert result.error is not None
    assert result.error.startswith("ValidationFailed")
    findings = {(plugin, rule) for plugin, rule, _, path in result.violations()}
    assert {("AwsSolutions", "AwsSolutions-S1"), ("AwsSolutions", "AwsSolutions-S10")} <= findings
    assert ("NIST.800.53.R5", "NIST.800.53.R5-S3BucketLoggingEnabled") in findings
    assert {path for *_, path in result.violations()} == {"Dev/Data/CanaryBucket"}


def test_acknowledgment_inventory(snapshot: SnapshotAssertion) -> None:
    """Every acknowledgment, as reviewed. A new one shows up as a snapshot diff in review."""
    inventory = [dataclasses.asdict(ack) for ack in ACKNOWLEDGMENTS]
    assert inventory == snapshot(extension_class=JSONSnapshotExtension)


@pytest.mark.parametrize("ack", ACKNOWLEDGMENTS, ids=lambda a: f"{a.stack}:{a.rule}")
def test_acknowledgments_name_a_resource_and_give_a_specific_reason(ack: Ack) -> None:
    assert ack.stack in {
        "network",
        "data",
        "compute",
        "edge",
        "cdn",
        "edge-alarms",
        "observability",
        "dr",
    }
    assert ack.path, "name the resource"
    assert not ack.path.startswith("*"), "name the resource, not a whole stack"
    assert len(ack.reason) >= 80, "say why the finding is acceptable, specifically"


def test_an_acknowledgment_for_a_missing_resource_fails() -> None:
    stack = Stack(App(), "S")
    stale = (Ack("network", "Vpc/Gone", "AwsSolutions-EC23", "x" * 80),)
    with pytest.raises(ValueError, match="names network/Vpc/Gone, which matches nothing"):
        apply_acknowledgments(default_stages()["dev"], {"network": stack}, stale)
