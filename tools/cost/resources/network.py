"""VPC and load balancing: NAT gateways, public IPv4 addresses, interface endpoints, ALB/NLB."""

from __future__ import annotations

from tools.cost.pricing import HOURS_PER_MONTH
from tools.cost.template import CostLine, Ctx, Free, NotPriced, Resource, render

_MIN_LB_SUBNETS = 2  # an ALB needs two AZs; used when the subnet list is not literal


def nat_gateway(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    # Its Elastic IP is a separate AWS::EC2::EIP resource, priced there.
    return [
        ctx.line(logical_id, "NAT gateway hours", HOURS_PER_MONTH, "hours", "ec2.nat_gateway.hour"),
        ctx.usage(
            logical_id,
            "NAT gateway data processed",
            "nat_gb_processed_per_month",
            "GB",
            "ec2.nat_gateway.gb_processed",
            group=False,
        ),
    ]


def elastic_ip(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    # Every public IPv4 address is billed hourly, attached or idle.
    return [
        ctx.line(
            logical_id,
            "public IPv4 address hours",
            HOURS_PER_MONTH,
            "hours",
            "ec2.public_ipv4.hour",
            group=True,
        )
    ]


def vpc_endpoint(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    props = ctx.props(logical_id)
    kind = props.get("VpcEndpointType", "Gateway")
    if kind == "Gateway":
        raise Free("gateway endpoints (S3, DynamoDB) are free")
    if kind != "Interface":
        raise NotPriced(f"VpcEndpointType {kind} is not modelled")
    subnets = props.get("SubnetIds")
    if not isinstance(subnets, list) or not subnets:
        raise NotPriced("SubnetIds is not a literal list, so the number of AZs is unknown")
    service = (render(props.get("ServiceName"), ctx.stack) or "?").split(".", 3)[-1]
    return [
        ctx.line(
            logical_id,
            f"interface endpoint AZ-hours ({len(subnets)} AZs each)",
            HOURS_PER_MONTH * len(subnets),
            "AZ-hours",
            "ec2.vpc_endpoint.interface.az_hour",
            group=True,
            note=service,
        ),
        ctx.usage(
            logical_id,
            "interface endpoint data processed",
            "vpce_gb_per_endpoint_per_month",
            "GB",
            "ec2.vpc_endpoint.gb_processed",
        ),
    ]


def load_balancer(ctx: Ctx, logical_id: str, resource: Resource) -> list[CostLine]:
    props = ctx.props(logical_id)
    kind = props.get("Type", "application")
    capacity = {
        "application": ("LCU", "alb_lcu_per_hour"),
        "network": ("NLCU", "nlb_nlcu_per_hour"),
    }
    if kind not in capacity:
        raise NotPriced(f"load balancer Type {kind} is not modelled")
    unit, assumption = capacity[kind]
    per_hour = ctx.assume.number(assumption)
    lines = [
        ctx.line(
            logical_id, f"{kind} load balancer hours", HOURS_PER_MONTH, "hours", f"elb.{kind}.hour"
        ),
        ctx.line(
            logical_id,
            f"{kind} load balancer {unit}-hours",
            per_hour * HOURS_PER_MONTH,
            f"{unit}-hours",
            f"elb.{kind}.{unit.lower()}_hour",
            note=f"assumes {assumption}",
        ),
    ]
    if props.get("Scheme", "internet-facing") == "internet-facing":
        subnets = props.get("Subnets") or props.get("SubnetMappings")
        count = len(subnets) if isinstance(subnets, list) else _MIN_LB_SUBNETS
        note = f"one per AZ ({count})" if isinstance(subnets, list) else "subnets unknown: 2 AZs"
        lines += [
            ctx.line(
                logical_id,
                "load balancer public IPv4 address hours",
                HOURS_PER_MONTH * count,
                "hours",
                "ec2.public_ipv4.hour",
                note=note,
            ),
            ctx.usage(
                logical_id,
                "data transfer out to the internet",
                "lb_internet_out_gb_per_month",
                "GB",
                "ec2.data_transfer.internet_out.gb",
                group=False,
            ),
        ]
    return lines
