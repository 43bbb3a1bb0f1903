"""Databases: RDS and Aurora (with sleep schedules), ElastiCache, DynamoDB."""

from __future__ import annotations

import math
import re
from typing import Any

from tools.cost.pricing import HOURS_PER_MONTH, CostError
from tools.cost.sleep import Key, SleepEvent, database_keys
from tools.cost.template import (
    CostLine,
    Ctx,
    NotPriced,
    Resource,
    as_bool,
    as_number,
)
from tools.templates import ref_target, references

_FREE_PI_DAYS = 7  # Performance Insights keeps 7 days free; longer retention is billed
_PI_MONTH_DAYS = 31  # retention is chosen in months of 31 days (31, 62, ... 731)
_SIZE_VCPUS = {"micro": 2, "small": 2, "medium": 2, "large": 2, "xlarge": 4}
# gp3 includes this much IOPS and MiB/s; above 400 GB the included amount is 12,000 / 500.
_GP3_INCLUDED = {"small": (3000, 125), "large": (12000, 500)}
_GP3_LARGE_GB = 400
# What a read replica leaves unset comes from its source instance.
_FROM_SOURCE = ("Engine", "DBInstanceClass", "AllocatedStorage", "StorageType", "Iops")


def engine_family(engine: Any) -> str:
    name = str(engine or "").lower()
    return "aurora-mysql" if name == "aurora" else name


def vcpus_of(instance_class: str) -> int:
    size = instance_class.rsplit(".", 1)[-1]
    if size in _SIZE_VCPUS:
        return _SIZE_VCPUS[size]
    match = re.fullmatch(r"(\d+)xlarge", size)
    if not match:
        raise CostError(f"cannot tell the vCPUs of {instance_class} (for Performance Insights)")
    return 4 * int(match.group(1))


def _sleep_note(events: list[SleepEvent], fraction: float) -> str:
    names = ", ".join(sorted({event.schedule for event in events}))
    return f"runs {fraction:.1%} of the week ({fraction * 168:.1f} h of 168) per {names}"


def _cluster_keys(ctx: Ctx, instance: Resource) -> list[Key]:
    cluster = instance.get("DBClusterIdentifier")
    cluster_id = ref_target(cluster)
    if cluster_id and cluster_id in ctx.stack.resources:
        identifier = ctx.props(cluster_id).get("DBClusterIdentifier")
        return database_keys(ctx.stack, cluster_id, identifier, "cluster")
    return [("cluster", cluster.lower())] if isinstance(cluster, str) else []


def _source(ctx: Ctx, props: Resource) -> Resource:
    """A read replica's source instance in this stack, named by Ref/GetAtt or inside an ARN
    built with Fn::Join or Fn::Sub; {} when there is none."""
    found = references(props.get("SourceDBInstanceIdentifier"))
    kind = "AWS::RDS::DBInstance"
    sources = [i for i in sorted(found) if ctx.stack.resources.get(i, {}).get("Type") == kind]
    return ctx.props(sources[0]) if len(sources) == 1 else {}


def db_instance(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    props = ctx.props(logical_id)
    source = _source(ctx, props)
    props = {**{k: source[k] for k in _FROM_SOURCE if k in source}, **props}
    instance_class = props.get("DBInstanceClass")
    if not isinstance(instance_class, str):
        raise NotPriced("DBInstanceClass is not a literal")
    cluster_id = ref_target(props.get("DBClusterIdentifier"))
    # Aurora instances may leave the engine to their cluster.
    family = engine_family(
        props.get("Engine") or (ctx.props(cluster_id).get("Engine") if cluster_id else None)
    )
    if not family:
        raise NotPriced("no Engine on the instance, its cluster or its source instance")
    aurora = family.startswith("aurora") or "DBClusterIdentifier" in props
    keys = database_keys(ctx.stack, logical_id, props.get("DBInstanceIdentifier"), "instance")
    if aurora:
        keys += _cluster_keys(ctx, props)
    awake = ctx.sleep.awake(keys)
    fraction, note = (awake[0], _sleep_note(awake[1], awake[0])) if awake else (1.0, "")

    if instance_class == "db.serverless":
        floor = (
            ctx.props(cluster_id).get("ServerlessV2ScalingConfiguration", {}) if cluster_id else {}
        )
        acus = max(
            ctx.assume.number("aurora_serverless_avg_acu"), as_number(floor.get("MinCapacity"), 0)
        )
        hours = acus * HOURS_PER_MONTH
        return [
            ctx.line(
                logical_id,
                f"Aurora Serverless v2 ACU-hours ({acus:g} ACU)",
                hours * fraction,
                "ACU-hours",
                "rds.aurora.serverless_v2.acu_hour",
                always_on=hours,
                note=note or "assumes aurora_serverless_avg_acu",
            )
        ]

    copies = 2 if as_bool(props.get("MultiAZ")) and not aurora else 1
    hours = copies * HOURS_PER_MONTH
    standby = " x2 (Multi-AZ)" if copies > 1 else ""
    replica = " read replica" if props.get("SourceDBInstanceIdentifier") else ""
    lines = [
        ctx.line(
            logical_id,
            f"RDS {family} {instance_class}{replica}{standby}",
            hours * fraction,
            "instance-hours",
            f"rds.{family}.{instance_class}.hour",
            always_on=hours,
            note=note,
        )
    ]
    if not aurora:
        lines += _storage(ctx, logical_id, props, family, copies)
    lines += _performance_insights(ctx, logical_id, props, instance_class, copies)
    return lines


def _storage(
    ctx: Ctx, logical_id: str, props: Resource, family: str, copies: int
) -> list[CostLine]:
    storage = str(props.get("StorageType") or ("io1" if "Iops" in props else "gp2")).lower()
    size = as_number(props.get("AllocatedStorage"), -1)
    note = ""
    if size < 0:
        size, note = (
            ctx.assume.number("rds_storage_gb_when_unset"),
            "assumes rds_storage_gb_when_unset",
        )
    both = " (both Multi-AZ copies)" if copies > 1 else ""
    lines = [
        ctx.line(
            logical_id,
            f"{storage} storage{both}",
            size * copies,
            "GB-months",
            f"rds.storage.{storage}.gb_month",
            note=note,
        )
    ]
    iops, throughput = as_number(props.get("Iops"), 0), as_number(props.get("StorageThroughput"), 0)
    if storage == "gp3":
        included_iops, included_mibps = _GP3_INCLUDED["large" if size >= _GP3_LARGE_GB else "small"]
        if iops > included_iops:
            lines.append(
                ctx.line(
                    logical_id,
                    "gp3 IOPS above the included",
                    (iops - included_iops) * copies,
                    "IOPS-months",
                    "rds.storage.gp3.iops_month",
                )
            )
        if throughput > included_mibps:
            lines.append(
                ctx.line(
                    logical_id,
                    "gp3 throughput above the included",
                    (throughput - included_mibps) * copies,
                    "MiBps-months",
                    "rds.storage.gp3.throughput_month",
                )
            )
    elif storage in ("io1", "io2") and iops:
        lines.append(
            ctx.line(
                logical_id,
                f"{storage} provisioned IOPS",
                iops * copies,
                "IOPS-months",
                f"rds.storage.{storage}.iops_month",
            )
        )
    return lines


def _performance_insights(
    ctx: Ctx, logical_id: str, props: Resource, instance_class: str, copies: int
) -> list[CostLine]:
    days = as_number(props.get("PerformanceInsightsRetentionPeriod"), _FREE_PI_DAYS)
    if not as_bool(props.get("EnablePerformanceInsights")) or days <= _FREE_PI_DAYS:
        return []  # off, or the free 7 days
    months = math.ceil(days / _PI_MONTH_DAYS)
    vcpus = vcpus_of(instance_class) * copies
    lines = [
        ctx.line(
            logical_id,
            f"Performance Insights {days:g}-day retention: first month",
            vcpus,
            "vCPU-months",
            "rds.performance_insights.first_month.vcpu_month",
        )
    ]
    if months > 1:
        lines.append(
            ctx.line(
                logical_id,
                f"Performance Insights: {months - 1} further months",
                vcpus * (months - 1),
                "vCPU-months",
                "rds.performance_insights.additional_month.vcpu_month",
            )
        )
    return lines


def db_cluster(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    props = ctx.props(logical_id)
    if not engine_family(props.get("Engine")).startswith("aurora"):
        raise NotPriced("Multi-AZ DB clusters of non-Aurora engines are not modelled")
    # Instances are AWS::RDS::DBInstance resources, priced (and put to sleep) there.
    if props.get("StorageType") == "aurora-iopt1":
        return [
            ctx.usage(
                logical_id,
                "Aurora I/O-Optimized storage",
                "aurora_storage_gb",
                "GB-months",
                "rds.aurora_iopt.storage.gb_month",
                group=False,
            )
        ]
    return [
        ctx.usage(
            logical_id,
            "Aurora storage",
            "aurora_storage_gb",
            "GB-months",
            "rds.aurora.storage.gb_month",
            group=False,
        ),
        ctx.usage(
            logical_id,
            "Aurora I/O requests",
            "aurora_io_millions_per_month",
            "million requests",
            "rds.aurora.io.million",
            group=False,
        ),
    ]


def _node_line(ctx: Ctx, logical_id: str, engine: str, node_type: Any, nodes: float) -> CostLine:
    if not isinstance(node_type, str):
        raise NotPriced("CacheNodeType is not a literal")
    return ctx.line(
        logical_id,
        f"ElastiCache {engine} {node_type} x{nodes:g} node{'s' if nodes != 1 else ''}",
        nodes * HOURS_PER_MONTH,
        "node-hours",
        f"elasticache.{engine}.{node_type}.hour",
    )


def replication_group(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    props = ctx.props(logical_id)
    replicas = as_number(props.get("ReplicasPerNodeGroup"), 0)
    groups = props.get("NodeGroupConfiguration")
    if isinstance(groups, list) and groups:
        nodes = sum(as_number(g.get("ReplicaCount"), replicas) + 1 for g in groups)
    elif "NumCacheClusters" in props:
        nodes = as_number(props["NumCacheClusters"], 1)
    else:
        nodes = as_number(props.get("NumNodeGroups"), 1) * (replicas + 1)
    engine = str(props.get("Engine") or "redis").lower()
    return [_node_line(ctx, logical_id, engine, props.get("CacheNodeType"), nodes)]


def cache_cluster(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    props = ctx.props(logical_id)
    engine = str(props.get("Engine") or "redis").lower()
    nodes = as_number(props.get("NumCacheNodes"), 1)
    return [_node_line(ctx, logical_id, engine, props.get("CacheNodeType"), nodes)]


def dynamodb_table(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    props = ctx.props(logical_id)
    replicas = props.get("Replicas") if resource["Type"] == "AWS::DynamoDB::GlobalTable" else None
    copies = len(replicas) if isinstance(replicas, list) and replicas else 1
    specs = replicas if isinstance(replicas, list) else [props]
    with_pitr = sum(
        1
        for s in specs
        if as_bool(s.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled"))
    )
    if props.get("BillingMode", "PROVISIONED") == "PAY_PER_REQUEST":
        lines = [
            ctx.usage(
                logical_id,
                "DynamoDB on-demand writes (each replica)",
                "dynamodb_write_millions_per_table",
                "million WRU",
                "dynamodb.on_demand.write.million",
                per=copies,
            ),
            ctx.usage(
                logical_id,
                "DynamoDB on-demand reads",
                "dynamodb_read_millions_per_table",
                "million RRU",
                "dynamodb.on_demand.read.million",
            ),
        ]
    elif "ProvisionedThroughput" in props:
        throughput = props["ProvisionedThroughput"]
        lines = [
            ctx.line(
                logical_id,
                "DynamoDB provisioned WCU-hours",
                as_number(throughput.get("WriteCapacityUnits"), 0) * HOURS_PER_MONTH,
                "WCU-hours",
                "dynamodb.provisioned.wcu_hour",
            ),
            ctx.line(
                logical_id,
                "DynamoDB provisioned RCU-hours",
                as_number(throughput.get("ReadCapacityUnits"), 0) * HOURS_PER_MONTH,
                "RCU-hours",
                "dynamodb.provisioned.rcu_hour",
            ),
        ]
    else:
        raise NotPriced("provisioned capacity without a literal ProvisionedThroughput")
    lines.append(
        ctx.usage(
            logical_id,
            "DynamoDB storage",
            "dynamodb_gb_per_table",
            "GB-months",
            "dynamodb.storage.gb_month",
            per=copies,
        )
    )
    if with_pitr:
        lines.append(
            ctx.usage(
                logical_id,
                "DynamoDB point-in-time recovery",
                "dynamodb_gb_per_table",
                "GB-months",
                "dynamodb.pitr.gb_month",
                per=with_pitr,
            )
        )
    return lines
