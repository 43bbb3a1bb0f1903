"""What every stack of a stage shares: naming, environment, tags, pinned AZs, keys, log groups,
and the stage's hosted zone with DNS-validated certificates."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Environment, RemovalPolicy, Stack, TimeZone
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from constructs import Construct

from constructs_lib.encryption import (
    EncryptedLogGroup,
    EncryptedLogGroupProps,
    KeyProps,
    encryption_key,
)
from constructs_lib.monitoring import Inventory
from infra.config import Retention, StageConfig

REMOVAL = {
    Retention.DESTROY: RemovalPolicy.DESTROY,
    Retention.SNAPSHOT: RemovalPolicy.SNAPSHOT,
    Retention.RETAIN: RemovalPolicy.RETAIN,
}


def removal(retention: Retention) -> RemovalPolicy:
    return REMOVAL[retention]


def pascal(name: str) -> str:
    """A config name as a construct id: `job-worker` -> `JobWorker`."""
    return "".join(part.capitalize() for part in name.split("-"))


class PlatformStack(Stack):
    """A stack named `<project>-<stage>-<concern>` whose AZs come from config, never a lookup."""

    def __init__(
        self,
        scope: Construct,
        cfg: StageConfig,
        concern: str,
        *,
        description: str,
        region: str | None = None,
        cross_region_references: bool = False,
    ) -> None:
        # Set before super().__init__: CDK may read availability_zones while constructing.
        self._pinned_azs = list(cfg.network.availability_zones) if region is None else []
        super().__init__(
            scope,
            concern.capitalize(),
            stack_name=cfg.stack_name(concern),
            env=Environment(account=cfg.account, region=region or cfg.region),
            termination_protection=cfg.termination_protection,
            description=f"{cfg.project} {cfg.name}: {description}",
            analytics_reporting=False,
            cross_region_references=cross_region_references,
        )
        self.cfg = cfg
        self.inventory = Inventory()
        """What this stack registers for the observability stack to alarm on."""
        self._zone: route53.IHostedZone | None = None
        self._time_zone: TimeZone | None = None

    def stage_key(self, construct_id: str, name: str, purpose: str) -> kms.Key:
        """A customer-managed key aliased `<project>-<stage>-<name>`, kept per stage policy."""
        alias = self.cfg.resource_name(name)
        return encryption_key(
            self,
            construct_id,
            KeyProps(
                alias=alias,
                description=f"{alias}: {purpose}",
                removal_policy=removal(self.cfg.removal_policy),
            ),
        )

    def log_group(
        self, construct_id: str, name: str, key: kms.IKey, retention_days: int | None = None
    ) -> logs.LogGroup:
        """A named log group under `key`, kept for the stage's retention unless told otherwise."""
        return EncryptedLogGroup(
            self,
            construct_id,
            EncryptedLogGroupProps(
                name=name,
                key=key,
                retention_days=retention_days or self.cfg.log_retention_days,
                removal_policy=removal(self.cfg.removal_policy),
            ),
        ).log_group

    @property
    def time_zone(self) -> TimeZone:
        """The stage's time zone (`cfg.time_zone`), made once per stack: schedules, scheduled
        scaling and sleep all use it, and each TimeZone.of is a jsii round trip."""
        if self._time_zone is None:
            self._time_zone = TimeZone.of(self.cfg.time_zone)
        return self._time_zone

    def hosted_zone(self) -> route53.IHostedZone:
        """The stage's hosted zone, imported once per stack (construct id "Zone")."""
        if self._zone is None:
            domain = self.cfg.domain
            assert domain is not None, f"{self.stack_name}: the stage has no domain"
            self._zone = route53.HostedZone.from_hosted_zone_attributes(
                self, "Zone", hosted_zone_id=domain.hosted_zone_id, zone_name=domain.zone_name
            )
        return self._zone

    def dns_certificate(self, names: Sequence[str]) -> acm.Certificate:
        """A certificate for `names` (the first is its domain name), DNS-validated in the
        stage's zone (construct id "Certificate")."""
        return acm.Certificate(
            self,
            "Certificate",
            domain_name=names[0],
            subject_alternative_names=list(names[1:]) or None,
            validation=acm.CertificateValidation.from_dns(self.hosted_zone()),
        )

    @property
    def availability_zones(self) -> list[str]:
        if not self._pinned_azs:
            raise ValueError(f"{self.stack_name} lives outside the stage region and has no AZs")
        return self._pinned_azs
