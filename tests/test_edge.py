"""Edge: the WAF in us-east-1 (rules, order, redacted logs) and the CloudFront distribution in
front of the load balancer (routes, origins, TLS, security headers)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import STAGES
from tests.stacks import profile_stages
from tests.synth import Pool, Synthesized, resources
from tests.templates import one

CONFIGS = {cfg.construct_id: cfg for cfg in profile_stages("default")}
# CloudFront's managed policies, by their documented ids.
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
USE_ORIGIN_CACHE_CONTROL = "4cc15a8a-d715-48a4-82b8-cc0b614638fe"
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]


def distribution(platform: Synthesized, stage: str) -> dict[str, Any]:
    found = one(platform.template(stage, "cdn"), "AWS::CloudFront::Distribution")
    return found["Properties"]["DistributionConfig"]  # type: ignore[no-any-return]


def origins(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(load balancer origin, assets bucket origin)."""
    (alb,) = [o for o in config["Origins"] if "CustomOriginConfig" in o]
    (s3,) = [o for o in config["Origins"] if "S3OriginConfig" in o]
    return alb, s3


@pytest.mark.parametrize("stage", STAGES)
def test_waf_rules_and_redacted_logging(platform: Synthesized, stage: str) -> None:
    waf_cfg = CONFIGS[stage].edge.waf
    edge = platform.by_key[(stage, "edge")]
    assert edge.region == "us-east-1"  # CLOUDFRONT-scope web ACLs exist only there
    acl_id = next(iter(resources(edge.template, "AWS::WAFv2::WebACL")))
    props = edge.template["Resources"][acl_id]["Properties"]
    assert (props["Scope"], props["Name"]) == ("CLOUDFRONT", f"webplat-{stage.lower()}-edge")
    assert props["DefaultAction"] == {"Allow": {}}
    rules = {r["Name"]: r for r in props["Rules"]}
    assert (
        set(rules)
        == {
            "AWSManagedRulesAmazonIpReputationList",
            "RateLimitPerIp",
            *waf_cfg.managed_rule_groups,
            *(["OversizedBodyOutsideUploads"] if waf_cfg.large_body_paths else []),
        }
        == {
            "AWSManagedRulesAmazonIpReputationList",
            "RateLimitPerIp",
            "AWSManagedRulesCommonRuleSet",
            "AWSManagedRulesKnownBadInputsRuleSet",
            "AWSManagedRulesSQLiRuleSet",
            "OversizedBodyOutsideUploads",  # the default profile takes uploads at /api/uploads
        }
    )
    assert rules["RateLimitPerIp"]["Statement"]["RateBasedStatement"] == {
        "AggregateKeyType": "IP",
        "EvaluationWindowSec": waf_cfg.rate_window_seconds,
        "Limit": waf_cfg.rate_limit,
    }
    assert rules["RateLimitPerIp"]["Action"] == {"Block": {}}
    for rule in rules.values():
        assert rule["VisibilityConfig"]["CloudWatchMetricsEnabled"] is True
    logging = one(edge.template, "AWS::WAFv2::LoggingConfiguration")["Properties"]
    assert logging["ResourceArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    redacted = {f["SingleHeader"]["Name"] for f in logging["RedactedFields"]}
    assert redacted == {"authorization", "cookie"}
    (group_id,) = resources(edge.template, "AWS::Logs::LogGroup")
    assert logging["LogDestinationConfigs"] == [{"Fn::GetAtt": [group_id, "Arn"]}]
    group = edge.template["Resources"][group_id]["Properties"]
    assert group["LogGroupName"] == f"aws-waf-logs-webplat-{stage.lower()}-edge"
    assert "EdgeKey" in group["KmsKeyId"]["Fn::GetAtt"][0]


def test_reputation_and_rate_limit_come_before_the_inspecting_rules(platform: Synthesized) -> None:
    acl = one(platform.template("Prod", "edge"), "AWS::WAFv2::WebACL")["Properties"]
    order = [r["Name"] for r in sorted(acl["Rules"], key=lambda r: r["Priority"])]
    assert order[:2] == ["AWSManagedRulesAmazonIpReputationList", "RateLimitPerIp"]
    assert order.index("AWSManagedRulesCommonRuleSet") > 1
    rate = next(r for r in acl["Rules"] if r["Name"] == "RateLimitPerIp")
    assert rate["Statement"]["RateBasedStatement"] == {
        "AggregateKeyType": "IP",
        "EvaluationWindowSec": 300,
        "Limit": 2000,
    }


def test_the_body_size_rule_spares_only_the_upload_paths(pool: Pool) -> None:
    acl = one(pool.result("workshop").template("Prod", "edge"), "AWS::WAFv2::WebACL")["Properties"]
    common = next(r for r in acl["Rules"] if r["Name"] == "AWSManagedRulesCommonRuleSet")
    overrides = common["Statement"]["ManagedRuleGroupStatement"]["RuleActionOverrides"]
    assert overrides == [{"ActionToUse": {"Count": {}}, "Name": "SizeRestrictions_BODY"}]
    oversized = next(r for r in acl["Rules"] if r["Name"] == "OversizedBodyOutsideUploads")
    assert oversized["Action"] == {"Block": {}}
    text = json.dumps(oversized["Statement"])
    assert "awswaf:managed:aws:core-rule-set:SizeRestrictions_Body" in text
    assert '"SearchString": "/api/uploads"' in text
    assert "NotStatement" in text


@pytest.mark.parametrize("stage", STAGES)
def test_distribution_routes(platform: Synthesized, stage: str) -> None:
    cfg = CONFIGS[stage]
    config = distribution(platform, stage)
    behaviors = {b["PathPattern"]: b for b in config["CacheBehaviors"]}
    uncached = [p for s in cfg.services.values() if s.cdn_cache == "disabled" for p in s.paths]
    assert set(behaviors) == {*uncached, cfg.edge.static_path}
    assert set(behaviors) == {"/api/*", "/ws/*", "/socket.io/*", "/static/*"}
    alb, s3 = origins(config)
    for path in uncached:
        behavior = behaviors[path]
        assert behavior["CachePolicyId"] == CACHING_DISABLED
        assert behavior["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST  # headers reach the API
        assert behavior["AllowedMethods"] == ALL_METHODS
        assert behavior["TargetOriginId"] == alb["Id"]
    static = behaviors[cfg.edge.static_path]
    assert static["CachePolicyId"] == CACHING_OPTIMIZED
    assert static["Compress"] is True
    assert static["TargetOriginId"] == s3["Id"]
    default = config["DefaultCacheBehavior"]
    assert default["ViewerProtocolPolicy"] == "redirect-to-https"
    assert default["Compress"] is True
    assert default["CachePolicyId"] == USE_ORIGIN_CACHE_CONTROL  # web: cdn_cache = origin
    assert default["TargetOriginId"] == alb["Id"]
    (policy_id,) = resources(
        platform.template(stage, "cdn"), "AWS::CloudFront::ResponseHeadersPolicy"
    )
    for behavior in [*behaviors.values(), default]:
        assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
        assert behavior["ResponseHeadersPolicyId"] == {"Ref": policy_id}


def test_uncached_routes_are_the_services_that_say_so(platform: Synthesized) -> None:
    behaviors = distribution(platform, "Prod")["CacheBehaviors"]
    assert sorted(b["PathPattern"] for b in behaviors) == [
        "/api/*", "/socket.io/*", "/static/*", "/ws/*"
    ]  # fmt: skip


@pytest.mark.parametrize("stage", STAGES)
def test_origins_are_guarded(platform: Synthesized, stage: str) -> None:
    config = distribution(platform, stage)
    alb, s3 = origins(config)
    (header,) = alb["OriginCustomHeaders"]
    assert header["HeaderName"] == "X-Origin-Verify"
    value = json.dumps(header["HeaderValue"])
    assert "{{resolve:secretsmanager:" in value  # the same secret the listener rules require
    assert "OriginVerifySecret" in value
    template = platform.template(stage, "cdn")
    (oac_id,) = resources(template, "AWS::CloudFront::OriginAccessControl")
    assert s3["OriginAccessControlId"] == {"Fn::GetAtt": [oac_id, "Id"]}
    assert s3["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # no legacy OAI
    assert "AssetsBucket" in json.dumps(s3["DomainName"])
    oac = template["Resources"][oac_id]["Properties"]["OriginAccessControlConfig"]
    assert (oac["SigningBehavior"], oac["SigningProtocol"]) == ("always", "sigv4")
    assert oac["OriginAccessControlOriginType"] == "s3"


def test_prod_cloudfront_uses_tls12_and_an_https_origin(platform: Synthesized) -> None:
    config = distribution(platform, "Prod")
    assert config["ViewerCertificate"]["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert config["ViewerCertificate"]["SslSupportMethod"] == "sni-only"
    origin, _ = origins(config)
    assert origin["DomainName"] == "origin.example.com"
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert origin["CustomOriginConfig"]["OriginSSLProtocols"] == ["TLSv1.2"]
    assert config["Aliases"] == ["app.example.com", "api.example.com", "ws.example.com"]


def test_dev_without_a_domain_is_cloudfront_only(platform: Synthesized) -> None:
    config = distribution(platform, "Dev")
    assert "Aliases" not in config
    origin, _ = origins(config)
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "http-only"
    assert [h["HeaderName"] for h in origin["OriginCustomHeaders"]] == ["X-Origin-Verify"]


@pytest.mark.parametrize("stage", STAGES)
def test_distribution_settings(platform: Synthesized, stage: str) -> None:
    config = distribution(platform, stage)
    assert config["PriceClass"] == CONFIGS[stage].edge.price_class.value == "PriceClass_200"
    assert config["Logging"]["Prefix"] == "cloudfront/"
    assert "AccessLogsBucket" in json.dumps(config["Logging"]["Bucket"])
    # The us-east-1 web ACL, by ARN, through CDK's cross-region reference.
    assert "FnGetAttWebAclArn" in json.dumps(config["WebACLId"])
    assert config["HttpVersion"] == "http2and3"
    assert config["IPV6Enabled"] is True
    assert config["Enabled"] is True
    outputs = platform.template(stage, "cdn")["Outputs"]
    assert {"HealthCheckUrl", "DistributionDomainName", "ApplicationUrl"} <= set(outputs)


def test_the_application_url_is_an_output(platform: Synthesized) -> None:
    outputs = platform.template("Prod", "cdn")["Outputs"]
    assert outputs["ApplicationUrl"]["Value"] == "https://app.example.com/"
    assert outputs["HealthCheckUrl"]["Value"] == "https://app.example.com/api/health"


@pytest.mark.parametrize("stage", STAGES)
def test_security_headers(platform: Synthesized, stage: str) -> None:
    policy = one(platform.template(stage, "cdn"), "AWS::CloudFront::ResponseHeadersPolicy")
    config = policy["Properties"]["ResponseHeadersPolicyConfig"]
    assert config["Name"] == f"webplat-{stage.lower()}-security-headers"
    headers = config["SecurityHeadersConfig"]
    assert headers["StrictTransportSecurity"] == {
        "AccessControlMaxAgeSec": 730 * 24 * 3600,  # two years
        "IncludeSubdomains": True,
        "Override": True,
        "Preload": True,
    }
    assert headers["FrameOptions"] == {"FrameOption": "DENY", "Override": True}
    assert headers["ContentTypeOptions"] == {"Override": True}
    assert headers["ReferrerPolicy"] == {
        "Override": True,
        "ReferrerPolicy": "strict-origin-when-cross-origin",
    }
    csp = headers["ContentSecurityPolicy"]
    assert csp["ContentSecurityPolicy"] == CONFIGS[stage].edge.content_security_policy
    assert "frame-ancestors 'none'" in csp["ContentSecurityPolicy"]
    assert csp["Override"] is True


@pytest.mark.parametrize("stage", STAGES)
def test_assets_bucket_admits_only_this_accounts_distributions(
    platform: Synthesized, stage: str
) -> None:
    data = platform.template(stage, "data")
    reads = [
        (p["Properties"]["Bucket"], s)
        for p in resources(data, "AWS::S3::BucketPolicy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Principal") == {"Service": "cloudfront.amazonaws.com"}
    ]
    ((bucket, statement),) = reads  # no other bucket is readable by CloudFront
    assert bucket["Ref"].startswith("AssetsBucket")
    assert statement["Sid"] == "CloudFrontReadAssets"
    assert (statement["Effect"], statement["Action"]) == ("Allow", "s3:GetObject")
    account = CONFIGS[stage].account
    assert statement["Condition"] == {
        "ArnLike": {"AWS:SourceArn": f"arn:aws:cloudfront::{account}:distribution/*"}
    }
