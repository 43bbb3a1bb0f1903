"""Acknowledged findings of the network stack."""

from __future__ import annotations

from typing import TYPE_CHECKING

from infra.compliance.engine import Ack
from infra.config.network import Tier
from infra.config.services import Exposure

if TYPE_CHECKING:
    from infra.stacks.network import NetworkStack

OPEN = ("0.0.0.0/0", "::/0")


def acks(stack: NetworkStack) -> list[Ack]:
    cfg = stack.cfg
    # CDK names each subnet <tier>Subnet<n> for AZ n (the tiers and AZs come from config).
    zones = range(1, len(cfg.network.availability_zones) + 1)
    found = [
        Ack(
            f"Vpc/{tier.value}Subnet{n}/Subnet",
            "CloudFormation-Validate::W3010",
            "AZs are pinned per stage on purpose: synth needs no AWS lookup, subnets never move "
            "between AZs, and config validation rejects any AZ outside the stage region.",
        )
        for tier in Tier
        for n in zones
    ]
    found += [
        Ack(
            f"Vpc/{Tier.PUBLIC.value}Subnet{n}/DefaultRoute",
            "NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW",
            "Only public subnets route 0.0.0.0/0 to the internet gateway; they hold just the load "
            "balancers and NAT gateways. Services, data and caches sit in private and isolated "
            "subnets with no such route.",
        )
        for n in zones
    ]
    anywhere = any(c in OPEN for c in cfg.network.load_balancer_ingress_cidrs)
    if anywhere and cfg.exposed(Exposure.ALB):
        found.append(
            Ack(
                "SecurityGroups/alb/Resource",
                "AwsSolutions-EC23",
                "Services exposed on the ALB are reached by clients directly, from anywhere per "
                "network.load_balancer_ingress_cidrs; only 443 (and 80, redirected) is open, a "
                "regional WAF web ACL filters requests, and no other tier accepts a CIDR.",
            )
        )
    if anywhere and cfg.exposed(Exposure.NLB):
        found.append(
            Ack(
                "SecurityGroups/nlb/Resource",
                "AwsSolutions-EC23",
                "Services exposed on the NLB (WebSockets) are reached by clients directly on "
                "their TLS port from network.load_balancer_ingress_cidrs; only those ports are "
                "open and only the services' own ports lie behind them.",
            )
        )
    return found
