"""What the compute stack hands on once it is built: its load balancers, services and
functions in the monitoring inventory (the observability stack alarms on them), and the
CloudFormation outputs the pipeline and operators read after a deploy."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import CfnOutput

from constructs_lib.monitoring import MonitoredFunction, MonitoredService
from infra.stacks.base import pascal

if TYPE_CHECKING:
    from infra.stacks.compute import ComputeStack


def register_for_monitoring(stack: ComputeStack) -> None:
    inventory = stack.inventory
    inventory.load_balancers.append(stack.entry.alb)
    if stack.entry.nlb is not None:
        inventory.network_load_balancers.append(stack.entry.nlb)
    log_groups = stack.service_log_groups
    inventory.services += [
        MonitoredService(
            name=name,
            service=service.service,
            log_group=log_groups[name],
            target_group=service.target_group,
            min_tasks=stack.cfg.services[name].min_tasks,
            max_tasks=stack.cfg.services[name].max_tasks,
        )
        for name, service in stack.services.items()
    ]
    inventory.functions += [
        MonitoredFunction(
            name=name,
            function=handle.function,
            timeout_seconds=handle.config.timeout_seconds,
            dead_letters=handle.dead_letters,
            queue=handle.queue,
        )
        for name, handle in stack.functions.items()
    ]


def build_outputs(stack: ComputeStack) -> dict[str, CfnOutput]:
    """What the pipeline and operators look for after a deploy."""
    outputs = {
        "ClusterName": (stack.cluster.cluster_name, "ECS cluster of the services"),
        "LoadBalancerDnsName": (stack.load_balancer.load_balancer_dns_name, "ALB DNS name"),
    }
    outputs |= {
        f"Repository{pascal(name)}Uri": (
            repository.repository_uri,
            f"Push {name} images here (then set image_tag)",
        )
        for name, repository in stack.repositories.items()
    }
    outputs |= {
        f"Logs{pascal(name)}": (
            log_group.log_group_name,
            f"Log group of the {name} service",
        )
        for name, log_group in stack.service_log_groups.items()
    }
    return {
        key: CfnOutput(stack, key, value=value, description=description)
        for key, (value, description) in outputs.items()
    }
