"""Storage and messaging: S3 buckets, AWS Backup vaults and restore tests, SQS queues, SNS
topics."""

from __future__ import annotations

import re
from typing import Any

from tools.cost.assembly import Stack
from tools.cost.pricing import CostError
from tools.cost.resources.database import engine_family
from tools.cost.schedule import runs_per_month
from tools.cost.template import (
    CostLine,
    Ctx,
    NotPriced,
    Resource,
    as_bool,
    as_number,
    render,
)
from tools.templates import ref_target, references

_PLAN = "AWS::Backup::RestoreTestingPlan"
_DB_INSTANCE = "AWS::RDS::DBInstance"
_DB_CLUSTER = "AWS::RDS::DBCluster"
# Restore tests of these types restore a cluster: RDS cluster restores create no DB instance.
_CLUSTER_TYPES = ("Aurora", "DocumentDB", "Neptune")
_RDS_ARN = re.compile(r":rds:[^:]*:[^:]*:(db|cluster):([^:{}]+)$")


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


def _restore_testing_plan(ctx: Ctx, props: Resource) -> tuple[Stack, Resource, str]:
    """The selection's plan (by Ref/GetAtt in this stack, else by name anywhere in the stage)."""
    value = props.get("RestoreTestingPlanName")
    target = ref_target(value)
    if target and ctx.stack.resources.get(target, {}).get("Type") == _PLAN:
        plan = ctx.props(target)
        return ctx.stack, plan, render(plan.get("RestoreTestingPlanName"), ctx.stack) or target
    name = render(value, ctx.stack)
    for stack, _, resource in ctx.stage_resources(_PLAN):
        plan = resource.get("Properties", {})
        if name and render(plan.get("RestoreTestingPlanName"), stack) == name:
            return stack, plan, name
    raise NotPriced(f"restore testing plan {name!r} is not in this stage: its schedule is unknown")


def _protected_database(ctx: Ctx, arns: Any) -> tuple[Stack, str, Resource] | None:
    """The first RDS instance or cluster of the stage a selection names (by Ref in an ARN built
    with Fn::Join/Fn::Sub, or by a literal ARN); None for wildcards, conditions, or unknowns."""
    for arn in arns if isinstance(arns, list) else []:
        for target in sorted(references(arn)):
            kind = ctx.stack.resources.get(target, {}).get("Type")
            if kind in (_DB_INSTANCE, _DB_CLUSTER):
                return ctx.stack, target, ctx.stack.resources[target]
        match = _RDS_ARN.search(render(arn, ctx.stack) or "")
        if not match:
            continue
        kind, field = (
            (_DB_INSTANCE, "DBInstanceIdentifier")
            if match.group(1) == "db"
            else (_DB_CLUSTER, "DBClusterIdentifier")
        )
        for stack, logical_id, resource in ctx.stage_resources(kind):
            named = render(resource.get("Properties", {}).get(field), stack)
            if named and named.lower() == match.group(2).lower():
                return stack, logical_id, resource
    return None


def _override(props: Resource, key: str) -> str | None:
    """A literal RestoreMetadataOverrides value (its keys are not case sensitive)."""
    overrides = props.get("RestoreMetadataOverrides")
    for name, value in overrides.items() if isinstance(overrides, dict) else []:
        if str(name).lower() == key.lower() and isinstance(value, str):
            return value
    return None


def _restored_instance(
    ctx: Ctx, props: Resource, database: tuple[Stack, str, Resource] | None
) -> tuple[str, str, str]:
    """(engine family, instance class, where it comes from) of the instance a test restores."""
    if database is not None:
        stack, logical_id, resource = database
        db = resource.get("Properties", {})
        cluster = stack.resources.get(ref_target(db.get("DBClusterIdentifier")) or "", {})
        family = engine_family(db.get("Engine") or cluster.get("Properties", {}).get("Engine"))
        instance_class = _override(props, "dbInstanceClass") or db.get("DBInstanceClass")
        if family and isinstance(instance_class, str):
            return family, instance_class, f"restores {stack.name}/{logical_id}"
    text = ctx.assume.text("restore_test_db_when_unresolved")
    family, _, instance_class = text.strip().partition(" ")
    if not instance_class.strip():
        raise CostError(f"restore_test_db_when_unresolved {text!r}: expected 'engine class'")
    return family, instance_class.strip(), "assumes restore_test_db_when_unresolved"


def restore_testing_selection(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    """Each run of the plan starts one restore job for this selection; an RDS instance restore
    runs (single-AZ, as restore testing infers) for the selection's validation window."""
    props = ctx.props(logical_id)
    plan_stack, plan, plan_name = _restore_testing_plan(ctx, props)
    expression = render(plan.get("ScheduleExpression"), plan_stack)
    if not expression:
        raise NotPriced(f"the ScheduleExpression of restore testing plan {plan_name} is unknown")
    runs = runs_per_month(expression)
    kind = str(props.get("ProtectedResourceType", "?"))
    # AWS documents no default: unset, the restored copy is deleted once the restore completes.
    hours = as_number(props.get("ValidationWindowHours"), 0)
    arns = props.get("ProtectedResourceArns")
    database = _protected_database(ctx, arns) if kind in ("RDS", *_CLUSTER_TYPES) else None
    restores_cluster = database is not None and database[2].get("Type") == _DB_CLUSTER
    cluster = kind in _CLUSTER_TYPES or restores_cluster
    if cluster:
        restored = "an RDS cluster restore creates no DB instance, so no instance-hours"
    elif kind == "RDS" and "ValidationWindowHours" not in props:
        restored = "no ValidationWindowHours: the restored instance is deleted once restored"
    elif kind == "RDS":
        restored = f"the restored instance is kept {hours:g} h (ValidationWindowHours)"
    else:
        restored = f"the restored {kind} copy's own charges are not priced"
    lines = [
        ctx.line(
            logical_id,
            f"AWS Backup restore test jobs ({kind})",
            runs,
            "jobs",
            "backup.restore_testing.job",
            group=True,
            note=f"plan {plan_name} {expression}: {runs:.4g} runs a month, one job a run, "
            + restored,
        )
    ]
    if kind == "RDS" and not cluster and hours > 0:
        family, instance_class, source = _restored_instance(ctx, props, database)
        lines.append(
            ctx.line(
                logical_id,
                f"restore-test RDS {family} {instance_class} ({hours:g} h a run)",
                runs * hours,
                "instance-hours",
                f"rds.{family}.{instance_class}.hour",
                note=f"{source}, single-AZ (the restore's own duration and the copy's "
                "storage are not priced)",
            )
        )
    return lines


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
    if logical_id in ctx.once(_dead_letter_queues):
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
