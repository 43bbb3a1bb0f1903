"""One stage of one product: every section, its names and derived facts. The checks that span
sections are in stage_checks.py and stage_routing.py; `problems` runs them.

Stage differences are values (NAT gateways, retention, guarantees); stacks never branch on the
stage's name. What a stage refuses (prod: Multi-AZ, deletion protection, alert recipients, an
encrypted origin...) is its `guarantees`, set by its preset.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from pydantic import Field

from infra.config import aws
from infra.config.base import Model, Retention, nested, section_problems
from infra.config.buckets import BucketConfig
from infra.config.compute import ComputeConfig, SleepConfig
from infra.config.data import DataConfig
from infra.config.edge import DomainConfig, EdgeConfig
from infra.config.functions import FunctionConfig, QueueTrigger, Severity
from infra.config.network import NetworkConfig
from infra.config.observability import ObservabilityConfig
from infra.config.secrets import SecretConfig
from infra.config.services import Exposure, ServiceConfig
from infra.config.sleep_rules import work_while_asleep
from infra.config.stage_checks import (
    data_problems,
    function_problems,
    guarantee_problems,
    identity_problems,
    reference_problems,
)
from infra.config.stage_routing import service_problems


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
        problems = identity_problems(self)
        problems += nested("network", self.network.region_problems(self.region))
        problems += service_problems(self) + function_problems(self)
        problems += reference_problems(self) + data_problems(self)
        problems += guarantee_problems(self) + work_while_asleep(self)
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
