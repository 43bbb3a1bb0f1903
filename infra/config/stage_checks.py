"""A stage's checks that span sections, besides the services' (stage_routing.py): its identity
(names, account, region, placeholders), functions and jobs, references between declared names,
data and disaster recovery, the preset's guarantees; and stages sharing one account."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

from infra.config import aws
from infra.config.data import NAME
from infra.config.functions import LAMBDA_SRC, AlertsTrigger, BucketTrigger, Severity
from infra.config.network import retention_problem
from infra.config.secrets import SecretKind, secret_name_problems

if TYPE_CHECKING:
    from infra.config.stage import StageConfig

_PROJECT = re.compile(r"^[a-z][a-z0-9-]{1,19}$")
_STAGE = re.compile(r"^[a-z][a-z0-9]{1,11}$")


def identity_problems(cfg: StageConfig) -> list[str]:
    problems = []
    if not _STAGE.match(cfg.name):
        problems.append(f"name: {cfg.name!r} must be 2-12 lowercase letters or digits")
    if not _PROJECT.match(cfg.project):
        problems.append(
            f"project: {cfg.project!r} must be 2-20 lowercase letters, digits or hyphens, "
            "starting with a letter (it prefixes stack, bucket and log-group names)"
        )
    if not aws.ACCOUNT_ID.match(cfg.account):
        problems.append(f"account: {cfg.account!r} is not a 12-digit AWS account id")
    elif cfg.require_account and cfg.account == aws.PLACEHOLDER_ACCOUNT:
        problems.append(
            "account: no account set for deployment (only the offline placeholder); set it "
            f"with `-c {cfg.name}.account=123456789012` or "
            f"PLATFORM_{cfg.name.upper()}_ACCOUNT"
        )
    if cfg.region not in aws.known_regions():
        problems.append(
            f"region: unknown region {cfg.region!r}; use a region code such as ap-northeast-2"
        )
    if cfg.time_zone not in aws.known_time_zones():
        problems.append(f"time_zone: {cfg.time_zone!r}; use an IANA name such as Asia/Seoul")
    if cfg.log_retention_days not in aws.LOG_RETENTION_DAYS:
        problems.append(retention_problem("log_retention_days", cfg.log_retention_days))
    recipients = [cfg.observability.alerts.recipients(s) for s in Severity]
    placeholders = [
        address
        for r in recipients
        for address in r.emails
        if address.endswith(aws.PLACEHOLDER_EMAIL_DOMAINS)
    ] + [url for r in recipients for url in r.https if aws.PLACEHOLDER_MARK in url]
    if cfg.require_account and placeholders:
        problems.append(
            f"observability.alerts: {', '.join(placeholders)} cannot receive alerts (a "
            "placeholder); name real recipients, e.g. "
            f"-c {cfg.name}.observability.alerts.critical.emails=oncall@yourcompany.com"
        )
    if cfg.require_account and cfg.domain is not None and cfg.domain.is_placeholder:
        problems.append(
            f"domain.hosted_zone_id: the offline placeholder cannot be deployed; set "
            f"-c {cfg.name}.domain.zone_name=example.com "
            f"-c {cfg.name}.domain.hosted_zone_id=Z0123456789ABCDEFGHIJ"
        )
    return problems


def function_problems(cfg: StageConfig) -> list[str]:
    problems = [
        f"functions.{name}: names are 1-24 lowercase letters, digits or hyphens"
        for name in cfg.functions
        if not NAME.match(name)
    ]
    for name, function in cfg.functions.items():
        folder = LAMBDA_SRC / function.code_folder(name)
        module = function.handler.rsplit(".", 1)[0]
        suffixes = (".py",) if function.runtime.is_python else (".js", ".mjs", ".cjs")
        if not any((folder / f"{module}{suffix}").is_file() for suffix in suffixes):
            problems.append(
                f"functions.{name}.code: no {module}{suffixes[0]} in lambda_src/"
                f"{function.code_folder(name)}; create it (tests in tests/lambda_src/) or set "
                "code to an existing folder"
            )
        if isinstance(function.trigger, BucketTrigger) and (
            function.trigger.bucket not in cfg.buckets
        ):
            problems.append(
                f"functions.{name}.trigger.bucket: {function.trigger.bucket!r} is not a "
                f"declared bucket ({', '.join(cfg.buckets) or 'none'})"
            )
        if isinstance(function.trigger, AlertsTrigger) and function.vpc:
            problems.append(
                f"functions.{name}.vpc: alert forwarders run outside the VPC, so alerts still "
                "go out when the VPC or NAT is broken; set vpc=false"
            )
    reserved = sum(f.reserved_concurrency or 0 for f in cfg.functions.values())
    ceiling = cfg.compute.lambda_concurrency_quota - aws.LAMBDA_UNRESERVED_MINIMUM
    if reserved > ceiling:
        problems.append(
            f"functions: reserved_concurrency adds up to {reserved}, more than the "
            f"{ceiling} the account allows (compute.lambda_concurrency_quota "
            f"{cfg.compute.lambda_concurrency_quota} minus {aws.LAMBDA_UNRESERVED_MINIMUM} "
            "kept unreserved); lower them or raise the quota first"
        )
    for name, job in cfg.jobs.items():
        if not aws.SCHEDULER_CRON.match(job.expression) and not aws.SCHEDULER_RATE.match(
            job.expression
        ):
            problems.append(
                f"jobs.{name}.expression: {job.expression!r} does not parse; use "
                "cron(minutes hours day-of-month month day-of-week year), e.g. "
                "cron(0 0 * * ? *)"
            )
        if job.function not in cfg.queue_functions():
            problems.append(
                f"jobs.{name}.function: {job.function!r} is not a function with a queue "
                f"trigger ({', '.join(cfg.queue_functions()) or 'none declared'})"
            )
    return problems


def reference_problems(cfg: StageConfig) -> list[str]:
    """Every name a service or function uses must be declared."""
    problems = secret_name_problems(list(cfg.secrets))
    problems += [
        f"buckets.{name}: names are 1-24 lowercase letters, digits or hyphens"
        for name in cfg.buckets
        if not NAME.match(name)
    ]
    users = [("services", n, s.uses) for n, s in cfg.services.items()]
    users += [("functions", n, f.uses) for n, f in cfg.functions.items()]
    for kind, name, uses in users:
        where = f"{kind}.{name}.uses"
        problems += [
            f"{where}.buckets: {b!r} is not a declared bucket ({', '.join(cfg.buckets)})"
            for b in uses.buckets
            if b not in cfg.buckets
        ]
        problems += [
            f"{where}.queues: {q!r} is not a function with a queue trigger "
            f"({', '.join(cfg.queue_functions()) or 'none'})"
            for q in uses.queues
            if q not in cfg.queue_functions()
        ]
        problems += [
            f"{where}.secrets: {s!r} is not a declared secret ({', '.join(cfg.secrets)})"
            for s in uses.secrets
            if s not in cfg.secrets
        ]
        problems += [
            f"{where}.services: {s!r} is not another declared service"
            for s in uses.services
            if s not in cfg.services or (kind == "services" and s == name)
        ]
    emitters = {*cfg.services, *cfg.functions}
    for metric_name, metric in cfg.observability.custom_metrics.items():
        problems += [
            f"observability.custom_metrics.{metric_name}.emitted_by: {e!r} is not a service "
            "or function"
            for e in metric.emitted_by
            if e not in emitters
        ]
    migration = cfg.compute.migration.service
    if migration is not None and migration not in cfg.services:
        problems.append(f"compute.migration.service: {migration!r} is not a declared service")
    return problems


def data_problems(cfg: StageConfig) -> list[str]:
    problems = []
    dr = cfg.data.dr_region
    wants_dr = [f"buckets.{n}.replicate_to_dr" for n, b in cfg.buckets.items() if b.replicate_to_dr]
    if cfg.data.backup.copy_to_dr:
        wants_dr.append("data.backup.copy_to_dr")
    if dr is None:
        problems += [
            f"{name}: set data.dr_region to the region to copy to (e.g. ap-northeast-1)"
            for name in wants_dr
        ]
    elif dr == cfg.region:
        problems.append(
            f"data.dr_region: {dr} is the stage region; disaster recovery needs another region"
        )
    if any(s.kind is SecretKind.DATABASE_URL for s in cfg.secrets.values()) and not cfg.services:
        problems.append("secrets: a database-url secret needs a service that uses it")
    if cfg.sleep is not None and cfg.sleep.stop_database and cfg.data.database.read_replica:
        problems.append(
            "sleep.stop_database: RDS cannot stop an instance that has a read replica; "
            "set sleep.stop_database = false or data.database.read_replica = false"
        )
    return problems


def guarantee_problems(cfg: StageConfig) -> list[str]:
    g, db, cache = cfg.guarantees, cfg.data.database, cfg.data.cache
    rules = [
        (g.multi_az and not db.multi_az, "data.database.multi_az", "must be true"),
        (g.multi_az and not cache.multi_az, "data.cache.multi_az", "must be true"),
        (
            g.deletion_protection and not db.deletion_protection,
            "data.database.deletion_protection",
            "must be true",
        ),
        (
            g.deletion_protection and not cfg.compute.load_balancer_deletion_protection,
            "compute.load_balancer_deletion_protection",
            "must be true",
        ),
        (
            g.keeps_data and not db.removal_policy.keeps_data,
            "data.database.removal_policy",
            "must be snapshot or retain",
        ),
        (
            g.keeps_data and not cache.removal_policy.keeps_data,
            "data.cache.removal_policy",
            "must be snapshot or retain",
        ),
        (
            g.keeps_data and not cfg.removal_policy.keeps_data,
            "removal_policy",
            "must be snapshot or retain",
        ),
        (
            g.no_operator_shell and cfg.compute.exec_enabled,
            "compute.exec_enabled",
            "must be false",
        ),
        (
            g.always_on and cfg.sleep is not None,
            "sleep",
            "must be unset (the stage never sleeps)",
        ),
        (
            g.alert_recipient and not cfg.observability.alerts.critical.any,
            "observability.alerts.critical",
            "needs at least one recipient (emails or https); e.g. "
            f"-c {cfg.name}.observability.alerts.critical.emails=oncall@example.com",
        ),
        (
            g.encrypted_origin and cfg.domain is None,
            "domain",
            "is required: viewers get TLSv1.2_2021 only with a certificate of your own, and "
            "CloudFront reaches the load balancer over HTTPS only at origin.<zone>; set "
            "domain.zone_name and domain.hosted_zone_id",
        ),
    ]
    return [
        f"{field}: {why} in this stage (guarantees, preset of {cfg.name})"
        for broken, field, why in rules
        if broken
    ]


def shared_account_problems(stages: Iterable[StageConfig]) -> list[str]:
    """Stages deployed into one account and region must not claim the same account-wide
    resource: a repository named explicitly, or an account-level audit service (the second
    deploy fails with AlreadyExists). Placeholder accounts are not deployments: not checked."""
    claims: dict[tuple[str, str, str], list[tuple[str, str]]] = defaultdict(list)
    for cfg in stages:
        if cfg.account == aws.PLACEHOLDER_ACCOUNT:
            continue
        where = (cfg.account, cfg.region)
        for name, service in cfg.services.items():
            if service.repository is not None:
                field = f"{cfg.name}.services.{name}.repository"
                claims[(*where, f"ECR repository {service.repository!r}")].append(
                    (field, f"-c {field}={service.repository}-{cfg.name}")
                )
        audit = cfg.observability.audit
        for switch in ("guardduty", "security_hub", "config_recorder"):
            if getattr(audit, switch):
                field = f"{cfg.name}.observability.audit.{switch}"
                claims[(*where, switch.replace("_", " "))].append((field, f"-c {field}=false"))
    return [
        f"{', '.join(f for f, _ in owners)}: these stages share account {account} in {region} "
        f"and each claims the {what}; use an account per stage, or e.g. {owners[-1][1]}"
        for (account, region, what), owners in claims.items()
        if len(owners) > 1
    ]
