"""Rules that span sections or stages: sleep, restore testing, recovery targets, names the
platform keeps for itself, stages sharing an account."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import ConfigError, StageConfig, build_stage, derive, load_profile, load_stages
from infra.config.compute import SleepConfig

DEFAULT = load_profile("default")


def stage(name: str = "dev", **changes: Any) -> StageConfig:
    cfg, _ = build_stage(DEFAULT, name)
    return derive(cfg, **changes) if changes else cfg


def refused(**changes: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        stage("dev", **changes)
    return "\n".join(caught.value.problems)


@pytest.mark.parametrize(
    ("wake", "lead", "database_wake"),
    [
        ("0 8 * * MON-FRI", 20, "40 7 * * MON-FRI"),
        ("30 9 * * *", 30, "0 9 * * *"),
        ("15 0 * * MON-FRI", 15, "0 0 * * MON-FRI"),
    ],
)
def test_the_database_wakes_its_lead_before_the_services(
    wake: str, lead: int, database_wake: str
) -> None:
    sleep = SleepConfig(wake=wake, database_lead_minutes=lead)
    assert sleep.problems() == []
    assert sleep.database_wake_cron() == database_wake


def test_an_explicit_database_wake_wins() -> None:
    sleep = SleepConfig(wake="0 8 * * *", database_wake="0 6 * * MON")
    assert sleep.database_wake_cron() == "0 6 * * MON"


@pytest.mark.parametrize(
    ("sleep", "message"),
    [
        ({"wake": "0 8,12 * * *"}, "database_wake: cannot derive it from wake '0 8,12 * * *'"),
        ({"wake": "10 0 * * *"}, 'before midnight); set it, e.g. database_wake = "40 7'),
        ({"database_lead_minutes": 500}, "database_lead_minutes: 500 must be 0-120"),
        ({"database_wake": "soon"}, "database_wake: 'soon' is not a 5-field cron"),
    ],
)
def test_a_sleep_schedule_that_cannot_work_is_refused(sleep: dict[str, Any], message: str) -> None:
    assert message in refused(sleep={**stage().sleep.model_dump(), **sleep})  # type: ignore[union-attr]


def test_a_derivation_problem_does_not_matter_when_the_database_stays_up() -> None:
    assert SleepConfig(wake="0 8,12 * * *", stop_database=False).problems() == []


def test_a_database_with_a_read_replica_cannot_sleep() -> None:
    assert "sleep.stop_database: RDS cannot stop an instance that has a read replica" in refused(
        **{"data.database.read_replica": True}
    )


def test_prod_never_sleeps() -> None:
    with pytest.raises(ConfigError, match=r"prod.sleep: must be unset \(the stage never sleeps\)"):
        stage("prod", sleep={})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"data.backup.restore_test_schedule": "weekly"}, "restore_test_schedule: 'weekly' is"),
        ({"data.backup.restore_validation_hours": 0}, "restore_validation_hours: 0 must be 1-168"),
    ],
)
def test_restore_testing_settings_are_checked(changes: dict[str, Any], message: str) -> None:
    assert message in refused(**changes)


def test_restore_tests_run_in_staging_and_prod_by_preset() -> None:
    tested = {cfg.name: cfg.data.backup.restore_testing for cfg in load_stages({}, {}).stages}
    assert tested == {"dev": False, "staging": True, "prod": True}


@pytest.mark.parametrize("name", ["database", "cache", "alb", "restore-test", "fn-worker"])
def test_a_service_cannot_take_a_platform_security_group_name(name: str) -> None:
    web = stage().services["web"]
    message = refused(services={**stage().services, name: web.model_copy(update={"port": 9999})})
    assert f"services.{name}: the name is taken by a platform security group" in message


def test_the_platform_groups_named_in_config_are_the_ones_the_network_builds() -> None:
    from infra.config.network import FUNCTION_GROUP_PREFIX, PLATFORM_GROUPS  # noqa: PLC0415
    from infra.stacks.network import platform_tiers  # noqa: PLC0415

    for cfg in load_stages({"profile": "meeting"}, {}).stages:
        platform = set(platform_tiers(cfg)) - set(cfg.services)
        assert {t for t in platform if not t.startswith(FUNCTION_GROUP_PREFIX)} <= PLATFORM_GROUPS


def test_a_recovery_target_tighter_than_the_backups_deliver_warns() -> None:
    cfg = stage("staging", recovery={"rpo_minutes": 1, "rto_minutes": 30})
    assert any("recovery.rpo_minutes: 1 is tighter than the 5 minutes" in w for w in cfg.warnings())
    assert not any("rpo" in w for w in stage("staging", recovery={"rpo_minutes": 5}).warnings())


def test_what_the_backups_deliver_is_stated_per_stage() -> None:
    prod = stage("prod").recovery_delivered()
    assert prod["in_region_rpo"] == "5 min (point-in-time restore, 14 days back)"
    assert prod["region_loss"] == (
        "database: last daily copy in ap-northeast-1 (up to 24 h); "
        "uploads: replicated to ap-northeast-1 (minutes)"
    )
    assert prod["restores"].startswith("tested (0 4 * * SAT")
    assert stage("dev").recovery_delivered()["region_loss"] == (
        "not covered (nothing outside ap-northeast-2)"
    )


def test_an_older_runtime_warns_with_the_deprecation_table() -> None:
    (cfg,) = load_stages({"profile": "meeting", "stages": "dev"}, {}).stages
    (warning,) = [w for w in cfg.warnings() if "runtime" in w]
    assert "dev.functions.post-meeting.runtime: python3.11 is older than python3.14" in warning
    assert "lambda-runtimes.html" in warning


def test_stages_sharing_an_account_cannot_both_claim_account_wide_resources() -> None:
    shared = {"dev.account": "111111111111", "staging.account": "111111111111"}
    with pytest.raises(ConfigError) as caught:
        load_stages({"profile": "fleet", **shared}, {})
    assert caught.value.problems[0] == (
        "dev.services.backend.repository, staging.services.backend.repository: these stages "
        "share account 111111111111 in ap-northeast-2 and each claims the ECR repository "
        "'backend'; use an account per stage, or e.g. "
        "-c staging.services.backend.repository=backend-staging"
    )
    audit = {"staging.account": "111111111111", "prod.account": "111111111111"}
    with pytest.raises(ConfigError, match="each claims the guardduty"):
        load_stages({**audit, "staging.observability.audit.guardduty": "true"}, {})
    # Separate accounts, or the offline placeholders, claim nothing twice.
    assert load_stages({"profile": "fleet", "dev.account": "111111111111"}, {}).stages


@pytest.mark.parametrize("name", ["App", "1app", "app-db", "a" * 64])
def test_the_database_name_is_one_every_engine_keeps_as_written(name: str) -> None:
    assert f"data.database.database_name: {name!r} must be 1-63 lowercase" in refused(
        **{"data.database.database_name": name}
    )


def test_an_empty_table_clears_a_collection() -> None:
    assert stage("prod").jobs  # the default profile schedules its daily report
    assert stage("prod", jobs={}).jobs == {}
    (cfg,) = load_stages({"stages": "prod", "prod.jobs": "{}"}, {}).stages
    assert cfg.jobs == {}


def test_a_path_shadowed_by_an_earlier_broader_rule_is_refused() -> None:
    services = stage().services
    shadowing = services["web"].model_copy(update={"priority": 5})  # "/*" before "/api/*"
    message = refused(services={**services, "web": shadowing})
    assert "services.api.paths: '/api/*' is never reached: web's '/*' (ALB priority 5)" in message
    assert "services.ws.paths: '/ws/*' is never reached" in message


def test_the_pipeline_checks_the_database_end_to_end_where_routing_allows() -> None:
    cfg = stage("prod")
    assert cfg.end_to_end_health_path() == "/api/health"
    assert cfg.routed_to("/api/health") == "api"
    assert cfg.routed_to("/index.html") == "web"
    api = cfg.services["api"].model_copy(update={"health_check_path": "/health"})
    moved = stage("prod", services={**cfg.services, "api": api})  # ws's is "/health" too
    assert moved.end_to_end_health_path() == "/health"  # web's: neither is routed to its own
    (warning,) = [w for w in moved.warnings() if "health_check_path" in w]
    assert warning.startswith("prod.services.api.health_check_path: '/health' reaches web")


def test_a_placeholder_pager_url_is_refused_for_a_deploy() -> None:
    context = {
        "profile": "workshop",
        "stages": "prod",
        "require_accounts": "true",
        "prod.account": "444444444444",
        "prod.domain.hosted_zone_id": "Z0123456789ABCDEFGHIJ",
    }
    with pytest.raises(ConfigError) as caught:
        load_stages(context, {})
    (problem,) = [p for p in caught.value.problems if p.startswith("prod.observability.alerts")]
    assert "https://events.pagerduty.com/integration/PLACEHOLDER/enqueue cannot receive" in problem


# The default dev sleeps 20:00-08:00 on weekdays and all weekend (database: up at 07:40).
READS_DATABASE = {"functions.job-worker.uses.database": True}


@pytest.mark.parametrize(
    ("expression", "fires"),
    [
        ("cron(0 0 * * ? *)", "Mon 00:00"),  # every night
        ("cron(30 21 ? * TUE *)", "Tue 21:30"),  # after the stop
        ("cron(0 10 ? * SAT *)", "Sat 10:00"),  # awake hours, but the weekend sleeps
        ("cron(30 7 ? * MON-FRI *)", "Mon 07:30"),  # before the database's own wake
    ],
)
def test_a_job_that_reads_the_database_may_not_run_while_it_sleeps(
    expression: str, fires: str
) -> None:
    message = refused(**READS_DATABASE, **{"jobs.daily-report.expression": expression})
    assert f"dev.jobs.daily-report.expression: {expression} fires at {fires} Asia/Seoul" in message
    assert "while the database sleeps from '0 20 * * MON-FRI' to '40 7 * * MON-FRI'" in message


@pytest.mark.parametrize(
    "changes",
    [
        {"jobs.daily-report.expression": "cron(0 10 ? * MON-FRI *)"},  # awake hours
        {"jobs.daily-report.expression": "cron(45 7 ? * MON-FRI *)"},  # just after its wake
        {"jobs.daily-report.expression": "rate(1 hour)", "sleep.stop_database": False},
        {
            "functions.job-worker.uses.database": False,
            "jobs.daily-report.expression": "rate(1 hour)",
        },
    ],
)
def test_work_in_awake_hours_or_without_the_database_is_fine(changes: dict[str, Any]) -> None:
    stage("dev", **{**READS_DATABASE, **changes})


def test_a_rate_schedule_would_also_fire_while_the_database_sleeps() -> None:
    message = refused(**READS_DATABASE, **{"jobs.daily-report.expression": "rate(6 hours)"})
    assert "dev.jobs.daily-report.expression: rate(6 hours) also fires while" in message


def test_a_scheduled_function_in_its_own_time_zone_is_checked_in_the_stage_zone() -> None:
    """03:00 UTC is 12:00 in Seoul: awake. 13:00 UTC is 22:00 in Seoul: asleep."""
    schedule = {"type": "schedule", "time_zone": "UTC"}
    base = {"vpc": True, "uses": {"database": True}, "code": "job_worker"}
    awake = {**base, "trigger": {**schedule, "expression": "cron(0 3 ? * MON-FRI *)"}}
    asleep = {**base, "trigger": {**schedule, "expression": "cron(0 13 ? * MON-FRI *)"}}
    stage("dev", **{"functions.reporter": awake})
    message = refused(**{"functions.reporter": asleep})
    assert "dev.functions.reporter.trigger: cron(0 13 ? * MON-FRI *) fires at Mon 22:00" in message
