"""CDN: the CloudFront distribution in front of the load balancer and the static-assets bucket.

It lives in the stage region beside its origins; from the us-east-1 edge stack it takes only
the web ACL ARN and the certificate ARN, which never change for the lifetime of those
resources (CDK cross-region references, written once, read at deploy time).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as route53_targets
from aws_cdk import aws_s3 as s3
from constructs import Construct

from constructs_lib.durations import days, seconds
from infra.config import StageConfig
from infra.config.edge import PriceClass
from infra.config.services import CdnCache, Exposure
from infra.stacks.base import PlatformStack
from infra.stacks.compute import ComputeStack
from infra.stacks.compute.services import ORIGIN_HEADER
from infra.stacks.data import DataStack
from infra.stacks.edge import EdgeStack

PRICE_CLASSES = {
    PriceClass.PRICE_CLASS_100: cloudfront.PriceClass.PRICE_CLASS_100,
    PriceClass.PRICE_CLASS_200: cloudfront.PriceClass.PRICE_CLASS_200,
    PriceClass.PRICE_CLASS_ALL: cloudfront.PriceClass.PRICE_CLASS_ALL,
}
# Dynamic routes (API, WebSockets): never cached, every viewer header and method passed on.
DYNAMIC: dict[str, Any] = {
    "cache_policy": cloudfront.CachePolicy.CACHING_DISABLED,
    "origin_request_policy": cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
    "allowed_methods": cloudfront.AllowedMethods.ALLOW_ALL,
    "viewer_protocol_policy": cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
}


class CdnStack(PlatformStack):
    def __init__(
        self,
        scope: Construct,
        cfg: StageConfig,
        *,
        edge: EdgeStack,
        compute: ComputeStack,
        data: DataStack,
    ) -> None:
        super().__init__(
            scope, cfg, "cdn", description="CloudFront distribution", cross_region_references=True
        )
        domain = cfg.domain
        origin_secret = data.origin_verify_secret.secret_value.unsafe_unwrap()  # dynamic ref
        alb = (
            origins.HttpOrigin(
                domain.fqdn(domain.origin_host),
                protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
                origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
                custom_headers={ORIGIN_HEADER: origin_secret},
                read_timeout=seconds(60),
            )
            if domain
            else origins.LoadBalancerV2Origin(
                compute.load_balancer,
                protocol_policy=cloudfront.OriginProtocolPolicy.HTTP_ONLY,
                custom_headers={ORIGIN_HEADER: origin_secret},
                read_timeout=seconds(60),
            )
        )
        headers = self._security_headers()
        dynamic = {**DYNAMIC, "origin": alb, "response_headers_policy": headers}
        # Imported without its key: the data stack's bucket and key policies already admit this
        # account's distributions, so CDK must not widen the key policy itself.
        assets = s3.Bucket.from_bucket_attributes(
            self, "Assets", bucket_name=data.assets.bucket_name
        )
        logs = s3.Bucket.from_bucket_attributes(
            self, "AccessLogs", bucket_name=data.access_logs.bucket_name
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=cfg.resource_name("cdn"),
            default_behavior=cloudfront.BehaviorOptions(
                origin=alb,
                cache_policy=cloudfront.CachePolicy.USE_ORIGIN_CACHE_CONTROL_HEADERS_QUERY_STRINGS,
                origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                response_headers_policy=headers,
                compress=True,
            ),
            additional_behaviors={
                **{
                    pattern: cloudfront.BehaviorOptions(**dynamic)
                    for service in cfg.exposed(Exposure.CLOUDFRONT).values()
                    if service.cdn_cache is CdnCache.DISABLED
                    for pattern in service.paths
                    if pattern != "/*"  # the default behaviour
                },
                cfg.edge.static_path: cloudfront.BehaviorOptions(
                    origin=origins.S3BucketOrigin.with_origin_access_control(
                        assets,
                        origin_access_levels=[cloudfront.AccessLevel.READ],
                    ),
                    cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                    viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                    response_headers_policy=headers,
                    compress=True,
                ),
            },
            web_acl_id=edge.web_acl_arn,
            certificate=edge.certificate,
            domain_names=[domain.fqdn(h) for h in domain.cdn_hosts] if domain else None,
            minimum_protocol_version=(
                cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 if domain else None
            ),
            price_class=PRICE_CLASSES[cfg.edge.price_class],
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            enable_logging=True,
            log_bucket=logs,
            log_file_prefix="cloudfront/",
        )
        self._records(compute)
        host = (
            domain.fqdn(domain.cdn_hosts[0])
            if domain
            else self.distribution.distribution_domain_name
        )
        health = cfg.end_to_end_health_path()
        self.outputs = {
            "DistributionDomainName": CfnOutput(
                self, "DistributionDomainName", value=self.distribution.distribution_domain_name
            ),
            "HealthCheckUrl": CfnOutput(
                self,
                "HealthCheckUrl",
                value=f"https://{host}{health}",
                description="What the pipeline calls after deploying the stage",
            ),
            "ApplicationUrl": CfnOutput(
                self, "ApplicationUrl", value=f"https://{host}/", description="The application"
            ),
        }

    def _security_headers(self) -> cloudfront.ResponseHeadersPolicy:
        return cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            response_headers_policy_name=self.cfg.resource_name("security-headers"),
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=days(730),
                    include_subdomains=True,
                    preload=True,
                    override=True,
                ),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
                    override=True,
                ),
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=self.cfg.edge.content_security_policy, override=True
                ),
            ),
        )

    def _records(self, compute: ComputeStack) -> None:
        """CloudFront's hosts, the ALB's origin name, and each directly exposed service's host
        (its load balancer)."""
        domain = self.cfg.domain
        if domain is None:
            return
        zone = self.hosted_zone()
        cdn = route53.RecordTarget.from_alias(route53_targets.CloudFrontTarget(self.distribution))
        alb = route53.RecordTarget.from_alias(
            route53_targets.LoadBalancerTarget(compute.load_balancer)
        )
        targets = dict.fromkeys(domain.cdn_hosts, cdn)
        targets[domain.origin_host] = alb
        for service in self.cfg.exposed(Exposure.ALB).values():
            targets |= dict.fromkeys(service.hosts, alb)
        nlb = compute.entry.nlb
        if nlb is not None:
            target = route53.RecordTarget.from_alias(route53_targets.LoadBalancerTarget(nlb))
            for service in self.cfg.exposed(Exposure.NLB).values():
                targets |= dict.fromkeys(service.hosts, target)
        for host, target in targets.items():
            name = domain.zone_name if host == "@" else host
            label = "apex" if host == "@" else host
            for kind, record in (("A", route53.ARecord), ("AAAA", route53.AaaaRecord)):
                record(self, f"{kind}-{label}", zone=zone, record_name=name, target=target)
