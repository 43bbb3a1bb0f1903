"""Backups that fail, copies to the DR region that fail, and restores that fail (restore tests
included) page the critical tier: a recovery point that was never made, or does not restore,
is found on the day, not on the day it is needed.

The rules match the stage's account and region (AWS Backup's events carry no stage): with one
account per stage, as the pipeline requires, that is exactly this stage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as event_targets

if TYPE_CHECKING:
    from infra.stacks.observability import ObservabilityStack

# detail-type: (the field AWS Backup reports the outcome in, the outcomes that page)
FAILURES = {
    "Backup Job State Change": ("state", ["FAILED", "ABORTED", "EXPIRED"]),
    "Copy Job State Change": ("state", ["FAILED", "ABORTED"]),
    "Restore Job State Change": ("status", ["FAILED", "ABORTED"]),
}


def build_recovery_alerts(stack: ObservabilityStack) -> None:
    critical = event_targets.SnsTopic(stack.topics["critical"])
    for detail_type, (field, outcomes) in FAILURES.items():
        job = detail_type.split()[0]
        events.Rule(
            stack,
            f"{job}JobFailures",
            rule_name=stack.cfg.resource_name(f"{job.lower()}-job-failures"),
            description=(
                f"AWS Backup {job.lower()} jobs that end {', '.join(outcomes)} "
                "page the critical tier"
            ),
            event_pattern=events.EventPattern(
                source=["aws.backup"], detail_type=[detail_type], detail={field: outcomes}
            ),
            targets=[critical],
        )
