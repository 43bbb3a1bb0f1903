"""AWS Backup: a vault under its own key that nobody can empty early, daily (continuous),
weekly and monthly rules per stage, the database and the buckets that ask for it, and a copy of
every recovery point in the disaster-recovery region where configured."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import aws_backup as backup
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam

from constructs_lib.durations import days
from infra.config.data import BackupConfig
from infra.stacks.base import removal
from infra.stacks.data.restore_testing import build_restore_testing

if TYPE_CHECKING:
    from infra.stacks.data import DataStack
    from infra.stacks.dr import DisasterRecoveryStack

# What the selection role needs: RDS and Aurora (generic policies) and S3 (AWS keeps the S3 ones
# separate; without them every bucket backup job fails with AccessDenied).
SELECTION_POLICIES = (
    "service-role/AWSBackupServiceRolePolicyForBackup",
    "service-role/AWSBackupServiceRolePolicyForRestores",
    "AWSBackupServiceRolePolicyForS3Backup",
    "AWSBackupServiceRolePolicyForS3Restore",
)
SCHEDULES = {  # UTC, after the database's own backup window
    "Daily": events.Schedule.cron(hour="19", minute="0"),
    "Weekly": events.Schedule.cron(week_day="SUN", hour="20", minute="0"),
    "Monthly": events.Schedule.cron(day="1", hour="21", minute="0"),
}


def lock_configuration(plan: BackupConfig) -> backup.LockConfiguration | None:
    """Compliance mode: after the grace period even the account root cannot shorten retention
    or delete a recovery point."""
    if not plan.vault_lock:
        return None
    return backup.LockConfiguration(
        min_retention=days(plan.lock_min_retention_days),
        changeable_for=days(plan.lock_changeable_days),
    )


def build_backups(
    stack: DataStack, dr: DisasterRecoveryStack | None, buckets: dict[str, str]
) -> backup.BackupVault:
    """The database and `buckets` (backed-up buckets' ARNs by name) in one plan."""
    cfg, plan_cfg = stack.cfg, stack.cfg.data.backup
    vault = backup.BackupVault(
        stack,
        "BackupVault",
        backup_vault_name=cfg.resource_name("vault"),
        encryption_key=stack.stage_key("BackupKey", "backup", "backup vault"),
        removal_policy=removal(cfg.removal_policy),
        lock_configuration=lock_configuration(plan_cfg),
        block_recovery_point_deletion=plan_cfg.vault_lock,
    )
    copy_to = (
        backup.BackupVault.from_backup_vault_arn(stack, "DrVault", dr.vault_arn)
        if plan_cfg.copy_to_dr and dr is not None
        else None
    )
    retention = {
        "Daily": plan_cfg.daily_retention_days,
        "Weekly": plan_cfg.weekly_retention_days,
        "Monthly": plan_cfg.monthly_retention_days,
    }
    rules = [
        backup.BackupPlanRule(
            rule_name=name,
            schedule_expression=SCHEDULES[name],
            delete_after=days(kept),
            # Point-in-time restore (RPO of minutes) for the daily rule.
            enable_continuous_backup=name == "Daily" and plan_cfg.continuous,
            copy_actions=(
                [
                    backup.BackupPlanCopyActionProps(
                        destination_backup_vault=copy_to, delete_after=days(kept)
                    )
                ]
                if copy_to is not None
                else None
            ),
        )
        for name, kept in retention.items()
        if kept
    ]
    plan = backup.BackupPlan(
        stack,
        "BackupPlan",
        backup_plan_name=cfg.resource_name("backup"),
        backup_vault=vault,
        backup_plan_rules=rules,
    )
    role = iam.Role(
        stack,
        "BackupRole",
        assumed_by=iam.ServicePrincipal("backup.amazonaws.com"),
        description="AWS Backup: backs up and restores the stage's database and buckets",
        managed_policies=[
            iam.ManagedPolicy.from_aws_managed_policy_name(name) for name in SELECTION_POLICIES
        ],
    )
    plan.add_selection(
        "Selection",
        resources=[
            backup.BackupResource.from_arn(arn) for arn in (stack.database.arn, *buckets.values())
        ],
        role=role,
    )
    build_restore_testing(stack, vault, role, buckets)
    return vault
