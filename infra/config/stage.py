"""One stage of one product: every section, plus the checks that span sections.

Stage differences are values (NAT gateways, retention, guarantees); stacks never branch on the
stage's name. What a stage refuses (prod: Multi-AZ, deletion protection, alert recipients, an
encrypted origin...) is its `guarantees`, set by its preset.
"""

from __future__ import annotations

import fnmatch
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from pydantic import Field

from infra.config import aws
from infra.config.base import Model, Retention, nested, section_problems
from infra.config.compute import ComputeConfig, SleepConfig
from infra.config.data import (
    NAME,
    BucketConfig,
    DataConfig,
    SecretConfig,
    SecretKind,
    secret_name_problems,
)
from infra.config.edge import DomainConfig, EdgeConfig
from infra.config.functions import (
    LAMBDA_SRC,
    AlertsTrigger,
    BucketTrigger,
    FunctionConfig,
    QueueTrigger,
    Severity,
)
from infra.config.network import (
    FUNCTION_GROUP_PREFIX,
    PLATFORM_GROUPS,
    NetworkConfig,
    retention_problem,
)
from infra.config.observability import ObservabilityConfig
from infra.config.services import Exposure, ServiceConfig

_PROJECT = re.compile(r"^[a-z][a-z0-9-]{1,19}$")
_STAGE = re.compile(r"^[a-z][a-z0-9]{1,11}$")


class Guarantees(Model):
    """What the stage refuses. Defaults are prod's: a stage without a preset gets them all."""

    multi_az: bool = True
    """Database and cache must survive an AZ outage."""
    deletion_protection: bool = True
    """Database and load balancers are deletion-protected."""
    keeps_data: bool = True
    """Stateful resources are snapshotted or retained, never destroyed, on delete."""
    no_operator_shell: bool = True
    """ECS Exec stays off."""
    always_on: bool = True
    """The stage never sleeps."""
    alert_recipient: bool = True
    """At least one critical alert recipient (e-mail or pager endpoint)."""
    encrypted_origin: bool = True
    """A domain: viewers get TLSv1.2_2021 and CloudFront reaches the ALB over HTTPS."""
    backup_floor_days: int = 14
    """Below this database backup retention the platform warns (it does not refuse)."""


class ScheduledJob(Model):
    """A message put on a queue-triggered function's queue on a schedule."""

    expression: str = Field(examples=["cron(0 0 * * ? *)"])
    function: str = Field(examples=["job-worker"])
    message: dict[str, Any] = {}


class DeliveryConfig(Model):
    """How the pipeline promotes into this stage."""

    approval: bool = False
    """A manual approval before the stage deploys."""
    bake_minutes: int = 0
    """After deploy and health check, wait this long; any critical alarm in ALARM fails it."""


class RecoveryTargets(Model):
    """What the product promises after a disaster (stated next to what backups deliver)."""

    rpo_minutes: int | None = Field(default=None, examples=[15])
    rto_minutes: int | None = Field(default=None, examples=[60])


class StageConfig(Model):
    name: str = Field(examples=["dev"])
    """Names the stage, its stacks and resources."""
    profile: str = "default"
    project: str = Field(default="webplat", examples=["webplat"])
    account: str = aws.PLACEHOLDER_ACCOUNT
    region: str = Field(default="ap-northeast-2", examples=["ap-northeast-2"])
    time_zone: str = Field(default="Asia/Seoul", examples=["Asia/Seoul"])
    guarantees: Guarantees = Guarantees()
    network: NetworkConfig = NetworkConfig()
    data: DataConfig = DataConfig()
    compute: ComputeConfig = ComputeConfig()
    edge: EdgeConfig = EdgeConfig()
    observability: ObservabilityConfig = ObservabilityConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    recovery: RecoveryTargets = RecoveryTargets()
    domain: DomainConfig | None = None
    services: dict[str, ServiceConfig] = {}
    functions: dict[str, FunctionConfig] = {}
    buckets: dict[str, BucketConfig] = {}
    secrets: dict[str, SecretConfig] = {}
    jobs: dict[str, ScheduledJob] = {}
    sleep: SleepConfig | None = None
    log_retention_days: int = 30
    removal_policy: Retention = Retention.RETAIN
    """For keys, log groups, buckets, secrets, queues and repositories."""
    termination_protection: bool = True
    require_account: bool = False
    """True when deploying: placeholder accounts and domains are then rejected."""
    pipeline_account: str | None = None
    """The tooling account whose pipeline deploys this stage (set when the pipeline is on)."""

    # -- naming ---------------------------------------------------------------------------

    @property
    def construct_id(self) -> str:
        """The Stage id used in CLI selectors: `cdk deploy "Dev/*"`."""
        return self.name.capitalize()

    @property
    def prefix(self) -> str:
        """<project>-<stage>: the start of every name of the stage."""
        return f"{self.project}-{self.name}"

    def stack_name(self, concern: str) -> str:
        return f"{self.prefix}-{concern}"

    def resource_name(self, suffix: str) -> str:
        return f"{self.prefix}-{suffix}"

    def log_name(self, suffix: str) -> str:
        """Log group names of the stage: /<project>/<stage>/<suffix>."""
        return f"/{self.project}/{self.name}/{suffix}"

    def secret_name(self, suffix: str) -> str:
        return f"{self.project}/{self.name}/{suffix}"

    def replica_bucket_name(self, bucket: str) -> str:
        """A bucket's replica in the DR region: derived, so neither region looks it up."""
        return f"{self.resource_name(f'{bucket}-dr')}-{self.account}-{self.data.dr_region}"

    def repository_name(self, service: str) -> str:
        return self.services[service].repository or self.resource_name(service)

    # -- derived facts --------------------------------------------------------------------

    @property
    def has_dr(self) -> bool:
        return self.data.dr_region is not None and (
            any(b.replicate_to_dr for b in self.buckets.values()) or self.data.backup.copy_to_dr
        )

    def recovery_delivered(self) -> dict[str, str]:
        """What the backup plan delivers, stated next to `recovery` (README, `make recovery`)."""
        backup, db = self.data.backup, self.data.database
        replicated = sorted(n for n, b in self.buckets.items() if b.replicate_to_dr)
        dr = self.data.dr_region
        region_loss = []
        if dr and backup.copy_to_dr:
            region_loss.append(f"database: last daily copy in {dr} (up to 24 h)")
        if dr and replicated:
            region_loss.append(f"{', '.join(replicated)}: replicated to {dr} (minutes)")
        return {
            "in_region_rpo": f"{aws.PITR_RPO_MINUTES} min (point-in-time restore, "
            f"{db.backup_retention_days} day{'s' if db.backup_retention_days != 1 else ''} back)",
            "region_loss": "; ".join(region_loss) or f"not covered (nothing outside {self.region})",
            "restores": (
                f"tested ({backup.restore_test_schedule}, restore time recorded)"
                if backup.restore_testing
                else "not tested"
            ),
        }

    def routed_to(self, path: str) -> str | None:
        """The service behind CloudFront a viewer's request for `path` reaches: the ALB takes
        the first rule, by priority, whose pattern matches."""
        behind = sorted(
            self.exposed(Exposure.CLOUDFRONT).items(),
            key=lambda item: item[1].rule_priority(item[0]),
        )
        return next(
            (n for n, s in behind if any(fnmatch.fnmatchcase(path, p) for p in s.paths)), None
        )

    def end_to_end_health_path(self) -> str:
        """What the pipeline requests through CloudFront after a deploy: the health check of a
        service that uses the database if one's is routed to it, else of any service."""
        behind = self.exposed(Exposure.CLOUDFRONT)
        ordered = sorted(behind, key=lambda name: not behind[name].uses.database)
        reachable = [n for n in ordered if self.routed_to(behind[n].health_check_path) == n]
        return behind[(reachable or ordered)[0]].health_check_path

    def exposed(self, *kinds: Exposure) -> dict[str, ServiceConfig]:
        return {name: s for name, s in self.services.items() if s.expose in kinds}

    @property
    def direct_clients(self) -> bool:
        """Clients reach a load balancer without CloudFront (ALB- or NLB-exposed services)."""
        return bool(self.exposed(Exposure.ALB, Exposure.NLB))

    @property
    def listener_port(self) -> int:
        """HTTPS with a domain (ACM certificate); otherwise HTTP from CloudFront only."""
        return 443 if self.domain else 80

    @property
    def migration_service(self) -> str:
        chosen = self.compute.migration.service
        if chosen is not None:
            return chosen
        users = [name for name, s in self.services.items() if s.uses.database]
        return (users or list(self.services))[0]

    def retention(self, kind: str) -> int:
        """Log retention (days) for services, functions or database logs."""
        days: int | None = getattr(self.observability.logs, kind)
        return days or self.log_retention_days

    def queue_functions(self) -> dict[str, FunctionConfig]:
        return {n: f for n, f in self.functions.items() if isinstance(f.trigger, QueueTrigger)}

    # -- validation -----------------------------------------------------------------------

    def problems(self) -> list[str]:
        problems = self._identity_problems()
        problems += nested("network", self.network.region_problems(self.region))
        problems += self._service_problems() + self._function_problems()
        problems += self._reference_problems() + self._data_problems()
        problems += self._guarantee_problems()
        return problems

    def all_problems(self) -> list[str]:
        """Every problem of the stage and its sections, each prefixed with the stage's name."""
        return nested(self.name, section_problems(self))

    def warnings(self) -> list[str]:
        """Below a floor the platform recommends, but a legitimate, documented choice."""
        found = []
        floor = self.guarantees.backup_floor_days
        days = self.data.database.backup_retention_days
        if days < floor:
            found.append(
                f"{self.name}.data.database.backup_retention_days: {days} is below the "
                f"recommended {floor} for this stage; point-in-time recovery reaches back "
                f"{days} days only"
            )
        users = {n: s for n, s in self.exposed(Exposure.CLOUDFRONT).items() if s.uses.database}
        reached = {n: self.routed_to(s.health_check_path) for n, s in users.items()}
        if users and all(reached[n] != n for n in users):
            name, service = next(iter(users.items()))
            found.append(
                f"{self.name}.services.{name}.health_check_path: {service.health_check_path!r} "
                f"reaches {reached[name] or 'no service'} through CloudFront, so the pipeline's "
                f"end-to-end check cannot include the database; use a path under "
                f"{service.paths[0]!r}"
            )
        alerts = self.observability.alerts
        chat = alerts.chat and Severity.CRITICAL in alerts.chat_severities
        if self.guarantees.keeps_data and not alerts.critical.any and not chat:
            found.append(
                f"{self.name}.observability.alerts.critical: nobody is paged in this stage (no "
                f"e-mail, pager or chat); e.g. -c {self.name}.observability.alerts.critical."
                "emails=team@example.com"
            )
        rpo = self.recovery.rpo_minutes
        if rpo is not None and rpo < aws.PITR_RPO_MINUTES:
            found.append(
                f"{self.name}.recovery.rpo_minutes: {rpo} is tighter than the "
                f"{aws.PITR_RPO_MINUTES} minutes point-in-time restore delivers (RDS and Aurora "
                "ship transaction logs every 5 minutes); only a Multi-AZ failover loses nothing"
            )
        found += [
            f"{self.name}.functions.{name}.runtime: {fn.runtime} is older than "
            f"{fn.runtime.newest}; check its deprecation date in the Lambda runtimes table "
            "(docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html) and plan the upgrade"
            for name, fn in self.functions.items()
            if fn.runtime is not fn.runtime.newest
        ]
        return found

    def _identity_problems(self) -> list[str]:
        problems = []
        if not _STAGE.match(self.name):
            problems.append(f"name: {self.name!r} must be 2-12 lowercase letters or digits")
        if not _PROJECT.match(self.project):
            problems.append(
                f"project: {self.project!r} must be 2-20 lowercase letters, digits or hyphens, "
                "starting with a letter (it prefixes stack, bucket and log-group names)"
            )
        if not aws.ACCOUNT_ID.match(self.account):
            problems.append(f"account: {self.account!r} is not a 12-digit AWS account id")
        elif self.require_account and self.account == aws.PLACEHOLDER_ACCOUNT:
            problems.append(
                "account: no account set for deployment (only the offline placeholder); set it "
                f"with `-c {self.name}.account=123456789012` or "
                f"PLATFORM_{self.name.upper()}_ACCOUNT"
            )
        if self.region not in aws.known_regions():
            problems.append(
                f"region: unknown region {self.region!r}; use a region code such as ap-northeast-2"
            )
        if self.time_zone not in aws.known_time_zones():
            problems.append(f"time_zone: {self.time_zone!r}; use an IANA name such as Asia/Seoul")
        if self.log_retention_days not in aws.LOG_RETENTION_DAYS:
            problems.append(retention_problem("log_retention_days", self.log_retention_days))
        recipients = [self.observability.alerts.recipients(s) for s in Severity]
        placeholders = [
            address
            for r in recipients
            for address in r.emails
            if address.endswith(aws.PLACEHOLDER_EMAIL_DOMAINS)
        ] + [url for r in recipients for url in r.https if aws.PLACEHOLDER_MARK in url]
        if self.require_account and placeholders:
            problems.append(
                f"observability.alerts: {', '.join(placeholders)} cannot receive alerts (a "
                "placeholder); name real recipients, e.g. "
                f"-c {self.name}.observability.alerts.critical.emails=oncall@yourcompany.com"
            )
        if self.require_account and self.domain is not None and self.domain.is_placeholder:
            problems.append(
                f"domain.hosted_zone_id: the offline placeholder cannot be deployed; set "
                f"-c {self.name}.domain.zone_name=example.com "
                f"-c {self.name}.domain.hosted_zone_id=Z0123456789ABCDEFGHIJ"
            )
        return problems

    def _service_problems(self) -> list[str]:
        problems = [
            f"services.{name}: names are 1-24 lowercase letters, digits or hyphens, starting "
            "with a letter (e.g. backend)"
            for name in self.services
            if not NAME.match(name)
        ]
        problems += [
            f"services.{name}: the name is taken by a platform security group "
            f"({', '.join(sorted(PLATFORM_GROUPS))}, {FUNCTION_GROUP_PREFIX}*); e.g. {name}-app"
            for name in self.services
            if name in PLATFORM_GROUPS or name.startswith(FUNCTION_GROUP_PREFIX)
        ]
        if not self.exposed(Exposure.CLOUDFRONT):
            problems.append(
                "services: at least one service must be exposed through cloudfront (the "
                "distribution's default origin); e.g. [services.web] expose = 'cloudfront'"
            )
        data_ports = {
            self.data.database.port: "the database",
            self.data.cache.port: "the cache",
        }
        ports = Counter(s.port for s in self.services.values())
        for name, service in self.services.items():
            if service.port in data_ports:
                problems.append(
                    f"services.{name}.port: {service.port} is also {data_ports[service.port]}'s "
                    "port; give application containers their own port"
                )
            if ports[service.port] > 1:
                problems.append(
                    f"services.{name}.port: {service.port} is used by another service; give "
                    "each its own so security groups and health checks stay unambiguous"
                )
        problems += self._routing_problems()
        repositories = Counter(self.repository_name(n) for n in self.services)
        problems += [
            f"services.{name}.repository: {self.repository_name(name)!r} is used by another service"
            for name in self.services
            if repositories[self.repository_name(name)] > 1
        ]
        return problems

    @staticmethod
    def _shadowed(routed: dict[str, ServiceConfig]) -> list[str]:
        """A path no request reaches: the ALB evaluates rules by priority, lowest first, and a
        broader pattern of another service (same hosts) evaluated earlier takes every match."""

        def covers(broad: str, narrow: str) -> bool:
            return broad == narrow or (broad.endswith("*") and narrow.startswith(broad[:-1]))

        problems = []
        for name, service in routed.items():
            for other, earlier in routed.items():
                first = earlier.rule_priority(other)
                if other == name or earlier.hosts != service.hosts:
                    continue
                if first >= service.rule_priority(name):
                    continue
                for pattern in service.paths:
                    broad = next((b for b in earlier.paths if covers(b, pattern)), None)
                    if broad is not None:
                        problems.append(
                            f"services.{name}.paths: {pattern!r} is never reached: {other}'s "
                            f"{broad!r} (ALB priority {first}) is evaluated first; give {name} "
                            f"a priority below {first}, or drop {other}'s explicit priority"
                        )
        return problems

    def _routing_problems(self) -> list[str]:
        problems = []
        routed = self.exposed(Exposure.CLOUDFRONT, Exposure.ALB)
        seen: dict[tuple[str, tuple[str, ...]], str] = {}
        for name, service in routed.items():
            for pattern in service.paths:
                key = (pattern, service.hosts)
                if key in seen:
                    problems.append(
                        f"services.{name}.paths: {pattern!r} is already routed to {seen[key]}; "
                        "each pattern must go to one service"
                    )
                seen[key] = name
        priorities: dict[int, str] = {}
        for name, service in routed.items():
            priority = service.rule_priority(name)
            if priority in priorities:
                problems.append(
                    f"services.{name}.priority: {priority} is also {priorities[priority]}'s ALB "
                    "rule priority; set an explicit priority on one of them"
                )
            priorities[priority] = name
        problems += self._shadowed(routed)
        if self.direct_clients and self.domain is None:
            problems.append(
                "domain: services exposed on the ALB or an NLB are reached at <host>.<zone> over "
                "TLS; configure domain.zone_name and domain.hosted_zone_id"
            )
        if self.direct_clients and not self.network.load_balancer_ingress_cidrs:
            problems.append(
                "network.load_balancer_ingress_cidrs: services exposed on the ALB or an NLB are "
                "reached by clients directly; list who may connect (e.g. 0.0.0.0/0)"
            )
        if self.network.load_balancer_ingress_cidrs and not self.direct_clients:
            problems.append(
                "network.load_balancer_ingress_cidrs: no service is exposed on the ALB or an "
                "NLB; leave it empty (CloudFront reaches the ALB through its prefix list)"
            )
        nlb_ports = Counter(s.nlb_port for s in self.exposed(Exposure.NLB).values())
        problems += [
            f"services.{name}.nlb_port: {s.nlb_port} is used by another NLB service"
            for name, s in self.exposed(Exposure.NLB).items()
            if nlb_ports[s.nlb_port] > 1
        ]
        if self.compute.prefix_list(self.region) is None:
            problems.append(
                f"compute.cloudfront_prefix_list_id: no CloudFront origin-facing prefix list is "
                f"known for {self.region}; set it (aws ec2 describe-managed-prefix-lists)"
            )
        if self.domain is not None:
            hosts = [*self.domain.cdn_hosts, self.domain.origin_host]
            hosts += [h for s in self.services.values() for h in s.hosts]
            problems += [
                f"domain: host {host!r} is used twice (CloudFront, the origin and each directly "
                "exposed service need their own)"
                for host, count in Counter(hosts).items()
                if count > 1
            ]
        return problems

    def _function_problems(self) -> list[str]:
        problems = [
            f"functions.{name}: names are 1-24 lowercase letters, digits or hyphens"
            for name in self.functions
            if not NAME.match(name)
        ]
        for name, function in self.functions.items():
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
                function.trigger.bucket not in self.buckets
            ):
                problems.append(
                    f"functions.{name}.trigger.bucket: {function.trigger.bucket!r} is not a "
                    f"declared bucket ({', '.join(self.buckets) or 'none'})"
                )
            if isinstance(function.trigger, AlertsTrigger) and function.vpc:
                problems.append(
                    f"functions.{name}.vpc: alert forwarders run outside the VPC, so alerts still "
                    "go out when the VPC or NAT is broken; set vpc=false"
                )
        reserved = sum(f.reserved_concurrency or 0 for f in self.functions.values())
        ceiling = self.compute.lambda_concurrency_quota - aws.LAMBDA_UNRESERVED_MINIMUM
        if reserved > ceiling:
            problems.append(
                f"functions: reserved_concurrency adds up to {reserved}, more than the "
                f"{ceiling} the account allows (compute.lambda_concurrency_quota "
                f"{self.compute.lambda_concurrency_quota} minus {aws.LAMBDA_UNRESERVED_MINIMUM} "
                "kept unreserved); lower them or raise the quota first"
            )
        for name, job in self.jobs.items():
            if not aws.SCHEDULER_CRON.match(job.expression) and not aws.SCHEDULER_RATE.match(
                job.expression
            ):
                problems.append(
                    f"jobs.{name}.expression: {job.expression!r} does not parse; use "
                    "cron(minutes hours day-of-month month day-of-week year), e.g. "
                    "cron(0 0 * * ? *)"
                )
            if job.function not in self.queue_functions():
                problems.append(
                    f"jobs.{name}.function: {job.function!r} is not a function with a queue "
                    f"trigger ({', '.join(self.queue_functions()) or 'none declared'})"
                )
        return problems

    def _reference_problems(self) -> list[str]:
        """Every name a service or function uses must be declared."""
        problems = secret_name_problems(list(self.secrets))
        problems += [
            f"buckets.{name}: names are 1-24 lowercase letters, digits or hyphens"
            for name in self.buckets
            if not NAME.match(name)
        ]
        users = [("services", n, s.uses) for n, s in self.services.items()]
        users += [("functions", n, f.uses) for n, f in self.functions.items()]
        for kind, name, uses in users:
            where = f"{kind}.{name}.uses"
            problems += [
                f"{where}.buckets: {b!r} is not a declared bucket ({', '.join(self.buckets)})"
                for b in uses.buckets
                if b not in self.buckets
            ]
            problems += [
                f"{where}.queues: {q!r} is not a function with a queue trigger "
                f"({', '.join(self.queue_functions()) or 'none'})"
                for q in uses.queues
                if q not in self.queue_functions()
            ]
            problems += [
                f"{where}.secrets: {s!r} is not a declared secret ({', '.join(self.secrets)})"
                for s in uses.secrets
                if s not in self.secrets
            ]
            problems += [
                f"{where}.services: {s!r} is not another declared service"
                for s in uses.services
                if s not in self.services or (kind == "services" and s == name)
            ]
        emitters = {*self.services, *self.functions}
        for metric_name, metric in self.observability.custom_metrics.items():
            problems += [
                f"observability.custom_metrics.{metric_name}.emitted_by: {e!r} is not a service "
                "or function"
                for e in metric.emitted_by
                if e not in emitters
            ]
        migration = self.compute.migration.service
        if migration is not None and migration not in self.services:
            problems.append(f"compute.migration.service: {migration!r} is not a declared service")
        return problems

    def _data_problems(self) -> list[str]:
        problems = []
        dr = self.data.dr_region
        wants_dr = [
            f"buckets.{n}.replicate_to_dr" for n, b in self.buckets.items() if b.replicate_to_dr
        ]
        if self.data.backup.copy_to_dr:
            wants_dr.append("data.backup.copy_to_dr")
        if dr is None:
            problems += [
                f"{name}: set data.dr_region to the region to copy to (e.g. ap-northeast-1)"
                for name in wants_dr
            ]
        elif dr == self.region:
            problems.append(
                f"data.dr_region: {dr} is the stage region; disaster recovery needs another region"
            )
        if (
            any(s.kind is SecretKind.DATABASE_URL for s in self.secrets.values())
            and not self.services
        ):
            problems.append("secrets: a database-url secret needs a service that uses it")
        if self.sleep is not None and self.sleep.stop_database and self.data.database.read_replica:
            problems.append(
                "sleep.stop_database: RDS cannot stop an instance that has a read replica; "
                "set sleep.stop_database = false or data.database.read_replica = false"
            )
        return problems

    def _guarantee_problems(self) -> list[str]:
        g, db, cache = self.guarantees, self.data.database, self.data.cache
        rules = [
            (g.multi_az and not db.multi_az, "data.database.multi_az", "must be true"),
            (g.multi_az and not cache.multi_az, "data.cache.multi_az", "must be true"),
            (
                g.deletion_protection and not db.deletion_protection,
                "data.database.deletion_protection",
                "must be true",
            ),
            (
                g.deletion_protection and not self.compute.load_balancer_deletion_protection,
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
                g.keeps_data and not self.removal_policy.keeps_data,
                "removal_policy",
                "must be snapshot or retain",
            ),
            (
                g.no_operator_shell and self.compute.exec_enabled,
                "compute.exec_enabled",
                "must be false",
            ),
            (
                g.always_on and self.sleep is not None,
                "sleep",
                "must be unset (the stage never sleeps)",
            ),
            (
                g.alert_recipient and not self.observability.alerts.critical.any,
                "observability.alerts.critical",
                "needs at least one recipient (emails or https); e.g. "
                f"-c {self.name}.observability.alerts.critical.emails=oncall@example.com",
            ),
            (
                g.encrypted_origin and self.domain is None,
                "domain",
                "is required: viewers get TLSv1.2_2021 only with a certificate of your own, and "
                "CloudFront reaches the load balancer over HTTPS only at origin.<zone>; set "
                "domain.zone_name and domain.hosted_zone_id",
            ),
        ]
        return [
            f"{field}: {why} in this stage (guarantees, preset of {self.name})"
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
