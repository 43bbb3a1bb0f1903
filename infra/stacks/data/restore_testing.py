"""Restores that are tested (`data.backup.restore_testing`): on its schedule AWS Backup restores
the newest recovery point of the database and of every backed-up bucket, keeps each copy for
the validation window and then deletes it. A restore that fails pages the critical tier (rule in
the observability stack); a completed one records how long the restore took (the RTO evidence).

Restored databases land in the isolated subnets under the `restore-test` security group, which
nothing can reach: the copy proves the backup restores without exposing a second database.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from aws_cdk import aws_backup as backup
from aws_cdk import aws_iam as iam
from aws_cdk import aws_rds as rds

from constructs_lib.schedules import scheduler_cron

if TYPE_CHECKING:
    from infra.stacks.data import DataStack


def plan_name(stack: DataStack, suffix: str) -> str:
    """Restore testing names allow letters, digits and underscores only (1-50)."""
    return f"{stack.cfg.prefix}_{suffix}".replace("-", "_")


def build_restore_testing(
    stack: DataStack, vault: backup.IBackupVault, role: iam.IRole, buckets: dict[str, str]
) -> backup.CfnRestoreTestingPlan | None:
    """`buckets`: the backed-up buckets' ARNs by name."""
    cfg, plan_cfg = stack.cfg, stack.cfg.data.backup
    if not plan_cfg.restore_testing:
        return None
    plan = backup.CfnRestoreTestingPlan(
        stack,
        "RestoreTestingPlan",
        restore_testing_plan_name=plan_name(stack, "restore_tests"),
        schedule_expression=scheduler_cron(plan_cfg.restore_test_schedule),
        schedule_expression_timezone=cfg.time_zone,
        start_window_hours=8,
        recovery_point_selection=backup.CfnRestoreTestingPlan.RestoreTestingRecoveryPointSelectionProperty(
            algorithm="LATEST_WITHIN_WINDOW",
            include_vaults=[vault.backup_vault_arn],
            recovery_point_types=["CONTINUOUS", "SNAPSHOT"],
            selection_window_days=7,
        ),
    )
    database = stack.database.database
    restored_into = {
        "dbSubnetGroupName": stack.database_subnets.subnet_group_name,
        "vpcSecurityGroupIds": json.dumps(
            [stack.security_groups.group("restore-test").security_group_id]
        ),
    }
    selections = {
        "database": (
            "Aurora" if isinstance(database, rds.DatabaseCluster) else "RDS",
            stack.database.arn,
            restored_into,
        ),
        **{f"bucket_{name.replace('-', '_')}": ("S3", arn, None) for name, arn in buckets.items()},
    }
    for name, (resource_type, arn, overrides) in selections.items():
        selection = backup.CfnRestoreTestingSelection(
            stack,
            f"RestoreTest-{name}",
            restore_testing_plan_name=plan.restore_testing_plan_name,
            restore_testing_selection_name=name,
            protected_resource_type=resource_type,
            protected_resource_arns=[arn],
            iam_role_arn=role.role_arn,
            restore_metadata_overrides=overrides,
            validation_window_hours=plan_cfg.restore_validation_hours,
        )
        selection.node.add_dependency(plan)
    return plan
