"""Functions as declared: each its own code, size, log group, grants and one trigger.

- queue: its own SQS queue (KMS, TLS-only) with a dead-letter queue and partial batch failures;
- schedule: EventBridge Scheduler in a time zone;
- bucket: object-created events of a product bucket through EventBridge (no stack cycle);
- event: a pattern on the product's event bus.
Functions invoked asynchronously (every trigger but a queue) keep failed events in a DLQ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_cdk import TimeZone
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as event_targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs

from constructs_lib.durations import hours, seconds
from constructs_lib.function import FunctionProps, code_asset, platform_function
from constructs_lib.schedules import InvokeFunction, scheduler_role
from infra.config.functions import (
    LAMBDA_SRC,
    AlertsTrigger,
    BucketTrigger,
    EventTrigger,
    FunctionConfig,
    QueueTrigger,
    ScheduleTrigger,
)
from infra.stacks.base import pascal, removal
from infra.stacks.compute.access import wire
from infra.stacks.network import function_tier

if TYPE_CHECKING:
    from infra.stacks.compute import ComputeStack


@dataclass
class FunctionHandle:
    config: FunctionConfig
    function: lambda_.Function
    queue: sqs.Queue | None
    """The function's own queue (queue trigger)."""
    dead_letters: sqs.Queue


def build_queues(stack: ComputeStack) -> dict[str, tuple[sqs.Queue | None, sqs.Queue]]:
    """Every function's dead-letter queue, and its own queue for queue triggers: first, so
    services and other functions can be granted SendMessage on them."""
    queues = {}
    for name, spec in stack.cfg.functions.items():
        if isinstance(spec.trigger, AlertsTrigger):
            continue
        dead_letters = stack.queue(f"{pascal(name)}DeadLetters", f"{name}-dlq", retention_days=14)
        queue = None
        if isinstance(spec.trigger, QueueTrigger):
            queue = stack.queue(
                f"{pascal(name)}Queue",
                f"{name}-queue",
                retention_days=spec.trigger.retention_days,
                visibility_seconds=spec.queue_visibility_seconds(),
                dead_letters=(dead_letters, spec.trigger.max_receive_count),
            )
        queues[name] = (queue, dead_letters)
    return queues


def build_functions(
    stack: ComputeStack, queues: dict[str, tuple[sqs.Queue | None, sqs.Queue]]
) -> dict[str, FunctionHandle]:
    handles = {}
    for name, spec in stack.cfg.functions.items():
        if name not in queues:  # alert forwarders live with the alert topics
            continue
        queue, dead_letters = queues[name]
        handles[name] = _function(stack, name, spec, queue, dead_letters)
    return handles


def _function(
    stack: ComputeStack,
    name: str,
    spec: FunctionConfig,
    queue: sqs.Queue | None,
    dead_letters: sqs.Queue,
) -> FunctionHandle:
    cfg = stack.cfg
    log_group = stack.stage_log_group(
        f"Logs-fn-{name}",
        f"functions/{name}",
        spec.log_retention_days or cfg.retention("functions"),
    )
    environment: dict[str, str] = {}
    table = _idempotency_table(stack, name) if spec.idempotency_table else None
    if table is not None:
        environment["IDEMPOTENCY_TABLE"] = table.table_name
    function = platform_function(
        stack,
        f"Function-{name}",
        FunctionProps(
            function_name=cfg.resource_name(name),
            description=spec.description or f"{name} ({spec.trigger.type} trigger)",
            code=code_asset(LAMBDA_SRC / spec.code_folder(name), spec.packages),
            handler=spec.handler,
            runtime=spec.runtime.value,
            architecture=spec.architecture.value,
            key=stack.key,
            log_group=log_group,
            tracing=stack.tracing,
            memory_mib=spec.memory_mib,
            timeout_seconds=spec.timeout_seconds,
            reserved_concurrency=spec.reserved_concurrency,
            vpc=stack.cluster.vpc if spec.vpc else None,
            security_groups=[stack.security_groups.group(function_tier(name))] if spec.vpc else (),
            # Asynchronous invocations (scheduler, EventBridge) keep failures here.
            dead_letter_queue=None if queue is not None else dead_letters,
        ),
    )
    assert function.role is not None
    wiring = wire(stack, function.role, spec.uses, with_credentials=True)
    for secret in dict.fromkeys(secret for secret, _ in wiring.secrets.values()):
        secret.grant_read(function)  # once per secret: the DB_* variables share one
    for key, value in (
        wiring.environment | wiring.secret_arns() | environment | spec.environment
    ).items():
        function.add_environment(key, value)
    if wiring.secrets:
        stack.decrypt_secrets(function.role)
    if table is not None:
        stack.allow(
            function,
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"],
            [table.table_arn],
            via="dynamodb",
        )
    stack.grant_metrics(function.role, name)
    _trigger(stack, name, spec, function, queue=queue, dead_letters=dead_letters)
    return FunctionHandle(spec, function, queue, dead_letters)


def _trigger(
    stack: ComputeStack,
    name: str,
    spec: FunctionConfig,
    function: lambda_.Function,
    *,
    queue: sqs.Queue | None,
    dead_letters: sqs.Queue,
) -> None:
    trigger = spec.trigger
    if isinstance(trigger, QueueTrigger):
        assert queue is not None
        function.add_event_source(
            event_sources.SqsEventSource(
                queue,
                batch_size=trigger.batch_size,
                max_batching_window=(
                    seconds(trigger.max_batching_window_seconds)
                    if trigger.max_batching_window_seconds
                    else None
                ),
                report_batch_item_failures=True,
            )
        )
    elif isinstance(trigger, ScheduleTrigger):
        role = scheduler_role(stack, f"Schedule-{name}Role")
        stack.allow(role, ["sqs:SendMessage"], [dead_letters.queue_arn], via="sqs")
        scheduler.Schedule(
            stack,
            f"Schedule-{name}",
            schedule_name=stack.cfg.resource_name(name),
            description=f"runs {name}",
            schedule=scheduler.ScheduleExpression.expression(
                trigger.expression,
                time_zone=(
                    TimeZone.of(trigger.time_zone)
                    if trigger.time_zone and trigger.time_zone != stack.cfg.time_zone
                    else stack.time_zone
                ),
            ),
            target=InvokeFunction(
                function,
                role,
                payload=trigger.input or {"source": name},
                dead_letter_queue=dead_letters,
                retry_attempts=2,
            ),
        )
    elif isinstance(trigger, BucketTrigger):
        pattern: dict[str, Any] = {
            "bucket": {"name": [stack.data.buckets[trigger.bucket].bucket_name]}
        }
        if trigger.prefix or trigger.suffix:  # a wildcard matches both at once
            pattern["object"] = {"key": [{"wildcard": f"{trigger.prefix}*{trigger.suffix}"}]}
        events.Rule(
            stack,
            f"Trigger-{name}",
            rule_name=stack.cfg.resource_name(f"{name}-objects"),
            description=f"New objects in {trigger.bucket} run {name}",
            event_pattern=events.EventPattern(
                source=["aws.s3"], detail_type=["Object Created"], detail=pattern
            ),
            targets=[_target(function, dead_letters)],
        )
        stack.event_dead_letters()
    elif isinstance(trigger, EventTrigger):
        assert stack.event_bus is not None
        events.Rule(
            stack,
            f"Trigger-{name}",
            rule_name=stack.cfg.resource_name(f"{name}-events"),
            description=f"Events from {', '.join(trigger.source)} run {name}",
            event_bus=stack.event_bus,
            event_pattern=events.EventPattern(
                source=list(trigger.source), detail_type=list(trigger.detail_type) or None
            ),
            targets=[_target(function, dead_letters)],
        )
        stack.event_dead_letters()


def _target(function: lambda_.IFunction, dead_letters: sqs.IQueue) -> event_targets.LambdaFunction:
    return event_targets.LambdaFunction(
        function, dead_letter_queue=dead_letters, retry_attempts=2, max_event_age=hours(6)
    )


def _idempotency_table(stack: ComputeStack, name: str) -> dynamodb.TableV2:
    cfg = stack.cfg
    return dynamodb.TableV2(
        stack,
        f"{pascal(name)}Idempotency",
        table_name=cfg.resource_name(f"{name}-idempotency"),
        partition_key=dynamodb.Attribute(name="job_id", type=dynamodb.AttributeType.STRING),
        time_to_live_attribute="expires_at",
        encryption=dynamodb.TableEncryptionV2.customer_managed_key(stack.key),
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        deletion_protection=cfg.termination_protection,
        removal_policy=removal(cfg.removal_policy),
    )
