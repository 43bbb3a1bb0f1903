"""Subnet CIDRs from a precomputed, validated plan instead of CDK's implicit allocator.

This is what lets a stage pin exact subnet ranges (10.0.1.0/24, 10.0.11.0/24, ...) and what
makes overlap or size problems a config error rather than a deploy failure.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

import jsii
from aws_cdk import aws_ec2 as ec2


@jsii.implements(ec2.IIpAddresses)
class PlannedIpAddresses:
    def __init__(
        self, vpc_cidr: str, plan: Mapping[tuple[str, str], ipaddress.IPv4Network]
    ) -> None:
        """`plan` maps (subnet group name, AZ) to that subnet's CIDR."""
        self._vpc_cidr = vpc_cidr
        self._plan = dict(plan)

    def allocate_vpc_cidr(self) -> ec2.VpcIpamOptions:
        return ec2.VpcIpamOptions(cidr_block=self._vpc_cidr)

    def allocate_subnets_cidr(
        self,
        *,
        requested_subnets: Sequence[ec2.RequestedSubnet | dict[str, Any]],
        vpc_cidr: str,
    ) -> ec2.SubnetIpamOptions:
        allocated = []
        for request in requested_subnets:
            assert isinstance(request, ec2.RequestedSubnet)  # jsii passes structs, not dicts
            key = (request.configuration.name, request.availability_zone)
            if key not in self._plan:
                raise ValueError(f"no CIDR planned for subnet group {key[0]!r} in {key[1]}")
            allocated.append(ec2.AllocatedSubnet(cidr=str(self._plan[key])))
        return ec2.SubnetIpamOptions(allocated_subnets=allocated)
