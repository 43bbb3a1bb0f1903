"""Compute: Fargate services (with schedules and Spot), Lambda, scaling alarms, ECR, CI/CD."""

from __future__ import annotations

import math
import re
from typing import Any

from tools.cost.pricing import HOURS_PER_MONTH
from tools.cost.schedule import Change, Cron, time_weighted
from tools.cost.template import (
    CostLine,
    Ctx,
    Free,
    NotPriced,
    Resource,
    as_number,
    render,
)
from tools.templates import is_custom_resource, ref_target, references

_FARGATE = ("FARGATE", "FARGATE_SPOT")
_FREE_EPHEMERAL_GB = 20
Strategy = list[tuple[str, float, float]]  # (capacity provider, base, weight)


def _vcpus(value: Any) -> float | None:
    """Task CPU: "512" CPU units, or "0.5 vCPU"."""
    text = str(value or "").strip().lower()
    match = re.fullmatch(r"([\d.]+)\s*(vcpu)?", text)
    if not match:
        return None
    return float(match.group(1)) if match.group(2) else float(match.group(1)) / 1024


def _memory_gb(value: Any) -> float | None:
    """Task memory: "1024" MiB, or "1 GB"."""
    text = str(value or "").strip().lower()
    match = re.fullmatch(r"([\d.]+)\s*(gb)?", text)
    if not match:
        return None
    return float(match.group(1)) if match.group(2) else float(match.group(1)) / 1024


def _strategy(ctx: Ctx, service: Resource, task: Resource) -> Strategy:
    def read(entries: Any) -> Strategy:
        return [
            (
                str(e.get("CapacityProvider")),
                as_number(e.get("Base"), 0),
                as_number(e.get("Weight"), 0),
            )
            for e in entries
            if isinstance(e, dict)
        ]

    if service.get("CapacityProviderStrategy"):
        return read(service["CapacityProviderStrategy"])
    if service.get("LaunchType"):
        return [(str(service["LaunchType"]), 0, 1)]
    cluster = ref_target(service.get("Cluster"))
    for logical_id, _ in ctx.of_type("AWS::ECS::ClusterCapacityProviderAssociations"):
        props = ctx.props(logical_id)
        if cluster and ref_target(props.get("Cluster")) == cluster:
            default = read(props.get("DefaultCapacityProviderStrategy", []))
            if default:
                return default
    # No strategy anywhere: ECS launches on EC2 unless the task can only run on Fargate.
    return [("FARGATE" if "FARGATE" in task.get("RequiresCompatibilities", []) else "EC2", 0, 1)]


def split_tasks(tasks: float, strategy: Strategy) -> dict[str, float]:
    """Tasks per capacity provider: the base first, the rest by weight (expected values)."""
    shares = dict.fromkeys((provider for provider, _, _ in strategy), 0.0)
    remaining = tasks
    for provider, base, _ in strategy:
        taken = min(base, remaining)
        shares[provider] += taken
        remaining -= taken
    total_weight = sum(weight for _, _, weight in strategy)
    if remaining > 0:
        for provider, _, weight in strategy:
            share = weight / total_weight if total_weight else 1.0 / len(strategy)
            shares[provider] += remaining * share
    return shares


def _scalable_target(ctx: Ctx, service_id: str) -> Resource | None:
    name = ctx.props(service_id).get("ServiceName")
    for logical_id, _ in ctx.of_type("AWS::ApplicationAutoScaling::ScalableTarget"):
        props = ctx.props(logical_id)
        if props.get("ScalableDimension") != "ecs:service:DesiredCount":
            continue
        resource_id = props.get("ResourceId")
        text = render(resource_id, ctx.stack) or ""
        if service_id in references(resource_id) or (name and text.endswith(f"/{name}")):
            return props
    return None


def task_segments(ctx: Ctx, service_id: str) -> list[tuple[float, float]]:
    """(share of time, running tasks) of a service: its minimum capacity over a steady week."""
    desired = as_number(ctx.props(service_id).get("DesiredCount"), 1)
    target = _scalable_target(ctx, service_id)
    if target is None:
        return [(1.0, desired)]
    initial = {
        "min": as_number(target.get("MinCapacity"), desired),
        "max": as_number(target.get("MaxCapacity"), math.inf),
    }
    changes = []
    for action in target.get("ScheduledActions", []) or []:
        expression = str(action.get("Schedule", ""))
        if not expression.startswith("cron("):
            continue  # at() is one-off and rate() has no fixed phase: neither shapes a week
        scaled = action.get("ScalableTargetAction", {})
        values = {
            short: as_number(scaled[key], 0)
            for short, key in (("min", "MinCapacity"), ("max", "MaxCapacity"))
            if key in scaled
        }
        changes.append(Change(Cron.parse(expression), action.get("Timezone"), values))
    segments = time_weighted(changes, initial)
    return [(s.fraction, min(s.state["min"], s.state["max"])) for s in segments]


def ecs_service(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    props = ctx.props(logical_id)
    task_id = ref_target(props.get("TaskDefinition"))
    if task_id not in ctx.stack.resources:
        raise NotPriced("its task definition is not in this stack")
    task = ctx.props(task_id)
    strategy = _strategy(ctx, props, task)
    if any(provider not in _FARGATE for provider, _, _ in strategy):
        raise NotPriced("EC2 or external capacity is not modelled (only Fargate)")
    vcpus, memory = _vcpus(task.get("Cpu")), _memory_gb(task.get("Memory"))
    if vcpus is None or memory is None:
        raise NotPriced("the task definition sets no task-level Cpu and Memory")
    platform = task.get("RuntimePlatform", {})
    if str(platform.get("OperatingSystemFamily", "LINUX")) != "LINUX":
        raise NotPriced("Windows Fargate tasks are not modelled")
    arch = str(platform.get("CpuArchitecture", "X86_64")).lower()

    segments = task_segments(ctx, logical_id)
    peak = max(tasks for _, tasks in segments)
    if peak <= 0:
        raise Free("the service runs no task")
    average = sum(share * tasks for share, tasks in segments)
    hours = {provider: 0.0 for provider, _, _ in strategy}
    for share, tasks in segments:
        for provider, count in split_tasks(tasks, strategy).items():
            hours[provider] += share * count * HOURS_PER_MONTH
    peak_hours = {p: n * HOURS_PER_MONTH for p, n in split_tasks(peak, strategy).items()}
    note = f"{average:.3g} tasks on average, {peak:g} at peak" if len(segments) > 1 else ""
    size = f"{vcpus:g} vCPU / {memory:g} GB"

    lines = []
    for provider, provider_hours in hours.items():
        if not peak_hours[provider]:
            continue
        prefix = "fargate" if provider == "FARGATE" else "fargate_spot"
        for dimension, per_task, unit in (
            ("vcpu", vcpus, "vCPU-hours"),
            ("gb", memory, "GB-hours"),
        ):
            lines.append(
                ctx.line(
                    logical_id,
                    f"{provider} {arch} {unit} ({size} a task)",
                    provider_hours * per_task,
                    unit,
                    f"{prefix}.linux.{arch}.{dimension}_hour",
                    always_on=peak_hours[provider] * per_task,
                    note=note,
                )
            )
    extra_gb = as_number(task.get("EphemeralStorage", {}).get("SizeInGiB"), 0) - _FREE_EPHEMERAL_GB
    if extra_gb > 0:
        lines.append(
            ctx.line(
                logical_id,
                f"ephemeral storage over 20 GB ({extra_gb:g} GB a task)",
                average * HOURS_PER_MONTH * extra_gb,
                "GB-hours",
                "fargate.ephemeral_storage.gb_hour",
                always_on=peak * HOURS_PER_MONTH * extra_gb,
            )
        )
    return lines


def ecs_cluster(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    settings = {
        s.get("Name"): s.get("Value") for s in ctx.props(logical_id).get("ClusterSettings", [])
    }
    mode = settings.get("containerInsights", "disabled")
    if mode == "disabled":
        raise Free("the cluster is free without Container Insights")
    services = sum(
        1
        for service_id, _ in ctx.of_type("AWS::ECS::Service")
        if ref_target(ctx.props(service_id).get("Cluster")) == logical_id
    )
    per_service = (
        "container_insights_enhanced_metrics_per_service"
        if mode == "enhanced"
        else "container_insights_metrics_per_service"
    )
    return [
        ctx.usage(
            logical_id,
            f"Container Insights ({mode}) metrics",
            per_service,
            "metrics",
            "cloudwatch.metric.month",
            per=max(services, 1),
            group=False,
        )
    ]


def _deploy_time_functions(ctx: Ctx) -> set[str]:
    """Functions behind custom resources: they run when the stack deploys, not with traffic."""
    handlers: set[str] = set()
    for resource in ctx.stack.resources.values():
        if is_custom_resource(str(resource.get("Type", ""))):
            handlers |= references(resource.get("Properties", {}).get("ServiceToken"))
    # A provider framework's handler calls the user function it names in its environment.
    for handler in list(handlers):
        handlers |= references(ctx.props(handler).get("Environment", {}))
    return handlers


def lambda_function(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    props = ctx.props(logical_id)
    memory_gb = as_number(props.get("MemorySize"), 128) / 1024
    arch = "arm64" if "arm64" in props.get("Architectures", []) else "x86_64"
    deploy_time = logical_id in ctx.once(_deploy_time_functions)
    invocations_key = (
        "lambda_custom_resource_invocations_per_month"
        if deploy_time
        else "lambda_invocations_per_month"
    )
    invocations = ctx.assume.number(invocations_key)
    seconds = ctx.assume.number("lambda_avg_duration_ms") / 1000
    kind = "custom resource handler" if deploy_time else "function"
    note = f"assumes {invocations_key}, lambda_avg_duration_ms"
    return [
        ctx.line(
            logical_id,
            f"Lambda requests ({kind})",
            invocations / 1e6,
            "million requests",
            "lambda.request.million",
            group=True,
            note=note,
        ),
        ctx.line(
            logical_id,
            f"Lambda compute ({kind}, {arch})",
            invocations * seconds * memory_gb,
            "GB-seconds",
            f"lambda.{arch}.gb_second",
            group=True,
            note=note,
        ),
    ]


def scaling_policy(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    if ctx.props(logical_id).get("PolicyType") != "TargetTrackingScaling":
        raise Free("step scaling uses alarms that are priced as resources of their own")
    # Target tracking creates and owns two CloudWatch alarms (scale out, scale in).
    return [
        ctx.line(
            logical_id,
            "target-tracking alarms (2 a policy)",
            2,
            "alarm metrics",
            "cloudwatch.alarm.standard.metric_month",
            group=True,
        )
    ]


def ecr_repository(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    return [
        ctx.usage(
            logical_id,
            "ECR image storage",
            "ecr_gb_per_repository",
            "GB-months",
            "ecr.storage.gb_month",
        )
    ]


def codebuild_project(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    environment = ctx.props(logical_id).get("Environment", {})
    kind = str(environment.get("Type", "LINUX_CONTAINER")).lower()
    compute = str(environment.get("ComputeType", "BUILD_GENERAL1_SMALL")).lower()
    return [
        ctx.usage(
            logical_id,
            f"CodeBuild minutes ({kind}, {compute})",
            "codebuild_build_minutes_per_project",
            "build minutes",
            f"codebuild.{kind}.{compute}.minute",
        )
    ]


def codepipeline(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    if ctx.props(logical_id).get("PipelineType", "V1") == "V2":
        return [
            ctx.usage(
                logical_id,
                "CodePipeline V2 action minutes",
                "codepipeline_action_minutes_per_pipeline",
                "action minutes",
                "codepipeline.v2.action_minute",
            )
        ]
    return [
        ctx.line(
            logical_id,
            "CodePipeline V1 pipeline",
            1,
            "pipelines",
            "codepipeline.v1.pipeline_month",
            group=True,
        )
    ]
