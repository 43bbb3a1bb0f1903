"""Network configuration: VPC, subnet plan, NAT, endpoints, flow logs, direct client ranges."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from enum import StrEnum

from pydantic import Field

from infra.config import aws
from infra.config.base import ConfigError, Model

MIN_AZS = 2


PLATFORM_GROUPS = frozenset(
    {"alb", "nlb", "database", "cache", "rotation", "db-admin", "endpoints", "restore-test"}
)
"""Security groups of the platform itself; services are named groups too, so not these."""
FUNCTION_GROUP_PREFIX = "fn-"


class Tier(StrEnum):
    """Subnet tiers, in allocation order."""

    PUBLIC = "public"  # load balancers, NAT gateways
    PRIVATE = "private"  # services and functions, egress through NAT
    ISOLATED = "isolated"  # databases and caches, no route out


class SubnetTier(Model):
    """Size of the tier's subnet in each AZ, or explicit CIDRs (one per AZ, in AZ order)."""

    cidr_mask: int = 24
    cidrs: tuple[str, ...] = Field(default=(), examples=[["10.0.1.0/24", "10.0.2.0/24"]])


class NetworkConfig(Model):
    vpc_cidr: str = Field(default="10.0.0.0/16", examples=["10.0.0.0/16"])
    availability_zones: tuple[str, ...] = Field(
        default=("ap-northeast-2a", "ap-northeast-2c"),
        examples=["ap-northeast-2a,ap-northeast-2c"],
    )
    nat_gateways: int = Field(default=2, examples=[2])
    public: SubnetTier = SubnetTier(cidr_mask=24)
    private: SubnetTier = SubnetTier(cidr_mask=20)
    isolated: SubnetTier = SubnetTier(cidr_mask=24)
    gateway_endpoints: tuple[str, ...] = ("s3", "dynamodb")
    interface_endpoints: tuple[str, ...] = Field(default=(), examples=["ecr.api,ecr.dkr"])
    """Service names as in com.amazonaws.<region>.<name>, e.g. "ecr.api"."""
    flow_log_retention_days: int = 30
    load_balancer_ingress_cidrs: tuple[str, ...] = Field(default=(), examples=["0.0.0.0/0"])
    """Clients allowed to reach load balancers directly (services exposed on the ALB or an NLB);
    CloudFront always reaches the ALB through its managed prefix list."""

    def tier(self, tier: Tier) -> SubnetTier:
        return {Tier.PUBLIC: self.public, Tier.PRIVATE: self.private, Tier.ISOLATED: self.isolated}[
            tier
        ]

    def has_endpoint(self, name: str) -> bool:
        return name in self.interface_endpoints or name in self.gateway_endpoints

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

    def problems(self) -> list[str]:
        problems = self._endpoint_problems()
        if self.flow_log_retention_days not in aws.LOG_RETENTION_DAYS:
            problems.append(
                retention_problem("flow_log_retention_days", self.flow_log_retention_days)
            )
        for index, cidr in enumerate(self.load_balancer_ingress_cidrs):
            parse_network(cidr, f"load_balancer_ingress_cidrs[{index}]", problems)
        vpc = self._vpc_network(problems)
        problems += self._subnet_problems(vpc)
        if vpc is None or problems:
            return problems  # the subnet plan needs sound inputs
        try:
            plan = self.subnet_plan()
        except ConfigError as err:
            return list(err.problems)
        return _overlap_problems(plan)

    def region_problems(self, region: str) -> list[str]:
        azs = self.availability_zones
        problems = []
        if len(azs) < MIN_AZS:
            problems.append(
                f"availability_zones: {list(azs)} has {len(azs)} AZ(s); at least {MIN_AZS} are "
                "needed for Multi-AZ load balancers, databases and caches"
            )
        if len(set(azs)) != len(azs):
            problems.append(f"availability_zones: {list(azs)} lists an AZ twice")
        az_pattern = re.compile(rf"^{re.escape(region)}[a-z]$")
        problems += [
            f"availability_zones: {az!r} is not in region {region}; pin AZs such as {region}a, "
            f"{region}c (override with -c <stage>.network.availability_zones=...)"
            for az in azs
            if not az_pattern.match(az)
        ]
        if not 1 <= self.nat_gateways <= max(len(azs), 1):
            problems.append(
                f"nat_gateways: {self.nat_gateways} must be between 1 (private subnets need a "
                f"route out) and the number of AZs ({len(azs)})"
            )
        return problems

    def _endpoint_problems(self) -> list[str]:
        valid = ", ".join(sorted(aws.GATEWAY_ENDPOINTS))
        problems = [
            f"gateway_endpoints: unknown {name!r}; valid: {valid}"
            for name in self.gateway_endpoints
            if name not in aws.GATEWAY_ENDPOINTS
        ]
        problems += [
            f"interface_endpoints: unknown {name!r}; valid: "
            f"{', '.join(sorted(aws.INTERFACE_ENDPOINTS))}"
            for name in self.interface_endpoints
            if name not in aws.INTERFACE_ENDPOINTS
        ]
        if len(set(self.interface_endpoints)) != len(self.interface_endpoints):
            problems.append(
                f"interface_endpoints: {list(self.interface_endpoints)} lists a service twice"
            )
        return problems

    def _vpc_network(self, problems: list[str]) -> ipaddress.IPv4Network | None:
        vpc = parse_network(self.vpc_cidr, "vpc_cidr", problems)
        if vpc is None:
            return None
        if not aws.LARGEST_PREFIX <= vpc.prefixlen <= aws.SMALLEST_PREFIX:
            problems.append(
                f"vpc_cidr: /{vpc.prefixlen} is outside the /{aws.LARGEST_PREFIX}-"
                f"/{aws.SMALLEST_PREFIX} range Amazon VPC accepts"
            )
            return None
        if not vpc.is_private:
            problems.append(
                f"vpc_cidr: {vpc} is not a private (RFC 1918) range; use e.g. 10.0.0.0/16"
            )
        return vpc

    def _subnet_problems(self, vpc: ipaddress.IPv4Network | None) -> list[str]:
        problems: list[str] = []
        azs = self.availability_zones
        for tier in Tier:
            cfg = self.tier(tier)
            if cfg.cidrs and len(cfg.cidrs) != len(azs):
                problems.append(
                    f"{tier.value}.cidrs: {len(cfg.cidrs)} CIDR(s) for {len(azs)} AZs; give "
                    "exactly one per availability zone, in AZ order"
                )
            for index, cidr in enumerate(cfg.cidrs):
                subnet = parse_network(cidr, f"{tier.value}.cidrs[{index}]", problems)
                if subnet is not None and vpc is not None and not subnet.subnet_of(vpc):
                    problems.append(
                        f"{tier.value}.cidrs[{index}]: {subnet} lies outside vpc_cidr {vpc}"
                    )
            if (
                not cfg.cidrs
                and vpc is not None
                and not vpc.prefixlen <= cfg.cidr_mask <= aws.SMALLEST_PREFIX
            ):
                problems.append(
                    f"{tier.value}.cidr_mask: /{cfg.cidr_mask} must be between the VPC's "
                    f"/{vpc.prefixlen} and /{aws.SMALLEST_PREFIX} (the smallest subnet AWS allows)"
                )
        return problems


def retention_problem(field: str, days: int) -> str:
    return (
        f"{field}: {days} is not a CloudWatch Logs retention period; "
        f"valid: {', '.join(map(str, aws.LOG_RETENTION_DAYS))}"
    )


def parse_network(value: str, field: str, problems: list[str]) -> ipaddress.IPv4Network | None:
    try:
        return ipaddress.IPv4Network(value)
    except ValueError as err:
        problems.append(
            f"{field}: {value!r} is not an IPv4 network in CIDR notation ({err}); "
            "write it like 10.0.0.0/16, with the host bits zero"
        )
        return None


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


def _overlap_problems(plan: dict[tuple[Tier, str], ipaddress.IPv4Network]) -> list[str]:
    subnets = list(plan.items())
    return [
        f"{tier_b.value}.cidrs: {net_b} ({az_b}) overlaps {net_a} ({tier_a.value}, {az_a}); "
        "every subnet needs its own range"
        for index, ((tier_a, az_a), net_a) in enumerate(subnets)
        for (tier_b, az_b), net_b in subnets[index + 1 :]
        if net_a.overlaps(net_b)
    ]
