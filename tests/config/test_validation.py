"""Bad input is refused before any construct is built, one message per problem naming the
field, the value and a valid choice."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import ConfigError, StageConfig, build_stage, derive, load_profile, load_stages

DEFAULT = load_profile("default")


def stage(name: str = "dev", **changes: Any) -> StageConfig:
    cfg, _ = build_stage(DEFAULT, name)
    return derive(cfg, **changes) if changes else cfg


BAD = [
    # network
    ({"network.vpc_cidr": "10.0.0.0/33"}, "dev.network.vpc_cidr: '10.0.0.0/33' is not an IPv4"),
    ({"network.vpc_cidr": "10.0.0.1/16"}, "write it like 10.0.0.0/16, with the host bits zero"),
    ({"network.vpc_cidr": "10.0.0.0/8"}, "dev.network.vpc_cidr: /8 is outside the /16-/28 range"),
    ({"network.vpc_cidr": "8.8.0.0/16"}, "dev.network.vpc_cidr: 8.8.0.0/16 is not a private"),
    (
        {"network.vpc_cidr": "10.0.0.0/22"},
        "dev.network.private.cidr_mask: /20 must be between the VPC's /22 and /28",
    ),
    (
        {
            "network.vpc_cidr": "10.0.0.0/24",
            "network.public.cidr_mask": 26,
            "network.private.cidr_mask": 26,
            "network.isolated.cidr_mask": 26,
        },
        "dev.network.isolated.cidr_mask: vpc_cidr 10.0.0.0/24 has no free /26 left for "
        "ap-northeast-2a; three tiers x 2 AZs do not fit",
    ),
    (
        {
            "network.vpc_cidr": "10.0.0.0/16",
            "network.public.cidrs": ["10.0.1.0/24", "10.0.2.0/24"],
            "network.private.cidrs": ["10.0.2.0/24", "10.0.12.0/24"],
        },
        "dev.network.private.cidrs: 10.0.2.0/24 (ap-northeast-2a) overlaps 10.0.2.0/24 (public",
    ),
    (
        {"network.public.cidrs": ["10.99.1.0/24", "10.10.2.0/24"]},
        "dev.network.public.cidrs[0]: 10.99.1.0/24 lies outside vpc_cidr 10.10.0.0/16",
    ),
    ({"network.public.cidrs": ["10.10.1.0/24"]}, "1 CIDR(s) for 2 AZs; give exactly one per"),
    (
        {"network.availability_zones": ["ap-northeast-2a", "ap-northeast-1c"]},
        "dev.network.availability_zones: 'ap-northeast-1c' is not in region ap-northeast-2",
    ),
    ({"network.availability_zones": ["ap-northeast-2a"]}, "has 1 AZ(s); at least 2 are needed"),
    (
        {"network.availability_zones": ["ap-northeast-2a", "ap-northeast-2a"]},
        "dev.network.availability_zones: ['ap-northeast-2a', 'ap-northeast-2a'] lists an AZ twice",
    ),
    (
        {"network.nat_gateways": 3},
        "dev.network.nat_gateways: 3 must be between 1 (private subnets need a route out) and "
        "the number of AZs (2)",
    ),
    ({"network.nat_gateways": 0}, "dev.network.nat_gateways: 0 must be between 1 (private"),
    ({"network.interface_endpoints": ["secretmanager"]}, "unknown 'secretmanager'"),
    ({"network.gateway_endpoints": ["ec2"]}, "unknown 'ec2'; valid: dynamodb, s3"),
    ({"network.flow_log_retention_days": 0}, "flow_log_retention_days: 0 is not a CloudWatch"),
    ({"network.load_balancer_ingress_cidrs": ["0.0.0.0/-1"]}, "[0]: '0.0.0.0/-1' is not an IPv4"),
    # identity
    ({"region": "ap-northeast-9"}, "dev.region: unknown region 'ap-northeast-9'"),
    (
        {"region": "af-south-1", "network.availability_zones": ["af-south-1a", "af-south-1b"]},
        "dev.compute.cloudfront_prefix_list_id: no CloudFront origin-facing prefix list is known "
        "for af-south-1",
    ),
    ({"account": "1234"}, "dev.account: '1234' is not a 12-digit AWS account id"),
    (
        {"require_account": True},
        "dev.account: no account set for deployment (only the offline placeholder); set it with "
        "`-c dev.account=123456789012` or PLATFORM_DEV_ACCOUNT",
    ),
    ({"project": "Web_Plat"}, "dev.project: 'Web_Plat' must be 2-20 lowercase letters"),
    ({"log_retention_days": 10}, "dev.log_retention_days: 10 is not a CloudWatch Logs retention"),
    ({"time_zone": "Asia/Busan"}, "dev.time_zone: 'Asia/Busan'; use an IANA name"),
    # services
    ({"services.api.port": 5432}, "dev.services.api.port: 5432 is also the database's port"),
    ({"services.api.port": 3000}, "dev.services.api.port: 3000 is used by another service"),
    ({"services.web.port": 70000}, "dev.services.web.port: 70000 is outside 1-65535"),
    ({"services.api.cpu": 333}, "dev.services.api.cpu: 333 is not a Fargate size"),
    ({"services.api.memory_mib": 512}, "Fargate refuses 512 CPU with 512 MiB; use 1024-4096"),
    ({"services.api.min_tasks": 5}, "dev.services.api.min_tasks/max_tasks: 5 > 2; min must be"),
    (
        {
            "services.api.scheduled_capacity": {
                "peak": {"cron": "0 9 * * MON-FRI", "min_tasks": 5, "max_tasks": 2}
            }
        },
        "dev.services.api.scheduled_capacity.peak: min_tasks 5 > max_tasks 2",
    ),
    ({"services.ws.expose": "apigateway"}, "dev.services.ws.expose: 'apigateway' is invalid"),
    ({"services.api.paths": ["/*"]}, "'/*' is already routed to web"),
    ({"services.api.paths": ["api/*"]}, "'api/*' must start with / and use only URL"),
    ({"services.api.priority": 30}, "dev.services.api.priority: 30 is also web's ALB rule"),
    ({"services.api.image_tag": "-1.0"}, "'-1.0' is not a valid ECR tag"),
    ({"services.api.repository": "Backend"}, "'Backend' is not an ECR repository name"),
    ({"services.api.expose": "alb", "services.api.hosts": ["api"]}, "dev.domain: services "),
    ({"services.api.expose": "nlb", "services.api.paths": []}, "needs its host label"),
    (
        {"services.ws.expose": "nlb", "services.ws.hosts": ["ws"], "services.ws.paths": []},
        "dev.domain: services exposed on the ALB or an NLB are reached at <host>.<zone> over TLS",
    ),
    (
        {
            "services.ws.expose": "nlb",
            "services.ws.hosts": ["ws"],
            "services.ws.paths": [],
            "domain": {"zone_name": "example.com", "hosted_zone_id": "Z0123456789ABCDEFGHIJ"},
        },
        "dev.network.load_balancer_ingress_cidrs: services exposed on the ALB or an NLB are "
        "reached by clients directly; list who may connect",
    ),
    (
        {"network.load_balancer_ingress_cidrs": ["0.0.0.0/0"]},
        "dev.network.load_balancer_ingress_cidrs: no service is exposed on the ALB or an NLB",
    ),
    (
        {"domain": {"zone_name": "example.com", "hosted_zone_id": ""}},
        "dev.domain.hosted_zone_id: '' is not a Route 53 hosted zone id (Z...)",
    ),
    (
        {
            "services.ws.scheduled_capacity": {
                "x": {"cron": "9 * *", "min_tasks": 1, "max_tasks": 1}
            }
        },
        "cron: '9 * *' does not parse",
    ),
    ({"services.api.uses.buckets": {"photos": "read"}}, "'photos' is not a declared bucket"),
    ({"services.api.uses.queues": ["mailer"]}, "'mailer' is not a function with a queue"),
    ({"services.api.uses.secrets": ["API_KEY"]}, "'API_KEY' is not a declared secret"),
    ({"services.api.uses.services": ["api"]}, "'api' is not another declared service"),
    ({"services.api.min_healthy_percent": 100, "services.api.max_percent": 100}, "100/100"),
    # functions and jobs
    ({"functions.job-worker.timeout_seconds": 1000}, "timeout_seconds: 1000 must be 1-900"),
    (
        {"functions.job-worker.trigger.visibility_timeout_seconds": 100},
        "trigger.visibility_timeout_seconds: 100 must exceed timeout_seconds (180)",
    ),
    ({"functions.job-worker.code": "missing_folder"}, "no handler.py in lambda_src/missing_folder"),
    ({"functions.job-worker.packages": ["nonexistent_pkg"]}, "'nonexistent_pkg' is not installed"),
    (
        {"functions.job-worker.vpc": False, "functions.job-worker.uses.database": True},
        "functions.job-worker.vpc: a function that uses the database or cache must run in the VPC",
    ),
    ({"functions.job-worker.reserved_concurrency": 950}, "reserved_concurrency adds up to 950"),
    ({"jobs.daily-report.expression": "cron(0 0 * *)"}, "'cron(0 0 * *)' does not parse"),
    ({"jobs.daily-report.function": "web"}, "jobs.daily-report.function: 'web' is not a function"),
    # data
    ({"data.database.instance_class": "t4g.medium"}, "'t4g.medium' is not an instance class"),
    ({"data.database.instance_class": "db.c5.large"}, "db.c5.large is not offered for postgres"),
    ({"data.database.engine_version": "12.1"}, "'12.1' (major 12) is not supported for postgres"),
    ({"data.database.backup_retention_days": 0}, "backup_retention_days: 0 must be 1-35"),
    (
        {"data.database.maintenance_window": "sun:18:30-sun:19:30"},
        "maintenance_window: sun:18:30-sun:19:30 overlaps backup_window 18:00-19:00",
    ),
    ({"data.database.readers": 1}, "readers: 1 readers need an Aurora engine"),
    (
        {
            "data.database.engine": "aurora-postgresql",
            "data.database.instance_class": "db.t4g.medium",
            "data.database.read_replica": True,
        },
        "dev.data.database.read_replica: Aurora has readers instead; set readers=1",
    ),
    (
        {
            "data.database.engine": "aurora-postgresql",
            "data.database.instance_class": "db.r6g.large",
            "data.database.multi_az": True,
        },
        "dev.data.database.multi_az: Aurora fails over to a reader; set readers >= 1",
    ),
    (
        {"data.database.allocated_storage_gib": 100, "data.database.max_allocated_storage_gib": 50},
        "dev.data.database.max_allocated_storage_gib: 50 is below allocated_storage_gib (100)",
    ),
    ({"data.database.backup_window": "3am"}, "backup_window: '3am' is not hh:mm-hh:mm (UTC)"),
    (
        {"data.database.performance_insights_retention_days": 30},
        "performance_insights_retention_days: 30; use 7, a multiple of 31",
    ),
    ({"data.cache.node_type": "t4g.micro"}, "'t4g.micro' is not a node type such as cache.t4g"),
    ({"data.cache.engine": "memcached"}, "dev.data.cache.engine: 'memcached' is invalid"),
    ({"data.backup.daily_retention_days": 0}, "daily_retention_days: 0 keeps nothing"),
    (
        {
            "buckets.uploads.transitions": [
                {"storage_class": "STANDARD_IA", "after_days": 60},
                {"storage_class": "GLACIER", "after_days": 45},
            ]
        },
        "dev.buckets.uploads.transitions: [60, 45] must be in increasing order of days",
    ),
    (
        {
            "buckets.uploads.noncurrent_transitions": [
                {"storage_class": "GLACIER", "after_days": 90}
            ],
            "buckets.uploads.noncurrent_expire_days": 60,
        },
        "noncurrent_expire_days: 60 must be later than the last transition (90 days)",
    ),
    ({"data.cache.engine_version": "6.0"}, "engine_version: '6.0'; valkey offers"),
    ({"data.cache.multi_az": True}, "multi_az: automatic failover needs replicas_per_shard >= 1"),
    (
        {"buckets.uploads.transitions": [{"storage_class": "STANDARD_IA", "after_days": 10}]},
        "after 30 days at the earliest",
    ),
    (
        {"buckets.uploads.expire_after_days": 60},
        "expire_after_days: 60 must be later than the last transition (90 days)",
    ),
    (
        {"buckets.uploads.replicate_to_dr": True},
        "buckets.uploads.replicate_to_dr: set data.dr_region",
    ),
    ({"data.dr_region": "ap-northeast-2", "data.backup.copy_to_dr": True}, "is the stage region"),
    ({"secrets.JWT_SECRET.rotation": ""}, "rotation: say how this secret is rotated"),
    (
        {"data.backup.vault_lock": True, "data.backup.lock_min_retention_days": 30},
        "lock_min_retention_days: 30 must be 1-7",
    ),
    # edge and observability
    ({"edge.waf.rate_limit": 5}, "dev.edge.waf.rate_limit: 5 must be 10-2000000000"),
    ({"edge.waf.rate_window_seconds": 90}, "rate_window_seconds: 90; AWS WAF evaluates over"),
    ({"edge.waf.geo_allow": ["KOR"]}, "'KOR' is not an ISO 3166 alpha-2 country code"),
    (
        {"edge.waf.geo_allow": ["KR"], "edge.waf.geo_block": ["CN"]},
        "dev.edge.waf.geo_allow/geo_block: use one",
    ),
    ({"edge.price_class": "PriceClass_300"}, "dev.edge.price_class: 'PriceClass_300' is invalid"),
    ({"edge.static_path": "static"}, "dev.edge.static_path: 'static'; use a prefix like /static/*"),
    (
        {"observability.alerts.page.emails": ["oncall@example.com"]},
        "dev.observability.alerts.page: unknown key; valid keys: critical, warning, info",
    ),
    ({"observability.budget.emails": ["finance@"]}, "'finance@' is not an e-mail address"),
    (
        {"observability.alarms.db_connections.warning": -1},
        "db_connections.warning: -1.0 is out of range; use a value >= 0",
    ),
    ({"observability.alerts.critical.emails": ["ops"]}, "'ops' is not an e-mail address"),
    ({"observability.alarms.service_cpu_percent.warning": 120}, "warning: 120.0 is out of range"),
    (
        {"observability.alarms.latency_p95_seconds": {"warning": 2, "critical": 1}},
        "latency_p95_seconds: warning 2.0 must come before critical 1.0",
    ),
    ({"observability.budget.monthly_usd": 0}, "monthly_usd: 0 must be above 0"),
    ({"observability.audit.trail_retention_days": 30}, "keep audit logs at least 90 days"),
    ({"sleep.wake": "8 * * MON-FRI"}, "dev.sleep.wake: '8 * * MON-FRI' is not a 5-field cron"),
]


@pytest.mark.parametrize(("changes", "message"), BAD, ids=lambda v: str(v)[:60])
def test_bad_config_is_refused_with_field_value_and_fix(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        stage(**changes)
    assert any(message in problem for problem in caught.value.problems), caught.value.problems


PROD_REFUSES = [
    ({"data.database.multi_az": False}, "prod.data.database.multi_az: must be true in this stage"),
    (
        {"data.cache.multi_az": False, "data.cache.replicas_per_shard": 0},
        "prod.data.cache.multi_az",
    ),
    ({"data.database.deletion_protection": False}, "deletion_protection: must be true"),
    ({"data.database.removal_policy": "destroy"}, "removal_policy: must be snapshot or retain"),
    ({"compute.exec_enabled": True}, "prod.compute.exec_enabled: must be false"),
    ({"sleep": {}}, "prod.sleep: must be unset (the stage never sleeps)"),
    ({"observability.alerts.critical.emails": []}, "needs at least one recipient"),
    ({"domain": None}, "prod.domain: is required: viewers get TLSv1.2_2021 only with"),
    ({"compute.load_balancer_deletion_protection": False}, "load_balancer_deletion_protection"),
]


PROD_BAD = [
    ({"data.dr_region": "ap-northeast-9"}, "prod.data.dr_region: unknown region 'ap-northeast-9'"),
    (
        {"services.api.min_tasks": 12},
        "prod.services.api.min_tasks/max_tasks: 12 > 10; min must be <= max",
    ),
]


@pytest.mark.parametrize(("changes", "message"), PROD_BAD, ids=lambda v: str(v)[:50])
def test_bad_prod_config_is_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        stage("prod", **changes)
    assert any(message in p for p in caught.value.problems), caught.value.problems


@pytest.mark.parametrize(("changes", "message"), PROD_REFUSES, ids=lambda v: str(v)[:50])
def test_prod_guarantees_are_values_not_name_checks(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        stage("prod", **changes)
    assert any(message in p for p in caught.value.problems), caught.value.problems
    # The same configuration passes once the guarantee is lifted (a value on the stage).
    lifted = {
        field: False
        for field in type(stage("prod").guarantees).model_fields
        if field != "backup_floor_days"
    }
    stage("prod", **changes, guarantees=lifted)


def test_a_backup_floor_warns_and_does_not_refuse() -> None:
    cfg = stage("prod", **{"data.database.backup_retention_days": 7})
    assert cfg.warnings() == [
        "prod.data.database.backup_retention_days: 7 is below the recommended 14 for this "
        "stage; point-in-time recovery reaches back 7 days only"
    ]


def test_placeholders_are_refused_when_deploying() -> None:
    with pytest.raises(ConfigError) as caught:
        stage("prod", require_account=True, account="123456789012")
    text = "\n".join(caught.value.problems)
    assert "prod.domain.hosted_zone_id: the offline placeholder cannot be deployed" in text
    assert "oncall@example.com cannot receive alerts (a placeholder)" in text


def test_all_problems_are_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        stage(account="x", region="mars-1", log_retention_days=2)
    fields = [p.split(":")[0] for p in caught.value.problems]
    assert fields[:3] == ["dev.account", "dev.region", "dev.log_retention_days"]
    assert "dev.network.availability_zones" in fields  # the pinned AZs no longer match


def test_problems_survive_a_process_boundary() -> None:
    import pickle  # noqa: PLC0415

    err = ConfigError("a: b", "c: d")
    assert pickle.loads(pickle.dumps(err)).problems == ("a: b", "c: d")


def test_requiring_accounts_rejects_the_placeholder_for_every_selected_stage() -> None:
    with pytest.raises(ConfigError) as caught:
        load_stages({"stages": "staging"}, {"PLATFORM_REQUIRE_ACCOUNTS": "1"})
    assert caught.value.problems == (
        "staging.account: no account set for deployment (only the offline placeholder); set it "
        "with `-c staging.account=123456789012` or PLATFORM_STAGING_ACCOUNT",
        "staging.domain.hosted_zone_id: the offline placeholder cannot be deployed; set "
        "-c staging.domain.zone_name=example.com "
        "-c staging.domain.hosted_zone_id=Z0123456789ABCDEFGHIJ",
    )


def test_region_override_without_matching_azs_is_rejected() -> None:
    with pytest.raises(ConfigError) as caught:
        load_stages({"stages": "dev", "dev.region": "eu-west-1"}, {})
    assert [p.split(";")[0] for p in caught.value.problems] == [
        "dev.network.availability_zones: 'ap-northeast-2a' is not in region eu-west-1",
        "dev.network.availability_zones: 'ap-northeast-2c' is not in region eu-west-1",
    ]


def test_a_stage_name_must_be_usable_in_every_resource_name() -> None:
    """Stage names are free per profile, within what stack, bucket and log names accept."""
    from infra.config.loader import Profile  # noqa: PLC0415

    profile = Profile("default", "", (), DEFAULT.shared, {"Prod_1": {"preset": "dev"}})
    with pytest.raises(ConfigError) as caught:
        build_stage(profile, "Prod_1")
    assert caught.value.problems == (
        "Prod_1.name: 'Prod_1' must be 2-12 lowercase letters or digits",
    )
