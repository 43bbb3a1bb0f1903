"""Rule packs run on every stage at synth; a finding that is not acknowledged fails synth."""

from __future__ import annotations

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks


def apply_packs(app: App) -> None:
    # Registered on the app, they reach the stacks of every nested Stage (tested by a canary).
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), NIST80053R5Checks(app))
