"""Compliance: both packs and CloudFormation validation run on every stage of every job, every
finding is fixed or acknowledged where its reason is true, and the gate fails closed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from infra.compliance import Ack, StaleAcknowledgmentError
from infra.compliance.engine import acknowledge
from tests.conftest import ROOT
from tests.jobs import JOBS
from tests.synth import Pool, Synthesized

CLEAN_JOBS = [job.name for job in JOBS if job.name != "wildcards"]


@pytest.mark.parametrize("job", CLEAN_JOBS)
def test_no_unacknowledged_findings(pool: Pool, job: str) -> None:
    """Reads the validation report itself: a warning counts as a finding too."""
    result = pool.result(job)
    assert result.violations() == []
    assert result.error is None


def test_a_new_wildcard_on_any_role_is_a_finding(pool: Pool) -> None:
    """No acknowledgment covers a role's own policy: a wildcard added there is always caught."""
    result = pool.result("wildcards")
    injected = json.loads((result.outdir / "wildcards.json").read_text())
    assert len(injected) >= 15  # every task, execution, function, provider and service role
    flagged = {
        path.rsplit("/", 2)[0]
        for _, rule, _, path in result.violations()
        if rule == "AwsSolutions-IAM5[Resource::*]"
    }
    missed = [role for role in injected if role not in flagged]
    assert missed == []


def test_acknowledgment_inventory(platform: Synthesized, snapshot: SnapshotAssertion) -> None:
    """Every acknowledgment of the default profile, per stage, as `cdk synth` writes it to
    cdk.out/acknowledgments.json: a new one (or one that moved) shows up as a snapshot diff."""
    inventory = json.loads((platform.outdir / "acknowledgments.json").read_text())
    assert set(inventory) == {"dev", "staging", "prod"}
    assert inventory == snapshot(extension_class=JSONSnapshotExtension)


def test_an_acknowledgment_that_matches_nothing_fails() -> None:
    from aws_cdk import App, Stack  # noqa: PLC0415

    stale = Ack("Vpc/Gone", "AwsSolutions-EC23", "x" * 80)
    with pytest.raises(StaleAcknowledgmentError, match="names S/Vpc/Gone, which matches nothing"):
        acknowledge(Stack(App(), "S"), [stale])


@pytest.mark.parametrize(
    ("path", "reason", "message"),
    [("*", "x" * 80, "name a construct"), ("Vpc/Resource", "short", "say why, specifically")],
)
def test_acknowledgments_name_a_construct_and_a_specific_reason(
    path: str, reason: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Ack(path, "AwsSolutions-EC23", reason)


CANARY_APP = """
import os, sys
sys.path.insert(0, {root!r})
from aws_cdk import App
from aws_cdk import aws_iam as iam
import infra.platform
original = infra.platform.apply_packs
def with_canary(app):
    stage = app.node.find_child("Dev")
    iam.ManagedPolicy(stage.node.find_child("Data"), "Canary",
        statements=[iam.PolicyStatement(actions=["*"], resources=["*"])])
    original(app)
infra.platform.apply_packs = with_canary
exec(open({app!r}).read())
"""


def test_plain_cdk_synth_fails_on_a_finding_inside_a_stage(tmp_path: Path) -> None:
    """The real CLI, the real app.py, one admin-wildcard policy inside the Dev stage: exit 1."""
    canary = tmp_path / "canary_app.py"
    canary.write_text(CANARY_APP.format(root=str(ROOT), app=str(ROOT / "app.py")))
    run = subprocess.run(
        [
            "cdk",
            "synth",
            "--quiet",
            "--app",
            f"{sys.executable} {canary}",
            "-c",
            "stages=dev",
            "-o",
            str(tmp_path / "out"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{ROOT / 'node_modules' / '.bin'}:{os.environ['PATH']}"},
        check=False,
    )
    assert run.returncode != 0
    output = run.stdout + run.stderr
    assert "Unacknowledged compliance findings" in output
    assert "AwsSolutions-IAM5[Action::*] at Dev/Data/Canary/Resource" in output


SYNTH_ERROR_APP = """
import sys
sys.path.insert(0, {root!r})
import aws_cdk
import infra.platform
def synth(self, *args, **kwargs):
    raise RuntimeError("ValidationFailedWithErrors: a construct-tree error, before any report")
aws_cdk.App.synth = synth
infra.platform.build_platform = lambda app, environ: None
exec(open({app!r}).read())
"""


def test_a_synth_error_without_findings_fails_the_run(tmp_path: Path) -> None:
    """Only a report with findings explains a ValidationFailed: any other synth error (here one
    whose text merely contains the word, with no report written) propagates, never exit 0."""
    failing = tmp_path / "failing_app.py"
    failing.write_text(SYNTH_ERROR_APP.format(root=str(ROOT), app=str(ROOT / "app.py")))
    run = subprocess.run(
        [sys.executable, str(failing)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "CDK_OUTDIR": str(tmp_path / "out")},
        check=False,
    )
    assert run.returncode != 0
    assert "RuntimeError: ValidationFailedWithErrors" in run.stderr
    assert "Unacknowledged compliance findings" not in run.stdout


def test_bad_configuration_exits_with_its_problems_and_no_traceback(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "app.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "CDK_CONTEXT_JSON": json.dumps({"prod.acount": "1", "require_accounts": "ture"}),
            "CDK_OUTDIR": str(tmp_path),
        },
        check=False,
    )
    assert run.returncode == 2
    assert "Traceback" not in run.stdout + run.stderr
    assert run.stdout.splitlines() == [
        "Invalid configuration:",
        "  require_accounts: 'ture' is not a boolean; use true or false",
        "  prod.acount: unknown key; did you mean 'account'?",
    ]
