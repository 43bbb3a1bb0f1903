"""Template review: one JSON snapshot per stack per stage per profile, stable across code
changes (asset hashes scrubbed), and cfn-lint over every job's templates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.jobs import JOBS
from tests.stacks import every_stack, stack_keys
from tests.synth import Pool, Template, normalize


@pytest.mark.parametrize(("profile", "stage", "concern"), every_stack())
def test_template_snapshot(
    pool: Pool, profile: str, stage: str, concern: str, snapshot: SnapshotAssertion
) -> None:
    template = normalize(pool.result(profile).template(stage, concern))
    assert template == snapshot(extension_class=JSONSnapshotExtension)


@pytest.mark.parametrize("profile", sorted({p for p, _, _ in every_stack()}))
def test_every_expected_stack_and_nothing_else(pool: Pool, profile: str) -> None:
    assert sorted(pool.result(profile).by_key) == sorted(stack_keys(profile))


@pytest.mark.parametrize("job", [job.name for job in JOBS])
def test_cfn_lint_has_no_errors_and_only_accepted_warnings(pool: Pool, job: str) -> None:
    assert pool.result(job).lint == []


def _lambda_template(code_dir: Path, source: str) -> Template:
    from aws_cdk import App, Stack  # noqa: PLC0415
    from aws_cdk import aws_lambda as lambda_  # noqa: PLC0415

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
