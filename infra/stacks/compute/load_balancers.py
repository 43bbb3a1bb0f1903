"""How clients get in: the ALB (CloudFront's origin, and the direct entry of ALB-exposed
services) and, when a service asks for it, a TLS network load balancer.

Without a domain the ALB answers CloudFront only, on HTTP 80 (its prefix list and the secret
origin header); with one it listens on HTTPS 443 with a certificate for origin.<zone> and every
directly exposed host, TLS 1.3 policy, and anything else gets 403.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_wafv2 as wafv2

from constructs_lib.durations import seconds
from infra.config.services import Exposure
from infra.stacks.compute.services import ORIGIN_HEADER

if TYPE_CHECKING:
    from infra.stacks.compute import ComputeStack

PUBLIC = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)


@dataclass
class Entry:
    alb: elbv2.ApplicationLoadBalancer
    listener: elbv2.ApplicationListener
    certificate: acm.ICertificate | None
    nlb: elbv2.NetworkLoadBalancer | None = None
    nlb_listeners: dict[str, elbv2.NetworkListener] = field(default_factory=dict)
    """Service name -> its TLS listener on the NLB."""


def build_entry(stack: ComputeStack) -> Entry:
    cfg = stack.cfg
    alb = elbv2.ApplicationLoadBalancer(
        stack,
        "LoadBalancer",
        load_balancer_name=cfg.resource_name("alb"),
        vpc=stack.cluster.vpc,
        internet_facing=True,
        vpc_subnets=PUBLIC,
        security_group=stack.security_groups.group("alb"),
        drop_invalid_header_fields=True,
        deletion_protection=cfg.compute.load_balancer_deletion_protection,
        idle_timeout=seconds(cfg.compute.idle_timeout_seconds),
    )
    access_logs(stack, alb, "alb")
    denied = elbv2.ListenerAction.fixed_response(
        403, content_type="text/plain", message_body="Forbidden"
    )
    if cfg.domain is None:
        listener = alb.add_listener("Http", port=80, open=False, default_action=denied)
        return Entry(alb, listener, None)
    certificate = _certificate(stack)
    listener = alb.add_listener(
        "Https",
        port=443,
        open=False,
        certificates=[certificate],
        ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
        default_action=denied,
    )
    if cfg.exposed(Exposure.ALB):  # clients that type http:// are sent to HTTPS
        alb.add_redirect(source_port=80, target_port=443, open=False)
        _regional_waf(stack, alb)
    entry = Entry(alb, listener, certificate)
    if cfg.exposed(Exposure.NLB):
        _network_entry(stack, entry)
    return entry


def _certificate(stack: ComputeStack) -> acm.Certificate:
    """The load balancers' certificate: CloudFront's origin name and every directly exposed
    host, DNS-validated in the stage's zone."""
    domain = stack.cfg.domain
    assert domain is not None
    names = [domain.fqdn(domain.origin_host)]
    names += [
        domain.fqdn(host)
        for service in stack.cfg.exposed(Exposure.ALB, Exposure.NLB).values()
        for host in service.hosts
    ]
    return stack.dns_certificate(names)


def _network_entry(stack: ComputeStack, entry: Entry) -> None:
    """TLS on each NLB service's port; clients connect directly (reference architecture 4)."""
    cfg = stack.cfg
    assert entry.certificate is not None  # validation: NLB services need the domain
    nlb = elbv2.NetworkLoadBalancer(
        stack,
        "WebSocketLoadBalancer",
        load_balancer_name=cfg.resource_name("nlb"),
        vpc=stack.cluster.vpc,
        internet_facing=True,
        vpc_subnets=PUBLIC,
        security_groups=[stack.security_groups.group("nlb")],
        cross_zone_enabled=True,
        deletion_protection=cfg.compute.load_balancer_deletion_protection,
    )
    access_logs(stack, nlb, "nlb")
    entry.nlb = nlb
    for name, service in cfg.exposed(Exposure.NLB).items():
        entry.nlb_listeners[name] = nlb.add_listener(
            f"Tls-{name}",
            port=service.nlb_port,
            protocol=elbv2.Protocol.TLS,
            certificates=[elbv2.ListenerCertificate.from_certificate_manager(entry.certificate)],
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
        )


def _regional_waf(stack: ComputeStack, alb: elbv2.ApplicationLoadBalancer) -> None:
    """Clients that reach the ALB directly pass the same WAF rules as CloudFront's. CloudFront's
    own requests (Host: the origin name) passed the edge ACL already and come from CloudFront's
    addresses, which per-IP rules here would count as one client: they are allowed first. A
    client faking that host gains nothing: those listener rules also require CloudFront's
    secret header."""
    from infra.stacks.edge import waf_rules, web_acl  # noqa: PLC0415 (edge imports no compute)

    domain = stack.cfg.domain
    assert domain is not None  # services exposed on the ALB require one
    from_cloudfront = wafv2.CfnWebACL.StatementProperty(
        byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(single_header={"Name": "host"}),
            positional_constraint="EXACTLY",
            search_string=domain.fqdn(domain.origin_host),
            text_transformations=[
                wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="LOWERCASE")
            ],
        )
    )
    acl = web_acl(
        stack,
        "Regional",
        name=stack.cfg.resource_name("regional"),
        scope="REGIONAL",
        rules=waf_rules(stack.cfg.edge.waf, passed=from_cloudfront),
        key=lambda: stack.key,
        # And CloudFront's secret origin header, which every request from it carries here.
        redacted_headers=[ORIGIN_HEADER.lower()],
    )
    wafv2.CfnWebACLAssociation(
        stack,
        "RegionalWebAclAssociation",
        resource_arn=alb.load_balancer_arn,
        web_acl_arn=acl.attr_arn,
    )


def access_logs(stack: ComputeStack, load_balancer: elbv2.BaseLoadBalancer, prefix: str) -> None:
    """Set as attributes: the data stack's bucket policy already admits log delivery under alb/
    and nlb/, so CDK's log_access_logs must not add grants of its own."""
    load_balancer.set_attribute("access_logs.s3.enabled", "true")
    load_balancer.set_attribute("access_logs.s3.bucket", stack.data.access_logs.bucket_name)
    load_balancer.set_attribute("access_logs.s3.prefix", prefix)
