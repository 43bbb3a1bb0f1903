"""Service scaling: target tracking on CPU, memory and requests; scheduled capacity in the
stage's time zone (office hours in Seoul); sleeping stages scale to zero off-hours."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import STAGES
from tests.stacks import profile_stages
from tests.synth import Synthesized, Template, resources
from tests.templates import one

CONFIGS = {cfg.construct_id: cfg for cfg in profile_stages("default")}
SERVICES = ("web", "api", "ws")


def scalable_target(template: Template, service: str) -> dict[str, Any]:
    return one(template, "AWS::ApplicationAutoScaling::ScalableTarget", f"Service{service}")


def scheduled(template: Template, service: str) -> dict[str, dict[str, Any]]:
    target = scalable_target(template, service)["Properties"]
    return {a["ScheduledActionName"]: a for a in target.get("ScheduledActions", [])}


def aws_cron(five_fields: str) -> str:
    """A five-field cron (minute hour day-of-month month day-of-week) as Application Auto
    Scaling writes it: six fields, `?` for the day of month when a weekday is given."""
    minute, hour, day, month, weekday = five_fields.split()
    if weekday != "*":
        day = "?"
    return f"cron({minute} {hour} {day} {month} {weekday} *)"


def test_aws_cron_conversion() -> None:
    assert aws_cron("0 9 * * MON-FRI") == "cron(0 9 ? * MON-FRI *)"
    assert aws_cron("30 2 1 * *") == "cron(30 2 1 * * *)"


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("service", SERVICES)
def test_target_tracking_scaling(platform: Synthesized, stage: str, service: str) -> None:
    spec = CONFIGS[stage].services[service]
    template = platform.template(stage, "compute")
    (target_id,) = [
        lid
        for lid in resources(template, "AWS::ApplicationAutoScaling::ScalableTarget")
        if lid.startswith(f"Service{service}")
    ]
    target = template["Resources"][target_id]["Properties"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (spec.min_tasks, spec.max_tasks)
    assert target["ScalableDimension"] == "ecs:service:DesiredCount"
    policies = [
        p["Properties"]
        for p in resources(template, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
        if p["Properties"]["ScalingTargetId"] == {"Ref": target_id}
    ]
    assert {p["PolicyType"] for p in policies} == {"TargetTrackingScaling"}
    configs = [p["TargetTrackingScalingPolicyConfiguration"] for p in policies]
    targets = {
        c["PredefinedMetricSpecification"]["PredefinedMetricType"]: c["TargetValue"]
        for c in configs
    }
    assert targets == {
        "ECSServiceAverageCPUUtilization": spec.cpu_target_percent,
        "ECSServiceAverageMemoryUtilization": spec.memory_target_percent,
        "ALBRequestCountPerTarget": spec.requests_per_target,
    }
    assert targets["ECSServiceAverageCPUUtilization"] == 70  # the plan: scale at 70 % CPU
    for config in configs:
        assert (config["ScaleOutCooldown"], config["ScaleInCooldown"]) == (
            spec.scale_out_cooldown_seconds,
            spec.scale_in_cooldown_seconds,
        )
        assert (config["ScaleOutCooldown"], config["ScaleInCooldown"]) == (60, 300)


def test_prod_api_scales_up_for_office_hours_in_seoul(platform: Synthesized) -> None:
    actions = scheduled(platform.template("Prod", "compute"), "api")
    assert set(actions) == {"office-hours", "after-hours"}
    office, after = actions["office-hours"], actions["after-hours"]
    assert office["Schedule"] == "cron(0 9 ? * MON-FRI *)"
    assert after["Schedule"] == "cron(0 18 ? * MON-FRI *)"
    assert office["Timezone"] == after["Timezone"] == "Asia/Seoul"
    assert office["ScalableTargetAction"] == {"MinCapacity": 4, "MaxCapacity": 10}
    assert after["ScalableTargetAction"] == {"MinCapacity": 2, "MaxCapacity": 10}


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("service", SERVICES)
def test_scheduled_capacity_follows_config(platform: Synthesized, stage: str, service: str) -> None:
    cfg = CONFIGS[stage]
    actions = scheduled(platform.template(stage, "compute"), service)
    declared = cfg.services[service].scheduled_capacity
    for name, capacity in declared.items():
        assert actions[name] == {
            "ScheduledActionName": name,
            "Schedule": aws_cron(capacity.cron),
            "Timezone": cfg.time_zone,
            "ScalableTargetAction": {
                "MinCapacity": capacity.min_tasks,
                "MaxCapacity": capacity.max_tasks,
            },
        }
    sleeping = {"OffHoursStop", "OffHoursStart"} if cfg.sleep is not None else set()
    assert set(actions) == set(declared) | sleeping


@pytest.mark.parametrize("stage", STAGES)
def test_off_hours_scale_only_sleeping_stages_to_zero(platform: Synthesized, stage: str) -> None:
    cfg = CONFIGS[stage]
    assert (cfg.sleep is not None) is (stage == "Dev")  # prod never sleeps; staging stays up
    for service in SERVICES:
        names = set(scheduled(platform.template(stage, "compute"), service))
        assert ("OffHoursStop" in names) is (cfg.sleep is not None), service


@pytest.mark.parametrize("service", SERVICES)
def test_dev_sleeps_outside_office_hours(platform: Synthesized, service: str) -> None:
    spec = CONFIGS["Dev"].services[service]
    actions = scheduled(platform.template("Dev", "compute"), service)
    stop, start = actions["OffHoursStop"], actions["OffHoursStart"]
    assert stop["ScalableTargetAction"] == {"MaxCapacity": 0, "MinCapacity": 0}
    assert stop["Schedule"] == "cron(0 20 ? * MON-FRI *)"
    assert start["Schedule"] == "cron(0 8 ? * MON-FRI *)"
    assert stop["Timezone"] == start["Timezone"] == "Asia/Seoul"
    # Waking restores the configured bounds, not zero.
    assert start["ScalableTargetAction"] == {
        "MinCapacity": spec.min_tasks,
        "MaxCapacity": spec.max_tasks,
    }
