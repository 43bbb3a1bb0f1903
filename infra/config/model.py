"""Typed, immutable stage configuration.

Every difference between stages is a value here (NAT gateways, endpoints, retention, removal
policy); stacks never branch on the stage name. Constructing a `StageConfig` validates it, so an
invalid configuration never reaches a construct.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from aws_cdk import RemovalPolicy

from infra.config.compute import ComputeConfig
from infra.config.data import DataConfig
from infra.config.edge import EdgeConfig
from infra.config.observability import ObservabilityConfig
from infra.config.primitives import ConfigError, Tier
from infra.config.validation import validate_stage


@dataclass(frozen=True)
class SubnetTierConfig:
    """Size of the tier's subnet in each AZ, or explicit CIDRs (one per AZ, in AZ order)."""

    cidr_mask: int = 24
    cidrs: tuple[str, ...] = ()


@dataclass(frozen=True)
class NetworkConfig:
    vpc_cidr: str
    availability_zones: tuple[str, ...]
    nat_gateways: int
    public: SubnetTierConfig = SubnetTierConfig(cidr_mask=24)
    private: SubnetTierConfig = SubnetTierConfig(cidr_mask=20)
    isolated: SubnetTierConfig = SubnetTierConfig(cidr_mask=24)
    gateway_endpoints: tuple[str, ...] = ("s3", "dynamodb")
    interface_endpoints: tuple[str, ...] = ()
    """Service names as in com.amazonaws.<region>.<name>, e.g. "ecr.api"."""
    flow_log_retention_days: int = 30
    load_balancer_ingress_cidrs: tuple[str, ...] = ()
    """Clients allowed to reach the load balancer directly on 443/80 (needs compute.domain);
    CloudFront always reaches it through its managed prefix list."""

    def tier(self, tier: Tier) -> SubnetTierConfig:
        return {Tier.PUBLIC: self.public, Tier.PRIVATE: self.private, Tier.ISOLATED: self.isolated}[
            tier
        ]

    def subnet_plan(self) -> dict[tuple[Tier, str], ipaddress.IPv4Network]:
        """The CIDR of every subnet, keyed by (tier, AZ).

        Explicit CIDRs are taken as given; sized tiers are laid out one after another in tier then
        AZ order (skipping explicit ranges), like CDK's own allocator, so the plan reads in order.
        Raises ConfigError when a tier does not fit.
        """
        vpc = ipaddress.IPv4Network(self.vpc_cidr)
        plan: dict[tuple[Tier, str], ipaddress.IPv4Network] = {}
        explicit = [ipaddress.IPv4Network(cidr) for tier in Tier for cidr in self.tier(tier).cidrs]
        cursor = vpc.network_address
        for tier in Tier:
            cfg = self.tier(tier)
            for index, az in enumerate(self.availability_zones):
                if cfg.cidrs:
                    plan[(tier, az)] = ipaddress.IPv4Network(cfg.cidrs[index])
                    continue
                block = _next_free_block(vpc, cfg.cidr_mask, cursor, [*explicit, *plan.values()])
                if block is None:
                    raise ConfigError(
                        f"{tier.value}.cidr_mask: vpc_cidr {vpc} has no free "
                        f"/{cfg.cidr_mask} left for {az}; three tiers x "
                        f"{len(self.availability_zones)} AZs do not fit. Use a larger vpc_cidr "
                        "(e.g. a /16) or a larger cidr_mask (smaller subnets)"
                    )
                plan[(tier, az)] = block
                cursor = block.broadcast_address + 1
        return plan


def _next_free_block(
    vpc: ipaddress.IPv4Network,
    prefix: int,
    start: ipaddress.IPv4Address,
    taken: Iterable[ipaddress.IPv4Network],
) -> ipaddress.IPv4Network | None:
    used = list(taken)
    return next(
        (
            block
            for block in vpc.subnets(new_prefix=prefix)
            if block.network_address >= start and not any(block.overlaps(u) for u in used)
        ),
        None,
    )


@dataclass(frozen=True)
class PortsConfig:
    """Container and data-tier ports; the security-group matrix is derived from them."""

    web: int = 3000
    api: int = 8000
    ws: int = 3001
    database: int = 5432
    cache: int = 6379


@dataclass(frozen=True)
class StageConfig:
    name: str
    """dev, staging or prod: names the stage, its stacks and resources."""
    account: str
    region: str
    network: NetworkConfig
    project: str = "webplat"
    ports: PortsConfig = PortsConfig()
    data: DataConfig = DataConfig()  # noqa: RUF009 (frozen: a shared default is safe)
    compute: ComputeConfig = ComputeConfig()  # noqa: RUF009
    edge: EdgeConfig = EdgeConfig()  # noqa: RUF009
    observability: ObservabilityConfig = ObservabilityConfig()  # noqa: RUF009
    log_retention_days: int = 30
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN
    """For stateful resources (keys, log groups, buckets, databases)."""
    termination_protection: bool = True
    require_account: bool = False
    """True when deploying: the placeholder account is then rejected."""

    def __post_init__(self) -> None:
        validate_stage(self)

    @property
    def construct_id(self) -> str:
        """The Stage id used in CLI selectors: `cdk deploy "Dev/*"`."""
        return self.name.capitalize()

    def stack_name(self, concern: str) -> str:
        return f"{self.project}-{self.name}-{concern}"

    def resource_name(self, suffix: str) -> str:
        return f"{self.project}-{self.name}-{suffix}"

    def log_name(self, suffix: str) -> str:
        """Log group names of the stage: /<project>/<stage>/<suffix>."""
        return f"/{self.project}/{self.name}/{suffix}"

    @property
    def replica_bucket_name(self) -> str:
        """Uploads replica in the DR region: derived, so neither region needs to look it up."""
        return f"{self.resource_name('uploads-dr')}-{self.account}-{self.data.dr_region}"
