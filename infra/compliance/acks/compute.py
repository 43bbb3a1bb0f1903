"""Acknowledged findings of the compute stack, each conditional on what makes it true."""

from __future__ import annotations

from typing import TYPE_CHECKING

from infra.compliance.acks.common import ANY_RESOURCE, inline_policies, lambda_roles, tracing
from infra.compliance.engine import Ack, tree
from infra.config.functions import QueueTrigger
from infra.config.services import Exposure

if TYPE_CHECKING:
    from infra.stacks.compute import ComputeStack


def acks(stack: ComputeStack) -> list[Ack]:
    cfg = stack.cfg
    found = [
        *lambda_roles(stack),
        *inline_policies(stack),
        *tracing(stack, stack.tracing, stack.tracing_daemon),
        *_load_balancers(stack),
        *_functions(stack),
    ]
    for name in cfg.services:
        found.append(
            Ack(
                f"Service-{name}/Task/Resource",
                "AwsSolutions-ECS2",
                "Containers get only non-secret settings (host names, bucket and queue names, "
                "stage) as environment variables; every credential comes from Secrets Manager.",
            )
        )
        if cfg.services[name].expose is not Exposure.INTERNAL:
            found.append(
                Ack(
                    f"Service-{name}/Deployment5xx/Resource",
                    "NIST.800.53.R5-CloudWatchAlarmAction",
                    "This alarm drives ECS deployment rollback (a deployment alarm), not paging; "
                    "the observability stack's alarms on the same service page people.",
                )
            )
    if stack.operator_shell is not None:
        found.append(
            Ack(
                f"{tree(stack).relative(stack.operator_shell)}/Resource",
                ANY_RESOURCE,
                "ECS Exec (compute.exec_enabled, refused where the stage guarantees no operator "
                "shell): Session Manager's channel actions and logs:DescribeLogGroups have no "
                "resource-level scope; this policy holds only them, its log and its key.",
            )
        )
    if tree(stack).child(stack, "EcrAuthorization") is not None:  # made by the first pull grant
        found.append(
            Ack(
                "EcrAuthorization/Resource",
                ANY_RESOURCE,
                "ecr:GetAuthorizationToken (the registry login) has no resource-level scope; "
                "pulls themselves are granted per repository in each execution role.",
            )
        )
    found += [
        Ack(
            f"{name}/Resource",
            ANY_RESOURCE,
            "cloudwatch:PutMetricData has no resource-level permissions; this policy allows it "
            "only for one namespace (cloudwatch:namespace condition) of a declared custom metric.",
        )
        for name in stack.metric_policies
    ]
    return found


def _load_balancers(stack: ComputeStack) -> list[Ack]:
    cfg = stack.cfg
    found = []
    if not cfg.exposed(Exposure.ALB):
        found.append(
            Ack(
                "LoadBalancer/Resource",
                "NIST.800.53.R5-ALBWAFEnabled",
                "No service is exposed on the ALB directly: the WAF web ACL sits at CloudFront "
                "and the ALB admits only CloudFront's prefix list carrying the origin header.",
            )
        )
    if not cfg.compute.load_balancer_deletion_protection:
        found += [
            Ack(
                f"{tree(stack).relative(load_balancer)}/Resource",
                "NIST.800.53.R5-ELBDeletionProtectionEnabled",
                "This stage's load balancers hold no data and are recreated at will (its "
                "guarantees allow it); stages that guarantee deletion protection refuse this.",
            )
            for load_balancer in (stack.load_balancer, stack.entry.nlb)
            if load_balancer is not None
        ]
    if cfg.domain is None:
        found += [
            Ack(
                "LoadBalancer/Http/Resource",
                rule,
                "This stage has no domain, so no certificate: viewers use HTTPS at CloudFront and "
                "this listener admits only CloudFront's prefix list with the origin header. "
                "Stages that guarantee an encrypted origin refuse to synthesize without a domain.",
            )
            for rule in (
                "NIST.800.53.R5-ALBHttpToHttpsRedirection",
                "NIST.800.53.R5-ELBv2ACMCertificateRequired",
            )
        ]
    if cfg.domain is not None and cfg.exposed(Exposure.ALB):
        found.append(
            Ack(
                "LoadBalancer/Redirect80To443/Resource",
                "NIST.800.53.R5-ELBv2ACMCertificateRequired",
                "Port 80 only answers 301 to HTTPS on 443, which presents the ACM certificate; "
                "it serves no content and forwards nothing to the services.",
            )
        )
    return found


def _functions(stack: ComputeStack) -> list[Ack]:
    found = []
    for name, handle in stack.functions.items():
        if isinstance(handle.config.trigger, QueueTrigger):
            found.append(
                Ack(
                    f"Function-{name}/Resource",
                    "NIST.800.53.R5-LambdaDLQ",
                    "Invoked by its SQS event source, not asynchronously: failed messages return "
                    "to the queue and, after max_receive_count, go to its dead-letter queue.",
                )
            )
        else:
            found.append(
                Ack(
                    f"{tree(stack).relative(handle.dead_letters)}/Resource",
                    "AwsSolutions-SQS3",
                    "This queue is itself a dead-letter queue: the function's and its trigger's "
                    "failed asynchronous events land here (alarmed as dead letters).",
                )
            )
        if not handle.config.vpc:
            found.append(
                Ack(
                    f"Function-{name}/Resource",
                    "NIST.800.53.R5-LambdaInsideVPC",
                    f"functions.{name}.vpc is off: the function uses neither the database nor "
                    "the cache (validation requires the VPC for those) and reaches only AWS APIs.",
                )
            )
        runtime = handle.config.runtime
        if runtime is not runtime.newest:
            found.append(
                Ack(
                    f"Function-{name}/Resource",
                    "AwsSolutions-L1",
                    f"functions.{name}.runtime pins {runtime} (the product's choice, older than "
                    f"{runtime.newest}); synth warns about it on every run until it moves.",
                )
            )
    if tree(stack).child(stack, "CredentialRefresh") is not None:  # only where a login is used
        found += [
            Ack(
                "CredentialRefresh/Resource",
                "NIST.800.53.R5-LambdaInsideVPC",
                "The credential refresh calls only Secrets Manager and the ECS API; outside the "
                "VPC it needs no route to them and no network path to the database at all.",
            ),
            Ack(
                "CredentialRefreshFailures/Resource",
                "AwsSolutions-SQS3",
                "This queue is itself a dead-letter queue: rotation events the credential "
                "refresh could not handle land here (alarmed as dead letters).",
            ),
        ]
    return found
