"""EventBridge Scheduler targets whose role may call exactly the target.

CDK's `LambdaInvoke` grants the schedule's role every version and alias of the function too
(`<arn>:*`), and its `SqsSendMessage` the queue key's whole GenerateDataKey* family; a schedule
only ever calls the function itself, or sends one message, so these grant just that.
"""

from __future__ import annotations

from typing import Any

import jsii
from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs

from constructs_lib.cron import scheduler_cron

__all__ = ["InvokeFunction", "SendToQueue", "scheduler_cron", "scheduler_role"]


def scheduler_role(scope: Any, construct_id: str) -> iam.Role:
    """A role only EventBridge Scheduler of this account may assume."""
    account = Stack.of(scope).account
    return iam.Role(
        scope,
        construct_id,
        assumed_by=iam.ServicePrincipal(
            "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": account}}
        ),
    )


def _target(
    arn: str, role: iam.IRole, payload: dict[str, Any], dead_letters: sqs.IQueue, retries: int
) -> scheduler.ScheduleTargetConfig:
    return scheduler.ScheduleTargetConfig(
        arn=arn,
        role=role,
        input=scheduler.ScheduleTargetInput.from_object(payload),
        dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(
            arn=dead_letters.queue_arn
        ),
        retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(maximum_retry_attempts=retries),
    )


@jsii.implements(scheduler.IScheduleTarget)
class SendToQueue:
    """Puts `payload` on `queue`; failed deliveries go to `dead_letter_queue`. The caller grants
    `role` sqs:SendMessage on both queues (and their key's use as it sees fit): CDK's
    SqsSendMessage grants the key's GenerateDataKey* family instead."""

    def __init__(
        self,
        queue: sqs.IQueue,
        role: iam.IRole,
        *,
        payload: dict[str, Any],
        dead_letter_queue: sqs.IQueue,
        retry_attempts: int,
    ) -> None:
        self._config = _target(queue.queue_arn, role, payload, dead_letter_queue, retry_attempts)

    def bind(self, _schedule: scheduler.ISchedule) -> scheduler.ScheduleTargetConfig:
        return self._config


@jsii.implements(scheduler.IScheduleTarget)
class InvokeFunction:
    """Invokes `function` asynchronously; failed deliveries go to `dead_letter_queue` (the
    caller grants `role` sqs:SendMessage on it, with the queue key's use as it sees fit)."""

    def __init__(
        self,
        function: lambda_.IFunction,
        role: iam.Role,
        *,
        payload: dict[str, Any],
        dead_letter_queue: sqs.IQueue,
        retry_attempts: int,
    ) -> None:
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"], resources=[function.function_arn]
            )
        )
        self._config = _target(
            function.function_arn, role, payload, dead_letter_queue, retry_attempts
        )

    def bind(self, _schedule: scheduler.ISchedule) -> scheduler.ScheduleTargetConfig:
        return self._config
