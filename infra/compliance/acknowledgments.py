"""Every accepted compliance finding of the platform, with the reason it is accepted.

One entry per resource and rule. `path` is the construct path inside the stack named by
`stack` (network, data, compute, edge, observability). An entry whose path no longer exists
fails synth, so this list cannot silently rot. Review additions here like code.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct


@dataclass(frozen=True)
class Ack:
    stack: str
    path: str
    rule: str
    reason: str


ACKNOWLEDGMENTS: tuple[Ack, ...] = (
    Ack(
        "network",
        "Vpc/*Subnet*/Subnet",
        "CloudFormation-Validate::W3010",
        "AZs are pinned per stage on purpose: synth needs no AWS lookup, subnets never move "
        "between AZs, and config validation rejects any AZ outside the stage region.",
    ),
    Ack(
        "network",
        "Vpc/publicSubnet*/DefaultRoute",
        "NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW",
        "Only public subnets route 0.0.0.0/0 to the internet gateway; they hold just the "
        "load balancers and NAT gateways. Services, data and caches sit in private and isolated "
        "subnets with no such route.",
    ),
    Ack(
        "network",
        "SecurityGroups/alb/Resource",
        "AwsSolutions-EC23",
        "The internet-facing load balancer must accept clients on 443 (and 80, redirected to "
        "HTTPS) when load_balancer_ingress_cidrs is 0.0.0.0/0; no other port is open and no "
        "other tier accepts a CIDR. WAF filters requests at CloudFront.",
    ),
)


def apply_acknowledgments(
    stacks: Mapping[str, Stack], acks: tuple[Ack, ...] = ACKNOWLEDGMENTS
) -> None:
    for ack in acks:
        targets = find_constructs(stacks[ack.stack], ack.path)
        if not targets:
            raise ValueError(
                f"acknowledgment {ack.rule} names {ack.stack}/{ack.path}, which matches nothing; "
                "remove or update it in infra/compliance/acknowledgments.py"
            )
        for target in targets:
            Validations.of(target).acknowledge(Acknowledgment(id=ack.rule, reason=ack.reason))


def find_constructs(root: IConstruct, path: str) -> list[IConstruct]:
    """Constructs under `root` at `path`; a segment may use shell wildcards (`publicSubnet*`)."""
    found = [root]
    for segment in path.split("/"):
        found = [
            child
            for parent in found
            for child in parent.node.children
            if fnmatch.fnmatchcase(child.node.id, segment)
        ]
    return found
