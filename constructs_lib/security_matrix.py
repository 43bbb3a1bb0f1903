"""Every security group of a platform and every allowed flow between them, from one table.

Groups deny all egress by default; each `Flow` opens exactly one TCP port in both directions
(ingress on the target, egress on the source). A tier never receives a CIDR unless the table
says so, so the data tiers can only ever be reached from named application groups.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import aws_ec2 as ec2
from constructs import Construct


@dataclass(frozen=True)
class Cidr:
    """An address range outside the platform's security groups (clients, the internet)."""

    cidr: str


@dataclass(frozen=True)
class PrefixList:
    """A managed prefix list, e.g. CloudFront's origin-facing addresses."""

    prefix_list_id: str


Outside = Cidr | PrefixList


@dataclass(frozen=True)
class Flow:
    source: str | Outside
    """A tier name, a CIDR or a prefix list."""
    target: str | Cidr
    port: int
    why: str


class SecurityGroupMatrix(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        tiers: Mapping[str, str],
        flows: Sequence[Flow],
    ) -> None:
        """`tiers` maps each tier name to what runs in it (becomes the group description)."""
        super().__init__(scope, construct_id)
        _check(tiers, flows)
        self._groups = {
            tier: ec2.SecurityGroup(
                self,
                tier,
                vpc=vpc,
                description=f"{tier} tier: {purpose}",
                allow_all_outbound=False,
            )
            for tier, purpose in tiers.items()
        }
        for flow in flows:
            port = ec2.Port.tcp(flow.port)
            match flow.source, flow.target:
                case str(source), str(target):
                    self._groups[source].connections.allow_to(self._groups[target], port, flow.why)
                case Cidr(cidr), str(target):
                    self._groups[target].add_ingress_rule(ec2.Peer.ipv4(cidr), port, flow.why)
                case PrefixList(prefix_list_id), str(target):
                    self._groups[target].add_ingress_rule(
                        ec2.Peer.prefix_list(prefix_list_id), port, flow.why
                    )
                case str(source), Cidr(cidr):
                    self._groups[source].add_egress_rule(ec2.Peer.ipv4(cidr), port, flow.why)

    def group(self, tier: str) -> ec2.ISecurityGroup:
        return self._groups[tier]

    @property
    def tiers(self) -> tuple[str, ...]:
        return tuple(self._groups)


def _check(tiers: Mapping[str, str], flows: Sequence[Flow]) -> None:
    seen: set[tuple[object, object, int]] = set()
    for flow in flows:
        key = (flow.source, flow.target, flow.port)
        if key in seen:
            raise ValueError(f"security matrix: flow {key} is listed twice")
        seen.add(key)
        if not isinstance(flow.source, str) and not isinstance(flow.target, str):
            raise ValueError(f"security matrix: flow {key} names no tier")
        for end in (flow.source, flow.target):
            if isinstance(end, str) and end not in tiers:
                raise ValueError(f"security matrix: flow {key} names unknown tier {end!r}")
