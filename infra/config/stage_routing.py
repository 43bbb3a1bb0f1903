"""A stage's service checks: names, ports, repositories and how requests reach each service
(ALB path and host rules, rule priorities, paths shadowed by an earlier broader rule, direct
ALB/NLB exposure, hosts under the domain)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from infra.config.data import NAME
from infra.config.network import FUNCTION_GROUP_PREFIX, PLATFORM_GROUPS
from infra.config.services import Exposure, ServiceConfig

if TYPE_CHECKING:
    from infra.config.stage import StageConfig


def service_problems(cfg: StageConfig) -> list[str]:
    problems = [
        f"services.{name}: names are 1-24 lowercase letters, digits or hyphens, starting "
        "with a letter (e.g. backend)"
        for name in cfg.services
        if not NAME.match(name)
    ]
    problems += [
        f"services.{name}: the name is taken by a platform security group "
        f"({', '.join(sorted(PLATFORM_GROUPS))}, {FUNCTION_GROUP_PREFIX}*); e.g. {name}-app"
        for name in cfg.services
        if name in PLATFORM_GROUPS or name.startswith(FUNCTION_GROUP_PREFIX)
    ]
    if not cfg.exposed(Exposure.CLOUDFRONT):
        problems.append(
            "services: at least one service must be exposed through cloudfront (the "
            "distribution's default origin); e.g. [services.web] expose = 'cloudfront'"
        )
    data_ports = {
        cfg.data.database.port: "the database",
        cfg.data.cache.port: "the cache",
    }
    ports = Counter(s.port for s in cfg.services.values())
    for name, service in cfg.services.items():
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
    problems += _routing_problems(cfg)
    repositories = Counter(cfg.repository_name(n) for n in cfg.services)
    problems += [
        f"services.{name}.repository: {cfg.repository_name(name)!r} is used by another service"
        for name in cfg.services
        if repositories[cfg.repository_name(name)] > 1
    ]
    return problems


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


def _routing_problems(cfg: StageConfig) -> list[str]:
    problems = []
    routed = cfg.exposed(Exposure.CLOUDFRONT, Exposure.ALB)
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
    problems += _shadowed(routed)
    if cfg.direct_clients and cfg.domain is None:
        problems.append(
            "domain: services exposed on the ALB or an NLB are reached at <host>.<zone> over "
            "TLS; configure domain.zone_name and domain.hosted_zone_id"
        )
    if cfg.direct_clients and not cfg.network.load_balancer_ingress_cidrs:
        problems.append(
            "network.load_balancer_ingress_cidrs: services exposed on the ALB or an NLB are "
            "reached by clients directly; list who may connect (e.g. 0.0.0.0/0)"
        )
    if cfg.network.load_balancer_ingress_cidrs and not cfg.direct_clients:
        problems.append(
            "network.load_balancer_ingress_cidrs: no service is exposed on the ALB or an "
            "NLB; leave it empty (CloudFront reaches the ALB through its prefix list)"
        )
    nlb_ports = Counter(s.nlb_port for s in cfg.exposed(Exposure.NLB).values())
    problems += [
        f"services.{name}.nlb_port: {s.nlb_port} is used by another NLB service"
        for name, s in cfg.exposed(Exposure.NLB).items()
        if nlb_ports[s.nlb_port] > 1
    ]
    if cfg.compute.prefix_list(cfg.region) is None:
        problems.append(
            f"compute.cloudfront_prefix_list_id: no CloudFront origin-facing prefix list is "
            f"known for {cfg.region}; set it (aws ec2 describe-managed-prefix-lists)"
        )
    if cfg.domain is not None:
        hosts = [*cfg.domain.cdn_hosts, cfg.domain.origin_host]
        hosts += [h for s in cfg.services.values() for h in s.hosts]
        problems += [
            f"domain: host {host!r} is used twice (CloudFront, the origin and each directly "
            "exposed service need their own)"
            for host, count in Counter(hosts).items()
            if count > 1
        ]
    return problems
