"""Storage and messaging: S3 buckets, AWS Backup vaults, SQS queues, SNS topics."""

from __future__ import annotations

from typing import Any

from tools.cost.template import CostLine, Ctx, Resource, as_bool, references


def s3_bucket(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    lines = [
        ctx.usage(
            logical_id,
            "S3 Standard storage",
            "s3_gb_per_bucket",
            "GB-months",
            "s3.standard.gb_month",
        )
    ]
    if "ReplicationConfiguration" in ctx.props(logical_id):
        lines.append(
            ctx.usage(
                logical_id,
                "S3 replication transfer to another region",
                "s3_replicated_gb_per_month",
                "GB",
                "ec2.data_transfer.inter_region.gb",
            )
        )
    return lines


def backup_vault(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    return [
        ctx.usage(
            logical_id,
            "AWS Backup warm storage",
            "backup_storage_gb_per_vault",
            "GB-months",
            "backup.warm.gb_month",
        )
    ]


def _dead_letter_queues(ctx: Ctx) -> set[str]:
    """Queues that other resources name as their dead-letter target."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in ("deadLetterTargetArn", "DeadLetterConfig"):
                    found.update(references(item))
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(ctx.stack.resources)
    return found


def sqs_queue(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    fifo = as_bool(ctx.props(logical_id).get("FifoQueue"))
    key = "sqs.fifo.million" if fifo else "sqs.standard.million"
    if logical_id in _dead_letter_queues(ctx):
        return [
            ctx.usage(
                logical_id,
                "SQS requests (dead-letter queues)",
                "sqs_dlq_requests_millions_per_queue",
                "million requests",
                key,
            )
        ]
    return [
        ctx.usage(
            logical_id, "SQS requests", "sqs_requests_millions_per_queue", "million requests", key
        )
    ]


def sns_topic(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    return [
        ctx.usage(
            logical_id,
            "SNS publishes",
            "sns_publishes_millions_per_topic",
            "million requests",
            "sns.publish.million",
        )
    ]
