"""What every stack of a stage shares: naming, environment, tags and pinned AZs."""

from __future__ import annotations

from aws_cdk import Environment, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
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
    def availability_zones(self) -> list[str]:
        if not self._pinned_azs:
            raise ValueError(f"{self.stack_name} lives outside the stage region and has no AZs")
        return self._pinned_azs
