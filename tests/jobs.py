"""Every configuration the suite synthesizes, once per session (see tests/synth.py).

- each profile, all stages, exactly as `cdk synth -c profile=<name>` (offline placeholders);
- a release: every service of every default stage with an image tag, deploy settings on, as
  the README's release command runs it;
- the pipeline on;
- a matrix of stage shapes the profiles do not use, each option on and off at least once;
- a product unlike any profile (five freely named services, three functions, an extra bucket);
- a canary that adds a wildcard statement to every role, to prove each one is caught.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.synth import Job

if TYPE_CHECKING:
    from infra.config import StageConfig

PROFILES = ("default", "workshop", "fleet", "commerce", "meeting")
ACCOUNTS = {"dev": "222222222222", "staging": "333333333333", "prod": "444444444444"}
DEPLOYABLE: dict[str, Any] = {
    "require_accounts": "true",
    **{f"{stage}.account": account for stage, account in ACCOUNTS.items()},
    "prod.domain.hosted_zone_id": "Z0123456789ABCDEFGHIJ",
    "prod.domain.zone_name": "acme.io",
    "staging.domain.hosted_zone_id": "Z0123456789ABCDEFGHIK",
    "staging.domain.zone_name": "staging.acme.io",
    "prod.observability.alerts.critical.emails": "oncall@acme.io",
}
PIPELINE: dict[str, Any] = {
    **DEPLOYABLE,
    "pipeline": "true",
    "pipeline.account": "111111111111",
    "pipeline.connection_arn": (
        "arn:aws:codeconnections:ap-northeast-2:111111111111:connection/"
        "12345678-1234-1234-1234-123456789012"
    ),
    "pipeline.repository": "acme/webplat",
    "pipeline.notification_emails": "releases@acme.io",
    # Path metadata as `cdk synth` writes it: cfn-lint recognises CDK Pipelines' templates by it.
    "aws:cdk:enable-path-metadata": True,
}
RELEASE: dict[str, Any] = {
    **DEPLOYABLE,
    **{
        f"{stage}.{service}.image_tag": f"1.4.{index}"
        for stage in ACCOUNTS
        for index, service in enumerate(("web", "api", "ws"))
    },
}

JOBS = [
    *(Job(name, {"profile": name}) for name in PROFILES),
    Job("release", RELEASE),
    Job("pipeline", PIPELINE),
    Job("matrix", build="matrix"),
    Job("product", build="product"),
    Job("wildcards", build="wildcards"),
]


# -- builders (run in the worker processes) -------------------------------------------------------


def _default(stage: str) -> Any:
    from infra.config import build_stage, load_profile  # noqa: PLC0415

    return build_stage(load_profile("default"), stage)[0]


DOMAIN = {"zone_name": "example.com", "hosted_zone_id": "Z0123456789ABCDEFGHIJ"}
MATRIX: dict[str, tuple[str, dict[str, Any]]] = {
    # Aurora MySQL with a reader, sharded Redis, WebSockets on a TLS NLB, X-Ray sidecars.
    "mxa": (
        "staging",
        {
            "data.database": {
                "engine": "aurora-mysql",
                "engine_version": "8.0.mysql_aurora.3.09.0",
                "instance_class": "db.r6g.large",
                "readers": 1,
            },
            "data.cache": {"engine": "redis", "engine_version": "7.1", "shards": 2},
            "domain": {**DOMAIN, "cdn_hosts": ["app", "api"]},
            "network.load_balancer_ingress_cidrs": ["0.0.0.0/0"],
            "services.ws": {
                "expose": "nlb",
                "hosts": ["ws"],
                "paths": [],
                "sticky_sessions": False,
            },
            "compute.xray_sidecar": True,
            "jobs": {},
        },
    ),
    # PostgreSQL with a read replica, an API directly on the ALB with a regional WAF,
    # no scheduled jobs, no chat.
    "mxb": (
        "dev",
        {
            "data.database.read_replica": True,
            "domain": {**DOMAIN, "cdn_hosts": ["app"]},
            "network.load_balancer_ingress_cidrs": ["0.0.0.0/0"],
            "services.api": {"expose": "alb", "hosts": ["api"], "paths": ["/*"]},
            "edge.waf.large_body_paths": ["/uploads"],
            "observability.alerts.chat": False,
            "sleep": None,
        },
    ),
    # Aurora PostgreSQL, Valkey, DR with replication and copies, locked vault, no CloudTrail.
    "mxc": (
        "prod",
        {
            "data.database": {
                "engine": "aurora-postgresql",
                "engine_version": "16.9",
                "instance_class": "db.r6g.large",
                "readers": 2,
            },
            "observability.audit.cloudtrail": False,
            "observability.audit.config_recorder": False,
            "domain": DOMAIN,
        },
    ),
    # RDS for MySQL Multi-AZ, DR copies without bucket replication, many scheduled jobs.
    "mxd": (
        "prod",
        {
            "data.database": {"engine": "mysql", "engine_version": "8.0.43"},
            "buckets.uploads.replicate_to_dr": False,
            "data.backup": {"copy_to_dr": True, "vault_lock": False},
            "jobs": {
                "hourly-sync": {
                    "expression": "rate(1 hour)",
                    "function": "job-worker",
                    "message": {"job_type": "daily-report"},
                },
                "weekly-report": {
                    "expression": "cron(0 1 ? * MON *)",
                    "function": "job-worker",
                    "message": {"job_type": "daily-report"},
                },
            },
            "domain": DOMAIN,
        },
    ),
    # Staging without DR at all or a domain, a single-AZ cache allowed by its guarantees,
    # ECS Exec on.
    "mxe": (
        "staging",
        {
            "guarantees.encrypted_origin": False,
            "domain": None,
            "edge.waf.large_body_paths": [],
            "data.cache": {"multi_az": False, "replicas_per_shard": 0},
            "compute.exec_enabled": True,
            "observability.audit.trail_object_lock": False,
        },
    ),
}


def matrix_configs() -> list[StageConfig]:
    """The matrix stages: each the default profile's stage `base`, then its changes."""
    from infra.config import derive  # noqa: PLC0415

    return [
        derive(_default(base), name=name, **changes) for name, (base, changes) in MATRIX.items()
    ]


def matrix(app: Any) -> None:
    from infra.platform import build_platform  # noqa: PLC0415

    build_platform(app, {}, configs=matrix_configs())


PRODUCT_PROFILE: dict[str, Any] = {
    "project": "atlas",
    "services": {
        "storefront": {"port": 3000, "paths": ["/*"], "priority": 49000},  # after every derived one
        "backend": {
            "port": 8080,
            "paths": ["/api/*"],
            "health_check_path": "/api/health",
            "image_tag": "2.3.1",  # a release: it gets its secrets and credentials
            "cdn_cache": "disabled",
            "uses": {
                "database": True,
                "cache": True,
                "buckets": {"documents": "read-write"},
                "queues": ["indexer"],
                "events": True,
                "services": ["search"],
                "secrets": ["JWT_SECRET", "SEARCH_API_KEY"],
            },
        },
        "admin": {"port": 8081, "expose": "alb", "hosts": ["admin"], "paths": ["/*"]},
        "search": {
            "port": 9200,
            "expose": "internal",
            "image_tag": "8.15.0",
            "uses": {"secrets": ["SEARCH_API_KEY"]},
        },
        "live": {"port": 9300, "expose": "nlb", "hosts": ["live"], "uses": {"cache": True}},
    },
    "functions": {
        "indexer": {
            "code": "job_worker",
            "trigger": {"type": "queue", "batch_size": 5},
            "timeout_seconds": 60,
            "idempotency_table": True,
            "uses": {"database": True, "buckets": {"documents": "read"}},
        },
        "thumbnails": {
            "code": "image_processor",
            "trigger": {"type": "bucket", "bucket": "documents", "prefix": "images/"},
            "vpc": False,
            "uses": {"buckets": {"documents": "read-write"}},
        },
        "notify": {
            "code": "order_notification",
            "trigger": {"type": "event", "source": ["atlas.orders"]},
            "vpc": False,
        },
    },
    "buckets": {
        "documents": {
            "transitions": [{"storage_class": "GLACIER", "after_days": 30}],
            "expire_after_days": 90,
        }
    },
    "secrets": {
        "JWT_SECRET": {"kind": "generated", "rotation": "rotated by the team with key ids"},
        "SEARCH_API_KEY": {
            "kind": "provided",
            "rotation": "issued by the search vendor: paste the new key, then revoke the old",
        },
    },
    "network": {"load_balancer_ingress_cidrs": ["0.0.0.0/0"]},
    "observability": {"alerts": {"chat": True}},
    "domain": {**DOMAIN, "cdn_hosts": ["shop"]},
    "stages": {"stage": {"preset": "staging"}},
}


def product_profile() -> Any:
    from infra.config.loader import Profile  # noqa: PLC0415

    shared = {k: v for k, v in PRODUCT_PROFILE.items() if k != "stages"}
    return Profile("atlas", "a product unlike the profiles", (), shared, PRODUCT_PROFILE["stages"])


def product_config() -> StageConfig:
    """The product's one stage, as `build_stage` builds it from PRODUCT_PROFILE."""
    from infra.config import build_stage  # noqa: PLC0415

    (cfg, _) = build_stage(product_profile(), "stage")
    return cfg


def product(app: Any) -> None:
    from infra.platform import build_platform  # noqa: PLC0415

    build_platform(app, {}, configs=[product_config()])


def wildcards(app: Any) -> None:
    """Dev and prod of the default profile (prod has the roles only production needs:
    replication, Config, the DR stack), plus `secretsmanager:GetSecretValue` on `*` in every
    role's own policy. The roles are written to wildcards.json for the test to check each one."""
    from aws_cdk import Stack  # noqa: PLC0415
    from aws_cdk import aws_iam as iam  # noqa: PLC0415

    from infra.platform import build_platform  # noqa: PLC0415

    stages = build_platform(app, {}, configs=[_default("dev"), _default("prod")])
    injected = []
    for stack in (s for stage in stages for s in stage.stacks.values()):
        for role in stack.node.find_all():
            if not isinstance(role, iam.Role) or Stack.of(role) is not stack:
                continue
            role.add_to_principal_policy(
                iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=["*"])
            )
            injected.append(role.node.path)
    Path(app.outdir).mkdir(parents=True, exist_ok=True)
    (Path(app.outdir) / "wildcards.json").write_text(json.dumps(sorted(injected)))
