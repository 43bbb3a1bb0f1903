"""Stage configuration checks: every message names the field, the bad value and a valid choice.

All problems of a stage are collected and raised together, so one run shows every mistake.
"""

from __future__ import annotations

import ipaddress
import re
from functools import cache
from typing import TYPE_CHECKING

from aws_cdk import region_info

from constructs_lib.retention import RETENTION_BY_DAYS
from infra.config.compute_validation import compute_problems
from infra.config.data_validation import data_problems
from infra.config.edge_validation import edge_problems
from infra.config.observability_validation import observability_problems
from infra.config.primitives import ACCOUNT_ID, PLACEHOLDER_ACCOUNT, ConfigError, Tier

if TYPE_CHECKING:
    from infra.config.model import NetworkConfig, StageConfig

STAGE_NAMES = ("dev", "staging", "prod")
GATEWAY_ENDPOINTS = frozenset({"s3", "dynamodb"})
INTERFACE_ENDPOINTS = frozenset(
    {
        "ecr.api",
        "ecr.dkr",
        "ecs",
        "ecs-agent",
        "ecs-telemetry",
        "secretsmanager",
        "logs",
        "monitoring",
        "ssm",
        "ssmmessages",
        "ec2messages",
        "kms",
        "sts",
        "sqs",
        "sns",
        "events",
        "lambda",
        "xray",
        "elasticache",
        "rds",
        "execute-api",
    }
)
_PROJECT = re.compile(r"^[a-z][a-z0-9-]{1,19}$")
LARGEST_PREFIX, SMALLEST_PREFIX = 16, 28  # what Amazon VPC accepts for a VPC or subnet
MIN_AZS = 2
MAX_PORT = 65535


@cache
def known_regions() -> frozenset[str]:
    return frozenset(info.name for info in region_info.RegionInfo.regions)


def retention_days() -> tuple[int, ...]:
    return tuple(RETENTION_BY_DAYS)


def validate_stage(cfg: StageConfig) -> None:
    problems = [f"{cfg.name}.{p}" for p in _stage_problems(cfg)]
    if problems:
        raise ConfigError(*problems)


def _stage_problems(cfg: StageConfig) -> list[str]:
    problems: list[str] = []
    if cfg.name not in STAGE_NAMES:
        problems.append(f"name: unknown stage {cfg.name!r}; valid stages: {', '.join(STAGE_NAMES)}")
    if not _PROJECT.match(cfg.project):
        problems.append(
            f"project: {cfg.project!r} must be 2-20 lowercase letters, digits or hyphens, "
            "starting with a letter (it prefixes stack, bucket and log-group names)"
        )
    if not ACCOUNT_ID.match(cfg.account):
        problems.append(f"account: {cfg.account!r} is not a 12-digit AWS account id")
    elif cfg.require_account and cfg.account == PLACEHOLDER_ACCOUNT:
        problems.append(
            "account: no account set for deployment (only the offline placeholder); set it with "
            f"`-c {cfg.name}.account=123456789012` or PLATFORM_{cfg.name.upper()}_ACCOUNT"
        )
    if cfg.region not in known_regions():
        problems.append(
            f"region: unknown region {cfg.region!r}; use a region code such as ap-northeast-2"
        )
    if cfg.log_retention_days not in retention_days():
        problems.append(_retention_problem("log_retention_days", cfg.log_retention_days))
    problems += _ports_problems(cfg)
    problems += compute_problems(cfg.compute, stage=cfg.name, region=cfg.region)
    problems += edge_problems(cfg.edge)
    problems += observability_problems(cfg.observability)
    problems += data_problems(
        cfg.data, stage=cfg.name, region=cfg.region, known_regions=known_regions()
    )
    if cfg.compute.websocket_entry == "nlb" and not cfg.network.load_balancer_ingress_cidrs:
        problems.append(
            "network.load_balancer_ingress_cidrs: a WebSocket NLB is reached by clients "
            "directly; list who may connect (e.g. 0.0.0.0/0)"
        )
    if cfg.network.load_balancer_ingress_cidrs and cfg.compute.domain is None:
        problems.append(
            "network.load_balancer_ingress_cidrs: direct client access needs HTTPS on the load "
            "balancer; configure compute.domain (certificate) or leave it empty (CloudFront only)"
        )
    if cfg.ports.database != cfg.data.database.engine.port:
        problems.append(
            f"ports.database: {cfg.ports.database}, but {cfg.data.database.engine.value} listens "
            f"on {cfg.data.database.engine.port}; set them to match"
        )
    problems += [f"network.{p}" for p in _network_problems(cfg.network, cfg.region)]
    return problems


def _retention_problem(field: str, days: int) -> str:
    return (
        f"{field}: {days} is not a CloudWatch Logs retention period; "
        f"valid: {', '.join(map(str, retention_days()))}"
    )


def _ports_problems(cfg: StageConfig) -> list[str]:
    ports = vars(cfg.ports)
    problems = [
        f"ports.{name}: {port} is outside 1-{MAX_PORT}"
        for name, port in ports.items()
        if not 0 < port <= MAX_PORT
    ]
    app_ports = {name: ports[name] for name in ("web", "api", "ws")}
    data_ports = {ports["database"], ports["cache"]}
    problems += [
        f"ports.{name}: {port} is also a data-tier port; give application containers their own port"
        for name, port in app_ports.items()
        if port in data_ports
    ]
    if len(set(app_ports.values())) != len(app_ports):
        problems.append(
            f"ports: web/api/ws share a port ({app_ports}); give each service its own so the "
            "security matrix and health checks stay unambiguous"
        )
    if ports["database"] == ports["cache"]:
        problems.append("ports.cache: must differ from ports.database")
    return problems


def _parse_network(value: str, field: str, problems: list[str]) -> ipaddress.IPv4Network | None:
    try:
        net = ipaddress.IPv4Network(value)
    except ValueError as err:
        problems.append(
            f"{field}: {value!r} is not an IPv4 network in CIDR notation ({err}); "
            "write it like 10.0.0.0/16, with the host bits zero"
        )
        return None
    return net


def _network_problems(net: NetworkConfig, region: str) -> list[str]:
    problems = _az_problems(net, region) + _endpoint_problems(net)
    if net.flow_log_retention_days not in retention_days():
        problems.append(_retention_problem("flow_log_retention_days", net.flow_log_retention_days))
    for index, cidr in enumerate(net.load_balancer_ingress_cidrs):
        _parse_network(cidr, f"load_balancer_ingress_cidrs[{index}]", problems)
    vpc = _vpc_network(net.vpc_cidr, problems)
    subnet_problems = _subnet_problems(net, vpc)
    problems += subnet_problems
    if vpc is None or problems:
        return problems  # the subnet plan needs sound inputs
    try:
        plan = net.subnet_plan()
    except ConfigError as err:
        return list(err.problems)
    return _overlap_problems(plan)


def _az_problems(net: NetworkConfig, region: str) -> list[str]:
    azs = net.availability_zones
    problems = []
    if len(azs) < MIN_AZS:
        problems.append(
            f"availability_zones: {list(azs)} has {len(azs)} AZ(s); at least {MIN_AZS} are needed "
            "for Multi-AZ load balancers, databases and caches"
        )
    if len(set(azs)) != len(azs):
        problems.append(f"availability_zones: {list(azs)} lists an AZ twice")
    az_pattern = re.compile(rf"^{re.escape(region)}[a-z]$")
    problems += [
        f"availability_zones: {az!r} is not in region {region}; pin AZs such as {region}a, "
        f"{region}c (override with -c <stage>.availability_zones=...)"
        for az in azs
        if not az_pattern.match(az)
    ]
    if not 1 <= net.nat_gateways <= max(len(azs), 1):
        problems.append(
            f"nat_gateways: {net.nat_gateways} must be between 1 (private subnets need a route "
            f"out) and the number of AZs ({len(azs)})"
        )
    return problems


def _endpoint_problems(net: NetworkConfig) -> list[str]:
    problems = [
        f"gateway_endpoints: unknown {name!r}; valid: {', '.join(sorted(GATEWAY_ENDPOINTS))}"
        for name in net.gateway_endpoints
        if name not in GATEWAY_ENDPOINTS
    ]
    problems += [
        f"interface_endpoints: unknown {name!r}; valid: {', '.join(sorted(INTERFACE_ENDPOINTS))}"
        for name in net.interface_endpoints
        if name not in INTERFACE_ENDPOINTS
    ]
    if len(set(net.interface_endpoints)) != len(net.interface_endpoints):
        problems.append(
            f"interface_endpoints: {list(net.interface_endpoints)} lists a service twice"
        )
    return problems


def _vpc_network(cidr: str, problems: list[str]) -> ipaddress.IPv4Network | None:
    vpc = _parse_network(cidr, "vpc_cidr", problems)
    if vpc is None:
        return None
    if not LARGEST_PREFIX <= vpc.prefixlen <= SMALLEST_PREFIX:
        problems.append(
            f"vpc_cidr: /{vpc.prefixlen} is outside the /{LARGEST_PREFIX}-/{SMALLEST_PREFIX} "
            "range Amazon VPC accepts"
        )
        return None
    if not vpc.is_private:
        problems.append(f"vpc_cidr: {vpc} is not a private (RFC 1918) range; use e.g. 10.0.0.0/16")
    return vpc


def _subnet_problems(net: NetworkConfig, vpc: ipaddress.IPv4Network | None) -> list[str]:
    problems: list[str] = []
    azs = net.availability_zones
    for tier in Tier:
        cfg = net.tier(tier)
        if cfg.cidrs and len(cfg.cidrs) != len(azs):
            problems.append(
                f"{tier.value}.cidrs: {len(cfg.cidrs)} CIDR(s) for {len(azs)} AZs; give exactly "
                "one per availability zone, in AZ order"
            )
        for index, cidr in enumerate(cfg.cidrs):
            subnet = _parse_network(cidr, f"{tier.value}.cidrs[{index}]", problems)
            if subnet is not None and vpc is not None and not subnet.subnet_of(vpc):
                problems.append(
                    f"{tier.value}.cidrs[{index}]: {subnet} lies outside vpc_cidr {vpc}"
                )
        if (
            not cfg.cidrs
            and vpc is not None
            and not vpc.prefixlen <= cfg.cidr_mask <= SMALLEST_PREFIX
        ):
            problems.append(
                f"{tier.value}.cidr_mask: /{cfg.cidr_mask} must be between the VPC's "
                f"/{vpc.prefixlen} and /{SMALLEST_PREFIX} (the smallest subnet AWS allows)"
            )
    return problems


def _overlap_problems(plan: dict[tuple[Tier, str], ipaddress.IPv4Network]) -> list[str]:
    subnets = list(plan.items())
    return [
        f"{tier_b.value}.cidrs: {net_b} ({az_b}) overlaps {net_a} ({tier_a.value}, {az_a}); "
        "every subnet needs its own range"
        for index, ((tier_a, az_a), net_a) in enumerate(subnets)
        for (tier_b, az_b), net_b in subnets[index + 1 :]
        if net_a.overlaps(net_b)
    ]
