"""Edge guarantees per stage: WAF in us-east-1 and the CloudFront distribution in front."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.config import default_stages
from tests.conftest import STAGES
from tests.synth import Synthesized, resources

CONFIGS = {cfg.construct_id: cfg for cfg in default_stages().values()}


def distribution(platform: Synthesized, stage: str) -> dict[str, Any]:
    (found,) = resources(platform.template(stage, "cdn"), "AWS::CloudFront::Distribution").values()
    config: dict[str, Any] = found["Properties"]["DistributionConfig"]
    return config


@pytest.mark.parametrize("stage", STAGES)
def test_waf_rules_and_redacted_logging(platform: Synthesized, stage: str) -> None:
    edge = platform.by_key[(stage, "edge")]
    assert edge.region == "us-east-1"
    (acl,) = resources(edge.template, "AWS::WAFv2::WebACL").values()
    props = acl["Properties"]
    assert props["Scope"] == "CLOUDFRONT"
    rules = {r["Name"]: r for r in props["Rules"]}
    assert {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesSQLiRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
        "RateLimitPerIp",
    } <= set(rules)
    limit = rules["RateLimitPerIp"]["Statement"]["RateBasedStatement"]
    assert limit == {"AggregateKeyType": "IP", "Limit": CONFIGS[stage].edge.rate_limit_per_5_min}
    (logging,) = resources(edge.template, "AWS::WAFv2::LoggingConfiguration").values()
    redacted = {f["SingleHeader"]["Name"] for f in logging["Properties"]["RedactedFields"]}
    assert redacted == {"authorization", "cookie"}
    (log_group,) = resources(edge.template, "AWS::Logs::LogGroup").values()
    assert log_group["Properties"]["LogGroupName"].startswith("aws-waf-logs-")
    assert "KmsKeyId" in log_group["Properties"]


@pytest.mark.parametrize("stage", STAGES)
def test_distribution_routes(platform: Synthesized, stage: str) -> None:
    config = distribution(platform, stage)
    behaviors = {b["PathPattern"]: b for b in config["CacheBehaviors"]}
    assert set(behaviors) == {"/api/*", "/ws/*", "/socket.io/*", "/static/*"}
    disabled = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # managed CachingDisabled
    for path in ("/api/*", "/ws/*", "/socket.io/*"):
        assert behaviors[path]["CachePolicyId"] == disabled
        assert "OriginRequestPolicyId" in behaviors[path]  # viewer headers reach the API
        assert "POST" in behaviors[path]["AllowedMethods"]
    static = behaviors["/static/*"]
    assert static["CachePolicyId"] == "658327ea-f89d-4fab-a63d-7e88639e58f6"  # CachingOptimized
    assert static["Compress"] is True
    default = config["DefaultCacheBehavior"]
    assert default["ViewerProtocolPolicy"] == "redirect-to-https"
    assert default["Compress"] is True
    for behavior in behaviors.values():
        assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
        assert "ResponseHeadersPolicyId" in behavior


@pytest.mark.parametrize("stage", STAGES)
def test_origins_are_guarded(platform: Synthesized, stage: str) -> None:
    config = distribution(platform, stage)
    alb = next(o for o in config["Origins"] if "CustomOriginConfig" in o)
    (header,) = alb["OriginCustomHeaders"]
    assert header["HeaderName"] == "X-Origin-Verify"
    assert "{{resolve:secretsmanager:" in json.dumps(header["HeaderValue"])
    s3 = next(o for o in config["Origins"] if "S3OriginConfig" in o)
    assert "OriginAccessControlId" in s3
    template = platform.template(stage, "cdn")
    (oac,) = resources(template, "AWS::CloudFront::OriginAccessControl").values()
    assert oac["Properties"]["OriginAccessControlConfig"]["SigningBehavior"] == "always"


@pytest.mark.parametrize("stage", STAGES)
def test_distribution_settings(platform: Synthesized, stage: str) -> None:
    config = distribution(platform, stage)
    assert config["PriceClass"] == CONFIGS[stage].edge.price_class
    assert config["Logging"]["Prefix"] == "cloudfront/"
    assert "WebACLId" in config  # the us-east-1 web ACL, by ARN
    assert config["HttpVersion"] == "http2and3"
    outputs = platform.template(stage, "cdn")["Outputs"]
    assert set(outputs) >= {"HealthCheckUrl", "DistributionDomainName"}


@pytest.mark.parametrize("stage", STAGES)
def test_security_headers(platform: Synthesized, stage: str) -> None:
    (policy,) = resources(
        platform.template(stage, "cdn"), "AWS::CloudFront::ResponseHeadersPolicy"
    ).values()
    headers = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] == 730 * 24 * 3600
    assert headers["StrictTransportSecurity"]["IncludeSubdomains"] is True
    assert headers["FrameOptions"]["FrameOption"] == "DENY"
    assert headers["ContentTypeOptions"]["Override"] is True
    assert headers["ReferrerPolicy"]["ReferrerPolicy"] == "strict-origin-when-cross-origin"
    csp = headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    assert csp == CONFIGS[stage].edge.content_security_policy


@pytest.mark.parametrize("stage", STAGES)
def test_assets_bucket_admits_only_this_accounts_distributions(
    platform: Synthesized, stage: str
) -> None:
    data = platform.template(stage, "data")
    statements = [
        s
        for p in resources(data, "AWS::S3::BucketPolicy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "CloudFrontReadAssets"
    ]
    (statement,) = statements
    assert statement["Action"] == "s3:GetObject"
    assert "distribution/*" in json.dumps(statement["Condition"])
