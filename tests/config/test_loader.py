"""Profiles, presets and overrides: every key typed against the config types, nothing ignored."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import ConfigError, load_profile, load_stages
from infra.config.loader import profile_names

PROFILES = ("commerce", "default", "fleet", "meeting", "workshop")


def load(context: dict[str, Any] | None = None, environ: dict[str, str] | None = None) -> Any:
    return load_stages(context or {}, environ or {})


def problems(context: dict[str, Any] | None = None, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load(context, environ)
    return "\n".join(caught.value.problems)


def test_every_profile_file_is_offered() -> None:
    assert profile_names() == sorted(PROFILES)


@pytest.mark.parametrize("name", PROFILES)
def test_every_profile_loads_with_its_three_stages(name: str) -> None:
    loaded = load({"profile": name})
    assert [cfg.name for cfg in loaded.stages] == ["dev", "staging", "prod"]
    assert {cfg.profile for cfg in loaded.stages} == {name}
    assert load_profile(name).description


def test_unknown_profile_lists_the_valid_ones() -> None:
    assert problems({"profile": "shop"}) == (
        "profile: unknown profile 'shop'; valid: commerce, default, fleet, meeting, workshop "
        "(each is a file in infra/profiles/)"
    )


def test_profile_from_the_environment() -> None:
    (cfg,) = load({"stages": "prod"}, {"PLATFORM_PROFILE": "fleet"}).stages
    assert (cfg.project, cfg.services["backend"].repository) == ("fleet", "backend")


def test_layers_apply_preset_then_profile_then_stage() -> None:
    dev, _, prod = load({"profile": "workshop"}).stages
    assert dev.data.database.instance_class == "db.t4g.micro"  # preset dev
    assert prod.data.database.instance_class == "db.t3.large"  # the plan, in [stages.prod]
    assert dev.services["api"].min_tasks == 1  # preset dev's service defaults
    assert prod.services["api"].min_tasks == 2


def test_dotted_overrides_reach_every_field_with_types() -> None:
    context = {
        "stages": "prod",
        "prod.data.database.instance_class": "db.r7g.large",
        "prod.services.api.max_tasks": "12",
        "prod.network.interface_endpoints": "ecr.api,ecr.dkr",
        "prod.data.database.parameters": '{"max_connections": "400"}',
        "prod.observability.alarms.db_cpu_percent.warning": "75.5",
    }
    (cfg,) = load(context).stages
    assert cfg.data.database.instance_class == "db.r7g.large"
    assert cfg.services["api"].max_tasks == 12
    assert cfg.network.interface_endpoints == ("ecr.api", "ecr.dkr")
    assert cfg.data.database.parameters == {"max_connections": "400"}
    assert cfg.observability.alarms.db_cpu_percent.warning == 75.5


def test_image_release_by_service_shorthand_and_environment() -> None:
    context = {"stages": "Prod", "prod.api.image_tag": "1.4.2"}
    environ = {"PLATFORM_PROD_WS_IMAGE_TAG": "1.4.1", "PLATFORM_PROD_API_IMAGE_TAG": "0.9"}
    (cfg,) = load(context, environ).stages
    # Context wins over the environment: it is what was typed for this run.
    assert cfg.services["api"].image_tag == "1.4.2"
    assert cfg.services["ws"].image_tag == "1.4.1"


def test_environment_paths_with_underscored_fields() -> None:
    environ = {
        "PLATFORM_DEV_NETWORK_NAT_GATEWAYS": "2",
        "PLATFORM_DEV_DATA_DATABASE_BACKUP_RETENTION_DAYS": "3",
        "PLATFORM_DEV_FUNCTIONS_JOB_WORKER_MEMORY_MIB": "512",
        "PLATFORM_DEV_ACCOUNT": "123456789012",
    }
    (cfg,) = load({"stages": "dev"}, environ).stages
    assert cfg.network.nat_gateways == 2
    assert cfg.data.database.backup_retention_days == 3
    assert cfg.functions["job-worker"].memory_mib == 512
    assert cfg.account == "123456789012"


def test_null_switches_an_optional_section_off() -> None:
    (cfg,) = load({"stages": "dev", "dev.sleep": "null"}).stages
    assert cfg.sleep is None


@pytest.mark.parametrize(
    ("context", "environ", "message"),
    [
        ({"prod.acount": "1"}, {}, "prod.acount: unknown key; did you mean 'account'?"),
        (
            {"dev.nat_gateways": "2"},
            {},
            "dev.nat_gateways: unknown key; did you mean 'network.nat_gateways'?",
        ),
        ({"dev.servics.web.cpu": "1"}, {}, "dev.servics: unknown key; did you mean 'services'?"),
        ({"prfile": "fleet"}, {}, "prfile: unknown context key; did you mean 'profile'?"),
        (
            {},
            {"PLATFORM_DEV_ACOUNT": "1"},
            "PLATFORM_DEV_ACOUNT: unknown setting; did you mean PLATFORM_DEV_ACCOUNT?",
        ),
        ({}, {"PLATFORM_QA_ACCOUNT": "1"}, "PLATFORM_QA_ACCOUNT: unknown setting"),
        (
            {"require_accounts": "ture"},
            {},
            "require_accounts: 'ture' is not a boolean; use true or false",
        ),
        (
            {"dev.data.database.multi_az": "maybe"},
            {},
            "dev.data.database.multi_az: 'maybe' is invalid",
        ),
        (
            {"stages": "qa"},
            {},
            "stages: unknown stage(s) 'qa' in profile default; valid: dev, staging, prod",
        ),
        (
            {"prod.services.admin.cpu": "256"},
            {},
            "prod.services.admin: not declared by the product",
        ),
        (
            {"prod.api.image_tag": "-bad"},
            {},
            "prod.services.api.image_tag: '-bad' is not a valid ECR tag",
        ),
        ({"dev.data": "db"}, {}, "dev.data: 'db' is a whole section; give JSON"),
        ({"pipeline.acount": "1"}, {}, "pipeline.acount: unknown key"),
    ],
)
def test_nothing_typed_is_silently_ignored(
    context: dict[str, Any], environ: dict[str, str], message: str
) -> None:
    assert message in problems(context, environ)


def test_stage_layers_cannot_add_or_drop_a_service() -> None:
    profile = load_profile("default")
    # Every stage gets every declared service: a stage layer only changes fields.
    for cfg in load().stages:
        assert set(cfg.services) == set(profile.shared["services"])


@pytest.mark.parametrize(
    ("setting", "keeps"),
    [
        # Defaults of the platform: the section itself was never written by a layer.
        ("prod.observability.alarms.db_cpu_percent.periods=3", "db_cpu_percent"),
        # Written by the profile: its other fields stay as the profile wrote them.
        ("prod.observability.alarms.alb_5xx_count.periods=5", "alb_5xx_count"),
        ("prod.observability.alarms.service_cpu_percent.critical=95", "service_cpu_percent"),
    ],
)
def test_a_dotted_setting_changes_one_field_and_keeps_its_siblings(
    setting: str, keeps: str
) -> None:
    key, value = setting.split("=")
    (before,) = load({"profile": "workshop", "stages": "prod"}).stages
    (after,) = load({"profile": "workshop", "stages": "prod", key: value}).stages
    field = key.rsplit(".", 1)[1]
    old, new = (
        getattr(before.observability.alarms, keeps),
        getattr(after.observability.alarms, keeps),
    )
    assert getattr(new, field) == float(value)
    assert new.model_dump(exclude={field}) == old.model_dump(exclude={field})
    assert new.levels()  # the alarm is still there


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("prod.functions", "prod.functions: an empty table would drop every declared entry"),
        ("prod.buckets.uploads", "prod.buckets.uploads: an empty table would reset it"),
    ],
)
def test_an_empty_table_never_drops_or_resets_what_is_declared(key: str, message: str) -> None:
    assert message in problems({"profile": "commerce", "stages": "prod", key: "{}"})


def test_sources_say_where_each_value_came_from() -> None:
    loaded = load(
        {"stages": "prod", "prod.services.api.max_tasks": "12"},
        {"PLATFORM_PROD_NETWORK_NAT_GATEWAYS": "2"},
    )
    sources = loaded.sources["prod"]
    assert sources[("services", "api", "max_tasks")] == "context"
    assert sources[("network", "nat_gateways")] == "environment PLATFORM_PROD_NETWORK_NAT_GATEWAYS"
    assert sources[("network", "vpc_cidr")] == "profile default [stages.prod]"
    assert sources[("data", "database", "instance_class")] == "preset prod"
    assert sources[("services", "web", "port")] == "profile default"


def test_documented_floors_warn() -> None:
    loaded = load({"profile": "workshop", "stages": "prod"})
    assert loaded.warnings == [
        "prod.data.database.backup_retention_days: 7 is below the recommended 14 for this "
        "stage; point-in-time recovery reaches back 7 days only"
    ]


def test_an_entry_that_is_not_a_table_is_a_problem_not_a_crash() -> None:
    message = problems({"stages": "dev", "dev.services": '{"web": 3}'})
    assert message.startswith("dev.services.web")
