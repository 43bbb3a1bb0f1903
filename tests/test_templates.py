"""Template review: one JSON snapshot per stack per stage, stable across code changes; cfn-lint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_lambda as lambda_
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.conftest import STACK_KEYS
from tests.synth import Synthesized, Template, normalize, unexpected_lint_findings


@pytest.mark.parametrize(("stage", "concern"), STACK_KEYS)
def test_template_snapshot(
    platform: Synthesized, stage: str, concern: str, snapshot: SnapshotAssertion
) -> None:
    template = normalize(platform.template(stage, concern))
    assert template == snapshot(extension_class=JSONSnapshotExtension)


def _lambda_template(code_dir: Path, source: str) -> Template:
    (code_dir / "index.py").write_text(source)
    app = App()
    stack = Stack(app, "S")
    lambda_.Function(
        stack,
        "Fn",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_asset(str(code_dir)),
    )
    template: Template = app.synth().get_stack_by_name("S").template
    return template


def test_code_changes_do_not_churn_snapshots(tmp_path: Path) -> None:
    """Same infrastructure, different handler code: raw templates differ, normalized ones not."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    before = _lambda_template(tmp_path / "a", "def handler(e, c):\n    return 1\n")
    after = _lambda_template(tmp_path / "b", "def handler(e, c):\n    return 2\n")
    assert before != after
    assert normalize(before) == normalize(after)
    assert "<asset-hash>.zip" in json.dumps(normalize(after))


def test_cfn_lint_has_no_errors_and_only_accepted_warnings(platform: Synthesized) -> None:
    assert len(platform.stacks) == len(STACK_KEYS)
    assert unexpected_lint_findings(platform) == []
