"""Scheduled jobs (`jobs`): an EventBridge Scheduler schedule per job, in the stage's time zone,
that puts the job's message on its function's queue (undeliverable calls go to the function's
dead-letter queue)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs

from constructs_lib.schedules import SendToQueue, scheduler_role

if TYPE_CHECKING:
    from infra.stacks.compute import ComputeStack


def build_scheduled_jobs(
    stack: ComputeStack, queues: dict[str, tuple[sqs.Queue | None, sqs.Queue]]
) -> None:
    """EventBridge Scheduler puts the job's message on its function's queue."""
    for name, job in stack.cfg.jobs.items():
        queue, dead_letters = queues[job.function]
        assert queue is not None
        role = scheduler_role(stack, f"Schedule-{name}Role")
        stack.allow(role, ["sqs:SendMessage"], [queue.queue_arn, dead_letters.queue_arn], via="sqs")
        scheduler.Schedule(
            stack,
            f"Schedule-{name}",
            schedule_name=stack.cfg.resource_name(name),
            description=f"{name} job for {job.function}",
            schedule=scheduler.ScheduleExpression.expression(
                job.expression, time_zone=stack.time_zone
            ),
            target=SendToQueue(
                queue,
                role,
                payload=job.message or {"job": name},
                dead_letter_queue=dead_letters,
                retry_attempts=3,
            ),
        )
