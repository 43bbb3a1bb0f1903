"""The database sleeps with the stage (`sleep.stop_database`): EventBridge Scheduler stops it at
the sleep time and starts it `database_lead_minutes` before the services wake, through
universal targets (the RDS API itself, no function) and a role limited to those two calls on
this one database.

RDS starts a database by itself after seven days stopped. The stop schedule fires at every sleep
time, so a database that woke on its own is stopped again that evening; a call that fails (such
as stopping an already stopped database) is dropped after its retries and raises the group's
warning alarm (see observability).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import aws_iam as iam
from aws_cdk import aws_rds as rds
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets

from constructs_lib.durations import hours
from constructs_lib.schedules import scheduler_cron, scheduler_role

if TYPE_CHECKING:
    from infra.stacks.data import DataStack


def build_sleep(stack: DataStack) -> scheduler.ScheduleGroup | None:
    cfg, sleep = stack.cfg, stack.cfg.sleep
    if sleep is None or not sleep.stop_database:
        return None
    database = stack.database.database
    if isinstance(database, rds.DatabaseCluster):
        kind, request = "DBCluster", {"DbClusterIdentifier": database.cluster_identifier}
    else:
        kind, request = "DBInstance", {"DbInstanceIdentifier": database.instance_identifier}
    group = scheduler.ScheduleGroup(
        stack, "SleepSchedules", schedule_group_name=cfg.resource_name("sleep")
    )
    role = scheduler_role(stack, "SleepRole")
    for action, cron in (("stop", sleep.sleep), ("start", sleep.database_wake_cron())):
        scheduler.Schedule(
            stack,
            f"Database-{action}",
            schedule_name=cfg.resource_name(f"db-{action}"),
            schedule_group=group,
            description=f"{action} the database ({cron}, {cfg.time_zone})",
            schedule=scheduler.ScheduleExpression.expression(
                scheduler_cron(cron), time_zone=stack.time_zone
            ),
            target=scheduler_targets.Universal(
                service="rds",
                action=f"{action}{kind}",
                input=scheduler.ScheduleTargetInput.from_object(request),
                role=role,
                policy_statements=[
                    iam.PolicyStatement(
                        actions=[f"rds:{action.capitalize()}{kind}"],
                        resources=[stack.database.arn],
                    )
                ],
                retry_attempts=3,
                max_event_age=hours(1),  # late is pointless: the next one comes
            ),
        )
    stack.inventory.schedule_groups["sleep"] = group
    return group
