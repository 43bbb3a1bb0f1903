"""CDN: the CloudFront distribution in front of the load balancer and the static-assets bucket.

It lives in the stage region beside its origins; from the us-east-1 edge stack it takes only
the web ACL ARN and the certificate ARN, which never change for the lifetime of those
resources (CDK cross-region references, written once, read at deploy time).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as route53_targets
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import StageConfig
from infra.stacks.base import PlatformStack
from infra.stacks.compute import ORIGIN_HEADER, ORIGIN_HOST, ComputeStack
from infra.stacks.data import DataStack
from infra.stacks.edge import EdgeStack, viewer_hosts

PRICE_CLASSES = {
    "PriceClass_100": cloudfront.PriceClass.PRICE_CLASS_100,
    "PriceClass_200": cloudfront.PriceClass.PRICE_CLASS_200,
    "PriceClass_All": cloudfront.PriceClass.PRICE_CLASS_ALL,
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
        domain = cfg.compute.domain
        origin_secret = data.origin_verify_secret.secret_value.unsafe_unwrap()  # dynamic ref
        alb = (
            origins.HttpOrigin(
                f"{ORIGIN_HOST}.{domain.zone_name}",
                protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
                origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
                custom_headers={ORIGIN_HEADER: origin_secret},
                read_timeout=Duration.seconds(60),
            )
            if domain
            else origins.LoadBalancerV2Origin(
                compute.load_balancer,
                protocol_policy=cloudfront.OriginProtocolPolicy.HTTP_ONLY,
                custom_headers={ORIGIN_HEADER: origin_secret},
                read_timeout=Duration.seconds(60),
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
                    for service in ("api", "ws")
                    if (config := cfg.compute.service(service)) is not None
                    for pattern in config.path_patterns
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
            domain_names=(
                [f"{host}.{domain.zone_name}" for host in viewer_hosts(cfg)] if domain else None
            ),
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
            f"{domain.app_host}.{domain.zone_name}"
            if domain
            else self.distribution.distribution_domain_name
        )
        api = cfg.compute.service("api")
        health = api.health_check_path if api else "/"
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
        }

    def _security_headers(self) -> cloudfront.ResponseHeadersPolicy:
        return cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            response_headers_policy_name=self.cfg.resource_name("security-headers"),
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(730),
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
        """app/api (and ws) to CloudFront, origin to the load balancer, ws to its NLB if any."""
        domain = self.cfg.compute.domain
        if domain is None:
            return
        zone = route53.HostedZone.from_hosted_zone_attributes(
            self, "Zone", hosted_zone_id=domain.hosted_zone_id, zone_name=domain.zone_name
        )
        cdn = route53.RecordTarget.from_alias(route53_targets.CloudFrontTarget(self.distribution))
        targets = dict.fromkeys(viewer_hosts(self.cfg), cdn)
        targets[ORIGIN_HOST] = route53.RecordTarget.from_alias(
            route53_targets.LoadBalancerTarget(compute.load_balancer)
        )
        nlb = getattr(compute, "websocket_load_balancer", None)
        if nlb is not None:
            targets[domain.ws_host] = route53.RecordTarget.from_alias(
                route53_targets.LoadBalancerTarget(nlb)
            )
        for host, target in targets.items():
            for kind, record in (("A", route53.ARecord), ("AAAA", route53.AaaaRecord)):
                record(self, f"{kind}-{host}", zone=zone, record_name=host, target=target)
